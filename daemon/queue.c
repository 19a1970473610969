/*
 * The build queue: what turns saves and requests into builds and switches.
 *
 * Its state is two named objects.  The running build (queue.running) lives
 * from build_start until its result is recorded, which may include the
 * time nix-env takes to make its generation (switching).  The build that
 * waits (queue.next) is only wanted, never started: at most one waits, and
 * it reads the files anew when it starts, so it always builds the newest
 * content.  A save while a build runs wants the next build and stops the
 * running one (Nix is asked to stop; its result is recorded as superseded,
 * never activated).  What a finished build leads to is judged in one place,
 * queue_judge, and acted on in one switch.
 *
 * The files a build depends on are inputs.c's.  The profile answers to
 * one state of them, the settled hash: the inputs last built (successfully
 * or not), or as they were when the user chose a generation by hand
 * (rollback, switch --to), which also holds that generation.  A save of
 * the settled content builds nothing, so a rollback stays until the file
 * really changes, across restarts too, since the settled hash is kept in
 * the database.
 *
 * A profile whose current generation profiled did not make (nix-env -i,
 * by hand) is never replaced by a save without consent: the build is made
 * but not activated, and status says what activating it would remove and
 * add until profilectl switch (the consent) or a switch of any kind.
 *
 * Whoever waits on a result (profilectl switch, wait, a rollback during
 * nix-env) gave a callback: the queue answers through it and knows nothing
 * of clients.
 */
#include <sys/queue.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "profiled.h"

/*
 * After a build stopped for newer content, the next waits until the saves
 * have stopped for this long (or debounce_ms, if longer): a burst of saves
 * faster than the debounce then costs two builds, not one per save.
 */
#define QUEUE_SETTLE_MS		500

/* Warnings status carries at most. */
#define QUEUE_WARNINGS_MAX	6

/* Someone waiting for a result, and how to tell them. */
struct queue_waiter {
	queue_done_cb			 cb;
	void				*arg;
	TAILQ_ENTRY(queue_waiter)	 entry;
};
TAILQ_HEAD(queue_waiters, queue_waiter);

/* The running build. */
struct queue_build {
	struct inputs_snapshot	*inputs;	/* what it builds */
	enum reason		 trigger;	/* save or switch */
	char			*file;		/* whose change started it;
						   NULL for a switch */
	time_t			 started;
	int			 switching;	/* nix-env makes its generation
						   (or waits for a deletion) */
	unsigned		 chosen;	/* chosen by hand meanwhile, or 0 */
	int			 waiting_gc;	/* activates once it is done */
	int			 waiting_links;	/* ... once adoption has
						   recorded every link */
	struct queue_waiters	 waiters;	/* profilectl switch */
	struct build_result	*result;	/* once Nix has finished */
};

/* The build wanted after the running one. */
struct queue_next {
	int			 forced;	/* by profilectl switch */
	struct queue_waiters	 waiters;
};

/* A switch --to or rollback that arrived while nix-env was switching. */
struct queue_deferred {
	int				 rollback;
	unsigned			 id;
	queue_done_cb			 cb;
	void				*arg;
	TAILQ_ENTRY(queue_deferred)	 entry;
};

/*
 * Generations being deleted (retention after a switch, or profilectl gc):
 * the profile changes through one nix-env at a time, so a generation
 * being made, or a switch asked for, waits for it.
 */
struct queue_gc {
	unsigned	*ids;
	size_t		 count;
	queue_gc_cb	 cb;		/* profilectl gc, or NULL */
	void		*arg;
};

/* What a finished build leads to. */
enum queue_outcome {
	QUEUE_STALE,		/* the file changed while Nix read it */
	QUEUE_STOPPED,		/* stopped for newer content (or a timeout) */
	QUEUE_OUTDATED,		/* newer content was saved meanwhile */
	QUEUE_DROPPED,		/* stopped, and a generation chosen by hand
				   holds */
	QUEUE_FAILED,
	QUEUE_NOT_ACTIVATED,	/* built, but a generation was chosen
				   meanwhile */
	QUEUE_BUILT,		/* built; auto_switch is off */
	QUEUE_FOREIGN,		/* built; the current generation is not
				   profiled's, and this would change it */
	QUEUE_UNREAD,		/* built; the current generation is not
				   profiled's, and its packages are still
				   being read (adopt.c): judged again then */
	QUEUE_ACTIVATE		/* built: make it the current generation */
};

static struct {
	struct event_base		*base;
	const struct config		*cfg;
	queue_changed_cb		 changed_cb;
	struct event			*debounce;
	char				*changed_file;	/* the watch's last
							   report */
	char				 seen_hash[SHA256_HEX_SIZE];
						/* last told as changed */
	char				 settled_hash[SHA256_HEX_SIZE];
	unsigned			 held;	/* chosen by hand, or 0 */
	unsigned			 builds_started; /* since start-up */
	int				 stopping;
	int				 settling;	/* a build was superseded:
							   saves settle first */

	struct queue_build		*running;
	struct queue_next		*next;
	struct queue_gc			*gc;
	TAILQ_HEAD(, queue_deferred)	 deferred;
	struct queue_waiters		 idle_waiters;	/* profilectl wait */
	struct build_record		*last_build;
	struct generation		*built;	/* built, not activated:
						   what switch would make */

	int				 unread;	/* a build waits for
							   adoption to judge */
	unsigned			 foreign;	/* not replaced, or 0 */
	char				*foreign_change;	/* by the file */
	char				*warnings[QUEUE_WARNINGS_MAX];
	char				*history_warning;	/* from
							   start-up */
} queue;

static void	queue_start(enum reason, int, struct queue_waiters *);
static void	queue_retain(void);
static void	queue_activate(void);
static void	queue_set_foreign(unsigned, const char *);
static void	queue_switch_existing(int, unsigned, queue_done_cb, void *);

/*
 * The invariants that tie the queue's objects together; checked at the end
 * of every entry point.
 */
