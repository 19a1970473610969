/*
 * The user's Nix profile, read and switched the way Nix itself does it.
 *
 * A profile P is a symlink to a generation link P-N-link in the same
 * directory, which points at a user environment in the store.  Reading the
 * current generation and listing generations are a readlink and a readdir.
 * Switching to an existing generation is Nix's switchLink: a new symlink
 * renamed over P, under the lock nix-env takes (an flock on P.lock), so it is
 * atomic and cannot interleave with a nix-env run.  Creating a generation
 * needs Nix where Nix must register the link as a GC root: there it is
 * nix-env --set, run by generation.c as a child.  In Nix's profiles
 * directory a link is a root by itself, and profile_create makes it as
 * nix-env would, saving a Nix start-up per save.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"

/* The number in NAME-N-link, or 0 if entry is not a link of that profile. */
unsigned
profile_parse_link_name(const char *name, const char *entry)
{
	size_t		 len = strlen(name);
	const char	*p;
	char		*end;
	unsigned long	 n;

	if (strncmp(entry, name, len) != 0 || entry[len] != '-')
		return 0;
	p = entry + len + 1;
	if (*p < '1' || *p > '9')
		return 0;
	errno = 0;
	n = strtoul(p, &end, 10);
	if (errno != 0 || n > UINT_MAX || strcmp(end, "-link") != 0)
		return 0;
	return n;
}

/* The path of generation id's link: P-N-link beside P. */
char *
profile_link_path(const char *profile, unsigned id)
{
	char	*path;

	xasprintf(&path, "%s-%u-link", profile, id);
	return path;
}

static char *
profile_readlink(const char *path)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;

	if ((n = readlink(path, buf, sizeof buf - 1)) == -1)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/*
 * The current generation's number in *id (0 if there is no profile yet, or
 * it does not point at a generation link) and its store path in
 * *store_path (NULL if none).  -1 and *cause only if P cannot be read.
 */
int
profile_current(const char *profile, unsigned *id, char **store_path,
    char **cause)
{
	char	*target, *name, *slash, *link;

	*id = 0;
	*store_path = NULL;
	if ((target = profile_readlink(profile)) == NULL) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "cannot read profile %s: %s", profile,
		    strerror(errno));
		return -1;
	}
	name = path_basename(profile);
	slash = strrchr(target, '/');
	*id = profile_parse_link_name(name, slash != NULL ? slash + 1 : target);
	free(name);
	if (*id == 0) {
		*store_path = target;
		return 0;
	}
	free(target);
	link = profile_link_path(profile, *id);
	*store_path = profile_readlink(link);
	free(link);
	return 0;
}

static int
profile_compare_links(const void *a, const void *b)
{
	const struct profile_link	*la = a, *lb = b;

	return la->id < lb->id ? -1 : la->id > lb->id;
}

/* Every generation link of the profile, by number; NULL if none. */
struct profile_link *
profile_list(const char *profile, size_t *count)
{
	struct profile_link	*links = NULL;
	struct dirent		*entry;
	struct stat		 st;
	DIR			*dir;
	char			*dirname, *name, *path;
	unsigned		 id;

	*count = 0;
	dirname = path_dirname(profile);
	name = path_basename(profile);
	if ((dir = opendir(dirname)) == NULL) {
		free(dirname);
		free(name);
		return NULL;
	}
	while ((entry = readdir(dir)) != NULL) {
		if ((id = profile_parse_link_name(name, entry->d_name)) == 0)
			continue;
		path = profile_link_path(profile, id);
		links = xreallocarray(links, *count + 1, sizeof *links);
		links[*count].id = id;
		links[*count].store_path = profile_readlink(path);
		links[*count].created = lstat(path, &st) == 0 ? st.st_mtime : 0;
		if (links[*count].store_path != NULL)
			(*count)++;
		free(path);
	}
	closedir(dir);
	free(dirname);
	free(name);
	if (*count > 1)
		qsort(links, *count, sizeof *links, profile_compare_links);
	return links;
}

void
profile_list_free(struct profile_link *links, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		free(links[i].store_path);
	free(links);
}

/*
 * Point P at name (a link beside it) as Nix's switchLink does: a fresh
 * symlink renamed over P, so that P is never missing.  -1 and *cause if
 * it cannot be.
 */
static int
profile_point(const char *profile, const char *name, char **cause)
{
	char	*tmp;
	int	 rc = -1;

	xasprintf(&tmp, "%s.profiled-tmp", profile);
	unlink(tmp);
	if (symlink(name, tmp) == -1)
		xasprintf(cause, "cannot create %s: %s", tmp, strerror(errno));
	else if (rename(tmp, profile) == -1) {
		xasprintf(cause, "cannot switch %s: %s", profile,
		    strerror(errno));
		unlink(tmp);
	} else
		rc = 0;
	free(tmp);
	return rc;
}

/*
 * Make generation id current: point a fresh symlink at P-id-link and rename
 * it over P, holding nix-env's profile lock.  The link must exist.
 */
