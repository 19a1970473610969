# A small package set that builds with no network and no nixpkgs: each
# package is a derivation whose builder is /bin/sh with PATH=/usr/bin:/bin,
# installing one script in bin/.  `make demo` and the tests use it; use it to
# try profiled on a machine with Nix but no channel.  Its builders use the
# host's /bin/sh and /usr/bin, so build it with the sandbox off, and, as
# root without a multi-user install, with no build users:
#
#   nix_flags = --option substituters '' --option sandbox false --option build-users-group ''
#
#   { pkgs ? import /path/to/offline-pkgs.nix { } }: with pkgs; [ hello ]
{ }:
rec {
  mk = { pname, version, file ? pname, fail ? false }: derivation {
    name = "${pname}-${version}";
    inherit pname version;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" (if fail then "echo ${pname}: deliberate failure >&2; exit 1" else ''
      mkdir -p $out/bin
      printf '#!/bin/sh\necho ${pname} ${version}\n' > $out/bin/${file}
      chmod +x $out/bin/${file}
    '') ];
  };

  hello = mk { pname = "hello"; version = "2.12"; };
  cowsay = mk { pname = "cowsay"; version = "3.7"; };
  ripgrep = mk { pname = "ripgrep"; version = "14.1"; file = "rg"; };
  hello-old = mk { pname = "hello"; version = "2.10"; };

  # What nixpkgs' lib.hiPrio does: win file collisions in the environment.
  hiPrio = p: p // { meta = (p.meta or { }) // { priority = -10; }; };
}
