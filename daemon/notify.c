/*
 * Desktop notifications, per the freedesktop Notifications spec, on the
 * user's session bus through sd-bus, driven by the daemon's libevent loop:
 * the bus's descriptor is an event, re-armed with what sd-bus wants after
 * each turn, and every call is asynchronous.
 *
 * profiled shows one notification and updates it in place (replaces_id):
 * "Generation 12 is active" with what changed, or a failed build.  Each is
 * sent as GetCapabilities then Notify, so a server that appears or changes
 * later is asked afresh; when it advertises "actions", a switch carries a
 * "Roll back" button, a rollback an "Undo rollback" button (back to the
 * generation rolled back from), and the ActionInvoked signal of the one
 * shown does what it says, through the action callback.  A
 * notification wanted while one is on its way waits for that one's id, so
 * it replaces it rather than piling up; only the newest waits.
 *
 * Without a bus or a server one line is logged and the daemon goes on.
 * The bus is connected again at the next notification, never in a loop:
 * notifications come from builds and switches, not from timers.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-bus.h>

#include "profiled.h"

#define NOTIFY_NAME		"org.freedesktop.Notifications"
#define NOTIFY_PATH		"/org/freedesktop/Notifications"
#define NOTIFY_URGENCY_NORMAL	1
#define NOTIFY_URGENCY_CRITICAL	2

struct notify_message {
	char	*summary;
	char	*body;
	int	 urgency;
	enum notify_action action;	/* the button it offers */
	unsigned	 target;	/* the action's generation */
};

/* Each action's key on the bus and the label of its button. */
static const struct {
	const char	*key;
	const char	*label;
} notify_actions[] = {
	[NOTIFY_ACTION_NONE] = { NULL, NULL },
	[NOTIFY_ACTION_ROLLBACK] = { "rollback", "Roll back" },
	[NOTIFY_ACTION_UNDO] = { "undo", "Undo rollback" },
	[NOTIFY_ACTION_SWITCH] = { "switch", "Switch" },
};

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	sd_bus			*bus;
	struct event		*event;
	uint32_t		 id;		/* ours on the server, or 0 */
	enum notify_action	 shown;		/* the button it shows */
	unsigned		 shown_target;
	struct notify_message	*sending;	/* on its way */
	struct notify_message	*next;		/* waits for it */
	int			 warned;	/* the missing bus or server is logged */
	notify_action_cb	 action_cb;	/* a button was clicked */
	void			*action_arg;
} notify;

static void	notify_start(struct notify_message *);
static void	notify_bus_cb(evutil_socket_t, short, void *);

static void
notify_message_free(struct notify_message *m)
{
	if (m == NULL)
		return;
	free(m->summary);
	free(m->body);
	free(m);
}

/* Log once why nothing can be shown, until something has been. */
static void
notify_missing(const char *why)
{
	if (!notify.warned)
		log_info("no desktop notifications: %s", why);
	notify.warned = 1;
}

/* Drop the bus and whatever was on its way; the next notification reconnects. */
static void
notify_disconnect(void)
{
	if (notify.event != NULL)
		event_free(notify.event);
	notify.event = NULL;
	notify.bus = sd_bus_close_unref(notify.bus);
	notify_message_free(notify.sending);
	notify_message_free(notify.next);
	notify.sending = notify.next = NULL;
	notify.id = 0;
	notify.shown = NOTIFY_ACTION_NONE;
}

/* Wait for what sd-bus wants next: to read, to write, or a timeout. */
static void
notify_arm(void)
{
	struct timespec	 ts;
	struct timeval	 tv, *tvp = NULL;
	uint64_t	 until, now;
	short		 what = 0;
	int		 events;

	if ((events = sd_bus_get_events(notify.bus)) < 0)
		events = POLLIN;
	if (events & POLLIN)
		what |= EV_READ;
	if (events & POLLOUT)
		what |= EV_WRITE;
	if (sd_bus_get_timeout(notify.bus, &until) >= 0 && until != UINT64_MAX) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
		until = until > now ? until - now : 0;
		tv.tv_sec = until / 1000000;
		tv.tv_usec = until % 1000000;
		tvp = &tv;
	}
	event_del(notify.event);
	event_assign(notify.event, notify.base, sd_bus_get_fd(notify.bus), what,
	    notify_bus_cb, NULL);
	event_add(notify.event, tvp);
}

