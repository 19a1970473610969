/*
 * A kill at any instant loses no record and rewrites no parent.  The
 * history "1, 2, rollback to 1, save 3" is made, and profiled is killed
 * (SIGKILL) at one point of making generation 3: before, during and after
 * nix-env --set, and before and after each of its SQLite commits.  Then it
 * is restarted, and the database must be intact, its records the profile's
 * links, generation 3's parent 1 and reason save (not an import whose
 * parent is 2), rollback from 3 must go to 1, and the next save must build.
 *
 * Both stops are deterministic, and profiled has no test hook for them:
 * nix-env is a wrapper first in the daemon's PATH that blocks on a FIFO at
 * the chosen point, and the commits are stopped at by tests/e2e/shim, an
 * LD_PRELOAD shim setting SQLite's own commit and WAL hooks.
 *
 * Where the profile's links are GC roots by themselves (in Nix's profiles
 * directory), profiled makes the link itself between the intent's commit
 * and its done-mark's, and no nix-env runs: crash_in_place kills it at
 * those commits, with the same checks.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#include <criterion/parameterized.h>

static void	crash_in_place_init(void);

TestSuite(crash, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(crash_in_place, .init = crash_in_place_init,
    .fini = harness_fini, .timeout = HARNESS_TIMEOUT);

/* .init: the profile where profiled makes links without nix-env. */
static void
crash_in_place_init(void)
{
	harness_init();
	harness_use_nix_profiles();
}

/*
 * The SQLite commits profiled makes from a save's build to its generation
 * being current: the intent (the one before nix-env --set), its
 * done-mark, the build record, the settled hash and the hold (the files
 * the evaluation read are written only when they change, and here they do
 * not).  crash/commits checks them, so a change cannot leave a commit
 * untested.
 */
#define CRASH_COMMITS		5
#define CRASH_INTENT_COMMIT	1

enum crash_where {
	CRASH_NIX_BEFORE,	/* nix-env --set has not run */
	CRASH_NIX_DURING,	/* it runs on, and finishes, without profiled */
	CRASH_NIX_AFTER,	/* it has finished; profiled has not seen it */
	CRASH_COMMIT_BEFORE,	/* commit n is about to be made */
	CRASH_COMMIT_AFTER	/* commit n is made */
};

struct crash_point {
	enum crash_where	where;
	int			commit;
};

static const char *const crash_where_names[] = {
	[CRASH_NIX_BEFORE] = "before nix-env --set",
	[CRASH_NIX_DURING] = "during nix-env --set",
	[CRASH_NIX_AFTER] = "after nix-env --set",
	[CRASH_COMMIT_BEFORE] = "before commit",
	[CRASH_COMMIT_AFTER] = "after commit",
};

/* DIR/pause: the wrapper's and the shim's files. */
static char *
crash_dir(void)
{
	char	*dir;

	xasprintf(&dir, "%s/pause", harness.dir);
	return dir;
}

static char *
crash_file(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/pause/%s", harness.dir, name);
	return path;
}

/*
 * Write DIR/wrap/nix-env: Nix's nix-env, except that --set is logged to
 * the trace and, at point (before, during, after, or none), says where it
 * is in DIR/pause/reached (its pid) and blocks reading the FIFO
 * DIR/pause/go; during, it then runs nix-env and makes DIR/pause/done.
 */
