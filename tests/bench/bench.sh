#!/bin/bash
# make bench: profiled measured against what a user would run instead
# (nix-env, nix-build), on this machine, in one run, each comparison
# interleaved (A B A B ..., N pairs) so that a change of load hits both
# sides alike; the medians, and the median of the pair-by-pair ratios.
# Every row is printed with its target (issue 13) and PASS or MISS, and
# written as CSV with a PNG chart beside it (gnuplot).
#
#   BENCH_QUICK=1   sizes up to 1,000 generations, fewer pairs: minutes
#   BENCH_SMOKE=1   one pair a row, tiny sizes: proves the scripts work
#   BENCH_OUT=F.csv where the CSV goes (the PNG is F.png); default
#                   tests/bench/results/bench.csv (bench-quick.csv,
#                   bench-smoke.csv for the smaller modes)
#   BENCH_PAIRS=N   pairs per comparison
#   BENCH_DEADLINE=S  the whole run's bound, in seconds
#
# Everything happens in one mkdtemp directory: a profile with thousands of
# generations is made by linking a few real user environments (built once
# with nix-env, so Nix holds them as GC roots through their own profile)
# as profile-N-link, the way Nix names them.  Every process started here
# is stopped and every link removed on exit, whatever the exit; every step
# has a timeout, and a row whose step times out reports MISS with the
# bound, never hangs.  Bash, for its clock ($SECONDS) and for doing
# without a process per number on a machine where each costs.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
rpc=$top/tests/bench/bench-rpc
profiled=$top/daemon/profiled
profilectl=$top/client/profilectl

# Sizes and counts per mode.
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	mode=smoke
	gens_sizes="1 3" pkg_sizes="3 5" pairs=1
	load_seconds=0.2 load_pairs=1 idle_seconds=1 idle_settle=1
	burst_saves=10 burst_interval=20
	start_timeout=30 op_timeout=30 deadline=110
elif [ "${BENCH_QUICK:-0}" = 1 ]; then
	mode=quick
	gens_sizes="1 100 1000" pkg_sizes="10 100 1000" pairs=5
	load_seconds=1 load_pairs=3 idle_seconds=10 idle_settle=3
	burst_saves=100 burst_interval=20
	start_timeout=300 op_timeout=120 deadline=1800
else
	mode=full
	gens_sizes="1 1000 10000" pkg_sizes="10 100 1000" pairs=10
	load_seconds=3 load_pairs=5 idle_seconds=30 idle_settle=3
	burst_saves=100 burst_interval=20
	start_timeout=900 op_timeout=300 deadline=14400
