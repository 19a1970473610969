/*
 * Desktop notifications, against a private dbus-daemon and a notification
 * server that the test itself is (org.freedesktop.Notifications on its own
 * sd-bus connection): what each Notify call says, that one notification is
 * replaced rather than piling up, that its Roll back button rolls back, and
 * that the daemon works on, logging once, without a bus or a server, and
 * picks up a bus that appears later.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "harness.h"

#define SERVER_NAME	"org.freedesktop.Notifications"
#define SERVER_PATH	"/org/freedesktop/Notifications"
#define MAX_CALLS	16

/* One Notify call as the server received it. */
struct call {
	uint32_t	 replaces_id;
	char		*summary;
	char		*body;
	int		 urgency;	/* -1: no hint */
	char		**actions;
	uint32_t	 id;		/* the id the server answered */
};

static struct {
	pid_t		 pid;		/* the dbus-daemon, or -1 */
	char		*address;
	sd_bus		*bus;		/* the server's connection */
	int		 actions;	/* advertise the "actions" capability */
	struct call	 calls[MAX_CALLS];
	size_t		 ncalls;
	uint32_t	 next_id;
} server = { .pid = -1 };

/* DIR/bus, where the private bus listens (or will). */
static char *
bus_address(void)
{
	char	*address;

	xasprintf(&address, "unix:path=%s/bus", harness.dir);
	return address;
}

/* Point the daemon (and the server) at DIR/bus, running or not. */
static void
use_bus(void)
{
	char	*address = bus_address();

	setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
	free(address);
}

/*
 * Start a private session dbus-daemon on DIR/bus and wait until it
 * listens.  Its own config has no service directories, so no real
 * notification daemon installed on the machine can be activated.
 */
static void
bus_start(void)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	struct pollfd	 pfd;
	char		*config, *path, *text, *address, buf[512];
	size_t		 len = 0;
	ssize_t		 n;
	int		 out[2];

	address = bus_address();
	xasprintf(&path, "%s/bus.conf", harness.dir);
	xasprintf(&text,
	    "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
	    "Configuration 1.0//EN\"\n"
	    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	    "<busconfig>\n"
	    "  <type>session</type>\n"
	    "  <listen>%s</listen>\n"
	    "  <auth>EXTERNAL</auth>\n"
	    "  <policy context=\"default\">\n"
	    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	    "    <allow eavesdrop=\"true\"/>\n"
	    "    <allow own=\"*\"/>\n"
	    "  </policy>\n"
	    "</busconfig>\n", address);
	harness_write(path, text);
	xasprintf(&config, "--config-file=%s", path);

	cr_assert(pipe2(out, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	server.pid = fork();
	cr_assert(server.pid != -1, "fork: %s", strerror(errno));
	if (server.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		dup2(open(harness.log, O_WRONLY | O_CREAT | O_APPEND, 0644), 2);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile",
		    "--print-address=1", config, (char *)NULL);
		dprintf(2, "exec dbus-daemon: %s\n", strerror(errno));
		_exit(127);
	}
	close(out[1]);
	/* It prints its address once it listens. */
	pfd = (struct pollfd){ .fd = out[0], .events = POLLIN };
	while (memchr(buf, '\n', len) == NULL) {
		cr_assert(harness_clock_ms() < deadline, "dbus-daemon did not "
		    "print its address");
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(out[0], buf + len, sizeof buf - 1 - len);
		cr_assert(n > 0, "dbus-daemon exited before listening");
		len += n;
	}
	close(out[0]);
	server.address = address;
	use_bus();
	free(config);
	free(path);
	free(text);
}

static int
server_capabilities_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	char	*with[] = { "body", "actions", NULL }, *without[] = { "body", NULL };
	sd_bus_message	*reply = NULL;
	int		 r;

	if ((r = sd_bus_message_new_method_return(m, &reply)) < 0 ||
	    (r = sd_bus_message_append_strv(reply,
	    server.actions ? with : without)) < 0 ||
	    (r = sd_bus_send(NULL, reply, NULL)) < 0)
		cr_log_error("GetCapabilities reply: %s", strerror(-r));
	sd_bus_message_unref(reply);
	return 1;
}

