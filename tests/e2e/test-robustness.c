/*
 * A bad client drops its own connection, never the daemon: frames over
 * the limit, bytes that are not a Request, and clients that stall halfway
 * through a frame leave profiled answering everyone else.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "harness.h"

TestSuite(robustness, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A raw connection to the daemon. */
static int
connect_daemon(void)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	int			 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness.socket);
	cr_assert(connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "connect %s: %s", harness.socket, strerror(errno));
	return fd;
}

static void
send_bytes(int fd, const void *buf, size_t len)
{
	cr_assert(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len,
	    "send: %s", strerror(errno));
}

/*
 * Read from fd until the daemon closes it, or, if answer_ok, until it has
 * sent one whole frame; fail if neither happens before the deadline.
 */
static void
assert_dropped(int fd, int answer_ok)
{
	unsigned char	header[FRAME_HEADER_SIZE], chunk[4096];
	size_t		got = 0;
	uint32_t	len;
	ssize_t		n, i;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		cr_assert(poll(&pfd, 1, HARNESS_DEADLINE_MS) == 1,
		    "the daemon neither answered nor closed the connection "
		    "in %d s", HARNESS_DEADLINE_MS / 1000);
		n = read(fd, chunk, sizeof chunk);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			break;
		cr_assert(n > 0, "read: %s", strerror(errno));
		cr_assert(answer_ok, "the daemon answered a frame it must "
		    "refuse");
		for (i = 0; i < n && got + i < FRAME_HEADER_SIZE; i++)
			header[got + i] = chunk[i];
		got += n;
		if (got >= FRAME_HEADER_SIZE) {
			frame_header_decode(header, &len);
			if (got - FRAME_HEADER_SIZE >= len)
				break;
		}
	}
	close(fd);
}

/* The daemon still answers, and still builds. */
static void
assert_still_serving(const char *names, long generation)
{
	struct json	*status;

	status = harness_wait_generation(generation - 1);
	cr_assert_eq(harness_number(status, "pid"), harness.daemon);
	json_free(status);
	harness_save_packages(names);
	harness_wait_generation(generation);
}

Test(robustness, oversized_frame)
{
	unsigned char	header[FRAME_HEADER_SIZE];
	int		fd;

	harness_start();
	harness_wait_generation(1);
	fd = connect_daemon();
	frame_header_encode(header, FRAME_MAX + 1);
	send_bytes(fd, header, sizeof header);
	assert_dropped(fd, 0);

	fd = connect_daemon();
	frame_header_encode(header, UINT32_MAX);
	send_bytes(fd, header, sizeof header);
	assert_dropped(fd, 0);
	assert_still_serving("hello cowsay", 2);
}

