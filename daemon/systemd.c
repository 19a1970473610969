/*
 * What profiled tells systemd: readiness, a one-line STATUS= kept current,
 * and STOPPING= on the way out; and the listening socket systemd may hand
 * over.  Without systemd (no NOTIFY_SOCKET, no LISTEN_FDS) each of these
 * does nothing, so the daemon runs the same from a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "profiled.h"

static const struct config	*systemd_config;

void
systemd_init(const struct config *cfg)
{
	systemd_config = cfg;
}

/*
 * The listening socket systemd passed (socket activation), or -1 if none;
 * -2 and *cause if it passed something unusable.
 */
int
systemd_listen_fd(char **cause)
{
	int	n;

	n = sd_listen_fds(1);
	if (n < 0) {
		xasprintf(cause, "sd_listen_fds: %s", strerror(-n));
		return -2;
	}
	if (n == 0)
		return -1;
	if (n > 1 || sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1,
	    NULL, 0) <= 0) {
		xasprintf(cause, "systemd passed %d sockets; profiled wants one "
		    "listening Unix stream socket", n);
		return -2;
	}
	return SD_LISTEN_FDS_START;
}

/* Say the daemon is ready: the socket listens and the state is loaded. */
void
systemd_ready(void)
{
	sd_notify(0, "READY=1");
	systemd_status();
}

/* Update STATUS= from the queue's state and the current generation. */
void
systemd_status(void)
{
	const struct build_record	*last;
	unsigned			 current = 0;
	char				*store_path = NULL, *cause = NULL;

	if (systemd_config == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return;
	if (profile_current(systemd_config->profile, &current, &store_path,
	    &cause) == -1)
		free(cause);
	free(store_path);
	last = queue_last_build();
	if (queue_state() == QUEUE_IDLE && last != NULL && !last->ok)
		sd_notifyf(0, "STATUS=last build failed: %s", last->error);
	else if (queue_state() == QUEUE_BUILDING)
		sd_notifyf(0, "STATUS=building %s",
		    systemd_config->package_file);
	else
		sd_notifyf(0, "STATUS=%s, generation %u", queue_state_name(),
		    current);
}

void
systemd_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