/* Read the hints a{sv}, keeping urgency (a byte). */
static int
server_read_hints(sd_bus_message *m, int *urgency)
{
	const char	*key;
	uint8_t		 byte;
	int		 r;

	*urgency = -1;
	if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		if ((r = sd_bus_message_read(m, "s", &key)) < 0)
			return r;
		if (strcmp(key, "urgency") == 0) {
			if ((r = sd_bus_message_read(m, "v", "y", &byte)) < 0)
				return r;
			*urgency = byte;
		} else if ((r = sd_bus_message_skip(m, "v")) < 0)
			return r;
		if ((r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int
server_notify_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	struct call	*c;
	const char	*app, *icon, *summary, *body;
	int32_t		 timeout;
	int		 r;

	cr_assert_lt(server.ncalls, MAX_CALLS, "too many Notify calls");
	c = &server.calls[server.ncalls];
	if ((r = sd_bus_message_read(m, "susss", &app, &c->replaces_id, &icon,
	    &summary, &body)) < 0 ||
	    (r = sd_bus_message_read_strv(m, &c->actions)) < 0 ||
	    (r = server_read_hints(m, &c->urgency)) < 0 ||
	    (r = sd_bus_message_read(m, "i", &timeout)) < 0)
		return r;
	if (c->actions == NULL)
		c->actions = xcalloc(1, sizeof *c->actions);
	c->summary = xstrdup(summary);
	c->body = xstrdup(body);
	c->id = c->replaces_id != 0 ? c->replaces_id : ++server.next_id;
	server.ncalls++;
	return sd_bus_reply_method_return(m, "u", c->id);
}

static int
server_close_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, "");
}

static int
server_information_cb(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, "ssss", "test", "profiled",
	    "1.0", "1.2");
}

