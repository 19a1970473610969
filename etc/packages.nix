# An example package file: copy to ~/.config/profiled/packages.nix.
# Each save becomes a new generation of your Nix profile.
{ pkgs ? import <nixpkgs> { } }:

with pkgs; [
  hello
  ripgrep
  # Wins file collisions with other packages, as with nix-env.
  (lib.hiPrio htop)
]
