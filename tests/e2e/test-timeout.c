/*
 * build_timeout stops a build that would never end, whether Nix is stuck
 * evaluating (reading a FIFO nobody writes) or realising (a builder that
 * waits for ever): the build fails saying so, within the deadline, Nix
 * and its builders are gone, and the profile is untouched.
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(build_timeout, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* The build_timeout the tests set, in seconds. */
#define TIMEOUT_SECONDS	2
/* How long after the save the failure may come: the timeout, Nix's grace
 * to stop after SIGTERM before SIGKILL (5 s), and slack. */
#define TIMEOUT_DEADLINE_MS	((TIMEOUT_SECONDS + 5 + 5) * 1000)

/*
 * Start profiled, make generation 1, then reload with build_timeout =
 * 2 s: under load the first build alone may take longer than that.
 */
static void
start_with_timeout(char before[PATH_MAX])
{
	long long	deadline;
	int		reloaded;

	harness_start();
	harness_wait_generation(1);
	cr_assert(realpath(harness.profile, before) != NULL, "realpath: %s",
	    strerror(errno));
	harness_config_add("build_timeout = 2");
	reloaded = harness_log_count("build_timeout is now");
	cr_assert_eq(kill(harness.daemon, SIGHUP), 0, "kill: %s",
	    strerror(errno));
	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	while (harness_log_count("build_timeout is now") == reloaded) {
		cr_assert(harness_clock_ms() < deadline, "no reload in the log");
		poll(NULL, 0, 20);
	}
}

/*
 * Wait for the build of text, saved at saved (ms), to fail for the
 * timeout in time, the profile still being before.
 */
static void
assert_timed_out(const char *text, long long saved, const char *before)
{
	struct json		*status;
	const struct json	*build;
	const char		*error;
	char			 after[PATH_MAX];

	status = harness_wait_built(text);
	cr_assert(harness_clock_ms() - saved < TIMEOUT_DEADLINE_MS,
	    "the build failed %lld ms after the save, with build_timeout %d s",
	    harness_clock_ms() - saved, TIMEOUT_SECONDS);
	build = json_get(status, "last_build");
	error = harness_string(build, "error");
	cr_assert_eq(harness_bool(build, "ok"), 0, "the build succeeded");
	cr_assert(error != NULL && strstr(error, "build_timeout") != NULL,
	    "error \"%s\" does not mention build_timeout", error);
	cr_assert(harness_number(build, "duration_ms") >=
	    TIMEOUT_SECONDS * 1000, "stopped after %ld ms, before the timeout",
	    harness_number(build, "duration_ms"));
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	cr_assert(realpath(harness.profile, after) != NULL, "realpath: %s",
	    strerror(errno));
	cr_assert_str_eq(after, before, "the profile moved to %s", after);
	json_free(status);
}

Test(build_timeout, evaluation_that_never_returns)
{
	char		*fifo, *text, before[PATH_MAX];
	long long	 saved;

	xasprintf(&fifo, "%s/fifo", harness.dir);
	cr_assert(mkfifo(fifo, 0644) == 0, "mkfifo: %s", strerror(errno));
	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "builtins.seq (builtins.readFile %s) (with pkgs; [ hello cowsay ])\n",
	    harness.root, fifo);
	start_with_timeout(before);
	saved = harness_clock_ms();
	harness_save(text);
	/* nix-instantiate has the package file among its arguments. */
	harness_wait_process("cmdline", harness.package_file, 1);
	assert_timed_out(text, saved, before);
	harness_wait_process("cmdline", harness.package_file, 0);
	harness_assert_nix_agrees();

	/* A good file builds again. */
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
}

Test(build_timeout, realise_that_never_finishes)
{
	char		*text = harness_gated_packages("hello", "never");
	char		*gate = harness_gate_variable("never"), before[PATH_MAX];
	long long	 saved;

	start_with_timeout(before);
	saved = harness_clock_ms();
	harness_save(text);
	harness_wait_process("environ", gate, 1);
	assert_timed_out(text, saved, before);
	harness_wait_process("environ", gate, 0);
	harness_assert_nix_agrees();
}