/* Let sd-bus do all it can, then wait again; a closed bus is dropped. */
static void
notify_process(void)
{
	int	r;

	while ((r = sd_bus_process(notify.bus, NULL)) > 0)
		;
	if (r < 0 || sd_bus_is_open(notify.bus) <= 0) {
		log_info("session bus gone%s%s", r < 0 ? ": " : "",
		    r < 0 ? strerror(-r) : "");
		notify_disconnect();
		return;
	}
	notify_arm();
}

static void
notify_bus_cb(evutil_socket_t fd, short events, void *arg)
{
	notify_process();
}

/* The message on its way is answered: send the one that waits, if any. */
static void
notify_done(void)
{
	struct notify_message	*m = notify.next;

	notify_message_free(notify.sending);
	notify.sending = notify.next = NULL;
	if (m != NULL)
		notify_start(m);
}

static int
notify_notified_cb(sd_bus_message *reply, void *arg, sd_bus_error *error)
{
	const sd_bus_error	*e = sd_bus_message_get_error(reply);
	uint32_t		 id;

	if (e != NULL)
		notify_missing(e->message);
	else if (sd_bus_message_read(reply, "u", &id) > 0) {
		notify.id = id;
		notify.shown = notify.sending->action;
		notify.shown_target = notify.sending->target;
		notify.warned = 0;
		log_debug("desktop notification %u: %s", id,
		    notify.sending->summary);
	}
	notify_done();
	return 0;
}

/* Send Notify for the message on its way; -1 if it could not be sent. */
static int
notify_call(int actions)
{
	struct notify_message	*m = notify.sending;
	sd_bus_message		*call = NULL;
	char			*buttons[] = {
	    (char *)notify_actions[m->action].key,
	    (char *)notify_actions[m->action].label, NULL };
	char			*none[] = { NULL };
	int			 r;

	r = sd_bus_message_new_method_call(notify.bus, &call, NOTIFY_NAME,
	    NOTIFY_PATH, NOTIFY_NAME, "Notify");
	if (r >= 0)
		r = sd_bus_message_append(call, "susss", "profiled", notify.id,
		    "", m->summary, m->body);
	if (r >= 0)
		r = sd_bus_message_append_strv(call,
		    actions && m->action != NOTIFY_ACTION_NONE ? buttons :
		    none);
	if (r >= 0)
		r = sd_bus_message_append(call, "a{sv}i", 1, "urgency", "y",
		    m->urgency, -1);
	if (r >= 0)
		r = sd_bus_call_async(notify.bus, NULL, call, notify_notified_cb,
		    NULL, 0);
	sd_bus_message_unref(call);
	if (r < 0) {
		log_warnx("cannot send a desktop notification: %s",
		    strerror(-r));
		return -1;
	}
	return 0;
}

static int
notify_capabilities_cb(sd_bus_message *reply, void *arg, sd_bus_error *error)
{
	const sd_bus_error	*e = sd_bus_message_get_error(reply);
	const char		*capability;
	int			 actions = 0;

	if (e != NULL) {
		notify_missing(e->message);
		notify_done();
		return 0;
	}
	if (sd_bus_message_enter_container(reply, 'a', "s") > 0) {
		while (sd_bus_message_read(reply, "s", &capability) > 0) {
			if (strcmp(capability, "actions") == 0)
				actions = 1;
		}
	}
	if (notify_call(actions) == -1)
		notify_done();
	return 0;
}

/* Ask the server what it can do; Notify follows in the answer. */
static void
notify_start(struct notify_message *m)
{
	int	r;

	notify.sending = m;
	r = sd_bus_call_method_async(notify.bus, NULL, NOTIFY_NAME, NOTIFY_PATH,
	    NOTIFY_NAME, "GetCapabilities", notify_capabilities_cb, NULL, "");
	if (r < 0) {
		log_warnx("cannot send a desktop notification: %s",
		    strerror(-r));
		notify_message_free(m);
		notify.sending = NULL;
		return;
	}
	notify_arm();
}

/* The server's button on our notification: it does what it says. */
static int
notify_invoked_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	enum notify_action	 action = notify.shown;
	const char		*key;
	uint32_t		 id;

	if (sd_bus_message_read(m, "us", &id, &key) <= 0)
		return 0;
	if (id != notify.id || id == 0 || action == NOTIFY_ACTION_NONE ||
	    strcmp(key, notify_actions[action].key) != 0)
		return 0;
	switch (action) {
	case NOTIFY_ACTION_ROLLBACK:
		log_info("rolling back, as asked from the desktop "
		    "notification");
		break;
	case NOTIFY_ACTION_UNDO:
		log_info("undoing the rollback, back to generation %u, as "
		    "asked from the desktop notification", notify.shown_target);
		break;
	case NOTIFY_ACTION_SWITCH:
		log_info("switching to the build, as asked from the desktop "
		    "notification");
		break;
	case NOTIFY_ACTION_NONE:
		break;
	}
	notify.shown = NOTIFY_ACTION_NONE;
	notify.action_cb(action, notify.shown_target, notify.action_arg);
	return 0;
}

