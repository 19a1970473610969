/*
 * The build queue: what turns saves and requests into builds and switches.
 *
 * At most one build runs and at most one waits.  A save while a build runs
 * marks the waiting build wanted and stops the running one (Nix is asked
 * to stop; its result, superseded, is recorded but never activated); the
 * waiting build starts once Nix has gone and reads the file anew, so it
 * always builds the newest content.
 *
 * What a build depends on is the package file and the local files it
 * imports (its inputs, learnt from each evaluation and watched too).  The
 * inputs hash covers them all; with no imports it is the file's own hash.
 *
 * The profile answers to one state of the inputs, the settled hash: the
 * inputs last built (successfully or not), or as they were when the user
 * chose a generation by hand (rollback, switch --to), which also holds that
 * generation.  A save of the settled content builds nothing, so a rollback
 * stays until the file really changes, across restarts too, since the
 * settled hash is kept in the database.
 *
 * Clients waiting on a result (profilectl switch, wait) are kept by id, so
 * a client that hangs up simply misses its reply.  Only forced builds
 * (from profilectl switch) have waiters.
 */
#include <sys/stat.h>

#include <assert.h>
#include <limits.h>
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

/* A file the last evaluation imported, and its content's hash. */
struct queue_input {
	char	*path;
	char	 hash[SHA256_HEX_SIZE];
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

	/* The files as last read. */
	int			 file_exists;
	char			*file_error;	/* why it cannot be built */
	char			 file_hash[SHA256_HEX_SIZE];
	char			 inputs_hash[SHA256_HEX_SIZE];
	struct queue_input	*inputs;
	size_t			 ninputs;
	char			*resolved;	/* a symlinked file's target */
	char			*changed_file;	/* the watch's last report */
	char			 seen_hash[SHA256_HEX_SIZE]; /* last told */

	char			 settled_hash[SHA256_HEX_SIZE];
	unsigned		 held;		/* chosen by hand, or 0 */
	struct queue_waiters	 idle_waiters;	/* profilectl wait */

