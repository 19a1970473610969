/*
 * Generations against a profile made of real symlinks (the store paths they
 * name need not exist): rollback follows parents, not N-1; links the
 * database does not know are imported; switching is Nix's atomic rename.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "profiled.h"

static char		 gen_dir[] = "/tmp/profiled-test-gen.XXXXXX";
static struct config	 cfg;

static void
gen_setup(void)
{
	char	*path, *cause = NULL;

	cr_assert_not_null(mkdtemp(gen_dir));
	xasprintf(&path, "%s/profiled.db", gen_dir);
	cr_assert_eq(db_open(path, &cause), 0, "%s", cause);
	free(path);
	memset(&cfg, 0, sizeof cfg);
	xasprintf(&cfg.profile, "%s/profile", gen_dir);
	cr_assert_eq(links_open(NULL, cfg.profile, NULL), 0);
}

static void
gen_teardown(void)
{
	char	*cmd;

	links_close();
	db_close();
	xasprintf(&cmd, "rm -rf '%s'", gen_dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(cfg.profile);
}

TestSuite(generation, .init = gen_setup, .fini = gen_teardown);

/* A generation link as nix-env makes it, and its record with parent. */
static void
make_generation(unsigned id, unsigned parent, int record)
{
	struct generation	 gen = { .id = id, .parent = parent,
	    .created = 1, .reason = REASON_SAVE, .build_ms = -1 };
	char			*link, *cause = NULL;

	xasprintf(&gen.store_path, "/nix/store/%u-user-environment", id);
	link = profile_link_path(cfg.profile, id);
	cr_assert_eq(symlink(gen.store_path, link), 0);
	if (record)
		cr_assert_eq(db_generation_put(&gen, &cause), 0, "%s", cause);
	free(link);
	free(gen.store_path);
}

static unsigned
current(void)
{
	unsigned	 id;
	char		*store_path, *cause = NULL;

	cr_assert_eq(profile_current(cfg.profile, &id, &store_path, &cause), 0);
	free(store_path);
	return id;
}

Test(generation, rollback_follows_parent_not_number)
{
	char	*cause = NULL;

	/* 1 <- 2 <- 3, then a rollback to 1 and a save made 4 from 1. */
	make_generation(1, 0, 1);
	make_generation(2, 1, 1);
	make_generation(3, 2, 1);
	make_generation(4, 1, 1);
	cr_assert_eq(generation_rollback_target(&cfg, 4, &cause), 1);
	cr_assert_eq(generation_rollback_target(&cfg, 3, &cause), 2);
	cr_assert_eq(generation_rollback_target(&cfg, 2, &cause), 1);
}

Test(generation, rollback_from_a_root_fails)
{
	char	*cause = NULL;

	make_generation(1, 0, 1);
	cr_assert_eq(generation_rollback_target(&cfg, 1, &cause), 0);
	cr_assert_not_null(strstr(cause, "nothing to roll back to"), "%s",
	    cause);
	free(cause);
}

Test(generation, rollback_to_a_deleted_parent_fails)
{
	char	*link, *cause = NULL;

	make_generation(1, 0, 1);
	make_generation(2, 1, 1);
	link = profile_link_path(cfg.profile, 1);
	cr_assert_eq(unlink(link), 0);
	free(link);
	cr_assert_eq(generation_rollback_target(&cfg, 2, &cause), 0);
	cr_assert_not_null(strstr(cause, "deleted"), "%s", cause);
	free(cause);
}

Test(generation, sync_imports_unknown_links)
{
	struct generation	*gen;

	make_generation(1, 0, 1);
	make_generation(2, 0, 0);
	make_generation(5, 0, 0);
	generation_sync(&cfg);
	gen = db_generation_get(5);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->reason, REASON_IMPORT);
	cr_assert_eq(gen->parent, 2, "an import's parent is the link below it");
	cr_assert_str_eq(gen->store_path, "/nix/store/5-user-environment");
	db_generation_free(gen);
	gen = db_generation_get(1);
	cr_assert_eq(gen->reason, REASON_SAVE, "known records are kept");
	db_generation_free(gen);
}

Test(generation, switch_is_atomic_and_relative)
{
	char	 target[PATH_MAX], *cause = NULL;
	ssize_t	 n;

	make_generation(1, 0, 1);
	make_generation(2, 1, 1);
	cr_assert_eq(current(), 0);
	cr_assert_eq(generation_switch(&cfg, 2, &cause), 0, "%s", cause);
	cr_assert_eq(current(), 2);
	n = readlink(cfg.profile, target, sizeof target - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, "profile-2-link");
	cr_assert_eq(generation_switch(&cfg, 1, &cause), 0, "%s", cause);
	cr_assert_eq(current(), 1);
	cr_assert_eq(generation_switch(&cfg, 7, &cause), -1);
	cr_assert_not_null(strstr(cause, "generation 7 does not exist"), "%s",
	    cause);
	free(cause);
	cr_assert_eq(current(), 1, "a failed switch leaves the profile alone");
}

Test(generation, list_is_numeric_order)
{
	struct profile_link	*links;
	size_t			 count;

	make_generation(10, 0, 0);
	make_generation(9, 0, 0);
	make_generation(100, 0, 0);
	links = profile_list(cfg.profile, &count);
	cr_assert_eq(count, 3);
	cr_assert_eq(links[0].id, 9);
	cr_assert_eq(links[1].id, 10);
	cr_assert_eq(links[2].id, 100);
	profile_list_free(links, count);
}

struct link_name {
	char		entry[40];
	unsigned	id;
};