static char *
crash_wrapper(const char *point)
{
	char	*wrap, *script, *path, *real = harness_which("nix-env");
	char	*p = crash_dir(), *go = crash_file("go");

	xasprintf(&wrap, "%s/wrap", harness.dir);
	cr_assert(mkdir(wrap, 0755) == 0, "mkdir %s: %s", wrap,
	    strerror(errno));
	cr_assert(mkfifo(go, 0644) == 0, "mkfifo %s: %s", go, strerror(errno));
	xasprintf(&script,
	    "#!/bin/sh\n"
	    "case \" $* \" in *' --set '*) ;; *) exec %s \"$@\" ;; esac\n"
	    "echo 'nix-env --set' >> %s/trace\n"
	    "stop() { echo $$ > %s/reached.tmp; mv %s/reached.tmp %s/reached; "
	    "read go < %s; }\n"
	    "case %s in\n"
	    "before) stop; exec %s \"$@\" ;;\n"
	    "during) stop; %s \"$@\"; rc=$?; touch %s/done; exit $rc ;;\n"
	    "after) %s \"$@\"; rc=$?; stop; exit $rc ;;\n"
	    "*) exec %s \"$@\" ;;\n"
	    "esac\n",
	    real, p, p, p, p, go, point, real, real, p, real, real);
	xasprintf(&path, "%s/nix-env", wrap);
	harness_write(path, script);
	cr_assert(chmod(path, 0755) == 0, "chmod: %s", strerror(errno));
	free(path);
	free(script);
	free(real);
	free(p);
	free(go);
	return wrap;
}

/* Start profiled with the wrapper first on PATH and the shim preloaded. */
static void
crash_start(const char *wrap, const char *pause_at)
{
	char	*saved_path = xstrdup(getenv("PATH")), *path, *shim, *p;

	xasprintf(&path, "%s:%s", wrap, saved_path);
	xasprintf(&shim, "%s/tests/e2e/shim/sqlite-pause.so", harness.root);
	cr_assert(access(shim, R_OK) == 0, "%s is not built", shim);
	p = crash_dir();
	setenv("PATH", path, 1);
	setenv("LD_PRELOAD", shim, 1);
	setenv("PROFILED_TEST_PAUSE_DIR", p, 1);
	if (pause_at != NULL)
		setenv("PROFILED_TEST_PAUSE_AT", pause_at, 1);
	harness_start();
	setenv("PATH", saved_path, 1);
	unsetenv("LD_PRELOAD");
	unsetenv("PROFILED_TEST_PAUSE_DIR");
	unsetenv("PROFILED_TEST_PAUSE_AT");
	free(saved_path);
	free(path);
	free(shim);
	free(p);
}

/* From now on the shim counts and may stop at commits. */
static void
crash_arm(void)
{
	char	*armed = crash_file("armed");

	harness_write(armed, "");
	free(armed);
}

static int
crash_at_one(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_number(status, "current_generation") == 1;
}

/*
 * 1 (hello), 2 (hello cowsay), rollback to 1; profiled stopped.  The
 * pause directory is made.
 */
