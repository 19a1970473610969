/*
 * Questions to the Nix store that take a Nix process, asked from the event
 * loop: how much space a generation's closure takes, and collecting the
 * garbage that deleted generations leave.  Nix answers in two
 * steps (the closure's paths, then each path's size), each a child process
 * read through proc.c; the answer comes back through a callback.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "profiled.h"

struct store_size {
	struct event_base *base;
	char		*store_path;
	store_size_cb	 done_cb;
	void		*arg;
};

static void
store_size_done(struct store_size *ss, int ok, uint64_t bytes)
{
	ss->done_cb(ok, bytes, ss->arg);
	free(ss->store_path);
	free(ss);
}

/* nix-store --query --size answered: one size a line, summed. */
static void
store_size_sizes_cb(struct proc *p, int status, void *arg)
{
	struct store_size	*ss = arg;
	const char		*line;
	char			*end;
	uint64_t		 bytes = 0;
	int			 ok;

	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	for (line = proc_stdout(p); ok && *line != '\0'; line = end + 1) {
		bytes += strtoull(line, &end, 10);
		if (end == line || *end != '\n')
			ok = 0;
	}
	if (!ok)
		log_debug("no size for %s: %s", ss->store_path, proc_stderr(p));
	proc_free(p);
	store_size_done(ss, ok, bytes);
}

/* nix-store --query --requisites answered: ask each path's size. */
static void
store_size_requisites_cb(struct proc *p, int status, void *arg)
{
	struct store_size	*ss = arg;
	char			*paths, *path, *next, **argv = NULL, *cause;
	size_t			 argc = 0;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_debug("no closure for %s: %s", ss->store_path,
		    proc_stderr(p));
		proc_free(p);
		store_size_done(ss, 0, 0);
		return;
	}
	paths = xstrdup(proc_stdout(p));
	proc_free(p);
	argv = xreallocarray(argv, 4, sizeof *argv);
	argv[argc++] = "nix-store";
	argv[argc++] = "--query";
	argv[argc++] = "--size";
	for (path = paths; *path != '\0'; path = next) {
		if ((next = strchr(path, '\n')) == NULL)
			next = path + strlen(path);
		else
			*next++ = '\0';
		argv = xreallocarray(argv, argc + 2, sizeof *argv);
		argv[argc++] = path;
	}
	argv[argc] = NULL;
	if (proc_start(ss->base, argv, NULL, store_size_sizes_cb, ss,
	    &cause) == NULL) {
		log_warnx("%s", cause);
		free(cause);
		store_size_done(ss, 0, 0);
	}
	free(argv);
	free(paths);
}

/*
 * Find the size of store_path's closure: done_cb gets it, or ok 0 when
 * Nix cannot say (a path no longer in the store).  -1 and *cause if no
 * Nix process could be started.
 */
int
store_closure_size(struct event_base *base, const char *store_path,
    store_size_cb done_cb, void *arg, char **cause)
{
	struct store_size	*ss;
	char			*argv[] = { "nix-store", "--query",
	    "--requisites", (char *)store_path, NULL };

	ss = xcalloc(1, sizeof *ss);
	ss->base = base;
	ss->store_path = xstrdup(store_path);
	ss->done_cb = done_cb;
	ss->arg = arg;
	if (proc_start(base, argv, NULL, store_size_requisites_cb, ss,
	    cause) == NULL) {
		free(ss->store_path);
		free(ss);
		return -1;
	}
	return 0;
}

struct store_collect {
	store_collected_cb	 done_cb;
	void			*arg;
};

/* nix-store --gc is done: "N store paths deleted, X MiB freed". */
static void
store_collect_exit_cb(struct proc *p, int status, void *arg)
{
	struct store_collect	*sc = arg;
	const char		*line;
	unsigned long long	 paths = 0;
	double			 mib = 0;
	char			*error = NULL;

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		error = nix_output_error(proc_stderr(p));
	else {
		line = strstr(proc_stdout(p), " store paths deleted, ");
		while (line != NULL && line > proc_stdout(p) &&
		    line[-1] != '\n')
			line--;
		if (line == NULL || sscanf(line, "%llu store paths deleted, "
		    "%lf MiB freed", &paths, &mib) != 2)
			error = xstrdup("nix-store --gc did not say what it "
			    "freed");
	}
	proc_free(p);
	sc->done_cb(error, paths, (uint64_t)(mib * 1024 * 1024), sc->arg);
	free(error);
	free(sc);
}

/*
 * Collect the store's garbage, as nix-collect-garbage does: every path no
 * root keeps alive, now including the deleted generations' closures.
 * done_cb gets the paths deleted and the bytes freed, or the error.
 */
int
store_collect_garbage(struct event_base *base, store_collected_cb done_cb,
    void *arg, char **cause)
{
	struct store_collect	*sc;
	char			*argv[] = { "nix-store", "--gc", NULL };

	sc = xcalloc(1, sizeof *sc);
	sc->done_cb = done_cb;
	sc->arg = arg;
	if (proc_start(base, argv, NULL, store_collect_exit_cb, sc,
	    cause) == NULL) {
		free(sc);
		return -1;
	}
	return 0;
}
