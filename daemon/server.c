/*
 * The control socket: accepting profilectl's connections and moving frames.
 *
 * Each client is a bufferevent.  Requests are handed to rpc.c one frame at
 * a time; a client that sends a frame over FRAME_MAX or one that does not
 * unpack is dropped, never the daemon.  Clients are known to the rest of
 * the daemon by a number, so a reply meant for a client that has gone is
 * simply discarded.  A client that stops reading (a stalled `profilectl
 * watch`) is dropped once SERVER_OUTPUT_MAX waits for it, so the daemon's
 * memory does not grow with its backlog.  On EMFILE, accepting pauses for
 * a second rather than spinning on a listening socket that stays readable.
 * A socket profiled bound itself is removed whenever it exits, even
 * through fatal(); one systemd passed is systemd's, and stays.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "profiled.h"
#include "frame.h"
#include "profiled.pb-c.h"

/* Output waiting for one client beyond which it is dropped. */
#define SERVER_OUTPUT_MAX	(4 * FRAME_MAX)

struct server_client {
	uint64_t		 id;
	struct bufferevent	*bev;
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
static char			*server_path;	/* a socket we bound */
static pid_t			 server_pid;	/* the process that bound it */

static void	server_client_free(struct server_client *);

static struct server_client *
server_client_find(uint64_t id)
{
	struct server_client	*c;

	LIST_FOREACH(c, &server_clients, entry) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

static void
server_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct server_client	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	unsigned char		 header[FRAME_HEADER_SIZE], *body;
	uint32_t		 len;
	Profiled__Request	*request;

	/* rpc_dispatch may drop c (it stopped reading): c stays till later. */
	while (!c->dropped &&
	    evbuffer_get_length(in) >= FRAME_HEADER_SIZE) {
		evbuffer_copyout(in, header, sizeof header);
		if (frame_header_decode(header, &len) == -1) {
			log_warnx("client %llu: frame of %u bytes refused",
			    (unsigned long long)c->id, len);
			server_client_free(c);
			return;
		}
		if (evbuffer_get_length(in) < FRAME_HEADER_SIZE + len)
			return;
		evbuffer_drain(in, FRAME_HEADER_SIZE);
		body = evbuffer_pullup(in, len);
		request = profiled__request__unpack(NULL, len, body);
		evbuffer_drain(in, len);
		if (request == NULL) {
			log_warnx("client %llu: bad request",
			    (unsigned long long)c->id);
			server_client_free(c);
			return;
		}
		rpc_dispatch(c->id, request);
		profiled__request__free_unpacked(request, NULL);
	}
}

static void
server_client_event_cb(struct bufferevent *bev, short events, void *arg)
{
	server_client_free(arg);
}

static void
server_client_free(struct server_client *c)
{
	LIST_REMOVE(c, entry);
	events_client_gone(c->id);
	bufferevent_free(c->bev);
	free(c);
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
	bufferevent_disable(c->bev, EV_READ|EV_WRITE);
	event_active(server_reap_event, EV_TIMEOUT, 0);
}

/* Send response to client id, if it is still connected. */
void
server_send(uint64_t id, const Profiled__Response *response)
{
	struct server_client	*c;
	unsigned char		*frame;
	size_t			 size;

	if ((c = server_client_find(id)) == NULL || c->dropped)
		return;
	if ((frame = frame_pack(&response->base, &size)) == NULL) {
		log_warnx("client %llu: response too large",
		    (unsigned long long)id);
		/* An event too large is skipped; an answer must come. */
		if (response->result_case != PROFILED__RESPONSE__RESULT_ERROR &&
		    response->result_case != PROFILED__RESPONSE__RESULT_EVENT)
			rpc_reply_error(id, "the answer is larger than a frame");
		return;
	}
	bufferevent_write(c->bev, frame, size);
	free(frame);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    SERVER_OUTPUT_MAX) {
		log_warnx("client %llu is not reading; dropping it",
		    (unsigned long long)id);
		server_client_drop(c);
	}
}

static void
server_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	event_add(server_accept_event, NULL);
}

static void
server_accept_cb(evutil_socket_t fd, short events, void *arg)
{
	struct server_client	*c;
	struct timeval		 tv = { 1, 0 };
	int			 client_fd;

	client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC);
	if (client_fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warn("accept");
			event_del(server_accept_event);
			evtimer_add(server_pause_event, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->id = server_next_id++;
	c->bev = bufferevent_socket_new(server_base, client_fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(client_fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, server_client_read_cb, NULL,
	    server_client_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
	LIST_INSERT_HEAD(&server_clients, c, entry);
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
 * Bind the socket at path (0600, its directory made 0700 if missing),
 * refusing if another daemon answers there; -1 and *cause if it fails.
 */
static int
server_bind(const char *path, char **cause)
{
	struct sockaddr_un	 sa;
	char			*dir;
	mode_t			 mask;
	int			 fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path) {
		xasprintf(cause, "socket path %s is too long", path);
		return -1;
	}
	strcpy(sa.sun_path, path);

	dir = path_dirname(path);
	if (access(dir, F_OK) == -1 && path_mkdir(dir, 0700, cause) == -1) {
		free(dir);
		return -1;
	}
	free(dir);

	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * A socket someone answers on is a running daemon, even one too busy
	 * to accept (EAGAIN); refused or missing, it is stale.
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ||
	    errno == EAGAIN) {
		xasprintf(cause, "another profiled is listening on %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path);
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
	server_remove_socket();
}