/* Our notification was closed: the next one is a new one. */
static int
notify_closed_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	uint32_t	id, reason;

	if (sd_bus_message_read(m, "uu", &id, &reason) > 0 && id == notify.id) {
		notify.id = 0;
		notify.shown = NOTIFY_ACTION_NONE;
	}
	return 0;
}

/*
 * Connect to the session bus (DBUS_SESSION_BUS_ADDRESS, else
 * $XDG_RUNTIME_DIR/bus) and listen for the server's signals; -1 and
 * *cause if there is no bus.  Connecting a Unix socket does not block, and
 * sd-bus authenticates from the loop.
 */
static int
notify_connect(char **cause)
{
	int	r;

	if ((r = sd_bus_open_user(&notify.bus)) < 0) {
		xasprintf(cause, "no session bus: %s", strerror(-r));
		notify.bus = NULL;
		return -1;
	}
	if ((r = sd_bus_match_signal_async(notify.bus, NULL, NOTIFY_NAME,
	    NOTIFY_PATH, NOTIFY_NAME, "ActionInvoked", notify_invoked_cb, NULL,
	    NULL)) < 0 ||
	    (r = sd_bus_match_signal_async(notify.bus, NULL, NOTIFY_NAME,
	    NOTIFY_PATH, NOTIFY_NAME, "NotificationClosed", notify_closed_cb,
	    NULL, NULL)) < 0) {
		xasprintf(cause, "session bus: %s", strerror(-r));
		notify.bus = sd_bus_close_unref(notify.bus);
		return -1;
	}
	notify.event = event_new(notify.base, -1, 0, notify_bus_cb, NULL);
	if (notify.event == NULL)
		fatalx("cannot create the session bus event");
	notify_arm();
	log_debug("connected to the session bus");
	return 0;
}

/* Show m, replacing our notification; m is freed. */
static void
notify_send(struct notify_message *m)
{
	char	*cause = NULL;

	if (notify.bus == NULL && notify_connect(&cause) == -1) {
		notify_missing(cause);
		free(cause);
		notify_message_free(m);
		return;
	}
	if (notify.sending != NULL) {
		notify_message_free(notify.next);
		notify.next = m;
		return;
	}
	notify_start(m);
}

/*
 * Connect now, unless notify is off, so a missing bus is said at start;
 * failing, it is tried again at each notification.
 */
void
notify_init(struct event_base *base, const struct config *cfg,
    notify_action_cb action_cb, void *arg)
{
	char	*cause = NULL;

	notify.base = base;
	notify.cfg = cfg;
	notify.action_cb = action_cb;
	notify.action_arg = arg;
	if (!cfg->notify) {
		log_debug("desktop notifications are off");
		return;
	}
	if (notify_connect(&cause) == -1) {
		notify_missing(cause);
		free(cause);
	}
}

void
notify_shutdown(void)
{
	notify_disconnect();
}

/* Append "name version" (or "name was → version") to the list *line. */
static void
notify_list_add(char **line, const char *name, const char *was,
    const char *version)
{
	char	*next;

	if (was != NULL)
		xasprintf(&next, "%s%s%s %s → %s", *line != NULL ? *line : "",
		    *line != NULL ? ", " : "", name, was, version);
	else
		xasprintf(&next, "%s%s%s %s", *line != NULL ? *line : "",
		    *line != NULL ? ", " : "", name, version);
	free(*line);
	*line = next;
}

/*
 * What changed from generation old (NULL: none) to new, one line per kind:
 * "Added: cowsay 3.7", "Removed: …", "Upgraded: hello 2.10 → 2.12",
 * "Downgraded: …".
 */
