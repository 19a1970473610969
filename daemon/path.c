/*
 * Small helpers for the paths profiled is given: splitting them and making
 * the directories they live in.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

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

/* Whether error is the system short of something for now, not the file. */
static int
path_transient(int error)
{
	return error == EMFILE || error == ENFILE || error == ENOMEM ||
	    error == EAGAIN || error == EINTR;
}

/*
 * Read the regular file at path, at most max bytes, into *content (NUL-
 * terminated): 0 if read, 1 if it does not exist, -1 and *cause if it
 * cannot be read or is not a regular file of that size, and
 * PATH_READ_AGAIN and *cause if it could not be read for a reason that
 * passes (out of descriptors or memory), which says nothing of the file.
 */
int
path_read_file(const char *path, size_t max, char **content, char **cause)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 done = 0;
	int		 fd;
	char		*buf;

	/* Non-blocking: a FIFO with no writer must not stall the loop. */
	if ((fd = open(path, O_RDONLY|O_NONBLOCK|O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		return path_transient(errno) ? PATH_READ_AGAIN : -1;
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		if (S_ISREG(st.st_mode))
			xasprintf(cause, "%s: larger than %zu bytes", path, max);
		else
			xasprintf(cause, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	buf = xmalloc(st.st_size + 1);
	while (done < (size_t)st.st_size) {
		n = read(fd, buf + done, st.st_size - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == ENOMEM) {
			xasprintf(cause, "cannot read %s: %s", path,
			    strerror(errno));
			close(fd);
			free(buf);
			return PATH_READ_AGAIN;
		}
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	buf[done] = '\0';
	*content = buf;
	return 0;
}
