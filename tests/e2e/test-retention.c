/*
 * Retention and gc: after every switch the generations the policy lets go
 * are deleted through Nix, never the current one, its parent or the
 * newest, also after rollbacks; their records stay; gc --dry-run says
 * exactly what gc then deletes, and --collect frees their store paths;
 * rollback whose parent is gone goes to the nearest ancestor still there.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(retention, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* The ids `generations` lists (with --all: deleted ones too), "1 2 3". */
static char *
listed(int all)
{
	struct json	*list;
	char		*ids = xstrdup(""), *next;
	size_t		 i;

	list = all ? harness_ctl_json("generations", "--all", NULL) :
	    harness_ctl_json("generations", NULL);
	for (i = 0; i < list->count; i++) {
		xasprintf(&next, "%s%s%ld%s", ids, i > 0 ? " " : "",
		    harness_number(list->items[i], "id"),
		    harness_bool(list->items[i], "deleted") == 1 ? "x" : "");
		free(ids);
		ids = next;
	}
	json_free(list);
	return ids;
}

static void
assert_listed(int all, const char *want)
{
	char	*got = listed(all);

	cr_assert_str_eq(got, want, "generations%s: \"%s\", expected \"%s\"",
	    all ? " --all" : "", got, want);
	free(got);
}

/* Make the next generation from names, and wait until nothing is left. */
static void
save(const char *names, long generation)
{
	harness_save_packages(names);
	json_free(harness_wait_generation(generation));
	json_free(harness_wait_idle());
}

Test(retention, after_every_switch_keeping_what_the_rules_protect)
{
	struct json	*answer;

	harness_config_add("keep_generations = 2");
	harness_config_add("keep_days = 0");
	harness_start();
	json_free(harness_wait_generation(1));
	json_free(harness_wait_idle());
	save("hello cowsay", 2);
	assert_listed(0, "1 2");
	/* 3: the newest two stay, 1 goes. */
	save("hello ripgrep", 3);
	assert_listed(0, "2 3");
	assert_listed(1, "1x 2 3");
	harness_assert_nix_agrees();
	cr_assert_eq(harness_log_count("deleted generation 1 from the "
	    "profile"), 1);

	/* Back to 2, then 4 from 2: 3 goes; 2 stays, 4's parent. */
	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 2);
	json_free(answer);
	json_free(harness_wait_idle());
	/* 3 is newer than the current 2, and kept all the same. */
	assert_listed(0, "2 3");
	/* 4 from 2: 3 and 4 are the newest two, 2 is 4's parent. */
	save("cowsay", 4);
	assert_listed(0, "2 3 4");
	/* 5 from 4: 4 and 5 stay; 2 and 3 go. */
	save("cowsay ripgrep", 5);
	assert_listed(0, "4 5");
	assert_listed(1, "1x 2x 3x 4 5");
	harness_assert_nix_agrees();
	/* The record stays: show and diff still read it. */
	answer = harness_ctl_json("show", "3", NULL);
	cr_assert_eq(harness_bool(answer, "deleted"), 1);
	cr_assert_eq(harness_number(answer, "parent"), 2);
	json_free(answer);
	answer = harness_ctl_json("diff", "3", "5", NULL);
	cr_assert_eq(harness_number(answer, "from"), 3);
	json_free(answer);
	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 4);
	json_free(answer);
}

/* The store path of generation id's first package, from its record. */
static char *
package_path_of(long id)
{
	struct json	*shown;
	char		*path;

	xasprintf(&path, "%ld", id);
	shown = harness_ctl_json("show", path, NULL);
	free(path);
	path = xstrdup(harness_string(json_get(shown, "packages")->items[0],
	    "path"));
	json_free(shown);
	return path;
}

Test(retention, gc_dry_run_is_what_gc_deletes_and_collect_frees)
{
	struct json		*dry, *done;
	const struct json	*a, *b;
	struct stat		 sb;
	struct run		 r;
	char			*first;
	size_t			 i;

	char			*text;

	/* Generation 1 holds a package of its own: nothing else keeps it. */
	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "[ (pkgs.mk { pname = \"only-%s\"; version = \"1\"; }) ]\n",
	    harness.root, strrchr(harness.dir, '.') + 1);
	harness_save(text);
	free(text);
	harness_config_add("keep_generations = 0");
	harness_start();
	json_free(harness_wait_generation(1));
	save("hello cowsay", 2);
	save("hello ripgrep", 3);
	save("ripgrep", 4);
	assert_listed(0, "1 2 3 4");
	first = package_path_of(1);
	cr_assert_eq(stat(first, &sb), 0, "%s", first);

	/* Keep 1: the newest (4) and 4's parent (3) stay. */
	harness_ctl(&r, "gc", "--dry-run", "--keep", "1", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "would delete generations 1, 2\n");
	harness_run_free(&r);
	assert_listed(0, "1 2 3 4");
	dry = harness_ctl_json("gc", "--dry-run", "--keep", "1", NULL);
	done = harness_ctl_json("gc", "--keep", "1", "--collect", NULL);
	a = json_get(dry, "deleted");
	b = json_get(done, "deleted");
	cr_assert_eq(a->count, b->count);
	for (i = 0; i < a->count; i++)
		cr_assert_eq(a->items[i]->number, b->items[i]->number);
	cr_assert_eq(harness_bool(done, "dry_run"), 0);
	cr_assert_geq(harness_number(done, "paths_freed"), 1);
	json_free(dry);
	json_free(done);
	assert_listed(0, "3 4");
	harness_assert_nix_agrees();
	cr_assert_neq(stat(first, &sb), 0, "%s is still in the store", first);
	free(first);

	harness_ctl(&r, "gc", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "keeps every generation");
	harness_run_free(&r);
	harness_ctl(&r, "gc", "--keep", "x", NULL);
	cr_assert_eq(r.status, 2);
	harness_run_free(&r);
}

Test(retention, rollback_past_a_deleted_parent)
{
	struct json	*answer;
	struct run	 r;

	harness_config_add("keep_generations = 0");
	harness_start();
	json_free(harness_wait_generation(1));
	save("hello cowsay", 2);
	save("hello ripgrep", 3);
	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--delete-generations", "2", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_run_free(&r);
	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 1,
	    "rolled back to %ld, not 2's parent 1",
	    harness_number(answer, "generation"));
	json_free(answer);
	json_free(harness_wait_idle());

	/* 4 from 1; with 1 gone too, nothing is before it. */
	save("cowsay", 4);
	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--delete-generations", "1", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_run_free(&r);
	harness_ctl(&r, "rollback", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "nothing to roll back to");
	harness_run_free(&r);
}
