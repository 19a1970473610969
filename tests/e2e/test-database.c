/*
 * The database, as another process or a disk may treat it.  While another
 * process holds it (a write transaction, or every lock of its WAL index),
 * status answers in milliseconds and a save is built, then recorded once
 * the hold ends.  A corrupt, empty or unreadable database is moved aside,
 * never deleted, and status and the log say so and where it went; one
 * that has gone says that history is rebuilt from the profile's links.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

/*
 * The bound on each status answer while the database is held, in ms.  It
 * is the daemon's; on a machine loaded far beyond its cores (make check
 * beside other builds) the scheduler alone can hold one answer past it,
 * so DATABASE_STATUS_LATE answers may be late, each still well under a
 * second: the waits this guards against were 2 s per statement (a busy
 * timeout) and 10 s (SQLite's reader retrying on the WAL index's locks).
 */
#define DATABASE_STATUS_MS	50
#define DATABASE_STATUS_LATE	2
#define DATABASE_STATUS_MAX_MS	1000
/* How many status answers are timed while it is held, at the least. */
#define DATABASE_STATUS_CALLS	50

TestSuite(database, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

static char *
database_path(const char *suffix)
{
	char	*path;

	xasprintf(&path, "%s/profiled.db%s", harness.state_dir, suffix);
	return path;
}

/*
 * Another process holding the database until killed: with a write
 * transaction (BEGIN IMMEDIATE and a write), or with wal_index set, a
 * write lock on every lock byte of the WAL index (-shm, bytes 120-127),
 * which SQLite's readers otherwise wait ten seconds on.
 */
static pid_t
database_hold(int wal_index)
{
	struct flock	 fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = 120, .l_len = 8 };
	sqlite3		*db;
	char		*path = database_path(wal_index ? "-shm" : ""), c;
	int		 ready[2], fd;
	pid_t		 pid;

	cr_assert(pipe(ready) == 0);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		harness_child(SIGKILL);
		if (wal_index) {
			if ((fd = open(path, O_RDWR)) == -1 ||
			    fcntl(fd, F_SETLKW, &fl) == -1)
				_exit(1);
		} else if (sqlite3_open(path, &db) != SQLITE_OK ||
		    sqlite3_busy_timeout(db, HARNESS_DEADLINE_MS) != SQLITE_OK ||
		    sqlite3_exec(db, "BEGIN IMMEDIATE; INSERT OR REPLACE INTO state "
		    "VALUES ('test', 'held by a test')", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		(void)write(ready[1], "x", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the holder of %s failed", path);
	close(ready[0]);
	free(path);
	return pid;
}

/* Whether status's warnings say the database is locked. */
static int
database_says_locked(Profiled__Response *response)
{
	size_t	i;

	for (i = 0; i < response->status->n_warnings; i++) {
		if (strstr(response->status->warnings[i], "locked by another "
		    "process") != NULL)
			return 1;
	}
	return 0;
}

/*
 * With the database held, a save: status answers each time within
 * DATABASE_STATUS_MS while the build runs and its generation waits for the
 * database (which status says); once the hold ends, the generation is
 * made and recorded, with its parent, and its build.
 */
static void
database_held(int wal_index)
{
	Profiled__Response	*response;
	struct json		*generations;
	const struct json	*g;
	long long		 start, took, slowest = 0;
	long			 before;
	int			 calls = 0, locked = 0, late = 0;
	struct run		 r;
	pid_t			 holder;

	harness_start();
	json_free(harness_wait_generation(1));
	before = harness_last_build_id();
	holder = database_hold(wal_index);
	harness_save_packages("hello cowsay");
	while (calls < DATABASE_STATUS_CALLS || !locked) {
		start = harness_clock_ms();
		response = harness_daemon_status();
		took = harness_clock_ms() - start;
		if (took > slowest)
			slowest = took;
		cr_assert_lt(took, DATABASE_STATUS_MAX_MS, "status took %lld "
		    "ms while another process held the database", took);
		if (took >= DATABASE_STATUS_MS)
			cr_assert_leq(++late, DATABASE_STATUS_LATE, "%d status "
			    "answers took %d ms or more while another process "
			    "held the database, the last %lld ms", late,
			    DATABASE_STATUS_MS, took);
		if (database_says_locked(response)) {
			locked = 1;
			cr_assert_str_eq(response->status->state, "switching");
		}
		profiled__response__free_unpacked(response, NULL);
		calls++;
		cr_assert_lt(calls, HARNESS_DEADLINE_MS / 10, "status never "
		    "said the database was locked");
		harness_pause();
	}
	/* profilectl too answers, and the profile has not moved. */
	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0, "profilectl status: %s", r.err);
	harness_run_free(&r);
	cr_assert_eq(harness_profile_generation(), 1, "the profile moved "
	    "before its generation was recorded");
	/*
	 * A writer leaves WAL readers be: the history reads.  Holding the
	 * WAL index stops readers too: it says so, rather than answering
	 * with an empty history.
	 */
	harness_ctl(&r, "generations", NULL);
	if (wal_index) {
		cr_assert_eq(r.status, 1, "generations: %s", r.out);
		harness_assert_error(&r, "cannot be read just now");
	} else
		cr_assert_eq(r.status, 0, "generations: %s", r.err);
	harness_run_free(&r);
	cr_log_info("%d status answers while held, the slowest %lld ms, %d of "
	    "%d ms or more", calls, slowest, late, DATABASE_STATUS_MS);

	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	json_free(harness_wait_generation(2));
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g, "generation 2 has no record");
	cr_assert_eq(harness_number(g, "parent"), 1);
	cr_assert_str_eq(harness_string(g, "reason"), "save");
	json_free(generations);
	harness_assert_one_build(before, harness_packages("hello cowsay"),
	    NULL);
	harness_assert_nix_agrees();
}

Test(database, held_write_transaction)
{
	database_held(0);
}

Test(database, held_wal_index_locks)
{
	database_held(1);
}

/* SIGTERM while a generation waits for a held database: profiled exits
 * at once (exit 0), the profile unmoved; the next start makes it. */
Test(database, sigterm_while_held)
{
	Profiled__Response	*response;
	long long		 deadline;
	int			 locked = 0;
	pid_t			 holder;

	harness_start();
	json_free(harness_wait_generation(1));
	holder = database_hold(1);
	harness_save_packages("hello cowsay");
	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	while (!locked) {
		response = harness_daemon_status();
		locked = database_says_locked(response);
		profiled__response__free_unpacked(response, NULL);
		cr_assert_lt(harness_clock_ms(), deadline, "status never said "
		    "the database was locked");
		harness_pause();
	}
	deadline = harness_clock_ms();
	harness_stop();
	cr_assert_lt(harness_clock_ms() - deadline, 5000, "profiled took "
	    "%lld ms to stop", harness_clock_ms() - deadline);
	cr_assert_eq(harness_profile_generation(), 1);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	harness_start();
	json_free(harness_wait_generation(2));
	harness_assert_nix_agrees();
}

/* The names in the state directory that start with prefix: how many. */
static int
database_count(const char *prefix)
{
	struct dirent	*d;
	DIR		*dir;
	int		 n = 0;

	cr_assert((dir = opendir(harness.state_dir)) != NULL);
	while ((d = readdir(dir)) != NULL)
		n += strncmp(d->d_name, prefix, strlen(prefix)) == 0;
	closedir(dir);
	return n;
}

/* The one of status's warnings that contains needle, or fail. */
static char *
database_warning(const char *needle)
{
	struct json		*status = harness_status();
	const struct json	*warnings = json_get(status, "warnings");
	char			*found = NULL;
	size_t			 i;

	cr_assert(warnings != NULL && warnings->type == JSON_ARRAY);
	for (i = 0; i < warnings->count && found == NULL; i++) {
		if (strstr(warnings->items[i]->string, needle) != NULL)
			found = xstrdup(warnings->items[i]->string);
	}
	cr_assert_not_null(found, "no warning says \"%s\"", needle);
	json_free(status);
	return found;
}

/*
 * After damage done to the stopped daemon's database: it starts, its
 * status and log say why (why) the file was moved aside and where (one
 * such file, kept), and history is rebuilt: generation 1, an import.
 * Since profiled cannot tell that it made generation 1, the next save is
 * built but, as for any import, activated only with consent (switch).
 */
static void
database_assert_moved_aside(const char *why)
{
	struct json		*generations;
	const struct json	*g;
	char			*warning, *db = database_path(""), *text;
	struct run		 r;

	harness_start();
	json_free(harness_wait_idle());
	cr_assert_eq(harness_profile_generation(), 1);
	warning = database_warning("moved to");
	cr_assert(strstr(warning, why) != NULL, "\"%s\" does not say \"%s\"",
	    warning, why);
	cr_assert(strstr(warning, db) != NULL, "\"%s\" does not name %s",
	    warning, db);
	cr_assert(strstr(warning, ".corrupt-") != NULL, "%s", warning);
	cr_assert_eq(harness_log_count(warning), 1, "the log does not say "
	    "\"%s\" once", warning);
	cr_assert_eq(database_count("profiled.db.corrupt-"), 1);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 1);
	cr_assert_not_null(g);
	cr_assert_str_eq(harness_string(g, "reason"), "import");
	json_free(generations);
	text = harness_packages("hello cowsay");
	harness_save(text);
	json_free(harness_wait_built(text));
	harness_ctl(&r, "switch", NULL);
	cr_assert_eq(r.status, 0, "profilectl switch: %s", r.err);
	harness_run_free(&r);
	json_free(harness_wait_generation(2));
	harness_assert_nix_agrees();
	free(text);
	free(warning);
	free(db);
}

