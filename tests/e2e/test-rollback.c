/*
 * Rollback goes to the current generation's parent, not to N-1 (Nix issue
 * 311), and a rollback or `switch --to N` stands, across restarts too,
 * until the package file changes again.
 */
#include <string.h>

#include "harness.h"

TestSuite(rollback, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* Generations 1, 2 and 3, by saving hello, then cowsay, then ripgrep. */
static void
make_three_generations(void)
{
	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	harness_save_packages("hello cowsay ripgrep");
	harness_wait_generation(3);
}

/* `profilectl --json rollback` answers previous -> generation. */
static void
rollback(long previous, long generation)
{
	struct json	*answer = harness_ctl_json("rollback", NULL);
	struct json	*status;

	cr_assert_eq(harness_number(answer, "previous"), previous,
	    "rollback from %ld, expected from %ld",
	    harness_number(answer, "previous"), previous);
	cr_assert_eq(harness_number(answer, "generation"), generation,
	    "rollback to %ld, expected to %ld",
	    harness_number(answer, "generation"), generation);
	cr_assert_eq(harness_bool(answer, "changed"), 1);
	cr_assert_eq(harness_bool(answer, "created"), 0);
	json_free(answer);

	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), generation);
	cr_assert_eq(harness_bool(status, "in_sync"), 0,
	    "in sync with a file that is not what generation %ld was built "
	    "from", generation);
	cr_assert_eq(harness_profile_generation(), generation);
	json_free(status);
}

/*
 * The daemon stays at generation after a restart, builds nothing, and the
 * next change to the file is built on top of generation.
 */
static void
assert_respected_across_restart(long generation, long next)
{
	struct json		*status, *generations;
	const struct json	*g;
	char			*before, *after;

	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), generation);
	before = harness_last_build(status);
	json_free(status);

	harness_stop();
	harness_start();
	status = harness_wait_idle();
	after = harness_last_build(status);
	cr_assert_eq(harness_number(status, "current_generation"), generation,
	    "after a restart at generation %ld", harness_number(status,
	    "current_generation"));
	cr_assert_str_eq(after, before, "a build after restart: before \"%s\", "
	    "after \"%s\"", before, after);
	cr_assert_eq(harness_profile_generation(), generation);
	json_free(status);
	harness_assert_nix_agrees();

	harness_save_packages("ripgrep");
	harness_wait_generation(next);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, next);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), generation,
	    "generation %ld has parent %ld, expected %ld", next,
	    harness_number(g, "parent"), generation);
	harness_assert_packages(g, "ripgrep-14.1");
	json_free(generations);
}

Test(rollback, goes_to_the_parent)
{
	struct json		*generations;
	const struct json	*g;

	make_three_generations();
	rollback(3, 2);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	rollback(2, 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");

	harness_save_packages("hello ripgrep");
	harness_wait_generation(4);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 4);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1,
	    "generation 4 has parent %ld, expected 1", harness_number(g,
	    "parent"));
	json_free(generations);

	rollback(4, 1);
	harness_assert_nix_agrees();
}

Test(rollback, of_a_root_generation_fails)
{
	struct run	 r;
	struct json	*status;

	harness_start();
	harness_wait_generation(1);
	harness_ctl(&r, "rollback", NULL);
	harness_assert_error(&r, NULL);
	harness_run_free(&r);

	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	json_free(status);
	harness_assert_nix_agrees();
}

Test(rollback, is_respected_across_restart)
{
	make_three_generations();
	rollback(3, 2);
	assert_respected_across_restart(2, 4);
}

Test(rollback, switch_to_is_respected_across_restart)
{
	struct json	*answer;

	make_three_generations();
	answer = harness_ctl_json("switch", "--to", "1", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	json_free(answer);
	assert_respected_across_restart(1, 4);
}
