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

/* Room left in a frame for the rest of the Generations message. */
#define RPC_PAGE_SPACE	(FRAME_MAX - 4096)

/*
 * The profile's generations with ids above after, as many as fit in one
 * frame; `more` says whether the client should ask for the rest.
 */
static void
rpc_generations(uint64_t client, unsigned after)
{
	Profiled__Response	  response = PROFILED__RESPONSE__INIT;
	Profiled__Generations	  list = PROFILED__GENERATIONS__INIT;
	Profiled__Generation	 *items = NULL;
	Profiled__Package	**packages;
	struct generation	**gens;
	struct profile_link	 *links;
	size_t			  count, nlinks, i, j, k, size = 0;
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

	/* Only generations the profile still has: the list nix-env shows. */
	list.generations = xcalloc(count, sizeof *list.generations);
	items = xcalloc(count, sizeof *items);
	for (i = 0, k = 0; i < count; i++) {
		if (gens[i]->id <= after)
			continue;
		for (j = 0; j < nlinks && links[j].id != gens[i]->id; j++)
			;
		if (j == nlinks)
			continue;
		profiled__generation__init(&items[k]);
		items[k].id = gens[i]->id;
		items[k].has_parent = gens[i]->parent != 0;
		items[k].parent = gens[i]->parent;
		items[k].store_path = gens[i]->store_path;
		items[k].created = gens[i]->created;
		items[k].reason = (char *)reason_name(gens[i]->reason);
		items[k].current = gens[i]->id == current;
		items[k].content_hash = gens[i]->content_hash;
		items[k].has_build_ms = gens[i]->build_ms >= 0;
		items[k].build_ms = gens[i]->build_ms;
		packages = xcalloc(gens[i]->npackages, sizeof *packages);
		for (j = 0; j < gens[i]->npackages; j++) {
			packages[j] = xmalloc(sizeof *packages[j]);
			profiled__package__init(packages[j]);
			packages[j]->name = gens[i]->packages[j].name;
			packages[j]->version = gens[i]->packages[j].version;
			packages[j]->path = gens[i]->packages[j].path;
		}
		items[k].n_packages = gens[i]->npackages;
		items[k].packages = packages;
		size += protobuf_c_message_get_packed_size(&items[k].base) + 8;
		if (k > 0 && size > RPC_PAGE_SPACE) {
			for (j = 0; j < items[k].n_packages; j++)
				free(items[k].packages[j]);
			free(items[k].packages);
			list.more = 1;
			break;
		}
		list.generations[k] = &items[k];
		k++;
	}
	list.n_generations = k;
	response.result_case = PROFILED__RESPONSE__RESULT_GENERATIONS;
	response.generations = &list;
	server_send(client, &response);

	for (i = 0; i < k; i++) {
		for (j = 0; j < items[i].n_packages; j++)
			free(items[i].packages[j]);
		free(items[i].packages);
	}
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
