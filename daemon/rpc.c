/*
 * The RPC calls: one function per Request, each answering with one
 * Response.  status, generations and log answer at once from memory and
 * the database; switch, rollback and wait hand the request to the queue
 * with a callback, which answers the client when the work is done (a
 * client that has gone meanwhile misses its answer: clients are ids).
 * subscribe is the one call answered with a stream (events.c).
 *
 * status is the call made most, by scripts and prompts in loops, so its
 * answer is packed once and the same bytes are sent until something it
 * shows may have changed: the queue says so (rpc_status_changed, through
 * its changed_cb), any other call may have changed something, the profile
 * link points elsewhere (nix-env by hand: one readlink a call tells), or
 * adoption or Nix's version moved on.  What only the user changes outside
 * profiled (~/.nix-profile, nixpkgs on NIX_PATH) is looked at again at
 * least every RPC_STATUS_RECHECK_MS; a database waiting on a lock, whose
 * warning counts milliseconds, is never cached.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <limits.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"
#include "frame.h"
#include "profiled.pb-c.h"

static struct event_base	*rpc_base;
static const struct config	*rpc_config;

/* How long a cached status answer may go without a fresh look outside. */
#define RPC_STATUS_RECHECK_MS	1000

/* The status answer, packed, and what it was packed from. */
static struct {
	unsigned char	*frame;
	size_t		 size;
	int		 stale;		/* told changed since */
	char		 link[PATH_MAX];	/* the profile link's target */
	const char	*nix_version;
	size_t		 adopting_done;
	size_t		 adopting_total;
	struct timeval	 packed;	/* when */
} rpc_status_cache;

/*
 * A page of generations asked for while adoption still records the
 * profile's links (in steps, in its first moments): answered once they are
 * all recorded (rpc_adopted), rather than by recording them all at once.
 */
struct rpc_page {
	uint64_t		 client;
	unsigned		 after;
	int			 all;
	int			 brief;
	TAILQ_ENTRY(rpc_page)	 entry;
};
static TAILQ_HEAD(, rpc_page) rpc_pages = TAILQ_HEAD_INITIALIZER(rpc_pages);

/* A show waiting for Nix to size the generation's closure. */
struct rpc_show {
	uint64_t	 client;
	unsigned	 id;
	int		 file;
};

void
rpc_init(struct event_base *base, const struct config *cfg)
{
	rpc_base = base;
	rpc_config = cfg;
}

/* The answer when the database could not be read just now. */
#define RPC_DB_ERROR	"the history cannot be read just now: its database " \
	"is locked by another process, or unreadable (see profiled's log); " \
	"try again"

/* Answer client with an error message. */
void
rpc_reply_error(uint64_t client, const char *message)
{
	Profiled__Response	response = PROFILED__RESPONSE__INIT;
	Profiled__Error		error = PROFILED__ERROR__INIT;

	error.message = (char *)message;
	response.result_case = PROFILED__RESPONSE__RESULT_ERROR;
	response.error = &error;
	events_client_replied(client);
	server_send(client, &response);
}

/* Answer client with what a switch did. */
static void
rpc_reply_switched(uint64_t client, const struct queue_switched *sw)
{
	Profiled__Response	response = PROFILED__RESPONSE__INIT;
	Profiled__Switched	switched = PROFILED__SWITCHED__INIT;

	switched.has_previous = sw->previous != 0;
	switched.previous = sw->previous;
	switched.generation = sw->generation;
	switched.created = sw->created;
	switched.changed = sw->previous != sw->generation;
	response.result_case = PROFILED__RESPONSE__RESULT_SWITCHED;
	response.switched = &switched;
	events_client_replied(client);
	server_send(client, &response);
}

/* A switch, switch --to or rollback is done: answer its client. */
static void
rpc_switched_cb(const struct queue_switched *sw, const char *error, void *arg)
{
	uint64_t	client = (uintptr_t)arg;

	if (error != NULL)
		rpc_reply_error(client, error);
	else
		rpc_reply_switched(client, sw);
}

/* The queue is idle (or stopping, with error): answer a wait. */
static void
rpc_idle_cb(const struct queue_switched *sw, const char *error, void *arg)
{
	uint64_t	client = (uintptr_t)arg;

	if (error != NULL)
		rpc_reply_error(client, error);
	else
		rpc_status(client);
}

/*
 * Pack the daemon's status into a new frame (its size in *size); NULL and
 * *cause if the profile cannot be read.
 */
