/*
 * profilectl with a person at the keyboard: ^C during a switch leaves the
 * build to profiled and says how to go back; a switch's result is printed
 * once.
 */
#include <errno.h>
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