static void
queue_check(void)
{
	struct queue_build	*b = queue.running;

	/* A build waits only behind one that runs. */
	assert(queue.next == NULL || b != NULL);
	assert(queue.next == NULL || queue.next->forced ||
	    TAILQ_EMPTY(&queue.next->waiters));
	assert(TAILQ_EMPTY(&queue.deferred) || (b != NULL && b->switching) ||
	    queue.gc != NULL);
	/* One nix-env changes the profile at a time. */
	assert(queue.gc == NULL || b == NULL || !b->switching ||
	    b->waiting_gc);
	assert(!queue.stopping || (queue.next == NULL &&
	    TAILQ_EMPTY(&queue.idle_waiters)));
	if (b == NULL) {
		assert(!build_running());
		return;
	}
	/* Nix builds, or nix-env switches with Nix's result in hand. */
	assert(b->inputs != NULL);
	assert(b->switching ? b->result != NULL && !build_running() :
	    b->result == NULL && build_running());
	assert((b->trigger == REASON_SAVE) == (b->file != NULL));
	assert(b->trigger == REASON_SAVE || b->trigger == REASON_SWITCH);
	/* Only profilectl switch waits for a build. */
	assert(TAILQ_EMPTY(&b->waiters) || b->trigger == REASON_SWITCH);
}

/*
 * The status may have changed: tell whoever shows it (status answers,
 * which are packed once per change, and systemd's STATUS=).  Every entry
 * point ends with it, so that no change goes untold.
 */
static void
queue_changed(void)
{
	if (queue.changed_cb != NULL)
		queue.changed_cb();
}

static void
queue_waiters_add(struct queue_waiters *list, queue_done_cb cb, void *arg)
{
	struct queue_waiter	*w;

	if (cb == NULL)
		return;
	w = xcalloc(1, sizeof *w);
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(list, w, entry);
}

/* Tell everyone on list the outcome (switched, or error) and empty it. */
static void
queue_waiters_done(struct queue_waiters *list, const struct queue_switched *sw,
    const char *error)
{
	struct queue_waiter	*w;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		w->cb(sw, error, w->arg);
		free(w);
	}
}

static void
queue_waiters_switched(struct queue_waiters *list, unsigned previous,
    unsigned generation, int created)
{
	struct queue_switched	sw = { previous, generation, created };

	queue_waiters_done(list, &sw, NULL);
}

/*
 * (Re)start the wait after a save: debounce_ms, or while saves come in a
 * burst that superseded a build, until they have settled.
 */
static void
queue_arm_debounce(void)
{
	struct timeval	tv;
	int		ms = queue.cfg->debounce_ms;

	if (queue.settling && ms < QUEUE_SETTLE_MS)
		ms = QUEUE_SETTLE_MS;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(queue.debounce, &tv);
}

/*
 * Nothing to build: idle, or waiting if a save is being debounced.  Idle
 * answers everyone waiting for it (profilectl wait).
 */
static void
queue_idle(void)
{
	queue_changed();
	if (!evtimer_pending(queue.debounce, NULL))
		queue_waiters_done(&queue.idle_waiters, NULL, NULL);
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

	snprintf(queue.settled_hash, sizeof queue.settled_hash, "%s", hash);
	queue.held = held;
	snprintf(number, sizeof number, "%u", held);
	db_state_set("settled_hash", queue.settled_hash);
	db_state_set("held", number);
}

/*
 * Hold off replacing generation id (0: none held), which profiled did not
 * make: change says what the package file's build would change.  Kept in
 * the database, so a restart holds it too.
 */
static void
queue_set_foreign(unsigned id, const char *change)
{
	char	*text;

	free(queue.foreign_change);
	queue.foreign_change = id != 0 ? xstrdup(change) : NULL;
	queue.foreign = id;
	xasprintf(&text, "%u\n%s", id, id != 0 ? change : "");
	db_state_set("foreign", text);
	free(text);
}

/* The profile changed generation: tell everyone; any hold is over. */
static void
queue_switched(unsigned previous, unsigned id, int created,
    enum reason reason)
{
	if (queue.foreign != 0)
		queue_set_foreign(0, NULL);
	events_switched(previous, id, created, reason);
}

/* Append fmt's text to *text, after sep unless *text is empty. */
static void printflike(3, 4)
queue_append(char **text, const char *sep, const char *fmt, ...)
{
	va_list	 ap;
	char	*part, *next;

	va_start(ap, fmt);
	xvasprintf(&part, fmt, ap);
	va_end(ap);
	xasprintf(&next, "%s%s%s", *text, **text != '\0' ? sep : "", part);
	free(*text);
	free(part);
	*text = next;
}

/*
 * If the running build would replace a current generation that profiled
 * did not make (installed with nix-env, by hand) and change its packages,
 * what it would change ("would remove a 1.0; add b 2.0"), as a new string;
 * else NULL.  *current is the profile's generation.  *unread says, with
 * NULL, that this cannot be told yet: adoption (adopt.c) has still to read
 * that generation's packages.
 */
static char *
queue_foreign_change(const struct queue_build *b, unsigned *current,
    int *unread)
{
	struct build_result	*result = b->result;
	struct generation	*gen, built;
	struct generation_diff	 diff;
	char			*path = NULL, *cause = NULL, *text;
	size_t			 i;

	*unread = 0;
	if (profile_current(queue.cfg->profile, current, &path, &cause) == -1) {
		free(cause);
		return NULL;
	}
	if (*current == 0 || (path != NULL &&
	    strcmp(path, result->out_path) == 0)) {
		free(path);
		return NULL;
	}
	/*
	 * Its record, if it is the link's: while adoption still records the
	 * links, in steps, a link without one waits for it (as for its
	 * packages) rather than recording every link now, in one callback.
	 */
	if ((gen = db_generation_get(*current)) != NULL && path != NULL &&
	    strcmp(gen->store_path, path) != 0) {
		db_generation_free(gen);
		gen = NULL;
	}
	if (gen == NULL && !db_failed()) {
		if ((*unread = adopt_pending(*current))) {
			free(path);
			return NULL;
		}
		generation_sync(queue.cfg);
		gen = db_generation_get(*current);
	}
	free(path);
	if (gen == NULL || gen->reason != REASON_IMPORT) {
		db_generation_free(gen);
		return NULL;
	}
	if (gen->npackages == 0) {
		db_generation_free(gen);
		if ((*unread = adopt_pending(*current)))
			return NULL;
		/* Made while profiled ran: its manifest is not read yet. */
		return xstrdup("would replace what was installed outside "
		    "profiled");
	}
	memset(&built, 0, sizeof built);
	built.packages = result->packages;
	built.npackages = result->npackages;
	generation_diff(gen, &built, &diff);
	text = xstrdup("");
	for (i = 0; i < diff.nremoved; i++)
		queue_append(&text, i == 0 ? "; " : ", ", "%s%s %s", i == 0 ?
		    "would remove " : "", diff.removed[i].name,
		    diff.removed[i].version);
	for (i = 0; i < diff.nadded; i++)
		queue_append(&text, i == 0 ? "; " : ", ", "%s%s %s", i == 0 ?
		    "add " : "", diff.added[i].name, diff.added[i].version);
	for (i = 0; i < diff.nchanged; i++)
		queue_append(&text, i == 0 ? "; " : ", ", "%s%s %s → %s",
		    i == 0 ? "change " : "", diff.changed[i].name,
		    diff.changed[i].old_version, diff.changed[i].new_version);
	generation_diff_free(&diff);
	db_generation_free(gen);
	if (*text == '\0') {
		/* The same packages: nothing the user has would be lost. */
		free(text);
		return NULL;
	}
	return text;
}