static unsigned char *
rpc_status_pack(size_t *size, char **cause)
{
	Profiled__Response		 response = PROFILED__RESPONSE__INIT;
	Profiled__Status		 status = PROFILED__STATUS__INIT;
	Profiled__Build			 build = PROFILED__BUILD__INIT;
	struct queue_status		 st;
	const struct build_record	*last;
	struct generation		*current;
	char				*built_change = NULL;
	unsigned char			*frame;
	size_t				 done, total;

	if (queue_status(&st, cause) == -1)
		return NULL;
	status.state = (char *)queue_state_name(st.state);
	status.has_current_generation = st.current != 0;
	status.current_generation = st.current;
	status.package_file = rpc_config->package_file;
	status.profile = rpc_config->profile;
	status.in_sync = st.in_sync;
	status.package_file_exists = st.file_exists;
	status.pid = getpid();
	status.has_builds_started = 1;
	status.builds_started = queue_builds_started();
	status.build_pending = st.pending;
	status.held = st.held;
	status.file_error = (char *)st.file_error;
	status.n_imports = st.nimports;
	status.imports = (char **)st.imports;
	status.n_warnings = st.nwarnings;
	status.warnings = (char **)st.warnings;
	status.nix_version = (char *)nix_version();
	status.nix_dir = (char *)nix_bin_dir();
	status.has_auto_switch = 1;
	status.auto_switch = rpc_config->auto_switch;
	if (adopt_progress(&done, &total)) {
		status.has_adopting_done = status.has_adopting_total = 1;
		status.adopting_done = done;
		status.adopting_total = total;
	}
	if (st.built != NULL) {
		current = st.current != 0 ? db_generation_get(st.current) :
		    NULL;
		built_change = generation_summary(current, st.built);
		db_generation_free(current);
		status.built_change = built_change;
	}
	if ((last = st.last_build) != NULL) {
		build.ok = last->ok;
		build.error = last->error;
		build.started = last->started;
		build.duration_ms = last->duration_ms;
		build.has_generation = last->generation != 0;
		build.generation = last->generation;
		build.content_hash = last->content_hash;
		build.trigger = (char *)reason_name(last->trigger);
		build.file = last->file;
		status.last_build = &build;
	}
	response.result_case = PROFILED__RESPONSE__RESULT_STATUS;
	response.status = &status;
	frame = frame_pack(&response.base, size);
	free(built_change);
	if (frame == NULL)
		*cause = xstrdup("the status is larger than a frame");
	return frame;
}

/* Something status shows may have changed: pack it again when asked. */
void
rpc_status_changed(void)
{
	rpc_status_cache.stale = 1;
}

/*
 * Whether the packed status still holds: nothing was told changed, the
 * profile link is where it was (its target in link, from readlink), and
 * it was packed less than RPC_STATUS_RECHECK_MS ago.
 */
static int
rpc_status_fresh(const char *link)
{
	struct timeval	now, age;
	size_t		done = 0, total = 0;

	if (rpc_status_cache.frame == NULL || rpc_status_cache.stale)
		return 0;
	adopt_progress(&done, &total);
	if (strcmp(link, rpc_status_cache.link) != 0 ||
	    nix_version() != rpc_status_cache.nix_version ||
	    done != rpc_status_cache.adopting_done ||
	    total != rpc_status_cache.adopting_total)
		return 0;
	event_base_gettimeofday_cached(rpc_base, &now);
	timersub(&now, &rpc_status_cache.packed, &age);
	return age.tv_sec >= 0 && age.tv_sec * 1000 + age.tv_usec / 1000 <
	    RPC_STATUS_RECHECK_MS;
}

/*
 * The status answer as a packed frame, kept until rpc_status_fresh says
 * otherwise; NULL and *cause if the profile cannot be read.
 */
const unsigned char *
rpc_status_frame(size_t *size, char **cause)
{
	char		link[PATH_MAX];
	ssize_t		n;
	unsigned char	*frame;

	if ((n = readlink(rpc_config->profile, link, sizeof link - 1)) == -1)
		n = 0;
	link[n] = '\0';
	if (!rpc_status_fresh(link)) {
		if ((frame = rpc_status_pack(size, cause)) == NULL)
			return NULL;
		free(rpc_status_cache.frame);
		rpc_status_cache.frame = frame;
		rpc_status_cache.size = *size;
		memcpy(rpc_status_cache.link, link, n + 1);
		rpc_status_cache.nix_version = nix_version();
		adopt_progress(&rpc_status_cache.adopting_done,
		    &rpc_status_cache.adopting_total);
		event_base_gettimeofday_cached(rpc_base,
		    &rpc_status_cache.packed);
		/* Its warning counts the milliseconds a lock has lasted. */
		rpc_status_cache.stale = generation_waiting() != 0 ||
		    db_waiting_ms() > 0;
	}
	*size = rpc_status_cache.size;
	return rpc_status_cache.frame;
}

