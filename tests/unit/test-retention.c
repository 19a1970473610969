/*
 * Retention's rules: the newest keep_generations and those younger than
 * keep_days stay, and the current generation, the newest and the current
 * one's parent stay whatever the policy.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "profiled.h"

TestSuite(retention);

#define DAY	86400
#define NOW	(1000 * DAY)

/* A live generation: the profile's link, and its record's parent. */
struct gen {
	unsigned	 id;
	unsigned	 parent;	/* 0: none */
	int64_t		 created;
};

/* The plan as "1 2 3". */
static char *
plan(const struct gen *gens, size_t count, unsigned current, size_t keep,
    unsigned days)
{
	struct retention_policy	 policy = { keep, days };
	struct profile_link	 links[16];
	unsigned		*ids, parent = 0;
	size_t			 n, i;
	char			*text = xstrdup(""), *next;

	cr_assert_leq(count, 16);
	for (i = 0; i < count; i++) {
		links[i].id = gens[i].id;
		links[i].store_path = NULL;
		links[i].created = gens[i].created;
		if (gens[i].id == current)
			parent = gens[i].parent;
	}
	ids = retention_plan(links, count, current, parent, &policy, NOW, &n);
	for (i = 0; i < n; i++) {
		xasprintf(&next, "%s%s%u", text, i > 0 ? " " : "", ids[i]);
		free(text);
		text = next;
	}
	free(ids);
	return text;
}

static void
assert_plan(const struct gen *gens, size_t count,
    unsigned current, size_t keep, unsigned days, const char *want)
{
	char	*got = plan(gens, count, current, keep, days);

	cr_assert_str_eq(got, want, "keep %zu, %u days, current %u: deletes "
	    "\"%s\", expected \"%s\"", keep, days, current, got, want);
	free(got);
}

/* Ten generations a day apart, in a line: i's parent is i - 1. */
static void
line_of_ten(struct gen *gens)
{
	size_t	i;

	for (i = 0; i < 10; i++) {
		gens[i].id = i + 1;
		gens[i].parent = i;
		gens[i].created = NOW - (10 - i) * DAY;
	}
}

Test(retention, keeps_the_newest_and_the_young)
{
	struct gen	gens[10];

	line_of_ten(gens);
	assert_plan(gens, 10, 10, 3, 0, "1 2 3 4 5 6 7");
	/* 6 days: 6..10 are younger (made 5..1 days ago); 5 is 6 days old. */
	assert_plan(gens, 10, 10, 3, 6, "1 2 3 4 5");
	assert_plan(gens, 10, 10, 50, 0, "");
	assert_plan(gens, 10, 10, 0, 30, "");
}

Test(retention, never_the_current_its_parent_or_the_newest)
{
	struct gen	gens[10];

	line_of_ten(gens);
	/* Rolled back to 4: 4, its parent 3, and the newest 10 stay. */
	assert_plan(gens, 10, 4, 0, 0, "1 2 5 6 7 8 9");
	assert_plan(gens, 10, 4, 2, 0, "1 2 5 6 7 8");
	/* A root has no parent to keep. */
	assert_plan(gens, 10, 1, 0, 0, "2 3 4 5 6 7 8 9");
}

/*
 * 1 -> 2 -> 3, rollback to 1, 1 -> 4: the abandoned 2 and 3 go by the
 * same rules as any other, never because they are newer than the current
 * one (nix-env --delete-generations old deletes them).
 */
Test(retention, a_branch_after_rollback_is_judged_like_the_rest)
{
	struct gen	gens[] = {
		{ 1, 0, NOW - 4 * DAY }, { 2, 1, NOW - 3 * DAY },
		{ 3, 2, NOW - 2 * DAY }, { 4, 1, NOW - 1 * DAY },
	};

	assert_plan(gens, 4, 4, 2, 0, "2");
	assert_plan(gens, 4, 4, 0, 0, "2 3");
	/* Rolled back to 3 from 4: 3, its parent 2, and 4 stay. */
	assert_plan(gens, 4, 3, 0, 0, "1");
}

Test(retention, an_empty_profile_plans_nothing)
{
	assert_plan(NULL, 0, 0, 0, 0, "");
}
