#!/bin/sh
# make demo: run profiled for real in a throw-away home, against the offline
# package set in etc/offline-pkgs.nix, and walk through the loop: the first
# generation, an edit, the switch, a rollback.  Nothing outside the
# throw-away home is touched but the Nix store.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
home=$(mktemp -d /tmp/profiled-demo.XXXXXX)
socket=$home/run/profiled.sock
profile=$home/.local/state/nix/profiles/profile
ctl="$top/client/profilectl --socket $socket"
pid=

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$home"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# Wait until `profilectl --json status` matches a pattern, for 60 s at most.
wait_for() {
	i=0
	until $ctl --json status 2>/dev/null | grep -q "$1"; do
		i=$((i + 1))
		[ $i -lt 600 ] || { echo "timed out waiting for $1" >&2;
			cat "$home/profiled.log" >&2; exit 1; }
		sleep 0.1
	done
}

mkdir -p "$home/.config/profiled" "$home/.local/state/nix/profiles" "$home/run"
chmod 700 "$home/run"
cat > "$home/.config/profiled/profiled.conf" <<CONF
profile = $profile
socket = $socket
notify = false
nix_flags = --option substituters '' --option sandbox false --option build-users-group ''
CONF
pkgs="{ pkgs ? import $top/etc/offline-pkgs.nix { } }:"
printf '%s\nwith pkgs; [ hello ]\n' "$pkgs" > "$home/.config/profiled/packages.nix"

say "A package file with one package:"
cat "$home/.config/profiled/packages.nix"

say "Starting profiled (HOME=$home)"
HOME=$home XDG_CONFIG_HOME=$home/.config XDG_STATE_HOME=$home/.local/state \
	"$top/daemon/profiled" > "$home/profiled.log" 2>&1 &
pid=$!
wait_for '"state": "idle", "current_generation": 1,'
$ctl status
say "The profile now has hello:"
"$profile/bin/hello"

say "Adding cowsay to the file; profiled sees the save and switches:"
printf '%s\nwith pkgs; [ hello cowsay ]\n' "$pkgs" > "$home/.config/profiled/packages.nix"
wait_for '"current_generation": 2,'
$ctl generations
"$profile/bin/cowsay"

say "profilectl rollback goes to the parent generation:"
$ctl rollback
$ctl status

say "Nix sees the same generations:"
nix-env --profile "$profile" --list-generations --option build-users-group ''

say "The daemon's log:"
cat "$home/profiled.log"
