/*
 * Generations: the profile's numbered states, with the history Nix does not
 * keep.  A generation's parent is the generation that was current when it
 * was made, so rollback follows the path the user actually took rather than
 * N-1 (NixOS/nix#311).  Numbers are always the profile's own; the database
 * only adds to what the profile links say.
 *
 * Making a generation is nix-env --set, a child process; switching to an
 * existing one is profile_switch, done in place.
 */
#include <sys/wait.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "profiled.h"

struct generation_create {
	const struct config	*cfg;
	struct generation	*gen;
	generation_created_cb	 done_cb;
	void			*arg;
};

static int
generation_compare_keys(const void *a, const void *b)
{
	const char	*ka = *(const char *const *)a, *kb = *(const char *const *)b;

	return strtoul(ka, NULL, 10) < strtoul(kb, NULL, 10) ? -1 :
	    strtoul(ka, NULL, 10) > strtoul(kb, NULL, 10);
}

/*
 * Fill gen's package list from what nix-env reads in the generation's
 * manifest.nix (nix-env -q --json --out-path), in the manifest's order.
 * Blocks on nix-env; a generation it cannot read keeps an empty list.
 */
static void
generation_read_manifest(const char *link, struct generation *gen)
{
	struct json		 *list;
	const struct json	 *item, *name, *pname, *version, *outputs;
	char			 *argv[] = { "nix-env", "--profile", (char *)link,
	    "-q", "--json", "--out-path", NULL };
	char			 *text, *cause = NULL, **keys;
	size_t			  i, j;

	if ((text = proc_run_sync(argv, &cause)) == NULL) {
		log_warnx("cannot list the packages of %s: %s", link, cause);
		free(cause);
		return;
	}
	list = json_parse(text, strlen(text), &cause);
	free(text);
	if (list == NULL || list->type != JSON_OBJECT) {
		log_warnx("cannot list the packages of %s: %s", link,
		    cause != NULL ? cause : "not a JSON object");
		free(cause);
		json_free(list);
		return;
	}
	/* nix-env keys the packages by their place in the manifest. */
	keys = xcalloc(list->count, sizeof *keys);
	memcpy(keys, list->keys, list->count * sizeof *keys);
	qsort(keys, list->count, sizeof *keys, generation_compare_keys);
	gen->packages = xcalloc(list->count, sizeof *gen->packages);
	for (i = 0; i < list->count; i++) {
		item = json_get(list, keys[i]);
		name = json_get(item, "name");
		pname = json_get(item, "pname");
		version = json_get(item, "version");
		outputs = json_get(item, "outputs");
		if (name == NULL || name->type != JSON_STRING ||
		    outputs == NULL || outputs->type != JSON_OBJECT ||
		    outputs->count == 0)
			continue;
		j = gen->npackages++;
		gen->packages[j].name = xstrdup(pname != NULL &&
		    pname->type == JSON_STRING ? pname->string : name->string);
		gen->packages[j].version = xstrdup(version != NULL &&
		    version->type == JSON_STRING ? version->string : "");
		gen->packages[j].path = xstrdup(
		    outputs->items[0]->type == JSON_STRING ?
		    outputs->items[0]->string : "");
	}
	free(keys);
	json_free(list);
}

/*
 * Bring the database in line with the profile: record every generation
 * link it has no record of (or a record for another store path) as an
 * import whose parent is the generation numbered below it, since that is
 * all Nix tells us.  With read_packages, an import's packages are read
 * from its manifest, which blocks on nix-env: at start only.
 */
void
generation_sync(const struct config *cfg, int read_packages)
{
	struct profile_link	*links;
	struct generation	*known, import;
	size_t			 count, i;
	char			*cause = NULL, *link;

	links = profile_list(cfg->profile, &count);
	for (i = 0; i < count; i++) {
		known = db_generation_get(links[i].id);
		if (known != NULL &&
		    strcmp(known->store_path, links[i].store_path) == 0) {
			/* An import made while running has no packages yet. */
			if (read_packages && known->npackages == 0 &&
			    known->reason == REASON_IMPORT) {
				link = profile_link_path(cfg->profile,
				    known->id);
				generation_read_manifest(link, known);
				free(link);
				if (known->npackages > 0 &&
				    db_generation_put(known, &cause) == -1) {
					log_warnx("%s", cause);
					free(cause);
					cause = NULL;
				}
			}
			db_generation_free(known);
			continue;
		}
		db_generation_free(known);
		memset(&import, 0, sizeof import);
		import.id = links[i].id;
		import.parent = i > 0 ? links[i - 1].id : 0;
		import.store_path = links[i].store_path;
		import.created = links[i].created;
		import.reason = REASON_IMPORT;
		import.build_ms = -1;
		if (read_packages) {
			link = profile_link_path(cfg->profile, import.id);
			generation_read_manifest(link, &import);
			free(link);
		}
		if (db_generation_put(&import, &cause) == -1) {
			log_warnx("cannot record generation %u: %s", import.id,
			    cause);
			free(cause);
			cause = NULL;
		} else
			log_info("recorded existing generation %u (%s)",
			    import.id, import.store_path);
		package_list_free(import.packages, import.npackages);
	}
	profile_list_free(links, count);
}