	/* The running build. */
	char			*content;
	char			 hash[SHA256_HEX_SIZE];	/* of content */
	char			 build_inputs_hash[SHA256_HEX_SIZE];
	struct queue_input	*build_inputs;	/* inputs as it started */
	size_t			 nbuild_inputs;
	const char		*trigger;
	char			*trigger_file;	/* NULL for a switch */
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

/*
 * Nothing to build: idle, or waiting if a save is being debounced.  Idle
 * answers everyone waiting for it (profilectl wait).
 */
static void
queue_idle(void)
{
	size_t	i;

	if (evtimer_pending(queue.debounce, NULL)) {
		queue_set_state(QUEUE_WAITING);
		return;
	}
	queue_set_state(QUEUE_IDLE);
	for (i = 0; i < queue.idle_waiters.count; i++)
		rpc_status(queue.idle_waiters.ids[i]);
	free(queue.idle_waiters.ids);
	queue.idle_waiters.ids = NULL;
	queue.idle_waiters.count = 0;
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
 * Settle the profile on the inputs with hash: saves of them build nothing
 * until they change.  held is the generation the user chose by hand, or 0
 * when a build settled it.  Both survive a restart.
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

static void
queue_inputs_free(struct queue_input *inputs, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		free(inputs[i].path);
	free(inputs);
}

/* Hash the file at path into hash; a missing or unreadable file hashes
 * as such, so that it appearing is a change too. */
static void
queue_hash_file(const char *path, char hash[SHA256_HEX_SIZE])
{
	char	*text = NULL, *cause = NULL;

	switch (path_read_file(path, PATH_FILE_MAX, &text, &cause)) {
	case 0:
		sha256_hex(text, strlen(text), hash);
		free(text);
		break;
	case 1:
		snprintf(hash, SHA256_HEX_SIZE, "missing");
		break;
	default:
		snprintf(hash, SHA256_HEX_SIZE, "unreadable");
		free(cause);
		break;
	}
}

/*
 * The inputs hash of the package file's content hash and inputs: the
 * file's own hash if it imports nothing.
 */
static void
queue_combine(const char *file_hash, const struct queue_input *inputs,
    size_t count, char hash[SHA256_HEX_SIZE])
{
	char	*text, *next;
	size_t	 i;

	if (count == 0) {
		snprintf(hash, SHA256_HEX_SIZE, "%s", file_hash);
		return;
	}
	text = xstrdup(file_hash);
	for (i = 0; i < count; i++) {
		xasprintf(&next, "%s\n%s %s", text, inputs[i].hash,
		    inputs[i].path);
		free(text);
		text = next;
	}
	sha256_hex(text, strlen(text), hash);
	free(text);
}

/* Keep the inputs list in the database, so a restart watches them too. */
static void
queue_save_inputs(void)
{
	char	*text = xstrdup(""), *next;
	size_t	 i;

	for (i = 0; i < queue.ninputs; i++) {
		xasprintf(&next, "%s%s\n", text, queue.inputs[i].path);
		free(text);
		text = next;
	}
	db_state_set("inputs", text);
	free(text);
}

/*
 * Watch the package file, its target if it is a symlink (a dotfiles
 * repository), and its inputs.
 */
static void
queue_update_watches(void)
{
	const char	**files;
	char		 *cause = NULL;
	size_t		  n = 0, i;

	files = xcalloc(queue.ninputs + 2, sizeof *files);
	files[n++] = queue.cfg->package_file;
	if (queue.resolved != NULL)
		files[n++] = queue.resolved;
	for (i = 0; i < queue.ninputs; i++)
		files[n++] = queue.inputs[i].path;
	if (watch_set(files, n, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
	free(files);
}

/* Note where the package file points, if it is a symlink. */
static void
queue_resolve_file(void)
{
	char	real[PATH_MAX];

	free(queue.resolved);
	queue.resolved = NULL;
	if (realpath(queue.cfg->package_file, real) != NULL &&
	    strcmp(real, queue.cfg->package_file) != 0)
		queue.resolved = xstrdup(real);
}

/* Whether text has nothing but white space: no Nix expression at all. */
static int
queue_blank(const char *text)
{
	return text[strspn(text, " \t\r\n")] == '\0';
}

/*
 * Read the files as they are now: the package file's hash into
 * queue.file_hash, and with its inputs' into queue.inputs_hash.  0 if the
 * file can be built, else -1 and queue.file_error says why: it does not
 * exist, cannot be read, or is empty (an editor is half way through a
 * save).  With content, the file's text is returned there.
 */
static int
queue_refresh_file(char **content)
{
	char	*text = NULL, *error = NULL;
	size_t	 i;
	int	 rc;

	free(queue.file_error);
	queue.file_error = NULL;
	rc = path_read_file(queue.cfg->package_file, PATH_FILE_MAX, &text,
	    &error);
	queue.file_exists = rc != 1;
	if (rc == 0 && queue_blank(text)) {
		xasprintf(&error, "%s is empty", queue.cfg->package_file);
		free(text);
		rc = -1;
	}
	if (rc != 0) {
		queue.file_hash[0] = '\0';
		queue.inputs_hash[0] = '\0';
		if (rc == 1)
			xasprintf(&error, "%s does not exist",
			    queue.cfg->package_file);
		queue.file_error = error;
		return -1;
	}
	sha256_hex(text, strlen(text), queue.file_hash);
	for (i = 0; i < queue.ninputs; i++)
		queue_hash_file(queue.inputs[i].path, queue.inputs[i].hash);
	queue_combine(queue.file_hash, queue.inputs, queue.ninputs,
	    queue.inputs_hash);
	if (content != NULL)
		*content = text;
	else
		free(text);
	return 0;
}

/*
 * Take the inputs the build's evaluation found as the watched inputs, and
 * compute the inputs hash the build answers to: each input as it was when
 * the build started (if it was an input then), so that an edit made while
 * Nix read it still differs from what is settled.
 */
static void
queue_take_inputs(const struct build_result *result)
{
	struct queue_input	*inputs;
	size_t			 i, j;

	inputs = xcalloc(result->ninputs, sizeof *inputs);
	for (i = 0; i < result->ninputs; i++) {
		inputs[i].path = xstrdup(result->inputs[i]);
		for (j = 0; j < queue.nbuild_inputs; j++) {
			if (strcmp(queue.build_inputs[j].path,
			    inputs[i].path) == 0)
				break;
		}
		if (j < queue.nbuild_inputs)
			memcpy(inputs[i].hash, queue.build_inputs[j].hash,
			    sizeof inputs[i].hash);
		else
			queue_hash_file(inputs[i].path, inputs[i].hash);
	}
	queue_combine(queue.hash, inputs, result->ninputs,
	    queue.build_inputs_hash);
	queue_inputs_free(queue.inputs, queue.ninputs);
	queue.inputs = inputs;
	queue.ninputs = result->ninputs;
	queue_save_inputs();
	queue_update_watches();

	/* The inputs hash now covers the new inputs; an edit made while Nix
	 * read them is a change, still to be told and built. */
	if (queue_refresh_file(NULL) == 0 &&
	    strcmp(queue.inputs_hash, queue.build_inputs_hash) == 0)
		memcpy(queue.seen_hash, queue.inputs_hash,
		    sizeof queue.seen_hash);
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
	record->inputs_hash = xstrdup(queue.build_inputs_hash);
	if (queue.trigger_file != NULL)
		record->file = xstrdup(queue.trigger_file);
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

/* The running build failed with error: record it, tell everyone. */
static void
queue_fail_build(const char *error, int settle)
{
	uint64_t	duration_ms = queue.result->duration_ms;

	log_warnx("build of %s failed: %s", queue.cfg->package_file, error);
	events_build_ended("build_failed", error, NULL, duration_ms, NULL);
	queue_record_build(queue.result, 0, 0);
	queue_reply_error(&queue.waiters, error);
	if (settle)
		queue_settle(queue.build_inputs_hash, 0);
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
	free(queue.trigger_file);
	queue.trigger_file = NULL;
	queue_inputs_free(queue.build_inputs, queue.nbuild_inputs);
	queue.build_inputs = NULL;
	queue.nbuild_inputs = 0;
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
	char		*message;

	if (id == 0) {
		xasprintf(&message, "cannot make a generation: %s", error);
		free(queue.result->error);
		queue.result->error = message;
		queue.result->ok = 0;
		queue_fail_build(message, 1);
	} else {
		queue_record_build(queue.result, id, 0);
		events_switched(previous, id, 1, queue.trigger);
		queue_reply_switched(&queue.waiters, previous, id, 1);
		queue_settle(queue.build_inputs_hash, 0);
	}
	queue_end_build();
}

static struct generation *
queue_new_generation(unsigned parent)
{
	struct generation	*gen;
	struct build_result	*result = queue.result;

	gen = xcalloc(1, sizeof *gen);
	gen->parent = parent;
	gen->store_path = xstrdup(result->out_path);
	gen->created = time(NULL);
	gen->reason = xstrdup(queue.trigger);
	gen->content_hash = xstrdup(queue.hash);
	gen->content = xstrdup(queue.content);
	gen->build_ms = result->duration_ms;
	gen->packages = package_list_copy(result->packages, result->npackages);
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
			events_switched(current, existing, 0, queue.trigger);
		queue_reply_switched(&queue.waiters, current, existing, 0);
		queue_settle(queue.build_inputs_hash, 0);
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
	queue_fail_build(cause, 1);
	queue_end_build();
}

/*
 * The running build was superseded (newer content was saved, and it was
 * stopped, or Nix may have read newer content): record it, and hand its
 * waiters to the build that waits, which builds the newest content.
 */
static void
queue_supersede(const char *why)
{
	struct build_result	*result = queue.result;

	log_info("build of %s superseded: %s", queue.cfg->package_file, why);
	events_build_ended("build_cancelled", why, NULL, result->duration_ms,
	    "superseded");
	queue_record_build(result, 0, 1);
	queue.pending = 1;
	if (queue.waiters.count > 0)
		queue.pending_forced = 1;
	queue_waiters_move(&queue.pending_waiters, &queue.waiters);
	queue_end_build();
}

/*
 * The running build was stopped, and a generation chosen by hand since:
 * record it, answer its waiters, and build nothing more.
 */
static void
queue_drop_build(const char *why)
{
	char	*error;

	events_build_ended("build_cancelled", why, NULL,
	    queue.result->duration_ms, "held");
	queue_record_build(queue.result, 0, 1);
	xasprintf(&error, "not activated: generation %u was chosen while the "
	    "build ran", queue.chosen_meanwhile);
	queue_reply_error(&queue.waiters, error);
	free(error);
	queue_end_build();
}

/*
 * Whether the build that waits is only a profilectl switch of the inputs
 * the running build built: no save has changed them since it started.
 */
static int
queue_only_switch_waits(void)
{
	return queue.pending_forced && queue_refresh_file(NULL) == 0 &&
	    strcmp(queue.inputs_hash, queue.build_inputs_hash) == 0;
}

static void
queue_build_done_cb(struct build_result *result, void *arg)
{
	char	*error;

	queue.result = result;
	if (result->stale) {
		queue_supersede("the package file changed while Nix read it");
		return;
	}
	if (result->cancelled && !queue.pending &&
	    queue.chosen_meanwhile != 0) {
		/* Stopped, then a generation was chosen by hand: it holds. */
		queue_drop_build(result->error);
		return;
	}
	if (queue.pending && !result->cancelled && queue_only_switch_waits()) {
		/* profilectl switch asked for what this build built. */
		queue.trigger = "switch";
		queue.pending = queue.pending_forced = 0;
		queue_waiters_move(&queue.waiters, &queue.pending_waiters);
	}
	/* A stopped build is never a failure: what it was stopped for (newer
	 * content, or the same saved back) is built now. */
	if (queue.pending || result->cancelled) {
		queue_supersede(result->cancelled ? result->error :
		    "newer content was saved");
		return;
	}
	queue_take_inputs(result);
	if (!result->ok) {
		queue_fail_build(result->error, queue.chosen_meanwhile == 0);
		queue_end_build();
		return;
	}
	log_info("built %s: %s (%llu ms)", queue.cfg->package_file,
	    result->out_path, (unsigned long long)result->duration_ms);
	events_build_ended("build_succeeded", NULL, result->out_path,
	    result->duration_ms, NULL);

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
		queue_settle(queue.build_inputs_hash, 0);
		queue_end_build();
		return;
	}
	queue_activate();
}

/* Start a build of the files as they are now, unless nothing needs it. */
static void
queue_start(const char *trigger, int forced)
{
	char	*content = NULL, *cause = NULL;

	assert(!build_running());
	assert(forced || queue.waiters.count == 0);
	queue_resolve_file();
	if (queue_refresh_file(&content) == -1) {
		log_warnx("%s", queue.file_error);
		queue_reply_error(&queue.waiters, queue.file_error);
		queue_idle();
		return;
	}
	if (!forced && strcmp(queue.settled_hash, queue.inputs_hash) == 0) {
		log_debug("%s unchanged since the last build or switch",
		    queue.cfg->package_file);
		free(content);
		queue_idle();
		return;
	}

	queue.content = content;
	memcpy(queue.hash, queue.file_hash, sizeof queue.hash);
	memcpy(queue.build_inputs_hash, queue.inputs_hash,
	    sizeof queue.build_inputs_hash);
	queue.build_inputs = xcalloc(queue.ninputs, sizeof *queue.build_inputs);
	for (queue.nbuild_inputs = 0; queue.nbuild_inputs < queue.ninputs;
	    queue.nbuild_inputs++) {
		queue.build_inputs[queue.nbuild_inputs].path =
		    xstrdup(queue.inputs[queue.nbuild_inputs].path);
		memcpy(queue.build_inputs[queue.nbuild_inputs].hash,
		    queue.inputs[queue.nbuild_inputs].hash, SHA256_HEX_SIZE);
	}
	queue.trigger = trigger;
	free(queue.trigger_file);
	queue.trigger_file = NULL;
	if (strcmp(trigger, "save") == 0)
		queue.trigger_file = xstrdup(queue.changed_file != NULL ?
		    queue.changed_file : queue.cfg->package_file);
	queue.started = time(NULL);
	queue.chosen_meanwhile = 0;
	log_info("building %s (%s, %.12s)", queue.cfg->package_file, trigger,
	    queue.hash);
	if (build_start(queue.base, queue.cfg, queue.hash, queue_build_done_cb,
	    NULL, &cause) == -1) {
		queue.result = xcalloc(1, sizeof *queue.result);
		queue.result->error = cause;
		events_build_started(trigger, queue.trigger_file, queue.hash);
		queue_fail_build(cause, 1);
		queue_end_build();
		return;
	}
	queue_set_state(QUEUE_BUILDING);
	events_build_started(trigger, queue.trigger_file, queue.hash);
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

/*
 * Ask for a build: now if none runs, else as the one waiting (which a
 * save's debounce follows by stopping the running build).
 */
static void
queue_request(const char *trigger, int forced, uint64_t client)
{
	if (queue.state == QUEUE_BUILDING || queue.state == QUEUE_SWITCHING) {
		if (!queue.pending)
			events_build_queued(trigger, forced ? NULL :
			    queue.changed_file);
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
	const char	*file;
	char		*why;

	queue_resolve_file();
	queue_update_watches();
	file = queue.changed_file != NULL ? queue.changed_file :
	    queue.cfg->package_file;
	if (queue_refresh_file(NULL) == -1) {
		log_info("%s; waiting for it", queue.file_error);
		events_file_error(queue.cfg->package_file, queue.file_error);
		queue.seen_hash[0] = '\0';
		if (queue.state == QUEUE_WAITING)
			queue_idle();
		return;
	}
	if (strcmp(queue.inputs_hash, queue.seen_hash) != 0) {
		log_debug("%s changed (%.12s)", file, queue.inputs_hash);
		events_file_changed(file);
		memcpy(queue.seen_hash, queue.inputs_hash,
		    sizeof queue.seen_hash);
	}
	if (queue.state == QUEUE_BUILDING || queue.state == QUEUE_SWITCHING) {
		/* Back to the inputs being built: nothing more is wanted. */
		if (strcmp(queue.inputs_hash, queue.build_inputs_hash) == 0) {
			if (!queue.pending_forced)
				queue.pending = 0;
			return;
		}
		queue_request("save", 0, 0);
		if (queue.state == QUEUE_BUILDING) {
			xasprintf(&why, "stopped: %s changed", file);
			build_stop(why);
			free(why);
		}
		return;
	}
	queue_request("save", 0, 0);
}

/*
 * A watched file (NULL: any, events were lost) changed: debounce, then
 * build if the inputs changed.
 */
void
queue_file_changed(const char *path)
{
	struct timeval	tv;

	free(queue.changed_file);
	queue.changed_file = path != NULL ? xstrdup(path) : NULL;
	tv.tv_sec = queue.cfg->debounce_ms / 1000;
	tv.tv_usec = (queue.cfg->debounce_ms % 1000) * 1000;
	evtimer_add(queue.debounce, &tv);
	if (queue.state == QUEUE_IDLE)
		queue_set_state(QUEUE_WAITING);
}

/*
 * profilectl switch: build the file now, activate, and reply to client,
 * which with progress gets the build's events until then.
 */
void
queue_switch_build(uint64_t client, int progress)
{
	if (queue.stopping) {
		rpc_reply_error(client, "profiled is stopping");
		return;
	}
	if (progress)
		events_subscribe(client, 1, 1);
	/* The newest choice wins: a rollback made during the build yields. */
	queue.chosen_meanwhile = 0;
	if (queue.state == QUEUE_WAITING) {
		evtimer_del(queue.debounce);
		free(queue.changed_file);
		queue.changed_file = NULL;
	}
	queue_request("switch", 1, client);
}

/*
 * profilectl wait: answer client with the status once nothing is left to
 * do.  The files are looked at first, so a save the watch has not yet
 * reported is not missed.
 */
void
queue_wait(uint64_t client)
{
	if (queue.stopping) {
		rpc_reply_error(client, "profiled is stopping");
		return;
	}
	if (queue.state == QUEUE_IDLE && queue_refresh_file(NULL) == 0 &&
	    strcmp(queue.settled_hash, queue.inputs_hash) != 0)
		queue_file_changed(NULL);
	if (queue.state == QUEUE_IDLE) {
		rpc_status(client);
		return;
	}
	queue_waiters_add(&queue.idle_waiters, client);
}

/*
 * Switch to existing generation id (or the current one's parent, for a
 * rollback) and hold it: the running build is not activated, the waiting
 * one is dropped, and the files' content now is settled.
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
	if (queue_refresh_file(NULL) == 0)
		queue_settle(queue.inputs_hash, id);
	else
		queue_settle("", id);
	systemd_status();
	if (id != current)
		events_switched(current, id, 0, rollback ? "rollback" :
		    "switch --to");
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

/* Read the inputs the last evaluation found, kept in the database. */
static void
queue_load_inputs(void)
{
	char	*text, *line, *last;

	if ((text = db_state_get("inputs")) == NULL)
		return;
	for (line = strtok_r(text, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		queue.inputs = xreallocarray(queue.inputs, queue.ninputs + 1,
		    sizeof *queue.inputs);
		queue.inputs[queue.ninputs].path = xstrdup(line);
		queue.inputs[queue.ninputs++].hash[0] = '\0';
	}
	free(text);
}

/*
 * Set up the queue and build at once if the files changed while the daemon
 * was down, or if the last build failed (Nix may have been the problem).
 */
void
queue_init(struct event_base *base, const struct config *cfg)
{
	char	*value;

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
	queue_load_inputs();
	queue_resolve_file();
	queue_update_watches();
	if (queue_refresh_file(NULL) == -1) {
		log_info("%s; waiting for it", queue.file_error);
		return;
	}
	memcpy(queue.seen_hash, queue.inputs_hash, sizeof queue.seen_hash);
	if (queue.held == 0 && queue.last_build != NULL &&
	    !queue.last_build->ok &&
	    strcmp(queue.settled_hash, queue.inputs_hash) == 0) {
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
	queue_reply_error(&queue.idle_waiters, "profiled is stopping");
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
	free(queue.idle_waiters.ids);
	while ((d = queue.deferred) != NULL) {
		queue.deferred = d->next;
		free(d);
	}
	free(queue.content);
	free(queue.file_error);
	free(queue.resolved);
	free(queue.changed_file);
	free(queue.trigger_file);
	queue_inputs_free(queue.inputs, queue.ninputs);
	queue_inputs_free(queue.build_inputs, queue.nbuild_inputs);
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

/* Why the package file cannot be built as it is now, or NULL. */
const char *
queue_file_error(void)
{
	return queue.file_error;
}

/* The inputs hash of the files as last read; "" when the file is not
 * there to build. */
const char *
queue_inputs_hash(void)
{
	return queue.inputs_hash;
}

/* The files the package file imports, as the last evaluation found. */
const char *
queue_input(size_t i)
{
	return i < queue.ninputs ? queue.inputs[i].path : NULL;
}

/* The file whose change started the running build; NULL for a switch. */
const char *
queue_build_file(void)
{
	return queue.trigger_file;
}

/* The last build attempt, or NULL if there has been none. */
const struct build_record *
queue_last_build(void)
{
	return queue.last_build;
}
