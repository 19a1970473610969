/*
 * No client can starve the daemon, and every record fits: a half frame
 * is dropped after the frame timeout, a thousand parked partial frames
 * stay under the global cap, connections past the cap and past the
 * descriptor limit get an error rather than hang (and a save read then is
 * built once descriptors return), and an over-long version fails its
 * build while `generations` keeps working.  profilectl, for its part,
 * gives up on a daemon that does not answer or whose pages never end.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

TestSuite(limits, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* The daemon's own figures (server.c), which these tests hold it to. */
#define LIMITS_FRAME_SECONDS	5
#define LIMITS_CLIENTS_MAX	1024
#define LIMITS_INPUT_MAX_MB	16

/* A connection to path; -1 if connect fails (with nonblock: would wait). */
static int
limits_connect_to(const char *path, int nonblock)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	int			 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		cr_assert(nonblock && errno == EAGAIN, "connect %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
limits_connect(void)
{
	return limits_connect_to(harness.socket, 0);
}

/* Wait up to ms for fd to be readable; whether it is. */
static int
limits_readable(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/*
 * Read one frame from fd within the deadline: the Response, or NULL if
 * the connection closed first.
 */
static Profiled__Response *
limits_read_response(int fd)
{
	unsigned char	 header[FRAME_HEADER_SIZE], *body;
	size_t		 done;
	uint32_t	 len;
	ssize_t		 n;
	Profiled__Response *response;

	for (done = 0; done < sizeof header; done += n) {
		cr_assert(limits_readable(fd, HARNESS_DEADLINE_MS),
		    "no answer and no close in %d s", HARNESS_DEADLINE_MS / 1000);
		n = read(fd, header + done, sizeof header - done);
		if (n <= 0)
			return NULL;
	}
	cr_assert(frame_header_decode(header, &len) == 0);
	body = xmalloc(len + 1);
	for (done = 0; done < len; done += n) {
		cr_assert(limits_readable(fd, HARNESS_DEADLINE_MS));
		n = read(fd, body + done, len - done);
		cr_assert(n > 0, "the frame was cut short");
	}
	response = profiled__response__unpack(NULL, len, body);
	free(body);
	cr_assert_not_null(response, "not a Response");
	return response;
}

/* Read an error frame from fd; its message must contain want. */
static void
limits_assert_refused(int fd, const char *want)
{
	Profiled__Response	*response = limits_read_response(fd);

	cr_assert_not_null(response, "closed without saying why");
	cr_assert_eq(response->result_case, PROFILED__RESPONSE__RESULT_ERROR);
	cr_assert(strstr(response->error->message, want) != NULL,
	    "the error \"%s\" does not say \"%s\"", response->error->message,
	    want);
	profiled__response__free_unpacked(response, NULL);
}

/* Send a status request on fd and read its answer. */
static void
limits_assert_status(int fd)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;
	unsigned char		*frame;
	size_t			 size;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	frame = frame_pack(&request.base, &size);
	cr_assert(send(fd, frame, size, MSG_NOSIGNAL) == (ssize_t)size,
	    "send: %s", strerror(errno));
	free(frame);
	response = limits_read_response(fd);
	cr_assert_not_null(response, "the connection was dropped");
	cr_assert_eq(response->result_case,
	    PROFILED__RESPONSE__RESULT_STATUS);
	profiled__response__free_unpacked(response, NULL);
}

/* A field of /proc/PID/status in kB ("VmRSS", "VmHWM"). */
static long
limits_proc_kb(pid_t pid, const char *field)
{
	char	*path, *text, *at;
	long	 kb = -1;

	xasprintf(&path, "/proc/%ld/status", (long)pid);
	text = harness_read(path);
	if ((at = strstr(text, field)) != NULL)
		sscanf(at + strlen(field), ": %ld", &kb);
	cr_assert_geq(kb, 0, "no %s in %s", field, path);
	free(text);
	free(path);
	return kb;
}

/* How many descriptors pid has open. */
static long
limits_open_fds(pid_t pid)
{
	struct run	 r;
	char		*command;
	long		 n;

	xasprintf(&command, "ls /proc/%ld/fd | wc -l", (long)pid);
	harness_run(&r, "sh", "-c", command, NULL);
	cr_assert_eq(r.status, 0, "%s: %s", command, r.err);
	n = atol(r.out);
	harness_run_free(&r);
	free(command);
	return n;
}

/* Let this test have n descriptors. */
static void
limits_own_fds(rlim_t n)
{
	struct rlimit	rl;

	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_cur >= n)
		return;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	cr_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
	    strerror(errno));
}