/* Answer client with the daemon's status. */
void
rpc_status(uint64_t client)
{
	const unsigned char	*frame;
	size_t			 size;
	char			*cause = NULL;

	if ((frame = rpc_status_frame(&size, &cause)) == NULL) {
		rpc_reply_error(client, cause);
		free(cause);
		return;
	}
	server_send_frame(client, frame, size);
}

/* Free the packed status; the loop has ended. */
void
rpc_shutdown(void)
{
	struct rpc_page	*page;

	while ((page = TAILQ_FIRST(&rpc_pages)) != NULL) {
		TAILQ_REMOVE(&rpc_pages, page, entry);
		free(page);
	}
	free(rpc_status_cache.frame);
	memset(&rpc_status_cache, 0, sizeof rpc_status_cache);
}

/* The log of the build that made generation (0: of the last build). */
static void
rpc_log(uint64_t client, unsigned generation)
{
	Profiled__Response	 response = PROFILED__RESPONSE__INIT;
	Profiled__Log		 log = PROFILED__LOG__INIT;
	struct build_record	*build;
	struct generation	*gen;
	char			*error;

	if (generation == 0)
		build = db_build_last();
	else
		build = db_build_of_generation(generation);
	if (build == NULL && db_failed()) {
		rpc_reply_error(client, RPC_DB_ERROR);
		return;
	}
	if (build == NULL) {
		/* It may be a generation nix-env made behind our back. */
		adopt_catch_up();
		generation_sync(rpc_config);
		if (generation == 0)
			error = xstrdup("nothing has been built yet");
		else if ((gen = db_generation_get(generation)) == NULL)
			xasprintf(&error, "there is no generation %u",
			    generation);
		else {
			xasprintf(&error, "generation %u was not built by "
			    "profiled (it is an %s)", generation,
			    reason_name(gen->reason));
			db_generation_free(gen);
		}
		rpc_reply_error(client, error);
		free(error);
		return;
	}
	log.has_generation = build->generation != 0;
	log.generation = build->generation;
	log.ok = build->ok;
	log.started = build->started;
	log.trigger = (char *)reason_name(build->trigger);
	log.error = build->error;
	log.text = build->log != NULL ? build->log : "";
	response.result_case = PROFILED__RESPONSE__RESULT_LOG;
	response.log = &log;
	server_send(client, &response);
	db_build_free(build);
}

/* Protobuf copies of a package list, pointing into list. */
static Profiled__Package **
rpc_packages(const struct package *list, size_t count)
{
	Profiled__Package	**packages;
	size_t			  i;

	packages = xcalloc(count, sizeof *packages);
	for (i = 0; i < count; i++) {
		packages[i] = xmalloc(sizeof *packages[i]);
		profiled__package__init(packages[i]);
		packages[i]->name = list[i].name;
		packages[i]->version = list[i].version;
		packages[i]->path = list[i].path;
	}
	return packages;
}

static void
rpc_packages_free(Profiled__Package **packages, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		free(packages[i]);
	free(packages);
}

/*
 * A page of generations: at most RPC_PAGE_COUNT of them, in at most
 * RPC_PAGE_SPACE bytes (the rest of the frame is the envelope's), so that
 * no page exceeds a frame whatever is stored.  A generation too large for
 * a page of its own goes with the packages that fit, and package_count
 * says how many it has.
 */
#define RPC_PAGE_SPACE	(FRAME_MAX - 4096)
#define RPC_PAGE_COUNT	64
/* Brief pages carry no package lists: more fit in the same time. */
#define RPC_BRIEF_PAGE_COUNT 256
/* What a message costs inside another, besides its own bytes: a field's
 * tag and length. */
#define RPC_FIELD_COST	8

/* Free what rpc_generation_fill allocated for item. */
static void
rpc_generation_clear(Profiled__Generation *item)
{
	rpc_packages_free(item->packages, item->n_packages);
	item->packages = NULL;
	item->n_packages = 0;
}

