/*
 * The generation store: profiled's history in SQLite.
 *
 * generations holds one row per generation of the Nix profile, keyed by
 * Nix's own number, with the parent that was current when it was made, the
 * package file as it was built and the packages it holds.  builds holds
 * every build attempt, failed ones included, so status can say what the last
 * build did after a restart.  state holds the few facts the queue must
 * remember across restarts (which file content the profile answers to).
 *
 * A generation's row is written before nix-env --set makes it, as an intent
 * (intent = 1), and marked done after: whatever instant profiled dies at,
 * the record and its parent exist before the link does, and generation.c
 * reconciles intents with the links at start.
 *
 * The event loop never waits on the database.  WAL mode and short
 * transactions keep each call well under a millisecond; once the loop runs
 * there is no busy timeout, and SQLite's own sleeps (a reader can retry for
 * ten seconds when another process holds the WAL index's locks) go through
 * a VFS whose xSleep returns at once.  A write another process's lock
 * refuses is kept in memory and retried from a timer, in order; the intent,
 * which nix-env must wait for, is retried by generation.c.
 *
 * At open, PRAGMA quick_check: a corrupt, unreadable or empty file is
 * moved aside (never deleted) with its -wal and -shm, and a new one made.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "profiled.h"

/* Bumped with each schema change; db_migrate brings older files up. */
#define DB_SCHEMA_VERSION	5
/* Logs are kept for this many of the newest builds, so the database stays
 * bounded however long profiled runs. */
#define DB_LOGS_KEPT		200
#define DB_STRINGIFY(n)		DB_STRINGIFY2(n)
#define DB_STRINGIFY2(n)	#n
/* How long start-up may wait for another process's lock, in ms. */
#define DB_START_TIMEOUT	5000
/* How often writes another process's lock refused are tried again. */
#define DB_RETRY_MS		20

/* A write that another process's lock refused, to be tried again. */
enum db_deferred_kind {
	DB_DEFERRED_BUILD,
	DB_DEFERRED_STATE,
	DB_DEFERRED_DONE
};
struct db_deferred {
	enum db_deferred_kind		 kind;
	struct build_record		*build;		/* BUILD */
	char				*key;		/* STATE */
	char				*value;
	unsigned			 expected;	/* DONE */
	unsigned			 id;
	TAILQ_ENTRY(db_deferred)	 entry;
};

static sqlite3	*db;
static struct {
	char				*path;
	int				 failed;	/* the last call failed */
	int				 busy;		/* ... for a lock */
	int				 in_loop;	/* never wait */
	int				 created;	/* no history was there */
	char				*note;		/* what open found */
	struct event			*retry;
	TAILQ_HEAD(db_deferred_list, db_deferred) deferred;
	long long			 waiting_since;	/* ms; 0: not */
	int				 reading;	/* db_read_begin */
} db_state = { .deferred = TAILQ_HEAD_INITIALIZER(db_state.deferred) };

/* The default VFS, and a copy of it whose xSleep never sleeps in the loop. */
static sqlite3_vfs	 db_vfs;
static int		(*db_vfs_sleep)(sqlite3_vfs *, int);

/*
 * The statements the history's hot paths run, prepared once and kept, so
 * that a call costs its rows, not a parse.  Each use ends with
 * db_statement_done, which resets it: none holds a read open.
 */
enum db_statement {
	DB_STATEMENT_GET,
	DB_STATEMENT_PACKAGES,
	DB_STATEMENT_DELETE,
	DB_STATEMENT_INSERT,
	DB_STATEMENT_INSERT_PACKAGE,
	DB_STATEMENT_PATH,
	DB_STATEMENT_LINEAGE,
	DB_STATEMENT_AFTER,
	DB_STATEMENT_RANGE,
	DB_STATEMENT_INTENTS,
	DB_STATEMENT_ADOPTABLE,
	DB_STATEMENT_GET_BRIEF,
	DB_STATEMENT_AFTER_BRIEF,
	DB_STATEMENT_CHILDREN,
	DB_STATEMENT_SUMMARY,
	DB_STATEMENT_BEGIN,
	DB_STATEMENT_COMMIT,
	DB_STATEMENT_COUNT
};
#define DB_GENERATION_COLUMNS \
	"SELECT id, parent, store_path, created, reason, content_hash, " \
	"content, build_ms, intent, summary FROM generations "
/* The same but for the package file as built: what a listing needs. */
#define DB_BRIEF_COLUMNS \
	"SELECT id, parent, store_path, created, reason, content_hash, " \
	"NULL, build_ms, intent, summary FROM generations "
/* An import whose packages were never read (adopt.c reads them). */
#define DB_UNREAD \
	"(reason = 'import' AND intent = 0 AND NOT EXISTS (SELECT 1 FROM " \
	"packages WHERE generation = generations.id))"
static const char *const db_statement_sql[DB_STATEMENT_COUNT] = {
	[DB_STATEMENT_GET] = DB_GENERATION_COLUMNS "WHERE id = ?",
	[DB_STATEMENT_PACKAGES] = "SELECT name, version, path FROM packages "
	    "WHERE generation = ? ORDER BY position",
	[DB_STATEMENT_DELETE] = "DELETE FROM generations WHERE id = ?",
	[DB_STATEMENT_INSERT] = "INSERT INTO generations (id, parent, "
	    "store_path, created, reason, content_hash, content, build_ms, "
	    "intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[DB_STATEMENT_INSERT_PACKAGE] = "INSERT INTO packages "
	    "(generation, position, name, version, path) "
	    "VALUES (?, ?, ?, ?, ?)",
	[DB_STATEMENT_PATH] = "SELECT store_path, intent FROM generations "
	    "WHERE id = ?",
	[DB_STATEMENT_LINEAGE] = "SELECT parent, created FROM generations "
	    "WHERE id = ?",
	[DB_STATEMENT_AFTER] = DB_GENERATION_COLUMNS "WHERE id > ? "
	    "ORDER BY id LIMIT ?",
	[DB_STATEMENT_RANGE] = "SELECT id, store_path, " DB_UNREAD
	    " FROM generations WHERE id BETWEEN ? AND ? ORDER BY id",
	[DB_STATEMENT_INTENTS] = DB_GENERATION_COLUMNS "WHERE intent = 1 "
	    "ORDER BY id",
	[DB_STATEMENT_ADOPTABLE] = "SELECT 1 FROM generations WHERE id = ? "
	    "AND store_path = ? AND " DB_UNREAD,
	[DB_STATEMENT_GET_BRIEF] = DB_BRIEF_COLUMNS "WHERE id = ?",
	[DB_STATEMENT_AFTER_BRIEF] = DB_BRIEF_COLUMNS "WHERE id > ? "
	    "ORDER BY id LIMIT ?",
	[DB_STATEMENT_CHILDREN] = "SELECT id FROM generations WHERE "
	    "parent = ? AND id != parent",
	[DB_STATEMENT_SUMMARY] = "UPDATE generations SET summary = ? "
	    "WHERE id = ?",
	[DB_STATEMENT_BEGIN] = "BEGIN",
	[DB_STATEMENT_COMMIT] = "COMMIT",
};
static sqlite3_stmt	*db_statements[DB_STATEMENT_COUNT];

