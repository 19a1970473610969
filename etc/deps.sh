#!/bin/sh
# What each make goal needs, and the Debian package that brings it.
#
# `make check`, `make demo`, `make check-valgrind` and `make bench` run
# this before anything needs a library, so that those commands alone work
# on a fresh Debian machine.  It looks for each need of the goal (a pkg-config module
# or a command) and computes the packages of the missing ones.  None
# missing: it prints nothing and the goal starts at once.  Some missing: as
# root it installs them with apt-get; as another user it prints the
# apt-get line to run as root and fails.  It runs only shell built-ins,
# `id`, `pkg-config` when present, and `apt-get` when it installs.
#
# usage: sh etc/deps.sh GOAL       check GOAL (build, demo, check,
#                                  check-valgrind, bench), installing as root
#        sh etc/deps.sh -n GOAL    check only: never install
#        sh etc/deps.sh -l         list every package (make deps)
set -eu

# One need a line: the goals that need it, whether it is a pkg-config
# module or a command, its name, its Debian package.  Every goal needs
# what `build` needs; `valgrind` is make check-valgrind's own, and gnuplot
# (the chart) make bench's.
needs() {
	while read -r goals kind name package; do
		"$@" "$goals" "$kind" "$name" "$package"
	done <<'EOF'
build		command	cc			build-essential
build		command	pkg-config		pkg-config
build		command	protoc-c		protobuf-c-compiler
build		module	libevent		libevent-dev
build		module	libprotobuf-c		libprotobuf-c-dev
build		module	sqlite3			libsqlite3-dev
build		module	libsystemd		libsystemd-dev
demo,check,bench	command	nix-env		nix-bin
check		module	criterion		libcriterion-dev
check		command	dbus-daemon		dbus-daemon
check		command	systemd-analyze		systemd
check		command	systemd-socket-activate	systemd
check		command	unshare			util-linux
check		command	mount			mount
check		command	git			git
check		command	man			man-db
check		command	zsh			zsh
check		command	fish			fish
valgrind	command	valgrind		valgrind
bench		command	gnuplot			gnuplot-nox
EOF
}

# Add a word to a space-separated list unless it is there already.
add() {
	case " $1 " in
	*" $2 "*) printf '%s' "$1" ;;
	*) printf '%s' "${1:+$1 }$2" ;;
	esac
}

list_package() {
	packages=$(add "$packages" "$4")
}

# A need is missing when its goals meet the wanted ones and it is not
# found; a module is missing too when pkg-config itself is.
check_need() {
	for goal in $wanted; do
		case ",$1," in *",$goal,"*) ;; *) continue ;; esac
		if [ "$2" = module ]; then
			command -v pkg-config >/dev/null 2>&1 &&
			    pkg-config --exists "$3" && return 0
		else
			command -v "$3" >/dev/null 2>&1 && return 0
		fi
		missing=$(add "$missing" "$3")
		packages=$(add "$packages" "$4")
		return 0
	done
}

usage() {
	echo "usage: sh etc/deps.sh [-n] build|demo|check|check-valgrind|bench" >&2
	echo "       sh etc/deps.sh -l" >&2
	exit 2
}

packages=
install=yes
case "${1-}" in
-l)
	needs list_package
	printf '%s\n' "$packages"
	exit 0
	;;
-n)
	install=no
	shift
	;;
esac
[ $# -eq 1 ] || usage
case $1 in
build) wanted="build" command="make" ;;
demo) wanted="build demo" command="make demo" ;;
check) wanted="build check" command="make check" ;;
check-valgrind) wanted="build check valgrind" command="make check-valgrind" ;;
bench) wanted="build bench" command="make bench" ;;
*) usage ;;
esac

missing=
needs check_need
[ -z "$packages" ] && exit 0

if [ $install = yes ] && [ "$(id -u)" = 0 ]; then
	echo "$command: installing $packages (missing: $missing)"
	apt-get update
	DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $packages
	exit
fi
{
	echo "$command: not found here: $missing. Run, as root:"
	echo
	echo "    apt-get install $packages"
	echo
	if [ $install = yes ]; then
		echo "then $command again."
	else
		echo "(make demo and make check, run as root, install what they need.)"
	fi
} >&2
exit 1