int
profile_switch(const char *profile, unsigned id, char **cause)
{
	char		*link, *target, *lock;
	struct stat	 st;
	int		 fd, rc = -1;

	link = profile_link_path(profile, id);
	if (lstat(link, &st) == -1) {
		xasprintf(cause, "generation %u does not exist (%s: %s)", id,
		    link, strerror(errno));
		free(link);
		return -1;
	}
	target = path_basename(link);
	xasprintf(&lock, "%s.lock", profile);

	if ((fd = open(lock, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "cannot open %s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
		xasprintf(cause, "profile %s is locked by another Nix command; "
		    "try again", profile);
		goto out;
	}
	rc = profile_point(profile, target, cause);
out:
	if (fd != -1)
		close(fd);
	free(link);
	free(target);
	free(lock);
	return rc;
}

/* ~/.nix-profile, as a new string, or NULL without a home. */
static char *
profile_home_link(void)
{
	const char	*home = getenv("HOME");
	char		*link;

	if (home == NULL || *home != '/')
		return NULL;
	xasprintf(&link, "%s/.nix-profile", home);
	return link;
}

/*
 * Point ~/.nix-profile at profile if it does not exist, as nix-env does on
 * first use, so that the shell's PATH (which the Nix installers make
 * from ~/.nix-profile/bin) sees the packages; one that exists is never
 * touched.  -1 and *cause if it cannot be made.
 */
int
profile_link_home(const char *profile, char **cause)
{
	struct stat	 sb;
	char		*link;
	int		 rc = 0;

	if ((link = profile_home_link()) == NULL || lstat(link, &sb) == 0) {
		free(link);
		return 0;
	}
	if (symlink(profile, link) == -1) {
		xasprintf(cause, "cannot make %s: %s", link, strerror(errno));
		rc = -1;
	} else
		log_info("made %s, pointing at %s", link, profile);
	free(link);
	return rc;
}

/*
 * Why the user's shell may not see profile's packages, as a new string,
 * or NULL if ~/.nix-profile points at it.
 */
char *
profile_home_warning(const char *profile)
{
	char	*link, *target, *warning = NULL, real[PATH_MAX], want[PATH_MAX];

	if ((link = profile_home_link()) == NULL)
		return NULL;
	if ((target = profile_readlink(link)) == NULL)
		xasprintf(&warning, "%s does not exist, so your shell's PATH "
		    "does not see the packages of %s", link, profile);
	else if (strcmp(target, profile) != 0 &&
	    (realpath(link, real) == NULL || realpath(profile, want) == NULL ||
	    strcmp(real, want) != 0))
		xasprintf(&warning, "%s points at %s, not at the profile "
		    "profiled manages (%s): your shell's PATH does not see its "
		    "packages", link, target, profile);
	free(target);
	free(link);
	return warning;
}

/*
 * Whether a generation link of profile is a GC root by itself: its
 * directory lies under Nix's profiles directory (NIX_STATE_DIR/profiles),
 * which the collector reaches through gcroots/profiles.  Anywhere else
 * Nix registers each link as an indirect root, which only Nix can do
 * against a nix-daemon, so a link there is made by nix-env --set.
 */
int
profile_links_are_roots(const char *profile)
{
	const char	*state = getenv("NIX_STATE_DIR");
	char		*dir, *profiles, *gcroot;
	char		 real_dir[PATH_MAX], real_profiles[PATH_MAX];
	char		 real_gcroot[PATH_MAX];
	size_t		 len;
	int		 rc = 0;

	if (state == NULL || *state == '\0')
		state = "/nix/var/nix";
	dir = path_dirname(profile);
	xasprintf(&profiles, "%s/profiles", state);
	xasprintf(&gcroot, "%s/gcroots/profiles", state);
	if (realpath(dir, real_dir) != NULL &&
	    realpath(profiles, real_profiles) != NULL &&
	    realpath(gcroot, real_gcroot) != NULL &&
	    strcmp(real_profiles, real_gcroot) == 0) {
		len = strlen(real_profiles);
		rc = strncmp(real_dir, real_profiles, len) == 0 &&
		    (real_dir[len] == '/' || real_dir[len] == '\0');
	}
	free(dir);
	free(profiles);
	free(gcroot);
	return rc;
}

/*
 * Make store_path the profile's newest generation and switch to it, as
 * nix-env --set does (Nix's createGeneration and switchLink): the highest
 * link is reused if it already points there, else P-(highest+1)-link is
 * made; then P is pointed at it by a rename.  Only for a profile whose
 * links are GC roots by themselves (profile_links_are_roots) and a store
 * path a root keeps alive meanwhile (the build's result): no Nix runs.
 * It holds P.lock, as nix-env does to change a profile, and asks newest
 * for the highest link's number under it (no Nix command can make one
 * meanwhile).  0 and the number in *id; 1 if another Nix command holds the
 * lock (nothing was done); -1 and *cause if a link cannot be made.
 */
int
profile_create(const char *profile, const char *store_path,
    profile_newest_cb newest, unsigned *id, char **cause)
{
	char	*lock, *link = NULL, *target = NULL, *name = NULL;
	int	 fd, rc = -1;

	xasprintf(&lock, "%s.lock", profile);
	if ((fd = open(lock, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "cannot open %s: %s", lock, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
		rc = 1;
		goto out;
	}
	*id = newest();
	if (*id != 0) {
		link = profile_link_path(profile, *id);
		target = profile_readlink(link);
	}
	if (target == NULL || strcmp(target, store_path) != 0) {
		free(link);
		link = profile_link_path(profile, ++*id);
		/* Never over a link: one that appeared meanwhile is Nix's. */
		if (symlink(store_path, link) == -1) {
			xasprintf(cause, "cannot create %s: %s", link,
			    strerror(errno));
			goto out;
		}
	}
	name = path_basename(link);
	rc = profile_point(profile, name, cause);
out:
	if (fd != -1)
		close(fd);
	free(lock);
	free(link);
	free(target);
	free(name);
	return rc;
}
