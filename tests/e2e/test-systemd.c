/*
 * profiled under systemd, without systemd as PID 1: the user units pass
 * `systemd-analyze verify`; systemd-socket-activate starts the daemon on
 * the first connection, which is answered, and the socket outlives it;
 * READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 arrive on a test-owned
 * NOTIFY_SOCKET; and lines reach a test-owned journal socket with their
 * priority and fields when stderr is the journal.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(systemd, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(systemd_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/* A datagram socket bound at DIR/name, as systemd's would be. */
static int
bind_datagram(const char *path)
{
	struct sockaddr_un	sa = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert(strlen(path) < sizeof sa.sun_path, "%s too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0,
	    "bind %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Read datagrams from fd, each appended to *seen, until one has a line
 * equal to want (or starting with it, if prefix); that datagram.
 */
static char *
wait_datagram(int fd, char **seen, const char *want, int prefix)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 buf[65536], *line, *last, *next, *copy;
	ssize_t		 n;

	for (;;) {
		cr_assert(harness_clock_ms() < deadline, "timed out waiting for "
		    "\"%s\"; received:\n%s", want, *seen);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recv(fd, buf, sizeof buf - 1, 0);
		cr_assert(n >= 0, "recv: %s", strerror(errno));
		buf[n] = '\0';
		xasprintf(&next, "%s%s\n", *seen, buf);
		free(*seen);
		*seen = next;
		copy = xstrdup(buf);
		for (line = strtok_r(buf, "\n", &last); line != NULL;
		    line = strtok_r(NULL, "\n", &last)) {
			if (prefix ? strncmp(line, want, strlen(want)) == 0 :
			    strcmp(line, want) == 0)
				return copy;
		}
		free(copy);
	}
}

/* The daemon's NOTIFY_SOCKET, owned by the test. */
static int
notify_socket(void)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/notify.sock", harness.dir);
	fd = bind_datagram(path);
	/* systemd's lets the service's user send; so does the test's. */
	if (harness.user != NULL)
		cr_assert(chown(path, harness.uid, harness.gid) == 0,
		    "chown %s: %s", path, strerror(errno));
	setenv("NOTIFY_SOCKET", path, 1);
	free(path);
	return fd;
}

static int
lines_equal(const char *text, const char *want)
{
	char	*copy = xstrdup(text), *line, *last;
	int	 n = 0;

	for (line = strtok_r(copy, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last))
		n += strcmp(line, want) == 0;
	free(copy);
	return n;
}

/* make install's units, with its binary's path, pass systemd-analyze. */
Test(systemd, installed_units_verify)
{
	struct run	 r;
	char		*prefix, *arg, *service, *socket, *text, *exec;

	/* make check runs this inside make: a fresh make, not its jobserver. */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	xasprintf(&prefix, "%s/prefix", harness.dir);
	xasprintf(&arg, "PREFIX=%s", prefix);
	harness_run(&r, "make", "-s", "-C", harness.root, "install", arg, NULL);
	cr_assert_eq(r.status, 0, "make install: %s%s", r.out, r.err);
	harness_run_free(&r);

	xasprintf(&service, "%s/lib/systemd/user/profiled.service", prefix);
	xasprintf(&socket, "%s/lib/systemd/user/profiled.socket", prefix);
	harness_run(&r, "systemd-analyze", "--user", "verify", service, socket,
	    NULL);
	cr_assert(r.status == 0 && *r.err == '\0',
	    "systemd-analyze verify exited %d: %s%s", r.status, r.out, r.err);
	harness_run_free(&r);

	text = harness_read(service);
	xasprintf(&exec, "\nExecStart=%s/bin/profiled\n", prefix);
	cr_assert(strstr(text, exec) != NULL, "%s lacks %s", service, exec + 1);
	cr_assert(strstr(text, "\nType=notify\n") != NULL);
	cr_assert(strstr(text, "\nWatchdogSec=") != NULL);
	cr_assert(strstr(text, "\nWantedBy=default.target\n") != NULL);
	free(text);
	text = harness_read(socket);
	cr_assert(strstr(text, "\nListenStream=%t/profiled.sock\n") != NULL);
	cr_assert(strstr(text, "\nSocketMode=0600\n") != NULL);
	free(text);
}

/*
 * Socket activation: the connection that makes systemd-socket-activate
 * start profiled is answered, and profiled leaves the socket it was given
 * where it was when it exits.
 */
