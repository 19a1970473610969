/*
 * The generation store: profiled's history in SQLite.
 *
 * generations holds one row per generation of the Nix profile, keyed by
 * Nix's own number, with the parent that was current when it was made, the
 * package file as it was built and the packages it holds.  builds holds
 * every build attempt, failed ones included, so status can say what the last
 * build did after a restart.  state holds the few facts the queue must
 * remember across restarts (which file content the profile answers to).  WAL mode and short transactions keep each call
 * well under a millisecond, which is what lets the event loop call it.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "profiled.h"

/* Bumped with each schema change; db_migrate brings older files up. */
#define DB_SCHEMA_VERSION	2
/* Logs are kept for this many of the newest builds, so the database stays
 * bounded however long profiled runs. */
#define DB_LOGS_KEPT		200
#define DB_STRINGIFY(n)		DB_STRINGIFY2(n)
#define DB_STRINGIFY2(n)	#n

static sqlite3	*db;

static const char db_schema[] =
	"CREATE TABLE generations ("
	"  id INTEGER PRIMARY KEY,"	/* the profile's generation number */
	"  parent INTEGER,"		/* NULL for a root */
	"  store_path TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"	/* unix seconds */
	"  reason TEXT NOT NULL,"	/* save, switch, import */
	"  content_hash TEXT,"		/* NULL when not built by profiled */
	"  content BLOB,"
	"  build_ms INTEGER"
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
	");";

static int
db_fail(const char *what, char **cause)
{
	if (cause != NULL)
		xasprintf(cause, "%s: %s", what, sqlite3_errmsg(db));
	else
		log_warnx("database: %s: %s", what, sqlite3_errmsg(db));
	return -1;
}

static int
db_exec(const char *sql, char **cause)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(sql, cause);
	return 0;
}

/* What each schema version adds to the one before. */
static const char *const db_upgrades[] = {
	[2] = "ALTER TABLE builds ADD COLUMN file TEXT;"
	    "ALTER TABLE builds ADD COLUMN inputs_hash TEXT;",
};

