/*
 * Which generations retention deletes: a pure function of the profile's
 * live generations and the policy, so that gc --dry-run and gc agree and
 * the rules can be tested without Nix.
 *
 * A generation is kept when it is among the newest keep_generations, or
 * younger than keep_days; whatever the policy, the current generation,
 * the newest one and the current one's parent are never deleted (the
 * parent is where rollback goes).  Unlike nix-env --delete-generations
 * old, nothing newer than the current generation is lost just for being
 * newer: after a rollback the generations rolled back from are judged by
 * the same rules as any other.
 */
#include <stdlib.h>

#include "profiled.h"

/* The current generation's parent, or 0; a binary search of gens. */
static unsigned
retention_parent(const struct retention_generation *gens, size_t count,
    unsigned current)
{
	size_t	lo = 0, hi = count, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (gens[mid].id < current)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < count && gens[lo].id == current ? gens[lo].parent : 0;
}

/*
 * The ids of gens (live generations, in id order) that policy deletes at
 * time now, in id order; *ndelete says how many.  keep_generations 0 or
 * keep_days 0 means that rule keeps nothing by itself.
 */
unsigned *
retention_plan(const struct retention_generation *gens, size_t count,
    unsigned current, const struct retention_policy *policy, int64_t now,
    size_t *ndelete)
{
	unsigned	*ids = NULL, parent;
	size_t		 i;
	int64_t		 age;

	*ndelete = 0;
	if (count == 0)
		return NULL;
	parent = retention_parent(gens, count, current);
	for (i = 0; i < count; i++) {
		if (count - i <= policy->keep_generations)
			break;	/* the newest: all kept from here */
		age = now - gens[i].created;
		if (policy->keep_days > 0 &&
		    age < (int64_t)policy->keep_days * 86400)
			continue;
		/* Whatever the policy: the current, its parent, the newest. */
		if (gens[i].id == current || (parent != 0 &&
		    gens[i].id == parent) || i == count - 1)
			continue;
		ids = xreallocarray(ids, *ndelete + 1, sizeof *ids);
		ids[(*ndelete)++] = gens[i].id;
	}
	return ids;
}
