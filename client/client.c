/*
 * Talking to profiled: connect to its Unix socket (client-socket.c finds
 * it), send one framed Request, read one framed Response.  The I/O blocks
 * and has no timeout, because a switch answers only when its build is done
 * and a build takes as long as Nix takes; the user's ^C is the timeout.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"
#include "frame.h"
#include "client.h"

#define CLIENT_LOST	"lost connection to profiled"
#define CLIENT_BAD	"bad response from profiled"

/* Connect to the socket at path; the fd, or -1 and *error (an errno). */
static int
client_connect_path(const char *path, int *error)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		*error = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*error = errno;
		return -1;
	}
	while (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == EINTR)
			continue;
		*error = errno;
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

	for (i = 0; i < where->count; i++) {
		path = where->paths[i];
		if ((fd = client_connect_path(path, &error)) != -1)
			return fd;
		/* Nothing there: the next place may have it. */
		if (error != ENOENT)
			break;
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

/* Write all of buf; -1 and *cause on failure.  No SIGPIPE if it closed. */
static int
client_write(int fd, const unsigned char *buf, size_t len, char **cause)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, CLIENT_LOST ": %s", strerror(errno));
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/* Read exactly len bytes into buf; -1 and *cause on error or early EOF. */
static int
client_read(int fd, unsigned char *buf, size_t len, char **cause)
{
	ssize_t	n;

	while (len > 0) {
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

	if (client_read(fd, header, sizeof header, &cause) != 0) {
		output_fail(CLIENT_EXIT_UNREACHABLE, "%s", cause);
		free(cause);
		return NULL;
	}
	if (frame_header_decode(header, &len) != 0) {
		output_fail(CLIENT_EXIT_FAILURE, "%s", CLIENT_BAD);
		return NULL;
	}
	body = xmalloc(len);
	if (client_read(fd, body, len, &cause) != 0) {
		output_fail(CLIENT_EXIT_UNREACHABLE, "%s", cause);
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
 * cannot be reached (exit 3).
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
	if ((fd = client_connect(&where, &cause)) != -1 &&
	    client_write(fd, frame, size, &cause) == -1) {
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		output_fail(CLIENT_EXIT_UNREACHABLE, "%s", cause);
		free(cause);
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

/* Send request and return the answer of kind want, as client_answer. */
Profiled__Response *
client_request(const struct client_options *opts,
    const Profiled__Request *request, Profiled__Response__ResultCase want)
{
	int	fd;

	if ((fd = client_open(opts, request)) == -1)
		return NULL;
	return client_answer(fd, want, NULL);
}
