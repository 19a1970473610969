/*
 * Logging for profiled and profilectl, in the OpenBSD daemons' manner:
 * log_warn appends strerror(errno), log_warnx does not, fatal and fatalx
 * exit.  Every function preserves errno so callers can log and then test it.
 *
 * When stderr is the journal (systemd says so in JOURNAL_STREAM, the
 * device and inode of the stream it gave us), lines go to journald
 * instead, with their priority and, for log_generation, the fields
 * GENERATION= and STORE_PATH=; otherwise they are plain stderr lines.
 */
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <systemd/sd-journal.h>

#include "profiled.h"

static const char	*log_name = "profiled";
static int		 log_verbose;
static int		 log_journal;	/* stderr is the journal */

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

/* Send one line to the journal; -1 if it would not take it. */
static int
log_send_journal(int priority, const char *message,
    const struct log_fields *fields)
{
	struct iovec	 iov[5];
	char		*items[5];
	int		 n = 0, i, r;

	xasprintf(&items[n++], "MESSAGE=%s", message);
	xasprintf(&items[n++], "PRIORITY=%d", priority);
	xasprintf(&items[n++], "SYSLOG_IDENTIFIER=%s", log_name);
	if (fields != NULL && fields->generation != 0)
		xasprintf(&items[n++], "GENERATION=%u", fields->generation);
	if (fields != NULL && fields->store_path != NULL)
		xasprintf(&items[n++], "STORE_PATH=%s", fields->store_path);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = items[i];
		iov[i].iov_len = strlen(items[i]);
	}
	r = sd_journal_sendv(iov, n);
	for (i = 0; i < n; i++)
		free(items[i]);
	return r < 0 ? -1 : 0;
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
