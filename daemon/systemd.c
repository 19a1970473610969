/*
 * What profiled tells systemd: readiness, a one-line STATUS= kept current,
 * WATCHDOG=1 pings, RELOADING= while it rereads its config and STOPPING=
 * on the way out; and the listening socket systemd may hand over.  Without systemd (no NOTIFY_SOCKET, no LISTEN_FDS,
 * no WATCHDOG_USEC) each of these does nothing, so the daemon runs the same
 * from a terminal.
 *
 * The messages go to $NOTIFY_SOCKET from a non-blocking socket of our own
 * rather than through sd_notify, which blocks while the receiver's queue
 * is full, and the loop must never wait.  What cannot be sent at once
 * waits for the socket to be writable, coalesced: one flag each for
 * READY, WATCHDOG and STOPPING and only the newest RELOADING and STATUS.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "profiled.h"

static struct event		*systemd_watchdog;

/* Messages for systemd not yet sent. */
static struct {
	int		 fd;		/* connected to NOTIFY_SOCKET, or -1 */
	struct event	*writable;
	char		*reloading;	/* "RELOADING=1\nMONOTONIC_USEC=..." */
	int		 ready;
	int		 watchdog;
	char		*status;	/* "STATUS=..." */
	int		 stopping;
} systemd_out = { .fd = -1 };

static void	systemd_flush(void);

static void
systemd_writable_cb(evutil_socket_t fd, short events, void *arg)
{
	systemd_flush();
}

/*
 * Connect a non-blocking datagram socket to NOTIFY_SOCKET (a path, or
 * an abstract name after @), if systemd gave one.
 */
static void
systemd_connect(struct event_base *base)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	int			 fd;

	if (path == NULL || (*path != '/' && *path != '@') ||
	    strlen(path) >= sizeof sun.sun_path)
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (*path == '@')
		sun.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sun, len) == -1) {
		log_warn("cannot reach systemd at %s", path);
		if (fd != -1)
			close(fd);
		return;
	}
	systemd_out.fd = fd;
	systemd_out.writable = event_new(base, fd, EV_WRITE,
	    systemd_writable_cb, NULL);
	if (systemd_out.writable == NULL)
		fatalx("cannot watch systemd's socket");
}

/*
 * Send message; 0 if it went or never will (it is dropped, logged), -1 if
 * the socket is full for now.
 */
static int
systemd_send(const char *message)
{
	if (send(systemd_out.fd, message, strlen(message), MSG_NOSIGNAL) != -1)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return -1;
	log_debug("cannot tell systemd %s: %s", message, strerror(errno));
	return 0;
}

/*
 * Send what waits, in the order it means: reloading (which the READY=1
 * after it ends), ready, status, ping, stopping.
 */
static void
systemd_flush(void)
{
	if (systemd_out.fd == -1)
		return;
	if (systemd_out.reloading != NULL) {
		if (systemd_send(systemd_out.reloading) == -1)
			goto full;
		free(systemd_out.reloading);
		systemd_out.reloading = NULL;
	}
	if (systemd_out.ready) {
		if (systemd_send("READY=1") == -1)
			goto full;
		systemd_out.ready = 0;
	}
	if (systemd_out.status != NULL) {
		if (systemd_send(systemd_out.status) == -1)
			goto full;
		free(systemd_out.status);
		systemd_out.status = NULL;
	}
	if (systemd_out.watchdog) {
		if (systemd_send("WATCHDOG=1") == -1)
			goto full;
		systemd_out.watchdog = 0;
	}
	if (systemd_out.stopping) {
		if (systemd_send("STOPPING=1\nSTATUS=stopping") == -1)
			goto full;
		systemd_out.stopping = 0;
	}
	return;
full:
	event_add(systemd_out.writable, NULL);
}

/* Tell systemd the status line text. */
static void printflike(1, 2)
systemd_set_status(const char *fmt, ...)
{
	va_list	ap;
	char	*text;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	free(systemd_out.status);
	xasprintf(&systemd_out.status, "STATUS=%s", text);
	free(text);
	systemd_flush();
}

/* Ping the watchdog: the loop still turns. */
static void
systemd_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	systemd_out.watchdog = 1;
	systemd_flush();
}

/*
 * Remember the configuration for STATUS=, and ping the watchdog at half
 * its interval if systemd asked for one.  The ping comes from the loop, so
 * a loop that blocks is a daemon systemd restarts.
 */