/*
 * Record the running build's outcome.  Unless it was superseded, it becomes
 * the last build: what status shows and what later saves compare against.
 */
static void
queue_record_build(unsigned generation, int superseded)
{
	struct queue_build	*b = queue.running;
	struct build_result	*result = b->result;
	struct build_record	*record;
	char			*cause = NULL;

	record = xcalloc(1, sizeof *record);
	record->started = b->started;
	record->duration_ms = result->duration_ms;
	record->trigger = b->trigger;
	record->content_hash = xstrdup(b->inputs->file_hash);
	record->inputs_hash = xstrdup(b->inputs->hash);
	if (b->file != NULL)
		record->file = xstrdup(b->file);
	record->ok = result->ok;
	if (result->error != NULL)
		record->error = xstrdup(result->error);
	if (result->out_path != NULL)
		record->out_path = xstrdup(result->out_path);
	record->generation = generation;
	record->superseded = superseded;
	if (result->log != NULL)
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
	struct queue_build	*b = queue.running;

	log_warnx("build of %s failed: %s", queue.cfg->package_file, error);
	events_build_failed(error, b->result->duration_ms);
	queue_record_build(0, 0);
	queue_waiters_done(&b->waiters, NULL, error);
	if (settle)
		queue_settle(b->inputs->hash, 0);
}

static void
queue_build_free(struct queue_build *b)
{
	assert(TAILQ_EMPTY(&b->waiters));
	inputs_snapshot_free(b->inputs);
	build_result_free(b->result);
	free(b->file);
	free(b);
}

/* Forget the build that waits, telling its waiters why. */
static void
queue_drop_next(const char *why)
{
	if (queue.next == NULL)
		return;
	queue_waiters_done(&queue.next->waiters, NULL, why);
	free(queue.next);
	queue.next = NULL;
}

/* After a build: start the one that waits, or go idle. */
static void
queue_start_next(void)
{
	struct queue_next	*next = queue.next;
	struct queue_waiters	 waiters = TAILQ_HEAD_INITIALIZER(waiters);

	if (next == NULL) {
		queue_idle();
		return;
	}
	queue.next = NULL;
	TAILQ_CONCAT(&waiters, &next->waiters, entry);
	queue_start(next->forced ? REASON_SWITCH : REASON_SAVE, next->forced,
	    &waiters);
	free(next);
}

/*
 * The running build is over: run the switches that waited for nix-env,
 * then start the build that waits, or go idle (or stop, if asked to).
 */
static void
queue_end_build(void)
{
	struct queue_deferred	*d;

	queue_build_free(queue.running);
	queue.running = NULL;
	while (queue.gc == NULL && (d = TAILQ_FIRST(&queue.deferred)) != NULL) {
		TAILQ_REMOVE(&queue.deferred, d, entry);
		queue_switch_existing(d->rollback, d->id, d->cb, d->arg);
		free(d);
	}
	if (queue.stopping) {
		if (queue.gc == NULL)
			event_base_loopbreak(queue.base);
		return;
	}
	queue_retain();
	queue_start_next();
}

static void
queue_created_cb(unsigned id, const char *error, void *arg)
{
	struct queue_build	*b = queue.running;
	unsigned		 previous = (unsigned)(uintptr_t)arg;
	char			*message;

	if (id == 0) {
		xasprintf(&message, "cannot make a generation: %s", error);
		free(b->result->error);
		b->result->error = message;
		b->result->ok = 0;
		queue_fail_build(message, 1);
	} else {
		queue_record_build(id, 0);
		queue_switched(previous, id, 1, b->trigger);
		queue_waiters_switched(&b->waiters, previous, id, 1);
		queue_settle(b->inputs->hash, 0);
	}
	queue_end_build();
	queue_changed();
	queue_check();
}

/* The running build's result as a generation to make, parent its parent. */
static struct generation *
queue_new_generation(unsigned parent)
{
	struct queue_build	*b = queue.running;
	struct build_result	*result = b->result;
	struct generation	*gen;

	gen = xcalloc(1, sizeof *gen);
	gen->parent = parent;
	gen->store_path = xstrdup(result->out_path);
	gen->created = time(NULL);
	gen->reason = b->trigger;
	gen->content_hash = xstrdup(b->inputs->file_hash);
	gen->content = xstrdup(b->inputs->content);
	gen->build_ms = result->duration_ms;
	gen->packages = package_list_copy(result->packages, result->npackages);
	gen->npackages = result->npackages;
	return gen;
}

/*
 * The running build's result, built but not activated (auto_switch off,
 * or a profile profiled did not make): what profilectl switch would make,
 * for diff --pending; NULL forgets it.
 */
static void
queue_set_built(struct generation *gen)
{
	db_generation_free(queue.built);
	queue.built = gen;
}

/* The build a switch would activate, if one waits for it. */
const struct generation *
queue_built(void)
{
	return queue.built;
}

/*
 * Make a successful build's result the current generation: nothing to do
 * if it is the current one, a switch if it is the newest (as nix-env
 * would), else a new generation made by nix-env.
 */
