/*
 * The build queue: what turns saves and requests into builds and switches.
 *
 * At most one build runs and at most one waits.  A save while a build runs
 * only marks the waiting build wanted; when it starts it reads the file
 * anew, so it always builds the newest content, and the running build's
 * result, already superseded, is recorded but not activated.
 *
 * The profile answers to one content of the file, the settled hash: the
 * content last built (successfully or not), or the content the file had
 * when the user chose a generation by hand (rollback, switch --to), which
 * also holds that generation.  A save of the settled content builds
 * nothing, so a rollback stays until the file really changes, across
 * restarts too, since the settled hash is kept in the database.
 *
 * Clients waiting on a result (profilectl switch) are kept by id, so a
 * client that hangs up simply misses its reply.  Only forced builds (from
 * profilectl switch) have waiters.
 */
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

struct queue_waiters {
	uint64_t	*ids;
	size_t		 count;
};

/* A switch --to or rollback that arrived while nix-env was switching. */
struct queue_deferred {
	uint64_t		 client;
	int			 rollback;
	unsigned		 id;
	struct queue_deferred	*next;
};

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	enum queue_state	 state;
	struct event		*debounce;
	int			 stopping;

	int			 file_exists;
	char			 file_hash[SHA256_HEX_SIZE];
	char			 settled_hash[SHA256_HEX_SIZE];
	unsigned		 held;		/* chosen by hand, or 0 */

	/* The running build. */
	char			*content;
	char			 hash[SHA256_HEX_SIZE];
	const char		*trigger;
	time_t			 started;
	unsigned		 chosen_meanwhile; /* a manual switch's target */
	struct queue_waiters	 waiters;
	struct build_result	*result;

	/* The build wanted after it. */
	int			 pending;
	int			 pending_forced;
	struct queue_waiters	 pending_waiters;

	struct queue_deferred	*deferred;
	struct build_record	*last_build;
} queue;

static void	queue_debounce_cb(evutil_socket_t, short, void *);
static void	queue_start(const char *, int);
static void	queue_next(void);
static void	queue_switch_existing(uint64_t, int, unsigned);

static void
queue_set_state(enum queue_state state)
{
	queue.state = state;
	systemd_status();
}

/* Nothing to build: idle, or waiting if a save is being debounced. */
static void
queue_idle(void)
{
	if (evtimer_pending(queue.debounce, NULL))
		queue_set_state(QUEUE_WAITING);
	else
		queue_set_state(QUEUE_IDLE);
}

static void
queue_waiters_add(struct queue_waiters *w, uint64_t client)
{
	if (client == 0)
		return;
	w->ids = xreallocarray(w->ids, w->count + 1, sizeof *w->ids);
	w->ids[w->count++] = client;
}

static void
queue_waiters_move(struct queue_waiters *to, struct queue_waiters *from)
{
	size_t	i;

	for (i = 0; i < from->count; i++)
		queue_waiters_add(to, from->ids[i]);
	free(from->ids);
	from->ids = NULL;
	from->count = 0;
}

static void
queue_reply_error(struct queue_waiters *w, const char *error)
{
	size_t	i;

	for (i = 0; i < w->count; i++)
		rpc_reply_error(w->ids[i], error);
	free(w->ids);
	w->ids = NULL;
	w->count = 0;
}

static void
queue_reply_switched(struct queue_waiters *w, unsigned previous,
    unsigned generation, int created)
{
	size_t	i;

	for (i = 0; i < w->count; i++)
		rpc_reply_switched(w->ids[i], previous, generation, created,
		    previous != generation);
	free(w->ids);
	w->ids = NULL;
	w->count = 0;
}

/*
 * Settle the profile on the file content with hash: saves of it build
 * nothing until it changes.  held is the generation the user chose by
 * hand, or 0 when a build settled it.  Both survive a restart.
 */
static void
queue_settle(const char *hash, unsigned held)
{
	char	number[16];

	if (hash != queue.settled_hash)
		snprintf(queue.settled_hash, sizeof queue.settled_hash, "%s",
		    hash);
	queue.held = held;
	snprintf(number, sizeof number, "%u", held);
	db_state_set("settled_hash", queue.settled_hash);
	db_state_set("held", number);
}

