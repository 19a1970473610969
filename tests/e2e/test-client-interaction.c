/*
 * profilectl with a person at the keyboard: ^C during a switch leaves the
 * build to profiled and says how to go back; a switch's result is printed
 * once; log -f on an idle daemon says it waits for the next build.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(client_interaction, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

static int
is_building(const struct json *status, const void *arg)
{
	return strcmp(harness_string(status, "state"), "building") == 0;
}

/* Open the gate name, made by harness_gated_packages. */
static void
open_gate(const char *name)
{
	char	*gate;

	xasprintf(&gate, "%s/gates/%s", harness.dir, name);
	harness_write(gate, "");
	free(gate);
}

Test(client_interaction, interrupted_switch_leaves_the_build_to_profiled)
{
	struct harness_background	 sw;
	char				*err;

	/* Only the switch builds: the save's own build waits a minute. */
	harness_config_add("debounce_ms = 60000");
	harness_start();
	harness_wait_generation(1);
	harness_write(harness.package_file,
	    harness_gated_packages("hello", "later"));
	harness_background(&sw, "switch", NULL);
	json_free(harness_wait(is_building, NULL, "the switch's build"));

	kill(sw.pid, SIGINT);
	cr_assert_eq(harness_background_exit(&sw, 0), 128 + SIGINT,
	    "switch did not die of the SIGINT: %s", harness_read(sw.err));
	err = harness_read(sw.err);
	cr_assert(strstr(err, "the build goes on in profiled") != NULL,
	    "^C does not say the build goes on: %s", err);
	cr_assert(strstr(err, "profilectl switch --to 1") != NULL,
	    "^C does not say how to go back to generation 1: %s", err);
	harness_assert_error(&(struct run){ 1, "", err }, "interrupted");
	free(err);

	/* It did go on, and was activated. */
	open_gate("later");
	json_free(harness_wait_generation(2));
}

Test(client_interaction, switch_result_is_printed_once)
{
	struct run	r;

	harness_config_add("debounce_ms = 60000");
	harness_start();
	harness_wait_generation(1);
	harness_write(harness.package_file,
	    harness_gated_packages("hello", "open"));
	open_gate("open");
	harness_ctl(&r, "switch", "--progress", NULL);
	cr_assert_eq(r.status, 0, "switch --progress: %s", r.err);
	cr_assert_str_eq(r.out, "generation 2 is active (new)\n");
	cr_assert(strstr(r.err, "building (switch)") != NULL, "%s", r.err);
	cr_assert_null(strstr(r.err, "is active"), "the progress repeats "
	    "the result: %s", r.err);
	harness_run_free(&r);
}

/* The background client's stderr, once it holds needle. */
static char *
wait_stderr(struct harness_background *bg, const char *needle)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	char		*text;

	for (;;) {
		text = harness_read(bg->err);
		if (strstr(text, needle) != NULL)
			return text;
		cr_assert(harness_clock_ms() < deadline, "no \"%s\" on "
		    "stderr after %d s: %s", needle, HARNESS_DEADLINE_MS / 1000,
		    text);
		free(text);
		poll(NULL, 0, 20);
	}
}

Test(client_interaction, log_follow_on_an_idle_daemon_says_it_waits)
{
	struct harness_background	 follow;

	harness_start();
	harness_wait_generation(1);
	harness_background(&follow, "log", "-f", NULL);
	free(wait_stderr(&follow, "waiting for the next build"));
	harness_save_packages("hello cowsay");
	cr_assert_eq(harness_background_exit(&follow, 0), 0,
	    "log -f of the next build: %s", harness_read(follow.err));
}