static void
crash_history(void)
{
	struct json	*answer;
	char		*p = crash_dir();

	cr_assert(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
	free(p);
	harness_start();
	json_free(harness_wait_generation(1));
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	json_free(answer);
	json_free(harness_wait(crash_at_one, NULL, "idle at generation 1"));
	harness_stop();
}

/* Wait until the file path exists, profiled still running if running. */
static void
crash_wait_file(const char *path, int running)
{
	long long	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	int		status;

	while (access(path, F_OK) != 0) {
		if (running)
			cr_assert(waitpid(harness.daemon, &status, WNOHANG) == 0,
			    "profiled exited before reaching %s", path);
		cr_assert(harness_clock_ms() < deadline, "timed out after %d s "
		    "waiting for %s", HARNESS_DEADLINE_MS / 1000, path);
		harness_pause();
	}
}

static void
crash_kill_daemon(void)
{
	cr_assert(kill(harness.daemon, SIGKILL) == 0, "kill: %s",
	    strerror(errno));
	cr_assert(harness_reap(harness.daemon, HARNESS_DEADLINE_MS) != -1,
	    "profiled outlived SIGKILL");
	harness.daemon = -1;
}

/* The pid the wrapper wrote in DIR/pause/reached. */
static pid_t
crash_wrapper_pid(void)
{
	char	*reached = crash_file("reached"), *text;
	pid_t	 pid;

	text = harness_read(reached);
	pid = strtol(text, NULL, 10);
	cr_assert_gt(pid, 1, "no pid in %s", reached);
	free(text);
	free(reached);
	return pid;
}

/* Let the blocked wrapper go on: it reads a line from the FIFO. */
static void
crash_release_wrapper(void)
{
	char	*go = crash_file("go");
	int	 fd;

	cr_assert((fd = open(go, O_WRONLY)) != -1, "open %s: %s", go,
	    strerror(errno));
	cr_assert_eq(write(fd, "go\n", 3), 3);
	close(fd);
	free(go);
}

/* The daemon's database, read-only, as another process would read it. */
static sqlite3 *
crash_db(void)
{
	sqlite3	*db;
	char	*path;

	xasprintf(&path, "%s/profiled.db", harness.state_dir);
	cr_assert(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK, "open %s", path);
	sqlite3_busy_timeout(db, HARNESS_DEADLINE_MS);
	free(path);
	return db;
}

/*
 * PRAGMA integrity_check is ok; no intent is left; the records are
 * exactly the profile's links (number and store path); generation 3 has
 * parent 1 and reason save, 2 parent 1, 1 none.
 */
static void
crash_assert_history(void)
{
	static const long	 parents[] = { 0, 0, 1, 1 };
	sqlite3			*db = crash_db();
	sqlite3_stmt		*stmt;
	struct profile_link	*links;
	size_t			 nlinks, n = 0;
	const char		*reason;
	long			 id;

	cr_assert(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt,
	    NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(stmt, 0), "ok");
	sqlite3_finalize(stmt);

	links = profile_list(harness.profile, &nlinks);
	cr_assert_eq(nlinks, 3, "the profile has %zu generations", nlinks);
	cr_assert(sqlite3_prepare_v2(db, "SELECT id, parent, reason, "
	    "store_path, intent FROM generations ORDER BY id", -1, &stmt,
	    NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		reason = (const char *)sqlite3_column_text(stmt, 2);
		cr_assert_lt(n, nlinks, "record %ld has no link", id);
		cr_assert_eq(id, (long)links[n].id, "record %ld, link %u", id,
		    links[n].id);
		cr_assert_str_eq((const char *)sqlite3_column_text(stmt, 3),
		    links[n].store_path, "record %ld's store path", id);
		cr_assert_eq(sqlite3_column_int(stmt, 4), 0, "generation %ld "
		    "is still an intent", id);
		cr_assert_eq(sqlite3_column_int64(stmt, 1), parents[id],
		    "generation %ld has parent %lld, expected %ld", id,
		    sqlite3_column_int64(stmt, 1), parents[id]);
		cr_assert_str_eq(reason, "save", "generation %ld's reason", id);
		n++;
	}
	cr_assert_eq(n, nlinks, "%zu records for %zu links", n, nlinks);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	profile_list_free(links, nlinks);
}

ParameterizedTestParameters(crash, kill_at)
{
	static struct crash_point	points[3 + 2 * CRASH_COMMITS];
	size_t				n = 0;
	int				i;

	points[n++] = (struct crash_point){ CRASH_NIX_BEFORE, 0 };
	points[n++] = (struct crash_point){ CRASH_NIX_DURING, 0 };
	points[n++] = (struct crash_point){ CRASH_NIX_AFTER, 0 };
	for (i = 1; i <= CRASH_COMMITS; i++) {
		points[n++] = (struct crash_point){ CRASH_COMMIT_BEFORE, i };
		points[n++] = (struct crash_point){ CRASH_COMMIT_AFTER, i };
	}
	return cr_make_param_array(struct crash_point, points, n);
}

/* Make the history, kill profiled at point while it makes generation 3,
 * restart it and check that nothing was lost. */
static void
crash_kill_at(const struct crash_point *point)
{
	static const char *const	 nix_points[] = {
		[CRASH_NIX_BEFORE] = "before", [CRASH_NIX_DURING] = "during",
		[CRASH_NIX_AFTER] = "after" };
	struct json			*answer, *generations;
	const struct json		*g;
	char				*wrap, *pause_at = NULL, *stopped;
	int				 nix = point->where <= CRASH_NIX_AFTER;

	cr_log_info("killed %s %d", crash_where_names[point->where],
	    point->commit);
	crash_history();
	wrap = crash_wrapper(nix ? nix_points[point->where] : "none");
	if (!nix)
		xasprintf(&pause_at, "%s %d", point->where ==
		    CRASH_COMMIT_BEFORE ? "before" : "after", point->commit);
	crash_start(wrap, pause_at);
	crash_arm();
	harness_save_packages("hello ripgrep");

	stopped = crash_file(nix ? "reached" : "paused");
	crash_wait_file(stopped, 1);
	crash_kill_daemon();
	if (point->where == CRASH_NIX_DURING) {
		crash_release_wrapper();
		free(stopped);
		stopped = crash_file("done");
		crash_wait_file(stopped, 0);
	} else if (nix)
		kill(crash_wrapper_pid(), SIGKILL);

	harness_start();
	json_free(harness_wait_generation(3));
	crash_assert_history();
	harness_assert_nix_agrees();

	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "previous"), 3);
	cr_assert_eq(harness_number(answer, "generation"), 1,
	    "rollback from 3 went to %ld", harness_number(answer,
	    "generation"));
	json_free(answer);
	harness_save_packages("hello ripgrep cowsay");
	json_free(harness_wait_generation(4));
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 4);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_packages(g, "hello-2.12 ripgrep-14.1 cowsay-3.7");
	json_free(generations);
	free(stopped);
	free(pause_at);
	free(wrap);
}

