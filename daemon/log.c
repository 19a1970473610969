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
 * journal cannot take at once waits in a queue of LOG_QUEUE_MAX lines,
 * offered again from the loop every LOG_RETRY_MS while any wait (log_loop);
 * past that, lines are dropped and counted, never written to stderr
 * instead (that is journald too, and would block the same way), and once
 * the queue drains a line says how many were lost.  With no journal at
 * its address at all (stopped, restarting), a line goes to stderr, and the
 * next finds journald again.
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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

static const char	*log_name = "profiled";
static int		 log_verbose;
static int		 log_journal;	/* stderr is the journal */
static int		 log_journal_fd = -1;
static unsigned long long log_dropped;	/* lines the journal did not take */

/* Lines waiting for the journal to read, oldest first. */
struct log_pending {
	char			*datagram;
	size_t			 size;
	struct log_pending	*next;
};
static struct log_pending	*log_queue, **log_queue_tail = &log_queue;
static size_t			 log_queued;
static struct event		*log_retry;	/* NULL until log_loop */

/* Where journald reads native-protocol datagrams. */
#define LOG_JOURNAL_SOCKET	"/run/systemd/journal/socket"
/* A message cut to this many bytes if the journal finds it too large. */
#define LOG_JOURNAL_CUT		4096
/* Lines held while the journal is not reading; systemd lets its socket
 * queue as many. */
#define LOG_QUEUE_MAX		512
/* How often lines waiting are offered to the journal again, in ms.  An
 * unconnected datagram socket always polls writable, so it is a timer,
 * which runs only while lines wait. */
#define LOG_RETRY_MS		10
/* How long a stopping daemon waits for the journal to take what is left. */
#define LOG_DRAIN_MS		1000

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
 * The socket lines go to journald from, unconnected (each line is sent to
 * its address, so a restarted journald is found again); -1 if there is
 * none.
 */
static int
log_journal_socket(void)
{
	if (log_journal_fd == -1)
		log_journal_fd = socket(AF_UNIX,
		    SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0);
	return log_journal_fd;
}

/*
 * One datagram of fields in journald's native protocol, in *datagram and
 * *size; the message's first len bytes.  -1 if it cannot be made.
 */
static int
log_journal_format(int priority, const char *message, size_t len,
    const struct log_fields *fields, char **datagram, size_t *size)
{
	FILE	*f;

	if ((f = open_memstream(datagram, size)) == NULL)
		return -1;
	log_journal_field(f, "MESSAGE", message, len);
	fprintf(f, "PRIORITY=%d\n", priority);
	fprintf(f, "SYSLOG_IDENTIFIER=%s\n", log_name);
	if (fields != NULL && fields->generation != 0)
		fprintf(f, "GENERATION=%u\n", fields->generation);
	if (fields != NULL && fields->store_path != NULL)
		log_journal_field(f, "STORE_PATH", fields->store_path,
		    strlen(fields->store_path));
	return fclose(f) == 0 ? 0 : -1;
}

/*
 * Send one datagram without waiting: 0 sent, 1 the journal is full, 2 it
 * is too large, 3 there is no journal to take it (gone, or restarting).
 */
static int
log_journal_send(const char *datagram, size_t size)
{
	static const struct sockaddr_un	 sa = { AF_UNIX, LOG_JOURNAL_SOCKET };

	if (sendto(log_journal_fd, datagram, size, MSG_NOSIGNAL|MSG_DONTWAIT,
	    (const struct sockaddr *)&sa, sizeof sa) != -1)
		return 0;
	if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
		return 1;
	if (errno == EMSGSIZE)
		return 2;
	return 3;
}

static void	log_journal_queue(char *, size_t);
static void	log_journal_later(void);

/*
 * Queue a line saying how many lines were lost since the last told, if
 * any; it may go past the queue's bound by this one line.
 */
static void
log_journal_tell_lost(void)
{
	char	*lost, *datagram;
	size_t	 size;

	if (log_dropped == 0)
		return;
	xasprintf(&lost, "%llu log line%s dropped: the journal did not take "
	    "%s in time", log_dropped, log_dropped == 1 ? " was" : "s were",
	    log_dropped == 1 ? "it" : "them");
	log_dropped = 0;
	if (log_journal_format(LOG_WARNING, lost, strlen(lost), NULL,
	    &datagram, &size) == 0)
		log_journal_queue(datagram, size);
	free(lost);
}