/* Overwrite len bytes of the database at offset with garbage. */
static void
database_scribble(off_t offset, size_t len)
{
	char	*db = database_path(""), *garbage = xmalloc(len);
	int	 fd;

	memset(garbage, 0xa5, len);
	cr_assert((fd = open(db, O_WRONLY)) != -1, "open %s", db);
	cr_assert_eq(pwrite(fd, garbage, len, offset), (ssize_t)len);
	close(fd);
	free(garbage);
	free(db);
}

/* A generation and a stopped daemon, its database all in one file. */
static void
database_one_generation(void)
{
	char	*wal = database_path("-wal");

	harness_start();
	json_free(harness_wait_generation(1));
	harness_stop();
	cr_assert(access(wal, F_OK) != 0, "%s is left after a stop", wal);
	free(wal);
}

Test(database, corrupt_pages_moved_aside)
{
	database_one_generation();
	database_scribble(4096, 3 * 4096);
	database_assert_moved_aside("corrupt");
}

Test(database, corrupt_header_moved_aside)
{
	database_one_generation();
	database_scribble(0, 100);
	database_assert_moved_aside("corrupt");
}

Test(database, empty_file_moved_aside)
{
	char	*db = database_path("");

	database_one_generation();
	cr_assert(truncate(db, 0) == 0);
	database_assert_moved_aside("empty (0 bytes)");
	free(db);
}

