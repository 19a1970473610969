/*
 * bench-rpc: the C half of `make bench` (tests/bench/bench.sh drives it).
 *
 * The RPC load generator drives many connections from one epoll loop, so
 * that the client costs as little as it can on a machine it shares with the
 * server; the echo server is the ceiling it is held to: a bare
 * single-threaded Unix-socket server that answers every request frame with
 * the same Status frame the daemon sent, and does nothing else.  The other
 * commands are what a shell cannot time to the millisecond: a command's
 * wall time, a save until the profile link moves, a burst of saves at fixed
 * instants, and a daemon's start until its first answer.
 *
 *   load -s SOCKET -c CLIENTS -t SECONDS [-g GENERATIONS_CLIENTS]
 *   capture -s SOCKET -o FILE
 *   echo -s SOCKET -f FILE
 *   start -s SOCKET -t SECONDS -l LOG -p PIDFILE [-a GENERATIONS] COMMAND...
 *   time [-t SECONDS] COMMAND... [';' COMMAND...]
 *   save -f FILE -n NEW -p PROFILE -t SECONDS
 *   burst -f FILE -T TEMPLATE -n COUNT -i INTERVAL_MS
 *   links -p PROFILE -n COUNT TARGET...
 *
 * Results go to stdout as `key=value` words on one line; failures to
 * stderr with exit 1, timeouts with exit 124 (as timeout(1)).
 */
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "profiled.pb-c.h"

#define BENCH_TIMEOUT_EXIT	124
#define BENCH_MAX_EVENTS	128

static const char	*bench_command = "bench-rpc";

static void __attribute__((noreturn, format(printf, 1, 2)))
bench_fatal(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "bench-rpc %s: ", bench_command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
bench_alloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		bench_fatal("out of memory");
	return p;
}

/* Monotonic time in nanoseconds. */
static int64_t
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double
bench_ms(int64_t ns)
{
	return ns / 1e6;
}