Test(robustness, garbage)
{
	static const unsigned char	junk[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	static const char		http[] = "GET / HTTP/1.1\r\n\r\n";
	unsigned char			header[FRAME_HEADER_SIZE];
	int				fd;

	harness_start();
	harness_wait_generation(1);

	/* A well-framed message that is no Request. */
	fd = connect_daemon();
	frame_header_encode(header, sizeof junk);
	send_bytes(fd, header, sizeof header);
	send_bytes(fd, junk, sizeof junk);
	assert_dropped(fd, 1);

	/* Someone else's protocol: "GET " is a length of over 1 GiB. */
	fd = connect_daemon();
	send_bytes(fd, http, sizeof http - 1);
	assert_dropped(fd, 0);

	/* An empty Request: no call set. */
	fd = connect_daemon();
	frame_header_encode(header, 0);
	send_bytes(fd, header, sizeof header);
	assert_dropped(fd, 1);
	assert_still_serving("cowsay", 2);
}

Test(robustness, stalled_clients)
{
	unsigned char	header[FRAME_HEADER_SIZE];
	int		fds[32];
	size_t		i;

	harness_start();
	harness_wait_generation(1);
	frame_header_encode(header, 2);
	for (i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		fds[i] = connect_daemon();
		send_bytes(fds[i], header, i % 3);
	}
	assert_still_serving("ripgrep", 2);
	for (i = 0; i < sizeof fds / sizeof fds[0]; i++)
		close(fds[i]);
	assert_still_serving("hello", 3);
}

Test(robustness, socket_is_private)
{
	struct stat	sb;

	harness_start();
	cr_assert(stat(harness.socket, &sb) == 0, "stat %s: %s",
	    harness.socket, strerror(errno));
	cr_assert(S_ISSOCK(sb.st_mode), "%s is not a socket", harness.socket);
	cr_assert_eq(sb.st_mode & 0777, 0600, "socket mode %o, expected 600",
	    (unsigned)(sb.st_mode & 0777));
}

/*
 * A history larger than a frame (four generations of 5000 packages each)
 * still lists whole: it comes in pages.
 */
Test(robustness, large_history_comes_in_pages)
{
	static const char *const extra[] = { "", "cowsay", "ripgrep",
	    "cowsay ripgrep" };
	struct json		*generations;
	const struct json	*g, *packages;
	char			*list, *many, *p;
	size_t			 i;
	struct run		 r;

	many = xmalloc(5000 * 6 + 1);
	for (i = 0, p = many; i < 5000; i++, p += 6)
		memcpy(p, "hello ", 6);
	*p = '\0';
	harness_start();
	harness_wait_generation(1);
	for (i = 0; i < 4; i++) {
		xasprintf(&list, "%s%s", many, extra[i]);
		harness_save_packages(list);
		harness_wait_generation(i + 2);
		free(list);
	}
	free(many);

	harness_ctl(&r, "--json", "generations", NULL);
	cr_assert_eq(r.status, 0, "generations: %s", r.err);
	cr_assert_gt(strlen(r.out), FRAME_MAX, "the history fits one frame; "
	    "the test proves nothing");
	harness_run_free(&r);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 5);
	for (i = 2; i <= 5; i++) {
		g = harness_generation(generations, i);
		cr_assert_not_null(g, "generation %zu is missing", i);
		packages = json_get(g, "packages");
		cr_assert_geq(packages->count, 5000);
	}
	json_free(generations);
}

/*
 * A client that sends many requests and reads none of the answers is
 * dropped once its backlog passes the bound, and the daemon lives on.
 */
Test(robustness, requests_without_reading_the_answers)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	unsigned char		*frame, *burst;
	size_t			 size, i, count = 70000;
	ssize_t			 n;
	int			 fd;

	harness_start();
	harness_wait_generation(1);
	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	frame = frame_pack(&request.base, &size);
	burst = xcalloc(count, size);
	for (i = 0; i < count; i++)
		memcpy(burst + i * size, frame, size);
	fd = connect_daemon();
	/* The daemon may close the connection before it has read it all. */
	for (i = 0; i < count * size; i += n) {
		n = send(fd, burst + i, count * size - i, MSG_NOSIGNAL);
		if (n == -1) {
			cr_assert(errno == EPIPE || errno == ECONNRESET,
			    "send: %s", strerror(errno));
			break;
		}
	}
	assert_still_serving("cowsay", 2);
	close(fd);
	free(burst);
	free(frame);
}

/*
 * A line of Nix's log too long for a frame (a trace of a huge string) is
 * cut, and the switch that shows the log still gets its answer.
 */
Test(robustness, a_very_long_log_line)
{
	struct run	 r;
	char		*text;

	harness_start();
	harness_wait_generation(1);
	text = harness_packages("(builtins.trace (builtins.concatStringsSep "
	    "\"\" (builtins.genList (i: \"0123456789\") 200000)) cowsay)");
	harness_write(harness.package_file, text);
	harness_ctl(&r, "switch", "--progress", NULL);
	cr_assert_eq(r.status, 0, "switch --progress: %s", r.err);
	cr_assert(strstr(r.err, "[line cut]") != NULL, "the long line was not "
	    "cut");
	cr_assert(strlen(r.err) < 256 * 1024, "%zu bytes of progress",
	    strlen(r.err));
	harness_run_free(&r);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
}
