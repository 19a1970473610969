/*
 * Saving the package file makes generations: the first at start, one per
 * save however the editor saves, none for a file that is briefly missing
 * or whose build equals the current generation.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(generations, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* No generation in a `generations --json` array has zero packages. */
static void
assert_no_empty_generation(void)
{
	struct json	*generations = harness_ctl_json("generations", NULL);
	const struct json *packages;
	size_t		 i;

	for (i = 0; i < generations->count; i++) {
		packages = json_get(generations->items[i], "packages");
		cr_assert(packages != NULL && packages->count > 0,
		    "generation %ld has no packages",
		    harness_number(generations->items[i], "id"));
	}
	json_free(generations);
}

/* The daemon has seen the file go and has settled. */
static int
is_idle_without_file(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_bool(status, "package_file_exists") == 0;
}

Test(generations, first_at_start)
{
	struct json		*status, *generations;
	const struct json	*g;

	harness_start();
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_string(status, "package_file"),
	    harness.package_file);
	cr_assert_eq(harness_bool(status, "package_file_exists"), 1);
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	cr_assert_eq(harness_number(status, "pid"), harness.daemon);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	cr_assert_eq(harness_number(json_get(status, "last_build"),
	    "generation"), 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");

	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	g = harness_generation(generations, 1);
	cr_assert_not_null(g);
	cr_assert_eq(json_get(g, "parent")->type, JSON_NULL,
	    "the first generation has a parent");
	cr_assert_str_eq(harness_string(g, "reason"), "save");
	cr_assert_str_eq(harness_string(g, "content_hash"),
	    harness_hash(harness_packages("hello")));
	harness_assert_packages(g, "hello-2.12");
	harness_assert_nix_agrees();
}

Test(generations, none_without_a_file)
{
	struct json	*status, *generations;

	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	harness_start();
	status = harness_wait_idle();
	cr_assert_eq(harness_bool(status, "package_file_exists"), 0);
	cr_assert_eq(json_get(status, "current_generation")->type, JSON_NULL,
	    "a current generation without a package file");
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 0, "%zu generations without a "
	    "package file", generations->count);
	json_free(generations);

	harness_save_packages("hello");
	harness_wait_generation(1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}

Test(generations, existing_profile_is_imported)
{
	struct json		*generations, *answer;
	const struct json	*g;

	/* The user's profile before profiled: nix-env made generation 1.
	 * Replacing it takes consent (test-adoption.c): profilectl switch. */
	harness_nix_env_install("cowsay");

	harness_start();
	harness_wait_built(harness_read(harness.package_file));
	cr_assert_eq(harness_profile_generation(), 1);
	json_free(harness_ctl_json("switch", NULL));
	harness_wait_generation(2);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 1);
	cr_assert_not_null(g, "nix-env's generation 1 is not listed");
	cr_assert_str_eq(harness_string(g, "reason"), "import");
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_str_eq(harness_string(g, "reason"), "switch");
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_packages(g, "hello-2.12");
	harness_assert_nix_agrees();

	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	harness_wait_idle();
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
}

Test(generations, save_in_place)
{
	struct json		*generations;
	const struct json	*g;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);

	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	cr_assert_eq(harness_bool(g, "current"), 1);
	cr_assert_str_eq(harness_string(g, "reason"), "save");
	harness_assert_packages(g, "hello-2.12 cowsay-3.7");
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
}

Test(generations, save_by_rename)
{
	struct json		*generations;
	const struct json	*g;

	harness_start();
	harness_wait_generation(1);
	harness_save_by_rename(harness_packages("hello ripgrep"));
	harness_wait_generation(2);
	harness_save_by_rename(harness_packages("ripgrep"));
	harness_wait_generation(3);

	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 3);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 2);
	harness_assert_packages(g, "ripgrep-14.1");
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
	harness_assert_nix_agrees();
}

Test(generations, missing_file_is_not_an_empty_set)
{
	static const char	*names = "hello cowsay";
	struct json		*status;

	harness_start();
	harness_wait_generation(1);
	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	status = harness_wait(is_idle_without_file, NULL,
	    "idle with package_file_exists false");
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_no_empty_generation();

	harness_save_packages(names);
	status = harness_wait_generation(2);
	cr_assert_eq(harness_bool(status, "package_file_exists"), 1);
	assert_no_empty_generation();
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
}

Test(generations, same_output_makes_no_generation)
{
	struct json	*status, *generations;
	char		*text;

	harness_start();
	harness_wait_generation(1);
	xasprintf(&text, "# only a comment changed\n%s",
	    harness_packages("hello"));
	harness_save(text);
	status = harness_wait_built(text);

	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1, "%zu generations, expected 1",
	    generations->count);
	cr_assert_eq(harness_profile_generation(), 1);
	harness_assert_nix_agrees();
}

