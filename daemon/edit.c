/*
 * profilectl add and remove: change the package file the way its owner
 * would, and only to something Nix can build.
 *
 * The new text (package-edit.c keeps every other byte) is written to a
 * temporary file beside the package file, so that its relative imports
 * resolve the same, and evaluated as a build's first step would evaluate
 * it; an attribute that does not exist is refused with Nix's own message
 * and the package file is left as it was.  Otherwise the temporary file,
 * synced, is renamed over the package file, unless the file changed while
 * Nix evaluated (the owner's save wins).  The rename is a save like any
 * other: the watch sees it and the queue builds it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profiled.h"

/* A package file larger than this is not one a person edits. */
#define EDIT_FILE_MAX	(1024 * 1024)

/* What a new package file starts as when add is the first thing done. */
static const char edit_new_file[] =
    "{ pkgs ? import <nixpkgs> { } }:\n"
    "with pkgs; [\n"
    "]\n";

struct edit {
	char			*path;		/* the package file, resolved */
	char			*tmp;		/* the new text, beside it */
	char			*before;	/* the text edited */
	size_t			 before_len;
	int			 existed;
	struct package_edit	*edits;
	size_t			 count;
	edit_done_cb		 done_cb;
	void			*arg;
};

static void
edit_free(struct edit *e)
{
	size_t	i;

	if (e->tmp != NULL)
		unlink(e->tmp);
	free(e->tmp);
	free(e->path);
	free(e->before);
	for (i = 0; i < e->count; i++)
		free((char *)e->edits[i].attr);
	free(e->edits);
	free(e);
}

/* The temporary file goes before the answer: the client may look. */
static void
edit_finish(struct edit *e, const char *error, int changed)
{
	if (e->tmp != NULL) {
		unlink(e->tmp);
		free(e->tmp);
		e->tmp = NULL;
	}
	e->done_cb(error, e->edits, e->count, changed, e->arg);
	edit_free(e);
}

/*
 * Read path whole into *text; 0, or 1 if it does not exist, or -1 and
 * *cause.
 */
