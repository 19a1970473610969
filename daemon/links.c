/*
 * The profile's generation links, known from the last look.  One scan of
 * the profile's directory (in steps from the loop at start, see adopt.c),
 * then inotify on that directory says which NAME-N-link entries came, went
 * or were replaced, and only those are read again.  So the list of links,
 * the newest number and whether a link is there cost nothing that grows
 * with the history.  A full inotify queue (IN_Q_OVERFLOW), or a directory
 * that went or was not there yet, costs one full scan.
 *
 * An entry an event names is read again (readlink, lstat) rather than
 * changed by what the event says, so whatever order events and the scan
 * come in, the index ends as the directory is.  Without inotify (no
 * instance left) every refresh is a full scan: slower, never wrong.
 *
 * The links made or replaced since generation_sync last looked are kept
 * for it (links_take_changed), so it records only those.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

#define LINKS_EVENTS	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
	IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static struct {
	char			*profile;
	char			*dir;
	char			*name;		/* the profile's base name */
	int			 fd;		/* inotify, or -1 */
	int			 wd;		/* the directory's watch, or -1 */
	struct event		*event;		/* fd, once the index is whole */
	DIR			*scan;		/* a scan under way */
	int			 whole;		/* the index is the directory */
	struct profile_link	*links;		/* by id once whole */
	size_t			 count;
	unsigned		*changed;	/* made or replaced since taken */
	size_t			 nchanged;
	int			 full;		/* a scan since: all may have */
} links = { .fd = -1, .wd = -1 };

static void	links_read_events(void);

/*
 * The index's invariants around entry i (all of it, for a scan's end):
 * whole, it is by id, each id once, and no scan is under way.
 */
static void
links_check(size_t first, size_t last)
{
	size_t	i;

	assert(!links.whole || links.scan == NULL);
	for (i = first + 1; links.whole && i <= last && i < links.count; i++)
		assert(links.links[i - 1].id < links.links[i].id);
}

static int
links_compare(const void *a, const void *b)
{
	const struct profile_link	*la = a, *lb = b;

	return la->id < lb->id ? -1 : la->id > lb->id;
}

/* Where id is in the index, or where it would go; *found says which. */
static size_t
links_position(unsigned id, int *found)
{
	size_t	low = 0, high = links.count, middle;

	while (low < high) {
		middle = low + (high - low) / 2;
		if (links.links[middle].id < id)
			low = middle + 1;
		else
			high = middle;
	}
	*found = low < links.count && links.links[low].id == id;
	return low;
}

static void
links_mark_changed(unsigned id)
{
	links.changed = xreallocarray(links.changed, links.nchanged + 1,
	    sizeof *links.changed);
	links.changed[links.nchanged++] = id;
}

/* Read link id's target and time; NULL if it is not there. */
static char *
links_read(unsigned id, int64_t *created)
{
	char		 buf[PATH_MAX], *path;
	struct stat	 st;
	ssize_t		 n;

	path = profile_link_path(links.profile, id);
	if ((n = readlink(path, buf, sizeof buf - 1)) == -1) {
		free(path);
		return NULL;
	}
	buf[n] = '\0';
	*created = lstat(path, &st) == 0 ? st.st_mtime : 0;
	free(path);
	return xstrdup(buf);
}

/* Read link id again and bring the (whole) index in line with it. */
static void
links_update(unsigned id)
{
	struct profile_link	*link;
	char			*store_path;
	int64_t			 created = 0;
	size_t			 i;
	int			 found;

	i = links_position(id, &found);
	if ((store_path = links_read(id, &created)) == NULL) {
		if (found) {
			free(links.links[i].store_path);
			memmove(&links.links[i], &links.links[i + 1],
			    (links.count - i - 1) * sizeof *links.links);
			links.count--;
		}
		return;
	}
	if (!found) {
		links.links = xreallocarray(links.links, links.count + 1,
		    sizeof *links.links);
		memmove(&links.links[i + 1], &links.links[i],
		    (links.count - i) * sizeof *links.links);
		links.count++;
		link = &links.links[i];
		link->id = id;
		link->store_path = store_path;
		link->created = created;
		links_mark_changed(id);
		links_check(i > 0 ? i - 1 : 0, i + 1);
		return;
	}
	link = &links.links[i];
	link->created = created;
	if (strcmp(link->store_path, store_path) == 0) {
		free(store_path);
		return;
	}
	free(link->store_path);
	link->store_path = store_path;
	links_mark_changed(id);
}