/* A database gone from a state directory profiled used: status says that
 * history is rebuilt from the links. */
Test(database, missing_database_reported)
{
	char	*db = database_path(""), *warning;

	database_one_generation();
	cr_assert(unlink(db) == 0);
	harness_start();
	json_free(harness_wait_generation(1));
	warning = database_warning("did not exist");
	cr_assert(strstr(warning, db) != NULL, "%s", warning);
	cr_assert(strstr(warning, "rebuilt from its links") != NULL, "%s",
	    warning);
	cr_assert_eq(harness_log_count(warning), 1);
	free(warning);
	free(db);
}

/* A database another process holds at start is not taken for a bad one:
 * nothing is moved aside, and no warning is given. */
Test(database, held_at_start_is_not_moved_aside)
{
	struct json		*status;
	const struct json	*warnings;
	size_t			 i;
	pid_t			 holder;

	database_one_generation();
	holder = database_hold(0);
	harness_start();
	status = harness_wait_generation(1);
	warnings = json_get(status, "warnings");
	cr_assert(warnings != NULL && warnings->type == JSON_ARRAY);
	for (i = 0; i < warnings->count; i++)
		cr_assert(strstr(warnings->items[i]->string, "database") ==
		    NULL, "a warning at start: %s", warnings->items[i]->string);
	json_free(status);
	cr_assert_eq(database_count("profiled.db.corrupt-"), 0);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
}

