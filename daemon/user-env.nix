# The user environment profiled builds from a package file.
#
# The package file's path arrives with --argstr, never spliced into Nix text.
# The result mirrors what nix-env builds: a builtin:buildenv derivation with a
# manifest.nix inside, so `nix-env -q` on the profile still lists the packages.
# profiled runs `nix-build -A env`, evaluation and build in one Nix process,
# and reads the package list it records from the result: the first line of
# manifest.nix is a comment holding it as JSON (build.c reads it), "*/"
# written "*\/" so that no name can end the comment.
#
# Once every output to install is in the store, the environment refers to
# them as store paths (builtins.storePath), as nix-env's does: its
# derivation then has no input derivations, so Nix need not load and check
# one per package to build it (at 1,000 packages that was most of a save).
# Until then it refers to them as the packages' outputs, so that building
# it builds them, and it is named profiled-packages: profiled then runs
# nix-build once more for the environment itself, so that one package set
# always gives one store path, built or not before.
{ packageFile }:

let
  inherit (builtins) isFunction isList isAttrs isString isInt isBool isFloat
    typeOf length genList elemAt concatStringsSep attrNames filter map toJSON
    replaceStrings unsafeDiscardStringContext parseDrvName toFile;

  imported = import (/. + packageFile);
  value = if isFunction imported then imported { } else imported;

  checked =
    if !isList value then
      throw "${packageFile} must evaluate to a list of derivations (or a function returning one), not a ${typeOf value}"
    else
      genList (i:
        let p = elemAt value i; in
        if isAttrs p && (p.type or null) == "derivation" then p
        else throw "${packageFile}: element ${toString (i + 1)} of the list is a ${typeOf p}, not a derivation")
        (length value);

  outputsOf = p: p.meta.outputsToInstall or [ (p.outputName or "out") ];
  outPathsOf = p: map (o: p.${o}.outPath) (outputsOf p);
  built = builtins.all (p: builtins.all
    (o: builtins.pathExists (unsafeDiscardStringContext o)) (outPathsOf p))
    checked;
  refer = path:
    if built then builtins.storePath (unsafeDiscardStringContext path)
    else path;
  priorityOf = p: p.meta.priority or 5;
  parsedName = p: parseDrvName p.name;
  pnameOf = p: p.pname or (parsedName p).name;
  versionOf = p: p.version or (parsedName p).version;

  # Nix source text for a value, for manifest.nix; meta keeps what nix-env can read.
  str = s: replaceStrings [ "\${" ] [ "\\\${" ] (toJSON (unsafeDiscardStringContext s));
  simple = v: isString v || isInt v || isBool v || isFloat v
    || (isList v && builtins.all isString v);
  toNix = v:
    if isString v then str v
    else if isBool v then (if v then "true" else "false")
    else if isList v then "[ ${concatStringsSep " " (map toNix v)} ]"
    else if isAttrs v then
      "{ ${concatStringsSep " " (map (n: "${str n} = ${toNix v.${n}};") (attrNames v))} }"
    else toString v;

  manifestEntry = p:
    let outs = outputsOf p; in
    {
      type = "derivation";
      name = p.name;
      outPath = p.outPath;
      outputs = outs;
      meta = builtins.listToAttrs (filter (a: simple a.value)
        (map (n: { name = n; value = p.meta.${n}; }) (attrNames (p.meta or { }))));
    }
    // (if p ? system then { system = p.system; } else { })
    // builtins.listToAttrs (map (o: { name = o; value = { outPath = p.${o}.outPath; }; }) outs);

  packages = map (p: {
    name = pnameOf p;
    version = versionOf p;
    path = p.outPath;
  }) checked;

  manifest = toFile "env-manifest.nix" (unsafeDiscardStringContext (
    "/* profiled packages: "
    + replaceStrings [ "*/" ] [ "*\\/" ] (toJSON packages)
    + " */\n" + toNix (map manifestEntry checked)));

  env = derivation {
    name = if built then "user-environment" else "profiled-packages";
    system = "builtin";
    builder = "builtin:buildenv";
    inherit manifest;
    derivations = builtins.concatLists (map (p:
      let outs = outPathsOf p; in
      [ "true" (priorityOf p) (length outs) ] ++ map refer outs) checked);
    preferLocalBuild = true;
    allowSubstitutes = false;
  };
in
{
  inherit env;
  # What an edit by profilectl add or remove evaluates (edit.c) before it
  # is written: the package list and the derivation, without a build.
  info = {
    drvPath = env.drvPath;
    inherit packages;
  };
}