/*
 * A client that sends half a frame and stalls is dropped once the frame
 * timeout passes, not before; one that idles between frames (as watch
 * does) stays, and is answered after.
 */
Test(limits, a_stalled_half_frame_is_dropped)
{
	unsigned char	 header[FRAME_HEADER_SIZE], half[50] = { 0 };
	long long	 sent, took;
	char		 byte;
	int		 idle, stalled;

	harness_start();
	harness_wait_generation(1);
	idle = limits_connect();
	stalled = limits_connect();
	frame_header_encode(header, 100);
	cr_assert(send(stalled, header, sizeof header, MSG_NOSIGNAL) == 4);
	cr_assert(send(stalled, half, sizeof half, MSG_NOSIGNAL) == 50);
	sent = harness_clock_ms();
	cr_assert(limits_readable(stalled, HARNESS_DEADLINE_MS), "the stalled "
	    "client was not dropped in %d s", HARNESS_DEADLINE_MS / 1000);
	took = harness_clock_ms() - sent;
	cr_log_info("the stalled half frame was dropped after %lld ms", took);
	cr_assert_eq(read(stalled, &byte, 1), 0, "the daemon answered a half "
	    "frame");
	cr_assert_geq(took, (LIMITS_FRAME_SECONDS - 1) * 1000, "dropped after "
	    "%lld ms, before the timeout", took);
	cr_assert_leq(took, (LIMITS_FRAME_SECONDS + 3) * 1000, "dropped after "
	    "%lld ms", took);
	cr_assert_eq(harness_log_count("stalled for 5 s; dropping it"), 1);
	close(stalled);

	cr_assert(!limits_readable(idle, 0), "the idle client was dropped");
	limits_assert_status(idle);
	close(idle);
}

/*
 * A thousand clients each parking 256 KiB of a frame of 1 MiB: the daemon
 * holds no more than the global cap of them at once (its peak resident
 * memory grows by a fraction of the 250 MiB sent), and still answers
 * status meanwhile and after.
 */
#define LIMITS_PARKED	(256 * 1024)
Test(limits, parked_partial_frames_stay_under_the_cap)
{
	static unsigned char	 body[LIMITS_PARKED];
	unsigned char		 header[FRAME_HEADER_SIZE];
	int			 fds[1000], status_fd, dropped = 0;
	long			 before, peak, after;
	size_t			 i, done;
	ssize_t			 n;

	limits_own_fds(4096);
	harness_start();
	harness_wait_generation(1);
	before = limits_proc_kb(harness.daemon, "VmRSS");
	frame_header_encode(header, FRAME_MAX);
	for (i = 0; i < 1000; i++) {
		fds[i] = limits_connect();
		cr_assert(send(fds[i], header, sizeof header, MSG_NOSIGNAL) ==
		    sizeof header);
		/* A quarter: the frame never ends. */
		for (done = 0; done < LIMITS_PARKED; done += n) {
			n = send(fds[i], body, LIMITS_PARKED - done,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
				n = 0;
				if (!limits_readable(fds[i], 10))
					continue;
			} else if (n > 0)
				continue;
			/* Readable or failed: the daemon dropped it. */
			dropped++;
			break;
		}
	}
	status_fd = limits_connect();
	limits_assert_status(status_fd);
	close(status_fd);
	peak = limits_proc_kb(harness.daemon, "VmHWM");
	cr_log_info("parked partial frames: RSS %ld kB before, peak %ld kB, "
	    "%d of 1000 clients dropped while sending", before, peak, dropped);
	cr_assert_lt(peak - before, 4 * LIMITS_INPUT_MAX_MB * 1024,
	    "peak RSS %ld kB, %ld kB over the %ld kB before", peak,
	    peak - before, before);
	cr_assert_gt(harness_log_count("partial frames pass 16 MiB in all"), 0,
	    "no client was dropped for the cap");
	for (i = 0; i < 1000; i++)
		close(fds[i]);
	json_free(harness_wait_generation(1));
	after = limits_proc_kb(harness.daemon, "VmRSS");
	cr_log_info("after they left: RSS %ld kB", after);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
}