/*
 * Queue a datagram for the loop to send, after the line telling of any
 * lost before it; dropped and counted if the queue is full.
 */
static void
log_journal_queue(char *datagram, size_t size)
{
	struct log_pending	*p;

	if (log_queued >= LOG_QUEUE_MAX) {
		free(datagram);
		log_dropped++;
		return;
	}
	if (log_dropped > 0 && log_queued < LOG_QUEUE_MAX - 1)
		log_journal_tell_lost();
	p = xmalloc(sizeof *p);
	p->datagram = datagram;
	p->size = size;
	p->next = NULL;
	*log_queue_tail = p;
	log_queue_tail = &p->next;
	log_queued++;
	log_journal_later();
}

/*
 * Send what is queued until the journal is full again; a line it does not
 * take for any other reason is dropped.  Then, once, the line telling of
 * those lost.
 */
static void
log_journal_flush(void)
{
	struct log_pending	*p;
	int			 told = 0;

	for (;;) {
		while ((p = log_queue) != NULL) {
			switch (log_journal_send(p->datagram, p->size)) {
			case 1:
				log_journal_later();
				return;
			case 2:
			case 3:
				log_dropped++;
				break;
			}
			if ((log_queue = p->next) == NULL)
				log_queue_tail = &log_queue;
			log_queued--;
			free(p->datagram);
			free(p);
		}
		if (log_dropped == 0 || told)
			return;
		log_journal_tell_lost();
		told = 1;
	}
}

static void
log_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	log_journal_flush();
}

/* Try the queue again from the loop in a moment, if there is a loop. */
static void
log_journal_later(void)
{
	struct timeval	tv = { 0, LOG_RETRY_MS * 1000 };

	if (log_retry != NULL && log_queue != NULL &&
	    !evtimer_pending(log_retry, NULL))
		evtimer_add(log_retry, &tv);
}

/*
 * Send lines the journal could not take at once from base's loop, as soon
 * as it reads again.  Until this is called (and after log_loop_end) they
 * wait in the queue, or are dropped once it is full.
 */
void
log_loop(struct event_base *base)
{
	if (!log_journal || log_journal_socket() == -1)
		return;
	log_retry = evtimer_new(base, log_retry_cb, NULL);
	log_journal_later();
}

/*
 * Send what is still queued, waiting for the journal at most
 * LOG_DRAIN_MS in all: the daemon is stopping, and its last lines say why.
 */
static void
log_journal_drain(void)
{
	struct timespec	pause = { 0, LOG_RETRY_MS * 1000000L };
	int		waited = 0;

	log_journal_flush();
	while (log_queue != NULL && waited < LOG_DRAIN_MS) {
		nanosleep(&pause, NULL);
		waited += LOG_RETRY_MS;
		log_journal_flush();
	}
}

/* Stop sending from the loop (which is going away); send what is left. */
void
log_loop_end(void)
{
	if (log_retry != NULL)
		event_free(log_retry);
	log_retry = NULL;
	if (log_journal_fd != -1)
		log_journal_drain();
}

/*
 * Send one line to the journal, or queue it behind those waiting; -1 if
 * there is no journal to send to.
 */
static int
log_send_journal(int priority, const char *message,
    const struct log_fields *fields)
{
	char	*datagram;
	size_t	 size, len = strlen(message);
	int	 r;

	if (log_journal_socket() == -1 || log_journal_format(priority, message,
	    len, fields, &datagram, &size) == -1)
		return -1;
	if (log_queue != NULL || log_dropped > 0) {
		log_journal_queue(datagram, size);
		if (log_retry == NULL)
			log_journal_flush();
		return 0;
	}
	if ((r = log_journal_send(datagram, size)) == 2 &&
	    len > LOG_JOURNAL_CUT) {
		free(datagram);
		if (log_journal_format(priority, message, LOG_JOURNAL_CUT,
		    fields, &datagram, &size) == -1)
			return -1;
		r = log_journal_send(datagram, size);
	}
	if (r == 2)
		log_dropped++;
	if (r == 1)
		log_journal_queue(datagram, size);
	else
		free(datagram);
	/* No journal to take it: stderr, as when there never was one. */
	return r == 3 ? -1 : 0;
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
	if (log_journal_fd != -1)
		log_journal_drain();
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, NULL, NULL);
	va_end(ap);
	if (log_journal_fd != -1)
		log_journal_drain();
	exit(1);
}