static int
edit_read(const char *path, char **text, size_t *len, char **cause)
{
	struct stat	 sb;
	ssize_t		 n;
	int		 fd;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > EDIT_FILE_MAX) {
		xasprintf(cause, "%s is not a package file that can be edited "
		    "(%s)", path, !S_ISREG(sb.st_mode) ? "not a regular file" :
		    "larger than 1 MiB");
		close(fd);
		return -1;
	}
	*text = xmalloc(sb.st_size + 1);
	while (*len < (size_t)sb.st_size) {
		n = read(fd, *text + *len, sb.st_size - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += n;
	}
	(*text)[*len] = '\0';
	close(fd);
	if (memchr(*text, '\0', *len) != NULL) {
		xasprintf(cause, "%s holds a NUL byte: not a Nix file", path);
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

/* Write text to a new temporary file beside e->path, synced. */
static int
edit_write_tmp(struct edit *e, const char *text, size_t len, char **cause)
{
	struct stat	 sb;
	char		*copy, *dir, *base;
	size_t		 done = 0;
	ssize_t		 n;
	int		 fd;

	copy = xstrdup(e->path);
	dir = dirname(copy);
	base = basename(e->path);
	xasprintf(&e->tmp, "%s/.%s.profiled-XXXXXX", dir, base);
	free(copy);
	if ((fd = mkostemp(e->tmp, O_CLOEXEC)) == -1) {
		xasprintf(cause, "cannot write beside %s: %s", e->path,
		    strerror(errno));
		free(e->tmp);
		e->tmp = NULL;
		return -1;
	}
	/* The owner's mode, not mkstemp's 0600. */
	if (e->existed && stat(e->path, &sb) == 0)
		fchmod(fd, sb.st_mode & 07777);
	else
		fchmod(fd, 0644);
	while (done < len) {
		if ((n = write(fd, text + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += n;
	}
	if (done < len || fsync(fd) == -1) {
		xasprintf(cause, "cannot write %s: %s", e->tmp,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Nix's message, naming the package file rather than the temporary one. */
static char *
edit_nix_error(struct edit *e, const char *stderr_text)
{
	char	*error = nix_output_error(stderr_text), *at, *fixed;
	size_t	 len = strlen(e->tmp);

	while ((at = strstr(error, e->tmp)) != NULL) {
		xasprintf(&fixed, "%.*s%s%s", (int)(at - error), error,
		    e->path, at + len);
		free(error);
		error = fixed;
	}
	return error;
}

/* Sync the directory holding path, so that a rename in it survives. */
static void
edit_sync_directory(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Nix has evaluated the new text: put it in place, or say why not. */
static void
edit_eval_exit_cb(struct proc *p, int status, void *arg)
{
	struct edit	*e = arg;
	char		*now, *cause = NULL, *error;
	size_t		 now_len;
	int		 r;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error = edit_nix_error(e, proc_stderr(p));
		proc_free(p);
		xasprintf(&cause, "the package file is left as it was: %s",
		    error);
		free(error);
		edit_finish(e, cause, 0);
		free(cause);
		return;
	}
	proc_free(p);

	/* A save while Nix worked wins over this edit. */
	r = edit_read(e->path, &now, &now_len, &cause);
	if (r == -1 || (r == 1) != !e->existed || (r == 0 &&
	    (now_len != e->before_len || memcmp(now, e->before, now_len) != 0))) {
		free(cause);
		xasprintf(&cause, "%s changed while Nix checked the edit; it "
		    "is left as you saved it: try again", e->path);
		free(now);
		edit_finish(e, cause, 0);
		free(cause);
		return;
	}
	free(now);
	if (rename(e->tmp, e->path) == -1) {
		xasprintf(&cause, "cannot replace %s: %s", e->path,
		    strerror(errno));
		edit_finish(e, cause, 0);
		free(cause);
		return;
	}
	free(e->tmp);
	e->tmp = NULL;
	edit_sync_directory(e->path);
	log_info("%s: edited by profilectl", e->path);
	edit_finish(e, NULL, 1);
}

/*
 * Add (or remove) attrs in the package file; done_cb gets each attribute's
 * result and whether the file changed, or the error.  -1 and *cause if it
 * cannot even start (a bad attribute name, a file of another shape).
 */
int
edit_start(struct event_base *base, const struct config *cfg, int add,
    char *const *attrs, size_t count, edit_done_cb done_cb, void *arg,
    char **cause)
{
	struct edit	 *e;
	char		 *after, *wrapper = NULL, **argv = NULL;
	char		  resolved[PATH_MAX];
	size_t		  i, n, flags;
	int		  r, changed;

	for (i = 0; i < count; i++) {
		if (!package_edit_valid_attr(attrs[i])) {
			xasprintf(cause, "not an attribute name: \"%s\" (a "
			    "name such as hello or python3Packages.requests)",
			    attrs[i]);
			return -1;
		}
	}
	e = xcalloc(1, sizeof *e);
	/* A package file that is a link: edit what it points at. */
	e->path = xstrdup(realpath(cfg->package_file, resolved) != NULL ?
	    resolved : cfg->package_file);
	e->done_cb = done_cb;
	e->arg = arg;
	e->count = count;
	e->edits = xcalloc(count, sizeof *e->edits);
	for (i = 0; i < count; i++)
		e->edits[i].attr = xstrdup(attrs[i]);

	if ((r = edit_read(e->path, &e->before, &e->before_len, cause)) == -1)
		goto fail;
	e->existed = r == 0;
	if (!e->existed && !add) {
		xasprintf(cause, "%s does not exist: there is nothing to "
		    "remove", e->path);
		goto fail;
	}
	after = package_edit_apply(e->path, e->existed ? e->before :
	    edit_new_file, e->existed ? e->before_len : strlen(edit_new_file),
	    add, e->edits, count, cause);
	if (after == NULL)
		goto fail;
	changed = !e->existed || strcmp(after, e->before) != 0;
	if (!changed) {
		free(after);
		edit_finish(e, NULL, 0);
		return 0;
	}
	r = edit_write_tmp(e, after, strlen(after), cause);
	free(after);
	if (r == -1)
		goto fail;

	xasprintf(&wrapper, "%s/user-env.nix", cfg->state_dir);
	for (flags = 0; cfg->nix_flags[flags] != NULL; flags++)
		;
	argv = xcalloc(12 + flags, sizeof *argv);
	n = 0;
	argv[n++] = "nix-instantiate";
	argv[n++] = "--eval";
	argv[n++] = "--strict";
	argv[n++] = "--json";
	argv[n++] = "--read-write-mode";
	argv[n++] = wrapper;
	argv[n++] = "-A";
	argv[n++] = "info";
	argv[n++] = "--argstr";
	argv[n++] = "packageFile";
	argv[n++] = e->tmp;
	for (i = 0; i < flags; i++)
		argv[n++] = cfg->nix_flags[i];
	argv[n] = NULL;
	if (proc_start(base, argv, NULL, edit_eval_exit_cb, e, cause) == NULL)
		goto fail;
	free(argv);
	free(wrapper);
	return 0;

fail:
	free(argv);
	free(wrapper);
	edit_free(e);
	return -1;
}