/*
 * Past the cap on connections, a new one is told so and closed, not left
 * hanging; once one closes, clients are served again.
 */
Test(limits, connections_past_the_cap_are_refused)
{
	int	fds[LIMITS_CLIENTS_MAX], extra, i;

	limits_own_fds(4096);
	harness_start();
	harness_wait_generation(1);
	for (i = 0; i < LIMITS_CLIENTS_MAX; i++)
		fds[i] = limits_connect();
	/* Each has been accepted once it answers; the last proves them all. */
	limits_assert_status(fds[LIMITS_CLIENTS_MAX - 1]);
	extra = limits_connect();
	limits_assert_refused(extra, "profiled has too many connections open "
	    "(1024)");
	close(extra);
	close(fds[0]);
	json_free(harness_wait_generation(1));
	for (i = 1; i < LIMITS_CLIENTS_MAX; i++)
		close(fds[i]);
}

/* Set pid's soft RLIMIT_NOFILE to n; the old limits in *old. */
static void
limits_set_fds(pid_t pid, rlim_t n, struct rlimit *old)
{
	struct rlimit	rl;

	cr_assert(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0, "prlimit: %s",
	    strerror(errno));
	if (old != NULL)
		*old = rl;
	rl.rlim_cur = n;
	cr_assert(prlimit(pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s",
	    strerror(errno));
}

/*
 * At the descriptor limit, new clients get a clear error at once, not a
 * hang; a save made meanwhile (which cannot be read then) is built once
 * descriptors return.
 */
Test(limits, out_of_descriptors)
{
	struct rlimit	 old;
	struct run	 r;
	int		 fds[64], n = 0, refused = -1, i;
	long long	 started;

	harness_start();
	harness_wait_generation(1);
	limits_set_fds(harness.daemon, limits_open_fds(harness.daemon) + 8,
	    &old);
	/* Fill the daemon's table; the first it cannot take is refused. */
	while (refused == -1) {
		cr_assert_lt(n, 64, "no connection refused after 64");
		fds[n] = limits_connect();
		if (limits_readable(fds[n], 200))
			refused = n;
		n++;
	}
	limits_assert_refused(fds[refused], "profiled is out of file "
	    "descriptors");

	started = harness_clock_ms();
	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 1, "status exited %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "profiled is out of file descriptors") != NULL,
	    "%s", r.err);
	cr_assert_lt(harness_clock_ms() - started, 10000, "status took "
	    "%lld ms", harness_clock_ms() - started);
	harness_run_free(&r);
	cr_assert_eq(harness_log_count("refusing new connections until some "
	    "close"), 1);

	/* A save now cannot be read: it is tried again, not forgotten. */
	harness_save_packages("hello cowsay");
	harness_wait_log("Too many open files; trying again");
	for (i = 0; i < n; i++)
		close(fds[i]);
	json_free(harness_wait_generation(2));
	limits_set_fds(harness.daemon, old.rlim_cur, NULL);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
}

/*
 * A package with a 2 MiB version fails its build, naming the package,
 * and nothing of it is stored: generations still lists.
 */
