#!/bin/sh
# make check and make demo bring what they need (etc/deps.sh): nothing is
# installed when everything is there; as root, apt-get installs what is
# missing; as another user, the apt-get line is printed and make fails.
#
# No real apt-get ever runs: a fake one first on PATH records its calls.
# Each case but the first runs make on a copy of the Makefile and
# etc/deps.sh with PATH holding only fakes (pkg-config answering for the
# modules it is told are there, empty commands) and sh, make and id, as on
# a fresh machine.  MAKE names a fake that records the sub-make, so the
# goal stops where the build would start.  As root, the non-root cases run
# as nobody (setpriv); as another user, the root cases use a fake id.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
make=$(command -v make)
tmp=$(mktemp -d /tmp/profiled-test-deps.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
# The outer make's flags and jobserver are not this make's.
unset MAKEFLAGS MFLAGS MAKELEVEL DEBIAN_FRONTEND
passed=0
failed=0

chmod 755 "$tmp"
mkdir -p "$tmp/tree/etc" "$tmp/bin" "$tmp/apt" "$tmp/log"
chmod 777 "$tmp/log"
cp "$top/Makefile" "$tmp/tree/"
cp "$top/etc/deps.sh" "$tmp/tree/etc/"
calls=$tmp/log/calls

# Write an executable shell script $1 whose body is on stdin.
script() {
	{ echo '#!/bin/sh'; cat; } > "$1"
	chmod 755 "$1"
}

# An apt-get in directory $1 that records its calls; install exits $2.
fake_apt_get() {
	script "$1/apt-get" <<EOF
echo "\${DEBIAN_FRONTEND:+DEBIAN_FRONTEND=\$DEBIAN_FRONTEND }apt-get \$*" \
    >> $calls
[ "\$1" = install ] && exit ${2:-0}
exit 0
EOF
}

# Forget the calls; any user may record new ones.
new_calls() {
	: > "$calls"
	chmod 666 "$calls"
}
fake_apt_get "$tmp/apt"
script "$tmp/sub-make" <<EOF
echo "sub-make \$*" >> $calls
EOF

# A fresh machine's PATH: sh, make, id and a fake apt-get, nothing else.
fresh() {
	rm -f "$tmp/bin/"*
	ln -s "$(command -v sh)" "$tmp/bin/sh"
	ln -s "$make" "$tmp/bin/make"
	ln -s "$(command -v id)" "$tmp/bin/id"
	fake_apt_get "$tmp/bin" "${1:-0}"
}

# A machine with every command, whose pkg-config cannot find the modules
# named in $1.
machine() {
	fresh "${2:-0}"
	for command in cc protoc-c nix-env dbus-daemon systemd-analyze \
	    systemd-socket-activate unshare mount git man zsh fish valgrind \
	    gnuplot; do
		script "$tmp/bin/$command" </dev/null
	done
	script "$tmp/bin/pkg-config" <<EOF
[ "\$1" = --exists ] || exit 0
shift
for module; do
	case " $1 " in *" \$module "*) exit 1 ;; esac
done
EOF
}

# Run make with the arguments in the copied tree, as root (or fake root),
# on the fake PATH; its status goes to $status and its output to
# $tmp/out.
as_root() {
	new_calls
	if [ "$(id -u)" != 0 ]; then
		rm -f "$tmp/bin/id"
		script "$tmp/bin/id" <<'EOF'
echo 0
EOF
	fi
	(cd "$tmp/tree" && PATH=$tmp/bin "$make" "$@" MAKE="$tmp/sub-make") \
	    > "$tmp/out" 2>&1
	status=$?
}

# The same as another user: nobody when this runs as root.
as_user() {
	new_calls
	set --  "$make" "$@" MAKE="$tmp/sub-make"
	[ "$(id -u)" = 0 ] &&
	    set -- "$(command -v setpriv)" --reuid=65534 --regid=65534 --clear-groups "$@"
	(cd "$tmp/tree" && PATH=$tmp/bin "$@") > "$tmp/out" 2>&1
	status=$?
}

