#!/bin/sh
# make bench's scripts work end to end: the benchmark in its smallest mode
# (BENCH_SMOKE=1: one pair a row, a profile of 1 and 3 generations, 3 and
# 5 packages) against the real daemon and real Nix prints every row with
# its target and a verdict, writes them as CSV and the chart as a PNG, and
# leaves nothing behind: no process, no directory, no GC root of its links.
# The figures themselves mean nothing here (make check runs beside other
# work); what is held is that each row was measured.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/profiled-test-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
unset MAKEFLAGS MFLAGS MAKELEVEL
passed=0
failed=0

# Record a case: $1 its name, then shell conditions that must all hold.
expect() {
	name=$1
	shift
	for condition; do
		if ! eval "$condition"; then
			echo "FAIL $name: $condition"
			echo "  status $status; output:"
			sed 's/^/    /' "$tmp/out"
			failed=$((failed + 1))
			return
		fi
	done
	echo "ok   $name"
	passed=$((passed + 1))
}

# The CSV rows named $1 with params matching $2 (a regular expression),
# one a line.
rows() {
	awk -F, -v r="$1" -v p="$2" 'NR > 1 && $1 == r && $2 ~ "^" p "$"' \
	    "$tmp/bench.csv"
}

# Every row a smoke run must have: name, params, how many.
all_rows_there() {
	while read -r row params count; do
		n=$(rows "$row" "$params" | wc -l)
		if [ "$n" != "$count" ]; then
			echo "  $row $params: $n rows, not $count" >&2
			return 1
		fi
	done <<'EOF'
startup-first-answer gens=(1|3) 2
startup-adopted gens=(1|3) 2
idle-wakeups over.* 1
rss-idle gens=1 1
status gens=(1|3) 2
generations gens=(1|3) 2
rss-after-generations gens=(1|3) 2
status-behind-generations gens=(1|3) 2
status-throughput clients=(1|16|64) 3
status-p50 clients=(1|16|64) 3
status-p99 clients=(1|16|64) 3
save-to-active pkgs=3.gens=(1|3) 4
save-to-active pkgs=5.gens=1 2
save-to-active-vs-1 pkgs=3.gens=3 1
rollback+switch-back gens=(1|3) 2
burst debounce_ms=(10|200) 2
debounce default 1
EOF
}

# Every row measured: a number, a verdict, and PASS or MISS where a
# target is stated.
all_rows_measured() {
	awk -F, 'NR > 1 {
	    if ($3 !~ /^[0-9.e+-]+$/ || $9 !~ /^(PASS|MISS|info)$/ ||
		($8 != "-" && $9 == "info")) {
		    print "  not measured: " $0 > "/dev/stderr"; bad = 1 }
	    } END { exit bad }' "$tmp/bench.csv"
}

# A ratio row's ratio is its medians' quotient, near enough for one pair.
ratios_agree() {
	awk -F, 'NR > 1 && $7 != "" && $6 > 0 {
	    q = $3 / $6
	    if ($7 < q * 0.9 || $7 > q * 1.1) {
		print "  ratio " $7 " of " $3 " / " $6 > "/dev/stderr"; bad = 1 }
	    } END { exit bad }' "$tmp/bench.csv"
}

# Each CSV row printed in the table with its target and verdict.
table_has_rows() {
	[ "$(grep -cE ' (PASS|MISS|info)( |$)' "$tmp/out")" = \
	    "$(($(wc -l < "$tmp/bench.csv") - 1))" ]
}

is_png() {
	[ "$(head -c 8 "$1" | od -An -c | tr -d ' ')" = '211PNG\r\n032\n' ]
}

# Nothing of the run's directory left: not the directory, no process
# running from it, no Nix GC root of the links the daemon made there.
nothing_left() {
	dir=$(sed -n 's/.* in \(\/[^ ]*profiled-bench\.[^ ]*\)$/\1/p' \
	    "$tmp/out" | head -n 1)
	[ -n "$dir" ] || { echo "  no directory named" >&2; return 1; }
	[ ! -e "$dir" ] || { echo "  $dir is left" >&2; return 1; }
	if grep -lsF "$dir" /proc/[0-9]*/cmdline > "$tmp/procs"; then
		echo "  processes left: $(cat "$tmp/procs")" >&2
		return 1
	fi
	# profile-2-link of the 1-generation daemon: made by nix-env --set.
	link=$dir/d-1/profiles/profile-2-link
	hex=$(printf %s "$link" | sha1sum | cut -c1-40)
	root=$(nix-hash --type sha1 --to-base32 "$hex")
	[ ! -L "/nix/var/nix/gcroots/auto/$root" ] ||
	    { echo "  GC root left for $link" >&2; return 1; }
}

start=$(date +%s)
BENCH_SMOKE=1 BENCH_OUT=$tmp/bench.csv timeout 300 \
    bash "$top/tests/bench/bench.sh" > "$tmp/out" 2>&1
status=$?
seconds=$(($(date +%s) - start))

expect "make bench's smoke run exits 0 (in $seconds s; under 2 minutes even on a loaded machine)" \
    '[ $status = 0 ]' \
    '[ $seconds -lt 120 ]'
expect "every row is in the CSV" \
    '[ -s "$tmp/bench.csv" ]' \
    'all_rows_there 2>> "$tmp/out"'
expect "every row was measured and has its verdict" \
    'all_rows_measured 2>> "$tmp/out"' \
    'ratios_agree 2>> "$tmp/out"'
expect "the table prints every row" \
    'table_has_rows'
if command -v gnuplot > /dev/null 2>&1; then
	expect "the chart is a PNG beside the CSV" \
	    '[ -s "$tmp/bench.png" ]' \
	    'is_png "$tmp/bench.png"'
else
	expect "without gnuplot (make bench installs it) the run says so" \
	    '[ ! -e "$tmp/bench.png" ]' \
	    'grep -q "gnuplot is not installed" "$tmp/out"'
fi
expect "the run leaves no directory, process or GC root behind" \
    'nothing_left 2>> "$tmp/out"'

echo "test-bench: $passed passed, $failed failed"
[ $failed = 0 ]