TestSuite(database_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/* Unreadable (mode 000) to its user, who runs profiled: moved aside.  Run
 * as a normal user, since root reads a file of any mode. */
Test(database_user, unreadable_moved_aside)
{
	char	*db = database_path("");

	database_one_generation();
	cr_assert(chmod(db, 0) == 0);
	database_assert_moved_aside("corrupt or unreadable");
	free(db);
}

/* Links a listing waits for, beyond the one generation profiled made. */
#define DATABASE_LINKS	40

/* Whether process pid is blocked in poll(2), as profilectl is once its
 * request is sent and it waits for the answer. */
static int
database_in_poll(pid_t pid)
{
	char	*path, *text;
	long	 nr = -1;

	xasprintf(&path, "/proc/%ld/syscall", (long)pid);
	text = harness_read(path);
	sscanf(text, "%ld", &nr);
	free(text);
	free(path);
	return nr == 7 || nr == 271;	/* poll, ppoll (x86-64) */
}

/*
 * A page of history asked for while adoption cannot record the profile's
 * links (another process holds the database) waits until they are all
 * recorded, and then lists every one: never a partial history, or an
 * error, nor every link recorded in one callback of the loop.
 */
Test(database, a_listing_waits_for_every_link_to_be_recorded)
{
	struct harness_background	 bg;
	struct json			*list;
	const struct json		*g;
	long long			 deadline;
	char				*first, *target, *link, *out, *cause = NULL;
	pid_t				 holder;
	long				 id;
	int				 status;

	harness_start();
	json_free(harness_wait_generation(1));
	harness_stop();
	xasprintf(&first, "%s-1-link", harness.profile);
	cr_assert_not_null(target = realpath(first, NULL));
	for (id = 2; id <= DATABASE_LINKS; id++) {
		xasprintf(&link, "%s-%ld-link", harness.profile, id);
		cr_assert(symlink(target, link) == 0, "symlink %s: %s", link,
		    strerror(errno));
		free(link);
	}

	holder = database_hold(0);
	harness_start();
	harness_background(&bg, "generations", "--json", NULL);
	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	while (!database_in_poll(bg.pid)) {
		cr_assert_eq(waitpid(bg.pid, &status, WNOHANG), 0,
		    "generations answered while the links could not be "
		    "recorded: %s", harness_read(bg.out));
		cr_assert_lt(harness_clock_ms(), deadline, "profilectl never "
		    "waited for its answer");
		harness_pause();
	}
	/* A call after it is answered: the loop has read its request. */
	profiled__response__free_unpacked(harness_daemon_status(), NULL);
	cr_assert_eq(waitpid(bg.pid, &status, WNOHANG), 0, "generations "
	    "answered while the links could not be recorded: %s",
	    harness_read(bg.out));

	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	cr_assert_eq(harness_background_exit(&bg, 0), 0, "generations: %s",
	    harness_read(bg.err));
	out = harness_read(bg.out);
	cr_assert_not_null(list = json_parse(out, strlen(out), &cause),
	    "generations --json: %s", cause);
	cr_assert_eq(list->count, DATABASE_LINKS, "%zu generations listed",
	    list->count);
	for (id = 1; id <= DATABASE_LINKS; id++) {
		cr_assert_not_null(g = harness_generation(list, id),
		    "generation %ld is not listed", id);
		cr_assert_str_eq(harness_string(g, "reason"), id == 1 ?
		    "save" : "import");
	}
	json_free(list);
	free(out);
	free(target);
	free(first);
}
