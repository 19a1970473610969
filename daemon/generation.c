/*
 * Generations: the profile's numbered states, with the history Nix does not
 * keep.  A generation's parent is the generation that was current when it
 * was made, so rollback follows the path the user actually took rather than
 * N-1 (NixOS/nix#311).  Numbers are always the profile's own; the database
 * only adds to what the profile links say.
 *
 * Making a generation is nix-env --set, a child process, or profile_create
 * in place where the new link is a GC root by itself; switching to an
 * existing one is profile_switch, done in place.  The new generation's
 * record is written first, as an intent numbered as Nix will number it
 * (the highest link's number + 1), and marked done once the link is made;
 * if the record cannot be written, no link is made.  So at any
 * instant the record (with its parent and reason) exists before the link,
 * and generation_sync turns an intent whose link exists into its record and
 * drops one whose link never came, instead of adopting the link as an
 * import whose parent would be a guess.
 */
#include <sys/wait.h>

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

/* How often an intent a lock refused is tried again, in ms. */
#define GENERATION_RETRY_MS	20

/* The generation being made: its intent, then nix-env --set. */
struct generation_create {
	struct event_base	*base;
	const struct config	*cfg;
	struct generation	*gen;		/* id: the number expected */
	generation_created_cb	 done_cb;
	void			*arg;
	struct event		*retry;		/* the intent waits for a lock */
	int			 waited;	/* and that was logged */
};

/* The one generation being made, or NULL: sync leaves its intent alone. */
static struct generation_create	*generation_creating;

static int
generation_compare_keys(const void *a, const void *b)
{
	const char	*ka = *(const char *const *)a, *kb = *(const char *const *)b;

	return strtoul(ka, NULL, 10) < strtoul(kb, NULL, 10) ? -1 :
	    strtoul(ka, NULL, 10) > strtoul(kb, NULL, 10);
}

/*
 * Fill gen's package list from text, what nix-env -q --json --out-path
 * printed for link's manifest.nix, in the manifest's order.  A manifest it
 * cannot read leaves an empty list.
 */
void
generation_parse_manifest(const char *link, const char *text,
    struct generation *gen)
{
	struct json		 *list;
	const struct json	 *item, *name, *pname, *version, *outputs;
	char			 *cause = NULL, **keys;
	size_t			  i, j;