static void
queue_activate(void)
{
	struct queue_build	*b = queue.running;
	struct build_result	*result = b->result;
	unsigned		 current, existing;
	char			*store_path = NULL, *cause = NULL;
	int			 same;

	if (queue.gc != NULL) {
		/* nix-env deletes generations: make this one after it. */
		b->switching = b->waiting_gc = 1;
		queue_changed();
		return;
	}
	b->waiting_gc = 0;
	if (profile_current(queue.cfg->profile, &current, &store_path,
	    &cause) == -1) {
		queue_set_built(NULL);
		goto fail;
	}
	same = store_path != NULL && strcmp(store_path, result->out_path) == 0;
	free(store_path);
	if (!same && adopt_recording()) {
		/*
		 * A generation is numbered and found again from the links'
		 * records: make it once adoption has recorded every link, in
		 * its steps (queue_adopted), rather than all of them now.
		 */
		b->switching = b->waiting_links = 1;
		queue_changed();
		return;
	}
	b->waiting_links = 0;
	queue_set_built(NULL);
	if (!same)
		generation_sync(queue.cfg);
	existing = same ? current :
	    generation_reusable(queue.cfg, result->out_path);
	if (existing != 0) {
		if (existing != current &&
		    generation_switch(queue.cfg, existing, &cause) == -1)
			goto fail;
		log_info("build of %s is generation %u", queue.cfg->package_file,
		    existing);
		queue_record_build(existing, 0);
		if (existing != current)
			queue_switched(current, existing, 0, b->trigger);
		queue_waiters_switched(&b->waiters, current, existing, 0);
		queue_settle(b->inputs->hash, 0);
		queue_end_build();
		return;
	}
	b->switching = 1;
	queue_changed();
	if (generation_create(queue.base, queue.cfg,
	    queue_new_generation(current), queue_created_cb,
	    (void *)(uintptr_t)current, &cause) == 0)
		return;
	b->switching = 0;
fail:
	result->ok = 0;
	free(result->error);
	result->error = cause;
	queue_fail_build(cause, 1);
	queue_end_build();
}

/* Want a build after the running one (forced: by profilectl switch). */
static struct queue_next *
queue_want_next(int forced)
{
	if (queue.next == NULL) {
		queue.next = xcalloc(1, sizeof *queue.next);
		TAILQ_INIT(&queue.next->waiters);
	}
	queue.next->forced |= forced;
	return queue.next;
}

/*
 * The running build was superseded (newer content was saved, and it was
 * stopped, or Nix may have read newer content): record it, and hand its
 * waiters to the build that waits, which builds the newest content.
 */
static void
queue_supersede(const char *why)
{
	struct queue_build	*b = queue.running;
	struct queue_next	*next;

	log_info("build of %s superseded: %s", queue.cfg->package_file, why);
	events_build_cancelled(why, b->result->duration_ms, EVENTS_SUPERSEDED);
	queue_record_build(0, 1);
	next = queue_want_next(!TAILQ_EMPTY(&b->waiters));
	TAILQ_CONCAT(&next->waiters, &b->waiters, entry);
	if (!next->forced && !queue.stopping) {
		/* Saves keep coming: build once they have settled. */
		queue.settling = 1;
		queue_drop_next(NULL);
		queue_arm_debounce();
	}
	queue_end_build();
}

/* The running build is not activated: a generation was chosen by hand. */
static void
queue_not_activated(void)
{
	struct queue_build	*b = queue.running;
	char			*error;

	xasprintf(&error, "not activated: generation %u was chosen while the "
	    "build ran", b->chosen);
	queue_waiters_done(&b->waiters, NULL, error);
	free(error);
}

/* Take the files the build's evaluation read as the inputs from now on. */
static void
queue_learn_inputs(void)
{
	struct queue_build	*b = queue.running;

	inputs_learn(b->inputs, b->result->inputs, b->result->ninputs);
	/* The inputs hash now covers the new inputs; an edit made while Nix
	 * read them is a change, still to be told and built. */
	if (inputs_refresh() == 0 && strcmp(inputs_hash(), b->inputs->hash) == 0)
		memcpy(queue.seen_hash, inputs_hash(), sizeof queue.seen_hash);
}

/*
 * If the build that waits is only a profilectl switch of the inputs the
 * running build built (no save has changed them since it started), the
 * running build answers it: it becomes that switch.
 */
static void
queue_answer_switch(void)
{
	struct queue_build	*b = queue.running;

	if (queue.next == NULL || !queue.next->forced ||
	    b->result->stale || b->result->cancelled ||
	    inputs_refresh() == -1 || strcmp(inputs_hash(), b->inputs->hash) != 0)
		return;
	b->trigger = REASON_SWITCH;
	free(b->file);
	b->file = NULL;
	TAILQ_CONCAT(&b->waiters, &queue.next->waiters, entry);
	free(queue.next);
	queue.next = NULL;
}

/*
 * What the running build's result leads to; for QUEUE_FOREIGN, *change
 * says what activating it would change in generation *foreign.
 */
static enum queue_outcome
queue_judge(const struct queue_build *b, unsigned *foreign, char **change)
{
	const struct build_result	*result = b->result;
	int				 unread;

	if (result->stale)
		return QUEUE_STALE;
	/* A stopped build is never a failure: what it was stopped for (newer
	 * content, or the same saved back) is built now, unless a generation
	 * chosen by hand holds. */
	if (result->cancelled)
		return queue.next == NULL && b->chosen != 0 ? QUEUE_DROPPED :
		    QUEUE_STOPPED;
	if (queue.next != NULL)
		return QUEUE_OUTDATED;
	if (!result->ok)
		return QUEUE_FAILED;
	if (b->chosen != 0)
		return QUEUE_NOT_ACTIVATED;
	if (b->trigger == REASON_SAVE && !queue.cfg->auto_switch)
		return QUEUE_BUILT;
	if (b->trigger == REASON_SAVE) {
		*change = queue_foreign_change(b, foreign, &unread);
		if (unread)
			return QUEUE_UNREAD;
		if (*change != NULL)
			return QUEUE_FOREIGN;
	}
	return QUEUE_ACTIVATE;
}

/*
 * A save's build was not activated, since it would change generation
 * foreign, which profiled did not make: say so once, and hold.
 */
static void
queue_hold_foreign(unsigned foreign, const char *change)
{
	if (queue.foreign == foreign && queue.foreign_change != NULL &&
	    strcmp(queue.foreign_change, change) == 0)
		return;
	log_warnx("not activating the build of %s: generation %u was not "
	    "made by profiled, and the build %s (profilectl import, or "
	    "profilectl switch)", queue.cfg->package_file, foreign, change);
	queue_set_foreign(foreign, change);
	events_held_foreign(foreign, change);
}

/* A line of the running build's log: to subscribers. */
static void
queue_build_line_cb(const char *line, void *arg)
{
	events_log_line(line);
}