/*
 * The generation rollback should go to from current: its parent, which
 * must still exist in the profile.  0 and *cause if there is none.
 */
unsigned
generation_rollback_target(const struct config *cfg, unsigned current,
    char **cause)
{
	struct generation	*gen;
	struct profile_link	*links;
	size_t			 count, i;
	unsigned		 parent;

	if (current == 0) {
		xasprintf(cause, "the profile has no current generation");
		return 0;
	}
	if ((gen = db_generation_get(current)) == NULL) {
		xasprintf(cause, "generation %u has no record", current);
		return 0;
	}
	parent = gen->parent;
	db_generation_free(gen);
	if (parent == 0) {
		xasprintf(cause, "generation %u is the first; there is nothing "
		    "to roll back to", current);
		return 0;
	}
	links = profile_list(cfg->profile, &count);
	for (i = 0; i < count && links[i].id != parent; i++)
		;
	profile_list_free(links, count);
	if (i == count) {
		xasprintf(cause, "generation %u's parent, %u, has been deleted "
		    "from the profile", current, parent);
		return 0;
	}
	return parent;
}

/*
 * The newest generation, if its user environment is store_path, else 0.
 * nix-env --set makes no new generation for such a path but switches to
 * that one, so a build equal to it is a switch, and its record stays as
 * it was.
 */
unsigned
generation_reusable(const struct config *cfg, const char *store_path)
{
	struct profile_link	*links;
	size_t			 count;
	unsigned		 id = 0;

	links = profile_list(cfg->profile, &count);
	if (count > 0 && strcmp(links[count - 1].store_path, store_path) == 0)
		id = links[count - 1].id;
	profile_list_free(links, count);
	return id;
}

/* Switch the profile to existing generation id; -1 and *cause if not. */
int
generation_switch(const struct config *cfg, unsigned id, char **cause)
{
	struct generation	*gen;

	if (profile_switch(cfg->profile, id, cause) == -1)
		return -1;
	gen = db_generation_get(id);
	log_generation(id, gen != NULL ? gen->store_path : NULL,
	    "switched to generation %u", id);
	db_generation_free(gen);
	return 0;
}

static void
generation_set_exit_cb(struct proc *p, int status, void *arg)
{
	struct generation_create	*gc = arg;
	struct generation		*gen = gc->gen;
	char				*cause = NULL, *store_path = NULL;
	unsigned			 id;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		cause = nix_output_error(proc_stderr(p));
		goto done;
	}
	if (profile_current(gc->cfg->profile, &id, &store_path, &cause) == -1)
		goto done;
	if (id == 0 || store_path == NULL ||
	    strcmp(store_path, gen->store_path) != 0) {
		xasprintf(&cause, "nix-env --set left %s pointing elsewhere",
		    gc->cfg->profile);
		goto done;
	}
	gen->id = id;
	if (db_generation_put(gen, &cause) == -1)
		goto done;
	log_generation(id, gen->store_path, "generation %u is active (%s)", id,
	    gen->store_path);
done:
	proc_free(p);
	free(store_path);
	gc->done_cb(cause == NULL ? gen->id : 0, cause, gc->arg);
	free(cause);
	db_generation_free(gen);
	free(gc);
}

/*
 * Make gen (all but its id filled in; taken over) a new generation of the
 * profile with nix-env --set and record it.  done_cb gets the new number,
 * or 0 and the error.
 */
int
generation_create(struct event_base *base, const struct config *cfg,
    struct generation *gen, generation_created_cb done_cb, void *arg,
    char **cause)
{
	struct generation_create	*gc;
	char				*argv[] = { "nix-env", "--profile",
	    cfg->profile, "--set", gen->store_path, NULL };

	assert(gen->store_path != NULL);
	gc = xcalloc(1, sizeof *gc);
	gc->cfg = cfg;
	gc->gen = gen;
	gc->done_cb = done_cb;
	gc->arg = arg;
	if (proc_start(base, argv, NULL, generation_set_exit_cb, gc,
	    cause) == NULL) {
		db_generation_free(gen);
		free(gc);
		return -1;
	}
	return 0;
}

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