static int	db_flush(void);
static sqlite3_stmt *db_statement(enum db_statement);
static int	db_summarize_family(unsigned);
static int	db_summarize_all(void);
static void	db_defer(struct db_deferred *);
static void	db_retry_cb(evutil_socket_t, short, void *);
static int	db_generation_finish(unsigned, unsigned, char **);

/*
 * The intents, found without reading every record (they are few), and a
 * generation's children (show), without a scan of the history.
 */
#define DB_INDEXES \
	"CREATE INDEX generations_intent ON generations(id) WHERE intent = 1;" \
	"CREATE INDEX generations_parent ON generations(parent);"

static const char db_schema[] =
	"CREATE TABLE generations ("
	"  id INTEGER PRIMARY KEY,"	/* the profile's generation number */
	"  parent INTEGER,"		/* NULL for a root */
	"  store_path TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"	/* unix seconds */
	"  reason TEXT NOT NULL,"	/* save, switch, import */
	"  content_hash TEXT,"		/* NULL when not built by profiled */
	"  content BLOB,"
	"  build_ms INTEGER,"
	"  intent INTEGER NOT NULL DEFAULT 0," /* before nix-env --set's end */
	"  summary TEXT"		/* from the parent: "+jq -cowsay ~hello" */
	");"
	"CREATE TABLE packages ("
	"  generation INTEGER NOT NULL"
	"    REFERENCES generations(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  version TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  PRIMARY KEY (generation, position)"
	");"
	"CREATE TABLE builds ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  started INTEGER NOT NULL,"	/* unix seconds */
	"  duration_ms INTEGER NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  content_hash TEXT,"
	"  ok INTEGER NOT NULL,"
	"  error TEXT,"
	"  out_path TEXT,"
	"  generation INTEGER,"
	"  superseded INTEGER NOT NULL DEFAULT 0," /* newer content came */
	"  log TEXT,"
	"  file TEXT,"			/* whose change started it */
	"  inputs_hash TEXT"		/* the file and what it imports */
	");"
	"CREATE TABLE state ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	DB_INDEXES;

/*
 * A call failed: note whether another process's lock is why (SQLITE_PROTOCOL
 * is what a reader gets when it may not sleep), and fill *cause (or log).
 */
static int
db_fail(const char *what, char **cause)
{
	int	code = sqlite3_errcode(db);

	db_state.failed = 1;
	db_state.busy = code == SQLITE_BUSY || code == SQLITE_LOCKED ||
	    code == SQLITE_PROTOCOL;
	if (cause != NULL)
		xasprintf(cause, "%s: %s", what, sqlite3_errmsg(db));
	else if (db_state.busy)
		log_debug("database %s: %s: %s", db_state.path, what,
		    sqlite3_errmsg(db));
	else
		log_warnx("database %s: %s: %s", db_state.path, what,
		    sqlite3_errmsg(db));
	return -1;
}

/* A call begins: it has not failed yet. */
static void
db_begin_call(void)
{
	db_state.failed = db_state.busy = 0;
}

/*
 * The reads until db_read_end are one transaction: one snapshot, and
 * SQLite's file locks taken once rather than for every statement (a page
 * of generations is a hundred reads).  Nothing may be written meanwhile.
 */
void
db_read_begin(void)
{
	sqlite3_stmt	*stmt;

	if (db == NULL || !sqlite3_get_autocommit(db) ||
	    (stmt = db_statement(DB_STATEMENT_BEGIN)) == NULL)
		return;
	if (sqlite3_step(stmt) == SQLITE_DONE)
		db_state.reading = 1;
	sqlite3_reset(stmt);
}

void
db_read_end(void)
{
	sqlite3_stmt	*stmt;
	int		 rc = SQLITE_ERROR;

	if (!db_state.reading)
		return;
	if ((stmt = db_statement(DB_STATEMENT_COMMIT)) != NULL) {
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	if (rc != SQLITE_DONE)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	db_state.reading = 0;
}

/* Whether the last call failed (reads return NULL or nothing then). */
int
db_failed(void)
{
	return db_state.failed;
}

/* Whether the last call failed because another process holds a lock. */
int
db_busy(void)
{
	return db_state.failed && db_state.busy;
}

static int
db_sleep(sqlite3_vfs *vfs, int microseconds)
{
	if (db_state.in_loop)
		return 0;
	return db_vfs_sleep(vfs, microseconds);
}

/* Register "profiled", the default VFS but for its sleep; -1 if none. */
static int
db_vfs_init(void)
{
	sqlite3_vfs	*vfs;

	if (db_vfs.zName != NULL)
		return 0;
	if ((vfs = sqlite3_vfs_find(NULL)) == NULL)
		return -1;
	db_vfs = *vfs;
	db_vfs.zName = "profiled";
	db_vfs.pNext = NULL;
	db_vfs_sleep = vfs->xSleep;
	db_vfs.xSleep = db_sleep;
	return sqlite3_vfs_register(&db_vfs, 0) == SQLITE_OK ? 0 : -1;
}

static int
db_exec(const char *sql, char **cause)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(sql, cause);
	return 0;
}

/*
 * Whether the next commits wait for the disk (FULL, the default) or not
 * (NORMAL: still atomic, and never lost to a crash of profiled, only to
 * one of the machine).  Only what the profile's links and manifests tell
 * again at the next start is written without waiting: adoption's imports
 * and their packages, a transaction of them each step, where a sync per
 * step cost several ms of the loop.  The next commit that waits syncs
 * them too.
 */
