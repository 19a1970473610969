# What adoption (adopt.c) reads from user environments profiled did not
# build: for each store path in storePaths (one a line, passed with
# --argstr, never spliced into Nix text), the packages of its manifest.nix
# as nix-env -q --json --out-path lists them, so that adopted records
# compare with those profiled makes: the list (in manifest order) of
# { name, version, path }, the name and version from parseDrvName as
# nix-env does, the path that of the first output by name; or null if the
# manifest cannot be read, so that one bad manifest does not fail the rest.
{ storePaths }:

let
  inherit (builtins) split filter isString isAttrs isList map sort lessThan
    parseDrvName pathExists tryEval deepSeq head length;

  paths = filter (p: isString p && p != "") (split "\n" storePaths);

  # nix-env's queryOutputs: each listed output with an outPath, by name.
  outputsOf = e:
    if e ? outputs then
      sort lessThan (filter (o: isAttrs (e.${o} or null) && e.${o} ? outPath)
        e.outputs)
    else [ "out" ];
  pathOf = e: o: if e ? outputs then e.${o}.outPath else e.outPath;

  package = e:
    let
      drv = parseDrvName e.name;
      outs = outputsOf e;
    in
    if !(isString (e.name or null)) || outs == [ ] then null
    else { name = drv.name; version = drv.version; path = pathOf e (head outs); };

  read = p:
    let
      manifest = p + "/manifest.nix";
      elements = if pathExists manifest then import manifest else [ ];
      packages = filter (x: x != null) (map package
        (filter (e: isAttrs e && (e.type or null) == "derivation") elements));
      tried = tryEval (deepSeq packages packages);
    in
    if isList elements && tried.success then tried.value else null;
in
map read paths
