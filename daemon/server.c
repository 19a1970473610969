/*
 * The control socket: accepting profilectl's connections and moving frames.
 *
 * Only the daemon's own user may drive it: every connection's peer
 * credentials (SO_PEERCRED) are checked, whether the socket was bound here
 * or passed by systemd, and another uid gets an error frame, logged with
 * its uid and pid.  A socket bound here goes in a directory that is ours
 * and writable by no one else, so no one can swap it, and nothing but a
 * stale socket is ever removed from its path.
 *
 * Each client is a socket with a read event, a write event added only while
 * output waits, and an evbuffer each way.  One read per wakeup takes what
 * the socket holds and every whole frame in it is handed to rpc.c, straight
 * from the read buffer when nothing was left over; a reply is written at
 * once with one send, and only what the socket does not take is kept.  So
 * a status call costs one read and one send, and no event is re-armed.
 * A client that sends a frame over FRAME_MAX or one that does not unpack is
 * dropped, never the daemon.  Clients are known to the rest of
 * the daemon by a number, so a reply meant for a client that has gone is
 * simply discarded.  No client can starve the others: one that stops
 * reading (a stalled `profilectl watch`) is dropped once SERVER_OUTPUT_MAX
 * waits for it; one that starts a frame and does not finish it within
 * SERVER_FRAME_SECONDS is dropped (between frames a client may idle for
 * ever: watch and log -f do); partial frames of all clients together are
 * held to SERVER_INPUT_MAX; and past SERVER_CLIENTS_MAX connections, a new
 * one is told so and closed.  Out of descriptors (EMFILE, ENFILE), a
 * descriptor kept in reserve is let go to accept and refuse each waiting
 * client with an error frame rather than leave it hanging; without it,
 * accepting pauses until a client leaves or a second passes, rather than
 * spinning on a listening socket that stays readable.
 *
 * A socket profiled bound itself is removed whenever it exits, even
 * through fatal(); one systemd passed is systemd's, and stays.
 */
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "profiled.h"
#include "frame.h"
#include "profiled.pb-c.h"

#define STRINGIFY_(x)		#x
#define STRINGIFY(x)		STRINGIFY_(x)

/* Output waiting for one client beyond which it is dropped. */
#define SERVER_OUTPUT_MAX	(4 * FRAME_MAX)
/* Partial frames of all clients together, beyond which one is dropped. */
#define SERVER_INPUT_MAX	(16 * 1024 * 1024)
/* Connections served at once; more are refused with an error frame. */
#define SERVER_CLIENTS_MAX	1024
/* Seconds a frame may take to arrive whole once its first byte has. */
#define SERVER_FRAME_SECONDS	5
/* Seconds accepting pauses when out of descriptors with none in reserve. */
#define SERVER_PAUSE_SECONDS	1
/* Bytes one read takes from a client. */
#define SERVER_READ_SIZE	65536
/* A call handler running longer than this on the loop is logged (debug). */
#define SERVER_SLOW_MS		5

struct server_client {
	uint64_t		 id;
	int			 fd;
	struct event		*read_event;
	struct event		*write_event;	/* added while out waits */
	struct evbuffer		*in;		/* a partial frame */
	struct evbuffer		*out;		/* what the socket did not take */
	struct event		*frame_timer;	/* a partial frame's deadline */
	size_t			 buffered;	/* of a partial frame */
	pid_t			 pid;		/* that connected */
	int			 dropped;	/* freed by server_reap_cb */
	LIST_ENTRY(server_client) entry;
};

static struct event_base	*server_base;
static struct event		*server_accept_event;
static struct event		*server_pause_event;
static struct event		*server_reap_event;
static LIST_HEAD(, server_client) server_clients =
    LIST_HEAD_INITIALIZER(server_clients);
static uint64_t			 server_next_id = 1;
static size_t			 server_nclients;
static size_t			 server_buffered; /* all partial frames */
static int			 server_paused;	/* accept_event removed */
static int			 server_exhausted; /* said we are out of fds */
static int			 server_reserve = -1; /* fd let go on EMFILE */
static char			*server_path;	/* a socket we bound */
static pid_t			 server_pid;	/* the process that bound it */