static char *
notify_diff(const struct generation *old, const struct generation *new)
{
	static const char *const	 titles[] = {
		"Added", "Removed", "Upgraded", "Downgraded"
	};
	struct generation_diff		 diff;
	const struct generation_change	*c;
	char				*lines[4] = { NULL }, *body, *next;
	size_t				 i, k;

	generation_diff(old, new, &diff);
	for (i = 0; i < diff.nadded; i++)
		notify_list_add(&lines[0], diff.added[i].name, NULL,
		    diff.added[i].version);
	for (i = 0; i < diff.nremoved; i++)
		notify_list_add(&lines[1], diff.removed[i].name, NULL,
		    diff.removed[i].version);
	for (i = 0; i < diff.nchanged; i++) {
		c = &diff.changed[i];
		/* As nix-env -u, only a newer version is an upgrade. */
		notify_list_add(&lines[c->order > 0 ? 2 : 3], c->name,
		    c->old_version, c->new_version);
	}
	generation_diff_free(&diff);

	body = NULL;
	for (k = 0; k < 4; k++) {
		if (lines[k] == NULL)
			continue;
		xasprintf(&next, "%s%s%s: %s", body != NULL ? body : "",
		    body != NULL ? "\n" : "", titles[k], lines[k]);
		free(body);
		free(lines[k]);
		body = next;
	}
	return body != NULL ? body : xstrdup("No package changed.");
}

/*
 * The profile went from generation previous (0: none) to current: say so,
 * with what changed, and offer to undo a rollback, or else to roll back
 * if current has a parent.
 */
void
notify_generation_changed(unsigned previous, unsigned current, int rollback)
{
	struct notify_message	*m;
	struct generation	*old = NULL, *new;

	if (notify.cfg == NULL || !notify.cfg->notify ||
	    (new = db_generation_get(current)) == NULL)
		return;
	if (previous != 0)
		old = db_generation_get(previous);
	m = xcalloc(1, sizeof *m);
	xasprintf(&m->summary, "Generation %u is active", current);
	m->body = notify_diff(old, new);
	m->urgency = NOTIFY_URGENCY_NORMAL;
	if (rollback && previous != 0) {
		m->action = NOTIFY_ACTION_UNDO;
		m->target = previous;
	} else if (new->parent != 0) {
		m->action = NOTIFY_ACTION_ROLLBACK;
		m->target = new->parent;
	}
	db_generation_free(old);
	db_generation_free(new);
	notify_send(m);
}

/*
 * A save's build was not activated, since generation, the current one,
 * was not made by profiled: say what it would change and how to go on.
 */
void
notify_held_foreign(unsigned generation, const char *change)
{
	struct notify_message	*m;
	char			*name;

	if (notify.cfg == NULL || !notify.cfg->notify)
		return;
	name = path_basename(notify.cfg->package_file);
	m = xcalloc(1, sizeof *m);
	xasprintf(&m->summary, "%s built, not activated", name);
	xasprintf(&m->body, "Generation %u was installed outside profiled; "
	    "activating %s %s. Run profilectl import to keep what is "
	    "installed, or profilectl switch to replace it.", generation, name,
	    change);
	m->urgency = NOTIFY_URGENCY_NORMAL;
	free(name);
	notify_send(m);
}

/*
 * A save's build was not activated (auto_switch is off): say what
 * switching to it would change, with a Switch button.
 */
void
notify_built(const struct generation *built)
{
	struct notify_message	*m;
	struct generation	*current = NULL;
	unsigned		 id;
	char			*name, *store_path = NULL, *cause = NULL;

	if (notify.cfg == NULL || !notify.cfg->notify)
		return;
	if (profile_current(notify.cfg->profile, &id, &store_path,
	    &cause) == 0 && id != 0)
		current = db_generation_get(id);
	free(store_path);
	free(cause);
	name = path_basename(notify.cfg->package_file);
	m = xcalloc(1, sizeof *m);
	xasprintf(&m->summary, "%s built, not activated", name);
	m->body = notify_diff(current, built);
	m->urgency = NOTIFY_URGENCY_NORMAL;
	m->action = NOTIFY_ACTION_SWITCH;
	db_generation_free(current);
	free(name);
	notify_send(m);
}

/* A build of the package file failed with error (one line). */
void
notify_build_failed(const char *error)
{
	struct notify_message	*m;
	char			*name;

	if (notify.cfg == NULL || !notify.cfg->notify)
		return;
	name = path_basename(notify.cfg->package_file);
	m = xcalloc(1, sizeof *m);
	xasprintf(&m->summary, "Build of %s failed", name);
	m->body = xstrdup(error != NULL ? error : "unknown error");
	m->urgency = NOTIFY_URGENCY_CRITICAL;
	free(name);
	notify_send(m);
}
