# make bench's synthetic package set, built offline like etc/offline-pkgs.nix
# (builder /bin/sh, PATH=/usr/bin:/bin): `synthetic n` is n distinct small
# packages, the same in every run so that they are built once per machine;
# `marker nonce i` is one more package, distinct for each (nonce, i), so
# that every save of a run makes a user environment Nix has never built,
# without building anything but that environment during the measurement.
# No name has a dash before a digit but the version's, so that nix-env
# (which keeps one package of a name) sees every package as its own.
{ }:
let
  base = import ../../etc/offline-pkgs.nix { };
in
rec {
  synthetic = n: builtins.genList (i: base.mk {
    pname = "bench-p${toString (i + 1)}";
    version = "1.0";
  }) n;

  marker = nonce: i: base.mk {
    pname = "bench-marker-${nonce}-m${toString i}";
    version = "1.0";
  };

  # Everything a run will use, built before anything is measured.
  prebuild = { count, markers, nonce }:
    synthetic count ++ builtins.genList (i: marker nonce (i + 1)) markers;
}
