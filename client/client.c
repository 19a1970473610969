/*
 * Talking to profiled: connect to its Unix socket (client-socket.c finds
 * it), send one framed Request, read one framed Response.  The I/O blocks.
 * Connecting, and the answers that come at once (status, generations,
 * log), time out after PROFILED_TIMEOUT seconds (default
 * CLIENT_TIMEOUT_DEFAULT), so a daemon that is stuck, out of descriptors
 * or not profiled at all never hangs a script; a switch or rollback
 * answers only when its work is done, which takes as long as Nix takes,
 * and watch, log -f and wait have their own: for those, after connecting,
 * the user's ^C (or wait --timeout) is the timeout.
 *
 * Only a socket of our own user (or root's) is talked to: checked on the
 * path before connecting and on the peer's credentials after, since
 * anyone who could bind it could otherwise pose as profiled.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiled.h"
#include "frame.h"
#include "client.h"

#define CLIENT_LOST	"lost connection to profiled"
#define CLIENT_BAD	"bad response from profiled"
#define CLIENT_TIMEOUT_DEFAULT	30
/* A made-up errno for a socket of another user, refused before connect. */
#define CLIENT_NOT_OURS		(-1)

/* When the answer being read must have come (monotonic ms), or 0: never. */
static long long	client_deadline;
/* The timeout in seconds, for messages. */
static unsigned long	client_timeout_seconds;

/* Monotonic milliseconds. */
static long long
client_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The timeout in seconds, from PROFILED_TIMEOUT (0: none) or the default;
 * a value that is no number is said once and the default used.
 */
static unsigned long
client_timeout(void)
{
	static int	 warned;
	const char	*value = getenv("PROFILED_TIMEOUT");
	char		*end;
	unsigned long	 n;

	if (value == NULL || *value == '\0')
		return CLIENT_TIMEOUT_DEFAULT;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (*value < '0' || *value > '9' || *end != '\0' || errno != 0 ||
	    n > 86400 * 365) {
		if (!warned++)
			log_warnx("PROFILED_TIMEOUT: '%.40s' is not a number of "
			    "seconds; using %d", value, CLIENT_TIMEOUT_DEFAULT);
		return CLIENT_TIMEOUT_DEFAULT;
	}
	return n;
}

/*
 * Whether the socket at path may be profiled's: a socket of ours or
 * root's.  Anything else (another user's socket, bound where we looked
 * for ours) is refused with *cause; a missing path is left to connect.
 */
static int
client_socket_ours(const char *path, char **cause)
{
	struct stat	sb;

	if (lstat(path, &sb) == -1)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s is not a socket; refusing to talk to it",
		    path);
		return -1;
	}
	if (sb.st_uid != getuid() && sb.st_uid != 0) {
		xasprintf(cause, "socket %s belongs to uid %u, not to you "
		    "(uid %u); refusing to talk to it, as it may not be "
		    "profiled", path, (unsigned)sb.st_uid, (unsigned)getuid());
		return -1;
	}
	return 0;
}

/*
 * Connect to the socket at path, within the timeout; the fd, or -1 and
 * *error (an errno, ETIMEDOUT when the daemon does not take the
 * connection in time, CLIENT_NOT_OURS with *cause if it is not ours).
 */
