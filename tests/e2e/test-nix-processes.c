/*
 * The Nix processes a save costs, counted: every Nix command is a wrapper
 * first in the daemon's PATH that logs its name and first argument, then
 * runs Nix's own.  A save is one nix-build (evaluation, build and GC root
 * in one process); making the generation adds nix-env --set only where
 * the profile's links are not GC roots by themselves, outside Nix's
 * profiles directory.  A change that adds a Nix process to a save fails
 * here, as root without a nix-daemon and as a user against one.
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
 * Save the package list packages once profiled has settled at generation
 * n - 1, and return the Nix processes that made generation n, as the
 * trace has them.
 */
static char *
nix_processes_of_save(const char *packages, long n)
{
	char	*trace_path = nix_processes_trace(), *before, *after, *ours;

	json_free(harness_wait_generation(n - 1));
	before = harness_read(trace_path);
	harness_save_packages(packages);
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

/* Saves to generations 2 and 3 each ran exactly expected. */
static void
nix_processes_assert_saves(const char *expected)
{
	char	*seen;

	nix_processes_start();
	seen = nix_processes_of_save("hello cowsay", 2);
	cr_assert_str_eq(seen, expected, "a save ran these Nix processes:\n"
	    "%sinstead of:\n%s", seen, expected);
	free(seen);
	seen = nix_processes_of_save("hello ripgrep", 3);
	cr_assert_str_eq(seen, expected, "a save ran these Nix processes:\n"
	    "%sinstead of:\n%s", seen, expected);
	free(seen);
	harness_assert_nix_agrees();
}

/*
 * In Nix's profiles directory the generation link is a GC root by itself,
 * so profiled makes it: the save is one nix-build, and Nix still lists
 * the packages and generations.
 */
HARNESS_TEST_BOTH(nix_processes, one_nix_build_in_nix_profiles)
{
	harness_use_nix_profiles();
	nix_processes_assert_saves("nix-build -v\n");
}

/*
 * Elsewhere Nix must register the link as a GC root: nix-build, then
 * nix-env --set.
 */
HARNESS_TEST_BOTH(nix_processes, nix_env_set_elsewhere)
{
	cr_assert(!profile_links_are_roots(harness.profile));
	nix_processes_assert_saves("nix-build -v\nnix-env --profile\n");
}
