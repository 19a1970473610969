/*
 * Logging for profiled and profilectl, in the OpenBSD daemons' manner:
 * log_warn appends strerror(errno), log_warnx does not, fatal and fatalx
 * exit.  Every function preserves errno so callers can log and then test it.
 *
 * When stderr is the journal (systemd says so in JOURNAL_STREAM, the
 * device and inode of the stream it gave us), lines go to journald
 * instead, with their priority and, for log_generation, the fields
 * GENERATION= and STORE_PATH=; otherwise they are plain stderr lines.
 *
 * Logging never blocks the daemon's loop: lines go to journald's socket
 * in its native protocol from a non-blocking socket of our own (libsystemd's
 * sd_journal_send blocks while journald's queue is full).  A line the
 * journal does not take at once is dropped and counted, never written to
 * stderr instead (that is journald too, and would block the same way);
 * the next line it takes is preceded by one saying how many were lost.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "profiled.h"

static const char	*log_name = "profiled";
static int		 log_verbose;
static int		 log_journal;	/* stderr is the journal */
static int		 log_journal_fd = -1;
static unsigned long long log_dropped;	/* lines the journal did not take */

/* Where journald reads native-protocol datagrams. */
#define LOG_JOURNAL_SOCKET	"/run/systemd/journal/socket"
/* A message cut to this many bytes if the journal finds it too large. */
#define LOG_JOURNAL_CUT		4096

/* Structured fields a line carries to the journal. */
struct log_fields {
	unsigned	 generation;	/* 0: none */
	const char	*store_path;	/* NULL: none */
};

/* Whether stderr is the stream systemd connected to the journal. */
static int
log_stderr_is_journal(void)
{
	const char		*value = getenv("JOURNAL_STREAM");
	struct stat		 sb;
	unsigned long long	 dev, ino;

	if (value == NULL || sscanf(value, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(fileno(stderr), &sb) == -1)
		return 0;
	return sb.st_dev == dev && sb.st_ino == ino;
}

/*
 * Name the program in every line, choose whether debug lines show, and
 * see whether they go to the journal.
 */
void
log_init(const char *name, int verbose)
{
	log_name = name;
	log_verbose = verbose;
	log_journal = log_stderr_is_journal();
}

/*
 * Append field name=value to f in journald's native protocol: KEY=VALUE,
 * or, for a value with a newline, KEY, a newline, its length (64 bits,
 * little-endian) and the value.  The value's first len bytes.
 */
static void
log_journal_field(FILE *f, const char *name, const char *value, size_t len)
{
	unsigned char	size[8];
	int		i;

	if (memchr(value, '\n', len) == NULL) {
		fprintf(f, "%s=%.*s\n", name, (int)len, value);
		return;
	}
	for (i = 0; i < 8; i++)
		size[i] = ((unsigned long long)len >> (8 * i)) & 0xff;
	fprintf(f, "%s\n", name);
	fwrite(size, 1, sizeof size, f);
	fwrite(value, 1, len, f);
	fputc('\n', f);
}

/*
 * Send one datagram of fields to journald without waiting: 0 if it took
 * it, 1 if it is full (or found it too large even cut short), -1 if there
 * is no journal to send to.
 */
static int
log_journal_send(int priority, const char *message, size_t len,
    const struct log_fields *fields)
{
	static const struct sockaddr_un	 sa = { AF_UNIX, LOG_JOURNAL_SOCKET };
	char				*datagram;
	size_t				 size;
	ssize_t				 n;
	FILE				*f;

	if (log_journal_fd == -1 && (log_journal_fd = socket(AF_UNIX,
	    SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if ((f = open_memstream(&datagram, &size)) == NULL)
		return -1;
	log_journal_field(f, "MESSAGE", message, len);
	fprintf(f, "PRIORITY=%d\n", priority);
	fprintf(f, "SYSLOG_IDENTIFIER=%s\n", log_name);
	if (fields != NULL && fields->generation != 0)
		fprintf(f, "GENERATION=%u\n", fields->generation);
	if (fields != NULL && fields->store_path != NULL)
		log_journal_field(f, "STORE_PATH", fields->store_path,
		    strlen(fields->store_path));
	if (fclose(f) != 0)
		return -1;
	n = sendto(log_journal_fd, datagram, size, MSG_NOSIGNAL|MSG_DONTWAIT,
	    (const struct sockaddr *)&sa, sizeof sa);
	free(datagram);
	if (n != -1)
		return 0;
	if (errno == EMSGSIZE && len > LOG_JOURNAL_CUT)
		return log_journal_send(priority, message, LOG_JOURNAL_CUT,
		    fields);
	if (errno == EAGAIN || errno == ENOBUFS || errno == EMSGSIZE ||
	    errno == EINTR)
		return 1;
	return -1;
}

/*
 * Send one line to the journal, after saying how many were dropped before
 * it, if any; -1 if there is no journal to send to.  A line it has no room
 * for is dropped and counted.
 */
static int
log_send_journal(int priority, const char *message,
    const struct log_fields *fields)
{
	char	*lost;
	int	 r;

	if (log_dropped > 0) {
		xasprintf(&lost, "%llu log line%s dropped: the journal did not "
		    "take %s in time", log_dropped, log_dropped == 1 ? " was" :
		    "s were", log_dropped == 1 ? "it" : "them");
		r = log_journal_send(LOG_WARNING, lost, strlen(lost), NULL);
		free(lost);
		if (r == -1)
			return -1;
		if (r == 1) {
			log_dropped++;
			return 0;
		}
		log_dropped = 0;
	}
	if ((r = log_journal_send(priority, message, strlen(message),
	    fields)) == 1)
		log_dropped++;
	return r == -1 ? -1 : 0;
}

/* One line, to the journal if stderr is the journal, else to stderr. */
static void
log_vwrite(int priority, const char *prefix, const char *fmt, va_list ap,
    const char *error, const struct log_fields *fields)
{
	char	*message, *line;
	int	 saved_errno = errno;

	xvasprintf(&message, fmt, ap);
	if (error != NULL) {
		xasprintf(&line, "%s: %s", message, error);
		free(message);
		message = line;
	}
	if (!log_journal || log_send_journal(priority, message, fields) == -1) {
		fprintf(stderr, "%s: %s%s\n", log_name, prefix, message);
		fflush(stderr);
	}
	free(message);
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "", fmt, ap, strerror(saved_errno), NULL);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "", fmt, ap, NULL, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, "", fmt, ap, NULL, NULL);
	va_end(ap);
}

/*
 * An info line about generation (and its store_path, if not NULL), which
 * the journal gets as GENERATION= and STORE_PATH= too.
 */
void
log_generation(unsigned generation, const char *store_path,
    const char *fmt, ...)
{
	struct log_fields	fields = { generation, store_path };
	va_list			ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, "", fmt, ap, NULL, &fields);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug: ", fmt, ap, NULL, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, strerror(saved_errno), NULL);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, NULL, NULL);
	va_end(ap);
	exit(1);
}
