/*
 * Rollback goes to the current generation's parent, not to N-1 (Nix issue
 * 311), and a rollback or `switch --to N` stands, across restarts too,
 * until the package file changes again.
 */
#include <stdlib.h>
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

/* A rollback says so in status: the profile differs from the file on purpose. */
Test(rollback, status_says_held)
{
	struct json	*status;

	make_three_generations();
	rollback(3, 2);
	status = harness_status();
	cr_assert_eq(harness_bool(status, "held"), 1);
	json_free(status);
	harness_save_packages("ripgrep");
	status = harness_wait_generation(4);
	cr_assert_eq(harness_bool(status, "held"), 0);
	json_free(status);
}

/*
 * A save that builds to the newest generation switches to it, as nix-env
 * --set would, and leaves its recorded history alone.
 */
Test(rollback, build_equal_to_the_newest_switches_to_it)
{
	struct json		*answer, *generations, *status;
	const struct json	*g;
	char			*created, *text, *changed;

	make_three_generations();
	generations = harness_ctl_json("generations", NULL);
	created = xstrdup(harness_string(harness_generation(generations, 3),
	    "created"));
	json_free(generations);
	answer = harness_ctl_json("switch", "--to", "1", NULL);
	json_free(answer);
	/* The same packages, in a file that differs: a change to build. */
	text = harness_packages("hello cowsay ripgrep");
	xasprintf(&changed, "# back to these\n%s", text);
	harness_save(changed);
	free(changed);
	free(text);
	status = harness_wait_generation(3);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	json_free(status);

	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 3, "a fourth generation was made");
	g = harness_generation(generations, 3);
	cr_assert_eq(harness_number(g, "parent"), 2,
	    "generation 3's parent was rewritten");
	cr_assert_str_eq(harness_string(g, "created"), created);
	free(created);
	json_free(generations);
	rollback(3, 2);
	harness_assert_nix_agrees();
}

/* A generation made behind profiled's back is rolled back from at once. */
Test(rollback, after_an_outside_nix_env)
{
	struct json	*generations, *answer;
	struct run	 r;
	const char	*first;
	char		*path;

	make_three_generations();
	generations = harness_ctl_json("generations", NULL);
	first = harness_string(harness_generation(generations, 1),
	    "store_path");
	path = xstrdup(first);
	json_free(generations);
	harness_run(&r, "nix-env", "--profile", harness.profile, "--set", path,
	    NULL);
	cr_assert_eq(r.status, 0, "nix-env --set: %s", r.err);
	harness_run_free(&r);
	free(path);
	cr_assert_eq(harness_profile_generation(), 4);

	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "previous"), 4);
	cr_assert_eq(harness_number(answer, "generation"), 3,
	    "an outside generation's parent is the one below it");
	json_free(answer);
	cr_assert_eq(harness_profile_generation(), 3);
	harness_assert_nix_agrees();
}
