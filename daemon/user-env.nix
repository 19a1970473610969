# The user environment profiled builds from a package file.
#
# The package file's path arrives with --argstr, never spliced into Nix text.
# The result mirrors what nix-env builds: a builtin:buildenv derivation with a
# manifest.nix inside, so `nix-env -q` on the profile still lists the packages.
# profiled runs `nix-build -A env`, evaluation and build in one Nix process,
# and reads the package list it records from the result: the first line of
# manifest.nix is a comment holding it as JSON (build.c reads it), "*/"
# written "*\/" so that no name can end the comment.
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
    name = "user-environment";
    system = "builtin";
    builder = "builtin:buildenv";
    inherit manifest;
    derivations = builtins.concatLists (map (p:
      let outs = outputsOf p; in
      [ "true" (priorityOf p) (length outs) ] ++ map (o: p.${o}.outPath) outs) checked);
    preferLocalBuild = true;
    allowSubstitutes = false;
  };
in
{
  inherit env;
}