static void
queue_build_done_cb(struct build_result *result, void *arg)
{
	struct queue_build	*b = queue.running;
	enum queue_outcome	 outcome;
	unsigned		 foreign = 0;
	char			*change = NULL;

	b->result = result;
	queue_answer_switch();
	outcome = queue_judge(b, &foreign, &change);
	/* A build that ran to its end: saves are not coming in a burst. */
	if (outcome != QUEUE_STALE && outcome != QUEUE_STOPPED &&
	    outcome != QUEUE_OUTDATED)
		queue.settling = 0;
	switch (outcome) {
	case QUEUE_STALE:
		queue_supersede("the package file changed while Nix read it");
		break;
	case QUEUE_STOPPED:
		queue_supersede(result->error);
		break;
	case QUEUE_OUTDATED:
		queue_supersede("newer content was saved");
		break;
	case QUEUE_DROPPED:
		events_build_cancelled(result->error, result->duration_ms,
		    EVENTS_HELD);
		queue_record_build(0, 1);
		queue_not_activated();
		queue_end_build();
		break;
	case QUEUE_FAILED:
		queue_learn_inputs();
		queue_set_built(NULL);
		queue_fail_build(result->error, b->chosen == 0);
		queue_end_build();
		break;
	case QUEUE_UNREAD:
		/* Built again (Nix finds it valid) once the packages are
		 * read: queue_adopted. */
		log_info("built %s: %s (%llu ms); activating it waits for the "
		    "current generation's packages to be read",
		    queue.cfg->package_file, result->out_path,
		    (unsigned long long)result->duration_ms);
		queue_record_build(0, 0);
		queue.unread = 1;
		queue_end_build();
		break;
	case QUEUE_NOT_ACTIVATED:
	case QUEUE_BUILT:
	case QUEUE_FOREIGN:
	case QUEUE_ACTIVATE:
		queue_learn_inputs();
		log_info("built %s: %s (%llu ms)", queue.cfg->package_file,
		    result->out_path, (unsigned long long)result->duration_ms);
		events_build_succeeded(result->out_path, result->duration_ms);
		if (outcome == QUEUE_ACTIVATE) {
			queue_activate();
			break;
		}
		queue_record_build(0, 0);
		if (outcome == QUEUE_NOT_ACTIVATED)
			queue_not_activated();
		else {
			queue_settle(b->inputs->hash, 0);
			queue_set_built(queue_new_generation(0));
		}
		if (outcome == QUEUE_FOREIGN)
			queue_hold_foreign(foreign, change);
		else if (outcome == QUEUE_BUILT)
			events_built(queue.built);
		queue_end_build();
		break;
	}
	free(change);
	queue_changed();
	queue_check();
}

/*
 * Start a build of the files as they are now, unless nothing needs it;
 * waiters (profilectl switch, only when forced) move to it.
 */
static void
queue_start(enum reason trigger, int forced, struct queue_waiters *waiters)
{
	struct inputs_snapshot	*snap;
	struct queue_build	*b;
	char			*cause = NULL;

	assert(queue.running == NULL && !build_running());
	assert(forced || TAILQ_EMPTY(waiters));
	if ((snap = inputs_take()) == NULL) {
		log_warnx("%s", inputs_error());
		queue_waiters_done(waiters, NULL, inputs_error());
		queue_idle();
		return;
	}
	if (!forced && strcmp(queue.settled_hash, snap->hash) == 0) {
		log_debug("%s unchanged since the last build or switch",
		    queue.cfg->package_file);
		inputs_snapshot_free(snap);
		queue_idle();
		return;
	}

	queue.unread = 0;
	b = xcalloc(1, sizeof *b);
	b->inputs = snap;
	b->trigger = trigger;
	if (trigger == REASON_SAVE)
		b->file = xstrdup(queue.changed_file != NULL ?
		    queue.changed_file : queue.cfg->package_file);
	b->started = time(NULL);
	TAILQ_INIT(&b->waiters);
	TAILQ_CONCAT(&b->waiters, waiters, entry);
	queue.running = b;
	log_info("building %s (%s, %.12s)", queue.cfg->package_file,
	    reason_name(trigger), snap->file_hash);
	if (build_start(queue.base, queue.cfg, snap->file_hash,
	    queue_build_line_cb, queue_build_done_cb, NULL, &cause) == -1) {
		b->result = xcalloc(1, sizeof *b->result);
		b->result->error = cause;
		events_build_started(trigger, b->file, snap->file_hash);
		queue_fail_build(cause, 1);
		queue_end_build();
		return;
	}
	queue.builds_started++;
	queue_changed();
	events_build_started(trigger, b->file, snap->file_hash);
}

/*
 * Ask for a build: now if none runs, else as the one waiting (which a
 * save's debounce follows by stopping the running build).
 */
static void
queue_request(enum reason trigger, int forced, queue_done_cb cb, void *arg)
{
	struct queue_waiters	waiters = TAILQ_HEAD_INITIALIZER(waiters);

	if (queue.running != NULL) {
		if (queue.next == NULL)
			events_build_queued(trigger, forced ? NULL :
			    queue.changed_file);
		queue_waiters_add(&queue_want_next(forced)->waiters, cb, arg);
		return;
	}
	queue_waiters_add(&waiters, cb, arg);
	queue_start(trigger, forced, &waiters);
}

static void
queue_debounce_cb(evutil_socket_t fd, short events, void *arg)
{
	struct queue_build	*b = queue.running;
	struct timeval		 again = { 1, 0 };
	const char		*file;
	char			*why;

	if (queue.stopping)
		return;
	inputs_watch();
	file = queue.changed_file != NULL ? queue.changed_file :
	    queue.cfg->package_file;
	if (inputs_refresh() == -1 && inputs_again()) {
		/* Out of descriptors or memory: no event will come. */
		log_warnx("%s", inputs_error());
		evtimer_add(queue.debounce, &again);
		goto out;
	}
	if (inputs_error() != NULL) {
		log_info("%s; waiting for it", inputs_error());
		events_file_error(queue.cfg->package_file, inputs_error());
		queue.seen_hash[0] = '\0';
		if (b == NULL)
			queue_idle();
		goto out;
	}
	if (strcmp(inputs_hash(), queue.seen_hash) != 0) {
		log_debug("%s changed (%.12s)", file, inputs_hash());
		events_file_changed(file);
		memcpy(queue.seen_hash, inputs_hash(), sizeof queue.seen_hash);
	}
	if (b == NULL) {
		queue_request(REASON_SAVE, 0, NULL, NULL);
		goto out;
	}
	/* Back to the inputs being built: nothing more is wanted. */
	if (strcmp(inputs_hash(), b->inputs->hash) == 0) {
		if (queue.next != NULL && !queue.next->forced)
			queue_drop_next(NULL);
		goto out;
	}
	queue_request(REASON_SAVE, 0, NULL, NULL);
	if (!b->switching) {
		xasprintf(&why, "stopped: %s changed", file);
		build_stop(why);
		free(why);
	}
out:
	queue_changed();
	queue_check();
}

