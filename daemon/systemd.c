/*
 * What profiled tells systemd: readiness, a one-line STATUS= kept current,
 * WATCHDOG=1 pings and STOPPING= on the way out; and the listening socket
 * systemd may hand over.  Without systemd (no NOTIFY_SOCKET, no LISTEN_FDS,
 * no WATCHDOG_USEC) each of these does nothing, so the daemon runs the same
 * from a terminal.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "profiled.h"

static const struct config	*systemd_config;
static struct event		*systemd_watchdog;

/* Ping the watchdog: the loop still turns. */
static void
systemd_watchdog_cb(evutil_socket_t fd, short events, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/*
 * Remember the configuration for STATUS=, and ping the watchdog at half
 * its interval if systemd asked for one.  The ping comes from the loop, so
 * a loop that blocks is a daemon systemd restarts.
 */
void
systemd_init(struct event_base *base, const struct config *cfg)
{
	struct timeval	tv;
	uint64_t	usec;
	int		r;

	systemd_config = cfg;
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

/* Say the daemon is ready: the socket listens and the state is loaded. */
void
systemd_ready(void)
{
	sd_notify(0, "READY=1");
	systemd_status();
}

/*
 * Update STATUS= from the queue's state and the current generation:
 * "idle, generation 12", "building (triggered by packages.nix)" or
 * "last build failed: ...".
 */
void
systemd_status(void)
{
	const struct build_record	*last;
	unsigned			 current = 0;
	char				*store_path = NULL, *cause = NULL;
	char				*name;

	if (systemd_config == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return;
	last = queue_last_build();
	if (queue_state() == QUEUE_IDLE && last != NULL && !last->ok) {
		sd_notifyf(0, "STATUS=last build failed: %s", last->error);
		return;
	}
	if (queue_state() == QUEUE_BUILDING) {
		if (queue_build_file() == NULL) {
			sd_notify(0, "STATUS=building (profilectl switch)");
			return;
		}
		name = path_basename(queue_build_file());
		sd_notifyf(0, "STATUS=building (triggered by %s)", name);
		free(name);
		return;
	}
	if (profile_current(systemd_config->profile, &current, &store_path,
	    &cause) == -1)
		free(cause);
	free(store_path);
	sd_notifyf(0, "STATUS=%s, generation %u", queue_state_name(), current);
}

/* Say the daemon is stopping; it may still let nix-env finish. */
void
systemd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

/* Free the watchdog timer before the loop is freed. */
void
systemd_shutdown(void)
{
	if (systemd_watchdog != NULL)
		event_free(systemd_watchdog);
	systemd_watchdog = NULL;
}
