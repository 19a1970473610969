/*
 * Watching the package file, and the files it imports, with inotify.
 *
 * Each watch is on a file's directory, not the file: editors that save by
 * writing a new file and renaming it over the old one replace the inode a
 * file watch would be on, and a file deleted and made again is seen too.
 * A directory's watch carries the names in it that matter; any event
 * naming one of them is handed to the callback watch_start was given (the
 * queue's, which debounces and hashes to decide whether anything changed).
 *
 * The set of files is replaced as a whole by watch_set (the queue learns
 * what the package file imports, and where a symlinked package file
 * points, only as it goes); directories no longer needed lose their watch.
 * A directory that does not exist (a dotfiles checkout being re-cloned)
 * is watched for in its nearest parent that does; one deleted or moved
 * away loses its watch and counts as a change, so the queue looks again
 * and watch_set is called anew.
 */
#include <sys/inotify.h>
#include <sys/queue.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

#define WATCH_EVENTS	(IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | \
			 IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
			 IN_DELETE_SELF | IN_MOVE_SELF)

struct watch_dir {
	int			 wd;
	char			*path;
	char			**names;	/* in it, that matter */
	char			**files;	/* the file each name stands for */
	size_t			 count;
	TAILQ_ENTRY(watch_dir)	 entry;
};
TAILQ_HEAD(watch_dirs, watch_dir);

static struct event	*watch_event;
static struct watch_dirs	 watch_dirs = TAILQ_HEAD_INITIALIZER(watch_dirs);
static watch_changed_cb	 watch_changed;
static void		*watch_changed_arg;

static struct watch_dir *
watch_find_wd(int wd)
{
	struct watch_dir	*d;

	TAILQ_FOREACH(d, &watch_dirs, entry) {
		if (d->wd == wd)
			return d;
	}
	return NULL;
}

static void	watch_dir_free(struct watch_dir *);

/* d's directory was deleted or moved: forget it; the queue looks again. */
static void
watch_dir_gone(struct watch_dir *d, int remove)
{
	TAILQ_REMOVE(&watch_dirs, d, entry);
	if (remove)
		inotify_rm_watch(event_get_fd(watch_event), d->wd);
	log_debug("%s went away", d->path);
	watch_dir_free(d);
	watch_changed(NULL, watch_changed_arg);
}

static void
watch_event_cb(const struct inotify_event *ev)
{
	struct watch_dir	*d;
	size_t			 i;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* Events were lost: anything may have changed. */
		watch_changed(NULL, watch_changed_arg);
		return;
	}
	/* IN_IGNORED for a watch still listed: the kernel dropped it. */
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		if ((d = watch_find_wd(ev->wd)) != NULL)
			watch_dir_gone(d, !(ev->mask & IN_IGNORED));
		return;
	}
	if (ev->len == 0 || (d = watch_find_wd(ev->wd)) == NULL)
		return;
	for (i = 0; i < d->count; i++) {
		if (strcmp(ev->name, d->names[i]) == 0) {
			watch_changed(d->files[i], watch_changed_arg);
			return;
		}
	}
}

