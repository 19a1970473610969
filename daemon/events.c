/*
 * Events: what happened, told to whoever listens.
 *
 * The queue says what it does (a file changed, a build started, a line of
 * Nix's log, a build's end, a switch) through the events_* calls here, and
 * each becomes one Event frame to every subscriber: profilectl watch, log
 * -f and switch's progress.  Switches and failed builds also become
 * desktop notifications (notify.c).  Log lines go only to subscribers that asked
 * for them; one arriving in the middle of a build first gets the log so
 * far, which the builder keeps (build_log).
 *
 * Subscribers are client ids, like every reply: one that hangs up is
 * forgotten through events_client_gone, and one that stops reading is
 * dropped by server.c before its backlog grows without bound.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>

#include "profiled.h"
#include "profiled.pb-c.h"

struct events_subscriber {
	uint64_t			 client;
	int				 logs;
	int				 until_reply;	/* switch --progress */
	LIST_ENTRY(events_subscriber)	 entry;
};

static LIST_HEAD(, events_subscriber) events_subscribers =
    LIST_HEAD_INITIALIZER(events_subscribers);

static int64_t
events_now_ms(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void
events_send(const Profiled__Event *event, int is_log)
{
	Profiled__Response		 response = PROFILED__RESPONSE__INIT;
	struct events_subscriber	*s, *next;

	response.result_case = PROFILED__RESPONSE__RESULT_EVENT;
	response.event = (Profiled__Event *)event;
	/* server_send may drop a client that stopped reading: keep next. */
	for (s = LIST_FIRST(&events_subscribers); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (!is_log || s->logs)
			server_send(s->client, &response);
	}
}

static void
events_init_event(Profiled__Event *event, Profiled__Event__Kind kind)
{
	profiled__event__init(event);
	event->kind = kind;
	event->time_ms = events_now_ms();
}

/*
 * Add client as a subscriber: it gets the status now, the running build's
 * log so far if it wants logs, then every event.  until_reply subscribers
 * (a switch showing progress) are dropped by events_client_replied.
 */
void
events_subscribe(uint64_t client, int logs, int until_reply)
{
	struct events_subscriber	*s;
	Profiled__Response		 response = PROFILED__RESPONSE__INIT;
	Profiled__Event			 event;
	char				*text, *line, *end;

	if (!until_reply)
		rpc_status(client);
	s = xcalloc(1, sizeof *s);
	s->client = client;
	s->logs = logs;
	s->until_reply = until_reply;
	LIST_INSERT_HEAD(&events_subscribers, s, entry);
	if (!logs || (text = build_log()) == NULL)
		return;
	response.result_case = PROFILED__RESPONSE__RESULT_EVENT;
	response.event = &event;
	for (line = text; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		*end = '\0';
		events_init_event(&event, PROFILED__EVENT__KIND__LOG);
		event.line = line;
		server_send(client, &response);
	}
	free(text);
}

/* Forget client, which has hung up. */
void
events_client_gone(uint64_t client)
{
	struct events_subscriber	*s, *next;

	for (s = LIST_FIRST(&events_subscribers); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->client == client) {
			LIST_REMOVE(s, entry);
			free(s);
		}
	}
}

/* client has its final answer: end a subscription that lasted until it. */
void
events_client_replied(uint64_t client)
{
	struct events_subscriber	*s, *next;

	for (s = LIST_FIRST(&events_subscribers); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->client == client && s->until_reply) {
			LIST_REMOVE(s, entry);
			free(s);
		}
	}
}

void
events_file_changed(const char *file)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__FILE_CHANGED);
	event.file = (char *)file;
	events_send(&event, 0);
}

/* The package file cannot be built as it is: missing, unreadable, empty. */
void
events_file_error(const char *file, const char *error)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__FILE_ERROR);
	event.file = (char *)file;
	event.error = (char *)error;
	events_send(&event, 0);
}

/* A build is wanted and waits for the one running. */
void
events_build_queued(enum reason trigger, const char *file)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__BUILD_QUEUED);
	event.trigger = (char *)reason_name(trigger);
	event.file = (char *)file;
	events_send(&event, 0);
}

void
events_build_started(enum reason trigger, const char *file,
    const char *content_hash)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__BUILD_STARTED);
	event.trigger = (char *)reason_name(trigger);
	event.file = (char *)file;
	event.content_hash = (char *)content_hash;
	events_send(&event, 0);
}

/* One line of the running build's log. */
void
events_log_line(const char *line)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__LOG);
	event.line = (char *)line;
	events_send(&event, 1);
}

/* The running build succeeded: store_path is the user environment. */
void
events_build_succeeded(const char *store_path, uint64_t duration_ms)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__BUILD_SUCCEEDED);
	event.store_path = (char *)store_path;
	event.has_duration_ms = 1;
	event.duration_ms = duration_ms;
	events_send(&event, 0);
}

/* The running build failed with error, one line. */
void
events_build_failed(const char *error, uint64_t duration_ms)
{
	Profiled__Event	event;

	events_init_event(&event, PROFILED__EVENT__KIND__BUILD_FAILED);
	event.error = (char *)error;
	event.has_duration_ms = 1;
	event.duration_ms = duration_ms;
	events_send(&event, 0);
	notify_build_failed(error);
}

/*
 * The running build was stopped (why): superseded when a build of newer
 * content follows, held when a generation chosen by hand stays.
 */
void
events_build_cancelled(const char *why, uint64_t duration_ms,
    enum events_cancel cancel)
{
	static const char *const	names[] = {
		[EVENTS_SUPERSEDED] = "superseded",
		[EVENTS_HELD] = "held",
	};
	Profiled__Event			event;

	events_init_event(&event, PROFILED__EVENT__KIND__BUILD_CANCELLED);
	event.error = (char *)why;
	event.reason = (char *)names[cancel];
	event.has_duration_ms = 1;
	event.duration_ms = duration_ms;
	events_send(&event, 0);
}

/*
 * A save's build was not activated: generation, the current one, was not
 * made by profiled, and the build would change it (change says how).
 */
void
events_held_foreign(unsigned generation, const char *change)
{
	notify_held_foreign(generation, change);
}

/*
 * A save's build was not activated, since auto_switch is off: built is
 * what profilectl switch would make.
 */
void
events_built(const struct generation *built)
{
	notify_built(built);
}

/*
 * The profile's current generation changed from previous to generation:
 * made now (created), or an existing one chosen.  A rollback is told as
 * rolled_back; any other reason (save, switch, switch --to) as switched.
 */
void
events_switched(unsigned previous, unsigned generation, int created,
    enum reason reason)
{
	Profiled__Event	event;

	if (reason == REASON_ROLLBACK)
		events_init_event(&event, PROFILED__EVENT__KIND__ROLLED_BACK);
	else {
		events_init_event(&event, PROFILED__EVENT__KIND__SWITCHED);
		event.has_created = 1;
		event.created = created;
		event.reason = (char *)reason_name(reason);
	}
	event.has_previous = previous != 0;
	event.previous = previous;
	event.has_generation = 1;
	event.generation = generation;
	events_send(&event, 0);
	notify_generation_changed(previous, generation,
	    reason == REASON_ROLLBACK);
}

/* Free the subscribers; the loop has ended. */
void
events_shutdown(void)
{
	struct events_subscriber	*s;

	while ((s = LIST_FIRST(&events_subscribers)) != NULL) {
		LIST_REMOVE(s, entry);
		free(s);
	}
}