static int
client_connect_path(const char *path, int *error, char **cause)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 0, 0 };
	struct ucred		 cred;
	socklen_t		 len = sizeof cred;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*error = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (client_socket_ours(path, cause) == -1) {
		*error = CLIENT_NOT_OURS;
		return -1;
	}

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*error = errno;
		return -1;
	}
	/* A Unix socket's connect waits for room in the backlog this long. */
	tv.tv_sec = client_timeout_seconds;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1) {
		*error = errno;
		close(fd);
		return -1;
	}
	while (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == EINTR)
			continue;
		*error = errno == EAGAIN ? ETIMEDOUT : errno;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    cred.uid != getuid() && cred.uid != 0) {
		xasprintf(cause, "the process listening on %s is uid %u, not "
		    "you (uid %u); refusing to talk to it, as it may not be "
		    "profiled", path, (unsigned)cred.uid, (unsigned)getuid());
		*error = CLIENT_NOT_OURS;
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Connect to the first of where's sockets that is there; the fd, or -1
 * and *cause, which names the sockets tried and where they came from.
 */
static int
client_connect(const struct client_socket *where, char **cause)
{
	const char	*path = where->paths[0];
	int		 fd, i, error = 0;

	client_timeout_seconds = client_timeout();
	for (i = 0; i < where->count; i++) {
		path = where->paths[i];
		if ((fd = client_connect_path(path, &error, cause)) != -1)
			return fd;
		/* Nothing there: the next place may have it. */
		if (error != ENOENT)
			break;
	}
	if (error == CLIENT_NOT_OURS)
		return -1;
	if (error == ETIMEDOUT) {
		xasprintf(cause, "timed out after %lu s connecting to profiled "
		    "at %s: it is not taking connections (busy, or out of file "
		    "descriptors)", client_timeout_seconds, path);
		return -2;
	}
	if (error == ENOENT && where->count > 1) {
		xasprintf(cause, "profiled is not running (no socket at %s or "
		    "%s; %s)", where->paths[0], where->paths[1],
		    where->source);
	} else {
		xasprintf(cause, "%s (socket %s: %s%s%s)",
		    error == ENOENT || error == ECONNREFUSED ?
		    "profiled is not running" : "cannot connect to profiled",
		    path, strerror(error), where->expected ? "" : "; ",
		    where->expected ? "" : where->source);
	}
	return -1;
}

/*
 * Write all of buf; -1 and *cause (errno kept) on failure.  No SIGPIPE if
 * it closed.
 */
static int
client_write(int fd, const unsigned char *buf, size_t len, char **cause)
{
	ssize_t	n;
	int	error;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			error = errno;
			xasprintf(cause, CLIENT_LOST ": %s", strerror(error));
			errno = error;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Wait until fd is readable or client_deadline passes: 0, or -2 and
 * *cause if it passed.
 */
static int
client_wait_readable(int fd, char **cause)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 left;
	int		 n;

	if (client_deadline == 0)
		return 0;
	do {
		left = client_deadline - client_now();
		n = poll(&pfd, 1, left > 0 ? (int)left : 0);
	} while (n == -1 && errno == EINTR);
	if (n == 0) {
		xasprintf(cause, "timed out after %lu s waiting for profiled "
		    "to answer", client_timeout_seconds);
		return -2;
	}
	return 0;
}

/*
 * Read exactly len bytes into buf; -1 and *cause on error or early EOF,
 * -2 and *cause if client_deadline passes.
 */
static int
client_read(int fd, unsigned char *buf, size_t len, char **cause)
{
	ssize_t	n;

	while (len > 0) {
		if (client_wait_readable(fd, cause) == -2)
			return -2;
		if ((n = read(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, CLIENT_LOST ": %s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			*cause = xstrdup(CLIENT_LOST);
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Read one framed Response; NULL after saying why if there is none: the
 * daemon went away (exit 3) or sent what is not a Response (exit 1).
 */
Profiled__Response *
client_receive(int fd)
{
	Profiled__Response	*response;
	unsigned char		 header[FRAME_HEADER_SIZE], *body;
	uint32_t		 len;
	char			*cause;
	int			 rc;

	if ((rc = client_read(fd, header, sizeof header, &cause)) != 0) {
		output_fail(rc == -2 ? CLIENT_EXIT_TIMEOUT :
		    CLIENT_EXIT_UNREACHABLE, "%s", cause);
		free(cause);
		return NULL;
	}
	if (frame_header_decode(header, &len) != 0) {
		output_fail(CLIENT_EXIT_FAILURE, "%s", CLIENT_BAD);
		return NULL;
	}
	body = xmalloc(len);
	if ((rc = client_read(fd, body, len, &cause)) != 0) {
		output_fail(rc == -2 ? CLIENT_EXIT_TIMEOUT :
		    CLIENT_EXIT_UNREACHABLE, "%s", cause);
		free(cause);
		free(body);
		return NULL;
	}
	response = profiled__response__unpack(NULL, len, body);
	free(body);
	if (response == NULL)
		output_fail(CLIENT_EXIT_FAILURE, "%s", CLIENT_BAD);
	return response;
}

/*
 * Connect to the daemon and send request; the connection, to read the
 * answer from with client_receive, or -1 after saying why not: the daemon
 * cannot be reached (exit 3) or does not take the connection in time
 * (exit 4).  A daemon that refuses us (another uid, too many connections,
 * out of descriptors) says why in an error frame and closes, maybe before
 * the request is written: then the connection is still returned, for its
 * error to be read.
 */
int
client_open(const struct client_options *opts, const Profiled__Request *request)
{
	struct client_socket	 where;
	unsigned char		*frame;
	size_t			 size;
	char			*cause = NULL;
	int			 fd;

	if ((frame = frame_pack(&request->base, &size)) == NULL)
		fatalx("request too large");
	client_socket_find(opts, &where);
	if ((fd = client_connect(&where, &cause)) >= 0 &&
	    client_write(fd, frame, size, &cause) == -1) {
		if (errno == EPIPE || errno == ECONNRESET) {
			free(cause);
			cause = NULL;
		} else {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		output_fail(fd == -2 ? CLIENT_EXIT_TIMEOUT :
		    CLIENT_EXIT_UNREACHABLE, "%s", cause);
		free(cause);
		fd = -1;
	}
	client_socket_free(&where);
	free(frame);
	return fd;
}

/*
 * Say why response is not the answer wanted: the daemon's error, or a bad
 * response; the operation failed (exit 1).  Frees it.
 */
void
client_error(Profiled__Response *response)
{
	const char	*message;
	size_t		 len;

	if (response->result_case == PROFILED__RESPONSE__RESULT_ERROR) {
		message = response->error->message;
		len = strlen(message);
		while (len > 0 && message[len - 1] == '\n')
			len--;
		output_fail(CLIENT_EXIT_FAILURE, "%.*s", (int)len, message);
	} else
		output_fail(CLIENT_EXIT_FAILURE, "%s", CLIENT_BAD);
	profiled__response__free_unpacked(response, NULL);
}

/*
 * Read the answer of kind want from fd, which is closed; the events that
 * come before it (a switch's progress) go to event_cb.  Otherwise say why
 * (the daemon's error, or what went wrong on the way) and return NULL, so
 * the command just fails; output_exit picks the exit code.
 */
Profiled__Response *
client_answer(int fd, Profiled__Response__ResultCase want,
    void (*event_cb)(const Profiled__Event *))
{
	Profiled__Response	*response;

	while ((response = client_receive(fd)) != NULL &&
	    response->result_case == PROFILED__RESPONSE__RESULT_EVENT &&
	    event_cb != NULL) {
		event_cb(response->event);
		profiled__response__free_unpacked(response, NULL);
	}
	close(fd);
	if (response == NULL)
		return NULL;
	if (response->result_case == want)
		return response;
	client_error(response);
	return NULL;
}

/*
 * Send request on *fd, opening the connection first if it is -1, and
 * return the answer of kind want, leaving the connection open for the
 * next request (a page after page); the caller closes it.  Answered at
 * once, within the timeout.  NULL as client_answer.
 */
Profiled__Response *
client_request_on(const struct client_options *opts, int *fd,
    const Profiled__Request *request, Profiled__Response__ResultCase want)
{
	Profiled__Response	*response;
	unsigned char		*frame;
	size_t			 size;
	char			*cause = NULL;

	if (*fd == -1) {
		if ((*fd = client_open(opts, request)) == -1)
			return NULL;
	} else {
		if ((frame = frame_pack(&request->base, &size)) == NULL)
			fatalx("request too large");
		if (client_write(*fd, frame, size, &cause) == -1) {
			output_fail(CLIENT_EXIT_FAILURE, "%s", cause);
			free(cause);
			free(frame);
			return NULL;
		}
		free(frame);
	}
	if (client_timeout_seconds > 0)
		client_deadline = client_now() +
		    (long long)client_timeout_seconds * 1000;
	response = client_receive(*fd);
	client_deadline = 0;
	if (response == NULL || response->result_case == want)
		return response;
	client_error(response);
	return NULL;
}

/*
 * Send request and return the answer of kind want, as client_answer.  The
 * calls answered at once (status, generations, log) must answer within
 * the timeout; the others answer when their work is done.
 */
Profiled__Response *
client_request(const struct client_options *opts,
    const Profiled__Request *request, Profiled__Response__ResultCase want)
{
	Profiled__Response	*response;
	int			 fd;

	if ((fd = client_open(opts, request)) == -1)
		return NULL;
	switch (request->call_case) {
	case PROFILED__REQUEST__CALL_STATUS:
	case PROFILED__REQUEST__CALL_GENERATIONS:
	case PROFILED__REQUEST__CALL_LOG:
		if (client_timeout_seconds > 0)
			client_deadline = client_now() +
			    (long long)client_timeout_seconds * 1000;
		break;
	default:
		break;
	}
	response = client_answer(fd, want, NULL);
	client_deadline = 0;
	return response;
}
