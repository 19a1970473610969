/*
 * One build of the package file, as one Nix child:
 *
 *   nix-build -v user-env.nix -A env --argstr packageFile FILE
 *       -o STATE/result
 *	evaluates the wrapper (user-env.nix, compiled into profiled and
 *	written to the state directory), builds the user environment and
 *	keeps it alive as a GC root (STATE/result) until it becomes a
 *	generation.
 *
 * Evaluation and build in one process, as nix-env -irf does, since each
 * Nix start-up costs about as much as building a small environment.  When
 * some package is not in the store yet, the wrapper's result is named
 * profiled-packages instead: building it built the packages, and the same
 * nix-build runs once more for the environment (see user-env.nix).  The
 * package list recorded with the generation comes from the result: the
 * wrapper writes it as JSON in a comment on the first line of the
 * environment's manifest.nix, so it is read from what was built, whether
 * Nix built it now or found it valid.
 *
 * The file's path is passed with --argstr and never spliced into Nix text.
 * Nix reads the file itself, so once it has, the file is hashed again: if
 * it changed, Nix may have read either content, and the build is given up
 * as stale rather than recorded as the content the queue hashed.
 *
 * nix-build runs with -v, which makes Nix say "evaluating file" for each
 * file it imports: those outside the store (and outside the search path,
 * <nixpkgs>) are the build's inputs, which the queue watches too.  Every
 * other line of its stderr is the build log, handed to subscribers as it
 * comes; on failure the error a user should read is taken from it by
 * build_error_summary.
 *
 * A build can be stopped, by the queue (newer content was saved) or by
 * build_timeout: Nix is sent SIGTERM and the callback still runs, once it
 * has gone, so that a new build never overlaps the old one.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "profiled.h"

extern const char user_env_nix[];

/*
 * The build log kept, shown and stored: its last BUILD_LOG_MAX bytes, from
 * the start of a line, since the end is where Nix says what failed.  Up to
 * twice as much is held, so that trimming is paid once per BUILD_LOG_MAX
 * bytes rather than once per line.
 */
#define BUILD_LOG_MAX		(64 * 1024)
/* Inputs watched at most: a package file importing a whole nixpkgs
 * checkout by path must not use up the user's inotify watches. */
#define BUILD_INPUTS_MAX	256
/*
 * The longest package name and version recorded: every record must fit
 * a page of `generations` (a frame), so a package over these fails the
 * build, naming it, rather than be stored.  Real ones are tens of bytes.
 */
#define BUILD_NAME_MAX		4096
#define BUILD_VERSION_MAX	256
/* How much of a refused name an error quotes. */
#define BUILD_QUOTE_MAX		60
/* What user-env.nix names its result while packages were still to build. */
#define BUILD_PACKAGES_NAME	"-profiled-packages"

struct build {
	struct event_base	*base;
	struct proc		*proc;
	char			*package_file;
	char			*wrapper;
	char			*root;
	char			 hash[SHA256_HEX_SIZE];
	char			**nix_flags;
	struct build_result	*result;
	struct evbuffer		*log;
	struct event		*timeout;
	int			 timeout_seconds;
	char			*stop_error;	/* stopped: why */
	int			 cancelled;	/* stopped by the queue */
	int			 again;		/* nix-build's second run */
	struct timeval		 start;
	build_line_cb		 line_cb;
	build_done_cb		 done_cb;
	void			*arg;
};

static struct build	*build_current;

static void	build_exit_cb(struct proc *, int, void *);

/*
 * Write the wrapper expression into the state directory, if it is not
 * already there as this profiled has it; -1 and *cause if it cannot.
 */
