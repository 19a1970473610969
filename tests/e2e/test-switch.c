/*
 * `profilectl switch` builds the package file now and answers with the
 * result; `switch --to N` activates an existing generation and builds
 * nothing; a generation that does not exist is an error.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

TestSuite(switch, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

Test(switch, builds_now_and_answers)
{
	struct json		*answer, *status, *generations;
	const struct json	*g;
	char			*text = harness_packages("hello ripgrep");
	long			 generation;

	harness_start();
	harness_wait_generation(1);
	harness_save(text);
	answer = harness_ctl_json("switch", NULL);
	generation = harness_number(answer, "generation");
	cr_assert_gt(generation, 1, "switch answered generation %ld",
	    generation);
	json_free(answer);

	status = harness_wait_built(text);
	cr_assert_eq(harness_number(status, "current_generation"), generation);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, generation);
	cr_assert_not_null(g);
	harness_assert_packages(g, "hello-2.12 ripgrep-14.1");
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
	harness_assert_nix_agrees();
}

Test(switch, prints_the_generation)
{
	struct json	*status;
	struct run	 r;
	char		 number[32];

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("cowsay");
	harness_wait_generation(2);
	harness_ctl_json("rollback", NULL);
	harness_ctl(&r, "switch", NULL);
	cr_assert_eq(r.status, 0, "profilectl switch exited %d: %s", r.status,
	    r.err);

	status = harness_wait_idle();
	cr_assert_neq(harness_number(status, "current_generation"), 1,
	    "switch left generation 1 current");
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	snprintf(number, sizeof number, "%ld",
	    harness_number(status, "current_generation"));
	cr_assert(strstr(r.out, number) != NULL,
	    "switch printed \"%s\", not the generation %s", r.out, number);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_run_free(&r);
	harness_assert_nix_agrees();
}

Test(switch, in_sync_changes_nothing)
{
	struct json	*answer, *generations;

	harness_start();
	harness_wait_generation(1);
	answer = harness_ctl_json("switch", NULL);
	cr_assert_eq(harness_number(answer, "previous"), 1);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	cr_assert_eq(harness_bool(answer, "created"), 0);
	cr_assert_eq(harness_bool(answer, "changed"), 0);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	harness_assert_nix_agrees();
}

Test(switch, to_existing_builds_nothing)
{
	struct json	*answer, *status;
	char		*before, *after;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("cowsay");
	status = harness_wait_generation(2);
	before = harness_last_build(status);

	answer = harness_ctl_json("switch", "--to", "1", NULL);
	cr_assert_eq(harness_number(answer, "previous"), 2);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	cr_assert_eq(harness_bool(answer, "created"), 0);
	cr_assert_eq(harness_bool(answer, "changed"), 1);

	status = harness_wait_idle();
	after = harness_last_build(status);
	cr_assert_str_eq(after, before, "switch --to built: before \"%s\", "
	    "after \"%s\"", before, after);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();

	answer = harness_ctl_json("switch", "--to", "2", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 2);
	status = harness_wait_idle();
	cr_assert_str_eq(harness_last_build(status), before);
	cr_assert_eq(harness_profile_generation(), 2);
	harness_assert_nix_agrees();
}

Test(switch, to_missing_generation_fails)
{
	struct json	*status, *generations;
	struct run	 r;

	harness_start();
	harness_wait_generation(1);
	harness_ctl(&r, "switch", "--to", "99", NULL);
	harness_assert_error(&r, "99");
	harness_run_free(&r);

	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	harness_assert_nix_agrees();
}