static int
db_migrate(char **cause)
{
	char	*sql;
	int	 rc;

	sqlite3_stmt	*stmt;
	int		 version;

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
		for (rc = 0; rc == 0 && version < DB_SCHEMA_VERSION; version++)
			rc = db_exec(db_upgrades[version + 1], cause);
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

/* Open (creating if needed) the database at path; -1 and *cause if not. */
int
db_open(const char *path, char **cause)
{
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		xasprintf(cause, "cannot open %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(db, 2000);
	if (db_exec("PRAGMA journal_mode = WAL", cause) == -1 ||
	    db_exec("PRAGMA foreign_keys = ON", cause) == -1 ||
	    db_migrate(cause) == -1) {
		db_close();
		return -1;
	}
	return 0;
}

void
db_close(void)
{
	sqlite3_close(db);
	db = NULL;
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

static int
db_generation_put_packages(const struct generation *gen)
{
	sqlite3_stmt	*stmt;
	size_t		 i;
	int		 rc = 0;

	if (sqlite3_prepare_v2(db, "INSERT INTO packages "
	    "(generation, position, name, version, path) "
	    "VALUES (?, ?, ?, ?, ?)", -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	for (i = 0; i < gen->npackages && rc == 0; i++) {
		sqlite3_bind_int64(stmt, 1, gen->id);
		sqlite3_bind_int64(stmt, 2, i);
		db_bind_text(stmt, 3, gen->packages[i].name);
		db_bind_text(stmt, 4, gen->packages[i].version);
		db_bind_text(stmt, 5, gen->packages[i].path);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			rc = -1;
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Record gen with its packages, replacing any older record with the same
 * number (Nix reuses numbers once every generation above them is deleted).
 */
int
db_generation_put(const struct generation *gen, char **cause)
{
	sqlite3_stmt	*stmt = NULL;

	assert(gen->id != 0 && gen->store_path != NULL);
	if (db_exec("BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "DELETE FROM generations WHERE id = ?", -1,
	    &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, gen->id);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);

	if (sqlite3_prepare_v2(db, "INSERT INTO generations (id, parent, "
	    "store_path, created, reason, content_hash, content, build_ms) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
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
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	stmt = NULL;

	if (db_generation_put_packages(gen) == -1)
		goto fail;
	return db_exec("COMMIT", cause);

fail:
	db_fail("recording a generation", cause);
	sqlite3_finalize(stmt);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void
db_generation_read_packages(struct generation *gen)
{
	sqlite3_stmt	*stmt;
	struct package	*pkg;

	if (sqlite3_prepare_v2(db, "SELECT name, version, path FROM packages "
	    "WHERE generation = ? ORDER BY position", -1, &stmt,
	    NULL) != SQLITE_OK) {
		db_fail("reading packages", NULL);
		return;
	}
	sqlite3_bind_int64(stmt, 1, gen->id);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		gen->packages = xreallocarray(gen->packages,
		    gen->npackages + 1, sizeof *gen->packages);
		pkg = &gen->packages[gen->npackages++];
		pkg->name = db_column_text(stmt, 0);
		pkg->version = db_column_text(stmt, 1);
		pkg->path = db_column_text(stmt, 2);
	}
	sqlite3_finalize(stmt);
}

static struct generation *
db_generation_from_row(sqlite3_stmt *stmt)
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
	db_generation_read_packages(gen);
	return gen;
}

#define DB_GENERATION_COLUMNS \
	"SELECT id, parent, store_path, created, reason, content_hash, " \
	"content, build_ms FROM generations "

/* The record of generation id with its packages, or NULL if none. */
struct generation *
db_generation_get(unsigned id)
{
	sqlite3_stmt		*stmt;
	struct generation	*gen = NULL;

	if (sqlite3_prepare_v2(db, DB_GENERATION_COLUMNS "WHERE id = ?", -1,
	    &stmt, NULL) != SQLITE_OK) {
		db_fail("reading a generation", NULL);
		return NULL;
	}
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		gen = db_generation_from_row(stmt);
	sqlite3_finalize(stmt);
	return gen;
}

/* Every generation record, oldest number first; *count says how many. */
struct generation **
db_generation_list(size_t *count)
{
	sqlite3_stmt		 *stmt;
	struct generation	**list = NULL;

	*count = 0;
	if (sqlite3_prepare_v2(db, DB_GENERATION_COLUMNS "ORDER BY id", -1,
	    &stmt, NULL) != SQLITE_OK) {
		db_fail("listing generations", NULL);
		return NULL;
	}
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		list = xreallocarray(list, *count + 1, sizeof *list);
		list[(*count)++] = db_generation_from_row(stmt);
	}
	sqlite3_finalize(stmt);
	return list;
}

/* The ids of the generations whose parent is id, in order; *count of them. */
unsigned *
db_generation_children(unsigned id, size_t *count)
{
	sqlite3_stmt	*stmt;
	unsigned	*children = NULL;

	*count = 0;
	if (sqlite3_prepare_v2(db, "SELECT id FROM generations WHERE "
	    "parent = ? ORDER BY id", -1, &stmt, NULL) != SQLITE_OK) {
		db_fail("listing a generation's children", NULL);
		return NULL;
	}
	sqlite3_bind_int64(stmt, 1, id);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		children = xreallocarray(children, *count + 1,
		    sizeof *children);
		children[(*count)++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	return children;
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
 * Record one build attempt with its log (which build.c bounds), keeping
 * the logs of the newest DB_LOGS_KEPT builds only.
 */
int
db_build_add(const struct build_record *build, char **cause)
{
	sqlite3_stmt	*stmt;
	int		 rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO builds (started, duration_ms, "
	    "trigger, content_hash, ok, error, out_path, generation, "
	    "superseded, log, file, inputs_hash) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)", -1, &stmt, NULL) != SQLITE_OK)
		return db_fail("recording a build", cause);
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
	sqlite3_finalize(stmt);
	if (rc == -1)
		return db_fail("recording a build", cause);
	if (sqlite3_exec(db, "UPDATE builds SET log = NULL WHERE log IS NOT "
	    "NULL AND id <= (SELECT max(id) FROM builds) - "
	    DB_STRINGIFY(DB_LOGS_KEPT), NULL, NULL, NULL) != SQLITE_OK)
		db_fail("dropping old build logs", NULL);
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

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		db_fail("reading a build", NULL);
		return NULL;
	}
	if (generation != 0)
		sqlite3_bind_int64(stmt, 1, generation);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
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
	return db_build_query("SELECT " DB_BUILD_COLUMNS " FROM builds "
	    "WHERE superseded = 0 ORDER BY id DESC LIMIT 1", 0);
}

/* The build that made generation id (its first), or NULL if none did. */
struct build_record *
db_build_of_generation(unsigned id)
{
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
	sqlite3_stmt	*stmt;
	char		*value = NULL;

	if (sqlite3_prepare_v2(db, "SELECT value FROM state WHERE key = ?", -1,
	    &stmt, NULL) != SQLITE_OK) {
		db_fail("reading state", NULL);
		return NULL;
	}
	db_bind_text(stmt, 1, key);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		value = db_column_text(stmt, 0);
	sqlite3_finalize(stmt);
	return value;
}

/* Store value under key, replacing what was there; -1 if it fails. */
int
db_state_set(const char *key, const char *value)
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
