/*
 * Logging for profiled and profilectl, in the OpenBSD daemons' manner:
 * log_warn appends strerror(errno), log_warnx does not, fatal and fatalx
 * exit.  Every function preserves errno so callers can log and then test it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

static const char	*log_name = "profiled";
static int		 log_verbose;

/* Name the program in every line and choose whether debug lines show. */
void
log_init(const char *name, int verbose)
{
	log_name = name;
	log_verbose = verbose;
}

static void
log_vwrite(const char *prefix, const char *fmt, va_list ap, const char *error)
{
	int	saved_errno = errno;

	fprintf(stderr, "%s: %s", log_name, prefix);
	vfprintf(stderr, fmt, ap);
	if (error != NULL)
		fprintf(stderr, ": %s", error);
	fputc('\n', stderr);
	fflush(stderr);
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, strerror(saved_errno));
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite("debug: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, strerror(saved_errno));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