/*
 * Fill item with g, its packages as many as fit in space bytes, and return
 * the bytes it takes in a page; a generation over space (its fixed fields
 * alone never are) keeps the packages that fit, in order, and says how
 * many it has.
 */
static size_t
rpc_generation_fill(Profiled__Generation *item, const struct generation *g,
    unsigned current, size_t space)
{
	Profiled__Package	*package;
	size_t			 size, cost, i;

	profiled__generation__init(item);
	item->id = g->id;
	item->has_parent = g->parent != 0;
	item->parent = g->parent;
	item->store_path = g->store_path;
	item->created = g->created;
	item->reason = (char *)reason_name(g->reason);
	item->current = g->id == current;
	item->content_hash = g->content_hash;
	item->has_build_ms = g->build_ms >= 0;
	item->build_ms = g->build_ms;
	item->summary = g->summary;
	/* Room for package_count, should it be needed. */
	size = protobuf_c_message_get_packed_size(&item->base) +
	    2 * RPC_FIELD_COST;
	item->packages = xcalloc(g->npackages, sizeof *item->packages);
	for (i = 0; i < g->npackages; i++) {
		package = xmalloc(sizeof *package);
		profiled__package__init(package);
		package->name = g->packages[i].name;
		package->version = g->packages[i].version;
		package->path = g->packages[i].path;
		cost = protobuf_c_message_get_packed_size(&package->base) +
		    RPC_FIELD_COST;
		if (size + cost > space) {
			free(package);
			continue;
		}
		item->packages[item->n_packages++] = package;
		size += cost;
	}
	if (item->n_packages < g->npackages) {
		item->has_package_count = 1;
		item->package_count = g->npackages;
	}
	return size;
}

/*
 * The records of the next page after after, one more than a page holds
 * (so that the page knows whether there are more), by id, with *count:
 * by key range from SQLite for all, else those of the links the profile
 * has, from links.c.  Its cost is a page's, whatever the history's length.
 */
static struct generation **
rpc_generations_page(unsigned after, int all, int brief, size_t limit,
    size_t *count)
{
	const struct profile_link	 *list;
	struct generation		**gens = NULL, *gen;
	size_t				  nlinks, i;

	if (all)
		return db_generation_after(after, limit + 1, brief, count);
	*count = 0;
	list = links_list(&nlinks);
	for (i = links_after(after); i < nlinks && *count <= limit; i++) {
		if ((gen = brief ? db_generation_brief(list[i].id) :
		    db_generation_get(list[i].id)) == NULL) {
			if (db_failed())
				break;
			continue;
		}
		gens = xreallocarray(gens, *count + 1, sizeof *gens);
		gens[(*count)++] = gen;
	}
	return gens;
}

/*
 * The profile's generations with ids above after, one page of them; `more`
 * says whether the client should ask for the rest.  Only those the
 * profile still has, the list nix-env shows, unless all.
 */
static void
rpc_generations(uint64_t client, unsigned after, int all, int brief)
{
	Profiled__Response	  response = PROFILED__RESPONSE__INIT;
	Profiled__Generations	  list = PROFILED__GENERATIONS__INIT;
	Profiled__Generation	 *items;
	struct generation	**gens;
	size_t			  count, i, k = 0, size, used = 0;
	size_t			  limit;
	unsigned		  current;
	char			 *store_path = NULL, *cause = NULL;
	struct rpc_page		 *page;

	if (adopt_recording()) {
		page = xcalloc(1, sizeof *page);
		page->client = client;
		page->after = after;
		page->all = all;
		page->brief = brief;
		TAILQ_INSERT_TAIL(&rpc_pages, page, entry);
		return;
	}
	if (profile_current(rpc_config->profile, &current, &store_path,
	    &cause) == -1) {
		rpc_reply_error(client, cause);
		free(cause);
		return;
	}
	free(store_path);
	generation_sync(rpc_config);
	db_read_begin();
	limit = brief ? RPC_BRIEF_PAGE_COUNT : RPC_PAGE_COUNT;
	gens = rpc_generations_page(after, all, brief, limit, &count);
	if (db_failed()) {
		db_read_end();
		db_generation_list_free(gens, count);
		rpc_reply_error(client, RPC_DB_ERROR);
		return;
	}

	list.generations = xcalloc(limit, sizeof *list.generations);
	items = xcalloc(limit, sizeof *items);
	for (i = 0; i < count; i++) {
		if (k == limit) {
			list.more = 1;
			break;
		}
		size = rpc_generation_fill(&items[k], gens[i], current,
		    brief ? 0 : RPC_PAGE_SPACE - used);
		items[k].has_deleted = 1;
		items[k].deleted = links_get(gens[i]->id) == NULL;
		/* Cut short, it would fit whole on a page of its own. */
		if (k > 0 && ((!brief && items[k].has_package_count) ||
		    size > RPC_PAGE_SPACE - used)) {
			rpc_generation_clear(&items[k]);
			list.more = 1;
			break;
		}
		list.generations[k] = &items[k];
		used += size;
		k++;
	}
	db_read_end();
	list.n_generations = k;
	response.result_case = PROFILED__RESPONSE__RESULT_GENERATIONS;
	response.generations = &list;
	server_send(client, &response);

	for (i = 0; i < k; i++)
		rpc_generation_clear(&items[i]);
	free(items);
	free(list.generations);
	db_generation_list_free(gens, count);
}