static void
links_clear(void)
{
	size_t	i;

	for (i = 0; i < links.count; i++)
		free(links.links[i].store_path);
	free(links.links);
	links.links = NULL;
	links.count = 0;
}

/*
 * Start a full scan: forget the index, watch the directory if it is not
 * watched (it may have been made since), and open it.
 */
static void
links_scan_begin(void)
{
	if (links.scan != NULL)
		closedir(links.scan);
	links.scan = NULL;
	if (links.event != NULL)
		event_del(links.event);
	links_clear();
	links.whole = 0;
	links.full = 1;
	links.nchanged = 0;
	if (links.fd != -1 && links.wd == -1)
		links.wd = inotify_add_watch(links.fd, links.dir, LINKS_EVENTS);
	if ((links.scan = opendir(links.dir)) == NULL) {
		/* No directory is no links; Nix makes it at the first build. */
		links.whole = 1;
	}
}

/*
 * Go on with the scan under way, max entries at most (0: to its end);
 * 1 once the index is whole.  Entries found are appended, and sorted at
 * the end, so a scan costs N log N, not N squared.
 */
int
links_scan(size_t max)
{
	struct dirent	*entry;
	char		*store_path;
	int64_t		 created = 0;
	size_t		 n = 0, i, j;
	unsigned	 id;

	if (links.whole)
		return 1;
	if (links.scan == NULL)
		links_scan_begin();
	while (links.scan != NULL && (max == 0 || n < max)) {
		if ((entry = readdir(links.scan)) == NULL) {
			closedir(links.scan);
			links.scan = NULL;
			break;
		}
		n++;
		if ((id = profile_parse_link_name(links.name,
		    entry->d_name)) == 0 ||
		    (store_path = links_read(id, &created)) == NULL)
			continue;
		links.links = xreallocarray(links.links, links.count + 1,
		    sizeof *links.links);
		links.links[links.count].id = id;
		links.links[links.count].store_path = store_path;
		links.links[links.count++].created = created;
	}
	if (links.scan != NULL)
		return 0;
	if (links.count > 1)
		qsort(links.links, links.count, sizeof *links.links,
		    links_compare);
	/* A directory read while it changes may name an entry twice. */
	for (i = 0, j = 0; i < links.count; i++) {
		if (j > 0 && links.links[j - 1].id == links.links[i].id) {
			free(links.links[j - 1].store_path);
			links.links[j - 1] = links.links[i];
		} else
			links.links[j++] = links.links[i];
	}
	links.count = j;
	links.whole = 1;
	if (links.event != NULL && links.wd != -1)
		event_add(links.event, NULL);
	links_check(0, links.count);
	return 1;
}

/*
 * One inotify event on the profile's directory (name NULL for one about
 * the directory itself): read again the link it names, or, if events were
 * lost or the directory went, scan it all again.
 */
void
links_event(uint32_t mask, const char *name)
{
	unsigned	id;

	if (mask & IN_Q_OVERFLOW) {
		log_info("inotify lost events on %s; reading it again",
		    links.dir);
		links_scan_begin();
		links_scan(0);
		return;
	}
	if (mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		if (links.fd != -1 && links.wd != -1 && !(mask & IN_IGNORED))
			inotify_rm_watch(links.fd, links.wd);
		links.wd = -1;
		links.whole = 0;
		return;
	}
	if (name == NULL || !links.whole ||
	    (id = profile_parse_link_name(links.name, name)) == 0)
		return;
	links_update(id);
}