Test(generations, rapid_saves_build_the_newest)
{
	static const char	*versions[] = {
		"hello cowsay", "cowsay", "cowsay ripgrep", "hello ripgrep",
		"ripgrep",
	};
	struct json		*status, *generations;
	const struct json	*current;
	char			*last = NULL;
	size_t			 i;

	harness_start();
	harness_wait_generation(1);
	for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		last = harness_packages(versions[i]);
		harness_save(last);
	}
	status = harness_wait_built(last);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);

	generations = harness_ctl_json("generations", NULL);
	current = harness_generation(generations,
	    harness_number(status, "current_generation"));
	cr_assert_not_null(current);
	harness_assert_packages(current, "ripgrep-14.1");
	assert_no_empty_generation();
	harness_assert_nix_agrees();
}

/*
 * A generation nix-env makes while profiled runs is listed at once, and
 * gets its package list from its manifest at the next start.
 */
/* Status no longer says adoption runs. */
static int
adopted(const struct json *status, const void *arg)
{
	const struct json	*adopting = json_get(status, "adopting");

	return adopting != NULL && adopting->type == JSON_NULL;
}

/* Read in the background after the socket answers, not before. */
Test(generations, outside_generation_gets_its_packages_at_start)
{
	struct json		*generations;
	const struct json	*g;

	harness_start();
	harness_wait_generation(1);
	harness_nix_env_install("cowsay");

	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g, "nix-env's generation 2 is not listed");
	cr_assert_str_eq(harness_string(g, "reason"), "import");
	json_free(generations);

	harness_stop();
	harness_start();
	json_free(harness_wait(adopted, NULL, "adoption to finish"));
	harness_wait_idle();
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	harness_assert_packages(g, "hello-2.12 cowsay-3.7");
	json_free(generations);
	harness_assert_nix_agrees();
}

/* The profile's link id, made by hand to target, as years of nix-env
 * leave them. */
static void
make_link_to(long id, const char *target)
{
	char	*link;

	xasprintf(&link, "%s-%ld-link", harness.profile, id);
	cr_assert(symlink(target, link) == 0, "symlink %s: %s", link,
	    strerror(errno));
	free(link);
}

static void
remove_link(long id)
{
	char	*link;

	xasprintf(&link, "%s-%ld-link", harness.profile, id);
	cr_assert(unlink(link) == 0, "unlink %s: %s", link, strerror(errno));
	free(link);
}

/*
 * Links made and deleted behind profiled's back while it runs are seen
 * (inotify on the profile's directory), over pages of 64: listed in order,
 * the deleted ones gone from `generations` and marked in `--all`.
 */
Test(generations, links_made_and_deleted_while_running_over_pages)
{
	struct json		*generations;
	const struct json	*g;
	char			 target[PATH_MAX], *link;
	ssize_t			 n;
	long			 id;
	size_t			 i;

	harness_start();
	harness_save_packages("hello");
	json_free(harness_wait_generation(1));
	xasprintf(&link, "%s-1-link", harness.profile);
	n = readlink(link, target, sizeof target - 1);
	cr_assert(n > 0, "readlink %s: %s", link, strerror(errno));
	target[n] = '\0';
	free(link);

	for (id = 2; id <= 150; id++)
		make_link_to(id, target);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 150, "%zu listed, not 150",
	    generations->count);
	for (i = 0; i < generations->count; i++)
		cr_assert_eq(harness_number(generations->items[i], "id"),
		    (long)i + 1, "listed out of order at %zu", i);
	g = harness_generation(generations, 150);
	cr_assert_str_eq(harness_string(g, "reason"), "import");
	cr_assert_eq(harness_number(g, "parent"), 149);
	json_free(generations);

	for (id = 60; id < 70; id++)
		remove_link(id);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 140, "%zu listed, not 140",
	    generations->count);
	cr_assert_null(harness_generation(generations, 65));
	json_free(generations);
	generations = harness_ctl_json("generations", "--all", NULL);
	cr_assert_eq(generations->count, 150, "--all lists %zu, not 150",
	    generations->count);
	for (id = 58; id < 72; id++) {
		g = harness_generation(generations, id);
		cr_assert_not_null(g, "--all does not list %ld", id);
		cr_assert_eq(harness_bool(g, "deleted"),
		    id >= 60 && id < 70, "generation %ld's deleted flag", id);
	}
	json_free(generations);
}
