/*
 * Allocation that cannot fail: running out of memory in a daemon this small
 * is not something to recover from, so these call fatal() instead of
 * returning NULL, and callers stay free of checks that would never be tested.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t count, size_t size)
{
	void	*p;

	if ((p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size)) == NULL)
		fatal("calloc");
	return p;
}

void *
xreallocarray(void *old, size_t count, size_t size)
{
	void	*p;

	if (size != 0 && count > SIZE_MAX / size)
		fatalx("xreallocarray: %zu * %zu overflows", count, size);
	if ((p = realloc(old, count * size == 0 ? 1 : count * size)) == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("strndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = xvasprintf(ret, fmt, ap);
	va_end(ap);
	return n;
}

int
xvasprintf(char **ret, const char *fmt, va_list ap)
{
	int	n;

	if ((n = vasprintf(ret, fmt, ap)) == -1)
		fatal("vasprintf");
	return n;
}