Test(limits, a_two_megabyte_version_is_refused)
{
	struct json		*generations, *status;
	const struct json	*build;
	char			*text, *log;

	harness_start();
	harness_wait_generation(1);
	text = harness_packages("(hello // { version = "
	    "builtins.concatStringsSep \"\" (builtins.genList (i: "
	    "\"0123456789abcdef\") 131072); })");
	harness_save(text);
	status = harness_wait_built(text);
	free(text);
	build = json_get(status, "last_build");
	cr_assert_eq(harness_bool(build, "ok"), 0, "the build succeeded");
	cr_assert(strstr(harness_string(build, "error"), "package 'hello' has "
	    "a version 2097152 bytes long (at most 256)") != NULL, "error: %s",
	    harness_string(build, "error"));
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	json_free(status);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	json_free(generations);
	log = harness_read(harness.log);
	cr_assert_lt(strlen(log), 1024 * 1024, "the version went to the log");
	free(log);
}

/*
 * A generation stored before records were bounded, larger than a frame
 * (here a version of 2 MiB), still lists: with the packages that fit and
 * its true package count.
 */
Test(limits, a_generation_larger_than_a_frame_still_lists)
{
	struct json		*generations;
	const struct json	*g;
	sqlite3			*db;
	sqlite3_stmt		*stmt;
	char			*path, *version;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	harness_stop();

	xasprintf(&path, "%s/profiled.db", harness.state_dir);
	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "UPDATE packages SET version = ? "
	    "WHERE generation = 2 AND position = 0", -1, &stmt, NULL),
	    SQLITE_OK, "%s", sqlite3_errmsg(db));
	version = xmalloc(2 * 1024 * 1024 + 1);
	memset(version, '7', 2 * 1024 * 1024);
	version[2 * 1024 * 1024] = '\0';
	sqlite3_bind_text(stmt, 1, version, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(stmt), SQLITE_DONE, "%s", sqlite3_errmsg(db));
	cr_assert_eq(sqlite3_changes(db), 1);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(version);
	free(path);

	harness_start();
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "package_count"), 2);
	cr_assert_eq(json_get(g, "packages")->count, 1, "the 2 MiB package was "
	    "sent");
	g = harness_generation(generations, 1);
	cr_assert_eq(harness_number(g, "package_count"), 1);
	cr_assert_eq(json_get(g, "packages")->count, 1);
	json_free(generations);
}

/* A fake daemon: a child listening at path, serving each connection
 * with serve(fd) until killed. */
static pid_t
limits_fake_daemon(const char *path, int backlog, void (*serve)(int))
{
	int	fd, client;
	pid_t	pid;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
		cr_assert(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
		    "bind %s: %s", path, strerror(errno));
	}
	cr_assert(listen(fd, backlog) == 0);
	if (serve == NULL)
		return -fd;	/* never accepts: the caller keeps fd */
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		harness_child(SIGKILL);
		for (;;) {
			if ((client = accept(fd, NULL, NULL)) == -1)
				_exit(1);
			serve(client);
			close(client);
		}
	}
	close(fd);
	return pid;
}

/* Serve nothing: read the request and keep the connection, silent. */
static void
limits_serve_silence(int fd)
{
	pause();
}

/*
 * Serve every generations request on fd with one generation more, and
 * more, as long as the client asks (profilectl asks on one connection).
 */