/*
 * A watched file (NULL: any, events were lost) changed: debounce, then
 * build if the inputs changed.
 */
void
queue_file_changed(const char *path)
{
	free(queue.changed_file);
	queue.changed_file = path != NULL ? xstrdup(path) : NULL;
	queue_arm_debounce();
	queue_changed();
	queue_check();
}

/*
 * Adoption moved on: a build that waits for every link to be recorded is
 * activated once they are, and a save's build that waited for the current
 * generation's packages is built again, and judged with them.
 */
void
queue_adopted(void)
{
	char		*path = NULL, *cause = NULL;
	unsigned	 current;

	if (queue.running != NULL && queue.running->waiting_links &&
	    !adopt_recording()) {
		queue_activate();
		queue_changed();
		queue_check();
		return;
	}
	if (!queue.unread || queue.stopping)
		return;
	if (profile_current(queue.cfg->profile, &current, &path, &cause) == -1)
		free(cause);
	free(path);
	if (current != 0 && adopt_pending(current))
		return;
	queue.unread = 0;
	/* Unforced: a generation chosen by hand meanwhile holds. */
	if (queue.running == NULL)
		queue_request(REASON_SAVE, 0, NULL, NULL);
	queue_changed();
	queue_check();
}

/*
 * profilectl switch: build the file now and activate; cb gets what was
 * switched, or the error.
 */
void
queue_switch_build(queue_done_cb cb, void *arg)
{
	if (queue.stopping) {
		cb(NULL, "profiled is stopping", arg);
		return;
	}
	/* The newest choice wins: a rollback made during the build yields. */
	if (queue.running != NULL)
		queue.running->chosen = 0;
	if (queue.running == NULL && evtimer_pending(queue.debounce, NULL)) {
		evtimer_del(queue.debounce);
		free(queue.changed_file);
		queue.changed_file = NULL;
	}
	queue_request(REASON_SWITCH, 1, cb, arg);
	queue_changed();
	queue_check();
}

/*
 * profilectl wait: cb is called once nothing is left to do.  The files are
 * looked at first, so a save the watch has not yet reported is not missed.
 */
void
queue_wait(queue_done_cb cb, void *arg)
{
	if (queue.stopping) {
		cb(NULL, "profiled is stopping", arg);
		return;
	}
	if (queue_state() == QUEUE_IDLE && inputs_refresh() == 0 &&
	    strcmp(queue.settled_hash, inputs_hash()) != 0)
		queue_file_changed(NULL);
	if (queue_state() == QUEUE_IDLE)
		cb(NULL, NULL, arg);
	else
		queue_waiters_add(&queue.idle_waiters, cb, arg);
	queue_changed();
	queue_check();
}

/*
 * Switch to existing generation id (or the current one's parent, for a
 * rollback) and hold it: the running build is not activated, the waiting
 * one is dropped, and the files' content now is settled.
 */
static void
queue_switch_existing(int rollback, unsigned id, queue_done_cb cb, void *arg)
{
	struct queue_switched	 sw;
	unsigned		 current;
	char			*store_path = NULL, *cause = NULL, *error;

	/* The user's choice: a build waiting for adoption is forgotten. */
	queue.unread = 0;
	if (profile_current(queue.cfg->profile, &current, &store_path,
	    &cause) == -1)
		goto fail;
	free(store_path);
	adopt_catch_up();
	generation_sync(queue.cfg);
	if (rollback &&
	    (id = generation_rollback_target(queue.cfg, current, &cause)) == 0)
		goto fail;
	if (id != current && generation_switch(queue.cfg, id, &cause) == -1)
		goto fail;

	if (queue.running != NULL && !queue.running->switching)
		queue.running->chosen = id;
	xasprintf(&error, "cancelled: generation %u was chosen", id);
	queue_drop_next(error);
	free(error);
	if (inputs_refresh() == 0)
		queue_settle(inputs_hash(), id);
	else
		queue_settle("", id);
	queue_changed();
	if (id != current)
		queue_switched(current, id, 0, rollback ? REASON_ROLLBACK :
		    REASON_SWITCH_TO);
	sw.previous = current;
	sw.generation = id;
	sw.created = 0;
	if (cb != NULL)
		cb(&sw, NULL, arg);
	return;
fail:
	if (cb != NULL)
		cb(NULL, cause, arg);
	else
		log_warnx("%s", cause);
	free(cause);
}

static void
queue_gc_free(struct queue_gc *gc)
{
	free(gc->ids);
	free(gc);
}

/*
 * nix-env has deleted the generations (or failed): answer profilectl gc,
 * then do what waited for it: the switches asked for, the generation a
 * build waits to make; or go idle.
 */
static void
queue_gc_done_cb(const char *error, void *arg)
{
	struct queue_gc		*gc = queue.gc;
	struct queue_deferred	*d;
	size_t			 i;

	assert(gc == arg);
	queue.gc = NULL;
	if (error != NULL)
		log_warnx("deleting generations failed: %s", error);
	else {
		for (i = 0; i < gc->count; i++)
			log_info("deleted generation %u from the profile (its "
			    "record stays)", gc->ids[i]);
	}
	if (gc->cb != NULL)
		gc->cb(gc->ids, gc->count, error, gc->arg);
	queue_gc_free(gc);
	if (queue.running != NULL && queue.running->waiting_gc) {
		queue_activate();
		queue_changed();
		queue_check();
		return;
	}
	while ((d = TAILQ_FIRST(&queue.deferred)) != NULL) {
		TAILQ_REMOVE(&queue.deferred, d, entry);
		queue_switch_existing(d->rollback, d->id, d->cb, d->arg);
		free(d);
	}
	if (queue.stopping) {
		if (queue.running == NULL)
			event_base_loopbreak(queue.base);
		return;
	}
	if (queue.running == NULL)
		queue_idle();
	queue_changed();
	queue_check();
}

/*
 * Delete the generations policy lets go, through nix-env; cb (NULL for
 * retention) gets them, or the error.  0, or -1 if nothing was started
 * (cb has been called: nothing to delete, or an error).
 */