/* Sleep for ms milliseconds. */
static void
bench_pause(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Connect to a Unix socket; -1 (errno set) if nobody listens there yet. */
static int
bench_connect(const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	if (strlen(path) >= sizeof sun.sun_path)
		bench_fatal("socket path too long: %s", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		bench_fatal("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A packed Request frame: status, or a generations page after `after`. */
static unsigned char *
bench_request(int generations, uint32_t after, size_t *size)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest		 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__GenerationsRequest	 page =
	    PROFILED__GENERATIONS_REQUEST__INIT;
	unsigned char			*frame;

	if (generations) {
		request.call_case = PROFILED__REQUEST__CALL_GENERATIONS;
		request.generations = &page;
		if (after != 0) {
			page.has_after = 1;
			page.after = after;
		}
	} else {
		request.call_case = PROFILED__REQUEST__CALL_STATUS;
		request.status = &status;
	}
	if ((frame = frame_pack(&request.base, size)) == NULL)
		bench_fatal("cannot pack a request");
	return frame;
}

static int
bench_write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

static int
bench_read_all(int fd, unsigned char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * One blocking call on fd: send the frame, read the answer's frame whole
 * into *frame (header included, its size in *size); -1 on a closed or bad
 * connection.
 */
static int
bench_call(int fd, const unsigned char *request, size_t request_size,
    unsigned char **frame, size_t *size)
{
	unsigned char	header[FRAME_HEADER_SIZE];
	uint32_t	len;

	if (bench_write_all(fd, request, request_size) == -1 ||
	    bench_read_all(fd, header, sizeof header) == -1 ||
	    frame_header_decode(header, &len) == -1)
		return -1;
	*frame = bench_alloc(NULL, FRAME_HEADER_SIZE + len);
	memcpy(*frame, header, sizeof header);
	if (bench_read_all(fd, *frame + FRAME_HEADER_SIZE, len) == -1) {
		free(*frame);
		return -1;
	}
	*size = FRAME_HEADER_SIZE + len;
	return 0;
}

/* Unpack an answer frame; NULL if it is not a Response. */
static Profiled__Response *
bench_unpack(const unsigned char *frame, size_t size)
{
	return profiled__response__unpack(NULL, size - FRAME_HEADER_SIZE,
	    frame + FRAME_HEADER_SIZE);
}

/*
 * How many generations the daemon lists, paging as profilectl does; -1 if
 * it does not answer with generations.
 */
static long
bench_count_generations(int fd)
{
	Profiled__Response	*response;
	unsigned char		*request, *frame;
	size_t			 request_size, size;
	uint32_t		 after = 0;
	long			 count = 0;
	int			 more = 1;

	while (more) {
		request = bench_request(1, after, &request_size);
		if (bench_call(fd, request, request_size, &frame, &size) ==
		    -1) {
			free(request);
			return -1;
		}
		free(request);
		response = bench_unpack(frame, size);
		free(frame);
		if (response == NULL || response->result_case !=
		    PROFILED__RESPONSE__RESULT_GENERATIONS) {
			if (response != NULL)
				profiled__response__free_unpacked(response,
				    NULL);
			return -1;
		}
		count += response->generations->n_generations;
		if (response->generations->n_generations > 0)
			after = response->generations->generations[
			    response->generations->n_generations - 1]->id;
		more = response->generations->more &&
		    response->generations->n_generations > 0;
		profiled__response__free_unpacked(response, NULL);
	}
	return count;
}

/* A connection of the load generator. */
struct bench_client {
	int		 fd;
	int		 generations;	/* loops on generations, not status */
	uint32_t	 after;		/* the page asked for */
	int64_t		 sent;		/* when the request went */
	unsigned char	*in;
	size_t		 in_len;
	size_t		 in_size;
};

/* Latencies of the status calls, in microseconds. */
struct bench_latencies {
	uint32_t	*us;
	size_t		 count;
	size_t		 size;
};

static void
bench_latency_add(struct bench_latencies *l, int64_t ns)
{
	if (l->count == l->size) {
		l->size = l->size == 0 ? 4096 : l->size * 2;
		l->us = bench_alloc(l->us, l->size * sizeof *l->us);
	}
	l->us[l->count++] = ns / 1000 > UINT32_MAX ? UINT32_MAX : ns / 1000;
}

static int
bench_compare_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of sorted latencies, nearest rank. */
static uint32_t
bench_quantile(const struct bench_latencies *l, double q)
{
	size_t	rank;

	if (l->count == 0)
		return 0;
	rank = (size_t)(q * l->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > l->count)
		rank = l->count;
	return l->us[rank - 1];
}

static void
bench_client_send(struct bench_client *c)
{
	unsigned char	*request;
	size_t		 size;

	request = bench_request(c->generations, c->after, &size);
	c->sent = bench_now();
	/* A request is a few bytes: the socket buffer always takes it. */
	if (bench_write_all(c->fd, request, size) == -1)
		bench_fatal("write: %s", strerror(errno));
	free(request);
}

/*
 * The whole answer c waits for has arrived: check it, count it and send
 * the next request.  Returns 1 for a status call completed.
 */
static int
bench_client_answered(struct bench_client *c, size_t len,
    struct bench_latencies *latencies, int64_t now)
{
	Profiled__Response	*response;
	Profiled__Generations	*page;
	int			 status = 0;

	response = bench_unpack(c->in, FRAME_HEADER_SIZE + len);
	if (response == NULL)
		bench_fatal("an answer that does not unpack");
	if (c->generations) {
		if (response->result_case !=
		    PROFILED__RESPONSE__RESULT_GENERATIONS)
			bench_fatal("generations answered with case %d",
			    response->result_case);
		page = response->generations;
		c->after = page->more && page->n_generations > 0 ?
		    page->generations[page->n_generations - 1]->id : 0;
	} else {
		if (response->result_case != PROFILED__RESPONSE__RESULT_STATUS)
			bench_fatal("status answered with case %d",
			    response->result_case);
		bench_latency_add(latencies, now - c->sent);
		status = 1;
	}
	profiled__response__free_unpacked(response, NULL);
	memmove(c->in, c->in + FRAME_HEADER_SIZE + len,
	    c->in_len - FRAME_HEADER_SIZE - len);
	c->in_len -= FRAME_HEADER_SIZE + len;
	return status;
}

/* Read what c has; 1 if its answer is complete and handled. */
static int
bench_client_read(struct bench_client *c, struct bench_latencies *latencies,
    int64_t now, long *generations_pages)
{
	uint32_t	len;
	ssize_t		n;

	if (c->in_size - c->in_len < 65536) {
		c->in_size = c->in_size * 2 + 65536;
		c->in = bench_alloc(c->in, c->in_size);
	}
	n = read(c->fd, c->in + c->in_len, c->in_size - c->in_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		bench_fatal("the server closed a connection");
	c->in_len += n;
	if (c->in_len < FRAME_HEADER_SIZE)
		return 0;
	if (frame_header_decode(c->in, &len) == -1)
		bench_fatal("an answer over FRAME_MAX");
	if (c->in_len < FRAME_HEADER_SIZE + len)
		return 0;
	if (c->in_len > FRAME_HEADER_SIZE + len)
		bench_fatal("an answer nobody asked for");
	if (!bench_client_answered(c, len, latencies, now))
		(*generations_pages)++;
	bench_client_send(c);
	return 1;
}

/*
 * load: CLIENTS connections calling status back to back, and
 * GENERATIONS_CLIENTS more listing every generation page after page, for
 * SECONDS; status calls per second and their latency.
 */
static int
bench_load(int argc, char **argv)
{
	struct bench_client	*clients;
	struct bench_latencies	 latencies = { 0 };
	struct epoll_event	 ev, events[BENCH_MAX_EVENTS];
	const char		*socket_path = NULL;
	double			 seconds = 1;
	long			 status_clients = 1, generations_clients = 0;
	long			 pages = 0, i, n;
	int64_t			 start, end, now;
	int			 epfd, opt, ready, timeout;

	while ((opt = getopt(argc, argv, "s:c:t:g:")) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'c': status_clients = atol(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'g': generations_clients = atol(optarg); break;
		default: return 2;
		}
	}
	if (socket_path == NULL || status_clients < 1 || seconds <= 0 ||
	    generations_clients < 0)
		bench_fatal("usage: load -s SOCKET -c CLIENTS -t SECONDS "
		    "[-g GENERATIONS_CLIENTS]");
	n = status_clients + generations_clients;
	clients = bench_alloc(NULL, n * sizeof *clients);
	memset(clients, 0, n * sizeof *clients);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		bench_fatal("epoll_create1: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		if ((clients[i].fd = bench_connect(socket_path)) == -1)
			bench_fatal("connect %s: %s", socket_path,
			    strerror(errno));
		fcntl(clients[i].fd, F_SETFL, O_NONBLOCK);
		clients[i].generations = i >= status_clients;
		ev.events = EPOLLIN;
		ev.data.ptr = &clients[i];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, clients[i].fd, &ev) == -1)
			bench_fatal("epoll_ctl: %s", strerror(errno));
	}
	/* The generations listers start first, so that every status call
	 * meets one under way. */
	for (i = n - 1; i >= 0; i--)
		bench_client_send(&clients[i]);
	start = bench_now();
	end = start + (int64_t)(seconds * 1e9);
	while ((now = bench_now()) < end) {
		timeout = (int)((end - now) / 1000000) + 1;
		ready = epoll_wait(epfd, events, BENCH_MAX_EVENTS, timeout);
		if (ready == -1 && errno != EINTR)
			bench_fatal("epoll_wait: %s", strerror(errno));
		now = bench_now();
		for (i = 0; i < ready; i++)
			bench_client_read(events[i].data.ptr, &latencies, now,
			    &pages);
	}
	now = bench_now();
	qsort(latencies.us, latencies.count, sizeof *latencies.us,
	    bench_compare_u32);
	printf("calls=%zu seconds=%.3f rate=%.1f p50_us=%u p99_us=%u "
	    "max_us=%u generations_pages=%ld\n", latencies.count,
	    (now - start) / 1e9, latencies.count / ((now - start) / 1e9),
	    bench_quantile(&latencies, 0.5), bench_quantile(&latencies, 0.99),
	    latencies.count ? latencies.us[latencies.count - 1] : 0, pages);
	for (i = 0; i < n; i++)
		close(clients[i].fd);
	free(clients);
	free(latencies.us);
	return 0;
}

/* capture: one status answer, frame and all, to FILE. */
static int
bench_capture(int argc, char **argv)
{
	Profiled__Response	*response;
	const char		*socket_path = NULL, *out = NULL;
	unsigned char		*request, *frame;
	size_t			 request_size, size;
	FILE			*f;
	int			 fd, opt;

	while ((opt = getopt(argc, argv, "s:o:")) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'o': out = optarg; break;
		default: return 2;
		}
	}
	if (socket_path == NULL || out == NULL)
		bench_fatal("usage: capture -s SOCKET -o FILE");
	if ((fd = bench_connect(socket_path)) == -1)
		bench_fatal("connect %s: %s", socket_path, strerror(errno));
	request = bench_request(0, 0, &request_size);
	if (bench_call(fd, request, request_size, &frame, &size) == -1)
		bench_fatal("no answer from %s", socket_path);
	if ((response = bench_unpack(frame, size)) == NULL ||
	    response->result_case != PROFILED__RESPONSE__RESULT_STATUS)
		bench_fatal("the answer is not a Status");
	profiled__response__free_unpacked(response, NULL);
	if ((f = fopen(out, "w")) == NULL || fwrite(frame, size, 1, f) != 1 ||
	    fclose(f) != 0)
		bench_fatal("%s: %s", out, strerror(errno));
	printf("bytes=%zu\n", size);
	free(frame);
	free(request);
	close(fd);
	return 0;
}

/* A connection to the echo server: what it sent, what waits to go. */
struct bench_echo_client {
	int		 fd;
	unsigned char	*in;
	size_t		 in_len;
	size_t		 in_size;
	unsigned char	*out;
	size_t		 out_len;
	size_t		 out_size;
};

static void
bench_echo_close(int epfd, struct bench_echo_client *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Flush what waits for c; -1 if the connection is gone. */
static int
bench_echo_flush(int epfd, struct bench_echo_client *c)
{
	struct epoll_event	ev;
	ssize_t			n;

	while (c->out_len > 0) {
		n = write(c->fd, c->out, c->out_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1)
			return -1;
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	ev.events = EPOLLIN | (c->out_len > 0 ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Read what c sent and queue the canned answer once per whole frame. */
static int
bench_echo_read(int epfd, struct bench_echo_client *c,
    const unsigned char *answer, size_t answer_size)
{
	uint32_t	len;
	ssize_t		n;

	if (c->in_size - c->in_len < 4096) {
		c->in_size = c->in_size * 2 + 4096;
		c->in = bench_alloc(c->in, c->in_size);
	}
	n = read(c->fd, c->in + c->in_len, c->in_size - c->in_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	c->in_len += n;
	while (c->in_len >= FRAME_HEADER_SIZE) {
		if (frame_header_decode(c->in, &len) == -1)
			return -1;
		if (c->in_len < FRAME_HEADER_SIZE + len)
			break;
		memmove(c->in, c->in + FRAME_HEADER_SIZE + len,
		    c->in_len - FRAME_HEADER_SIZE - len);
		c->in_len -= FRAME_HEADER_SIZE + len;
		if (c->out_size - c->out_len < answer_size) {
			c->out_size = c->out_size * 2 + answer_size;
			c->out = bench_alloc(c->out, c->out_size);
		}
		memcpy(c->out + c->out_len, answer, answer_size);
		c->out_len += answer_size;
	}
	return bench_echo_flush(epfd, c);
}

/* echo: serve FILE's frame to every request frame, until killed. */
static int
bench_echo(int argc, char **argv)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct epoll_event	 ev, events[BENCH_MAX_EVENTS];
	struct bench_echo_client *c;
	const char		*socket_path = NULL, *file = NULL;
	unsigned char		*answer;
	struct stat		 sb;
	int			 listener, epfd, fd, opt, ready, i;
	FILE			*f;

	while ((opt = getopt(argc, argv, "s:f:")) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 'f': file = optarg; break;
		default: return 2;
		}
	}
	if (socket_path == NULL || file == NULL)
		bench_fatal("usage: echo -s SOCKET -f FILE");
	if ((f = fopen(file, "r")) == NULL || fstat(fileno(f), &sb) == -1)
		bench_fatal("%s: %s", file, strerror(errno));
	answer = bench_alloc(NULL, sb.st_size);
	if (fread(answer, sb.st_size, 1, f) != 1)
		bench_fatal("%s: short read", file);
	fclose(f);

	if (strlen(socket_path) >= sizeof sun.sun_path)
		bench_fatal("socket path too long: %s", socket_path);
	strcpy(sun.sun_path, socket_path);
	unlink(socket_path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (listener == -1 ||
	    bind(listener, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(listener, 128) == -1)
		bench_fatal("%s: %s", socket_path, strerror(errno));
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		bench_fatal("epoll_create1: %s", strerror(errno));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
	for (;;) {
		ready = epoll_wait(epfd, events, BENCH_MAX_EVENTS, -1);
		if (ready == -1 && errno != EINTR)
			bench_fatal("epoll_wait: %s", strerror(errno));
		for (i = 0; i < ready; i++) {
			if ((c = events[i].data.ptr) == NULL) {
				fd = accept4(listener, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd == -1)
					continue;
				c = bench_alloc(NULL, sizeof *c);
				memset(c, 0, sizeof *c);
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			if (((events[i].events & EPOLLOUT) &&
			    bench_echo_flush(epfd, c) == -1) ||
			    ((events[i].events & (EPOLLIN | EPOLLHUP |
			    EPOLLERR)) &&
			    bench_echo_read(epfd, c, answer, sb.st_size) == -1))
				bench_echo_close(epfd, c);
		}
	}
}

/* Whether pid has exited (and reap it: it is our child). */
static int
bench_exited(pid_t pid)
{
	int	status;

	return waitpid(pid, &status, WNOHANG) == pid;
}

/*
 * Whether the daemon on fd says, in its status, that adoption is over
 * (no adopting member); -1 if it did not answer.
 */
static int
bench_adoption_over(int fd)
{
	Profiled__Response	*response;
	unsigned char		*request, *frame;
	size_t			 request_size, size;
	int			 over;

	request = bench_request(0, 0, &request_size);
	if (bench_call(fd, request, request_size, &frame, &size) == -1) {
		free(request);
		return -1;
	}
	free(request);
	response = bench_unpack(frame, size);
	free(frame);
	if (response == NULL || response->result_case !=
	    PROFILED__RESPONSE__RESULT_STATUS) {
		if (response != NULL)
			profiled__response__free_unpacked(response, NULL);
		return -1;
	}
	over = !response->status->has_adopting_total;
	profiled__response__free_unpacked(response, NULL);
	return over;
}

/*
 * start: run COMMAND (the daemon) in a session of its own, its output to
 * LOG and its pid to PIDFILE at once; time from the fork to its first
 * status answer, and with -a to the moment adoption is over (status says
 * no more "adopting": every generation recorded with its packages) and it
 * lists GENERATIONS generations.  The daemon runs on when this returns.
 */
static int
bench_start(int argc, char **argv)
{
	const char	*socket_path = NULL, *log = NULL, *pidfile = NULL;
	unsigned char	*request, *frame;
	size_t		 request_size, size;
	double		 seconds = 60;
	long		 adopted = -1, count;
	int64_t		 start, deadline, first = -1;
	pid_t		 pid;
	FILE		*f;
	int		 fd, opt;

	while ((opt = getopt(argc, argv, "+s:t:l:p:a:")) != -1) {
		switch (opt) {
		case 's': socket_path = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'l': log = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'a': adopted = atol(optarg); break;
		default: return 2;
		}
	}
	if (socket_path == NULL || log == NULL || pidfile == NULL ||
	    optind == argc)
		bench_fatal("usage: start -s SOCKET -t SECONDS -l LOG "
		    "-p PIDFILE [-a GENERATIONS] COMMAND...");
	start = bench_now();
	deadline = start + (int64_t)(seconds * 1e9);
	if ((pid = fork()) == -1)
		bench_fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) ==
		    -1)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, 0);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	if ((f = fopen(pidfile, "w")) == NULL)
		bench_fatal("%s: %s", pidfile, strerror(errno));
	fprintf(f, "%ld\n", (long)pid);
	fclose(f);

	request = bench_request(0, 0, &request_size);
	while (first == -1) {
		if (bench_exited(pid))
			bench_fatal("the daemon exited before answering");
		if (bench_now() > deadline) {
			printf("pid=%ld first_ms=timeout adopted_ms=timeout\n",
			    (long)pid);
			return BENCH_TIMEOUT_EXIT;
		}
		if ((fd = bench_connect(socket_path)) != -1) {
			if (bench_call(fd, request, request_size, &frame,
			    &size) == 0) {
				first = bench_now();
				free(frame);
			}
			close(fd);
		}
		if (first == -1)
			bench_pause(1);
	}
	free(request);
	if (adopted < 0) {
		printf("pid=%ld first_ms=%.3f\n", (long)pid,
		    bench_ms(first - start));
		return 0;
	}
	for (;;) {
		count = -1;
		if ((fd = bench_connect(socket_path)) != -1) {
			/* Listing forces recording; only once it is over. */
			if (bench_adoption_over(fd) == 1)
				count = bench_count_generations(fd);
			close(fd);
		}
		if (count >= adopted)
			break;
		if (bench_exited(pid))
			bench_fatal("the daemon exited while adopting");
		if (bench_now() > deadline) {
			printf("pid=%ld first_ms=%.3f adopted_ms=timeout\n",
			    (long)pid, bench_ms(first - start));
			return BENCH_TIMEOUT_EXIT;
		}
		bench_pause(10);
	}
	printf("pid=%ld first_ms=%.3f adopted_ms=%.3f\n", (long)pid,
	    bench_ms(first - start), bench_ms(bench_now() - start));
	return 0;
}

/*
 * Wait for child pid until deadline (monotonic ns; 0: none); its wait
 * status, or -1 if the deadline came first.  SIGCHLD is blocked.
 */
static int
bench_wait_child(pid_t pid, int64_t deadline)
{
	struct timespec	 ts;
	sigset_t	 set;
	int64_t		 left;
	int		 status;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (deadline == 0) {
			if (waitpid(pid, &status, 0) == pid)
				return status;
			continue;
		}
		if ((left = deadline - bench_now()) <= 0)
			return -1;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		sigtimedwait(&set, NULL, &ts);
	}
}

/*
 * time: run each COMMAND in turn (commands apart by a ';' argument), their
 * output to /dev/null and their errors to ours; the wall time of all.  One
 * that fails stops the rest; past SECONDS, the one running is killed.
 */
static int
bench_time(int argc, char **argv)
{
	double		 seconds = 0;
	int64_t		 start, deadline = 0;
	sigset_t	 set;
	pid_t		 pid;
	int		 opt, i, first, status, null;

	while ((opt = getopt(argc, argv, "+t:")) != -1) {
		switch (opt) {
		case 't': seconds = atof(optarg); break;
		default: return 2;
		}
	}
	if (optind == argc)
		bench_fatal("usage: time [-t SECONDS] COMMAND... "
		    "[';' COMMAND...]");
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		bench_fatal("/dev/null: %s", strerror(errno));
	start = bench_now();
	if (seconds > 0)
		deadline = start + (int64_t)(seconds * 1e9);
	for (first = optind; first < argc; first = i + 1) {
		for (i = first; i < argc && strcmp(argv[i], ";") != 0; i++)
			;
		argv[i] = NULL;
		if ((pid = fork()) == -1)
			bench_fatal("fork: %s", strerror(errno));
		if (pid == 0) {
			setpgid(0, 0);
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			dup2(null, 1);
			execvp(argv[first], argv + first);
			fprintf(stderr, "%s: %s\n", argv[first],
			    strerror(errno));
			_exit(127);
		}
		setpgid(pid, pid);
		if ((status = bench_wait_child(pid, deadline)) == -1) {
			kill(-pid, SIGKILL);
			bench_wait_child(pid, 0);
			printf("ms=timeout\n");
			return BENCH_TIMEOUT_EXIT;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bench-rpc time: %s failed (status "
			    "%d)\n", argv[first], status);
			printf("ms=failed\n");
			return 1;
		}
	}
	printf("ms=%.3f\n", bench_ms(bench_now() - start));
	return 0;
}

/* The profile link's target into buf; "" if there is none. */
static void
bench_readlink(const char *path, char *buf, size_t size)
{
	ssize_t	n;

	if ((n = readlink(path, buf, size - 1)) == -1)
		n = 0;
	buf[n] = '\0';
}

/*
 * save: rename NEW over FILE (the package file) and wait until the profile
 * link points elsewhere (nix-env --set renames a new link over it): the
 * time from the save to the generation being active.
 */
static int
bench_save(int argc, char **argv)
{
	const char	*file = NULL, *new = NULL, *profile = NULL;
	char		 before[PATH_MAX], now[PATH_MAX], dir[PATH_MAX], *slash;
	char		 events[4096];
	double		 seconds = 60;
	int64_t		 start, deadline, left;
	fd_set		 set;
	struct timeval	 tv;
	int		 fd, opt;

	while ((opt = getopt(argc, argv, "f:n:p:t:")) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'n': new = optarg; break;
		case 'p': profile = optarg; break;
		case 't': seconds = atof(optarg); break;
		default: return 2;
		}
	}
	if (file == NULL || new == NULL || profile == NULL)
		bench_fatal("usage: save -f FILE -n NEW -p PROFILE -t SECONDS");
	snprintf(dir, sizeof dir, "%s", profile);
	if ((slash = strrchr(dir, '/')) == NULL)
		bench_fatal("%s: not a path", profile);
	*slash = '\0';
	/* Watch first, then look: a change in between is not missed. */
	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1 ||
	    inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) == -1)
		bench_fatal("inotify %s: %s", dir, strerror(errno));
	bench_readlink(profile, before, sizeof before);
	start = bench_now();
	deadline = start + (int64_t)(seconds * 1e9);
	if (rename(new, file) == -1)
		bench_fatal("rename %s: %s", new, strerror(errno));
	for (;;) {
		bench_readlink(profile, now, sizeof now);
		if (*now != '\0' && strcmp(now, before) != 0)
			break;
		if ((left = deadline - bench_now()) <= 0) {
			printf("ms=timeout\n");
			return BENCH_TIMEOUT_EXIT;
		}
		FD_ZERO(&set);
		FD_SET(fd, &set);
		tv.tv_sec = left / 1000000000;
		tv.tv_usec = (left % 1000000000) / 1000;
		if (select(fd + 1, &set, NULL, NULL, &tv) > 0)
			while (read(fd, events, sizeof events) > 0)
				;
	}
	printf("ms=%.3f\n", bench_ms(bench_now() - start));
	close(fd);
	return 0;
}

/* Write text to path by a rename, as editors save. */
static void
bench_write_file(const char *path, const char *text, long serial)
{
	char	tmp[PATH_MAX];
	FILE	*f;

	snprintf(tmp, sizeof tmp, "%s.bench-tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		bench_fatal("%s: %s", tmp, strerror(errno));
	fprintf(f, "%s# burst save %ld\n", text, serial);
	if (fclose(f) != 0 || rename(tmp, path) == -1)
		bench_fatal("%s: %s", path, strerror(errno));
}

/*
 * burst: COUNT saves of FILE, each TEMPLATE's text and a different comment,
 * at INTERVAL_MS apart on a fixed schedule, so that slow writes do not
 * stretch the burst.
 */
static int
bench_burst(int argc, char **argv)
{
	const char	*file = NULL, *template = NULL;
	char		*text;
	long		 count = 100, interval = 20, i;
	struct timespec	 at;
	struct stat	 sb;
	int64_t		 start;
	FILE		*f;
	int		 opt;

	while ((opt = getopt(argc, argv, "f:T:n:i:")) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'T': template = optarg; break;
		case 'n': count = atol(optarg); break;
		case 'i': interval = atol(optarg); break;
		default: return 2;
		}
	}
	if (file == NULL || template == NULL || count < 1 || interval < 0)
		bench_fatal("usage: burst -f FILE -T TEMPLATE -n COUNT "
		    "-i INTERVAL_MS");
	if ((f = fopen(template, "r")) == NULL || fstat(fileno(f), &sb) == -1)
		bench_fatal("%s: %s", template, strerror(errno));
	text = bench_alloc(NULL, sb.st_size + 1);
	if (sb.st_size > 0 && fread(text, sb.st_size, 1, f) != 1)
		bench_fatal("%s: short read", template);
	text[sb.st_size] = '\0';
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &at);
	start = bench_now();
	for (i = 0; i < count; i++) {
		bench_write_file(file, text, i);
		at.tv_nsec += interval * 1000000;
		at.tv_sec += at.tv_nsec / 1000000000;
		at.tv_nsec %= 1000000000;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at,
		    NULL) == EINTR)
			;
	}
	printf("saves=%ld ms=%.3f\n", count, bench_ms(bench_now() - start));
	free(text);
	return 0;
}

