/*
 * meta.priority resolves file collisions as nix-env does: hello 2.12 and
 * hello 2.10 both ship bin/hello, and the hiPrio one wins.
 */
#include "harness.h"

TestSuite(priority, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

Test(priority, hiprio_wins_a_collision)
{
	struct json		*status, *generations;
	const struct json	*g;

	harness_save_packages("hello (hiPrio hello-old)");
	harness_start();
	status = harness_wait_generation(1);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	harness_assert_runs("bin/hello", "hello 2.10\n");

	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 1);
	cr_assert_not_null(g);
	harness_assert_packages(g, "hello-2.12 hello-2.10");
	harness_assert_nix_agrees();

	harness_save_packages("(hiPrio hello) hello-old");
	harness_wait_generation(2);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}
