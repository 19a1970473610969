/*
 * A test-only LD_PRELOAD shim for profiled: it stops the daemon just
 * before or just after one of its SQLite commits, so that the kill test
 * can SIGKILL it exactly there.  profiled itself has no test hook: the
 * shim wraps sqlite3_open_v2 and sets SQLite's own commit hook (called as
 * a transaction is about to commit) and WAL hook (called once a commit is
 * in the WAL, i.e. done).
 *
 * PROFILED_TEST_PAUSE_DIR=DIR: once DIR/armed exists, every commit is
 * counted from 1 and logged to DIR/trace ("commit N before", "commit N
 * after"), with the SQL run in DIR/sql.
 * PROFILED_TEST_PAUSE_AT="before N" or "after N": at that point
 * DIR/paused is made and the daemon stops for good (pause()), to be
 * killed.  Only a process named profiled acts on it; LD_PRELOAD is taken
 * out of the environment, so Nix (which uses SQLite too) never sees it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

static const char	*pause_dir;
static char		 pause_at[32];
static int		 commits;

__attribute__((constructor)) static void
shim_init(void)
{
	extern char	*program_invocation_short_name;
	const char	*at;

	unsetenv("LD_PRELOAD");
	if (strcmp(program_invocation_short_name, "profiled") != 0)
		return;
	pause_dir = getenv("PROFILED_TEST_PAUSE_DIR");
	if ((at = getenv("PROFILED_TEST_PAUSE_AT")) != NULL)
		snprintf(pause_at, sizeof pause_at, "%s", at);
}

/* Append line to DIR/name. */
static void
shim_write(const char *name, const char *line)
{
	char	path[4096];
	int	fd;

	snprintf(path, sizeof path, "%s/%s", pause_dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		return;
	(void)write(fd, line, strlen(line));
	close(fd);
}

static int
shim_armed(void)
{
	char	path[4096];

	if (pause_dir == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/armed", pause_dir);
	return access(path, F_OK) == 0;
}

/* A commit's point (when: "before", "after"): log it; stop if asked. */
static void
shim_point(int n, const char *when)
{
	char	point[64], line[96];

	snprintf(point, sizeof point, "%s %d", when, n);
	snprintf(line, sizeof line, "commit %d %s\n", n, when);
	shim_write("trace", line);
	if (strcmp(point, pause_at) != 0)
		return;
	shim_write("paused", line);
	for (;;)
		pause();
}

/* The SQL of the statement running, for DIR/sql. */
static int
shim_trace_cb(unsigned type, void *arg, void *stmt, void *sql)
{
	char	line[512], *expanded;

	if (shim_armed()) {
		expanded = sqlite3_expanded_sql(stmt);
		snprintf(line, sizeof line, "%.200s\n", expanded != NULL ?
		    expanded : (const char *)sql);
		sqlite3_free(expanded);
		shim_write("sql", line);
	}
	return 0;
}

static int
shim_commit_cb(void *arg)
{
	if (shim_armed())
		shim_point(++commits, "before");
	return 0;
}

static int
shim_wal_cb(void *arg, sqlite3 *db, const char *name, int frames)
{
	/* What SQLite's default WAL hook, replaced here, does. */
	if (frames >= 1000)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	if (shim_armed())
		shim_point(commits, "after");
	return SQLITE_OK;
}

int
sqlite3_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs)
{
	int	(*real)(const char *, sqlite3 **, int, const char *);
	int	 rc;

	real = (int (*)(const char *, sqlite3 **, int, const char *))
	    dlsym(RTLD_NEXT, "sqlite3_open_v2");
	rc = real(path, db, flags, vfs);
	if (rc == SQLITE_OK && pause_dir != NULL) {
		sqlite3_commit_hook(*db, shim_commit_cb, NULL);
		sqlite3_wal_hook(*db, shim_wal_cb, NULL);
		sqlite3_trace_v2(*db, SQLITE_TRACE_STMT, shim_trace_cb, NULL);
	}
	return rc;
}
