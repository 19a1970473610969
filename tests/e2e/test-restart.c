/*
 * The daemon's state survives it: a change made while it was down is built
 * when it starts, and SIGTERM stops it cleanly.
 */
#include <sys/stat.h>

#include <stdlib.h>

#include "harness.h"

TestSuite(restart, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

Test(restart, change_while_down_is_built_at_start)
{
	struct json		*generations;
	const struct json	*g;

	harness_start();
	harness_wait_generation(1);
	harness_stop();

	harness_save_packages("hello cowsay");
	harness_start();
	harness_wait_generation(2);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_packages(g, "hello-2.12 cowsay-3.7");
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
}

Test(restart, unchanged_file_is_not_rebuilt)
{
	struct json	*status;
	char		*before;

	harness_start();
	status = harness_wait_generation(1);
	before = harness_last_build(status);
	harness_stop();

	harness_start();
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_last_build(status), before,
	    "rebuilt an unchanged file at start");
	harness_assert_nix_agrees();
}

/*
 * A build that failed for a reason outside the file (here a file its
 * builder needs) is tried again at start, though the file is unchanged.
 */
Test(restart, failed_build_is_retried_at_start)
{
	struct json	*status;
	char		*needed, *list, *text;

	xasprintf(&needed, "%s/needed", harness.dir);
	cr_assert(chmod(harness.dir, 0711) == 0);
	xasprintf(&list, "hello (needs \"%s\")", needed);
	text = harness_packages(list);
	harness_start();
	harness_wait_generation(1);
	harness_save(text);
	status = harness_wait_built(text);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 0);
	json_free(status);
	harness_stop();

	harness_write(needed, "");
	harness_start();
	status = harness_wait_generation(2);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	json_free(status);
	harness_assert_runs("bin/needs", "needs 1.0\n");
	free(text);
	free(list);
	free(needed);
}