static void
limits_serve_more(int fd)
{
	Profiled__Response		 response = PROFILED__RESPONSE__INIT;
	Profiled__Generations		 list = PROFILED__GENERATIONS__INIT;
	Profiled__Generation		 g = PROFILED__GENERATION__INIT;
	Profiled__Generation		*items[1] = { &g };
	Profiled__Request		*request;
	unsigned char			 buf[256], *frame;
	uint32_t			 len;
	size_t				 size, done;
	ssize_t				 n;

	for (;;) {
		done = 0;
		while (done < FRAME_HEADER_SIZE ||
		    (frame_header_decode(buf, &len) == 0 &&
		    done < FRAME_HEADER_SIZE + len && len < sizeof buf - 4)) {
			/* One frame at a time: the client waits for each. */
			if ((n = read(fd, buf + done, done < FRAME_HEADER_SIZE ?
			    FRAME_HEADER_SIZE - done : FRAME_HEADER_SIZE + len -
			    done)) <= 0)
				return;
			done += n;
		}
		request = profiled__request__unpack(NULL, len, buf + 4);
		if (request == NULL || request->generations == NULL)
			return;
		g.id = request->generations->has_after ?
		    request->generations->after + 1 : 1;
		g.store_path = "/nix/store/x";
		g.reason = "save";
		list.n_generations = 1;
		list.generations = items;
		list.more = 1;
		response.result_case = PROFILED__RESPONSE__RESULT_GENERATIONS;
		response.generations = &list;
		frame = frame_pack(&response.base, &size);
		if (write(fd, frame, size) != (ssize_t)size)
			_exit(1);
		free(frame);
		profiled__request__free_unpacked(request, NULL);
	}
}

/* Run `PROFILED_TIMEOUT=1 profilectl --socket path args` into r. */
static void
limits_ctl_at(struct run *r, const char *path, const char *command)
{
	char	*ctl;

	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	setenv("PROFILED_TIMEOUT", "1", 1);
	harness_run(r, ctl, "--socket", path, command, NULL);
	unsetenv("PROFILED_TIMEOUT");
	free(ctl);
}

/*
 * profilectl gives up on a daemon that takes the connection and never
 * answers, and on one that never takes the connection, after
 * PROFILED_TIMEOUT seconds, with exit 4.
 */
Test(limits, client_times_out)
{
	struct run	 r;
	long long	 started;
	char		*path;
	int		 listener, fds[16], n = 0;
	pid_t		 pid;

	xasprintf(&path, "%s/silent.sock", harness.dir);
	pid = limits_fake_daemon(path, 8, limits_serve_silence);
	started = harness_clock_ms();
	limits_ctl_at(&r, path, "status");
	cr_assert_eq(r.status, 4, "status exited %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "timed out after 1 s waiting for profiled to "
	    "answer") != NULL, "%s", r.err);
	cr_assert_lt(harness_clock_ms() - started, 5000);
	harness_run_free(&r);
	kill(pid, SIGKILL);
	harness_reap(pid, HARNESS_DEADLINE_MS);
	unlink(path);

	/* A listener that never accepts, its backlog full. */
	listener = -limits_fake_daemon(path, 0, NULL);
	while ((fds[n] = limits_connect_to(path, 1)) != -1)
		cr_assert_lt(++n, 16, "the backlog never fills");
	started = harness_clock_ms();
	limits_ctl_at(&r, path, "status");
	cr_assert_eq(r.status, 4, "status exited %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "timed out after 1 s connecting to profiled")
	    != NULL, "%s", r.err);
	cr_assert_lt(harness_clock_ms() - started, 5000);
	harness_run_free(&r);
	while (n > 0)
		close(fds[--n]);
	close(listener);
	free(path);
}

/* A daemon that answers `more` for ever: generations gives up. */
Test(limits, client_bounds_the_pages_of_generations)
{
	struct run	 r;
	char		*path;
	pid_t		 pid;

	xasprintf(&path, "%s/endless.sock", harness.dir);
	pid = limits_fake_daemon(path, 64, limits_serve_more);
	limits_ctl_at(&r, path, "generations");
	cr_assert_eq(r.status, 1, "generations exited %d: %s", r.status,
	    r.err);
	cr_assert(strstr(r.err, "profiled's pages of generations do not end "
	    "(4096 pages") != NULL, "%s", r.err);
	harness_run_free(&r);
	kill(pid, SIGKILL);
	harness_reap(pid, HARNESS_DEADLINE_MS);
	free(path);
}