static void	server_client_free(struct server_client *);
static void	server_client_drop(struct server_client *);

static struct server_client *
server_client_find(uint64_t id)
{
	struct server_client	*c;

	LIST_FOREACH(c, &server_clients, entry) {
		if (c->id == id)
			break;
	}
	/* The client answered now is likely answered again soon. */
	if (c != NULL && c != LIST_FIRST(&server_clients)) {
		LIST_REMOVE(c, entry);
		LIST_INSERT_HEAD(&server_clients, c, entry);
	}
	return c;
}

/* A client started a frame SERVER_FRAME_SECONDS ago and has not ended it. */
static void
server_client_stalled_cb(evutil_socket_t fd, short events, void *arg)
{
	struct server_client	*c = arg;

	log_warnx("client %llu sent %zu bytes of a frame and stalled for %d s; "
	    "dropping it", (unsigned long long)c->id, c->buffered,
	    SERVER_FRAME_SECONDS);
	server_client_free(c);
}

/*
 * Account for what c holds of a partial frame after a read, newly begun
 * says a frame started since the last: its deadline is set from its first
 * byte (a client trickling bytes gains nothing), and the client is dropped
 * if all partial frames together pass SERVER_INPUT_MAX.  -1 if c is gone.
 */
static int
server_client_pending(struct server_client *c, int newly_begun)
{
	struct timeval	tv = { SERVER_FRAME_SECONDS, 0 };
	size_t		len = evbuffer_get_length(c->in);

	server_buffered = server_buffered - c->buffered + len;
	c->buffered = len;
	if (len == 0) {
		evtimer_del(c->frame_timer);
		return 0;
	}
	if (server_buffered > SERVER_INPUT_MAX) {
		log_warnx("client %llu: partial frames pass %d MiB in all; "
		    "dropping it, with %zu bytes of a frame",
		    (unsigned long long)c->id, SERVER_INPUT_MAX >> 20, len);
		server_client_free(c);
		return -1;
	}
	if (newly_begun || !evtimer_pending(c->frame_timer, NULL))
		evtimer_add(c->frame_timer, &tv);
	return 0;
}

/*
 * Hand client c's request, len bytes of body, to rpc.c; -1 if it does not
 * unpack (c is freed) or c was dropped meanwhile.  A handler that holds the
 * loop past SERVER_SLOW_MS is logged, so that a regression shows.
 */
static int
server_client_request(struct server_client *c, const unsigned char *body,
    uint32_t len)
{
	Profiled__Request	*request;
	struct timespec		 start, end, cpu_start, cpu_end;
	long long		 ms;
	int			 timed;

	if ((request = profiled__request__unpack(NULL, len, body)) == NULL) {
		log_warnx("client %llu: bad request",
		    (unsigned long long)c->id);
		server_client_free(c);
		return -1;
	}
	/*
	 * The call's CPU time apart (the rest is the machine's, other
	 * processes): the thread's clock is a system call, not for status,
	 * the call made most, answered from memory.
	 */
	timed = request->call_case != PROFILED__REQUEST__CALL_STATUS;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (timed)
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
	rpc_dispatch(c->id, request);
	if (timed)
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1000LL +
	    (end.tv_nsec - start.tv_nsec) / 1000000;
	if (ms > SERVER_SLOW_MS && timed)
		log_debug("client %llu: request %d held the loop for %lld ms "
		    "(%.1f ms of CPU)", (unsigned long long)c->id,
		    (int)request->call_case, ms,
		    (cpu_end.tv_sec - cpu_start.tv_sec) * 1e3 +
		    (cpu_end.tv_nsec - cpu_start.tv_nsec) / 1e6);
	else if (ms > SERVER_SLOW_MS)
		log_debug("client %llu: request %d held the loop for %lld ms",
		    (unsigned long long)c->id, (int)request->call_case, ms);
	profiled__request__free_unpacked(request, NULL);
	return c->dropped ? -1 : 0;
}

