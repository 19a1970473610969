/*
 * Watching the package file with inotify.
 *
 * The watch is on the file's directory, not the file: editors that save by
 * writing a new file and renaming it over the old one replace the inode a
 * file watch would be on.  Any event naming the file goes to the queue,
 * which debounces and decides whether anything changed.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

#define WATCH_EVENTS	(IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_DELETE | \
			 IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB)

static struct event	*watch_event;
static char		*watch_name;

static void
watch_read_cb(evutil_socket_t fd, short events, void *arg)
{
	char				 buf[sizeof(struct inotify_event) +
					     NAME_MAX + 1] __attribute__((aligned(
					     __alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*p;
	int				 changed = 0;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				changed = 1;
			else if (ev->len > 0 &&
			    strcmp(ev->name, watch_name) == 0)
				changed = 1;
		}
	}
	if (changed)
		queue_file_changed();
}

/*
 * Watch the package file's directory, creating it if it does not exist;
 * -1 and *cause if that fails.
 */
int
watch_start(struct event_base *base, const char *package_file, char **cause)
{
	char		*dir, *slash;
	int		 fd;

	slash = strrchr(package_file, '/');
	if (slash == NULL || slash[1] == '\0') {
		xasprintf(cause, "package file %s is not an absolute file path",
		    package_file);
		return -1;
	}
	dir = path_dirname(package_file);
	if (path_mkdir(dir, 0755, cause) == -1) {
		free(dir);
		return -1;
	}
	if ((fd = inotify_init1(IN_NONBLOCK|IN_CLOEXEC)) == -1) {
		xasprintf(cause, "inotify: %s", strerror(errno));
		free(dir);
		return -1;
	}
	if (inotify_add_watch(fd, dir, WATCH_EVENTS) == -1) {
		xasprintf(cause, "cannot watch %s: %s", dir, strerror(errno));
		close(fd);
		free(dir);
		return -1;
	}
	free(dir);
	watch_name = xstrdup(slash + 1);
	watch_event = event_new(base, fd, EV_READ|EV_PERSIST, watch_read_cb,
	    NULL);
	if (watch_event == NULL || event_add(watch_event, NULL) == -1)
		fatalx("cannot add the inotify event");
	return 0;
}

void
watch_stop(void)
{
	if (watch_event == NULL)
		return;
	close(event_get_fd(watch_event));
	event_free(watch_event);
	watch_event = NULL;
	free(watch_name);
	watch_name = NULL;
}