ParameterizedTest(struct crash_point *point, crash, kill_at)
{
	crash_kill_at(point);
}

/* The commits around the link profiled makes itself: the intent's and its
 * done-mark's, before and after each. */
ParameterizedTestParameters(crash_in_place, kill_at)
{
	static struct crash_point	points[] = {
		{ CRASH_COMMIT_BEFORE, CRASH_INTENT_COMMIT },
		{ CRASH_COMMIT_AFTER, CRASH_INTENT_COMMIT },
		{ CRASH_COMMIT_BEFORE, CRASH_INTENT_COMMIT + 1 },
		{ CRASH_COMMIT_AFTER, CRASH_INTENT_COMMIT + 1 },
	};

	return cr_make_param_array(struct crash_point, points,
	    sizeof points / sizeof points[0]);
}

ParameterizedTest(struct crash_point *point, crash_in_place, kill_at)
{
	crash_kill_at(point);
}

/*
 * The commits of a save's build and switch, counted: CRASH_COMMITS of
 * them, the intent made before nix-env --set runs, if it runs.
 */
static void
crash_commits(int nix_env)
{
	char	*trace_path, *trace, *expected = xstrdup(""), *next;
	char	*sql_path, *sql;
	int	 i;

	crash_history();
	crash_start(crash_wrapper("none"), NULL);
	crash_arm();
	harness_save_packages("hello ripgrep");
	json_free(harness_wait_generation(3));
	trace_path = crash_file("trace");
	trace = harness_read(trace_path);
	for (i = 1; i <= CRASH_COMMITS; i++) {
		xasprintf(&next, "%scommit %d before\ncommit %d after\n%s",
		    expected, i, i, nix_env && i == CRASH_INTENT_COMMIT ?
		    "nix-env --set\n" : "");
		free(expected);
		expected = next;
	}
	sql_path = crash_file("sql");
	sql = harness_read(sql_path);
	cr_assert_str_eq(trace, expected, "the commits of a build and switch "
	    "changed: update CRASH_COMMITS and this test; they are:\n%s\n"
	    "the statements run:\n%s", trace, sql);
	free(sql);
	free(sql_path);
	free(expected);
	free(trace);
	free(trace_path);
	crash_assert_history();
}

Test(crash, commits)
{
	crash_commits(1);
}

/* The same commits, in the same order, and no nix-env --set at all. */
Test(crash_in_place, commits)
{
	crash_commits(0);
}