static int
queue_gc_start(const struct retention_policy *policy, int dry_run,
    queue_gc_cb cb, void *arg)
{
	struct queue_gc	*gc;
	unsigned	*ids;
	size_t		 count;
	char		*cause = NULL;

	/* Every link recorded first: deleting one never loses its history. */
	adopt_catch_up();
	generation_sync(queue.cfg);
	ids = generation_retention_plan(queue.cfg, policy, &count);
	if (count == 0 || dry_run) {
		if (cb != NULL)
			cb(ids, count, NULL, arg);
		free(ids);
		return -1;
	}
	gc = xcalloc(1, sizeof *gc);
	gc->ids = ids;
	gc->count = count;
	gc->cb = cb;
	gc->arg = arg;
	if (generation_delete(queue.base, queue.cfg, ids, count,
	    queue_gc_done_cb, gc, &cause) == -1) {
		if (cb != NULL)
			cb(NULL, 0, cause, arg);
		else
			log_warnx("%s", cause);
		free(cause);
		queue_gc_free(gc);
		return -1;
	}
	queue.gc = gc;
	queue_changed();
	return 0;
}

/*
 * Retention, after the profile changed: keep_generations 0 keeps them
 * all; nothing starts while the profile is being changed.
 */
static void
queue_retain(void)
{
	struct retention_policy	policy;

	if (queue.cfg->keep_generations == 0 || queue.gc != NULL ||
	    queue.stopping ||
	    (queue.running != NULL && queue.running->switching))
		return;
	policy.keep_generations = queue.cfg->keep_generations;
	policy.keep_days = queue.cfg->keep_days;
	queue_gc_start(&policy, 0, NULL, NULL);
}

/*
 * profilectl gc: delete what policy lets go (with dry_run, only say
 * which); cb gets the generations, or the error.  Refused while the
 * profile is being changed.
 */
void
queue_gc(const struct retention_policy *policy, int dry_run, queue_gc_cb cb,
    void *arg)
{
	if (queue.stopping)
		cb(NULL, 0, "profiled is stopping", arg);
	else if (!dry_run && (queue.gc != NULL || (queue.running != NULL &&
	    queue.running->switching)))
		cb(NULL, 0, "the profile is being changed (a generation made "
		    "or deleted); try again when profilectl wait returns", arg);
	else
		queue_gc_start(policy, dry_run, cb, arg);
	queue_changed();
	queue_check();
}

/*
 * profilectl switch --to N (rollback 0) or rollback (rollback 1): done at
 * once, or after the generation being made, if nix-env is making one.  cb
 * (which may be NULL) gets what was switched, or the error.
 */
void
queue_switch_to(int rollback, unsigned id, queue_done_cb cb, void *arg)
{
	struct queue_deferred	*d;

	if ((queue.running == NULL || !queue.running->switching) &&
	    queue.gc == NULL) {
		queue_switch_existing(rollback, id, cb, arg);
		queue_retain();
		queue_changed();
		queue_check();
		return;
	}
	d = xcalloc(1, sizeof *d);
	d->rollback = rollback;
	d->id = id;
	d->cb = cb;
	d->arg = arg;
	TAILQ_INSERT_TAIL(&queue.deferred, d, entry);
	queue_changed();
	queue_check();
}

/*
 * Set up the queue and build at once if the files changed while the daemon
 * was down, or if the last build failed (Nix may have been the problem).
 * changed_cb is called whenever the status may have changed.
 */
void
queue_init(struct event_base *base, const struct config *cfg,
    queue_changed_cb changed_cb)
{
	char	*value;

	queue.base = base;
	queue.cfg = cfg;
	queue.changed_cb = changed_cb;
	TAILQ_INIT(&queue.deferred);
	TAILQ_INIT(&queue.idle_waiters);
	queue.debounce = evtimer_new(base, queue_debounce_cb, NULL);
	if (queue.debounce == NULL)
		fatalx("cannot create the debounce timer");
	queue.last_build = db_build_last();
	if ((value = db_state_get("settled_hash")) != NULL) {
		snprintf(queue.settled_hash, sizeof queue.settled_hash, "%s",
		    value);
		free(value);
	}
	if ((value = db_state_get("held")) != NULL) {
		queue.held = strtoul(value, NULL, 10);
		free(value);
	}
	if ((value = db_state_get("foreign")) != NULL) {
		queue.foreign = strtoul(value, NULL, 10);
		if (queue.foreign != 0 && strchr(value, '\n') != NULL)
			queue.foreign_change = xstrdup(strchr(value, '\n') + 1);
		else
			queue.foreign = 0;
		free(value);
	}
	inputs_init(cfg->package_file);
	if (inputs_error() != NULL) {
		log_info("%s; waiting for it", inputs_error());
		goto out;
	}
	memcpy(queue.seen_hash, inputs_hash(), sizeof queue.seen_hash);
	if (queue.held == 0 && queue.last_build != NULL &&
	    !queue.last_build->ok &&
	    strcmp(queue.settled_hash, inputs_hash()) == 0) {
		log_info("the last build failed; trying again");
		queue_request(REASON_SAVE, 1, NULL, NULL);
		goto out;
	}
	queue_request(REASON_SAVE, 0, NULL, NULL);
out:
	queue_changed();
	queue_check();
}

/*
 * Begin shutting down: stop any build, drop the waiting one.  0 if the
 * loop may end now, 1 if nix-env is making a generation, which is let
 * finish (and recorded) before the loop ends by itself.
 */
int
queue_stop(void)
{
	struct queue_deferred	*d;

	queue.stopping = 1;
	queue_drop_next("profiled is stopping");
	queue_waiters_done(&queue.idle_waiters, NULL, "profiled is stopping");
	/* nix-env runs: its generation is let finish.  An intent that
	 * waits for a lock is given up (queue_created_cb ends the build). */
	if (queue.running != NULL && queue.running->switching &&
	    !queue.running->waiting_links) {
		generation_cancel();
		return 1;
	}
	/* A build that waits for adoption is not made now. */
	while ((d = TAILQ_FIRST(&queue.deferred)) != NULL && queue.gc == NULL) {
		TAILQ_REMOVE(&queue.deferred, d, entry);
		if (d->cb != NULL)
			d->cb(NULL, "profiled is stopping", d->arg);
		free(d);
	}
	if (queue.running != NULL) {
		build_cancel();
		queue_waiters_done(&queue.running->waiters, NULL,
		    "profiled is stopping");
		queue_build_free(queue.running);
		queue.running = NULL;
	}
	queue_changed();
	queue_check();
	return 0;
}