Test(systemd, socket_activation_answers_the_first_connection)
{
	struct json	*status;
	struct stat	 sb;
	char		*daemon, *comm, *text, *seen = xstrdup("");
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	int		 notify_fd = notify_socket();

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	char *const argv[] = { "systemd-socket-activate", "-l", harness.socket,
	    "-E", "XDG_CONFIG_HOME", "-E", "XDG_STATE_HOME", "-E",
	    "XDG_RUNTIME_DIR", "-E", "HOME", "-E", "NOTIFY_SOCKET", daemon,
	    "-v", "--config", harness.config, NULL };
	harness_spawn(argv);
	while (stat(harness.socket, &sb) == -1 || !S_ISSOCK(sb.st_mode)) {
		cr_assert(harness_clock_ms() < deadline, "no socket at %s",
		    harness.socket);
		poll(NULL, 0, 20);
	}
	/* Nothing has connected yet, so profiled has not been started. */
	xasprintf(&comm, "/proc/%ld/comm", (long)harness.daemon);
	text = harness_read(comm);
	cr_assert_str_eq(text, "systemd-socket-\n", "started before any "
	    "connection: %s", text);
	free(text);

	status = harness_status();
	cr_assert_eq(harness_number(status, "pid"), harness.daemon);
	json_free(status);
	text = harness_read(comm);
	cr_assert_str_eq(text, "profiled\n");
	free(text);
	free(wait_datagram(notify_fd, &seen, "READY=1", 0));
	harness_wait_generation(1);
	cr_assert_eq(harness_log_count("listening on the socket systemd "
	    "passed"), 1);

	harness_stop();
	cr_assert(stat(harness.socket, &sb) == 0 && S_ISSOCK(sb.st_mode),
	    "profiled removed the socket systemd passed it");
	free(comm);
	free(daemon);
	free(seen);
	close(notify_fd);
}

/*
 * READY=1 once the socket listens, STATUS= following the queue, WATCHDOG=1
 * at half the interval asked for, and STOPPING=1 when SIGTERM ends a
 * running build (exit 0).
 */
Test(systemd, readiness_status_watchdog_and_stopping)
{
	struct json	*status;
	char		*seen = xstrdup(""), *line, *want, *gates, *list, *text;
	int		 fd = notify_socket();
	const char	*error;

	setenv("WATCHDOG_USEC", "200000", 1);
	harness_start();
	line = wait_datagram(fd, &seen, "READY=1", 0);
	free(line);
	free(wait_datagram(fd, &seen, "STATUS=idle, generation 1", 0));
	cr_assert(strstr(seen, "STATUS=building (triggered by packages.nix)\n")
	    != NULL, "no building status before generation 1:\n%s", seen);
	free(wait_datagram(fd, &seen, "WATCHDOG=1", 0));
	free(wait_datagram(fd, &seen, "WATCHDOG=1", 0));
	cr_assert_geq(lines_equal(seen, "WATCHDOG=1"), 2);

	harness_save_packages("broken");
	status = harness_wait_built(harness_packages("broken"));
	error = harness_string(json_get(status, "last_build"), "error");
	cr_assert_not_null(error);
	xasprintf(&want, "STATUS=last build failed: %s", error);
	free(wait_datagram(fd, &seen, want, 0));
	json_free(status);

	/* A build that waits for a gate never opened: SIGTERM ends it. */
	xasprintf(&gates, "%s/gates", harness.dir);
	cr_assert(mkdir(gates, 0755) == 0 && chmod(harness.dir, 0711) == 0);
	xasprintf(&list, "hello (gated \"%s/never\")", gates);
	text = harness_packages(list);
	harness_save(text);
	free(wait_datagram(fd, &seen, "STATUS=building (triggered by "
	    "packages.nix)", 0));
	harness_stop();
	free(wait_datagram(fd, &seen, "STOPPING=1", 0));
	free(want);
	free(gates);
	free(list);
	free(text);
	free(seen);
	close(fd);
}

/*
 * A notify socket nobody reads fills up (ten datagrams, by default) long
 * before a build ends when the watchdog is pinged every millisecond: the
 * daemon still builds, switches and answers, and systemd, once it reads,
 * gets the newest status.
 */
Test(systemd, full_notify_socket_never_blocks_the_loop)
{
	struct json	*status;
	char		*seen = xstrdup("");
	int		 fd = notify_socket();

	setenv("WATCHDOG_USEC", "2000", 1);
	harness_start();
	status = harness_wait_generation(1);
	json_free(status);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_built(harness_packages("hello cowsay")));
	free(wait_datagram(fd, &seen, "STATUS=idle, generation 2", 0));
	harness_stop();
	free(seen);
	close(fd);
}

/* Without WATCHDOG_USEC, profiled never pings the watchdog. */
Test(systemd, no_watchdog_unless_asked)
{
	char	*seen = xstrdup("");
	int	 fd = notify_socket();

	unsetenv("WATCHDOG_USEC");
	harness_start();
	free(wait_datagram(fd, &seen, "READY=1", 0));
	harness_wait_generation(1);
	harness_stop();
	free(wait_datagram(fd, &seen, "STOPPING=1", 0));
	cr_assert_eq(lines_equal(seen, "WATCHDOG=1"), 0, "pinged:\n%s", seen);
	free(seen);
	close(fd);
}