void
systemd_init(struct event_base *base)
{
	struct timeval	tv;
	uint64_t	usec;
	int		r;

	systemd_connect(base);
	/* Unset, so that Nix's children do not think they are watched. */
	if ((r = sd_watchdog_enabled(1, &usec)) < 0)
		log_warnx("sd_watchdog_enabled: %s", strerror(-r));
	if (r <= 0)
		return;
	usec /= 2;
	tv.tv_sec = usec / 1000000;
	tv.tv_usec = usec % 1000000;
	systemd_watchdog = event_new(base, -1, EV_PERSIST, systemd_watchdog_cb,
	    NULL);
	if (systemd_watchdog == NULL || evtimer_add(systemd_watchdog, &tv) == -1)
		fatalx("cannot add the watchdog timer");
	log_debug("watchdog pinged every %llu ms", (unsigned long long)usec / 1000);
}

/*
 * The listening socket systemd passed (socket activation), or -1 if none;
 * -2 and *cause if it passed something unusable.  It is made non-blocking,
 * as the socket profiled binds itself is, and is never unlinked: systemd
 * owns its path.
 */
int
systemd_listen_fd(char **cause)
{
	int	n, flags;

	n = sd_listen_fds(1);
	if (n < 0) {
		xasprintf(cause, "sd_listen_fds: %s", strerror(-n));
		return -2;
	}
	if (n == 0)
		return -1;
	if (n > 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1,
	    NULL, 0) <= 0) {
		xasprintf(cause, "systemd passed %d socket%s, not the one "
		    "listening Unix stream socket profiled wants", n,
		    n == 1 ? "" : "s");
		return -2;
	}
	if ((flags = fcntl(SD_LISTEN_FDS_START, F_GETFL)) == -1 ||
	    fcntl(SD_LISTEN_FDS_START, F_SETFL, flags|O_NONBLOCK) == -1) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		return -2;
	}
	log_debug("listening on the socket systemd passed");
	return SD_LISTEN_FDS_START;
}

/*
 * Say the daemon is ready: the socket listens and the state is loaded, or
 * a reload is over.
 */
void
systemd_ready(void)
{
	systemd_out.ready = 1;
	systemd_flush();
}

/*
 * Say the daemon is rereading its configuration, until the next
 * systemd_ready().  MONOTONIC_USEC= is when the reload began, which
 * sd_notify(3) asks for so that systemd can tell this reload from an
 * earlier one (Type=notify-reload); older systemds ignore it.
 */
void
systemd_reloading(void)
{
	struct timespec	ts;

	if (systemd_out.fd == -1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	free(systemd_out.reloading);
	xasprintf(&systemd_out.reloading, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
	systemd_flush();
}

/*
 * Update STATUS= from the queue's status: "idle, generation 12",
 * "building (triggered by packages.nix)" or "last build failed: ...".
 */
void
systemd_status(const struct queue_status *status)
{
	const struct build_record	*last = status->last_build;
	char				*name;

	if (systemd_out.fd == -1)
		return;
	if (status->state == QUEUE_IDLE && last != NULL && !last->ok) {
		systemd_set_status("last build failed: %s", last->error);
		return;
	}
	if (status->state == QUEUE_BUILDING) {
		if (status->build_file == NULL) {
			systemd_set_status("building (profilectl switch)");
			return;
		}
		name = path_basename(status->build_file);
		systemd_set_status("building (triggered by %s)", name);
		free(name);
		return;
	}
	switch (status->state) {
	case QUEUE_IDLE:
		systemd_set_status("idle, generation %u", status->current);
		break;
	case QUEUE_WAITING:
		systemd_set_status("waiting, generation %u", status->current);
		break;
	case QUEUE_SWITCHING:
		systemd_set_status("switching, generation %u", status->current);
		break;
	case QUEUE_DELETING:
		systemd_set_status("deleting old generations, generation %u",
		    status->current);
		break;
	case QUEUE_BUILDING:	/* told above */
		break;
	}
}

/* Say the daemon is stopping; it may still let nix-env finish. */
void
systemd_stopping(void)
{
	free(systemd_out.status);
	systemd_out.status = NULL;
	systemd_out.stopping = 1;
	systemd_flush();
}

/* Send what still waits if it can go now, and free the watchdog timer
 * and the socket before the loop is freed. */
void
systemd_shutdown(void)
{
	systemd_flush();
	if (systemd_watchdog != NULL)
		event_free(systemd_watchdog);
	systemd_watchdog = NULL;
	if (systemd_out.writable != NULL)
		event_free(systemd_out.writable);
	if (systemd_out.fd != -1)
		close(systemd_out.fd);
	free(systemd_out.reloading);
	free(systemd_out.status);
	memset(&systemd_out, 0, sizeof systemd_out);
	systemd_out.fd = -1;
}
