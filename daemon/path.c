/*
 * Small helpers for the paths profiled is given: splitting them and making
 * the directories they live in.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/* The directory part of path, as dirname(1) would print it. */
char *
path_dirname(const char *path)
{
	const char	*slash;

	slash = strrchr(path, '/');
	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, slash - path);
}

/* The last component of path. */
char *
path_basename(const char *path)
{
	const char	*slash;

	slash = strrchr(path, '/');
	return xstrdup(slash != NULL ? slash + 1 : path);
}

/* Make dir and its missing parents with mode; -1 and *cause if not. */
int
path_mkdir(const char *dir, mode_t mode, char **cause)
{
	char	*copy, *p, c;

	copy = xstrdup(dir);
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(copy, mode) == -1 && errno != EEXIST) {
			xasprintf(cause, "cannot create %s: %s", copy,
			    strerror(errno));
			free(copy);
			return -1;
		}
		if (c == '\0')
			break;
		*p = c;
	}
	free(copy);
	return 0;
}
