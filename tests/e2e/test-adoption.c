/*
 * profiled on a real user's account: a profile nix-env made is not replaced
 * without consent; the profile is the one nix-env would pick, and
 * ~/.nix-profile is made for a fresh account and left alone otherwise;
 * Nix and <nixpkgs> are found where a login shell would find them; status
 * says what the user must know (warnings, the Nix in use).
 *
 * Each story runs twice (HARNESS_TEST_BOTH): as root, with the profile in
 * the test's directory (root's own is the machine's), and as a normal user
 * against the tests' nix-daemon, where the user's own `nix-env -iA` makes
 * the profile, ~/.nix-profile and ~/.nix-defexpr where Nix puts them for
 * that user, and nix-channel makes the user's channel.
 */
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(adoption, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(adoption_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/* The status's warnings, joined by newlines, as a new string. */
static char *
warnings_of(const struct json *status)
{
	const struct json	*list = json_get(status, "warnings");
	char			*text = xstrdup(""), *next;
	size_t			 i;

	cr_assert(list != NULL && list->type == JSON_ARRAY, "no warnings list");
	for (i = 0; i < list->count; i++) {
		cr_assert_eq(list->items[i]->type, JSON_STRING);
		xasprintf(&next, "%s%s\n", text, list->items[i]->string);
		free(text);
		text = next;
	}
	return text;
}

/* Point the test's ~/.nix-profile at the test's profile, as a user's is. */
static void
link_nix_profile(void)
{
	char	*link;

	xasprintf(&link, "%s/.nix-profile", harness.home);
	cr_assert_eq(symlink(harness.profile, link), 0, "symlink: %s",
	    strerror(errno));
	free(link);
}

/*
 * The test's config naming no profile, so that profiled picks the one
 * nix-env does; a user's Nix flags are the nix-daemon's.
 */
static void
config_without_profile(void)
{
	char	*config;

	xasprintf(&config, "package_file = %s\nstate_dir = %s\nsocket = %s\n"
	    "debounce_ms = 50\nnotify = false\nnix_flags = %s\n",
	    harness.package_file, harness.state_dir, harness.socket,
	    harness.user != NULL ? "" : OFFLINE_NIX_FLAGS);
	harness_write(harness.config, config);
	free(config);
}

/*
 * The user installed attr with nix-env before profiled: as the user, with
 * `nix-env -iA` from <nixpkgs> into the profile nix-env picks (which Nix
 * makes with ~/.nix-profile); as root, into the test's profile, which
 * ~/.nix-profile is made to point at first.  Then the config names no
 * profile.
 */
static void
nix_env_install(const char *attr)
{
	struct stat	sb;
	char		*link;

	if (harness.user != NULL)
		harness_user_nix_env_install(attr);
	else {
		xasprintf(&link, "%s/.nix-profile", harness.home);
		if (lstat(link, &sb) == -1)
			link_nix_profile();
		free(link);
		harness_nix_env_install(attr);
	}
	config_without_profile();
}

/*
 * As the user, the profile nix-env picked is where Nix 2 puts a user's
 * (per-user, or $XDG_STATE_HOME's), theirs; and its packages are on the
 * user's PATH: ~/.nix-profile/bin/bin runs and prints output.
 */
static void
assert_on_path(const char *bin, const char *output)
{
	struct run	 r;
	struct stat	 sb;
	char		*path, *per_user, *xdg;

	if (harness.user != NULL) {
		xasprintf(&per_user, "/nix/var/nix/profiles/per-user/%s/profile",
		    harness.user);
		xasprintf(&xdg, "%s/nix/profiles/profile",
		    getenv("XDG_STATE_HOME"));
		cr_assert(strcmp(harness.profile, per_user) == 0 ||
		    strcmp(harness.profile, xdg) == 0, "nix-env's profile "
		    "for %s is %s", harness.user, harness.profile);
		cr_assert(lstat(harness.profile, &sb) == 0 &&
		    sb.st_uid == harness.uid, "%s is not %s's",
		    harness.profile, harness.user);
		free(xdg);
		free(per_user);
	}
	xasprintf(&path, "%s/.nix-profile/bin/%s", harness.home, bin);
	harness_run(&r, path, NULL);
	cr_assert(r.status == 0, "%s exited %d: %s", path, r.status, r.err);
	cr_assert_str_eq(r.out, output, "%s printed \"%s\"", path, r.out);
	harness_run_free(&r);
	free(path);
}

/* Wait until profiled is idle with a warning containing text. */
static int
has_warning(const struct json *status, const void *text)
{
	char	*warnings;
	int	 found;

	if (!harness_idle(status))
		return 0;
	warnings = warnings_of(status);
	found = strstr(warnings, text) != NULL;
	free(warnings);
	return found;
}

/*
 * A user who installed cowsay with nix-env starts profiled with a package
 * file listing hello: the file is built, but cowsay stays until the user
 * consents with profilectl switch; status says what would change, also
 * after a restart.
 */
HARNESS_TEST_BOTH(adoption, nix_env_profile_is_not_replaced_without_consent)
{
	struct json	*status, *answer;
	char		*warnings;
	struct run	 r;

	nix_env_install("cowsay");
	harness_start();
	status = harness_wait(has_warning, "would remove cowsay 3.7",
	    "a warning that cowsay would be removed");
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	warnings = warnings_of(status);
	cr_assert(strstr(warnings, "generation 1 was not made by profiled") !=
	    NULL && strstr(warnings, "add hello 2.12") != NULL &&
	    strstr(warnings, "profilectl import") != NULL &&
	    strstr(warnings, "profilectl switch") != NULL, "%s", warnings);
	free(warnings);
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	json_free(status);
	cr_assert_eq(harness_profile_generation(), 1);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	assert_on_path("cowsay", "cowsay 3.7\n");

	/* The text output has a warning line too. */
	harness_ctl(&r, "status", NULL);
	cr_assert(strstr(r.out, "warning") != NULL &&
	    strstr(r.out, "would remove cowsay 3.7") != NULL, "%s", r.out);
	harness_run_free(&r);

	/* A restart keeps the hold, and builds nothing new. */
	harness_stop();
	harness_start();
	json_free(harness_wait(has_warning, "would remove cowsay 3.7",
	    "the warning after a restart"));
	cr_assert_eq(harness_profile_generation(), 1);

	/* profilectl switch is consent. */
	answer = harness_ctl_json("switch", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 2);
	json_free(answer);
	status = harness_wait_generation(2);
	warnings = warnings_of(status);
	cr_assert_str_eq(warnings, "");
	free(warnings);
	json_free(status);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_on_path("hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}

/* A package file building what nix-env installed changes nothing the user
 * has: it proceeds as today. */
static int
in_sync(const struct json *status, const void *arg)
{
	return harness_idle(status) && harness_bool(status, "in_sync") == 1;
}

HARNESS_TEST_BOTH(adoption, same_packages_proceed)
{
	struct json	*status;
	char		*warnings;

	nix_env_install("hello");
	harness_start();
	status = harness_wait(in_sync, NULL, "idle and in sync");
	warnings = warnings_of(status);
	cr_assert_str_eq(warnings, "");
	free(warnings);
	json_free(status);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_on_path("hello", "hello 2.12\n");
}

/*
 * With no profile configured, on a fresh account, profiled picks the
 * profile nix-env would and points ~/.nix-profile at it as nix-env does on
 * first use: as root, $XDG_STATE_HOME's (made here; root's own default is
 * the machine's); as the user on Debian's Nix, the per-user profile, in a
 * directory the nix-daemon makes only when the user first talks to it.
 */
HARNESS_TEST_BOTH(adoption, fresh_account_gets_nix_profile)
{
	struct json	*status;
	char		*profiles, *profile, *link, target[PATH_MAX];
	ssize_t		 n;

	if (harness.user != NULL)
		xasprintf(&profile, "/nix/var/nix/profiles/per-user/%s/profile",
		    harness.user);
	else {
		xasprintf(&profiles, "%s/nix", harness.dir);
		harness_mkdir(profiles, 0755);
		free(profiles);
		xasprintf(&profiles, "%s/nix/profiles", harness.dir);
		harness_mkdir(profiles, 0755);
		xasprintf(&profile, "%s/profile", profiles);
		free(profiles);
	}
	config_without_profile();
	harness.profile = profile;
	harness_start();
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_string(status, "profile"), profile);
	json_free(status);
	xasprintf(&link, "%s/.nix-profile", harness.home);
	cr_assert_gt(n = readlink(link, target, sizeof target - 1), 0,
	    "~/.nix-profile was not made");
	target[n] = '\0';
	cr_assert_str_eq(target, profile);
	assert_on_path("hello", "hello 2.12\n");
	free(link);
}

/* An existing ~/.nix-profile, as nix-env made it, is left alone, and its
 * target is the profile managed, as nix-env would use it. */
HARNESS_TEST_BOTH(adoption, existing_nix_profile_is_followed_and_kept)
{
	struct json	*status;
	char		*link, target[PATH_MAX], *before;
	ssize_t		 n;

	nix_env_install("hello");
	before = xstrdup(harness.profile);
	harness_start();
	status = harness_wait(in_sync, NULL, "idle and in sync");
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	json_free(status);
	xasprintf(&link, "%s/.nix-profile", harness.home);
	cr_assert_gt(n = readlink(link, target, sizeof target - 1), 0);
	target[n] = '\0';
	cr_assert_str_eq(target, before, "~/.nix-profile was changed");
	assert_on_path("hello", "hello 2.12\n");
	free(before);
	free(link);
}

/* A configured profile that ~/.nix-profile does not point at is one the
 * shell does not see: status says so.  (nix-env, run by profiled, makes
 * ~/.nix-profile point at Nix's default profile if it is missing.) */
HARNESS_TEST_BOTH(adoption, warns_when_the_shell_does_not_see_the_profile)
{
	struct json	*status;
	char		*warnings;

	harness_start();
	status = harness_wait_generation(1);
	warnings = warnings_of(status);
	/* Missing, or made by nix-env itself pointing at Nix's default. */
	cr_assert(strstr(warnings, "your shell's PATH does not see") != NULL,
	    "%s", warnings);
	free(warnings);
	json_free(status);
}

/* Status names the Nix in use. */
HARNESS_TEST_BOTH(adoption, status_has_the_nix_version)
{
	struct json	*status;
	const char	*version;

	harness_start();
	status = harness_wait_generation(1);
	version = harness_string(status, "nix_version");
	cr_assert(version != NULL && strncmp(version, "nix-env (Nix) ", 14) == 0,
	    "nix_version: %s", version != NULL ? version : "null");
	json_free(status);
}

/* A package file of <nixpkgs> the way the README shows it. */
#define NIXPKGS_FILE	"{ pkgs ? import <nixpkgs> { } }:\nwith pkgs; [ hello ]\n"

/* Run the shell command cmd (as the test's user, if any); it must work. */
static void
sh(const char *cmd, const char *arg1, const char *arg2)
{
	struct run	r;

	harness_run(&r, "sh", "-c", cmd, "sh", arg1, arg2, NULL);
	cr_assert_eq(r.status, 0, "%s: %s%s", cmd, r.out, r.err);
	harness_run_free(&r);
}

/*
 * Under a systemd user manager NIX_PATH is unset: <nixpkgs> is still found
 * in ~/.nix-defexpr/channels, as the Nix installer's shell profile has it.
 * The user's channel is nix-channel's; root's (the machine's) is not
 * touched: a link in ~/.nix-defexpr/channels stands in for it.
 */
HARNESS_TEST_BOTH(adoption, nixpkgs_from_channels_without_nix_path)
{
	char	*channels, *nixpkgs;

	xasprintf(&channels, "%s/.nix-defexpr/channels", harness.home);
	if (harness.user != NULL)
		harness_user_channel();
	else {
		sh("mkdir -p \"$1\" && ln -s \"$2/tests/fixtures/nixpkgs\" "
		    "\"$1/nixpkgs\"", channels, harness.root);
	}
	xasprintf(&nixpkgs, "%s/nixpkgs/default.nix", channels);
	cr_assert_eq(access(nixpkgs, R_OK), 0, "no %s", nixpkgs);
	harness_save(NIXPKGS_FILE);
	harness_start_with_env("NIX_PATH", NULL);
	json_free(harness_wait_generation(1));
	harness_assert_runs("bin/hello", "hello 2.12\n");
	cr_assert_eq(harness_log_count("NIX_PATH was not set; using"), 1);
	free(nixpkgs);
	free(channels);
}

/* nixpkgs nowhere on the search path: the build fails, and status says
 * why in words a user can act on. */
HARNESS_TEST_BOTH(adoption, warns_when_nixpkgs_is_not_on_the_search_path)
{
	struct json	*status;
	char		*warnings, *nowhere;

	xasprintf(&nowhere, "%s/nowhere", harness.dir);
	harness_save(NIXPKGS_FILE);
	harness_start_with_env("NIX_PATH", nowhere);
	status = harness_wait(has_warning, "uses <nixpkgs>", "a warning about "
	    "<nixpkgs>");
	warnings = warnings_of(status);
	cr_assert(strstr(warnings, "nix_path") != NULL, "%s", warnings);
	free(warnings);
	json_free(status);
	free(nowhere);
}

/*
 * Nix not on PATH (a systemd user manager's PATH): profiled finds it in
 * ~/.nix-profile/bin, where the single-user installer puts it, and says so.
 */
HARNESS_TEST_BOTH(adoption, nix_found_in_nix_profile_bin)
{
	struct json	*status;
	char		*bin, *tools;

	xasprintf(&bin, "%s/.nix-profile/bin", harness.home);
	sh("mkdir -p \"$1\" && for t in nix-env nix-instantiate nix-store "
	    "nix-build; do ln -s \"$(command -v $t)\" \"$1/$t\"; done", bin,
	    NULL);
	/* A PATH without Nix, with only the wrapper (valgrind), if any. */
	xasprintf(&tools, "%s/tools", harness.dir);
	sh("mkdir \"$1\" && w=${2%% *} && { [ -z \"$w\" ] || "
	    "printf '#!/bin/sh\\nexec %s \"$@\"\\n' \"$(command -v $w)\" "
	    "> \"$1/$w\" && chmod +x \"$1/$w\"; }", tools,
	    getenv("PROFILED_TEST_WRAPPER") != NULL ?
	    getenv("PROFILED_TEST_WRAPPER") : "");
	harness_start_with_env("PATH", tools);
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_string(status, "nix_dir"), bin);
	json_free(status);
	cr_assert(harness_log_count("Nix is not in PATH; using the one in") >=
	    1, "the Nix used is not logged");
	free(tools);
	free(bin);
}

/*
 * profilectl import writes the package file from what nix-env installed
 * (from <nixpkgs>), refuses to overwrite it, and its build changes nothing
 * in the package set: profiled proceeds, no hold, nothing lost; and the
 * next save that does change it is switched to, as for any file.
 */
HARNESS_TEST_BOTH(adoption, import_writes_a_file_that_rebuilds_the_same_packages)
{
	struct json	*status, *answer;
	char		*nixpkgs, *nix_path, *text, *warnings, *more, *at;
	struct run	 r;
	long		 imported;

	xasprintf(&nixpkgs, "%s/tests/fixtures/nixpkgs", harness.root);
	xasprintf(&nix_path, "nixpkgs=%s", nixpkgs);
	setenv("NIX_PATH", nix_path, 1);
	nix_env_install("cowsay");
	nix_env_install("hello");
	cr_assert_eq(unlink(harness.package_file), 0);
	harness_start();
	json_free(harness_wait_idle());

	harness_ctl(&r, "import", "--print", NULL);
	cr_assert_eq(r.status, 0, "import --print: %s", r.err);
	cr_assert(strstr(r.out, "{ pkgs ? import <nixpkgs> { } }:") != NULL &&
	    strstr(r.out, "\n  cowsay\n") != NULL &&
	    strstr(r.out, "\n  hello\n") != NULL, "%s", r.out);
	harness_run_free(&r);
	cr_assert_eq(access(harness.package_file, F_OK), -1,
	    "--print wrote the file");
	answer = harness_ctl_json("import", "--print", NULL);
	cr_assert_eq(harness_number(answer, "packages"), 2);
	cr_assert_eq(harness_number(answer, "found"), 2);
	cr_assert(strstr(harness_string(answer, "text"), "\n  cowsay\n") !=
	    NULL);
	json_free(answer);

	harness_ctl(&r, "import", NULL);
	cr_assert_eq(r.status, 0, "import: %s", r.err);
	cr_assert(strstr(r.err, "2 of 2 packages") != NULL, "%s", r.err);
	harness_run_free(&r);
	text = harness_read(harness.package_file);
	status = harness_wait_built(text);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	json_free(status);
	status = harness_wait(in_sync, NULL, "idle and in sync");
	warnings = warnings_of(status);
	cr_assert_str_eq(warnings, "", "the imported file changed the "
	    "package set");
	free(warnings);
	imported = harness_number(status, "current_generation");
	json_free(status);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_on_path("cowsay", "cowsay 3.7\n");

	harness_ctl(&r, "import", NULL);
	harness_assert_error(&r, "exists; not overwriting it (--print");
	harness_run_free(&r);

	/* Adding a package to the imported file proceeds: no hold. */
	at = strstr(text, "\n  hello\n");
	cr_assert_not_null(at, "%s", text);
	xasprintf(&more, "%.*s\n  ripgrep%s", (int)(at - text), text, at);
	harness_save(more);
	status = harness_wait_generation(imported + 1);
	warnings = warnings_of(status);
	cr_assert_str_eq(warnings, "", "held after the import");
	free(warnings);
	json_free(status);
	assert_on_path("rg", "ripgrep 14.1\n");
	assert_on_path("cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
	free(more);
	free(text);
	free(nix_path);
	free(nixpkgs);
}

/*
 * A second profile, DIR/other/profile, holding hello and only-here (a
 * package <nixpkgs> does not have), installed by tool: nix-env (its
 * manifest.nix) or nix profile (its manifest.json, whose elements from
 * a file name no attribute).  Root's Nix gets the offline flags.
 */
static char *
other_profile(const char *tool)
{
	struct run	 r;
	char		*dir, *profile, *file, *text;
	const char	*offline[] = { "--option", "substituters", "",
	    "--option", "sandbox", "false", "--option", "build-users-group",
	    "" };
	const char	*argv[32];
	size_t		 n = 0, i;

	xasprintf(&dir, "%s/other", harness.dir);
	harness_mkdir(dir, 0755);
	xasprintf(&profile, "%s/profile", dir);
	xasprintf(&file, "%s/only-here.nix", harness.dir);
	xasprintf(&text, "{ }:\nlet pkgs = import %s/tests/fixtures/pkgs.nix "
	    "{ }; in {\n  inherit (pkgs) hello;\n  only-here = pkgs.mk { "
	    "pname = \"only-here\"; version = \"0.1\"; };\n}\n", harness.root);
	harness_write(file, text);
	if (strcmp(tool, "nix-env") == 0) {
		argv[n++] = "nix-env";
		argv[n++] = "--profile";
		argv[n++] = profile;
		argv[n++] = "-f";
		argv[n++] = file;
		argv[n++] = "-iA";
	} else {
		argv[n++] = "nix";
		argv[n++] = "--extra-experimental-features";
		argv[n++] = "nix-command";
		argv[n++] = "profile";
		argv[n++] = "install";
		argv[n++] = "--profile";
		argv[n++] = profile;
		argv[n++] = "--file";
		argv[n++] = file;
	}
	argv[n++] = "hello";
	argv[n++] = "only-here";
	for (i = 0; harness.user == NULL && i < 9; i++)
		argv[n++] = offline[i];
	argv[n] = NULL;
	harness_runv(&r, (char *const *)argv);
	cr_assert_eq(r.status, 0, "%s install: %s", tool, r.err);
	harness_run_free(&r);
	free(text);
	free(file);
	free(dir);
	return profile;
}

/*
 * profilectl import --profile PATH reads that profile, a nix-env one or
 * a nix profile one: what it finds in <nixpkgs> is a package of the file,
 * what it cannot is a comment naming it, its version and store path.
 */
HARNESS_TEST_BOTH(adoption, import_another_profile_with_what_nixpkgs_lacks)
{
	static const char *const tools[] = { "nix-env", "nix profile" };
	struct json	*answer;
	struct run	 r;
	char		*nixpkgs, *profile, *dir;
	const char	*text;
	size_t		 i;

	xasprintf(&nixpkgs, "nixpkgs=%s/tests/fixtures/nixpkgs", harness.root);
	setenv("NIX_PATH", nixpkgs, 1);
	harness_start();
	json_free(harness_wait_generation(1));
	for (i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		profile = other_profile(tools[i]);
		answer = harness_ctl_json("import", "--print", "--profile",
		    profile, NULL);
		text = harness_string(answer, "text");
		cr_assert_eq(harness_number(answer, "packages"), 2, "%s: %s",
		    tools[i], text);
		cr_assert_eq(harness_number(answer, "found"), 1, "%s: %s",
		    tools[i], text);
		cr_assert(strstr(text, "\n  hello\n") != NULL, "%s: %s",
		    tools[i], text);
		cr_assert(strstr(text, "\n  # not found in <nixpkgs>: only-here "
		    "0.1 /nix/store/") != NULL && strstr(text,
		    "-only-here-0.1\n") != NULL, "%s: no comment naming "
		    "only-here, its version and store path: %s", tools[i], text);
		json_free(answer);
		/* --print writes nothing, here the package file is there. */
		harness_ctl(&r, "import", "--profile", profile, NULL);
		harness_assert_error(&r, "exists; not overwriting it");
		harness_run_free(&r);
		xasprintf(&dir, "%s/other", harness.dir);
		sh("rm -rf \"$1\"", dir, NULL);
		free(dir);
		free(profile);
	}
	free(nixpkgs);
}

/* ~/.nix-profile pointing at another profile: status says the shell does
 * not see the managed one, naming both. */
HARNESS_TEST_BOTH(adoption, warns_when_nix_profile_points_elsewhere)
{
	struct json	*status;
	char		*link, *other, *warnings;

	xasprintf(&other, "%s/profiles/other", harness.dir);
	xasprintf(&link, "%s/.nix-profile", harness.home);
	cr_assert_eq(symlink(other, link), 0, "symlink: %s", strerror(errno));
	harness_start();
	status = harness_wait_generation(1);
	warnings = warnings_of(status);
	cr_assert(strstr(warnings, "points at") != NULL &&
	    strstr(warnings, other) != NULL &&
	    strstr(warnings, harness.profile) != NULL &&
	    strstr(warnings, "your shell's PATH does not see") != NULL, "%s",
	    warnings);
	free(warnings);
	json_free(status);
	free(link);
	free(other);
}

/* The nix_path key wins over the environment's NIX_PATH: <nixpkgs> is
 * found through it, and status has no warning about it. */
HARNESS_TEST_BOTH(adoption, nix_path_key_overrides_nix_path)
{
	struct json	*status;
	char		*line, *nowhere, *warnings;

	xasprintf(&line, "nix_path = nixpkgs=%s/tests/fixtures/nixpkgs",
	    harness.root);
	harness_config_add(line);
	xasprintf(&nowhere, "nixpkgs=%s/nowhere", harness.dir);
	harness_save(NIXPKGS_FILE);
	harness_start_with_env("NIX_PATH", nowhere);
	status = harness_wait_generation(1);
	warnings = warnings_of(status);
	cr_assert(strstr(warnings, "<nixpkgs>") == NULL, "%s", warnings);
	free(warnings);
	json_free(status);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	free(nowhere);
	free(line);
}