/*
 * Make the next daemon's stderr the journal (JOURNAL_STREAM names the
 * harness's log) and its journal socket the test's, mounted over /run in a
 * private mount namespace, so no journald is needed and the host's is not
 * touched; the socket, for the test to read.  Skips without namespaces.
 */
static int
journal_of_test(void)
{
	struct stat	 sb;
	struct run	 r;
	char		*dir, *path, *stream, *wrapper;
	int		 fd;

	harness_run(&r, "unshare", "--mount", "true", NULL);
	if (r.status != 0)
		cr_skip_test("no mount namespaces here: %s", r.err);
	harness_run_free(&r);

	xasprintf(&dir, "%s/journal", harness.dir);
	cr_assert(mkdir(dir, 0755) == 0, "mkdir: %s", strerror(errno));
	xasprintf(&path, "%s/socket", dir);
	fd = bind_datagram(path);
	harness_write(harness.log, "");
	cr_assert(stat(harness.log, &sb) == 0);
	xasprintf(&stream, "%llu:%llu", (unsigned long long)sb.st_dev,
	    (unsigned long long)sb.st_ino);
	setenv("JOURNAL_STREAM", stream, 1);
	xasprintf(&wrapper, "unshare --mount --propagation private sh -c '"
	    "mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && "
	    "mount --bind \"$0\" /run/systemd/journal && exec \"$@\"' %s", dir);
	setenv("PROFILED_TEST_WRAPPER", wrapper, 1);
	free(wrapper);
	free(stream);
	free(path);
	free(dir);
	return fd;
}

/*
 * With stderr the journal (JOURNAL_STREAM names it), lines go to journald
 * with PRIORITY= and, for generations, GENERATION= and STORE_PATH=.
 */
Test(systemd, journal_gets_priorities_and_fields)
{
	struct json	*generations;
	char		*seen = xstrdup(""), *want, *log, *datagram;
	int		 fd = journal_of_test();

	harness_start();
	harness_wait_generation(1);
	generations = harness_ctl_json("generations", NULL);
	xasprintf(&want, "STORE_PATH=%s", harness_string(
	    harness_generation(generations, 1), "store_path"));
	datagram = wait_datagram(fd, &seen, "MESSAGE=generation 1 is active", 1);
	cr_assert(strstr(datagram, want) != NULL, "no %s in:\n%s", want,
	    datagram);
	cr_assert(strstr(datagram, "\nGENERATION=1") != NULL, "%s", datagram);
	cr_assert(strstr(datagram, "\nPRIORITY=6") != NULL, "%s", datagram);
	cr_assert(strstr(datagram, "\nSYSLOG_IDENTIFIER=profiled") != NULL,
	    "%s", datagram);
	cr_assert(strstr(seen, "PRIORITY=7\n") != NULL, "no debug line:\n%s",
	    seen);
	log = harness_read(harness.log);
	cr_assert(strstr(log, "generation 1 is active") == NULL,
	    "went to stderr as well:\n%s", log);
	harness_stop();
	json_free(generations);
	free(datagram);
	free(log);
	free(want);
	free(seen);
	close(fd);
}

/*
 * Send the daemon n requests that do not unpack, each on a connection of
 * its own, waiting for it to close each: n warning lines logged.
 */
static void
send_bad_requests(int n)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	const unsigned char	 frame[] = { 0, 0, 0, 1, 0xff };
	char			 buf[64];
	int			 fd, i;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness.socket);
	for (i = 0; i < n; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(fd != -1 && connect(fd, (struct sockaddr *)&sun,
		    sizeof sun) == 0, "connect: %s", strerror(errno));
		cr_assert(write(fd, frame, sizeof frame) == sizeof frame);
		while (read(fd, buf, sizeof buf) > 0)
			;
		close(fd);
	}
}

/* How many times needle is in haystack. */
static int
count_of(const char *haystack, const char *needle)
{
	int	 n = 0;

	while ((haystack = strstr(haystack, needle)) != NULL) {
		n++;
		haystack += strlen(needle);
	}
	return n;
}

/*
 * journald not reading (its socket's queue full) never blocks the loop:
 * lines wait in the daemon's queue (512) and go once the journal reads
 * again; past that they are dropped, and a line says how many, before the
 * lines that follow.  Nothing goes to stderr instead.
 */