/* Apply every event the kernel holds, without waiting for more. */
static void
links_read_events(void)
{
	char				 buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ev;
	ssize_t				 n;
	char				*p;

	if (links.fd == -1)
		return;
	while ((n = read(links.fd, buf, sizeof buf)) > 0) {
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)p;
			links_event(ev->mask, ev->len > 0 ? ev->name : NULL);
		}
	}
}

static void
links_read_cb(evutil_socket_t fd, short events, void *arg)
{
	links_read_events();
}

/*
 * Bring the index up to date now: finish a scan under way, start one if
 * the directory was not watched, apply the events pending.  What changed
 * since the last look costs what it changed.
 */
void
links_refresh(void)
{
	if (links.fd == -1 || links.wd == -1) {
		/* Unwatched: only a scan can say. */
		links.whole = 0;
		if (links.scan == NULL)
			links_scan_begin();
	}
	links_scan(0);
	links_read_events();
	/* The directory may have gone while the events were read. */
	if (!links.whole)
		links_scan(0);
	links_check(0, 0);
}

/*
 * Know the links of profile: watch its directory (on base's loop if base
 * is not NULL; else links_refresh reads the events).  The scan itself is
 * left to links_scan or links_refresh.  -1 and *cause only if it cannot
 * be tried at all.
 */
int
links_open(struct event_base *base, const char *profile, char **cause)
{
	links_close();
	links.profile = xstrdup(profile);
	links.dir = path_dirname(profile);
	links.name = path_basename(profile);
	if ((links.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		log_warn("inotify on %s; every look at the profile reads it "
		    "all", links.dir);
	else if (base != NULL && (links.event = event_new(base, links.fd,
	    EV_READ | EV_PERSIST, links_read_cb, NULL)) == NULL) {
		xasprintf(cause, "cannot watch %s", links.dir);
		links_close();
		return -1;
	}
	return 0;
}

void
links_close(void)
{
	if (links.event != NULL)
		event_free(links.event);
	links.event = NULL;
	if (links.scan != NULL)
		closedir(links.scan);
	links.scan = NULL;
	if (links.fd != -1)
		close(links.fd);
	links.fd = links.wd = -1;
	links_clear();
	free(links.changed);
	links.changed = NULL;
	links.nchanged = 0;
	links.whole = links.full = 0;
	free(links.profile);
	free(links.dir);
	free(links.name);
	links.profile = links.dir = links.name = NULL;
}

/*
 * The links, by id (*count of them), as of the last refresh; valid until
 * the next links_* call that reads the directory or its events.
 */
const struct profile_link *
links_list(size_t *count)
{
	*count = links.count;
	return links.links;
}

/* Link id, or NULL if the profile does not have it. */
const struct profile_link *
links_get(unsigned id)
{
	size_t	i;
	int	found;

	i = links_position(id, &found);
	return found ? &links.links[i] : NULL;
}

/* The highest link's number, or 0 if there is none. */
unsigned
links_newest(void)
{
	return links.count > 0 ? links.links[links.count - 1].id : 0;
}

/* The number of the link below id (id need not be there), or 0. */
unsigned
links_below(unsigned id)
{
	size_t	i;
	int	found;

	i = links_position(id, &found);
	return i > 0 ? links.links[i - 1].id : 0;
}

/* The index in links_list of the first link above id (count if none). */
size_t
links_after(unsigned id)
{
	size_t	i;
	int	found;

	i = links_position(id, &found);
	return found ? i + 1 : i;
}

/*
 * The ids of the links made or replaced since the last call (*n of them,
 * a new array, in the order seen), and in *full whether a full scan came
 * since, after which every link may be new; both are forgotten.
 */
unsigned *
links_take_changed(size_t *n, int *full)
{
	unsigned	*ids = links.changed;

	*n = links.nchanged;
	*full = links.full;
	links.changed = NULL;
	links.nchanged = 0;
	links.full = 0;
	return ids;
}