static void
db_durable(int full)
{
	sqlite3_exec(db, full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
}

/* What each schema version adds to the one before. */
static const char *const db_upgrades[] = {
	[2] = "ALTER TABLE builds ADD COLUMN file TEXT;"
	    "ALTER TABLE builds ADD COLUMN inputs_hash TEXT;",
	[3] = "ALTER TABLE generations ADD COLUMN "
	    "intent INTEGER NOT NULL DEFAULT 0;",
	[4] = DB_INDEXES,
	/* db_migrate then works out every record's summary. */
	[5] = "ALTER TABLE generations ADD COLUMN summary TEXT;",
};

static int
db_migrate(char **cause)
{
	char	*sql;
	int	 rc;

	sqlite3_stmt	*stmt;
	int		 version, from;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return db_fail("reading the schema version", cause);
	version = sqlite3_step(stmt) == SQLITE_ROW ?
	    sqlite3_column_int(stmt, 0) : 0;
	sqlite3_finalize(stmt);

	if (version == DB_SCHEMA_VERSION)
		return 0;
	if (version > DB_SCHEMA_VERSION) {
		xasprintf(cause, "the database was written by a newer profiled "
		    "(schema %d, this one knows %d)", version,
		    DB_SCHEMA_VERSION);
		return -1;
	}
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (version == 0)
		rc = db_exec(db_schema, cause);
	else {
		from = version;
		for (rc = 0; rc == 0 && version < DB_SCHEMA_VERSION; version++)
			rc = db_exec(db_upgrades[version + 1], cause);
		if (rc == 0 && from < 5 && db_summarize_all() == -1)
			rc = db_fail("summarizing the history", cause);
	}
	xasprintf(&sql, "PRAGMA user_version = %d", DB_SCHEMA_VERSION);
	if (rc == -1 || db_exec(sql, cause) == -1) {
		free(sql);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	free(sql);
	return db_exec("COMMIT", cause);
}

/*
 * Whether a failure opening or checking the file means the file itself is
 * bad (corrupt, not a database, unreadable), not the moment (a lock, a
 * full disk) or this profiled (a newer schema).
 */
static int
db_unusable(int code)
{
	switch (code & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_CANTOPEN:
		return 1;
	}
	return 0;
}

/* PRAGMA quick_check; -1 and *cause (its first finding) if not "ok". */
static int
db_quick_check(char **cause)
{
	sqlite3_stmt	*stmt;
	const char	*text;
	int		 rc;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt,
	    NULL) != SQLITE_OK)
		return db_fail("checking the database", cause);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		db_fail("checking the database", cause);
		sqlite3_finalize(stmt);
		return -1;
	}
	text = (const char *)sqlite3_column_text(stmt, 0);
	if (text == NULL || strcmp(text, "ok") != 0) {
		/* Its first finding, on one line. */
		if (text != NULL && strncmp(text, "*** ", 4) == 0 &&
		    strchr(text, '\n') != NULL)
			text = strchr(text, '\n') + 1;
		xasprintf(cause, "quick_check found: %.*s", 200,
		    text != NULL ? text : "nothing");
		(*cause)[strcspn(*cause, "\n")] = '\0';
		sqlite3_finalize(stmt);
		db_state.failed = 1;
		return -1;
	}
	sqlite3_finalize(stmt);
	return 0;
}

/*
 * Open path, check it and bring its schema up; -1 and *cause if not, with
 * *unusable set if the file itself is bad.
 */
static int
db_open_file(const char *path, int *unusable, char **cause)
{
	int	rc;

	*unusable = 0;
	db_begin_call();
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, db_vfs.zName);
	if (rc != SQLITE_OK) {
		*unusable = db_unusable(rc);
		xasprintf(cause, "%s", db != NULL ? sqlite3_errmsg(db) :
		    "out of memory");
		db_close();
		return -1;
	}
	sqlite3_busy_timeout(db, DB_START_TIMEOUT);
	if (sqlite3_db_readonly(db, "main") == 1) {
		xasprintf(cause, "it cannot be written (check its mode and "
		    "owner)");
		db_close();
		return -1;
	}
	if (db_quick_check(cause) == -1 ||
	    db_exec("PRAGMA journal_mode = WAL", cause) == -1 ||
	    db_exec("PRAGMA foreign_keys = ON", cause) == -1 ||
	    db_migrate(cause) == -1) {
		*unusable = db_state.failed && !db_state.busy &&
		    (db_unusable(sqlite3_errcode(db)) ||
		    strncmp(*cause, "quick_check", 11) == 0);
		db_close();
		return -1;
	}
	return 0;
}

/*
 * Move path (and its -wal and -shm) aside to path.corrupt-TIME; the new
 * name in *moved.  Never deletes: the file may hold history worth saving.
 */
static int
db_move_aside(const char *path, char **moved, char **cause)
{
	static const char *const	 suffixes[] = { "-wal", "-shm" };
	char				 stamp[32], *from, *to;
	struct tm			 tm;
	time_t				 now = time(NULL);
	size_t				 i;
	int				 n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	xasprintf(moved, "%s.corrupt-%s", path, stamp);
	for (n = 2; access(*moved, F_OK) == 0; n++) {
		free(*moved);
		xasprintf(moved, "%s.corrupt-%s-%d", path, stamp, n);
	}
	if (rename(path, *moved) == -1) {
		xasprintf(cause, "cannot move it aside to %s: %s", *moved,
		    strerror(errno));
		free(*moved);
		*moved = NULL;
		return -1;
	}
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		xasprintf(&from, "%s%s", path, suffixes[i]);
		xasprintf(&to, "%s%s", *moved, suffixes[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("cannot move %s aside to %s", from, to);
		free(from);
		free(to);
	}
	return 0;
}

/*
 * Open (creating if needed) the database at path; -1 and *cause (naming
 * the file) if not.  A file that is corrupt, unreadable or empty is moved
 * aside and a new one made: db_open_note says so, db_created that the
 * history is to be rebuilt.
 */
int
db_open(const char *path, char **cause)
{
	struct stat	 sb;
	char		*why = NULL, *moved = NULL, *error = NULL;
	int		 unusable;

	free(db_state.path);
	free(db_state.note);
	db_state.path = xstrdup(path);
	db_state.note = NULL;
	db_state.created = 0;
	if (db_vfs_init() == -1) {
		xasprintf(cause, "database %s: no SQLite VFS", path);
		return -1;
	}
	if (stat(path, &sb) == -1) {
		if (errno != ENOENT) {
			xasprintf(cause, "database %s: %s", path,
			    strerror(errno));
			return -1;
		}
		db_state.created = 1;
	} else if (sb.st_size == 0)
		why = xstrdup("was empty (0 bytes)");
	if (why == NULL && db_open_file(path, &unusable, &error) == 0)
		return 0;
	if (why == NULL && !unusable) {
		xasprintf(cause, "database %s: %s", path, error);
		free(error);
		return -1;
	}
	if (why == NULL) {
		xasprintf(&why, "is corrupt or unreadable (%s)", error);
		free(error);
		error = NULL;
	}
	if (db_move_aside(path, &moved, &error) == -1 ||
	    db_open_file(path, &unusable, &error) == -1) {
		xasprintf(cause, "database %s %s, and %s", path, why, error);
		free(why);
		free(error);
		free(moved);
		return -1;
	}
	xasprintf(&db_state.note, "the database %s %s; it was moved to %s "
	    "and a new one made, so history is rebuilt from the profile's "
	    "links", path, why, moved);
	log_warnx("%s", db_state.note);
	db_state.created = 1;
	free(why);
	free(moved);
	return 0;
}

/* What opening found wrong and did about it, or NULL if nothing. */
const char *
db_open_note(void)
{
	return db_state.note;
}

/* The database's file. */
const char *
db_path(void)
{
	return db_state.path;
}

/* Whether db_open made a new database: there was no history to open. */
int
db_created(void)
{
	return db_state.created;
}

static void
db_deferred_free(struct db_deferred *d)
{
	db_build_free(d->build);
	free(d->key);
	free(d->value);
	free(d);
}

void
db_close(void)
{
	struct db_deferred	*d;
	size_t			 lost = 0, i;

	/* One last try, without waiting: SIGTERM must not hang on a lock. */
	if (db != NULL)
		db_flush();
	while ((d = TAILQ_FIRST(&db_state.deferred)) != NULL) {
		TAILQ_REMOVE(&db_state.deferred, d, entry);
		db_deferred_free(d);
		lost++;
	}
	if (lost > 0)
		log_warnx("database %s stayed locked: %zu writes were not "
		    "made (generations are reconciled at the next start)",
		    db_state.path, lost);
	if (db_state.retry != NULL)
		event_free(db_state.retry);
	db_state.retry = NULL;
	db_state.in_loop = 0;
	db_state.waiting_since = 0;
	for (i = 0; i < DB_STATEMENT_COUNT; i++) {
		sqlite3_finalize(db_statements[i]);
		db_statements[i] = NULL;
	}
	sqlite3_close(db);
	db = NULL;
}

/*
 * The loop starts: from now on no call waits for another process's lock;
 * the writes a lock refuses are tried again from a timer on base.
 */
void
db_loop(struct event_base *base)
{
	db_state.in_loop = 1;
	sqlite3_busy_timeout(db, 0);
	if (db_state.retry == NULL &&
	    (db_state.retry = evtimer_new(base, db_retry_cb, NULL)) == NULL)
		fatalx("cannot create the database's retry timer");
}

static char *
db_column_text(sqlite3_stmt *stmt, int column)
{
	const unsigned char	*text;

	if ((text = sqlite3_column_text(stmt, column)) == NULL)
		return NULL;
	return xstrdup((const char *)text);
}

/* A reason column; one this profiled does not know claims nothing. */
static enum reason
db_column_reason(sqlite3_stmt *stmt, int column)
{
	const unsigned char	*text;
	enum reason		 reason;

	text = sqlite3_column_text(stmt, column);
	if (text == NULL || reason_parse((const char *)text, &reason) == -1)
		return REASON_IMPORT;
	return reason;
}

static void
db_bind_text(sqlite3_stmt *stmt, int column, const char *text)
{
	if (text == NULL)
		sqlite3_bind_null(stmt, column);
	else
		sqlite3_bind_text(stmt, column, text, -1, SQLITE_TRANSIENT);
}

/* Statement which, prepared once; NULL if it cannot be. */
static sqlite3_stmt *
db_statement(enum db_statement which)
{
	if (db_statements[which] == NULL && sqlite3_prepare_v3(db,
	    db_statement_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
	    &db_statements[which], NULL) != SQLITE_OK)
		return NULL;
	return db_statements[which];
}

/* A kept statement's use is over: reset it, so it holds no read open. */
static void
db_statement_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Insert id's packages, list (count of them), in the caller's transaction. */
static int
db_insert_packages(unsigned id, const struct package *list, size_t count)
{
	sqlite3_stmt	*stmt;
	size_t		 i;
	int		 rc = 0;

	if ((stmt = db_statement(DB_STATEMENT_INSERT_PACKAGE)) == NULL)
		return -1;
	for (i = 0; i < count && rc == 0; i++) {
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, i);
		db_bind_text(stmt, 3, list[i].name);
		db_bind_text(stmt, 4, list[i].version);
		db_bind_text(stmt, 5, list[i].path);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(stmt);
	}
	db_statement_done(stmt);
	return rc;
}