static const sd_bus_vtable server_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("GetCapabilities", "", "as", server_capabilities_cb,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("Notify", "susssasa{sv}i", "u", server_notify_cb,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("CloseNotification", "u", "", server_close_cb,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("GetServerInformation", "", "ssss", server_information_cb,
	    SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL("ActionInvoked", "us", 0),
	SD_BUS_SIGNAL("NotificationClosed", "uu", 0),
	SD_BUS_VTABLE_END
};

/* Become the notification server on the private bus. */
static void
server_own(int actions)
{
	int	r;

	server.actions = actions;
	r = sd_bus_open_user(&server.bus);
	cr_assert(r >= 0, "sd_bus_open_user: %s", strerror(-r));
	r = sd_bus_add_object_vtable(server.bus, NULL, SERVER_PATH, SERVER_NAME,
	    server_vtable, NULL);
	cr_assert(r >= 0, "add vtable: %s", strerror(-r));
	r = sd_bus_request_name(server.bus, SERVER_NAME, 0);
	cr_assert(r >= 0, "request %s: %s", SERVER_NAME, strerror(-r));
}

/* Serve until n Notify calls have come; the n-th. */
static struct call *
server_wait_call(size_t n)
{
	long long	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	int		r;

	for (;;) {
		while ((r = sd_bus_process(server.bus, NULL)) > 0)
			;
		cr_assert(r >= 0, "sd_bus_process: %s", strerror(-r));
		if (server.ncalls >= n)
			return &server.calls[n - 1];
		cr_assert(harness_clock_ms() < deadline, "timed out waiting for "
		    "Notify call %zu; %zu came", n, server.ncalls);
		sd_bus_wait(server.bus, 100000);
	}
}

/* The buttons, as key and label. */
#define ROLL_BACK	"rollback", "Roll back"
#define UNDO		"undo", "Undo rollback"
#define SWITCH		"switch", "Switch"

/* The call has the summary, body (unless NULL) and button asked for. */
static void
assert_call(const struct call *c, uint32_t replaces_id, const char *summary,
    const char *body, int urgency, const char *button, const char *label)
{
	cr_assert_eq(c->replaces_id, replaces_id, "replaces_id %u, expected %u",
	    c->replaces_id, replaces_id);
	cr_assert_str_eq(c->summary, summary);
	if (body != NULL)
		cr_assert_str_eq(c->body, body);
	cr_assert_eq(c->urgency, urgency, "urgency %d, expected %d",
	    c->urgency, urgency);
	if (button != NULL) {
		cr_assert(c->actions[0] != NULL && c->actions[1] != NULL &&
		    c->actions[2] == NULL, "actions: not one button");
		cr_assert_str_eq(c->actions[0], button);
		cr_assert_str_eq(c->actions[1], label);
	} else
		cr_assert_null(c->actions[0], "a button: %s", c->actions[0]);
}

/* The server's user clicked action key on notification id. */
static void
server_invoke(uint32_t id, const char *key)
{
	int	r;

	r = sd_bus_emit_signal(server.bus, SERVER_PATH, SERVER_NAME,
	    "ActionInvoked", "us", id, key);
	cr_assert(r >= 0, "emit ActionInvoked: %s", strerror(-r));
	sd_bus_flush(server.bus);
}

static void
free_words(char **words)
{
	size_t	i;

	for (i = 0; words != NULL && words[i] != NULL; i++)
		free(words[i]);
	free(words);
}

/* Stop profiled first, so it does not see the bus go; then the bus. */
static void
notify_fini(void)
{
	size_t	i;

	harness_fini();
	server.bus = sd_bus_flush_close_unref(server.bus);
	if (server.pid != -1) {
		kill(server.pid, SIGTERM);
		waitpid(server.pid, NULL, 0);
		server.pid = -1;
	}
	for (i = 0; i < server.ncalls; i++) {
		free(server.calls[i].summary);
		free(server.calls[i].body);
		free_words(server.calls[i].actions);
	}
	free(server.address);
}

TestSuite(notify, .init = harness_init, .fini = notify_fini,
    .timeout = HARNESS_TIMEOUT);

static void
start_notifying(void)
{
	harness_start_with("--config", harness.config, "--notify", "true",
	    NULL);
}

static int
is_rolled_back_to(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_number(status, "current_generation") == *(const long *)arg &&
	    harness_bool(status, "held") == 1;
}

/*
 * A save shows "Generation 2 is active" with what changed, replacing the
 * first notification, with a Roll back button; clicking it rolls back to
 * generation 1, which is shown the same way.
 */
Test(notify, switch_then_roll_back_from_the_button)
{
	struct call	*c;
	long		 one = 1;
	uint32_t	 id;

	bus_start();
	server_own(1);
	harness_save_packages("hello-old");
	start_notifying();
	harness_wait_generation(1);
	c = server_wait_call(1);
	assert_call(c, 0, "Generation 1 is active", "Added: hello 2.10", 1, NULL,
	    NULL);
	id = c->id;

	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	c = server_wait_call(2);
	assert_call(c, id, "Generation 2 is active",
	    "Added: cowsay 3.7\nUpgraded: hello 2.10 → 2.12", 1, ROLL_BACK);

	/* Another notification's button, or another action, does nothing. */
	server_invoke(id + 1, "rollback");
	server_invoke(id, "default");
	server_invoke(id, "rollback");
	harness_wait(is_rolled_back_to, &one, "rolled back to generation 1");
	cr_assert_eq(harness_profile_generation(), 1);
	c = server_wait_call(3);
	/* After a rollback, the button undoes it. */
	assert_call(c, id, "Generation 1 is active",
	    "Removed: cowsay 3.7\nDowngraded: hello 2.12 → 2.10", 1, UNDO);
	cr_assert_eq(server.ncalls, 3);
	cr_assert_eq(harness_log_count("rolling back, as asked from the "
	    "desktop notification"), 1);
	harness_assert_nix_agrees();

	server_invoke(id, "rollback");
	server_invoke(id, "undo");
	/* 2 is what the file builds: in sync again, not held. */
	json_free(harness_wait_generation(2));
	cr_assert_eq(harness_profile_generation(), 2);
	c = server_wait_call(4);
	assert_call(c, id, "Generation 2 is active",
	    "Added: cowsay 3.7\nUpgraded: hello 2.10 → 2.12", 1, ROLL_BACK);
	cr_assert_eq(harness_log_count("undoing the rollback, back to "
	    "generation 2"), 1);
	harness_assert_nix_agrees();
}

/*
 * A failed build is critical, its body the error status shows, and it
 * replaces the switch notification; a server without "actions" gets no
 * button.
 */
Test(notify, failed_build_is_critical_and_no_button_without_actions)
{
	struct json	*status;
	struct call	*c;
	char		*text;
	uint32_t	 id;

	bus_start();
	server_own(0);
	start_notifying();
	harness_wait_generation(1);
	id = server_wait_call(1)->id;
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	assert_call(server_wait_call(2), id, "Generation 2 is active",
	    "Added: cowsay 3.7", 1, NULL, NULL);

	text = harness_packages("broken");
	harness_save(text);
	status = harness_wait_built(text);
	c = server_wait_call(3);
	assert_call(c, id, "Build of packages.nix failed",
	    harness_string(json_get(status, "last_build"), "error"), 2, NULL,
	    NULL);
	cr_assert(strstr(c->body, "deliberate failure") != NULL, "body: %s",
	    c->body);
	json_free(status);
	free(text);
}

/*
 * No bus: one log line, the daemon works on, trying again at the next
 * change without another line; a bus that appears later is used.
 */
Test(notify, no_bus_then_a_bus_appears)
{
	use_bus();
	start_notifying();
	harness_wait_generation(1);
	cr_assert_eq(harness_log_count("no desktop notifications"), 1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	cr_assert_eq(harness_log_count("no desktop notifications"), 1);

	bus_start();
	server_own(1);
	harness_save_packages("hello ripgrep");
	harness_wait_generation(3);
	assert_call(server_wait_call(1), 0, "Generation 3 is active",
	    "Added: ripgrep 14.1\nRemoved: cowsay 3.7", 1, ROLL_BACK);
}

/*
 * A bus but no server: one log line for two changes; a server that comes
 * later gets the next one.
 */
Test(notify, no_server_then_a_server_appears)
{
	bus_start();
	start_notifying();
	harness_wait_generation(1);
	harness_wait_log("no desktop notifications");
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);

	server_own(1);
	harness_save_packages("hello ripgrep");
	harness_wait_generation(3);
	/* Calls are answered in order: generation 2's failure came first. */
	assert_call(server_wait_call(1), 0, "Generation 3 is active", NULL, 1,
	    ROLL_BACK);
	cr_assert_eq(harness_log_count("no desktop notifications"), 1);
}

/* notify = false: profiled never connects to the bus at all. */
Test(notify, off_by_config)
{
	sd_bus_message	*reply = NULL;
	sd_bus_error	 error = SD_BUS_ERROR_NULL;
	char		**names = NULL, **name;
	uint32_t	 pid;
	int		 r;

	bus_start();
	server_own(1);
	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);

	r = sd_bus_call_method(server.bus, "org.freedesktop.DBus",
	    "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames",
	    &error, &reply, "");
	cr_assert(r >= 0, "ListNames: %s", error.message);
	cr_assert(sd_bus_message_read_strv(reply, &names) >= 0);
	for (name = names; *name != NULL; name++) {
		if (**name != ':')
			continue;
		sd_bus_message_unref(reply);
		reply = NULL;
		r = sd_bus_call_method(server.bus, "org.freedesktop.DBus",
		    "/org/freedesktop/DBus", "org.freedesktop.DBus",
		    "GetConnectionUnixProcessID", &error, &reply, "s", *name);
		cr_assert(r >= 0 && sd_bus_message_read(reply, "u", &pid) > 0);
		cr_assert_neq((pid_t)pid, harness.daemon,
		    "profiled is on the bus as %s", *name);
	}
	while ((r = sd_bus_process(server.bus, NULL)) > 0)
		;
	cr_assert_eq(server.ncalls, 0);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
	free_words(names);
}

/*
 * A save whose build is held because nix-env made the current generation
 * says so once, with what it would change and how to go on; a restart
 * that keeps the hold does not say it again.
 */
Test(notify, held_for_a_nix_env_profile_says_so_once)
{
	struct json	*status;
	struct call	*c;
	char		*link;

	xasprintf(&link, "%s/.nix-profile", harness.home);
	cr_assert_eq(symlink(harness.profile, link), 0);
	free(link);
	harness_nix_env_install("cowsay");
	bus_start();
	server_own(0);
	start_notifying();
	status = harness_wait_built(harness_read(harness.package_file));
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	json_free(status);
	c = server_wait_call(1);
	cr_assert_str_eq(c->summary, "packages.nix built, not activated");
	cr_assert(strstr(c->body, "Generation 1 was installed outside "
	    "profiled") != NULL && strstr(c->body, "would remove cowsay 3.7")
	    != NULL && strstr(c->body, "profilectl switch") != NULL,
	    "body: %s", c->body);

	/* After a restart, the next notification is the consent's switch. */
	harness_stop();
	start_notifying();
	json_free(harness_wait_idle());
	json_free(harness_ctl_json("switch", NULL));
	c = server_wait_call(2);
	cr_assert_str_eq(c->summary, "Generation 2 is active", "told again "
	    "after a restart: %s", c->body);
}

/*
 * With auto_switch off, a save's build says what switching would change,
 * with a Switch button that activates it.
 */
Test(notify, a_build_not_activated_offers_to_switch)
{
	struct call	*c;
	uint32_t	 id;

	bus_start();
	server_own(1);
	harness_config_add("auto_switch = false");
	harness_save_packages("hello");
	start_notifying();
	json_free(harness_ctl_json("switch", NULL));
	harness_wait_generation(1);
	id = server_wait_call(1)->id;

	harness_save_packages("hello cowsay");
	c = server_wait_call(2);
	assert_call(c, id, "packages.nix built, not activated",
	    "Added: cowsay 3.7", 1, SWITCH);
	cr_assert_eq(harness_profile_generation(), 1);
	server_invoke(id, "switch");
	json_free(harness_wait_generation(2));
	c = server_wait_call(3);
	assert_call(c, id, "Generation 2 is active", "Added: cowsay 3.7", 1,
	    ROLL_BACK);
	cr_assert_eq(harness_log_count("switching to the build, as asked "
	    "from the desktop notification"), 1);
}
