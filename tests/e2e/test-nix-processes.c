/*
 * The Nix processes a save costs, counted: every Nix command is a wrapper
 * first in the daemon's PATH that logs its name and first argument, then
 * runs Nix's own.  A save of packages already in the store is one
 * nix-build (evaluation, build and GC root in one process); one adding a
 * package never built is two (the packages, then the environment);
 * making the generation adds nix-env --set only where the profile's links
 * are not GC roots by themselves, outside Nix's profiles directory.  A
 * change that adds a Nix process to a save fails here, as root without a
 * nix-daemon and as a user against one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(nix_processes, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(nix_processes_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/* The Nix commands profiled may run, each wrapped. */
static const char *const nix_processes_commands[] = {
	"nix", "nix-build", "nix-env", "nix-instantiate", "nix-store",
};

/* DIR/nix-log/trace: one line per Nix process, "COMMAND FIRST-ARG". */
static char *
nix_processes_trace(void)
{
	char	*path;

	xasprintf(&path, "%s/nix-log/trace", harness.dir);
	return path;
}

/* Write DIR/nix-wrap/ with a logging wrapper for each Nix command. */
static char *
nix_processes_wrap(void)
{
	char	*wrap, *log, *trace, *real, *path, *script;
	size_t	 i;

	xasprintf(&wrap, "%s/nix-wrap", harness.dir);
	xasprintf(&log, "%s/nix-log", harness.dir);
	harness_mkdir(wrap, 0755);
	harness_mkdir(log, 0755);
	trace = nix_processes_trace();
	for (i = 0; i < sizeof nix_processes_commands /
	    sizeof nix_processes_commands[0]; i++) {
		real = harness_which(nix_processes_commands[i]);
		xasprintf(&script, "#!/bin/sh\n"
		    "echo \"%s $1\" >> %s\n"
		    "exec %s \"$@\"\n", nix_processes_commands[i], trace, real);
		xasprintf(&path, "%s/%s", wrap, nix_processes_commands[i]);
		harness_write(path, script);
		cr_assert(chmod(path, 0755) == 0, "chmod: %s", strerror(errno));
		free(path);
		free(script);
		free(real);
	}
	free(trace);
	free(log);
	return wrap;
}

/* Start profiled with the wrappers first on its PATH. */
static void
nix_processes_start(void)
{
	char	*wrap = nix_processes_wrap(), *path;

	xasprintf(&path, "%s:%s", wrap, getenv("PATH"));
	harness_start_with_env("PATH", path);
	free(path);
	free(wrap);
}

/*
 * Save text once profiled has settled at generation n - 1, and return the
 * Nix processes that made generation n, as the trace has them.
 */
static char *
nix_processes_of_save(const char *text, long n)
{
	char	*trace_path = nix_processes_trace(), *before, *after, *ours;

	json_free(harness_wait_generation(n - 1));
	before = harness_read(trace_path);
	harness_save(text);
	json_free(harness_wait_generation(n));
	after = harness_read(trace_path);
	cr_assert(strncmp(after, before, strlen(before)) == 0,
	    "the trace was rewritten");
	ours = xstrdup(after + strlen(before));
	free(before);
	free(after);
	free(trace_path);
	return ours;
}

/*
 * A save adding a package never built (the fixture gated on a file of
 * this test's own, there already) ran first_save; the same packages saved
 * again, built now, make the same environment (no new generation); and
 * the same packages in another order ran built_save.
 */
static void
nix_processes_assert_saves(const char *first_save, const char *built_save)
{
	struct json	*status;
	char		*gate, *text, *again, *seen;

	xasprintf(&gate, "%s/gates/open", harness.dir);
	text = harness_gated_packages("hello", "open");
	harness_write(gate, "");
	nix_processes_start();
	seen = nix_processes_of_save(text, 2);
	cr_assert_str_eq(seen, first_save, "a save of a new package ran these "
	    "Nix processes:\n%sinstead of:\n%s", seen, first_save);
	free(seen);

	xasprintf(&again, "%s# built now\n", text);
	harness_save(again);
	status = harness_wait_built(again);
	cr_assert_eq(harness_number(status, "current_generation"), 2,
	    "the same packages, built before, made another environment");
	json_free(status);
	free(again);
	free(text);

	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [ (gated \"%s\") hello ]\n", harness.root, gate);
	seen = nix_processes_of_save(text, 3);
	cr_assert_str_eq(seen, built_save, "a save of built packages ran "
	    "these Nix processes:\n%sinstead of:\n%s", seen, built_save);
	free(seen);
	free(text);
	free(gate);
	harness_assert_nix_agrees();
}

/*
 * In Nix's profiles directory the generation link is a GC root by itself,
 * so profiled makes it: a save is nix-build alone, and Nix still lists
 * the packages and generations.
 */
HARNESS_TEST_BOTH(nix_processes, nix_build_alone_in_nix_profiles)
{
	harness_use_nix_profiles();
	nix_processes_assert_saves("nix-build -v\nnix-build -v\n",
	    "nix-build -v\n");
}

/*
 * Elsewhere Nix must register the link as a GC root: nix-build, then
 * nix-env --set.
 */
HARNESS_TEST_BOTH(nix_processes, nix_env_set_elsewhere)
{
	cr_assert(!profile_links_are_roots(harness.profile));
	nix_processes_assert_saves(
	    "nix-build -v\nnix-build -v\nnix-env --profile\n",
	    "nix-build -v\nnix-env --profile\n");
}