fi
pairs=${BENCH_PAIRS:-$pairs}
deadline=${BENCH_DEADLINE:-$deadline}
case $mode in
full) default_out=$top/tests/bench/results/bench.csv ;;
*) default_out=$top/tests/bench/results/bench-$mode.csv ;;
esac
out=${BENCH_OUT:-$default_out}
png=${out%.csv}.png
smallest=${gens_sizes%% *}
base_pkgs=${pkg_sizes%% *}
max_pkgs=${pkg_sizes##* }

for f in "$rpc" "$profiled" "$profilectl"; do
	[ -x "$f" ] || { echo "bench: $f is missing (make all tests/bench/bench-rpc)" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")" || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/profiled-bench.XXXXXX") || exit 1
# The profiles live where a user's do, in Nix's profiles directory
# (/nix/var/nix/profiles/per-user/USER): there a generation link is a GC
# root by itself, and profiled makes it without nix-env --set, as it does
# for a user's default profile.  Removed with everything else.
profiles=/nix/var/nix/profiles/per-user/$(id -un)
mkdir -p "$profiles" &&
    profiles=$(mktemp -d "$profiles/profiled-bench.XXXXXX") || {
	rm -rf "$tmp"
	exit 1
}
chmod 755 "$tmp"
errors=$tmp/stderr.log
: > "$errors"
# Handmade profiles: "PROFILE COUNT" a line; Nix registered no root for
# their links (gcroots/auto), so unroot leaves those alone.
: > "$tmp/handmade"
watchdog=

# The GC roots Nix registered for links in $tmp (nix-env, nix-build -o,
# nix-store --add-root: /nix/var/nix/gcroots/auto/NAME, NAME the base-32
# SHA-1 of the link's path) go with the links, not left dangling.  A few
# processes for them all: each costs on a loaded machine.
unroot() {
	local link n=0 hashes
	mkdir -p "$tmp/unroot"
	while read -r link; do
		n=$((n + 1))
		printf %s "$link" > "$tmp/unroot/$n"
	done < <(find "$tmp" "$profiles" -type l \( -name '*-link' -o \
	    -name 'result*' \) \
	    2>/dev/null | awk -v list="$tmp/handmade" '
	    BEGIN { while ((getline line < list) > 0) {
		split(line, f, " "); made[f[1]] = f[2] } }
	    {
		if (match($0, /-[0-9]+-link$/)) {
			p = substr($0, 1, RSTART - 1)
			n = substr($0, RSTART + 1) + 0
			if ((p in made) && n <= made[p]) next
		}
		print
	    }')
	[ $n -gt 0 ] || return 0
	hashes=$(cd "$tmp/unroot" && sha1sum -- * | cut -c1-40)
	# shellcheck disable=SC2046
	(cd /nix/var/nix/gcroots/auto && rm -f -- $(nix-hash --type sha1 \
	    --to-base32 $hashes 2>/dev/null))
}

# Whether pid runs (a zombie whose parent is gone does not).
alive() {
	local stat
	[ -n "$1" ] && read -r stat 2>/dev/null < "/proc/$1/stat" || return 1
	stat=${stat##*) }
	case $stat in
	Z*|X*|'') return 1 ;;
	esac
	return 0
}

# Stop a daemon (its session: Nix children too): SIGTERM, then SIGKILL.
stop_pid() {
	local pid=$1 i=0
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	while alive "$pid" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL -- "-$pid" 2>/dev/null
	kill -KILL "$pid" 2>/dev/null
	return 0
}

cleanup() {
	trap - EXIT INT TERM HUP
	local pidfile pid
	for pidfile in "$tmp"/*/pid "$tmp"/echo.pid; do
		[ -f "$pidfile" ] && read -r pid < "$pidfile" && stop_pid "$pid"
	done
	[ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
	unroot
	rm -rf "$tmp" "$profiles"
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM HUP

SECONDS=0
# A backstop above every step's own timeout: the whole run is bounded.
(
	trap 'kill $nap 2>/dev/null; exit 0' TERM
	sleep $((deadline + 120)) &
	nap=$!
	wait $nap && echo "bench: past the deadline; stopping" >&2 &&
	    kill -TERM $$
) &
watchdog=$!

# A line of progress on stderr, with the seconds since the start.
say() {
	echo "bench: [$SECONDS s] $*" >&2
}

# Whether the run's deadline is still ahead.
in_time() {
	[ "$SECONDS" -lt "$deadline" ]
}

# The value of a row the deadline left no time for.
late="not run (deadline)"
late_note="the run's deadline of $deadline s had passed"

# bound VAR SECONDS: a step's timeout into VAR: its own bound, or what is
# left before the deadline if less (at least 1).
bound() {
	local l=$((deadline - SECONDS))
	[ "$l" -lt 1 ] && l=1
	[ "$l" -gt "$2" ] && l=$2
	printf -v "$1" %s "$l"
}

# The offline settings of tests/e2e/harness.h's OFFLINE_NIX_FLAGS, for
# every Nix command here (the daemons get them as nix_flags too).
NIX_CONFIG='substituters =
sandbox = false
build-users-group ='
export NIX_CONFIG
offline_flags="--option substituters '' --option sandbox false --option build-users-group ''"
export HOME="$tmp/home"
mkdir -p "$HOME"
nonce=r$(date +%s)$$
marker=0

# ---------------------------------------------------------------- results

echo "bench: $mode mode; sizes: $gens_sizes generations, $pkg_sizes" \
    "packages; $pairs pairs; in $tmp" >&2
echo "row,params,value,unit,baseline_name,baseline,ratio,target,verdict,score,pairs,note" > "$out"
printf '%-26s %-19s %13s  %-34s %8s  %-10s %s\n' row params profiled \
    baseline ratio target result
printf '%-26s %-19s %13s  %-34s %8s  %-10s %s\n' --- ------ -------- \
    -------- ----- ------ ------

# result ROW PARAMS VALUE UNIT BASELINE_NAME BASELINE RATIO OP TARGET
#     PAIRS NOTE: one row.  The target is held by VALUE when RATIO is
#     empty, else by RATIO; OP is le or ge (or - for a row without one).
#     VALUE "timeout N" means the step timed out after N (MISS).
result() {
	local row=$1 params=$2 value=$3 unit=$4 bname=$5 bvalue=$6 ratio=$7
	local op=$8 target=$9 npairs=${10} note=${11}
	local subject=$value verdict score ttext shown bshown rshown
	[ -n "$ratio" ] && subject=$ratio
	# The verdict, and how far from the target for the chart (at most 1
	# meets it; a timeout is at least its bound; none without a number).
	read -r verdict score < <(awk -v v="$subject" -v op="$op" \
	    -v t="$target" -v u="$unit" 'BEGIN {
	    if (op == "-") { print "info"; exit }
	    if (sub(/^timeout /, "", v) && sub(/ s$/, "", v) && u == "ms")
		{ v *= 1000; timeout = 1 }
	    if (v !~ /^[0-9.e+-]+$/) { print "MISS"; exit }
	    v += 0; t += 0
	    if (op == "le") { ok = v <= t; s = t > 0 ? v / t : (v == 0 ? 0 : v) }
	    else { ok = v >= t; s = v > 0 ? t / v : 100 }
	    if (s < 0.01) s = 0.01
	    printf "%s %.4g\n", ok && !timeout ? "PASS" : "MISS", s }')
	case $op in
	le) ttext="<= $target" ;;
	ge) ttext=">= $target" ;;
	*) ttext=- ;;
	esac
	# Against a baseline, the target is a ratio.
	[ -n "$bname" ] && [ "$op" != - ] && ttext="${ttext}x"
	[ -z "$bname" ] && [ "$op" != - ] && ttext="$ttext $unit"
	shown=$value
	case $value in
	timeout*) shown="timed out after ${value#timeout }" ;;
	[0-9]*) shown="$value $unit" ;;
	esac
	bshown=
	[ -n "$bname" ] && bshown="$bname $bvalue"
	[ -n "$bname" ] && [ -n "$bvalue" ] && case $bvalue in
	[0-9]*) bshown="$bname $bvalue $unit" ;;
	esac
	rshown=
	[ -n "$ratio" ] && rshown="${ratio}x"
	printf '%-26s %-19s %13s  %-34s %8s  %-10s %s%s\n' "$row" "$params" \
	    "$shown" "$bshown" "$rshown" "$ttext" "$verdict" \
	    "${note:+  ($note)}"
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s"\n' "$row" "$params" \
	    "$value" "$unit" "$bname" "$bvalue" "$ratio" "$ttext" "$verdict" \
	    "$score" "$npairs" "$note" >> "$out"
}

# The medians in awk: median(n) of v[1..n], and how a value is shown.
awk_median='
function median(n,    i, j, x) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			x = v[j]; v[j] = v[j - 1]; v[j - 1] = x
		}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function show(m) { return m >= 100 ? sprintf("%.0f", m) : sprintf("%.3g", m) }'

# The median of the numbers in a file, one a line.
median() {
	awk "$awk_median"'
	    { v[++n] = $1 } END { if (n) print show(median(n)) }' "$1"
}

# The median of the pair-by-pair ratios of two files' lines.
ratio_median() {
	awk "$awk_median"'
	    NR == FNR { a[FNR] = $1; next }
	    $1 > 0 && FNR in a { v[++n] = a[FNR] / $1 }
	    END { if (n) print show(median(n)) }' "$1" "$2"
}

# Set kv_KEY for each KEY=VALUE word of bench-rpc's output line.
kv() {
	local word
	unset "${!kv_@}"
	for word in $1; do
		case $word in
		*=*) printf -v "kv_${word%%=*}" %s "${word#*=}" ;;
		esac
	done
}

# ---------------------------------------------------------------- Nix

# A package file of n synthetic packages and a marker never built into an
# environment before (the marker itself is prebuilt).
package_file() {
	marker=$((marker + 1))
	printf '{ pkgs ? import %s/tests/bench/pkgs.nix { } }:\n' "$top" > "$2"
	printf 'pkgs.synthetic %s ++ [ (pkgs.marker "%s" %s) ]\n' "$1" \
	    "$nonce" "$marker" >> "$2"
}

# Build every package the run uses, and a few real user environments to
# link generations to, before anything is measured.
prepare_nix() {
	n_sizes=$(echo $gens_sizes | wc -w)
	n_pkgs=$(echo $pkg_sizes | wc -w)
	# One a daemon's first build and one a save: 3 a pair at each size
	# and at each other package count, and the two bursts' daemons; past
	# the smallest size, a reference daemon's first build and 2 a pair.
	markers=$((n_sizes * (1 + 3 * pairs) + 3 * pairs * (n_pkgs - 1) + 4 +
	    (n_sizes - 1) * (1 + 2 * pairs)))
	mkdir -p "$tmp/roots"
	cat > "$tmp/prebuild.nix" <<EOF
(import $top/tests/bench/pkgs.nix { }).prebuild {
  count = $max_pkgs; markers = $markers; nonce = "$nonce";
}
EOF
	say "building $max_pkgs packages and $markers markers" \
	    "(the packages once per machine)"
	bound t 1800
	timeout "$t" nix-env -p "$tmp/roots/prebuild" --max-jobs 4 \
	    -if "$tmp/prebuild.nix" > /dev/null 2>> "$errors" || return 1
	# The environments the handmade generations point at.
	say "building the environments the generations link to"
	for k in 1 2 3; do
		printf '{ pkgs ? import %s/tests/bench/pkgs.nix { } }:\npkgs.synthetic %s\n' \
		    "$top" "$k" > "$tmp/seed-$k.nix"
		bound t 300
		timeout "$t" nix-env -p "$tmp/roots/seed" \
		    -irf "$tmp/seed-$k.nix" > /dev/null 2>> "$errors" ||
		    return 1
	done
	seeds=
	for k in 1 2 3; do
		seeds="$seeds $(readlink -f "$tmp/roots/seed-$k-link")"
	done
}

# A profile with n generations linked to the seed environments.
make_profile() {
	mkdir -p "$(dirname "$1")"
	# shellcheck disable=SC2086
	"$rpc" links -p "$1" -n "$2" $seeds > /dev/null || return 1
	echo "$1 $2" >> "$tmp/handmade"
}

# ---------------------------------------------------------------- daemon

# new_daemon NAME GENERATIONS DEBOUNCE_MS: a directory with its config, a
# package file of $base_pkgs packages and a profile of that many
# generations; sets dir, sock, profile, pkgfile.
new_daemon() {
	dir=$tmp/$1
	sock=$dir/s.sock
	profile=$profiles/$1/profile
	pkgfile=$dir/packages.nix
	mkdir -p "$dir/home"
	make_profile "$profile" "$2" || return 1
	cat > "$dir/profiled.conf" <<EOF
package_file = $pkgfile
profile = $profile
state_dir = $dir/state
socket = $sock
debounce_ms = $3
notify = false
nix_flags = $offline_flags
EOF
	package_file "$base_pkgs" "$pkgfile"
}

ctl() {
	local t
	bound t "$op_timeout"
	timeout "$t" "$profilectl" --socket "$sock" "$@"
}

# Wait until the daemon is idle, for the step's timeout at most.
ctl_wait() {
	local t
	bound t "$op_timeout"
	ctl wait --timeout "$t" > /dev/null 2>> "$errors"
}

# Start the daemon of new_daemon, without a watchdog (no WATCHDOG_USEC);
# sets daemon_pid, first_ms and adopted_ms (either may be "timeout N").
start_daemon() {
	local t line
	bound t "$start_timeout"
	line=$(HOME=$dir/home XDG_CONFIG_HOME=$dir XDG_STATE_HOME=$dir \
	    XDG_RUNTIME_DIR=$dir "$rpc" start -s "$sock" -t "$t" \
	    -l "$dir/log" -p "$dir/pid" -a "$1" \
	    "$profiled" -v --config "$dir/profiled.conf" 2>> "$errors")
	daemon_pid=
	read -r daemon_pid < "$dir/pid"
	kv "$line"
	first_ms=${kv_first_ms:-}
	adopted_ms=${kv_adopted_ms:-}
	[ "$first_ms" = timeout ] && first_ms="timeout $t s"
	[ "$adopted_ms" = timeout ] && adopted_ms="timeout $t s"
	case $first_ms in [0-9]*) printf -v first_ms %.1f "$first_ms" ;; esac
	case $adopted_ms in [0-9]*) printf -v adopted_ms %.1f "$adopted_ms" ;; esac
	[ -n "$first_ms" ] || first_ms="failed"
	[ -n "$adopted_ms" ] || adopted_ms="failed"
	case $adopted_ms in
	[0-9]*) return 0 ;;
	esac
	return 1
}

# Wait until the daemon is idle; then, as the user consenting to replace a
# profile profiled did not make, switch to the package file's build.
settle() {
	ctl_wait && ctl switch > /dev/null 2>> "$errors" && ctl_wait
}

current_generation() {
	ctl --json status 2>/dev/null |
	    sed -n 's/.*"current_generation": \([0-9]*\).*/\1/p'
}

# Builds the daemon's queue has started since it started, as status says.
builds_started() {
	ctl --json status 2>/dev/null |
	    sed -n 's/.*"builds_started": \([0-9]*\).*/\1/p'
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# Context switches of every thread of pid: each is a wakeup.
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null | awk '
	    /^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# ---------------------------------------------------------------- timing

# time_ms VAR COMMAND...: the wall time of COMMAND (';' between several)
# in ms into VAR, or "timeout N s" or "failed".
time_ms() {
	local var=$1 t v
	shift
	bound t "$op_timeout"
	kv "$("$rpc" time -t "$t" "$@" 2>> "$errors")"
	v=${kv_ms:-failed}
	[ "$v" = timeout ] && v="timeout $t s"
	printf -v "$var" %s "$v"
}

# The sides of each comparison: set ms.
side_status() { time_ms ms "$profilectl" --socket "$sock" status; }
side_generations() { time_ms ms "$profilectl" --socket "$sock" generations; }
side_list_generations() {
	time_ms ms nix-env --profile "$nixprofile" --list-generations
}
side_rollback() {
	time_ms ms "$profilectl" --socket "$sock" rollback \; \
	    "$profilectl" --socket "$sock" switch --to "$daemon_current"
}
side_nix_rollback() {
	time_ms ms nix-env --profile "$nixprofile" --rollback \; \
	    nix-env --profile "$nixprofile" --switch-generation "$nix_current"
}
# A save: a new package file renamed over the old, timed until the
# profile link moves; the daemon is let finish recording before the next.
side_save() {
	local t
	package_file "$save_pkgs" "$dir/new.nix"
	bound t "$op_timeout"
	kv "$("$rpc" save -f "$pkgfile" -n "$dir/new.nix" -p "$profile" \
	    -t "$t" 2>> "$errors")"
	ms=${kv_ms:-failed}
	[ "$ms" = timeout ] && ms="timeout $t s"
	ctl_wait
}
# The same save on the reference daemon of one generation (ref_rows).
side_save_ref() {
	local d=$dir s=$sock p=$profile f=$pkgfile
	dir=$ref_dir sock=$ref_sock profile=$ref_profile pkgfile=$ref_pkgfile
	side_save
	dir=$d sock=$s profile=$p pkgfile=$f
}
side_nix_build_set() {
	package_file "$save_pkgs" "$nixdir/build.nix"
	time_ms ms nix-build "$top/daemon/user-env.nix" -A env \
	    --argstr packageFile "$nixdir/build.nix" -o "$nixdir/result" \; \
	    nix-env --profile "$nixprofile" --set "$nixdir/result"
}
side_nix_env_irf() {
	package_file "$save_pkgs" "$nixdir/irf.nix"
	time_ms ms nix-env --profile "$nixprofile" -irf "$nixdir/irf.nix"
}

# compare ROW PARAMS SIDE_A BASELINE_NAME SIDE_B OP TARGET
#     [BASELINE2_NAME SIDE_C OP2 TARGET2]: pairs of A B (C) in turn, then
#     a row for A against B (and one against C).  Sets a_median.
compare() {
	local crow=$1 cparams=$2 side_a=$3 bname=$4 side_b=$5 cop=$6
	local ctarget=$7 cname=${8:-} side_c=${9:-} cop2=${10:-}
	local ctarget2=${11:-} failure= i=0 side fn note
	: > "$tmp/a"; : > "$tmp/b"; : > "$tmp/c"
	while [ $i -lt "$pairs" ]; do
		if ! in_time; then
			failure=$late
			break
		fi
		for side in a b c; do
			case $side in
			a) fn=$side_a ;;
			b) fn=$side_b ;;
			c) fn=$side_c ;;
			esac
			[ -n "$fn" ] || continue
			$fn
			case $ms in
			[0-9]*) echo "$ms" >> "$tmp/$side" ;;
			*) failure=$ms; [ $side = a ] || failure="$failure ($side)"
			   break 2 ;;
			esac
		done
		i=$((i + 1))
	done
	a_median=$(median "$tmp/a")
	if [ -n "$failure" ]; then
		note="after $i pairs"
		[ "$failure" = "$late" ] && note="$late_note; $note"
		case $failure in
		*"(b)"|*"(c)") note="$note; the baseline: $failure"
			failure="baseline failed" ;;
		esac
		result "$crow" "$cparams" "$failure" ms "$bname" \
		    "$(median "$tmp/b")" "" "$cop" "$ctarget" "$i" "$note"
		[ -n "$side_c" ] && result "$crow" "$cparams" "$failure" ms \
		    "$cname" "$(median "$tmp/c")" "" "$cop2" "$ctarget2" "$i" \
		    "$note"
		return 1
	fi
	result "$crow" "$cparams" "$a_median" ms "$bname" "$(median "$tmp/b")" \
	    "$(ratio_median "$tmp/a" "$tmp/b")" "$cop" "$ctarget" "$i" ""
	[ -n "$side_c" ] && result "$crow" "$cparams" "$a_median" ms "$cname" \
	    "$(median "$tmp/c")" "$(ratio_median "$tmp/a" "$tmp/c")" \
	    "$cop2" "$ctarget2" "$i" ""
	return 0
}