	list = json_parse(text, strlen(text), &cause);
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

/* Whether id is the generation being made, whose record sync leaves. */
int
generation_is_creating(unsigned id)
{
	return generation_creating != NULL && generation_creating->gen->id == id;
}

/*
 * The link nix-env --set made for intent, or NULL if it made none: the
 * link at its number, else the first later one to the same store path that
 * no finished record claims (Nix numbered it higher: another tool made a
 * generation meanwhile).  Only links above the intent are looked at.
 */
static const struct profile_link *
generation_intent_link(const struct generation *intent)
{
	const struct profile_link	*link, *list;
	size_t				 count, i;
	char				*path;
	int				 found, is_intent = 0;

	link = links_get(intent->id);
	if (link != NULL && strcmp(link->store_path, intent->store_path) == 0)
		return link;
	list = links_list(&count);
	for (i = count; i > 0 && list[i - 1].id > intent->id; i--)
		;
	for (; i < count; i++) {
		if (strcmp(list[i].store_path, intent->store_path) != 0)
			continue;
		found = db_generation_path(list[i].id, &path, &is_intent);
		if (found == 1 && !is_intent &&
		    strcmp(path, list[i].store_path) == 0)
			found = 2;
		free(path);
		if (found != 2)
			return &list[i];
	}
	return NULL;
}

/*
 * Settle the intents profiled died (or failed) before completing: one
 * whose link exists becomes that generation's record, with the parent and
 * reason it was written with; one whose link never came is dropped.  The
 * intent of the generation being made is left alone.  Only the intents
 * are read (an index holds them), so this costs nothing when there are
 * none.  -1 if they cannot be read (the database is locked): nothing is
 * changed then.
 */
static int
generation_settle_intents(void)
{
	struct generation		**intents, *g;
	const struct profile_link	 *link;
	size_t				  nintents, i;
	char				 *cause = NULL;

	intents = db_generation_intents(&nintents);
	if (db_failed()) {
		db_generation_list_free(intents, nintents);
		return -1;
	}
	for (i = 0; i < nintents; i++) {
		g = intents[i];
		if (generation_is_creating(g->id))
			continue;
		if ((link = generation_intent_link(g)) != NULL) {
			if (db_generation_done(g->id, link->id, &cause) == 0)
				log_info("generation %u was made before "
				    "profiled stopped; recorded with parent %u "
				    "(%s)", link->id, g->parent,
				    reason_name(g->reason));
		} else if (db_generation_drop(g->id, &cause) == 0)
			log_info("generation %u was never made (nix-env --set "
			    "did not run or did not finish); its intent is "
			    "dropped", g->id);
		if (cause != NULL) {
			if (!db_busy())
				log_warnx("cannot settle the intent for "
				    "generation %u: %s", g->id, cause);
			free(cause);
			cause = NULL;
		}
	}
	db_generation_list_free(intents, nintents);
	return 0;
}

/* Settle the intents left over, as links_refresh finds the profile now. */
void
generation_settle(void)
{
	links_refresh();
	generation_settle_intents();
}

/* gen, a record of link as an import whose parent is the link below it. */
static void
generation_import(struct generation *gen, const struct profile_link *link)
{
	memset(gen, 0, sizeof *gen);
	gen->id = link->id;
	gen->parent = links_below(link->id);
	gen->store_path = link->store_path;
	gen->created = link->created;
	gen->reason = REASON_IMPORT;
	gen->build_ms = -1;
}

/* Record imports (n of them) in one transaction; -1 if they are not. */
static int
generation_record(const struct generation *imports, size_t n)
{
	char	*cause = NULL;

	if (n == 0)
		return 0;
	if (db_generation_put_many(imports, n, &cause) == -1) {
		if (!db_busy())
			log_warnx("cannot record %zu existing generation%s: %s",
			    n, n == 1 ? "" : "s", cause);
		free(cause);
		return -1;
	}
	log_info("recorded %zu existing generation%s (%u up to %u)", n,
	    n == 1 ? "" : "s", imports[0].id, imports[n - 1].id);
	return 0;
}

/*
 * Record the links first to last (by index, inclusive) that have no
 * record, or one for another store path, in one query and one
 * transaction.  The ids of those recorded whose packages are unread are
 * appended to *unread (*nunread of them) if unread is not NULL.  -1 if
 * the database cannot be read or written.
 */
int
generation_record_links(size_t first, size_t last, unsigned **unread,
    size_t *nunread)
{
	const struct profile_link	*list;
	struct db_record_path		*records;
	struct generation		*imports;
	size_t				 count, nrecords, i, j = 0, n = 0;
	size_t				 before;
	int				 rc, known;

	before = unread != NULL ? *nunread : 0;
	list = links_list(&count);
	if (count == 0 || first > last || first >= count)
		return 0;
	if (last >= count)
		last = count - 1;
	records = db_generation_range(list[first].id, list[last].id,
	    &nrecords);
	if (db_failed()) {
		db_generation_paths_free(records, nrecords);
		return -1;
	}
	imports = xcalloc(last - first + 1, sizeof *imports);
	for (i = first; i <= last; i++) {
		/* Its link may exist before nix-env says it is done. */
		if (generation_is_creating(list[i].id))
			continue;
		while (j < nrecords && records[j].id < list[i].id)
			j++;
		known = j < nrecords && records[j].id == list[i].id &&
		    strcmp(records[j].store_path, list[i].store_path) == 0;
		if (!known)
			generation_import(&imports[n++], &list[i]);
		if (unread != NULL && (!known || records[j].unread)) {
			*unread = xreallocarray(*unread, *nunread + 1,
			    sizeof **unread);
			(*unread)[(*nunread)++] = list[i].id;
		}
	}
	rc = generation_record(imports, n);
	/* Refused (the lock): only this step's are taken back. */
	if (rc == -1 && unread != NULL)
		*nunread = before;
	free(imports);
	db_generation_paths_free(records, nrecords);
	return rc;
}

/* Links seen made or replaced, not yet recorded (the database was locked). */
static struct {
	unsigned	*ids;
	size_t		 count;
	int		 full;		/* every link may be new */
} generation_pending;

static int
generation_compare_ids(const void *a, const void *b)
{
	unsigned	ia = *(const unsigned *)a, ib = *(const unsigned *)b;

	return ia < ib ? -1 : ia > ib;
}

/* Record the pending links (generation_pending, by id, once each). */
static int
generation_record_pending(void)
{
	const struct profile_link	*link;
	struct generation		*imports;
	size_t				 i, n = 0;
	char				*path;
	int				 found, intent, rc = 0;

	qsort(generation_pending.ids, generation_pending.count,
	    sizeof *generation_pending.ids, generation_compare_ids);
	imports = xcalloc(generation_pending.count, sizeof *imports);
	for (i = 0; i < generation_pending.count && rc == 0; i++) {
		if (i > 0 && generation_pending.ids[i] ==
		    generation_pending.ids[i - 1])
			continue;
		if ((link = links_get(generation_pending.ids[i])) == NULL ||
		    generation_is_creating(link->id))
			continue;
		found = db_generation_path(link->id, &path, &intent);
		if (found == -1)
			rc = -1;
		else if (found == 0 || strcmp(path, link->store_path) != 0)
			generation_import(&imports[n++], link);
		free(path);
	}
	if (rc == 0)
		rc = generation_record(imports, n);
	free(imports);
	return rc;
}

/*
 * Bring the database in line with the profile: settle the intents left
 * over, then record each link made or replaced since the last look that
 * has no record (or one for another store path) as an import whose parent
 * is the generation numbered below it, since that is all Nix tells us, in
 * one transaction.  What changed is what links.c saw, so this costs what
 * changed, not the history's length; after a full scan (inotify lost
 * events) every link is compared, in one query.  Imports are recorded
 * without their packages: adopt.c reads those.  Nothing is done while the
 * database is locked; the next sync does it.
 */
void
generation_sync(const struct config *cfg)
{
	unsigned	*ids;
	size_t		 n, count;
	int		 full, rc;

	links_refresh();
	ids = links_take_changed(&n, &full);
	generation_pending.ids = xreallocarray(generation_pending.ids,
	    generation_pending.count + n + 1, sizeof *generation_pending.ids);
	if (n > 0)
		memcpy(generation_pending.ids + generation_pending.count, ids,
		    n * sizeof *ids);
	generation_pending.count += n;
	generation_pending.full |= full;
	free(ids);
	if (generation_settle_intents() == -1)
		return;
	if (generation_pending.full) {
		links_list(&count);
		rc = generation_record_links(0, count, NULL, NULL);
	} else
		rc = generation_record_pending();
	if (rc == 0) {
		generation_pending.count = 0;
		generation_pending.full = 0;
	}
}

/*
 * The generation rollback should go to from current: its parent, or, if
 * retention (or nix-env) deleted that, the nearest ancestor the profile
 * still has.  0 and *cause if there is none.
 */
unsigned
generation_rollback_target(const struct config *cfg, unsigned current,
    char **cause)
{
	unsigned	parent, id, up;
	int64_t		created;

	if (current == 0) {
		xasprintf(cause, "the profile has no current generation");
		return 0;
	}
	if (db_generation_lineage(current, &parent, &created) != 1) {
		xasprintf(cause, "generation %u has no record", current);
		return 0;
	}
	if (parent == 0) {
		xasprintf(cause, "generation %u is the first; there is nothing "
		    "to roll back to", current);
		return 0;
	}
	links_refresh();
	/* Parents have lower numbers: the walk ends, even on a bad record. */
	for (id = parent; id != 0 && links_get(id) == NULL; id = up) {
		if (db_generation_lineage(id, &up, &created) != 1 || up >= id)
			up = 0;
	}
	if (id == 0) {
		xasprintf(cause, "generation %u's parent, %u, and every "
		    "generation before it have been deleted from the profile: "
		    "there is nothing to roll back to", current, parent);
		return 0;
	}
	if (id != parent)
		log_info("generation %u's parent, %u, was deleted; rolling back "
		    "to its nearest ancestor still there, %u", current, parent,
		    id);
	return id;
}

/*
 * The generations retention deletes now, under policy, in id order
 * (*count of them): the profile's live ones, from links.c.
 */
unsigned *
generation_retention_plan(const struct config *cfg,
    const struct retention_policy *policy, size_t *count)
{
	const struct profile_link	*links;
	unsigned			 current, parent = 0;
	int64_t				 created;
	size_t				 nlinks;
	char				*store_path = NULL, *cause = NULL;

	*count = 0;
	if (profile_current(cfg->profile, &current, &store_path, &cause) ==
	    -1) {
		log_warnx("%s", cause);
		free(cause);
		return NULL;
	}
	free(store_path);
	links_refresh();
	links = links_list(&nlinks);
	/*
	 * It runs after every switch (keep_days keeps years of links): the
	 * links' times are the records' (nix-env made each link as its
	 * record was done), and only the current one's parent is judged,
	 * so one record is read, not one per generation.
	 */
	if (links_get(current) == NULL ||
	    db_generation_lineage(current, &parent, &created) != 1)
		parent = 0;
	return retention_plan(links, nlinks, current, parent, policy,
	    time(NULL), count);
}

struct generation_delete {
	generation_deleted_cb	 done_cb;
	void			*arg;
};

static void
generation_delete_exit_cb(struct proc *p, int status, void *arg)
{
	struct generation_delete	*gd = arg;
	char				*error = NULL;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		error = nix_output_error(proc_stderr(p));
	proc_free(p);
	gd->done_cb(error, gd->arg);
	free(error);
	free(gd);
}

/*
 * Delete generations ids (count of them) from the profile through Nix,
 * nix-env --delete-generations, so that their GC roots go with them; the
 * records stay.  done_cb gets NULL or the error.
 */
int
generation_delete(struct event_base *base, const struct config *cfg,
    const unsigned *ids, size_t count, generation_deleted_cb done_cb,
    void *arg, char **cause)
{
	struct generation_delete	*gd;
	char				**argv, **numbers;
	size_t				  i, n = 0;
	int				  rc = 0;

	assert(count > 0);
	argv = xcalloc(count + 5, sizeof *argv);
	numbers = xcalloc(count, sizeof *numbers);
	argv[n++] = "nix-env";
	argv[n++] = "--profile";
	argv[n++] = cfg->profile;
	argv[n++] = "--delete-generations";
	for (i = 0; i < count; i++) {
		xasprintf(&numbers[i], "%u", ids[i]);
		argv[n++] = numbers[i];
	}
	argv[n] = NULL;
	gd = xcalloc(1, sizeof *gd);
	gd->done_cb = done_cb;
	gd->arg = arg;
	if (proc_start(base, argv, NULL, generation_delete_exit_cb, gd,
	    cause) == NULL) {
		free(gd);
		rc = -1;
	}
	for (i = 0; i < count; i++)
		free(numbers[i]);
	free(numbers);
	free(argv);
	return rc;
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
	const struct profile_link	*link;

	links_refresh();
	link = links_get(links_newest());
	return link != NULL && strcmp(link->store_path, store_path) == 0 ?
	    link->id : 0;
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
generation_create_free(struct generation_create *gc)
{
	if (generation_creating == gc)
		generation_creating = NULL;
	if (gc->retry != NULL)
		event_free(gc->retry);
	db_generation_free(gc->gen);
	free(gc);
}

/* The generation was made as id, or not (0 and error): tell, and free. */
static void
generation_create_done(struct generation_create *gc, unsigned id,
    const char *error)
{
	gc->done_cb(id, error, gc->arg);
	generation_create_free(gc);
}

/*
 * The link for gc was made, or not (failure, Nix's error, or NULL): what
 * counts is where the profile is now, whatever the maker said.
 */
static void
generation_set_done(struct generation_create *gc, const char *failure)
{
	struct generation		*gen = gc->gen;
	char				*cause = NULL, *store_path = NULL;
	unsigned			 id;

	if (profile_current(gc->cfg->profile, &id, &store_path, &cause) == -1)
		log_warnx("%s", cause);
	else if (id != 0 && store_path != NULL &&
	    strcmp(store_path, gen->store_path) == 0) {
		free(cause);
		cause = NULL;
		if (db_generation_done(gen->id, id, &cause) == -1) {
			/* The intent is the record meanwhile; the next
			 * sync completes it. */
			log_warnx("generation %u is active, but its record "
			    "was not completed: %s", id, cause);
			free(cause);
			cause = NULL;
		}
		log_generation(id, gen->store_path, "generation %u is active "
		    "(%s)", id, gen->store_path);
		free(store_path);
		generation_create_done(gc, id, NULL);
		return;
	}
	free(cause);
	free(store_path);
	if (failure != NULL)
		cause = xstrdup(failure);
	else
		xasprintf(&cause, "making generation %u left %s pointing "
		    "elsewhere", gen->id, gc->cfg->profile);

	/* A link made without switching to it stays, recorded. */
	generation_creating = NULL;
	generation_settle();
	generation_create_done(gc, 0, cause);
	free(cause);
}

static void
generation_set_exit_cb(struct proc *p, int status, void *arg)
{
	char	*failure = NULL;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failure = nix_output_error(proc_stderr(p));
	proc_free(p);
	generation_set_done(arg, failure);
	free(failure);
}

/* The link was made in place: complete gc from the loop, since
 * generation_create never calls back before it returns. */
static void
generation_set_made_cb(evutil_socket_t fd, short events, void *arg)
{
	generation_set_done(arg, NULL);
}

/*
 * Whether gc's link can be made in place, without Nix: the store is the
 * local one whose state directory profile_links_are_roots looks at (no
 * --store, no NIX_REMOTE elsewhere), the link will be a GC root by
 * itself, and the build's result (STATE/result, a root) holds the store
 * path until then.  Anything else, such as a path no root holds, is left
 * to nix-env --set, which realises it first.
 */
static int
generation_in_place(const struct generation_create *gc)
{
	const char	*remote = getenv("NIX_REMOTE");
	char		*result, target[PATH_MAX];
	ssize_t		 n;
	size_t		 i;

	for (i = 0; gc->cfg->nix_flags[i] != NULL; i++) {
		if (strncmp(gc->cfg->nix_flags[i], "--store", 7) == 0 ||
		    strncmp(gc->cfg->nix_flags[i], "store", 5) == 0)
			return 0;
	}
	if (remote != NULL && *remote != '\0' && strcmp(remote, "daemon") != 0 &&
	    strcmp(remote, "local") != 0 && strcmp(remote, "auto") != 0)
		return 0;
	xasprintf(&result, "%s/result", gc->cfg->state_dir);
	n = readlink(result, target, sizeof target - 1);
	free(result);
	if (n == -1)
		return 0;
	target[n] = '\0';
	return strcmp(target, gc->gen->store_path) == 0 &&
	    profile_links_are_roots(gc->cfg->profile);
}

/*
 * Make gc's link, its intent written: in place where generation_in_place
 * says it is safe, which saves a Nix start-up (as much as the build of a
 * small environment); else, or if that fails, nix-env --set.  -1 and
 * *cause if neither can start.
 */
/* The highest link, as the profile's directory has it now. */
static unsigned
generation_newest_link(void)
{
	links_refresh();
	return links_newest();
}

static int
generation_set(struct generation_create *gc, char **cause)
{
	char		*argv[] = { "nix-env", "--profile", gc->cfg->profile,
	    "--set", gc->gen->store_path, NULL };
	char		*error = NULL;
	struct timeval	 now = { 0, 0 };
	unsigned	 id;
	int		 rc;

	if (generation_in_place(gc)) {
		rc = profile_create(gc->cfg->profile, gc->gen->store_path,
		    generation_newest_link, &id, &error);
		if (rc == 0 && event_base_once(gc->base, -1, EV_TIMEOUT,
		    generation_set_made_cb, gc, &now) == 0)
			return 0;
		if (rc == -1) {
			log_warnx("%s; trying nix-env --set", error);
			free(error);
			error = NULL;
		}
	}
	if (proc_start(gc->base, argv, NULL, generation_set_exit_cb, gc,
	    cause) != NULL)
		return 0;
	/* A link made in place before a failure is settled at start. */
	links_refresh();
	if (links_get(gc->gen->id) != NULL)
		return -1;
	if (db_generation_drop(gc->gen->id, &error) == -1) {
		/* A later sync drops it: it has no link. */
		log_warnx("%s", error);
		free(error);
	}
	return -1;
}

/*
 * Write gc's intent; 0 if it is written or waits for a lock (retried from
 * a timer), -1 and *cause if it cannot be written: then nothing changes.
 */
static int
generation_write_intent(struct generation_create *gc, char **cause)
{
	struct timeval	 tv = { 0, GENERATION_RETRY_MS * 1000 };
	char		*error = NULL;

	if (db_generation_put(gc->gen, &error) == 0) {
		if (gc->waited)
			log_info("the database is free: making generation %u",
			    gc->gen->id);
		return generation_set(gc, cause);
	}
	if (!db_busy()) {
		xasprintf(cause, "cannot record generation %u before making "
		    "it, so the profile was not changed: %s", gc->gen->id,
		    error);
		free(error);
		return -1;
	}
	if (!gc->waited) {
		log_warnx("generation %u waits for the database: %s",
		    gc->gen->id, error);
		gc->waited = 1;
	}
	free(error);
	evtimer_add(gc->retry, &tv);
	return 0;
}

static void
generation_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct generation_create	*gc = arg;
	char				*cause = NULL;

	if (generation_write_intent(gc, &cause) == -1) {
		generation_create_done(gc, 0, cause);
		free(cause);
	}
}

/* The number nix-env --set gives a new generation: the highest + 1. */
static unsigned
generation_next_number(void)
{
	links_refresh();
	return links_newest() + 1;
}

/*
 * Make gen (all but its id filled in; taken over) a new generation of the
 * profile: record it as an intent, run nix-env --set, mark it done.
 * done_cb gets the new number, or 0 and the error; it is never called
 * before this returns.  While another process holds the database, the
 * intent waits (and so does nix-env).  -1 and *cause if it cannot start.
 */
int
generation_create(struct event_base *base, const struct config *cfg,
    struct generation *gen, generation_created_cb done_cb, void *arg,
    char **cause)
{
	struct generation_create	*gc;

	assert(gen->store_path != NULL);
	assert(generation_creating == NULL);
	gc = xcalloc(1, sizeof *gc);
	gc->base = base;
	gc->cfg = cfg;
	gc->gen = gen;
	gc->done_cb = done_cb;
	gc->arg = arg;
	gen->id = generation_next_number();
	gen->intent = 1;
	if ((gc->retry = evtimer_new(base, generation_retry_cb, gc)) == NULL)
		fatalx("cannot create a timer");
	generation_creating = gc;
	if (generation_write_intent(gc, cause) == -1) {
		generation_create_free(gc);
		return -1;
	}
	return 0;
}

/*
 * SIGTERM while the intent waits for another process's lock (nix-env has
 * not run): give up making the generation, which done_cb hears as an
 * error.  0 if it was given up; -1 if nix-env runs (let it finish).
 */
int
generation_cancel(void)
{
	struct generation_create	*gc = generation_creating;

	if (gc == NULL || !evtimer_pending(gc->retry, NULL))
		return -1;
	evtimer_del(gc->retry);
	generation_create_done(gc, 0, "profiled is stopping");
	return 0;
}

/* The generation whose intent waits for the database, or 0. */
unsigned
generation_waiting(void)
{
	struct generation_create	*gc = generation_creating;

	return gc != NULL && evtimer_pending(gc->retry, NULL) ? gc->gen->id : 0;
}

/*
 * Whether profiled has run with this state directory before: the wrapper
 * build_install_wrapper writes at every start, after opening the database,
 * is there.  A first run adopting a profile made by nix-env loses nothing.
 */
static int
generation_ran_before(const struct config *cfg)
{
	char	*wrapper;
	int	 found;

	xasprintf(&wrapper, "%s/user-env.nix", cfg->state_dir);
	found = access(wrapper, F_OK) == 0;
	free(wrapper);
	return found;
}

/*
 * What the user should know of how history was found at start, as a new
 * string (logged too), or NULL: the database was moved aside, or has gone
 * although profiled ran here before and the profile has generations;
 * either way their history is rebuilt from the links, each parent the
 * number below.
 */
char *
generation_history_warning(const struct config *cfg)
{
	struct profile_link	*links;
	size_t			 count;
	char			*warning;

	if (db_open_note() != NULL)
		return xstrdup(db_open_note());
	if (!db_created() || !generation_ran_before(cfg))
		return NULL;
	links = profile_list(cfg->profile, &count);
	profile_list_free(links, count);
	if (count == 0)
		return NULL;
	xasprintf(&warning, "the database %s did not exist, but profile %s "
	    "has %zu generation%s: history is being rebuilt from its links, "
	    "each one's parent taken to be the generation numbered below it",
	    db_path(), cfg->profile, count, count == 1 ? "" : "s");
	log_warnx("%s", warning);
	return warning;
}