int
build_install_wrapper(const char *state_dir, char **cause)
{
	char	*path, *tmp;
	FILE	*f;
	int	 fd, rc = -1;

	xasprintf(&path, "%s/user-env.nix", state_dir);
	xasprintf(&tmp, "%s/user-env.nix.tmp", state_dir);
	/*
	 * Nix evaluates it for every build, so it is made anew, 0644
	 * whatever the umask, never through a link someone left there.
	 */
	if ((unlink(tmp) == -1 && errno != ENOENT) ||
	    (fd = open(tmp, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
	    0644)) == -1) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (fputs(user_env_nix, f) == EOF || fclose(f) == EOF) {
		xasprintf(cause, "cannot write %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		xasprintf(cause, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(tmp);
	return rc;
}

static char **
build_argv(const char *const *head, char **flags)
{
	char	**argv;
	size_t	  n = 0, i;

	while (head[n] != NULL)
		n++;
	for (i = 0; flags[i] != NULL; i++)
		;
	argv = xcalloc(n + i + 1, sizeof *argv);
	memcpy(argv, head, n * sizeof *argv);
	memcpy(argv + n, flags, i * sizeof *argv);
	return argv;
}

static uint64_t
build_elapsed_ms(const struct timeval *start)
{
	struct timeval	now, diff;

	gettimeofday(&now, NULL);
	timersub(&now, start, &diff);
	return (uint64_t)diff.tv_sec * 1000 + diff.tv_usec / 1000;
}

/*
 * Whether Nix reading path makes it an input worth watching: a file
 * outside the store and outside every directory of NIX_PATH (nixpkgs and
 * the like change by channel updates, not edits).
 */
static int
build_input_wanted(const char *package_file, const char *path)
{
	const char	*store, *nix_path, *entry, *end, *eq;
	char		 real[PATH_MAX];
	size_t		 len;

	if (*path != '/' || strcmp(path, package_file) == 0)
		return 0;
	if ((store = getenv("NIX_STORE_DIR")) == NULL)
		store = "/nix/store";
	len = strlen(store);
	if (strncmp(path, store, len) == 0 && path[len] == '/')
		return 0;
	if (realpath(path, real) != NULL && strncmp(real, store, len) == 0 &&
	    real[len] == '/')
		return 0;
	if ((nix_path = getenv("NIX_PATH")) == NULL)
		return 1;
	for (entry = nix_path; *entry != '\0'; entry = end + (*end != '\0')) {
		end = entry + strcspn(entry, ":");
		if ((eq = memchr(entry, '=', end - entry)) != NULL)
			entry = eq + 1;
		len = end - entry;
		if (len > 1 && *entry == '/' && strncmp(path, entry, len) == 0 &&
		    (path[len] == '/' || path[len] == '\0'))
			return 0;
	}
	return 1;
}

/* Note copy, a file Nix said it evaluates, if it is an input not yet
 * noted; copy is taken over. */
static void
build_note_input(struct build *b, char *copy)
{
	struct build_result	*result = b->result;
	size_t			 i;

	for (i = 0; i < result->ninputs; i++) {
		if (strcmp(result->inputs[i], copy) == 0)
			break;
	}
	if (i < result->ninputs || !build_input_wanted(b->package_file, copy)) {
		free(copy);
		return;
	}
	if (result->ninputs == BUILD_INPUTS_MAX) {
		log_warnx("%s reads more than %d files; not watching %s",
		    b->package_file, BUILD_INPUTS_MAX, copy);
		free(copy);
		return;
	}
	result->inputs = xreallocarray(result->inputs, result->ninputs + 1,
	    sizeof *result->inputs);
	result->inputs[result->ninputs++] = copy;
}

static void
build_log_line_cb(struct proc *p, const char *line, void *arg)
{
	struct build	*b = arg;
	const char	*text, *newline;
	char		*path;
	size_t		 len;

	if ((path = nix_output_evaluated_file(line)) != NULL) {
		build_note_input(b, path);
		return;
	}
	log_debug("nix: %s", line);
	evbuffer_add_printf(b->log, "%s\n", line);
	if ((len = evbuffer_get_length(b->log)) > 2 * BUILD_LOG_MAX) {
		text = (const char *)evbuffer_pullup(b->log, -1);
		newline = memchr(text + len - BUILD_LOG_MAX, '\n',
		    BUILD_LOG_MAX);
		evbuffer_drain(b->log, newline != NULL ?
		    (size_t)(newline - text) + 1 : len);
	}
	b->line_cb(line, b->arg);
}

/* The log so far, its last BUILD_LOG_MAX bytes, as a new string. */
static char *
build_log_text(struct build *b)
{
	size_t		 len = evbuffer_get_length(b->log);
	const char	*text, *start, *newline;

	if (len == 0)
		return xstrdup("");
	text = (const char *)evbuffer_pullup(b->log, -1);
	start = text;
	if (len > BUILD_LOG_MAX) {
		start = text + len - BUILD_LOG_MAX;
		if ((newline = memchr(start, '\n', text + len - start)) != NULL &&
		    newline + 1 < text + len)
			start = newline + 1;
	}
	return xstrndup(start, text + len - start);
}

/* The running build's log so far, as a new string, or NULL if none runs. */
char *
build_log(void)
{
	return build_current != NULL ? build_log_text(build_current) : NULL;
}

/* Free b and what it holds but its result. */
static void
build_free(struct build *b)
{
	if (b->timeout != NULL)
		event_free(b->timeout);
	if (b->log != NULL)
		evbuffer_free(b->log);
	free(b->stop_error);
	free(b->package_file);
	free(b->wrapper);
	free(b->root);
	free(b);
}

static void
build_finish(struct build *b, const char *error)
{
	struct build_result	*result = b->result;

	result->ok = error == NULL;
	if (error != NULL) {
		free(result->error);
		result->error = xstrdup(error);
	}
	result->cancelled = b->cancelled;
	result->duration_ms = build_elapsed_ms(&b->start);
	result->log = build_log_text(b);
	build_current = NULL;
	b->done_cb(result, b->arg);
	build_free(b);
}

/* The build ran past build_timeout: stop Nix. */
static void
build_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct build	*b = arg;

	if (b->stop_error != NULL)
		return;		/* already being stopped */
	xasprintf(&b->stop_error, "error: stopped after %d s, the "
	    "build_timeout (is the evaluation stuck, or a download?)",
	    b->timeout_seconds);
	log_warnx("%s", b->stop_error);
	if (b->proc != NULL)
		proc_terminate(b->proc);
}

/*
 * Whether b was stopped; if so, finish it with the reason, its child
 * having exited.
 */
static int
build_finish_if_stopped(struct build *b)
{
	char	*error;

	if (b->stop_error == NULL)
		return 0;
	error = xstrdup(b->stop_error);
	build_finish(b, error);
	free(error);
	return 1;
}

/* Start a Nix child for b; -1 and *cause (naming a missing Nix) if not. */
static int
build_run(struct build *b, char *const argv[], proc_exit_cb exit_cb,
    char **cause)
{
	char	*error;

	b->proc = proc_start(b->base, argv, build_log_line_cb, exit_cb, b,
	    &error);
	if (b->proc != NULL)
		return 0;
	if (errno == ENOENT) {
		xasprintf(cause, "error: cannot run %s: Nix is not installed, "
		    "or not in profiled's PATH (%s)", argv[0],
		    getenv("PATH") != NULL ? getenv("PATH") : "no PATH");
		free(error);
	} else
		*cause = error;
	return -1;
}

/* Start b's nix-build; -1 and *cause if it cannot start. */
static int
build_nix(struct build *b, char **cause)
{
	char	**argv;
	int	  rc;

	argv = build_argv((const char *const[]){ "nix-build", "-v",
	    b->wrapper, "-A", "env", "--argstr", "packageFile",
	    b->package_file, "-o", b->root, NULL }, b->nix_flags);
	rc = build_run(b, argv, build_exit_cb, cause);
	free(argv);
	return rc;
}

/*
 * Whether the result is the wrapper's profiled-packages, made while
 * packages were still to build, rather than the environment.
 */
static int
build_result_is_packages(const char *root)
{
	char	target[PATH_MAX];
	ssize_t	n;
	size_t	len = strlen(BUILD_PACKAGES_NAME);

	if ((n = readlink(root, target, sizeof target - 1)) == -1)
		return 0;
	target[n] = '\0';
	return (size_t)n > len &&
	    strcmp(target + n - len, BUILD_PACKAGES_NAME) == 0;
}

static void
build_fail_from_log(struct build *b)
{
	char	*log, *summary;

	log = build_log_text(b);
	summary = nix_output_error(log);
	build_finish(b, summary);
	free(summary);
	free(log);
}

/* Whether the package file still has the content hashed as b->hash. */
static int
build_file_unchanged(struct build *b)
{
	char	*content = NULL, *cause = NULL, hash[SHA256_HEX_SIZE];
	int	 rc;

	if (path_read_file(b->package_file, PATH_FILE_MAX, &content,
	    &cause) != 0) {
		free(cause);
		return 0;
	}
	sha256_hex(content, strlen(content), hash);
	rc = strcmp(hash, b->hash) == 0;
	free(content);
	return rc;
}

/*
 * Start building the package file, whose content has the given hash, with
 * Nix; line_cb gets each line of the build log as it comes, and done_cb
 * the result (which it must free with build_result_free) unless
 * build_cancel comes first.  -1 and *cause if Nix cannot start.
 */
int
build_start(struct event_base *base, const struct config *cfg,
    const char *hash, build_line_cb line_cb, build_done_cb done_cb, void *arg,
    char **cause)
{
	struct build	 *b;
	struct timeval	  tv;

	assert(build_current == NULL);
	b = xcalloc(1, sizeof *b);
	b->base = base;
	b->package_file = xstrdup(cfg->package_file);
	xasprintf(&b->wrapper, "%s/user-env.nix", cfg->state_dir);
	xasprintf(&b->root, "%s/result", cfg->state_dir);
	b->nix_flags = cfg->nix_flags;
	snprintf(b->hash, sizeof b->hash, "%s", hash);
	b->result = xcalloc(1, sizeof *b->result);
	if ((b->log = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	b->line_cb = line_cb;
	b->done_cb = done_cb;
	b->arg = arg;
	gettimeofday(&b->start, NULL);

	if (build_nix(b, cause) == -1) {
		build_result_free(b->result);
		build_free(b);
		return -1;
	}
	if ((b->timeout_seconds = cfg->build_timeout) > 0) {
		tv.tv_sec = b->timeout_seconds;
		tv.tv_usec = 0;
		b->timeout = evtimer_new(base, build_timeout_cb, b);
		if (b->timeout == NULL || evtimer_add(b->timeout, &tv) == -1)
			fatalx("cannot set the build timeout");
	}
	build_current = b;
	return 0;
}

/*
 * Whether the package (name, version, path) fits a record; if not, -1 and
 * *cause, the build's error, naming the package by as much of its name as
 * reads well.
 */
static int
build_package_fits(const char *name, const char *version, const char *path,
    char **cause)
{
	size_t	len = strlen(name);
	int	shown = len > BUILD_QUOTE_MAX ? BUILD_QUOTE_MAX : (int)len;

	if (len > BUILD_NAME_MAX) {
		xasprintf(cause, "error: a package's name is %zu bytes long "
		    "(at most %d): '%.*s...'", len, BUILD_NAME_MAX, shown,
		    name);
		return -1;
	}
	if (strlen(version) > BUILD_VERSION_MAX) {
		xasprintf(cause, "error: package '%.*s%s' has a version %zu "
		    "bytes long (at most %d)", shown, name,
		    len > BUILD_QUOTE_MAX ? "..." : "", strlen(version),
		    BUILD_VERSION_MAX);
		return -1;
	}
	if (strlen(path) >= PATH_MAX) {
		xasprintf(cause, "error: package '%.*s%s' has a store path "
		    "%zu bytes long (at most %d)", shown, name,
		    len > BUILD_QUOTE_MAX ? "..." : "", strlen(path),
		    PATH_MAX - 1);
		return -1;
	}
	return 0;
}

/*
 * Read the package list (JSON, as user-env.nix writes it) into result: 0,
 * or -1 if it is not as the wrapper writes it, or -1 and *cause if a
 * package does not fit.
 */
static int
build_read_packages(struct build_result *result, const struct json *list,
    char **cause)
{
	size_t	i;

	if (manifest_parse_packages(list, &result->packages,
	    &result->npackages) == -1)
		return -1;
	for (i = 0; i < result->npackages; i++) {
		if (build_package_fits(result->packages[i].name,
		    result->packages[i].version, result->packages[i].path,
		    cause) == -1)
			return -1;
	}
	return 0;
}

/* Fill b's result from the environment nix-build made: 0, or -1 and
 * *cause, the build's error. */
static int
build_read_result(struct build *b, char **cause)
{
	struct build_result	*result = b->result;
	struct json		*list = NULL;
	char			 target[PATH_MAX], *text, *error = NULL;
	char			*unfit = NULL;
	ssize_t			 n;
	int			 rc = -1;

	if ((n = readlink(b->root, target, sizeof target - 1)) == -1) {
		xasprintf(cause, "error: nix-build made no result at %s: %s",
		    b->root, strerror(errno));
		return -1;
	}
	target[n] = '\0';
	if ((text = manifest_packages(target, &error)) != NULL)
		list = json_parse(text, strlen(text), &error);
	if (list != NULL && build_read_packages(result, list, &unfit) == 0) {
		result->out_path = xstrdup(target);
		rc = 0;
	} else if (unfit != NULL) {
		*cause = unfit;
		unfit = NULL;
	} else {
		log_warnx("unexpected result from nix-build: %s",
		    error != NULL ? error : "a bad package list");
		xasprintf(cause, "error: nix-build made %s without the package "
		    "list profiled writes (see the daemon's log)", target);
	}
	json_free(list);
	free(text);
	free(error);
	free(unfit);
	return rc;
}

static void
build_exit_cb(struct proc *p, int status, void *arg)
{
	struct build	*b = arg;
	char		*cause = NULL;

	proc_free(p);
	b->proc = NULL;
	if (build_finish_if_stopped(b))
		return;
	if (!build_file_unchanged(b)) {
		b->result->stale = 1;
		build_finish(b, "the package file changed while Nix read it");
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		build_fail_from_log(b);
		return;
	}
	if (!b->again && build_result_is_packages(b->root)) {
		/* The packages are built: now the environment. */
		b->again = 1;
		if (build_nix(b, &cause) == -1) {
			build_finish(b, cause);
			free(cause);
		}
		return;
	}
	if (b->again && build_result_is_packages(b->root))
		log_warnx("some package is still not in the store after "
		    "nix-build built it; recording its environment as built");
	if (build_read_result(b, &cause) == -1) {
		build_finish(b, cause);
		free(cause);
		return;
	}
	build_finish(b, NULL);
}

/* Whether a build is running. */
int
build_running(void)
{
	return build_current != NULL;
}

/*
 * Stop the running build because of why (newer content was saved): Nix is
 * asked to stop, and the callback gets a result with cancelled set once it
 * has.
 */
void
build_stop(const char *why)
{
	struct build	*b = build_current;

	if (b == NULL || b->stop_error != NULL)
		return;
	b->stop_error = xstrdup(why);
	b->cancelled = 1;
	if (b->proc != NULL)
		proc_terminate(b->proc);
}

/* Stop the running build, if any, killing Nix; its callback never runs. */
void
build_cancel(void)
{
	struct build	*b = build_current;

	if (b == NULL)
		return;
	if (b->proc != NULL)
		proc_kill(b->proc);
	build_result_free(b->result);
	build_free(b);
	build_current = NULL;
}

void
build_result_free(struct build_result *result)
{
	size_t	i;

	if (result == NULL)
		return;
	package_list_free(result->packages, result->npackages);
	for (i = 0; i < result->ninputs; i++)
		free(result->inputs[i]);
	free(result->inputs);
	free(result->error);
	free(result->out_path);
	free(result->log);
	free(result);
}