/* Insert gen and its packages, in the transaction the caller began. */
static int
db_generation_insert(const struct generation *gen)
{
	sqlite3_stmt	*stmt;

	if ((stmt = db_statement(DB_STATEMENT_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, gen->id);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	db_statement_done(stmt);

	if ((stmt = db_statement(DB_STATEMENT_INSERT)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, gen->id);
	if (gen->parent != 0)
		sqlite3_bind_int64(stmt, 2, gen->parent);
	db_bind_text(stmt, 3, gen->store_path);
	sqlite3_bind_int64(stmt, 4, gen->created);
	db_bind_text(stmt, 5, reason_name(gen->reason));
	db_bind_text(stmt, 6, gen->content_hash);
	if (gen->content != NULL)
		sqlite3_bind_blob(stmt, 7, gen->content, strlen(gen->content),
		    SQLITE_TRANSIENT);
	if (gen->build_ms >= 0)
		sqlite3_bind_int64(stmt, 8, gen->build_ms);
	sqlite3_bind_int(stmt, 9, gen->intent != 0);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	db_statement_done(stmt);
	if (db_insert_packages(gen->id, gen->packages, gen->npackages) == -1)
		return -1;
	return db_summarize_family(gen->id);

fail:
	db_statement_done(stmt);
	return -1;
}

/*
 * Record gen with its packages, replacing any older record with the same
 * number (Nix reuses numbers once every generation above them is deleted).
 * With gen->intent, it is written before nix-env --set makes gen->id.
 */
int
db_generation_put(const struct generation *gen, char **cause)
{
	assert(gen->id != 0 && gen->store_path != NULL);
	db_begin_call();
	/* An intent goes after the writes that wait, never before them. */
	if (gen->intent && db_flush() == -1) {
		xasprintf(cause, "the database is locked by another process");
		db_state.failed = db_state.busy = 1;
		return -1;
	}
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (db_generation_insert(gen) == -1) {
		db_fail("recording a generation", cause);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (db_exec("COMMIT", cause) == -1) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/*
 * Record the n generations gens (imports of links, none an intent) in one
 * transaction, so adopting a thousand links is one commit, not a
 * thousand, and one that does not wait for the disk (db_durable).
 */
int
db_generation_put_many(const struct generation *gens, size_t n,
    char **cause)
{
	size_t	i;
	int	rc = -1;

	db_begin_call();
	db_durable(0);
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		assert(gens[i].id != 0 && gens[i].store_path != NULL);
		assert(!gens[i].intent);
		if (db_generation_insert(&gens[i]) == -1) {
			db_fail("recording a generation", cause);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if (db_exec("COMMIT", cause) == -1)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	else
		rc = 0;
out:
	db_durable(1);
	return rc;
}

/* Run sql with the numbers a and b bound; -1 if it fails. */
static int
db_run2(const char *sql, unsigned a, unsigned b)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, a);
	if (sqlite3_bind_parameter_count(stmt) > 1)
		sqlite3_bind_int64(stmt, 2, b);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * nix-env --set made the intent recorded as expected, as generation id:
 * it is done, renumbered if Nix chose another number (another tool made
 * one meanwhile), in one transaction.
 */
static int
db_generation_finish(unsigned expected, unsigned id, char **cause)
{
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		return -1;
	/* Only to renumber: the pragma expires every kept statement. */
	if (id != expected &&
	    db_exec("PRAGMA defer_foreign_keys = ON", cause) == -1)
		goto fail;
	if (id != expected && (db_run2("DELETE FROM generations WHERE id = ? "
	    "AND ? IN (SELECT id FROM generations WHERE intent = 1)", id,
	    expected) == -1 ||
	    db_run2("UPDATE generations SET id = ? WHERE id = ? AND intent = 1",
	    id, expected) == -1))
		goto fail;
	if (id != expected && sqlite3_changes(db) == 1 &&
	    db_run2("UPDATE packages SET generation = ? WHERE generation = ?",
	    id, expected) == -1)
		goto fail;
	if (db_run2("UPDATE generations SET intent = 0 WHERE id = ?", id,
	    0) == -1)
		goto fail;
	/* Another record numbered id had children. */
	if (id != expected && db_summarize_family(id) == -1)
		goto fail;
	if (db_exec("COMMIT", cause) == 0)
		return 0;
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
fail:
	db_fail("completing a generation's record", cause);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Mark the intent recorded as expected done, as generation id.  A lock
 * does not fail it: it is tried again from the loop (the intent is the
 * record meanwhile).  -1 and *cause only for another error.
 */
int
db_generation_done(unsigned expected, unsigned id, char **cause)
{
	struct db_deferred	*d;
	char			*error = NULL;

	db_begin_call();
	if (db_flush() == 0) {
		if (db_generation_finish(expected, id, &error) == 0)
			return 0;
		if (!db_state.busy) {
			*cause = error;
			return -1;
		}
		free(error);
	}
	TAILQ_FOREACH(d, &db_state.deferred, entry) {
		if (d->kind == DB_DEFERRED_DONE && d->expected == expected &&
		    d->id == id)
			return 0;
	}
	d = xcalloc(1, sizeof *d);
	d->kind = DB_DEFERRED_DONE;
	d->expected = expected;
	d->id = id;
	db_defer(d);
	return 0;
}

/* Forget the intent recorded as id: nix-env --set did not make it. */
int
db_generation_drop(unsigned id, char **cause)
{
	db_begin_call();
	if (db_run2("DELETE FROM generations WHERE id = ? AND intent = 1", id,
	    0) == -1)
		return db_fail("dropping an intent", cause);
	return 0;
}

static void
db_generation_read_packages(struct generation *gen)
{
	sqlite3_stmt	*stmt;
	struct package	*pkg;
	int		 rc;

	if ((stmt = db_statement(DB_STATEMENT_PACKAGES)) == NULL) {
		db_fail("reading packages", NULL);
		return;
	}
	sqlite3_bind_int64(stmt, 1, gen->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		gen->packages = xreallocarray(gen->packages,
		    gen->npackages + 1, sizeof *gen->packages);
		pkg = &gen->packages[gen->npackages++];
		pkg->name = db_column_text(stmt, 0);
		pkg->version = db_column_text(stmt, 1);
		pkg->path = db_column_text(stmt, 2);
	}
	if (rc != SQLITE_DONE)
		db_fail("reading packages", NULL);
	db_statement_done(stmt);
}

/* A record from a row of DB_GENERATION_COLUMNS, its packages if asked. */
static struct generation *
db_generation_from_row(sqlite3_stmt *stmt, int with_packages)
{
	struct generation	*gen;

	gen = xcalloc(1, sizeof *gen);
	gen->id = sqlite3_column_int64(stmt, 0);
	gen->parent = sqlite3_column_int64(stmt, 1);
	gen->store_path = db_column_text(stmt, 2);
	gen->created = sqlite3_column_int64(stmt, 3);
	gen->reason = db_column_reason(stmt, 4);
	gen->content_hash = db_column_text(stmt, 5);
	gen->content = db_column_text(stmt, 6);
	gen->build_ms = sqlite3_column_type(stmt, 7) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(stmt, 7);
	gen->intent = sqlite3_column_int(stmt, 8);
	gen->summary = db_column_text(stmt, 9);
	if (with_packages)
		db_generation_read_packages(gen);
	return gen;
}

/*
 * Generation id's record into *gen, whole or brief (neither its package
 * file nor its packages): 1, or 0 if there is none, or -1 if it cannot be
 * read.
 */
static int
db_generation_fetch(unsigned id, int brief, struct generation **gen)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*gen = NULL;
	if ((stmt = db_statement(brief ? DB_STATEMENT_GET_BRIEF :
	    DB_STATEMENT_GET)) == NULL)
		return db_fail("reading a generation", NULL);
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*gen = db_generation_from_row(stmt, !brief);
	db_statement_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail("reading a generation", NULL);
	if (*gen != NULL && db_state.failed) {
		db_generation_free(*gen);
		*gen = NULL;
		return -1;
	}
	return *gen != NULL;
}

/*
 * Work out what changed from generation id's parent to it and keep it in
 * id's record, in the caller's transaction: NULL while either package list
 * is unknown (an import not read yet), as if from nothing when the parent
 * has no record.  So a listing reads one row a generation, no packages.
 * -1 if it cannot be read or written.
 */
static int
db_summarize(unsigned id)
{
	struct generation	*gen, *parent = NULL;
	sqlite3_stmt		*stmt;
	char			*summary;
	int			 rc;

	if ((rc = db_generation_fetch(id, 0, &gen)) != 1)
		return rc;
	if (!generation_packages_unknown(gen) && gen->parent != 0 &&
	    gen->parent != id &&
	    db_generation_fetch(gen->parent, 0, &parent) == -1) {
		db_generation_free(gen);
		return -1;
	}
	summary = generation_summary(parent, gen);
	rc = 0;
	if ((summary == NULL) != (gen->summary == NULL) || (summary != NULL &&
	    strcmp(summary, gen->summary) != 0)) {
		if ((stmt = db_statement(DB_STATEMENT_SUMMARY)) == NULL)
			rc = -1;
		else {
			db_bind_text(stmt, 1, summary);
			sqlite3_bind_int64(stmt, 2, id);
			if (sqlite3_step(stmt) != SQLITE_DONE)
				rc = -1;
			db_statement_done(stmt);
		}
	}
	free(summary);
	db_generation_free(parent);
	db_generation_free(gen);
	return rc;
}

/*
 * The numbers a statement gives (its first column), in its order; *count
 * says how many.  -1 (and what was read) if it fails.
 */
static int
db_ids(sqlite3_stmt *stmt, unsigned **ids, size_t *count)
{
	int	rc;

	*ids = NULL;
	*count = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*ids = xreallocarray(*ids, *count + 1, sizeof **ids);
		(*ids)[(*count)++] = sqlite3_column_int64(stmt, 0);
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* db_summarize each of the count generations ids; -1 if one fails. */
static int
db_summarize_ids(const unsigned *ids, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++) {
		if (db_summarize(ids[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * Generation id's packages or parent were written: its summary and its
 * children's, in the caller's transaction; -1 if they cannot be.
 */
static int
db_summarize_family(unsigned id)
{
	sqlite3_stmt	*stmt;
	unsigned	*children;
	size_t		 n;
	int		 rc;

	if (db_summarize(id) == -1 ||
	    (stmt = db_statement(DB_STATEMENT_CHILDREN)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	rc = db_ids(stmt, &children, &n);
	db_statement_done(stmt);
	if (rc == 0)
		rc = db_summarize_ids(children, n);
	free(children);
	return rc;
}

/* Every record's summary, in the transaction that brings schema 5 in. */
static int
db_summarize_all(void)
{
	sqlite3_stmt	*stmt;
	unsigned	*ids;
	size_t		 n;
	int		 rc;

	if (sqlite3_prepare_v2(db, "SELECT id FROM generations ORDER BY id",
	    -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	rc = db_ids(stmt, &ids, &n);
	sqlite3_finalize(stmt);
	if (rc == 0)
		rc = db_summarize_ids(ids, n);
	free(ids);
	return rc;
}

/* The record of generation id with its packages, or NULL if none. */
struct generation *
db_generation_get(unsigned id)
{
	struct generation	*gen;

	db_begin_call();
	db_generation_fetch(id, 0, &gen);
	return gen;
}

/*
 * The record of generation id without its package file or packages (its
 * summary says what changed), or NULL if none: what a listing shows.
 */
struct generation *
db_generation_brief(unsigned id)
{
	struct generation	*gen;

	db_begin_call();
	db_generation_fetch(id, 1, &gen);
	return gen;
}

/*
 * The records of a statement, each with its packages if asked, in its
 * order; *count says how many.
 */
static struct generation **
db_generation_rows(sqlite3_stmt *stmt, int with_packages, size_t *count)
{
	struct generation	**list = NULL;
	int			  rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = xreallocarray(list, *count + 1, sizeof *list);
		list[(*count)++] = db_generation_from_row(stmt,
		    with_packages);
	}
	if (rc != SQLITE_DONE)
		db_fail("listing generations", NULL);
	db_statement_done(stmt);
	return list;
}

/*
 * At most limit records numbered above after, by number, with their
 * packages unless brief (as db_generation_brief): a page of history by
 * key range, whatever its length.
 */
struct generation **
db_generation_after(unsigned after, size_t limit, int brief, size_t *count)
{
	sqlite3_stmt	*stmt;

	*count = 0;
	db_begin_call();
	if ((stmt = db_statement(brief ? DB_STATEMENT_AFTER_BRIEF :
	    DB_STATEMENT_AFTER)) == NULL) {
		db_fail("listing generations", NULL);
		return NULL;
	}
	sqlite3_bind_int64(stmt, 1, after);
	sqlite3_bind_int64(stmt, 2, limit);
	return db_generation_rows(stmt, !brief, count);
}

/* The intents (records written before nix-env --set ended), by number. */
struct generation **
db_generation_intents(size_t *count)
{
	sqlite3_stmt	*stmt;

	*count = 0;
	db_begin_call();
	if ((stmt = db_statement(DB_STATEMENT_INTENTS)) == NULL) {
		db_fail("listing intents", NULL);
		return NULL;
	}
	return db_generation_rows(stmt, 1, count);
}

/*
 * Generation id's store path in *store_path (a new string) and whether it
 * is an intent: 1 if it has a record, 0 if not, -1 if it cannot be read.
 */
int
db_generation_path(unsigned id, char **store_path, int *intent)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	*store_path = NULL;
	db_begin_call();
	if ((stmt = db_statement(DB_STATEMENT_PATH)) == NULL)
		return db_fail("reading a generation", NULL);
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*store_path = db_column_text(stmt, 0);
		*intent = sqlite3_column_int(stmt, 1);
	} else if (rc != SQLITE_DONE) {
		db_statement_done(stmt);
		return db_fail("reading a generation", NULL);
	}
	db_statement_done(stmt);
	return rc == SQLITE_ROW;
}

/*
 * Generation id's parent and time, without its packages: 1 if it has a
 * record, 0 if not, -1 if it cannot be read.
 */
int
db_generation_lineage(unsigned id, unsigned *parent, int64_t *created)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	db_begin_call();
	if ((stmt = db_statement(DB_STATEMENT_LINEAGE)) == NULL)
		return db_fail("reading a generation", NULL);
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*parent = sqlite3_column_int64(stmt, 0);
		*created = sqlite3_column_int64(stmt, 1);
	} else if (rc != SQLITE_DONE) {
		db_statement_done(stmt);
		return db_fail("reading a generation", NULL);
	}
	db_statement_done(stmt);
	return rc == SQLITE_ROW;
}

/*
 * The records numbered first to last: number, store path and whether it
 * is an import whose packages were never read, by number, in one query.
 */
struct db_record_path *
db_generation_range(unsigned first, unsigned last, size_t *count)
{
	sqlite3_stmt		*stmt;
	struct db_record_path	*list = NULL;
	int			 rc;

	*count = 0;
	db_begin_call();
	if ((stmt = db_statement(DB_STATEMENT_RANGE)) == NULL) {
		db_fail("listing generations", NULL);
		return NULL;
	}
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = xreallocarray(list, *count + 1, sizeof *list);
		list[*count].id = sqlite3_column_int64(stmt, 0);
		list[*count].store_path = db_column_text(stmt, 1);
		list[(*count)++].unread = sqlite3_column_int(stmt, 2);
	}
	if (rc != SQLITE_DONE)
		db_fail("listing generations", NULL);
	db_statement_done(stmt);
	return list;
}

/*
 * Give each of the n adoptions' generations that are still imports of its
 * store path without packages its package list, all in one transaction
 * (that does not wait for the disk: db_durable); a record
 * written meanwhile (an intent, a generation made) is never touched.
 * *written says how many took them.
 */
int
db_generation_adopt(const struct db_adoption *list, size_t n,
    size_t *written, char **cause)
{
	const struct db_adoption	*a;
	sqlite3_stmt			*stmt;
	size_t				 i, j;
	int				 rc;

	*written = 0;
	db_begin_call();
	db_durable(0);
	if (db_exec("BEGIN IMMEDIATE", cause) == -1) {
		db_durable(1);
		return -1;
	}
	for (i = 0; i < n; i++) {
		a = &list[i];
		for (j = 0; j < a->nids; j++) {
			if ((stmt = db_statement(DB_STATEMENT_ADOPTABLE)) ==
			    NULL)
				goto fail;
			sqlite3_bind_int64(stmt, 1, a->ids[j]);
			db_bind_text(stmt, 2, a->store_path);
			rc = sqlite3_step(stmt);
			db_statement_done(stmt);
			if (rc == SQLITE_DONE)
				continue;
			if (rc != SQLITE_ROW || db_insert_packages(a->ids[j],
			    a->packages, a->npackages) == -1 ||
			    db_summarize_family(a->ids[j]) == -1)
				goto fail;
			(*written)++;
		}
	}
	if (db_exec("COMMIT", cause) == 0) {
		db_durable(1);
		return 0;
	}
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	*written = 0;
	db_durable(1);
	return -1;
fail:
	db_fail("recording adopted packages", cause);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	*written = 0;
	db_durable(1);
	return -1;
}

/*
 * Every record's number and store path, by number, in one query: what
 * generation_sync compares with the profile's links, without reading each
 * record and its packages.  *count says how many.
 */
struct db_record_path *
db_generation_paths(size_t *count)
{
	sqlite3_stmt		*stmt;
	struct db_record_path	*list = NULL;
	int			 rc;

	*count = 0;
	db_begin_call();
	if (sqlite3_prepare_v2(db, "SELECT id, store_path FROM generations "
	    "ORDER BY id", -1, &stmt, NULL) != SQLITE_OK) {
		db_fail("listing generations", NULL);
		return NULL;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list = xreallocarray(list, *count + 1, sizeof *list);
		list[*count].id = sqlite3_column_int64(stmt, 0);
		list[(*count)++].store_path = db_column_text(stmt, 1);
	}
	if (rc != SQLITE_DONE)
		db_fail("listing generations", NULL);
	sqlite3_finalize(stmt);
	return list;
}

void
db_generation_paths_free(struct db_record_path *list, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		free(list[i].store_path);
	free(list);
}

/* Every generation record, oldest number first; *count says how many. */
struct generation **
db_generation_list(size_t *count)
{
	sqlite3_stmt		 *stmt;
	struct generation	**list;

	*count = 0;
	db_begin_call();
	if (sqlite3_prepare_v2(db, DB_GENERATION_COLUMNS "ORDER BY id", -1,
	    &stmt, NULL) != SQLITE_OK) {
		db_fail("listing generations", NULL);
		return NULL;
	}
	list = db_generation_rows(stmt, 1, count);
	sqlite3_finalize(stmt);
	return list;
}

/* The ids of the generations whose parent is id, in order; *count of them. */
unsigned *
db_generation_children(unsigned id, size_t *count)
{
	sqlite3_stmt	*stmt;
	unsigned	*children;

	*count = 0;
	db_begin_call();
	if (sqlite3_prepare_v2(db, "SELECT id FROM generations WHERE "
	    "parent = ? AND intent = 0 ORDER BY id", -1, &stmt, NULL) !=
	    SQLITE_OK) {
		db_fail("listing a generation's children", NULL);
		return NULL;
	}
	sqlite3_bind_int64(stmt, 1, id);
	if (db_ids(stmt, &children, count) == -1)
		db_fail("listing a generation's children", NULL);
	sqlite3_finalize(stmt);
	return children;
}

/* A copy of gen that owns its strings, for db_generation_free. */
struct generation *
db_generation_copy(const struct generation *gen)
{
	struct generation	*copy;

	copy = xmalloc(sizeof *copy);
	*copy = *gen;
	copy->store_path = xstrdup(gen->store_path);
	copy->content_hash = gen->content_hash != NULL ?
	    xstrdup(gen->content_hash) : NULL;
	copy->content = gen->content != NULL ? xstrdup(gen->content) : NULL;
	copy->summary = gen->summary != NULL ? xstrdup(gen->summary) : NULL;
	copy->packages = package_list_copy(gen->packages, gen->npackages);
	return copy;
}

void
db_generation_free(struct generation *gen)
{
	if (gen == NULL)
		return;
	package_list_free(gen->packages, gen->npackages);
	free(gen->store_path);
	free(gen->content_hash);
	free(gen->content);
	free(gen->summary);
	free(gen);
}

void
db_generation_list_free(struct generation **list, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++)
		db_generation_free(list[i]);
	free(list);
}

/*
 * Insert one build attempt with its log (which build.c bounds), keeping
 * the logs of the newest DB_LOGS_KEPT builds only.
 */
static int
db_build_insert(const struct build_record *build, char **cause)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	/* One commit: the build and the trimming of old logs. */
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO builds (started, duration_ms, "
	    "trigger, content_hash, ok, error, out_path, generation, "
	    "superseded, log, file, inputs_hash) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, build->started);
	sqlite3_bind_int64(stmt, 2, build->duration_ms);
	db_bind_text(stmt, 3, reason_name(build->trigger));
	db_bind_text(stmt, 4, build->content_hash);
	sqlite3_bind_int(stmt, 5, build->ok);
	db_bind_text(stmt, 6, build->error);
	db_bind_text(stmt, 7, build->out_path);
	if (build->generation != 0)
		sqlite3_bind_int64(stmt, 8, build->generation);
	sqlite3_bind_int(stmt, 9, build->superseded);
	db_bind_text(stmt, 10, build->log);
	db_bind_text(stmt, 11, build->file);
	db_bind_text(stmt, 12, build->inputs_hash);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	if (rc == -1) {
		sqlite3_finalize(stmt);
		goto fail;
	}
	sqlite3_finalize(stmt);
	if (sqlite3_exec(db, "UPDATE builds SET log = NULL WHERE log IS NOT "
	    "NULL AND id <= (SELECT max(id) FROM builds) - "
	    DB_STRINGIFY(DB_LOGS_KEPT), NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (db_exec("COMMIT", cause) == -1) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
fail:
	db_fail("recording a build", cause);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static char *
db_strdup(const char *text)
{
	return text != NULL ? xstrdup(text) : NULL;
}

static struct build_record *
db_build_copy(const struct build_record *build)
{
	struct build_record	*copy;

	copy = xmalloc(sizeof *copy);
	*copy = *build;
	copy->content_hash = db_strdup(build->content_hash);
	copy->error = db_strdup(build->error);
	copy->out_path = db_strdup(build->out_path);
	copy->log = db_strdup(build->log);
	copy->file = db_strdup(build->file);
	copy->inputs_hash = db_strdup(build->inputs_hash);
	return copy;
}

/*
 * Record one build attempt.  A lock does not fail it: it waits in memory
 * and is tried again from the loop.  -1 and *cause for another error.
 */
int
db_build_add(const struct build_record *build, char **cause)
{
	struct db_deferred	*d;
	char			*error = NULL;

	db_begin_call();
	if (db_flush() == 0) {
		if (db_build_insert(build, &error) == 0)
			return 0;
		if (!db_state.busy) {
			*cause = error;
			return -1;
		}
		free(error);
	}
	d = xcalloc(1, sizeof *d);
	d->kind = DB_DEFERRED_BUILD;
	d->build = db_build_copy(build);
	db_defer(d);
	return 0;
}

#define DB_BUILD_COLUMNS	"started, duration_ms, trigger, content_hash, " \
	"ok, error, out_path, generation, log, file, inputs_hash"

/* The first build that sql (selecting DB_BUILD_COLUMNS) finds, or NULL. */
static struct build_record *
db_build_query(const char *sql, unsigned generation)
{
	sqlite3_stmt		*stmt;
	struct build_record	*build = NULL;
	int			 rc;

	db_begin_call();
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		db_fail("reading a build", NULL);
		return NULL;
	}
	if (generation != 0)
		sqlite3_bind_int64(stmt, 1, generation);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW && rc != SQLITE_DONE)
		db_fail("reading a build", NULL);
	if (rc == SQLITE_ROW) {
		build = xcalloc(1, sizeof *build);
		build->started = sqlite3_column_int64(stmt, 0);
		build->duration_ms = sqlite3_column_int64(stmt, 1);
		build->trigger = db_column_reason(stmt, 2);
		build->content_hash = db_column_text(stmt, 3);
		build->ok = sqlite3_column_int(stmt, 4);
		build->error = db_column_text(stmt, 5);
		build->out_path = db_column_text(stmt, 6);
		build->generation = sqlite3_column_int64(stmt, 7);
		build->log = db_column_text(stmt, 8);
		build->file = db_column_text(stmt, 9);
		build->inputs_hash = db_column_text(stmt, 10);
	}
	sqlite3_finalize(stmt);
	return build;
}

/*
 * The most recent build that settled the file's content (not one superseded
 * by newer content), or NULL if there has been none.
 */
struct build_record *
db_build_last(void)
{
	struct db_deferred	*d;

	/* A build that waits to be written is newer than any written. */
	TAILQ_FOREACH_REVERSE(d, &db_state.deferred, db_deferred_list, entry) {
		if (d->kind == DB_DEFERRED_BUILD && !d->build->superseded)
			return db_build_copy(d->build);
	}
	return db_build_query("SELECT " DB_BUILD_COLUMNS " FROM builds "
	    "WHERE superseded = 0 ORDER BY id DESC LIMIT 1", 0);
}

/* The build that made generation id (its first), or NULL if none did. */
struct build_record *
db_build_of_generation(unsigned id)
{
	struct db_deferred	*d;

	TAILQ_FOREACH(d, &db_state.deferred, entry) {
		if (d->kind == DB_DEFERRED_BUILD && d->build->ok &&
		    d->build->generation == id)
			return db_build_copy(d->build);
	}
	return db_build_query("SELECT " DB_BUILD_COLUMNS " FROM builds "
	    "WHERE generation = ? AND ok = 1 ORDER BY id LIMIT 1", id);
}

void
db_build_free(struct build_record *build)
{
	if (build == NULL)
		return;
	free(build->content_hash);
	free(build->error);
	free(build->out_path);
	free(build->log);
	free(build->file);
	free(build->inputs_hash);
	free(build);
}

/* The value stored under key, or NULL if there is none. */
char *
db_state_get(const char *key)
{
	struct db_deferred	*d;
	sqlite3_stmt		*stmt;
	char			*value = NULL;
	int			 rc;

	TAILQ_FOREACH_REVERSE(d, &db_state.deferred, db_deferred_list, entry) {
		if (d->kind == DB_DEFERRED_STATE && strcmp(d->key, key) == 0)
			return xstrdup(d->value);
	}
	db_begin_call();
	if (sqlite3_prepare_v2(db, "SELECT value FROM state WHERE key = ?", -1,
	    &stmt, NULL) != SQLITE_OK) {
		db_fail("reading state", NULL);
		return NULL;
	}
	db_bind_text(stmt, 1, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		value = db_column_text(stmt, 0);
	else if (rc != SQLITE_DONE)
		db_fail("reading state", NULL);
	sqlite3_finalize(stmt);
	return value;
}

static int
db_state_write(const char *key, const char *value)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO state (key, value) "
	    "VALUES (?, ?)", -1, &stmt, NULL) != SQLITE_OK)
		return db_fail("writing state", NULL);
	db_bind_text(stmt, 1, key);
	db_bind_text(stmt, 2, value);
	rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(stmt);
	if (rc == -1)
		return db_fail("writing state", NULL);
	return 0;
}

/*
 * Store value under key, replacing what was there.  A lock does not fail
 * it (it waits in memory, and db_state_get sees it); -1 for another error.
 */
int
db_state_set(const char *key, const char *value)
{
	struct db_deferred	*d;

	db_begin_call();
	if (db_flush() == 0) {
		if (db_state_write(key, value) == 0)
			return 0;
		if (!db_state.busy)
			return -1;
	}
	d = xcalloc(1, sizeof *d);
	d->kind = DB_DEFERRED_STATE;
	d->key = xstrdup(key);
	d->value = xstrdup(value);
	db_defer(d);
	return 0;
}

/* Milliseconds on the monotonic clock. */
static long long
db_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Keep d, a write a lock refused, to be tried again after the others. */
static void
db_defer(struct db_deferred *d)
{
	struct timeval	tv = { 0, DB_RETRY_MS * 1000 };

	if (db_state.waiting_since == 0) {
		db_state.waiting_since = db_now_ms();
		log_warnx("database %s is locked by another process; its "
		    "writes wait", db_state.path);
	}
	TAILQ_INSERT_TAIL(&db_state.deferred, d, entry);
	if (db_state.retry != NULL && !evtimer_pending(db_state.retry, NULL))
		evtimer_add(db_state.retry, &tv);
}

/* Make the write d now; -1 and *cause if it fails. */
static int
db_deferred_apply(struct db_deferred *d, char **cause)
{
	switch (d->kind) {
	case DB_DEFERRED_BUILD:
		return db_build_insert(d->build, cause);
	case DB_DEFERRED_STATE:
		if (db_state_write(d->key, d->value) == -1) {
			xasprintf(cause, "writing state: %s",
			    sqlite3_errmsg(db));
			return -1;
		}
		return 0;
	case DB_DEFERRED_DONE:
		return db_generation_finish(d->expected, d->id, cause);
	}
	abort();
}

/*
 * Make the writes that wait, in order; 0 once none is left, -1 if a lock
 * still refuses them.  One that fails for another reason is logged and
 * dropped: trying it again would not help.
 */
static int
db_flush(void)
{
	struct db_deferred	*d;
	char			*cause = NULL;

	while ((d = TAILQ_FIRST(&db_state.deferred)) != NULL) {
		db_state.failed = db_state.busy = 0;
		if (db_deferred_apply(d, &cause) == -1) {
			if (db_state.busy) {
				free(cause);
				return -1;
			}
			log_warnx("database %s: %s", db_state.path, cause);
			free(cause);
			cause = NULL;
		}
		TAILQ_REMOVE(&db_state.deferred, d, entry);
		db_deferred_free(d);
	}
	if (db_state.waiting_since != 0) {
		log_info("database %s is free again after %lld ms",
		    db_state.path, db_now_ms() - db_state.waiting_since);
		db_state.waiting_since = 0;
	}
	db_state.failed = db_state.busy = 0;
	return 0;
}

static void
db_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 0, DB_RETRY_MS * 1000 };

	if (db_flush() == -1)
		evtimer_add(db_state.retry, &tv);
}

/*
 * How long (ms) writes have waited for another process's lock; 0 if none
 * waits.  Status says so.
 */
long long
db_waiting_ms(void)
{
	if (db_state.waiting_since == 0)
		return 0;
	return db_now_ms() - db_state.waiting_since + 1;
}