/*
 * Handle every whole frame of the len bytes at data; the number of bytes
 * they took, or -1 if c is gone or dropped.
 */
static ssize_t
server_client_frames(struct server_client *c, const unsigned char *data,
    size_t len)
{
	size_t		used = 0;
	uint32_t	body;

	while (len - used >= FRAME_HEADER_SIZE) {
		if (frame_header_decode(data + used, &body) == -1) {
			log_warnx("client %llu: frame of %u bytes refused",
			    (unsigned long long)c->id, body);
			server_client_free(c);
			return -1;
		}
		if (len - used - FRAME_HEADER_SIZE < body)
			break;
		used += FRAME_HEADER_SIZE;
		if (server_client_request(c, data + used, body) == -1)
			return -1;
		used += body;
	}
	return used;
}

/*
 * What client c sent: one read a wakeup (the event is level-triggered, so
 * more comes next turn), its frames handled from the read buffer itself
 * unless part of a frame was waiting.
 */
static void
server_client_read_cb(evutil_socket_t fd, short events, void *arg)
{
	static unsigned char	 buf[SERVER_READ_SIZE];
	struct server_client	*c = arg;
	const unsigned char	*data = buf;
	ssize_t			 n, used;
	size_t			 len, before = evbuffer_get_length(c->in);

	if ((n = read(fd, buf, sizeof buf)) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_debug("client %llu: read: %s", (unsigned long long)c->id,
		    strerror(errno));
	}
	if (n <= 0) {
		server_client_free(c);
		return;
	}
	len = n;
	if (before > 0) {
		if (evbuffer_add(c->in, buf, n) == -1)
			fatalx("out of memory");
		len = evbuffer_get_length(c->in);
		data = evbuffer_pullup(c->in, -1);
	}
	/* rpc_dispatch may drop c (it stopped reading): c stays till later. */
	if ((used = server_client_frames(c, data, len)) == -1)
		return;
	if (before > 0)
		evbuffer_drain(c->in, used);
	else if ((size_t)used < len && evbuffer_add(c->in, buf + used,
	    len - used) == -1)
		fatalx("out of memory");
	server_client_pending(c, before == 0 || used > 0);
}

/* Send what waits for client c, as much as its socket takes. */
static void
server_client_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct server_client	*c = arg;

	if (evbuffer_write(c->out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		log_debug("client %llu: write: %s", (unsigned long long)c->id,
		    strerror(errno));
		server_client_drop(c);
		return;
	}
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->write_event);
}

/* Take new connections again, after a pause for want of descriptors. */
static void
server_resume(void)
{
	if (!server_paused)
		return;
	server_paused = 0;
	evtimer_del(server_pause_event);
	event_add(server_accept_event, NULL);
}

static void
server_client_free(struct server_client *c)
{
	LIST_REMOVE(c, entry);
	events_client_gone(c->id);
	server_buffered -= c->buffered;
	server_nclients--;
	event_free(c->frame_timer);
	event_free(c->read_event);
	event_free(c->write_event);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	close(c->fd);
	free(c);
	/* A descriptor is free again. */
	server_resume();
}