/* Free what the queue holds; the loop has ended. */
void
queue_shutdown(void)
{
	struct queue_deferred	*d;
	struct queue_waiter	*w;
	size_t			 i;

	build_cancel();
	if (queue.running != NULL) {
		while ((w = TAILQ_FIRST(&queue.running->waiters)) != NULL) {
			TAILQ_REMOVE(&queue.running->waiters, w, entry);
			free(w);
		}
		queue_build_free(queue.running);
	}
	while ((d = TAILQ_FIRST(&queue.deferred)) != NULL) {
		TAILQ_REMOVE(&queue.deferred, d, entry);
		free(d);
	}
	free(queue.changed_file);
	free(queue.foreign_change);
	for (i = 0; i < QUEUE_WARNINGS_MAX; i++)
		free(queue.warnings[i]);
	free(queue.history_warning);
	db_build_free(queue.last_build);
	db_generation_free(queue.built);
	if (queue.debounce != NULL)
		event_free(queue.debounce);
	inputs_shutdown();
	memset(&queue, 0, sizeof queue);
}

/* How many builds Nix has started for the queue since start-up. */
unsigned
queue_builds_started(void)
{
	return queue.builds_started;
}

/* What the queue is doing now. */
enum queue_state
queue_state(void)
{
	if (queue.running != NULL)
		return queue.running->switching ? QUEUE_SWITCHING :
		    QUEUE_BUILDING;
	if (queue.gc != NULL)
		return QUEUE_DELETING;
	if (queue.debounce != NULL && evtimer_pending(queue.debounce, NULL))
		return QUEUE_WAITING;
	return QUEUE_IDLE;
}

/* The name of state, as status shows it. */
const char *
queue_state_name(enum queue_state state)
{
	static const char *const names[] = {
		[QUEUE_IDLE] = "idle",
		[QUEUE_WAITING] = "waiting",
		[QUEUE_BUILDING] = "building",
		[QUEUE_SWITCHING] = "switching",
		[QUEUE_DELETING] = "deleting",
	};

	assert((size_t)state < sizeof names / sizeof names[0]);
	return names[state];
}

/*
 * Whether the profile is what the package file builds to: the last build
 * was of the files as they are now, succeeded, and is the current
 * generation (at current_path).
 */
static int
queue_in_sync(const struct queue_status *status, const char *current_path)
{
	const struct build_record	*last = queue.last_build;
	const char			*built;

	if (status->state != QUEUE_IDLE || status->pending ||
	    status->file_error != NULL || last == NULL || !last->ok ||
	    last->out_path == NULL || current_path == NULL)
		return 0;
	/* Builds recorded before inputs were hashed have the file's hash. */
	built = last->inputs_hash != NULL ? last->inputs_hash :
	    last->content_hash;
	return built != NULL && strcmp(built, inputs_hash()) == 0 &&
	    strcmp(last->out_path, current_path) == 0;
}

/* Fill the status's warnings: what the user should know and act on. */
static void
queue_warn(struct queue_status *status)
{
	size_t		n = 0, i;
	char		*name;
	unsigned	 waiting = generation_waiting();
	long long	 waited = db_waiting_ms();

	for (i = 0; i < QUEUE_WARNINGS_MAX; i++) {
		free(queue.warnings[i]);
		queue.warnings[i] = NULL;
	}
	if (queue.foreign != 0 && queue.foreign == status->current) {
		name = path_basename(queue.cfg->package_file);
		xasprintf(&queue.warnings[n++], "generation %u was not made "
		    "by profiled (nix-env?), so %s was built but not activated: "
		    "it %s. Run 'profilectl import' to write the package file "
		    "from what is installed, or 'profilectl switch' to replace "
		    "it", queue.foreign, name, queue.foreign_change);
		free(name);
	}
	if ((queue.warnings[n] = profile_home_warning(queue.cfg->profile)) !=
	    NULL)
		n++;
	if (inputs_uses_nixpkgs() && !nix_search_path_has("nixpkgs"))
		xasprintf(&queue.warnings[n++], "%s uses <nixpkgs>, but "
		    "nixpkgs is not on Nix's search path (NIX_PATH is %s); set "
		    "nix_path in profiled.conf", queue.cfg->package_file,
		    getenv("NIX_PATH") != NULL ? getenv("NIX_PATH") : "unset");
	if (queue.history_warning != NULL)
		queue.warnings[n++] = xstrdup(queue.history_warning);
	if (waiting != 0)
		xasprintf(&queue.warnings[n++], "the database %s is locked by "
		    "another process: generation %u waits to be recorded, and "
		    "made once it is free", db_path(), waiting);
	else if (waited > 0)
		xasprintf(&queue.warnings[n++], "the database %s has been "
		    "locked by another process for %lld ms; what happened "
		    "meanwhile is recorded once it is free", db_path(), waited);
	assert(n <= QUEUE_WARNINGS_MAX);
	status->warnings = (const char *const *)queue.warnings;
	status->nwarnings = n;
}

/*
 * Keep warning (taken over; NULL: none) in status for as long as profiled
 * runs: what start-up found (a database moved aside, history rebuilt).
 */
void
queue_add_warning(char *warning)
{
	free(queue.history_warning);
	queue.history_warning = warning;
	queue_changed();
}

/*
 * Fill status with where things stand now; its strings are the queue's,
 * valid until the loop turns.  -1 and *cause if the profile cannot be read.
 */
int
queue_status(struct queue_status *status, char **cause)
{
	char	*current_path = NULL;

	memset(status, 0, sizeof *status);
	if (profile_current(queue.cfg->profile, &status->current,
	    &current_path, cause) == -1)
		return -1;
	status->state = queue_state();
	status->pending = queue.next != NULL;
	status->file_exists = inputs_file_exists();
	status->file_error = inputs_error();
	status->imports = inputs_imports(&status->nimports);
	if (queue.running != NULL) {
		status->trigger = queue.running->trigger;
		status->build_file = queue.running->file;
	}
	status->last_build = queue.last_build;
	status->in_sync = queue_in_sync(status, current_path);
	status->held = queue.held != 0 && queue.held == status->current &&
	    !status->in_sync;
	status->built = queue.built;
	queue_warn(status);
	free(current_path);
	return 0;
}