# Record a case: $1 its name, then shell conditions that must all hold.
expect() {
	name=$1
	shift
	for condition; do
		if ! eval "$condition"; then
			echo "FAIL $name: $condition"
			echo "  status $status; calls:"
			sed 's/^/    /' "$calls"
			echo "  output:"
			sed 's/^/    /' "$tmp/out"
			failed=$((failed + 1))
			return
		fi
	done
	echo "ok   $name"
	passed=$((passed + 1))
}

# The calls recorded, one a line, are exactly the arguments.
calls_are() {
	[ "$(cat "$calls")" = "$(printf '%s\n' "$@")" ]
}

output_has() {
	grep -qxF -- "$1" "$tmp/out"
}

install_line="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
build_packages="build-essential pkg-config protobuf-c-compiler libevent-dev \
libprotobuf-c-dev libsqlite3-dev libsystemd-dev"
check_packages="$build_packages nix-bin libcriterion-dev dbus-daemon systemd \
util-linux mount git man-db zsh fish"

# This machine, real pkg-config and all: make check passed its own check
# to run this, so nothing is installed and the goals start at once.
for goal in check demo; do
	new_calls
	(cd "$top" && PATH=$tmp/apt:$PATH "$make" $goal MAKE="$tmp/sub-make") \
	    > "$tmp/out" 2>&1
	status=$?
	expect "make $goal here installs nothing and starts" \
	    '[ $status = 0 ]' \
	    'calls_are "sub-make --no-print-directory run-$goal"' \
	    '[ ! -s "$tmp/out" ]'
done

machine "libevent criterion"
as_root check
expect "make check as root installs the missing libraries' packages" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" \
	"$install_line libevent-dev libcriterion-dev" \
	"sub-make --no-print-directory run-check"'

as_user check
expect "make check as a user prints the apt-get line and fails" \
    '[ $status != 0 ]' \
    'calls_are ""' \
    'output_has "    apt-get install libevent-dev libcriterion-dev"'

as_user demo
expect "make demo as a user names only what the demo needs" \
    '[ $status != 0 ]' \
    'calls_are ""' \
    'output_has "    apt-get install libevent-dev"'

machine "criterion"
as_root demo
expect "make demo does not install the tests' Criterion" \
    '[ $status = 0 ]' \
    'calls_are "sub-make --no-print-directory run-demo"'

machine "libsystemd"
as_root
expect "make alone installs nothing and stops with the apt-get line" \
    '[ $status != 0 ]' \
    'calls_are ""' \
    'output_has "    apt-get install libsystemd-dev"'

machine "" 100
rm "$tmp/bin/valgrind"
as_root check-valgrind
expect "a failed apt-get install stops make check-valgrind" \
    '[ $status != 0 ]' \
    'calls_are "apt-get update" "$install_line valgrind"'

machine ""
rm "$tmp/bin/gnuplot"
as_root bench
expect "make bench installs gnuplot for its chart, and then runs" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" "$install_line gnuplot-nox" \
	"sub-make --no-print-directory run-bench"'

as_root check
expect "make check does not install make bench's gnuplot" \
    '[ $status = 0 ]' \
    'calls_are "sub-make --no-print-directory run-check"'

fresh
as_root bench
expect "make bench on a fresh machine installs the build's, Nix and gnuplot" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" \
	"$install_line $build_packages nix-bin gnuplot-nox" \
	"sub-make --no-print-directory run-bench"'

as_root check
expect "make check on a fresh machine installs pkg-config and all it needs" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" "$install_line $check_packages" \
	"sub-make --no-print-directory run-check"'

as_root demo
expect "make demo on a fresh machine installs the build's and Nix" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" "$install_line $build_packages nix-bin" \
	"sub-make --no-print-directory run-demo"'

as_root deps
expect "make deps installs every package, make bench's too" \
    '[ $status = 0 ]' \
    'calls_are "apt-get update" \
	"$install_line $check_packages valgrind gnuplot-nox"'

echo "test-deps: $passed passed, $failed failed"
[ $failed = 0 ]