/*
 * links: make PROFILE's generations 1 to COUNT as Nix names them
 * (PROFILE-N-link), each pointing at one of the TARGETs in turn, and
 * PROFILE pointing at the last, as nix-env leaves a profile.
 */
static int
bench_links(int argc, char **argv)
{
	const char	*profile = NULL, *name;
	char		 link[PATH_MAX], last[PATH_MAX];
	long		 count = 0, i, targets;
	int		 opt;

	while ((opt = getopt(argc, argv, "p:n:")) != -1) {
		switch (opt) {
		case 'p': profile = optarg; break;
		case 'n': count = atol(optarg); break;
		default: return 2;
		}
	}
	targets = argc - optind;
	if (profile == NULL || count < 1 || targets < 1)
		bench_fatal("usage: links -p PROFILE -n COUNT TARGET...");
	name = strrchr(profile, '/') != NULL ? strrchr(profile, '/') + 1 :
	    profile;
	for (i = 1; i <= count; i++) {
		snprintf(link, sizeof link, "%s-%ld-link", profile, i);
		if (symlink(argv[optind + (i - 1) % targets], link) == -1)
			bench_fatal("%s: %s", link, strerror(errno));
	}
	snprintf(last, sizeof last, "%s-%ld-link", name, count);
	if (symlink(last, profile) == -1)
		bench_fatal("%s: %s", profile, strerror(errno));
	printf("links=%ld\n", count);
	return 0;
}

static const struct {
	const char	*name;
	int		(*run)(int, char **);
} bench_commands[] = {
	{ "load", bench_load },
	{ "capture", bench_capture },
	{ "echo", bench_echo },
	{ "start", bench_start },
	{ "time", bench_time },
	{ "save", bench_save },
	{ "burst", bench_burst },
	{ "links", bench_links },
};

int
main(int argc, char **argv)
{
	size_t	i;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		bench_fatal("usage: bench-rpc COMMAND [ARGS]");
	for (i = 0; i < sizeof bench_commands / sizeof bench_commands[0];
	    i++) {
		if (strcmp(argv[1], bench_commands[i].name) == 0) {
			bench_command = argv[1];
			setvbuf(stdout, NULL, _IOLBF, 0);
			return bench_commands[i].run(argc - 1, argv + 1);
		}
	}
	bench_fatal("unknown command: %s", argv[1]);
}
