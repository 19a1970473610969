/*
 * Files the package file imports are watched too: editing one rebuilds
 * (and the build names it), status lists them, one in a subdirectory
 * works, one no longer imported is no longer watched, an error in one is
 * reported at its own line, and they are remembered across a restart.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(imports, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A package file listing names plus what the file at import lists. */
static char *
importing(const char *names, const char *import)
{
	char	*text;

	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [ %s ] ++ import %s { inherit pkgs; }\n",
	    harness.root, names, import);
	return text;
}

/*
 * Write DIR/name as an imported file listing names from the package set;
 * its path.
 */
static char *
write_import(const char *name, const char *names)
{
	char	*path, *text;

	xasprintf(&path, "%s/%s", harness.dir, name);
	xasprintf(&text, "{ pkgs }:\nwith pkgs; [ %s ]\n", names);
	harness_write(path, text);
	free(text);
	return path;
}

/*
 * The daemon's status lists path among the imports, or not (the package
 * set the package file imports is listed too).
 */
static void
assert_imports(const char *path, int listed)
{
	Profiled__Response	*response = harness_daemon_status();
	Profiled__Status	*status = response->status;
	size_t			 i;

	for (i = 0; i < status->n_imports; i++) {
		if (strcmp(status->imports[i], path) == 0)
			break;
	}
	cr_assert_eq(i < status->n_imports, listed, "%s %s among the %zu "
	    "imports in status", path, listed ? "is not" : "is",
	    status->n_imports);
	profiled__response__free_unpacked(response, NULL);
}

/* The daemon's status names file as the one that started the last build. */
static void
assert_last_build_file(const char *file)
{
	Profiled__Response	*response = harness_daemon_status();
	Profiled__Build		*build = response->status->last_build;

	cr_assert_not_null(build, "no last build");
	cr_assert_str_eq(build->file, file, "last_build.file is %s, expected "
	    "%s", build->file, file);
	profiled__response__free_unpacked(response, NULL);
}

/* Generation id of the current list of generations has packages. */
static void
assert_generation(long id, const char *packages)
{
	struct json		*generations = harness_ctl_json("generations",
	    NULL);
	const struct json	*g = harness_generation(generations, id);

	cr_assert_not_null(g, "no generation %ld", id);
	harness_assert_packages(g, packages);
	json_free(generations);
}

/*
 * Start on a package file listing hello and importing ./extra.nix, which
 * lists cowsay: generation 1 has both.  extra.nix's path.
 */
static char *
start_importing_extra(void)
{
	char	*extra = write_import("extra.nix", "cowsay");

	harness_save(importing("hello", "./extra.nix"));
	harness_start();
	harness_wait_generation(1);
	assert_generation(1, "hello-2.12 cowsay-3.7");
	return extra;
}

Test(imports, editing_an_import_rebuilds)
{
	char	*extra = start_importing_extra();
	long	 after = harness_last_build_id();

	assert_imports(extra, 1);
	write_import("extra.nix", "ripgrep");
	harness_wait_generation(2);
	assert_generation(2, "hello-2.12 ripgrep-14.1");
	harness_assert_one_build(after, importing("hello", "./extra.nix"),
	    extra);
	assert_last_build_file(extra);
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
	harness_assert_nix_agrees();
}

/* An import added by a save, from a subdirectory, is watched at once. */
Test(imports, import_in_a_subdirectory)
{
	char	*tools, *dev;
	long	 after;

	xasprintf(&tools, "%s/tools", harness.dir);
	cr_assert(mkdir(tools, 0755) == 0, "mkdir: %s", strerror(errno));
	dev = write_import("tools/dev.nix", "ripgrep");
	harness_start();
	harness_wait_generation(1);
	assert_imports(dev, 0);

	harness_save(importing("hello", "./tools/dev.nix"));
	harness_wait_generation(2);
	assert_generation(2, "hello-2.12 ripgrep-14.1");
	assert_imports(dev, 1);

	after = harness_last_build_id();
	write_import("tools/dev.nix", "cowsay ripgrep");
	harness_wait_generation(3);
	assert_generation(3, "hello-2.12 cowsay-3.7 ripgrep-14.1");
	harness_assert_one_build(after, importing("hello", "./tools/dev.nix"),
	    dev);
	harness_assert_nix_agrees();
}

/*
 * Once the package file stops importing a file, editing it builds
 * nothing; an edit of the package file after it still does, so the
 * watches were alive.
 */
Test(imports, a_dropped_import_is_not_watched)
{
	char	*last = harness_packages("hello cowsay ripgrep");
	char	*extra = start_importing_extra();
	long	 after;

	harness_save_packages("hello ripgrep");
	harness_wait_generation(2);
	assert_imports(extra, 0);

	after = harness_last_build_id();
	write_import("extra.nix", "hello-old");
	harness_wait_ignored();
	harness_assert_no_build(after);

	harness_save(last);
	harness_wait_generation(3);
	harness_assert_one_build(after, last, NULL);
	assert_generation(3, "hello-2.12 cowsay-3.7 ripgrep-14.1");
	harness_assert_nix_agrees();
}

static int
is_idle_after_failure(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_bool(json_get(status, "last_build"), "ok") == 0;
}

/*
 * A syntax error in an imported file fails the build at that file's line,
 * leaving the profile alone; fixing that file alone builds again.
 */
Test(imports, syntax_error_in_an_import)
{
	struct json	*status;
	const char	*error;
	char		*extra = start_importing_extra(), *location;

	harness_write(extra, "{ pkgs }:\nwith pkgs; [ ripgrep ) ]\n");
	status = harness_wait(is_idle_after_failure, NULL, "a failed build");
	error = harness_string(json_get(status, "last_build"), "error");
	cr_assert_not_null(error);
	xasprintf(&location, "%s:2", extra);
	cr_assert(strstr(error, location) != NULL, "error \"%s\" does not "
	    "name %s", error, location);
	cr_assert(strstr(error, "syntax error") != NULL, "error \"%s\"",
	    error);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	assert_last_build_file(extra);
	json_free(status);

	write_import("extra.nix", "ripgrep");
	status = harness_wait_generation(2);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	assert_generation(2, "hello-2.12 ripgrep-14.1");
	harness_assert_nix_agrees();
}

/*
 * The inputs are remembered across a restart: an import edited while
 * profiled was down is built when it starts, and one edited after a
 * restart that built nothing is built too.
 */
Test(imports, imports_survive_a_restart)
{
	struct json	*status;
	char		*extra = start_importing_extra();
	long		 after;

	harness_stop();
	write_import("extra.nix", "ripgrep");
	harness_start();
	harness_wait_generation(2);
	assert_generation(2, "hello-2.12 ripgrep-14.1");

	harness_stop();
	after = harness_last_build_id();
	harness_start();
	status = harness_wait_generation(2);
	json_free(status);
	assert_imports(extra, 1);
	harness_assert_no_build(after);
	write_import("extra.nix", "cowsay ripgrep");
	harness_wait_generation(3);
	assert_generation(3, "hello-2.12 cowsay-3.7 ripgrep-14.1");
	harness_assert_one_build(after, importing("hello", "./extra.nix"),
	    extra);
	harness_assert_nix_agrees();
}