# ---------------------------------------------------------------- rows

# not_run VALUE NOTE ROW...: the rows at this size that could not be
# measured (the daemon never came up, or no time was left), each with
# its target.
not_run() {
	local value=$1 note=$2 r unit bname op target
	shift 2
	for r in "$@"; do
		unit=ms bname= op=le
		case $r in
		startup-first-answer) target=50 ;;
		startup-adopted) target=10000 ;;
		status) bname="nix-env --list-generations" target=0.1 ;;
		generations) bname="nix-env --list-generations" target=0.5 ;;
		rss-after-generations) unit=kB target=10240 ;;
		status-behind-generations) target=5 ;;
		save-to-active) bname="nix-env -irf" target=1.0 ;;
		rollback+switch-back) bname="nix-env --rollback" target=0.25 ;;
		esac
		result "$r" "gens=$gens" "$value" "$unit" "$bname" "" "" $op \
		    "$target" 0 "$note"
	done
}

save_rows() {
	save_pkgs=$1
	say "$gens generations: saves of $1 packages"
	compare save-to-active "pkgs=$1 gens=$gens" side_save \
	    "nix-build + nix-env --set" side_nix_build_set - 0 \
	    "nix-env -irf" side_nix_env_irf le "$2"
}

# The throughput rows: the daemon and the echo server in turn.
throughput_rows() {
	local i clients side s op target q echo_pid
	say "$gens generations: status throughput"
	"$rpc" capture -s "$sock" -o "$tmp/status.frame" > /dev/null \
	    2>> "$errors" || return 1
	"$rpc" echo -s "$tmp/echo.sock" -f "$tmp/status.frame" \
	    2>> "$errors" &
	echo $! > "$tmp/echo.pid"
	i=0
	while [ ! -S "$tmp/echo.sock" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	for clients in 1 16 64; do
		: > "$tmp/rate.a"; : > "$tmp/rate.b"
		: > "$tmp/p50.a"; : > "$tmp/p50.b"
		: > "$tmp/p99.a"; : > "$tmp/p99.b"
		i=0
		while [ $i -lt "$load_pairs" ] && in_time; do
			for side in a b; do
				s=$sock
				[ $side = b ] && s=$tmp/echo.sock
				kv "$("$rpc" load -s "$s" -c "$clients" \
				    -t "$load_seconds" 2>> "$errors")"
				echo "${kv_rate:-}" >> "$tmp/rate.$side"
				echo "${kv_p50_us:-}" >> "$tmp/p50.$side"
				echo "${kv_p99_us:-}" >> "$tmp/p99.$side"
			done
			i=$((i + 1))
		done
		op=- target=0
		[ "$clients" = 16 ] && op=ge target=0.75
		if [ $i = 0 ]; then
			result status-throughput "clients=$clients" "$late" \
			    calls/s "unix-socket echo" "" "" $op $target 0 \
			    "$late_note"
			continue
		fi
		result status-throughput "clients=$clients" \
		    "$(median "$tmp/rate.a")" calls/s "unix-socket echo" \
		    "$(median "$tmp/rate.b")" \
		    "$(ratio_median "$tmp/rate.a" "$tmp/rate.b")" $op $target \
		    "$i" ""
		for q in p50 p99; do
			result "status-$q" "clients=$clients" \
			    "$(median "$tmp/$q.a")" us "unix-socket echo" \
			    "$(median "$tmp/$q.b")" \
			    "$(ratio_median "$tmp/$q.a" "$tmp/$q.b")" - 0 "$i" ""
		done
	done
	read -r echo_pid < "$tmp/echo.pid"
	stop_pid "$echo_pid"
	rm -f "$tmp/echo.pid"
}

# status calls while another connection lists every generation over and
# over: how long status waits behind it.
behind_row() {
	local i=0 worst=0 floor=0 p99= note echo_pid= lines held
	# The machine's own floor beside it: a bare echo server, which does
	# nothing but answer, under as many status calls, run for run.
	if "$rpc" capture -s "$sock" -o "$tmp/behind.frame" > /dev/null \
	    2>> "$errors"; then
		"$rpc" echo -s "$tmp/behind.sock" -f "$tmp/behind.frame" \
		    2>> "$errors" &
		echo_pid=$!
		echo "$echo_pid" > "$tmp/echo.pid"
		while [ ! -S "$tmp/behind.sock" ] && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		i=0
	fi
	lines=$(wc -l < "$dir/log")
	while [ $i -lt "$pairs" ] && in_time; do
		kv "$("$rpc" load -s "$sock" -c 1 -g 1 -t "$load_seconds" \
		    2>> "$errors")"
		[ -n "${kv_max_us:-}" ] || { worst=; break; }
		[ "$kv_max_us" -gt "$worst" ] && worst=$kv_max_us
		p99=$kv_p99_us
		if [ -n "$echo_pid" ]; then
			kv "$("$rpc" load -s "$tmp/behind.sock" -c 2 \
			    -t "$load_seconds" 2>> "$errors")"
			[ "${kv_max_us:-0}" -gt "$floor" ] && floor=$kv_max_us
		fi
		i=$((i + 1))
	done
	[ -n "$echo_pid" ] && stop_pid "$echo_pid"
	rm -f "$tmp/behind.sock"
	[ -n "$worst" ] && printf -v worst %d.%03d $((worst / 1000)) \
	    $((worst % 1000))
	note="worst of $i runs; p99 of the last ${p99:-?} us"
	[ -n "$echo_pid" ] && note="$note; a bare echo server's worst, run for run: $((floor / 1000)).$(printf %03d $((floor % 1000))) ms"
	# What the daemon itself says (-v): any call that held its loop over
	# 5 ms, with the CPU time it spent; the rest of a wait is the machine.
	held=$(tail -n +"$((lines + 1))" "$dir/log" | awk '
	    /held the loop for/ { n++; c = $0; sub(/.*\(/, "", c)
		c += 0; if (c > max) max = c }
	    END { if (n) printf "%d over 5 ms, the most CPU %.1f ms", n, max
		  else printf "none over 5 ms" }')
	note="$note; the daemon's own calls: $held"
	[ $i = 0 ] && worst=$late note=$late_note
	result status-behind-generations "gens=$gens" "${worst:-failed}" ms \
	    "" "" "" le 5 "$i" "$note"
}

idle_rows() {
	local before after
	# The last client's hang-up is handled first.
	sleep "$idle_settle"
	before=$(switches "$daemon_pid")
	sleep "$idle_seconds"
	after=$(switches "$daemon_pid")
	result idle-wakeups "over ${idle_seconds} s" $((after - before)) \
	    wakeups "" "" "" le 0 1 "context switches of every thread"
	result rss-idle "gens=$gens" "$(rss_kb "$daemon_pid")" kB "" "" "" \
	    - 0 1 "VmRSS"
}

# Everything at one number of generations, on one daemon against one
# nix-env profile of the same size.
size_rows() {
	local p t link
	gens=$1
	if ! in_time; then
		not_run "$late" "$late_note" startup-first-answer \
		    startup-adopted status generations rss-after-generations \
		    status-behind-generations save-to-active \
		    rollback+switch-back
		return 1
	fi
	new_daemon "d-$gens" "$gens" 0 || return 1
	nixdir=$tmp/nix-$gens
	nixprofile=$profiles/nix-$gens/profile
	mkdir -p "$nixdir" || return 1
	make_profile "$nixprofile" "$gens" || return 1
	say "$gens generations: starting profiled"
	why=
	if ! start_daemon "$gens"; then
		why="start-up: first answer $first_ms, adopted $adopted_ms"
	elif ! settle; then
		why="it did not build and switch within $op_timeout s"
	fi
	result startup-first-answer "gens=$gens" "$first_ms" ms "" "" "" \
	    le 50 1 ""
	result startup-adopted "gens=$gens" "$adopted_ms" ms "" "" "" \
	    le 10000 1 "until generations lists all $gens"
	if [ -n "$why" ]; then
		not_run "not run" "the daemon was not ready: $why" status \
		    generations status-behind-generations \
		    save-to-active rollback+switch-back rss-after-generations
		stop_pid "$daemon_pid"
		return 1
	fi
	[ "$gens" = "$smallest" ] && idle_rows

	compare status "gens=$gens" side_status "nix-env --list-generations" \
	    side_list_generations le 0.1
	compare generations "gens=$gens" side_generations \
	    "nix-env --list-generations" side_list_generations le 0.5
	result rss-after-generations "gens=$gens" "$(rss_kb "$daemon_pid")" \
	    kB "" "" "" le 10240 1 "VmRSS after listing them"
	behind_row
	[ "$gens" = "$smallest" ] && throughput_rows

	save_rows "$base_pkgs" 1.0
	if [ "$gens" = "$smallest" ]; then
		for p in $pkg_sizes; do
			[ "$p" = "$base_pkgs" ] && continue
			t=1.0
			[ "$p" = "$max_pkgs" ] && t=0.9
			save_rows "$p" "$t"
		done
	else
		ref_rows
	fi

	daemon_current=$(current_generation)
	link=$(readlink "$nixprofile")
	link=${link%-link}
	nix_current=${link##*-}
	compare rollback+switch-back "gens=$gens" side_rollback \
	    "nix-env --rollback + --switch-generation" side_nix_rollback \
	    le 0.25
	stop_pid "$daemon_pid"
}

# The save at this size against the same save on a daemon of the smallest
# size, interleaved like every other comparison (medians taken minutes
# apart would compare the machine's moods): a reference daemon beside this
# one, stopped after.
ref_rows() {
	local d=$dir s=$sock p=$profile f=$pkgfile pid=$daemon_pid
	local row=save-to-active-vs-1 params="pkgs=$base_pkgs gens=$gens"
	local bname="at gens=$smallest"
	ref_pid=
	if new_daemon "ref-$gens" "$smallest" 0 && start_daemon "$smallest" &&
	    settle; then
		ref_dir=$dir ref_sock=$sock ref_profile=$profile
		ref_pkgfile=$pkgfile
	else
		ref_dir=
	fi
	ref_pid=$daemon_pid
	dir=$d sock=$s profile=$p pkgfile=$f daemon_pid=$pid
	if [ -z "$ref_dir" ]; then
		result "$row" "$params" "not run" ms "$bname" "" "" le 1.05 0 \
		    "the reference daemon was not ready"
	else
		save_pkgs=$base_pkgs
		say "$gens generations: the same save at $smallest"
		compare "$row" "$params" side_save "$bname" side_save_ref \
		    le 1.05
	fi
	stop_pid "$ref_pid"
}

# 100 saves in 2 s (or fewer in smoke mode) at a debounce: builds started.
burst_row() {
	local before after waited note
	gens=1
	if ! in_time; then
		result burst "debounce_ms=$1" "$late" builds "" "" "" le 2 0 \
		    "$late_note"
		return 1
	fi
	say "a burst at debounce_ms = $1"
	new_daemon "burst-$1" 1 "$1" || return 1
	if ! start_daemon 1 || ! settle; then
		result burst "debounce_ms=$1" "not run" builds "" "" "" le 2 0 \
		    "the daemon was not ready"
		stop_pid "$daemon_pid"
		return 1
	fi
	cp "$pkgfile" "$dir/template.nix"
	before=$(builds_started)
	kv "$("$rpc" burst -f "$pkgfile" -T "$dir/template.nix" \
	    -n "$burst_saves" -i "$burst_interval" 2>> "$errors")"
	note="${kv_saves:-no} saves in ${kv_ms:-?} ms"
	ctl_wait
	waited=$?
	after=$(builds_started)
	[ $waited = 0 ] || note="$note; not idle after $op_timeout s"
	result burst "debounce_ms=$1" $((after - before)) builds "" "" "" le 2 \
	    1 "$note"
	stop_pid "$daemon_pid"
}

chart() {
	command -v gnuplot > /dev/null 2>&1 || {
		echo "bench: gnuplot is not installed: no chart (make bench installs it)" >&2
		return 0
	}
	awk -F, 'NR > 1 && $10 != "" {
	    color = $9 == "PASS" ? "0x2e8b57" : "0xcc3333"
	    printf "\"%s %s\" %s %s\n", $1, $2, $10, color }' "$out" \
	    > "$tmp/chart.dat"
	n=$(wc -l < "$tmp/chart.dat")
	[ "$n" -gt 0 ] || return 0
	width=$((300 + 32 * n))
	gnuplot 2>> "$errors" <<EOF
set terminal pngcairo size $width,640 font "sans,9"
set output "$png"
set title "profiled bench ($mode, $(date -u +%Y-%m-%d)): each result over its target; at most 1 (the line) meets it"
set logscale y
set yrange [0.003:*]
set ylabel "measured / target (log)"
set xtics rotate by -50 left nomirror noenhanced
set xrange [-0.6:$n - 0.4]
set bmargin 14
set style fill solid 0.8 noborder
set grid ytics
unset key
plot "$tmp/chart.dat" using 0:2:(\$0 - 0.38):(\$0 + 0.38):(0.003):2:3:xtic(1) \
	with boxxyerror lc rgb variable, 1 with lines lc rgb "black" dt 2
EOF
	[ -s "$png" ] || echo "bench: gnuplot made no chart (see above)" >&2
}

# ---------------------------------------------------------------- the run

# The run is one function called on the last line, so that bash has read
# the whole file before it starts: editing the script while it runs does
# not change what runs.
run() {
	local debounce misses rows

	if ! prepare_nix; then
		echo "bench: cannot build the package set:" >&2
		tail -n 20 "$errors" >&2
		exit 1
	fi
	for gens in $gens_sizes; do
		size_rows "$gens"
	done
	for debounce in 10 200; do
		burst_row "$debounce"
	done
	result debounce "default" 200 ms "" "" "" - 0 0 \
	    "what a real save waits first; the save rows run with debounce_ms = 0"

	chart
	misses=$(awk -F, 'NR > 1 && $9 == "MISS"' "$out" | wc -l)
	rows=$(($(wc -l < "$out") - 1))
	echo
	echo "bench: $rows rows, $misses MISS; $SECONDS s;" \
	    "CSV $out, chart $png"
	if grep -q '^bench-rpc' "$errors"; then
		echo "bench: what failed (the last lines):"
		grep '^bench-rpc' "$errors" | tail -n 10
	fi
}

run
exit 0