ParameterizedTestParameters(generation, link_names)
{
	static struct link_name cases[] = {
		{ "profile-1-link", 1 },
		{ "profile-42-link", 42 },
		{ "profile-0-link", 0 },
		{ "profile-01-link", 0 },
		{ "profile--1-link", 0 },
		{ "profile-1-link.tmp", 0 },
		{ "profile-x-link", 0 },
		{ "other-1-link", 0 },
		{ "profile", 0 },
		{ "profile-99999999999-link", 0 },
	};

	return cr_make_param_array(struct link_name, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct link_name *c, generation, link_names)
{
	cr_assert_eq(profile_parse_link_name("profile", c->entry), c->id,
	    "%s", c->entry);
}

/*
 * generation_diff needs no profile or database: generations are made from
 * a list such as "hello 2.10, cowsay 3.7".
 */
TestSuite(generation_diff);

static struct generation *
diff_generation(const char *list)
{
	struct generation	*gen;
	struct package		*p;
	char			*copy, *next, *item, *space;

	gen = xcalloc(1, sizeof *gen);
	next = copy = xstrdup(list);
	while ((item = strsep(&next, ",")) != NULL) {
		item += strspn(item, " ");
		if (*item == '\0')
			continue;
		cr_assert_not_null(space = strchr(item, ' '), "%s", item);
		*space = '\0';
		gen->packages = xreallocarray(gen->packages, gen->npackages + 1,
		    sizeof *gen->packages);
		p = &gen->packages[gen->npackages++];
		p->name = xstrdup(item);
		p->version = xstrdup(space + 1);
		xasprintf(&p->path, "/nix/store/x-%s-%s", item, space + 1);
	}
	free(copy);
	return gen;
}

/* A diff's lists as text, "+" for an upgrade, "-" a downgrade, "=" neither. */
static char *
diff_text(const struct generation_diff *diff)
{
	char	*text = xstrdup(""), *next;
	size_t	 i;

	for (i = 0; i < diff->nadded; i++) {
		xasprintf(&next, "%sadded %s %s; ", text, diff->added[i].name,
		    diff->added[i].version);
		free(text);
		text = next;
	}
	for (i = 0; i < diff->nremoved; i++) {
		xasprintf(&next, "%sremoved %s %s; ", text,
		    diff->removed[i].name, diff->removed[i].version);
		free(text);
		text = next;
	}
	for (i = 0; i < diff->nchanged; i++) {
		xasprintf(&next, "%schanged %s %s %c %s; ", text,
		    diff->changed[i].name, diff->changed[i].old_version,
		    diff->changed[i].order > 0 ? '+' :
		    diff->changed[i].order < 0 ? '-' : '=',
		    diff->changed[i].new_version);
		free(text);
		text = next;
	}
	return text;
}

static void
assert_diff(const char *old, const char *new, const char *want)
{
	struct generation	*o = NULL, *n;
	struct generation_diff	 diff;
	char			*got;

	if (old != NULL)
		o = diff_generation(old);
	n = diff_generation(new);
	generation_diff(o, n, &diff);
	/* The diff holds its own copies: the generations can go first. */
	db_generation_free(o);
	db_generation_free(n);
	got = diff_text(&diff);
	cr_assert_str_eq(got, want, "from [%s] to [%s]", old, new);
	free(got);
	generation_diff_free(&diff);
	cr_assert_eq(diff.nadded + diff.nremoved + diff.nchanged, 0,
	    "a freed diff is empty");
}

Test(generation_diff, added_removed_changed_unchanged)
{
	assert_diff("hello 2.10, cowsay 3.7, ripgrep 14.1, jq 1.6",
	    "ripgrep 14.1, hello 2.12, fd 9.0, jq 1.5",
	    "added fd 9.0; removed cowsay 3.7; "
	    "changed hello 2.10 + 2.12; changed jq 1.6 - 1.5; ");
}

Test(generation_diff, nothing_changed)
{
	assert_diff("hello 2.12, cowsay 3.7", "cowsay 3.7, hello 2.12", "");
	assert_diff("", "", "");
}

Test(generation_diff, from_no_generation_all_is_added)
{
	assert_diff(NULL, "ripgrep 14.1, hello 2.12",
	    "added ripgrep 14.1; added hello 2.12; ");
	assert_diff(NULL, "", "");
}

Test(generation_diff, to_an_empty_generation_all_is_removed)
{
	assert_diff("zsh 5.9, bash 5.2", "",
	    "removed zsh 5.9; removed bash 5.2; ");
}

Test(generation_diff, lists_keep_their_generation_order)
{
	/* Added and changed in the new order, removed in the old. */
	assert_diff("c 1, b 1, a 1, y 1, x 1", "z 1, x 2, w 1, y 2",
	    "added z 1; added w 1; removed c 1; removed b 1; removed a 1; "
	    "changed x 1 + 2; changed y 1 + 2; ");
}

Test(generation_diff, exact_matches_pair_first)
{
	/* 3.12 stays; only 3.11 became 3.13, not 3.11 -> 3.12 -> 3.13. */
	assert_diff("python 3.11, python 3.12", "python 3.12, python 3.13",
	    "changed python 3.11 + 3.13; ");
	assert_diff("gcc 12", "gcc 13, gcc 12", "added gcc 13; ");
	assert_diff("a 1, a 2", "a 3",
	    "removed a 2; changed a 1 + 3; ");
	assert_diff("a 1", "a 1, a 1", "added a 1; ");
}

Test(generation_diff, versions_ordered_as_nix_does)
{
	assert_diff("hello 1.0pre1, foo 1.9a, bar 2.3.1, baz 1.0",
	    "hello 1.0, foo 1.10a, bar 2.3a, baz 1.00",
	    "changed hello 1.0pre1 + 1.0; changed foo 1.9a + 1.10a; "
	    "changed bar 2.3.1 - 2.3a; changed baz 1.0 = 1.00; ");
}
