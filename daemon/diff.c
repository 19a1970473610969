/*
 * What changed between two generations' package lists: the diff that show,
 * diff and notifications spell out, and the one-line summary ("+jq
 * -cowsay ~hello") the history shows for each generation, which db.c
 * stores with each record so that listing the history reads no packages.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/*
 * The first package of list, not yet matched, named as p and, if
 * same_version, at p's version; count if there is none.
 */
static size_t
generation_diff_find(const struct package *list, size_t count,
    const int *matched, const struct package *p, int same_version)
{
	size_t	i;

	for (i = 0; i < count; i++) {
		if (matched[i] || strcmp(list[i].name, p->name) != 0)
			continue;
		if (!same_version || strcmp(list[i].version, p->version) == 0)
			break;
	}
	return i;
}

/* Copies of the packages of list that are not matched, in list's order. */
static struct package *
generation_diff_unmatched(const struct package *list, size_t count,
    const int *matched, size_t *n)
{
	struct package	*unmatched, *copy;
	size_t		 i;

	unmatched = xcalloc(count, sizeof *unmatched);
	*n = 0;
	for (i = 0; i < count; i++) {
		if (!matched[i])
			unmatched[(*n)++] = list[i];
	}
	copy = package_list_copy(unmatched, *n);
	free(unmatched);
	return copy;
}

/*
 * Fill diff with what changed from generation old (NULL: none) to new.  A
 * name at the same version in both is unchanged; what remains of a name
 * in both changed version; the rest was added or removed.  Exact matches
 * go first so a name listed at two versions pairs each with its own.
 */
void
generation_diff(const struct generation *old, const struct generation *new,
    struct generation_diff *diff)
{
	const struct package		*oldp = NULL, *p;
	struct generation_change	*c;
	size_t				 nold = 0, i, j;
	int				*old_matched, *new_matched;

	assert(new != NULL);
	if (old != NULL) {
		oldp = old->packages;
		nold = old->npackages;
	}
	memset(diff, 0, sizeof *diff);
	old_matched = xcalloc(nold, sizeof *old_matched);
	new_matched = xcalloc(new->npackages, sizeof *new_matched);
	for (i = 0; i < new->npackages; i++) {
		j = generation_diff_find(oldp, nold, old_matched,
		    &new->packages[i], 1);
		if (j != nold)
			old_matched[j] = new_matched[i] = 1;
	}
	diff->changed = xcalloc(new->npackages, sizeof *diff->changed);
	for (i = 0; i < new->npackages; i++) {
		p = &new->packages[i];
		if (new_matched[i])
			continue;
		j = generation_diff_find(oldp, nold, old_matched, p, 0);
		if (j == nold)
			continue;
		old_matched[j] = new_matched[i] = 1;
		c = &diff->changed[diff->nchanged++];
		c->name = xstrdup(p->name);
		c->old_version = xstrdup(oldp[j].version);
		c->new_version = xstrdup(p->version);
		c->order = package_version_compare(p->version, oldp[j].version);
	}
	diff->added = generation_diff_unmatched(new->packages, new->npackages,
	    new_matched, &diff->nadded);
	diff->removed = generation_diff_unmatched(oldp, nold, old_matched,
	    &diff->nremoved);
	free(old_matched);
	free(new_matched);
}

void
generation_diff_free(struct generation_diff *diff)
{
	size_t	i;

	package_list_free(diff->added, diff->nadded);
	package_list_free(diff->removed, diff->nremoved);
	for (i = 0; i < diff->nchanged; i++) {
		free(diff->changed[i].name);
		free(diff->changed[i].old_version);
		free(diff->changed[i].new_version);
	}
	free(diff->changed);
	memset(diff, 0, sizeof *diff);
}

/* An import whose packages were never read: its list is unknown. */
int
generation_packages_unknown(const struct generation *gen)
{
	return gen->npackages == 0 && gen->reason == REASON_IMPORT;
}

/*
 * What changed from old (NULL: nothing) to new, short: "+jq -cowsay
 * ~hello", "" for no change; NULL if either package list is unknown.
 */
char *
generation_summary(const struct generation *old, const struct generation *new)
{
	struct generation_diff	 diff;
	char			*summary;
	size_t			 len, i;
	FILE			*f;

	if (generation_packages_unknown(new) ||
	    (old != NULL && generation_packages_unknown(old)))
		return NULL;
	generation_diff(old, new, &diff);
	if ((f = open_memstream(&summary, &len)) == NULL)
		fatal("open_memstream");
	for (i = 0; i < diff.nadded; i++)
		fprintf(f, "%s+%s", ftell(f) > 0 ? " " : "", diff.added[i].name);
	for (i = 0; i < diff.nremoved; i++)
		fprintf(f, "%s-%s", ftell(f) > 0 ? " " : "",
		    diff.removed[i].name);
	for (i = 0; i < diff.nchanged; i++)
		fprintf(f, "%s~%s", ftell(f) > 0 ? " " : "",
		    diff.changed[i].name);
	if (fclose(f) != 0)
		fatal("open_memstream");
	generation_diff_free(&diff);
	return summary;
}