/* Free the clients dropped since the loop last turned. */
static void
server_reap_cb(evutil_socket_t fd, short events, void *arg)
{
	struct server_client	*c, *next;

	for (c = LIST_FIRST(&server_clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		if (c->dropped)
			server_client_free(c);
	}
}

/*
 * Drop c: it gets nothing more, and is freed once the loop turns, since
 * callers up the stack (the read loop, a list of subscribers) still hold
 * it.
 */
static void
server_client_drop(struct server_client *c)
{
	c->dropped = 1;
	evtimer_del(c->frame_timer);
	event_del(c->read_event);
	event_del(c->write_event);
	event_active(server_reap_event, EV_TIMEOUT, 0);
}

/*
 * Send the packed frame of size bytes to client id, if it is still
 * connected: written at once when nothing waits before it, and what the
 * socket does not take is kept for the write event.
 */
void
server_send_frame(uint64_t id, const unsigned char *frame, size_t size)
{
	struct server_client	*c;
	ssize_t			 n = 0;

	if ((c = server_client_find(id)) == NULL || c->dropped)
		return;
	if (evbuffer_get_length(c->out) == 0 &&
	    (n = send(c->fd, frame, size, MSG_NOSIGNAL|MSG_DONTWAIT)) == -1) {
		if (errno != EAGAIN && errno != EINTR) {
			log_debug("client %llu: send: %s",
			    (unsigned long long)id, strerror(errno));
			server_client_drop(c);
			return;
		}
		n = 0;
	}
	if ((size_t)n == size)
		return;
	if (evbuffer_add(c->out, frame + n, size - n) == -1)
		fatalx("out of memory");
	event_add(c->write_event, NULL);
	if (evbuffer_get_length(c->out) > SERVER_OUTPUT_MAX) {
		log_warnx("client %llu is not reading; dropping it",
		    (unsigned long long)id);
		server_client_drop(c);
	}
}

/* Send response to client id, if it is still connected. */
void
server_send(uint64_t id, const Profiled__Response *response)
{
	unsigned char	*frame;
	size_t		 size;

	if ((frame = frame_pack(&response->base, &size)) == NULL) {
		log_warnx("client %llu: response too large",
		    (unsigned long long)id);
		/* An event too large is skipped; an answer must come. */
		if (response->result_case != PROFILED__RESPONSE__RESULT_ERROR &&
		    response->result_case != PROFILED__RESPONSE__RESULT_EVENT)
			rpc_reply_error(id, "the answer is larger than a frame");
		return;
	}
	server_send_frame(id, frame, size);
	free(frame);
}

static void
server_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	server_paused = 0;
	event_add(server_accept_event, NULL);
}

/*
 * Answer the new connection fd with an error frame saying message, and
 * close it.  The frame is small and the socket new, so one non-blocking
 * write takes it whole or the client is gone.
 */
static void
server_refuse(int fd, const char *message)
{
	Profiled__Response	 response = PROFILED__RESPONSE__INIT;
	Profiled__Error		 error = PROFILED__ERROR__INIT;
	unsigned char		*frame;
	size_t			 size;

	error.message = (char *)message;
	response.result_case = PROFILED__RESPONSE__RESULT_ERROR;
	response.error = &error;
	if ((frame = frame_pack(&response.base, &size)) != NULL) {
		if (send(fd, frame, size, MSG_NOSIGNAL|MSG_DONTWAIT) == -1)
			log_debug("refusing a client: %s", strerror(errno));
		free(frame);
	}
	close(fd);
}

/* Open the descriptor kept in reserve for refusing clients on EMFILE. */
static void
server_reserve_open(void)
{
	if (server_reserve == -1)
		server_reserve = open("/dev/null", O_RDONLY|O_CLOEXEC);
}

/*
 * accept failed for want of descriptors: let the reserve go to accept one
 * waiting client and refuse it with an error, so it does not hang; if
 * there is no reserve (something else took the slot), stop accepting until
 * a client leaves or SERVER_PAUSE_SECONDS pass.
 */
static void
server_accept_exhausted(int fd, int error)
{
	struct timeval	tv = { SERVER_PAUSE_SECONDS, 0 };
	struct rlimit	rl;
	int		client_fd;

	if (!server_exhausted) {
		server_exhausted = 1;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_warnx("accept: %s (the limit is %llu); refusing new "
			    "connections until some close", strerror(error),
			    (unsigned long long)rl.rlim_cur);
		else
			log_warnx("accept: %s; refusing new connections until "
			    "some close", strerror(error));
	}
	if (server_reserve != -1) {
		close(server_reserve);
		server_reserve = -1;
		client_fd = accept4(fd, NULL, NULL,
		    SOCK_NONBLOCK|SOCK_CLOEXEC);
		if (client_fd != -1)
			server_refuse(client_fd, "profiled is out of file "
			    "descriptors; try again once other connections "
			    "close");
		server_reserve_open();
	}
	if (server_reserve == -1 && !server_paused) {
		server_paused = 1;
		event_del(server_accept_event);
		evtimer_add(server_pause_event, &tv);
	}
}