/*
 * Adoption moved on: once every link is recorded, answer the pages that
 * waited for it, in the order asked (a client gone meanwhile misses its
 * answer).
 */
void
rpc_adopted(void)
{
	struct rpc_page	*page;

	if (adopt_recording())
		return;
	while ((page = TAILQ_FIRST(&rpc_pages)) != NULL) {
		TAILQ_REMOVE(&rpc_pages, page, entry);
		rpc_generations(page->client, page->after, page->all,
		    page->brief);
		free(page);
	}
}

/*
 * The record of generation id, looking at the profile first if there is
 * none (nix-env may have made it behind our back); NULL and *cause if
 * there is no such generation.
 */
static struct generation *
rpc_generation_get(unsigned id, char **cause)
{
	struct generation	*gen;

	if ((gen = db_generation_get(id)) == NULL && !db_failed()) {
		adopt_catch_up();
		generation_sync(rpc_config);
		gen = db_generation_get(id);
	}
	if (gen == NULL && db_failed())
		*cause = xstrdup(RPC_DB_ERROR);
	else if (gen == NULL)
		xasprintf(cause, "there is no generation %u", id);
	return gen;
}

/* The profile's current generation; 0 and *cause if it has none. */
static unsigned
rpc_current(char **cause)
{
	unsigned	 current;
	char		*store_path = NULL;

	if (profile_current(rpc_config->profile, &current, &store_path,
	    cause) == -1)
		return 0;
	free(store_path);
	if (current == 0)
		xasprintf(cause, "the profile has no generations yet");
	return current;
}

/* Is generation id's link gone from the profile? */
static int
rpc_generation_deleted(unsigned id)
{
	struct stat	 sb;
	char		*link;
	int		 deleted;

	link = profile_link_path(rpc_config->profile, id);
	deleted = lstat(link, &sb) == -1;
	free(link);
	return deleted;
}

/* Answer a show of generation id, its closure's size known or not. */
static void
rpc_show_reply(uint64_t client, unsigned id, int file, int has_size,
    uint64_t size)
{
	Profiled__Response	 response = PROFILED__RESPONSE__INIT;
	Profiled__Shown		 shown = PROFILED__SHOWN__INIT;
	Profiled__Generation	 item;
	struct generation	*gen;
	unsigned		 current;
	size_t			 used;
	char			*cause = NULL;

	if ((gen = rpc_generation_get(id, &cause)) == NULL) {
		rpc_reply_error(client, cause);
		free(cause);
		return;
	}
	if ((current = rpc_current(&cause)) == 0) {
		free(cause);
		cause = NULL;
	}
	shown.children = db_generation_children(id, &shown.n_children);
	if (file && gen->content != NULL) {
		shown.has_content = 1;
		shown.content.data = (uint8_t *)gen->content;
		shown.content.len = strlen(gen->content);
	}
	/* The rest of the frame is the generation's: packages may be cut. */
	used = shown.content.len + shown.n_children * RPC_FIELD_COST +
	    4 * RPC_FIELD_COST;
	if (used > RPC_PAGE_SPACE / 2) {
		xasprintf(&cause, "generation %u's record is too large to "
		    "send (%zu bytes of package file and children)", id, used);
		rpc_reply_error(client, cause);
		free(cause);
		free(shown.children);
		db_generation_free(gen);
		return;
	}
	rpc_generation_fill(&item, gen, current, RPC_PAGE_SPACE - used);
	item.has_deleted = 1;
	item.deleted = rpc_generation_deleted(id);
	shown.generation = &item;
	shown.has_closure_bytes = has_size;
	shown.closure_bytes = size;
	response.result_case = PROFILED__RESPONSE__RESULT_SHOWN;
	response.shown = &shown;
	server_send(client, &response);
	free(shown.children);
	rpc_generation_clear(&item);
	db_generation_free(gen);
}