static void
watch_read_cb(evutil_socket_t fd, short events, void *arg)
{
	char				 buf[4096] __attribute__((aligned(
					     __alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*p;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			watch_event_cb(ev);
		}
	}
}

/*
 * Start watching the package file's directory, creating it if it does not
 * exist, and call changed_cb with the file that changed (NULL: any, events
 * were lost); -1 and *cause if that fails.
 */
int
watch_start(struct event_base *base, const char *package_file,
    watch_changed_cb changed_cb, void *arg, char **cause)
{
	char	*dir;
	int	 fd;

	if (*package_file != '/' || package_file[strlen(package_file) - 1] ==
	    '/') {
		xasprintf(cause, "package file %s is not an absolute file path",
		    package_file);
		return -1;
	}
	dir = path_dirname(package_file);
	if (path_mkdir(dir, 0755, cause) == -1) {
		free(dir);
		return -1;
	}
	free(dir);
	if ((fd = inotify_init1(IN_NONBLOCK|IN_CLOEXEC)) == -1) {
		xasprintf(cause, "inotify: %s", strerror(errno));
		return -1;
	}
	watch_changed = changed_cb;
	watch_changed_arg = arg;
	watch_event = event_new(base, fd, EV_READ|EV_PERSIST, watch_read_cb,
	    NULL);
	if (watch_event == NULL || event_add(watch_event, NULL) == -1)
		fatalx("cannot add the inotify event");
	if (watch_set(&package_file, 1, cause) == -1) {
		watch_stop();
		return -1;
	}
	return 0;
}

static void
watch_dir_free(struct watch_dir *d)
{
	size_t	i;

	for (i = 0; i < d->count; i++) {
		free(d->names[i]);
		free(d->files[i]);
	}
	free(d->names);
	free(d->files);
	free(d->path);
	free(d);
}

/*
 * Add name to d's names, standing for file (itself, or a file below name
 * when name is a directory still missing), if it is not there.
 */
static void
watch_dir_add_name(struct watch_dir *d, const char *name, const char *file)
{
	size_t	i;

	for (i = 0; i < d->count; i++) {
		if (strcmp(d->names[i], name) == 0)
			return;
	}
	d->names = xreallocarray(d->names, d->count + 1, sizeof *d->names);
	d->files = xreallocarray(d->files, d->count + 1, sizeof *d->files);
	d->names[d->count] = xstrdup(name);
	d->files[d->count++] = xstrdup(file);
}

/*
 * Watch exactly files (absolute paths), the first being the package file:
 * -1 and *cause if its directory cannot be watched.  Any other file whose
 * directory cannot be watched (it does not exist) is logged and skipped.
 */
int
watch_set(const char *const *files, size_t count, char **cause)
{
	struct watch_dirs	 old = TAILQ_HEAD_INITIALIZER(old);
	struct watch_dir	*d, *kept;
	char			*dir, *name, *parent;
	size_t			 i;
	int			 fd = event_get_fd(watch_event), wd;

	TAILQ_CONCAT(&old, &watch_dirs, entry);
	for (i = 0; i < count; i++) {
		dir = path_dirname(files[i]);
		name = path_basename(files[i]);
		while ((wd = inotify_add_watch(fd, dir, WATCH_EVENTS)) == -1 &&
		    (errno == ENOENT || errno == ENOTDIR) &&
		    strcmp(dir, "/") != 0) {
			/* Watch for the missing directory to appear. */
			free(name);
			name = path_basename(dir);
			parent = path_dirname(dir);
			free(dir);
			dir = parent;
		}
		if (wd == -1) {
			if (i == 0) {
				xasprintf(cause, "cannot watch %s: %s", dir,
				    strerror(errno));
				free(dir);
				free(name);
				TAILQ_CONCAT(&watch_dirs, &old, entry);
				return -1;
			}
			log_warn("cannot watch %s for %s", dir, files[i]);
			free(dir);
			free(name);
			continue;
		}
		/* One directory seen by two paths has one watch. */
		if ((d = watch_find_wd(wd)) == NULL) {
			d = xcalloc(1, sizeof *d);
			d->wd = wd;
			d->path = dir;
			TAILQ_INSERT_HEAD(&watch_dirs, d, entry);
		} else
			free(dir);
		watch_dir_add_name(d, name, files[i]);
		free(name);
	}

	/* Directories watched before but not now lose their watch. */
	while ((d = TAILQ_FIRST(&old)) != NULL) {
		TAILQ_REMOVE(&old, d, entry);
		TAILQ_FOREACH(kept, &watch_dirs, entry) {
			if (kept->wd == d->wd)
				break;
		}
		if (kept == NULL)
			inotify_rm_watch(fd, d->wd);
		watch_dir_free(d);
	}
	return 0;
}

void
watch_stop(void)
{
	struct watch_dir	*d;

	while ((d = TAILQ_FIRST(&watch_dirs)) != NULL) {
		TAILQ_REMOVE(&watch_dirs, d, entry);
		watch_dir_free(d);
	}
	if (watch_event == NULL)
		return;
	close(event_get_fd(watch_event));
	event_free(watch_event);
	watch_event = NULL;
}
