/*
 * The RPC calls: one function per Request, each answering with one
 * Response.  status, generations and log answer at once from memory and
 * the database; switch, rollback and wait hand the request to the queue
 * with a callback, which answers the client when the work is done (a
 * client that has gone meanwhile misses its answer: clients are ids).
 * subscribe is the one call answered with a stream (events.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"
#include "frame.h"
#include "profiled.pb-c.h"

static const struct config	*rpc_config;

void
rpc_init(const struct config *cfg)
{
	rpc_config = cfg;
}

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

/* Answer client with the daemon's status. */
void
rpc_status(uint64_t client)
{
	Profiled__Response		 response = PROFILED__RESPONSE__INIT;
	Profiled__Status		 status = PROFILED__STATUS__INIT;
	Profiled__Build			 build = PROFILED__BUILD__INIT;
	struct queue_status		 st;
	const struct build_record	*last;
	char				*cause = NULL;

	if (queue_status(&st, &cause) == -1) {
		rpc_reply_error(client, cause);
		free(cause);
		return;
	}
	status.state = (char *)queue_state_name(st.state);
	status.has_current_generation = st.current != 0;
	status.current_generation = st.current;
	status.package_file = rpc_config->package_file;
	status.profile = rpc_config->profile;
	status.in_sync = st.in_sync;
	status.package_file_exists = st.file_exists;
	status.pid = getpid();
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
	server_send(client, &response);
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
	if (build == NULL) {
		/* It may be a generation nix-env made behind our back. */
		generation_sync(rpc_config, 0);
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

/*
 * A page of generations: at most RPC_PAGE_COUNT of them, in at most
 * RPC_PAGE_SPACE bytes (the rest of the frame is the envelope's), so that
 * no page exceeds a frame whatever is stored.  A generation too large for
 * a page of its own goes with the packages that fit, and package_count
 * says how many it has.
 */
#define RPC_PAGE_SPACE	(FRAME_MAX - 4096)
#define RPC_PAGE_COUNT	64
/* What a message costs inside another, besides its own bytes: a field's
 * tag and length. */
#define RPC_FIELD_COST	8

/* Free what rpc_generation_fill allocated for item. */
static void
rpc_generation_clear(Profiled__Generation *item)
{
	size_t	i;

	for (i = 0; i < item->n_packages; i++)
		free(item->packages[i]);
	free(item->packages);
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

/* Whether the profile still has generation id: nix-env lists only those. */
static int
rpc_generation_linked(const struct profile_link *links, size_t nlinks,
    unsigned id)
{
	size_t	i;

	for (i = 0; i < nlinks; i++) {
		if (links[i].id == id)
			return 1;
	}
	return 0;
}

/*
 * The profile's generations with ids above after, one page of them; `more`
 * says whether the client should ask for the rest.
 */
static void
rpc_generations(uint64_t client, unsigned after)
{
	Profiled__Response	  response = PROFILED__RESPONSE__INIT;
	Profiled__Generations	  list = PROFILED__GENERATIONS__INIT;
	Profiled__Generation	 *items;
	struct generation	**gens;
	struct profile_link	 *links;
	size_t			  count, nlinks, i, k = 0, size, used = 0;
	unsigned		  current;
	char			 *store_path = NULL, *cause = NULL;

	if (profile_current(rpc_config->profile, &current, &store_path,
	    &cause) == -1) {
		rpc_reply_error(client, cause);
		free(cause);
		return;
	}
	free(store_path);
	generation_sync(rpc_config, 0);
	gens = db_generation_list(&count);
	links = profile_list(rpc_config->profile, &nlinks);

	list.generations = xcalloc(RPC_PAGE_COUNT, sizeof *list.generations);
	items = xcalloc(RPC_PAGE_COUNT, sizeof *items);
	for (i = 0; i < count; i++) {
		if (gens[i]->id <= after ||
		    !rpc_generation_linked(links, nlinks, gens[i]->id))
			continue;
		if (k == RPC_PAGE_COUNT) {
			list.more = 1;
			break;
		}
		size = rpc_generation_fill(&items[k], gens[i], current,
		    RPC_PAGE_SPACE - used);
		/* Cut short, it would fit whole on a page of its own. */
		if (k > 0 && (items[k].has_package_count ||
		    size > RPC_PAGE_SPACE - used)) {
			rpc_generation_clear(&items[k]);
			list.more = 1;
			break;
		}
		list.generations[k] = &items[k];
		used += size;
		k++;
	}
	list.n_generations = k;
	response.result_case = PROFILED__RESPONSE__RESULT_GENERATIONS;
	response.generations = &list;
	server_send(client, &response);

	for (i = 0; i < k; i++)
		rpc_generation_clear(&items[i]);
	free(items);
	free(list.generations);
	profile_list_free(links, nlinks);
	db_generation_list_free(gens, count);
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
		    request->generations->after : 0);
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
	default:
		rpc_reply_error(client, "unknown request");
		break;
	}
}