Test(systemd, full_journal_queues_then_drops_lines_and_never_blocks)
{
	char		 buf[65536], *seen = xstrdup(""), *log, *next;
	int		 fd = journal_of_test(), bad;
	ssize_t		 n;

	harness_start();
	json_free(harness_wait_generation(1));
	/* 700 lines, while the journal reads none. */
	send_bad_requests(700);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));

	/* The journal reads again: what was queued comes, then the loss. */
	while ((n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		xasprintf(&next, "%s%s\n", seen, buf);
		free(seen);
		seen = next;
	}
	harness_save_packages("hello");
	free(wait_datagram(fd, &seen, "MESSAGE=generation 3 is active", 1));
	bad = count_of(seen, ": bad request\n");
	cr_assert_geq(bad, 512, "only %d of 700 lines came: not queued", bad);
	cr_assert_lt(bad, 700, "all 700 came: nothing was dropped");
	cr_assert(strstr(seen, "log lines were dropped: the journal did not "
	    "take them in time") != NULL, "no line told the loss:\n%s", seen);
	cr_assert(strstr(seen, "were dropped") < strstr(seen,
	    "MESSAGE=generation 3 is active"), "the loss told late:\n%s",
	    seen);
	log = harness_read(harness.log);
	cr_assert(strstr(log, "bad request") == NULL &&
	    strstr(log, "generation 2 is active") == NULL,
	    "a line went to stderr:\n%s", log);
	harness_stop();
	free(log);
	free(seen);
	close(fd);
}

/*
 * journald gone (stopped, or restarting: nothing at its socket's address)
 * neither stops nor blocks profiled: lines go to stderr meanwhile, and to
 * the journal again once it is back at the same address.
 */
Test(systemd, journal_gone_then_back)
{
	char	*seen = xstrdup(""), *log, *path;
	int	 fd = journal_of_test();

	harness_start();
	json_free(harness_wait_generation(1));
	free(wait_datagram(fd, &seen, "MESSAGE=generation 1 is active", 1));

	xasprintf(&path, "%s/journal/socket", harness.dir);
	close(fd);
	cr_assert(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	log = harness_read(harness.log);
	cr_assert(strstr(log, "generation 2 is active") != NULL,
	    "not on stderr while the journal was gone:\n%s", log);
	free(log);

	fd = bind_datagram(path);
	if (harness.user != NULL)
		cr_assert(chown(path, harness.uid, harness.gid) == 0);
	harness_save_packages("hello");
	free(wait_datagram(fd, &seen, "MESSAGE=generation 3 is active", 1));
	harness_stop();
	free(path);
	free(seen);
	close(fd);
}

/*
 * The value of MONOTONIC_USEC= in datagram, which must have one; in
 * milliseconds, as harness_clock_ms counts.
 */
static long long
monotonic_ms(const char *datagram)
{
	const char	*at = strstr(datagram, "\nMONOTONIC_USEC=");

	cr_assert_not_null(at, "no MONOTONIC_USEC= with RELOADING=1:\n%s",
	    datagram);
	return strtoull(at + strlen("\nMONOTONIC_USEC="), NULL, 10) / 1000;
}

/*
 * SIGHUP, as systemctl reload sends it: RELOADING=1 with the monotonic
 * time the reload began, before the new file is read, then READY=1 once
 * it is taken, and READY=1 too when a bad file is kept out.
 */
HARNESS_TEST_BOTH(systemd, reload_says_reloading_then_ready)
{
	char		*seen = xstrdup(""), *datagram;
	long long	 before, at;
	int		 fd = notify_socket();

	harness_start();
	free(wait_datagram(fd, &seen, "READY=1", 0));
	harness_wait_generation(1);

	harness_config_add("auto_switch = false");
	before = harness_clock_ms();
	cr_assert_eq(kill(harness.daemon, SIGHUP), 0);
	datagram = wait_datagram(fd, &seen, "RELOADING=1", 0);
	at = monotonic_ms(datagram);
	cr_assert(at >= before - 1 && at <= harness_clock_ms() + 1,
	    "MONOTONIC_USEC= %lld ms is not the time of the reload (sent at "
	    "%lld ms)", at, before);
	free(datagram);
	free(seen);
	seen = xstrdup("");
	free(wait_datagram(fd, &seen, "READY=1", 0));
	/* READY=1 came once the new file was taken. */
	harness_wait_log("auto_switch is now false (was true)");

	harness_config_add("debounce_ms = soon");
	cr_assert_eq(kill(harness.daemon, SIGHUP), 0);
	free(wait_datagram(fd, &seen, "RELOADING=1", 0));
	free(seen);
	seen = xstrdup("");
	free(wait_datagram(fd, &seen, "READY=1", 0));
	cr_assert_eq(harness_log_count("keeping the configuration in use"), 1);
	json_free(harness_status());
	harness_stop();
	free(seen);
	close(fd);
}
