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

/*
 * The ids of links (the profile's live generations, in id order) that
 * policy deletes at time now, in id order; *ndelete says how many.
 * parent is the current generation's (0: none).  keep_generations 0 or
 * keep_days 0 means that rule keeps nothing by itself.  The links are
 * read where they are: a plan after every switch costs no copy of them.
 */
unsigned *
retention_plan(const struct profile_link *links, size_t count,
    unsigned current, unsigned parent, const struct retention_policy *policy,
    int64_t now, size_t *ndelete)
{
	unsigned	*ids = NULL;
	size_t		 i;
	int64_t		 age;

	*ndelete = 0;
	for (i = 0; i < count; i++) {
		if (count - i <= policy->keep_generations)
			break;	/* the newest: all kept from here */
		age = now - links[i].created;
		if (policy->keep_days > 0 &&
		    age < (int64_t)policy->keep_days * 86400)
			continue;
		/* Whatever the policy: the current, its parent, the newest. */
		if (links[i].id == current || (parent != 0 &&
		    links[i].id == parent) || i == count - 1)
			continue;
		ids = xreallocarray(ids, *ndelete + 1, sizeof *ids);
		ids[(*ndelete)++] = links[i].id;
	}
	return ids;
}