/*
 * Hash the file as it is now into queue.file_hash; 0 if it could be read,
 * else -1 and, if cause is not NULL, why (it does not exist, or the error).
 */
static int
queue_refresh_file(char **content, char **cause)
{
	char	*text = NULL, *error = NULL;
	int	 rc;

	rc = path_read_file(queue.cfg->package_file, PATH_FILE_MAX, &text,
	    &error);
	queue.file_exists = rc != 1;
	if (rc != 0) {
		queue.file_hash[0] = '\0';
		if (rc == 1)
			xasprintf(&error, "%s does not exist",
			    queue.cfg->package_file);
		if (cause != NULL)
			*cause = error;
		else
			free(error);
		return -1;
	}
	sha256_hex(text, strlen(text), queue.file_hash);
	if (content != NULL)
		*content = text;
	else
		free(text);
	return 0;
}

/*
 * Record the running build's outcome.  Unless it was superseded, it becomes
 * the last build: what status shows and what later saves compare against.
 */
static void
queue_record_build(const struct build_result *result, unsigned generation,
    int superseded)
{
	struct build_record	*record;
	char			*cause = NULL;

	record = xcalloc(1, sizeof *record);
	record->started = queue.started;
	record->duration_ms = result != NULL ? result->duration_ms : 0;
	record->trigger = xstrdup(queue.trigger);
	record->content_hash = xstrdup(queue.hash);
	record->ok = result != NULL && result->ok;
	if (result != NULL && result->error != NULL)
		record->error = xstrdup(result->error);
	if (result != NULL && result->out_path != NULL)
		record->out_path = xstrdup(result->out_path);
	record->generation = generation;
	record->superseded = superseded;
	if (result != NULL && result->log != NULL)
		record->log = xstrdup(result->log);
	if (db_build_add(record, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	if (superseded) {
		db_build_free(record);
		return;
	}
	db_build_free(queue.last_build);
	queue.last_build = record;
}

/*
 * The running build is over: run the switches that waited for nix-env,
 * then start the build that waits, or go idle (or stop, if asked to).
 */
static void
queue_end_build(void)
{
	struct queue_deferred	*d;

	build_result_free(queue.result);
	queue.result = NULL;
	free(queue.content);
	queue.content = NULL;
	queue.state = QUEUE_IDLE;
	while ((d = queue.deferred) != NULL) {
		queue.deferred = d->next;
		queue_switch_existing(d->client, d->rollback, d->id);
		free(d);
	}
	if (queue.stopping) {
		event_base_loopbreak(queue.base);
		return;
	}
	queue_next();
}

static void
queue_created_cb(unsigned id, const char *error, void *arg)
{
	unsigned	previous = (unsigned)(uintptr_t)arg;

	if (id == 0) {
		free(queue.result->error);
		xasprintf(&queue.result->error, "cannot make a generation: %s",
		    error);
		queue.result->ok = 0;
		log_warnx("%s", queue.result->error);
		notify_build_failed(queue.result->error);
		queue_record_build(queue.result, 0, 0);
		queue_reply_error(&queue.waiters, queue.result->error);
	} else {
		queue_record_build(queue.result, id, 0);
		notify_generation_changed(previous, id);
		queue_reply_switched(&queue.waiters, previous, id, 1);
	}
	queue_settle(queue.hash, 0);
	queue_end_build();
}

static struct generation *
queue_new_generation(unsigned parent)
{
	struct generation	*gen;
	struct build_result	*result = queue.result;
	size_t			 i;

	gen = xcalloc(1, sizeof *gen);
	gen->parent = parent;
	gen->store_path = xstrdup(result->out_path);
	gen->created = time(NULL);
	gen->reason = xstrdup(queue.trigger);
	gen->content_hash = xstrdup(queue.hash);
	gen->content = xstrdup(queue.content);
	gen->build_ms = result->duration_ms;
	gen->packages = xcalloc(result->npackages, sizeof *gen->packages);
	for (i = 0; i < result->npackages; i++) {
		gen->packages[i].name = xstrdup(result->packages[i].name);
		gen->packages[i].version = xstrdup(result->packages[i].version);
		gen->packages[i].path = xstrdup(result->packages[i].path);
	}
	gen->npackages = result->npackages;
	return gen;
}

/*
 * Make a successful build's result the current generation: nothing to do
 * if it is the current one, a switch if it is the newest (as nix-env
 * would), else a new generation made by nix-env.
 */
static void
queue_activate(void)
{
	struct build_result	*result = queue.result;
	unsigned		 current, existing;
	char			*store_path = NULL, *cause = NULL;

	if (profile_current(queue.cfg->profile, &current, &store_path,
	    &cause) == -1)
		goto fail;
	generation_sync(queue.cfg, 0);
	existing = store_path != NULL &&
	    strcmp(store_path, result->out_path) == 0 ? current :
	    generation_reusable(queue.cfg, result->out_path);
	free(store_path);
	if (existing != 0) {
		if (existing != current &&
		    generation_switch(queue.cfg, existing, &cause) == -1)
			goto fail;
		log_info("build of %s is generation %u", queue.cfg->package_file,
		    existing);
		queue_record_build(result, existing, 0);
		if (existing != current)
			notify_generation_changed(current, existing);
		queue_reply_switched(&queue.waiters, current, existing, 0);
		queue_settle(queue.hash, 0);
		queue_end_build();
		return;
	}
	queue_set_state(QUEUE_SWITCHING);
	if (generation_create(queue.base, queue.cfg,
	    queue_new_generation(current), queue_created_cb,
	    (void *)(uintptr_t)current, &cause) == 0)
		return;
fail:
	result->ok = 0;
	free(result->error);
	result->error = cause;
	notify_build_failed(cause);
	queue_record_build(result, 0, 0);
	queue_reply_error(&queue.waiters, cause);
	queue_settle(queue.hash, 0);
	queue_end_build();
}

static void
queue_build_done_cb(struct build_result *result, void *arg)
{
	char	*error;

	queue.result = result;
	if (result->stale) {
		/* Nix may have read newer content: build that instead. */
		log_info("%s changed while Nix read it; building it again",
		    queue.cfg->package_file);
		queue.pending = 1;
		if (queue.waiters.count > 0)
			queue.pending_forced = 1;
		queue_waiters_move(&queue.pending_waiters, &queue.waiters);
		queue_end_build();
		return;
	}
	if (!result->ok) {
		log_warnx("build of %s failed: %s", queue.cfg->package_file,
		    result->error);
		notify_build_failed(result->error);
		queue_record_build(result, 0, 0);
		queue_reply_error(&queue.waiters, result->error);
		if (queue.chosen_meanwhile == 0)
			queue_settle(queue.hash, 0);
		queue_end_build();
		return;
	}
	log_info("built %s: %s (%llu ms)", queue.cfg->package_file,
	    result->out_path, (unsigned long long)result->duration_ms);

	if (queue.pending) {
		/* Superseded: its waiters want the newer content's result. */
		queue_record_build(result, 0, 1);
		if (queue.waiters.count > 0)
			queue.pending_forced = 1;
		queue_waiters_move(&queue.pending_waiters, &queue.waiters);
		queue_end_build();
		return;
	}
	if (queue.chosen_meanwhile != 0) {
		xasprintf(&error, "not activated: generation %u was chosen "
		    "while the build ran", queue.chosen_meanwhile);
		queue_record_build(result, 0, 0);
		queue_reply_error(&queue.waiters, error);
		free(error);
		queue_end_build();
		return;
	}
	if (strcmp(queue.trigger, "save") == 0 && !queue.cfg->auto_switch) {
		assert(queue.waiters.count == 0);
		queue_record_build(result, 0, 0);
		queue_settle(queue.hash, 0);
		queue_end_build();
		return;
	}
	queue_activate();
}

/* Start a build of the file as it is now, unless nothing needs building. */
static void
queue_start(const char *trigger, int forced)
{
	char	*content = NULL, *cause = NULL;

	assert(!build_running());
	assert(forced || queue.waiters.count == 0);
	if (queue_refresh_file(&content, &cause) == -1) {
		log_warnx("%s", cause);
		queue_reply_error(&queue.waiters, cause);
		free(cause);
		queue_idle();
		return;
	}
	if (!forced && strcmp(queue.settled_hash, queue.file_hash) == 0) {
		log_debug("%s unchanged since the last build or switch",
		    queue.cfg->package_file);
		free(content);
		queue_idle();
		return;
	}

	queue.content = content;
	memcpy(queue.hash, queue.file_hash, sizeof queue.hash);
	queue.trigger = trigger;
	queue.started = time(NULL);
	queue.chosen_meanwhile = 0;
	log_info("building %s (%s, %.12s)", queue.cfg->package_file, trigger,
	    queue.hash);
	if (build_start(queue.base, queue.cfg, queue.hash, queue_build_done_cb,
	    NULL, &cause) == -1) {
		queue.result = xcalloc(1, sizeof *queue.result);
		queue.result->error = cause;
		log_warnx("%s", cause);
		queue_record_build(queue.result, 0, 0);
		queue_reply_error(&queue.waiters, cause);
		queue_settle(queue.hash, 0);
		queue_end_build();
		return;
	}
	queue_set_state(QUEUE_BUILDING);
}

/* After a build: start the one that waits, or go idle. */
static void
queue_next(void)
{
	int	forced;

	if (queue.pending) {
		forced = queue.pending_forced;
		queue.pending = queue.pending_forced = 0;
		queue_waiters_move(&queue.waiters, &queue.pending_waiters);
		queue_start(forced ? "switch" : "save", forced);
		return;
	}
	queue_idle();
}

/* Ask for a build: now if none runs, else as the one waiting. */
static void
queue_request(const char *trigger, int forced, uint64_t client)
{
	if (queue.state == QUEUE_BUILDING || queue.state == QUEUE_SWITCHING) {
		queue.pending = 1;
		queue.pending_forced |= forced;
		queue_waiters_add(&queue.pending_waiters, client);
		return;
	}
	queue_waiters_add(&queue.waiters, client);
	queue_start(trigger, forced);
}

static void
queue_debounce_cb(evutil_socket_t fd, short events, void *arg)
{
	char	*cause = NULL;

	if (queue_refresh_file(NULL, &cause) == -1) {
		log_info("%s; waiting for it", cause);
		free(cause);
		if (queue.state == QUEUE_WAITING)
			queue_set_state(QUEUE_IDLE);
		return;
	}
	log_debug("%s changed (%.12s)", queue.cfg->package_file,
	    queue.file_hash);
	if (queue.state == QUEUE_BUILDING || queue.state == QUEUE_SWITCHING) {
		/* Back to the content being built: nothing more is wanted. */
		if (strcmp(queue.file_hash, queue.hash) != 0)
			queue.pending = 1;
		else if (!queue.pending_forced)
			queue.pending = 0;
		return;
	}
	queue_request("save", 0, 0);
}

/* The package file (or its directory entry) changed: debounce, then build. */
void
queue_file_changed(void)
{
	struct timeval	tv;

	tv.tv_sec = queue.cfg->debounce_ms / 1000;
	tv.tv_usec = (queue.cfg->debounce_ms % 1000) * 1000;
	evtimer_add(queue.debounce, &tv);
	if (queue.state == QUEUE_IDLE)
		queue_set_state(QUEUE_WAITING);
}

/* profilectl switch: build the file now, activate, and reply to client. */
void
queue_switch_build(uint64_t client)
{
	if (queue.state == QUEUE_WAITING)
		evtimer_del(queue.debounce);
	queue_request("switch", 1, client);
}

/*
 * Switch to existing generation id (or the current one's parent, for a
 * rollback) and hold it: the running build is not activated, the waiting
 * one is dropped, and the file's content now is settled.
 */
static void
queue_switch_existing(uint64_t client, int rollback, unsigned id)
{
	unsigned	 current;
	char		*store_path = NULL, *cause = NULL, *error;

	if (profile_current(queue.cfg->profile, &current, &store_path,
	    &cause) == -1)
		goto fail;
	free(store_path);
	generation_sync(queue.cfg, 0);
	if (rollback &&
	    (id = generation_rollback_target(queue.cfg, current, &cause)) == 0)
		goto fail;
	if (id != current && generation_switch(queue.cfg, id, &cause) == -1)
		goto fail;

	if (queue.state == QUEUE_BUILDING)
		queue.chosen_meanwhile = id;
	if (queue.pending) {
		xasprintf(&error, "cancelled: generation %u was chosen", id);
		queue_reply_error(&queue.pending_waiters, error);
		free(error);
		queue.pending = queue.pending_forced = 0;
	}
	if (queue_refresh_file(NULL, NULL) == 0)
		queue_settle(queue.file_hash, id);
	else
		queue_settle("", id);
	systemd_status();
	if (id != current)
		notify_generation_changed(current, id);
	rpc_reply_switched(client, current, id, 0, id != current);
	return;
fail:
	rpc_reply_error(client, cause);
	free(cause);
}

/*
 * profilectl switch --to N (rollback 0) or rollback (rollback 1): done at
 * once, or after the generation being made, if nix-env is making one.
 */
void
queue_switch_to(uint64_t client, int rollback, unsigned id)
{
	struct queue_deferred	*d, **dp;

	if (queue.state != QUEUE_SWITCHING) {
		queue_switch_existing(client, rollback, id);
		return;
	}
	d = xcalloc(1, sizeof *d);
	d->client = client;
	d->rollback = rollback;
	d->id = id;
	for (dp = &queue.deferred; *dp != NULL; dp = &(*dp)->next)
		;
	*dp = d;
}

/*
 * Set up the queue and build at once if the file changed while the daemon
 * was down, or if the last build failed (Nix may have been the problem).
 */
void
queue_init(struct event_base *base, const struct config *cfg)
{
	char	*value, *cause = NULL;

	queue.base = base;
	queue.cfg = cfg;
	queue.debounce = evtimer_new(base, queue_debounce_cb, NULL);
	if (queue.debounce == NULL)
		fatalx("cannot create the debounce timer");
	queue.last_build = db_build_last();
	queue.state = QUEUE_IDLE;
	if ((value = db_state_get("settled_hash")) != NULL) {
		snprintf(queue.settled_hash, sizeof queue.settled_hash, "%s",
		    value);
		free(value);
	}
	if ((value = db_state_get("held")) != NULL) {
		queue.held = strtoul(value, NULL, 10);
		free(value);
	}
	if (queue_refresh_file(NULL, &cause) == -1) {
		log_info("%s; waiting for it", cause);
		free(cause);
		return;
	}
	if (queue.held == 0 && queue.last_build != NULL &&
	    !queue.last_build->ok &&
	    strcmp(queue.settled_hash, queue.file_hash) == 0) {
		log_info("the last build failed; trying again");
		queue_request("save", 1, 0);
		return;
	}
	queue_request("save", 0, 0);
}

/*
 * Begin shutting down: stop any build, drop the waiting one.  0 if the
 * loop may end now, 1 if nix-env is making a generation, which is let
 * finish (and recorded) before the loop ends by itself.
 */
int
queue_stop(void)
{
	queue.stopping = 1;
	queue.pending = queue.pending_forced = 0;
	queue_reply_error(&queue.pending_waiters, "profiled is stopping");
	if (queue.state == QUEUE_SWITCHING)
		return 1;
	if (build_running()) {
		build_cancel();
		queue_reply_error(&queue.waiters, "profiled is stopping");
	}
	return 0;
}

/* Free what the queue holds; the loop has ended. */
void
queue_shutdown(void)
{
	struct queue_deferred	*d;

	build_cancel();
	free(queue.waiters.ids);
	free(queue.pending_waiters.ids);
	while ((d = queue.deferred) != NULL) {
		queue.deferred = d->next;
		free(d);
	}
	free(queue.content);
	build_result_free(queue.result);
	db_build_free(queue.last_build);
	if (queue.debounce != NULL)
		event_free(queue.debounce);
	memset(&queue, 0, sizeof queue);
}

enum queue_state
queue_state(void)
{
	return queue.state;
}

const char *
queue_state_name(void)
{
	static const char *const names[] = {
		[QUEUE_IDLE] = "idle",
		[QUEUE_WAITING] = "waiting",
		[QUEUE_BUILDING] = "building",
		[QUEUE_SWITCHING] = "switching",
	};

	return names[queue.state];
}

int
queue_pending(void)
{
	return queue.pending;
}

/* The generation the user chose by hand and the daemon holds, or 0. */
unsigned
queue_held(void)
{
	return queue.held;
}

int
queue_file_exists(void)
{
	return queue.file_exists;
}

/* The hash of the file as last read; "" when it is missing. */
const char *
queue_file_hash(void)
{
	return queue.file_hash;
}

/* The last build attempt, or NULL if there has been none. */
const struct build_record *
queue_last_build(void)
{
	return queue.last_build;
}