static void
rpc_show_size_cb(int ok, uint64_t bytes, void *arg)
{
	struct rpc_show	*show = arg;

	rpc_show_reply(show->client, show->id, show->file, ok, bytes);
	free(show);
}

/* show [N]: a generation in full, its closure sized by Nix if asked. */
static void
rpc_show(uint64_t client, const Profiled__ShowRequest *request)
{
	struct rpc_show		*show;
	struct generation	*gen;
	unsigned		 id;
	char			*cause = NULL;

	if (request->has_generation)
		id = request->generation;
	else if ((id = rpc_current(&cause)) == 0)
		goto fail;
	if ((gen = rpc_generation_get(id, &cause)) == NULL)
		goto fail;
	if (!request->size || rpc_generation_deleted(id)) {
		db_generation_free(gen);
		rpc_show_reply(client, id, request->file, 0, 0);
		return;
	}
	show = xcalloc(1, sizeof *show);
	show->client = client;
	show->id = id;
	show->file = request->file;
	if (store_closure_size(rpc_base, gen->store_path, rpc_show_size_cb,
	    show, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		free(show);
		rpc_show_reply(client, id, request->file, 0, 0);
	}
	db_generation_free(gen);
	return;
fail:
	rpc_reply_error(client, cause);
	free(cause);
}

/*
 * diff [A [B]]: what changed from A (default: B's parent) to B (default:
 * the current generation).  From nothing, for a first generation.
 */
static void
rpc_diff(uint64_t client, const Profiled__DiffRequest *request)
{
	Profiled__Response	 response = PROFILED__RESPONSE__INIT;
	Profiled__Diff		 reply = PROFILED__DIFF__INIT;
	Profiled__Change	*changes = NULL, **change_list = NULL;
	struct generation	*from = NULL, *to = NULL;
	struct generation_diff	 diff;
	unsigned		 to_id = 0;
	size_t			 i;
	char			*cause = NULL;

	if (request->pending) {
		if (queue_built() == NULL) {
			cause = xstrdup("no build waits to be activated: "
			    "profilectl switch would build the package file "
			    "now");
			goto fail;
		}
		to = db_generation_copy(queue_built());
		if (!request->has_from &&
		    (to->parent = rpc_current(&cause)) == 0)
			goto fail;
	} else if (request->has_to)
		to_id = request->to;
	else if ((to_id = rpc_current(&cause)) == 0)
		goto fail;
	if (to == NULL && (to = rpc_generation_get(to_id, &cause)) == NULL)
		goto fail;
	if (request->has_from) {
		if ((from = rpc_generation_get(request->from, &cause)) == NULL)
			goto fail;
	} else if (to->parent != 0 &&
	    (from = rpc_generation_get(to->parent, &cause)) == NULL)
		goto fail;

	generation_diff(from, to, &diff);
	reply.from = from != NULL ? from->id : 0;
	reply.to = to->id;
	reply.added = rpc_packages(diff.added, diff.nadded);
	reply.n_added = diff.nadded;
	reply.removed = rpc_packages(diff.removed, diff.nremoved);
	reply.n_removed = diff.nremoved;
	changes = xcalloc(diff.nchanged, sizeof *changes);
	change_list = xcalloc(diff.nchanged, sizeof *change_list);
	for (i = 0; i < diff.nchanged; i++) {
		profiled__change__init(&changes[i]);
		changes[i].name = diff.changed[i].name;
		changes[i].old_version = diff.changed[i].old_version;
		changes[i].new_version = diff.changed[i].new_version;
		changes[i].order = diff.changed[i].order;
		change_list[i] = &changes[i];
	}
	reply.changed = change_list;
	reply.n_changed = diff.nchanged;
	if (request->file) {
		if (from != NULL && from->content != NULL) {
			reply.has_from_content = 1;
			reply.from_content.data = (uint8_t *)from->content;
			reply.from_content.len = strlen(from->content);
		}
		if (to->content != NULL) {
			reply.has_to_content = 1;
			reply.to_content.data = (uint8_t *)to->content;
			reply.to_content.len = strlen(to->content);
		}
	}
	response.result_case = PROFILED__RESPONSE__RESULT_DIFF;
	response.diff = &reply;
	server_send(client, &response);
	rpc_packages_free(reply.added, reply.n_added);
	rpc_packages_free(reply.removed, reply.n_removed);
	free(change_list);
	free(changes);
	generation_diff_free(&diff);
	db_generation_free(from);
	db_generation_free(to);
	return;
fail:
	rpc_reply_error(client, cause);
	free(cause);
	db_generation_free(from);
	db_generation_free(to);
}

/* What an add or remove did to one attribute, as the wire names it. */
static const char *
rpc_edit_result_name(enum package_edit_result result, int add)
{
	switch (result) {
	case PACKAGE_EDIT_CHANGED:
		return add ? "added" : "removed";
	case PACKAGE_EDIT_ALREADY:
		return "present";
	case PACKAGE_EDIT_ABSENT:
		return "absent";
	case PACKAGE_EDIT_WRAPPED:
		return "wrapped";
	}
	return "unknown";
}

/* An add or remove: one answering a client, whose request is gone. */
struct rpc_edit {
	uint64_t	 client;
	int		 add;
};

static void
rpc_edit_done_cb(const char *error, const struct package_edit *edits,
    size_t count, int changed, void *arg)
{
	struct rpc_edit			 *re = arg;
	Profiled__Response		  response = PROFILED__RESPONSE__INIT;
	Profiled__Edited		  edited = PROFILED__EDITED__INIT;
	Profiled__Edited__Result	 *results, **list;
	size_t				  i;

	if (error != NULL) {
		rpc_reply_error(re->client, error);
		free(re);
		return;
	}
	results = xcalloc(count, sizeof *results);
	list = xcalloc(count, sizeof *list);
	for (i = 0; i < count; i++) {
		profiled__edited__result__init(&results[i]);
		results[i].attr = (char *)edits[i].attr;
		results[i].result = (char *)rpc_edit_result_name(
		    edits[i].result, re->add);
		results[i].has_line = edits[i].line != 0;
		results[i].line = edits[i].line;
		list[i] = &results[i];
	}
	edited.n_results = count;
	edited.results = list;
	edited.changed = changed;
	edited.package_file = rpc_config->package_file;
	response.result_case = PROFILED__RESPONSE__RESULT_EDITED;
	response.edited = &edited;
	server_send(re->client, &response);
	free(list);
	free(results);
	free(re);
}

/* add / remove ATTR...: edit the package file, checked by Nix first. */
static void
rpc_edit(uint64_t client, const Profiled__EditRequest *request)
{
	struct rpc_edit	*re;
	char		*cause = NULL;

	if (request->n_attrs == 0) {
		rpc_reply_error(client, "no package named");
		return;
	}
	re = xcalloc(1, sizeof *re);
	re->client = client;
	re->add = request->add;
	if (edit_start(rpc_base, rpc_config, request->add, request->attrs,
	    request->n_attrs, rpc_edit_done_cb, re, &cause) == -1) {
		rpc_reply_error(client, cause);
		free(cause);
		free(re);
	}
}

/* A gc answering a client, once Nix has deleted and collected. */
struct rpc_gc {
	uint64_t	 client;
	int		 dry_run;
	int		 collect;
	unsigned	*deleted;
	size_t		 count;
};

static void
rpc_gc_reply(struct rpc_gc *gc, int collected, uint64_t paths, uint64_t bytes)
{
	Profiled__Response	response = PROFILED__RESPONSE__INIT;
	Profiled__Collected	reply = PROFILED__COLLECTED__INIT;

	reply.n_deleted = gc->count;
	reply.deleted = gc->deleted;
	reply.dry_run = gc->dry_run;
	reply.has_paths_freed = reply.has_bytes_freed = collected;
	reply.paths_freed = paths;
	reply.bytes_freed = bytes;
	response.result_case = PROFILED__RESPONSE__RESULT_COLLECTED;
	response.collected = &reply;
	server_send(gc->client, &response);
	free(gc->deleted);
	free(gc);
}

static void
rpc_gc_collected_cb(const char *error, uint64_t paths, uint64_t bytes,
    void *arg)
{
	struct rpc_gc	*gc = arg;
	char		*message;

	if (error != NULL) {
		xasprintf(&message, "deleted %zu generation%s, but collecting "
		    "the garbage failed: %s", gc->count, gc->count == 1 ? "" :
		    "s", error);
		rpc_reply_error(gc->client, message);
		free(message);
		free(gc->deleted);
		free(gc);
		return;
	}
	rpc_gc_reply(gc, 1, paths, bytes);
}

static void
rpc_gc_deleted_cb(const unsigned *ids, size_t count, const char *error,
    void *arg)
{
	struct rpc_gc	*gc = arg;
	char		*cause = NULL;

	if (error != NULL) {
		rpc_reply_error(gc->client, error);
		free(gc);
		return;
	}
	gc->count = count;
	gc->deleted = xcalloc(count, sizeof *gc->deleted);
	if (count > 0)
		memcpy(gc->deleted, ids, count * sizeof *ids);
	if (!gc->collect || gc->dry_run) {
		rpc_gc_reply(gc, 0, 0, 0);
		return;
	}
	if (store_collect_garbage(rpc_base, rpc_gc_collected_cb, gc,
	    &cause) == -1) {
		rpc_gc_collected_cb(cause, 0, 0, gc);
		free(cause);
	}
}

/*
 * gc: retention by hand, with the config's policy, or with --keep N and
 * --older-than DAYS, each alone keeping nothing by the other rule.
 */
static void
rpc_gc(uint64_t client, const Profiled__GcRequest *request)
{
	struct retention_policy	 policy;
	struct rpc_gc		*gc;

	/* Either given, it is the policy; neither, the config's. */
	if (request->has_keep || request->has_older_than_days) {
		policy.keep_generations = request->has_keep ? request->keep : 0;
		policy.keep_days = request->has_older_than_days ?
		    request->older_than_days : 0;
	} else {
		policy.keep_generations = rpc_config->keep_generations;
		policy.keep_days = rpc_config->keep_days;
	}
	if (!request->has_keep && rpc_config->keep_generations == 0 &&
	    !request->has_older_than_days) {
		rpc_reply_error(client, "keep_generations is 0, which keeps "
		    "every generation: give --keep N or --older-than DAYS");
		return;
	}
	gc = xcalloc(1, sizeof *gc);
	gc->client = client;
	gc->dry_run = request->dry_run;
	gc->collect = request->collect;
	queue_gc(&policy, request->dry_run, rpc_gc_deleted_cb, gc);
}

/*
 * switch --to N, or switch: a build of the file now, whose progress the
 * client may follow until its answer.
 */
static void
rpc_switch(uint64_t client, const Profiled__SwitchRequest *request)
{
	void	*arg = (void *)(uintptr_t)client;

	if (request->has_generation) {
		if (request->generation == 0)
			rpc_reply_error(client, "there is no generation 0");
		else
			queue_switch_to(0, request->generation,
			    rpc_switched_cb, arg);
		return;
	}
	if (request->progress)
		events_subscribe(client, 1, 1);
	queue_switch_build(rpc_switched_cb, arg);
}

/* Answer one request from client. */
void
rpc_dispatch(uint64_t client, const Profiled__Request *request)
{
	/* Any call but status may change what status shows. */
	if (request->call_case != PROFILED__REQUEST__CALL_STATUS)
		rpc_status_changed();
	switch (request->call_case) {
	case PROFILED__REQUEST__CALL_STATUS:
		rpc_status(client);
		break;
	case PROFILED__REQUEST__CALL_SWITCH_TO:
		rpc_switch(client, request->switch_to);
		break;
	case PROFILED__REQUEST__CALL_ROLLBACK:
		queue_switch_to(1, 0, rpc_switched_cb, (void *)(uintptr_t)client);
		break;
	case PROFILED__REQUEST__CALL_GENERATIONS:
		rpc_generations(client, request->generations->has_after ?
		    request->generations->after : 0,
		    request->generations->all, request->generations->brief);
		break;
	case PROFILED__REQUEST__CALL_SUBSCRIBE:
		events_subscribe(client, request->subscribe->logs, 0);
		break;
	case PROFILED__REQUEST__CALL_LOG:
		rpc_log(client, request->log->has_generation ?
		    request->log->generation : 0);
		break;
	case PROFILED__REQUEST__CALL_WAIT:
		queue_wait(rpc_idle_cb, (void *)(uintptr_t)client);
		break;
	case PROFILED__REQUEST__CALL_SHOW:
		rpc_show(client, request->show);
		break;
	case PROFILED__REQUEST__CALL_DIFF:
		rpc_diff(client, request->diff);
		break;
	case PROFILED__REQUEST__CALL_EDIT:
		rpc_edit(client, request->edit);
		break;
	case PROFILED__REQUEST__CALL_GC:
		rpc_gc(client, request->gc);
		break;
	default:
		rpc_reply_error(client, "unknown request");
		break;
	}
}