/*
 * Check the peer credentials of the new connection fd: 0 if it is our own
 * user, else -1 after refusing it and logging who it was.
 */
static int
server_accept_peer(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	char		*message;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("refused a connection: SO_PEERCRED");
		server_refuse(fd, "profiled cannot tell who you are");
		return -1;
	}
	if (cred.uid != geteuid()) {
		log_warnx("refused a connection from uid %u (pid %ld): "
		    "profiled serves uid %u only", (unsigned)cred.uid,
		    (long)cred.pid, (unsigned)geteuid());
		xasprintf(&message, "this profiled serves uid %u only; you "
		    "are uid %u", (unsigned)geteuid(), (unsigned)cred.uid);
		server_refuse(fd, message);
		free(message);
		return -1;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	return 0;
}

static void
server_accept_cb(evutil_socket_t fd, short events, void *arg)
{
	struct server_client	*c;
	int			 client_fd;
	uid_t			 uid;
	pid_t			 pid;

	client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC);
	if (client_fd == -1) {
		if (errno == EMFILE || errno == ENFILE)
			server_accept_exhausted(fd, errno);
		else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (server_exhausted) {
		server_exhausted = 0;
		log_info("accepting connections again");
	}
	if (server_accept_peer(client_fd, &uid, &pid) == -1)
		return;
	if (server_nclients >= SERVER_CLIENTS_MAX) {
		log_warnx("refused a connection from pid %ld: %d connections "
		    "are open", (long)pid, SERVER_CLIENTS_MAX);
		server_refuse(client_fd, "profiled has too many connections "
		    "open (" STRINGIFY(SERVER_CLIENTS_MAX) "); try again once "
		    "some close");
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->id = server_next_id++;
	c->pid = pid;
	c->fd = client_fd;
	c->read_event = event_new(server_base, client_fd, EV_READ|EV_PERSIST,
	    server_client_read_cb, c);
	c->write_event = event_new(server_base, client_fd,
	    EV_WRITE|EV_PERSIST, server_client_write_cb, c);
	c->frame_timer = evtimer_new(server_base, server_client_stalled_cb, c);
	c->in = evbuffer_new();
	c->out = evbuffer_new();
	if (c->read_event == NULL || c->write_event == NULL ||
	    c->frame_timer == NULL || c->in == NULL || c->out == NULL ||
	    event_add(c->read_event, NULL) == -1)
		fatalx("cannot make a client's events");
	LIST_INSERT_HEAD(&server_clients, c, entry);
	server_nclients++;
}

/*
 * Remove the socket we bound, if any, so that no stale socket outlives
 * profiled.  It runs from atexit() too, since fatal() exits from anywhere;
 * a forked child that exits must leave its parent's socket alone.
 */
static void
server_remove_socket(void)
{
	if (server_path == NULL || getpid() != server_pid)
		return;
	unlink(server_path);
	free(server_path);
	server_path = NULL;
}

/*
 * Make sure dir, where the socket goes, is a real directory of ours that
 * no one else can write to, so no one else can replace the socket in it
 * (then profilectl would talk to an impostor): made 0700 if missing,
 * checked with lstat so that a symlink planted in /tmp is refused, not
 * followed.  -1 and *cause, naming it, if not.
 */
static int
server_check_dir(const char *dir, char **cause)
{
	struct stat	sb;

	if (lstat(dir, &sb) == -1 && errno == ENOENT &&
	    path_mkdir(dir, 0700, cause) == -1)
		return -1;
	if (lstat(dir, &sb) == -1) {
		xasprintf(cause, "socket directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "socket directory %s is not a directory%s; "
		    "refusing to listen there", dir, S_ISLNK(sb.st_mode) ?
		    " but a symlink" : "");
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		xasprintf(cause, "socket directory %s belongs to uid %u, not "
		    "to you (uid %u), who could replace the socket; refusing "
		    "to listen there", dir, (unsigned)sb.st_uid,
		    (unsigned)geteuid());
		return -1;
	}
	if ((sb.st_mode & 022) != 0) {
		xasprintf(cause, "socket directory %s is writable by %s (mode "
		    "%04o), who could replace the socket; refusing to listen "
		    "there (chmod go-w %s)", dir, (sb.st_mode & 002) != 0 ?
		    "everyone" : "its group", (unsigned)(sb.st_mode & 07777),
		    dir);
		return -1;
	}
	return 0;
}

/*
 * Make way for a socket at path (sa): nothing there, or a stale socket
 * nobody answers on, which is removed.  Anything else stays: a running
 * daemon's socket, or a file that is not a socket.  -1 and *cause if so.
 */
static int
server_clear_path(const char *path, const struct sockaddr_un *sa,
    char **cause)
{
	struct stat	sb;
	int		fd, answered;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket; not removing "
		    "it (move it away, or set `socket` elsewhere)", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * A socket someone answers on is a running daemon, even one too busy
	 * to accept (EAGAIN); refused, it is stale.
	 */
	answered = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 ||
	    errno == EAGAIN;
	close(fd);
	if (answered) {
		xasprintf(cause, "another profiled is listening on %s", path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "cannot remove the stale socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	log_info("removed the stale socket %s", path);
	return 0;
}

/*
 * Bind the socket at path (0600, in a directory checked by
 * server_check_dir), refusing if another daemon answers there or if
 * something else is in the way; -1 and *cause if it fails.
 */
static int
server_bind(const char *path, char **cause)
{
	struct sockaddr_un	 sa;
	char			*dir;
	mode_t			 mask;
	int			 fd, rc;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		xasprintf(cause, "socket: %s is %zu bytes long; a socket's "
		    "path may have at most %zu", path, strlen(path),
		    sizeof sa.sun_path - 1);
		return -1;
	}
	strcpy(sa.sun_path, path);

	dir = path_dirname(path);
	rc = server_check_dir(dir, cause);
	free(dir);
	if (rc == -1 || server_clear_path(path, &sa, cause) == -1)
		return -1;

	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		umask(mask);
		xasprintf(cause, "cannot bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(mask);
	if (listen(fd, 64) == -1) {
		xasprintf(cause, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (server_pid == 0 && atexit(server_remove_socket) != 0)
		fatalx("atexit failed");
	server_path = xstrdup(path);
	server_pid = getpid();
	return fd;
}

/*
 * Start serving on fd if it is a socket handed over by systemd (>= 0), else
 * on a socket bound at path; -1 and *cause if neither works.
 */
int
server_start(struct event_base *base, int fd, const char *path, char **cause)
{
	server_base = base;
	if (fd == -1 && (fd = server_bind(path, cause)) == -1)
		return -1;
	server_accept_event = event_new(base, fd, EV_READ|EV_PERSIST,
	    server_accept_cb, NULL);
	server_pause_event = evtimer_new(base, server_resume_cb, NULL);
	server_reap_event = evtimer_new(base, server_reap_cb, NULL);
	server_reserve_open();
	if (server_accept_event == NULL || server_pause_event == NULL ||
	    server_reap_event == NULL ||
	    event_add(server_accept_event, NULL) == -1)
		fatalx("cannot add the socket's events");
	return 0;
}

/* Close every client and the listening socket, removing one we bound. */
void
server_stop(void)
{
	while (!LIST_EMPTY(&server_clients))
		server_client_free(LIST_FIRST(&server_clients));
	if (server_accept_event != NULL) {
		close(event_get_fd(server_accept_event));
		event_free(server_accept_event);
		event_free(server_pause_event);
		event_free(server_reap_event);
		server_accept_event = NULL;
	}
	if (server_reserve != -1)
		close(server_reserve);
	server_reserve = -1;
	server_remove_socket();
}
