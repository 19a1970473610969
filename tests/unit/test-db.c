/*
 * The generation store: records survive a reopen, replace by number, keep
 * their packages in order, and the last build is the newest one; intents
 * and their reconciling; a bad file moved aside; no wait on a lock.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "profiled.h"

static char	 db_dir[] = "/tmp/profiled-test-db.XXXXXX";
static char	*db_file;

static void
db_setup(void)
{
	char	*cause = NULL;

	cr_assert_not_null(mkdtemp(db_dir));
	xasprintf(&db_file, "%s/profiled.db", db_dir);
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
}

static void
db_teardown(void)
{
	char	*cmd;

	links_close();
	db_close();
	xasprintf(&cmd, "rm -rf '%s'", db_dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(db_file);
}

TestSuite(db, .init = db_setup, .fini = db_teardown);

static void
put(unsigned id, unsigned parent, const char *store_path, size_t npackages)
{
	struct package		pkgs[3] = {
		{ "hello", "2.12", "/nix/store/a-hello-2.12" },
		{ "ripgrep", "14.1", "/nix/store/b-ripgrep-14.1" },
		{ "cowsay", "3.7", "/nix/store/c-cowsay-3.7" },
	};
	struct generation	gen = {
		.id = id, .parent = parent, .store_path = (char *)store_path,
		.created = 1700000000 + id, .reason = REASON_SAVE,
		.content_hash = "abc", .content = "[ ]", .build_ms = 12,
		.packages = pkgs, .npackages = npackages,
	};
	char			*cause = NULL;

	cr_assert_eq(db_generation_put(&gen, &cause), 0, "%s", cause);
}

Test(db, generation_round_trip)
{
	struct generation	*gen;

	put(1, 0, "/nix/store/x-user-environment", 2);
	gen = db_generation_get(1);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->id, 1);
	cr_assert_eq(gen->parent, 0);
	cr_assert_str_eq(gen->store_path, "/nix/store/x-user-environment");
	cr_assert_eq(gen->created, 1700000001);
	cr_assert_eq(gen->reason, REASON_SAVE);
	cr_assert_str_eq(gen->content, "[ ]");
	cr_assert_eq(gen->build_ms, 12);
	cr_assert_eq(gen->npackages, 2);
	cr_assert_str_eq(gen->packages[0].name, "hello");
	cr_assert_str_eq(gen->packages[1].path, "/nix/store/b-ripgrep-14.1");
	db_generation_free(gen);
	cr_assert_null(db_generation_get(2));
}

Test(db, survives_reopen)
{
	struct generation	*gen;
	char			*cause = NULL;

	put(1, 0, "/nix/store/x-user-environment", 1);
	put(2, 1, "/nix/store/y-user-environment", 3);
	db_close();
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	gen = db_generation_get(2);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->parent, 1);
	cr_assert_eq(gen->npackages, 3);
	db_generation_free(gen);
}

Test(db, put_replaces_same_number)
{
	struct generation	*gen;

	put(3, 1, "/nix/store/old-user-environment", 3);
	put(3, 2, "/nix/store/new-user-environment", 1);
	gen = db_generation_get(3);
	cr_assert_str_eq(gen->store_path, "/nix/store/new-user-environment");
	cr_assert_eq(gen->parent, 2);
	cr_assert_eq(gen->npackages, 1, "the old record's packages are gone");
	db_generation_free(gen);
}

Test(db, list_is_ordered_by_number)
{
	struct generation	**list;
	size_t			  count;

	put(5, 0, "/nix/store/e-user-environment", 0);
	put(2, 0, "/nix/store/b-user-environment", 0);
	put(9, 5, "/nix/store/i-user-environment", 1);
	list = db_generation_list(&count);
	cr_assert_eq(count, 3);
	cr_assert_eq(list[0]->id, 2);
	cr_assert_eq(list[1]->id, 5);
	cr_assert_eq(list[2]->id, 9);
	cr_assert_eq(list[2]->parent, 5);
	db_generation_list_free(list, count);
}

/* Generation id's stored summary, or NULL: what a listing shows. */
static char *
summary_of(unsigned id)
{
	struct generation	*gen;
	char			*summary;

	gen = db_generation_brief(id);
	cr_assert_not_null(gen, "generation %u has a record", id);
	cr_assert_eq(gen->npackages, 0, "a brief record has no packages");
	cr_assert_null(gen->content, "nor its package file");
	summary = gen->summary != NULL ? xstrdup(gen->summary) : NULL;
	db_generation_free(gen);
	return summary;
}

static void
assert_summary(unsigned id, const char *expected)
{
	char	*summary = summary_of(id);

	if (expected == NULL)
		cr_assert_null(summary, "generation %u: %s", id, summary);
	else {
		cr_assert_not_null(summary, "generation %u has a summary", id);
		cr_assert_str_eq(summary, expected, "generation %u", id);
	}
	free(summary);
}

/* Each record keeps what changed from its parent, so a listing reads no
 * packages. */
Test(db, summary_is_kept_with_the_record)
{
	put(1, 0, "/nix/store/a-user-environment", 1);
	put(2, 1, "/nix/store/b-user-environment", 3);
	put(3, 2, "/nix/store/c-user-environment", 1);
	put(4, 3, "/nix/store/d-user-environment", 1);
	put(5, 42, "/nix/store/e-user-environment", 2);
	assert_summary(1, "+hello");
	assert_summary(2, "+ripgrep +cowsay");
	assert_summary(3, "-ripgrep -cowsay");
	assert_summary(4, "");
	/* A parent without a record: as from nothing, as before. */
	assert_summary(5, "+hello +ripgrep");
}

/* A number Nix reuses is a new parent for the old record's children. */
Test(db, summary_follows_a_reused_parent)
{
	put(1, 0, "/nix/store/a-user-environment", 1);
	put(2, 1, "/nix/store/b-user-environment", 3);
	assert_summary(2, "+ripgrep +cowsay");
	put(1, 0, "/nix/store/z-user-environment", 3);
	assert_summary(2, "");
}

/* An import's summary is unknown until its packages and its parent's are
 * read, whichever is read last. */
Test(db, summary_of_imports_waits_for_both_lists)
{
	struct package		 pkgs[2] = {
		{ "hello", "2.12", "/nix/store/a-hello-2.12" },
		{ "jq", "1.7", "/nix/store/j-jq-1.7" },
	};
	struct generation	 imports[3];
	struct db_adoption	 a;
	unsigned		 ids[1];
	size_t			 written, i;
	char			*cause = NULL;

	memset(imports, 0, sizeof imports);
	for (i = 0; i < 3; i++) {
		imports[i].id = i + 1;
		imports[i].parent = i;
		imports[i].reason = REASON_IMPORT;
		imports[i].build_ms = -1;
	}
	imports[0].store_path = "/nix/store/a-user-environment";
	imports[1].store_path = "/nix/store/b-user-environment";
	imports[2].store_path = "/nix/store/c-user-environment";
	cr_assert_eq(db_generation_put_many(imports, 3, &cause), 0, "%s",
	    cause);
	for (i = 1; i <= 3; i++)
		assert_summary(i, NULL);

	ids[0] = 2;
	a = (struct db_adoption){ .ids = ids, .nids = 1, .store_path =
	    "/nix/store/b-user-environment", .packages = pkgs,
	    .npackages = 2 };
	cr_assert_eq(db_generation_adopt(&a, 1, &written, &cause), 0, "%s",
	    cause);
	cr_assert_eq(written, 1);
	assert_summary(2, NULL);
	assert_summary(3, NULL);

	ids[0] = 1;
	a.store_path = "/nix/store/a-user-environment";
	a.npackages = 1;
	cr_assert_eq(db_generation_adopt(&a, 1, &written, &cause), 0, "%s",
	    cause);
	assert_summary(1, "+hello");
	assert_summary(2, "+jq");
	assert_summary(3, NULL);
}

/* The numbers and store paths alone, by number, as sync compares them. */
Test(db, paths_are_ordered_by_number)
{
	struct db_record_path	*paths;
	size_t			 count;

	put(5, 0, "/nix/store/e-user-environment", 2);
	put(2, 0, "/nix/store/b-user-environment", 0);
	paths = db_generation_paths(&count);
	cr_assert(!db_failed());
	cr_assert_eq(count, 2);
	cr_assert_eq(paths[0].id, 2);
	cr_assert_str_eq(paths[0].store_path, "/nix/store/b-user-environment");
	cr_assert_eq(paths[1].id, 5);
	cr_assert_str_eq(paths[1].store_path, "/nix/store/e-user-environment");
	db_generation_paths_free(paths, count);
}

Test(db, last_build_is_the_newest)
{
	struct build_record	 a = { .started = 10, .duration_ms = 5,
	    .trigger = REASON_SAVE, .content_hash = "h1", .ok = 1,
	    .out_path = "/nix/store/o", .generation = 1, .log = "log" };
	struct build_record	 b = { .started = 20, .duration_ms = 7,
	    .trigger = REASON_SWITCH, .content_hash = "h2", .ok = 0,
	    .error = "error: boom" };
	struct build_record	*last;
	char			*cause = NULL;

	cr_assert_null(db_build_last());
	cr_assert_eq(db_build_add(&a, &cause), 0, "%s", cause);
	cr_assert_eq(db_build_add(&b, &cause), 0, "%s", cause);
	last = db_build_last();
	cr_assert_not_null(last);
	cr_assert_eq(last->started, 20);
	cr_assert_eq(last->ok, 0);
	cr_assert_str_eq(last->error, "error: boom");
	cr_assert_eq(last->trigger, REASON_SWITCH);
	cr_assert_str_eq(last->content_hash, "h2");
	cr_assert_null(last->out_path);
	cr_assert_eq(last->generation, 0);
	db_build_free(last);
}

Test(db, refuses_a_newer_schema)
{
	sqlite3	*raw;
	char	*cause = NULL;

	db_close();
	cr_assert_eq(sqlite3_open(db_file, &raw), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(raw);
	cr_assert_eq(db_open(db_file, &cause), -1);
	cr_assert_not_null(strstr(cause, "newer profiled"), "%s", cause);
	free(cause);
	/* Leave a fresh database open for the fini. */
	unlink(db_file);
	cr_assert_eq(db_open(db_file, &cause), 0);
}

Test(db, state_is_kept_and_replaced)
{
	char	*value, *cause = NULL;

	cr_assert_null(db_state_get("settled_hash"));
	cr_assert_eq(db_state_set("settled_hash", "abc"), 0);
	cr_assert_eq(db_state_set("settled_hash", "def"), 0);
	db_close();
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	value = db_state_get("settled_hash");
	cr_assert_str_eq(value, "def");
	free(value);
}

/*
 * Intents: a generation's record is written before nix-env --set makes its
 * link, then marked done; generation_sync settles the ones left over,
 * against a profile of real symlinks (the store paths need not exist).
 */

/* The intent for generation id, parent parent, as generation_create
 * writes it before nix-env --set. */
static void
put_intent(unsigned id, unsigned parent, const char *store_path)
{
	struct package		pkg = { "cowsay", "3.7", "/nix/store/c-cowsay" };
	struct generation	gen = {
		.id = id, .parent = parent, .store_path = (char *)store_path,
		.created = 1700000000, .reason = REASON_SAVE,
		.content_hash = "abc", .content = "[ cowsay ]", .build_ms = 9,
		.packages = &pkg, .npackages = 1, .intent = 1,
	};
	char			*cause = NULL;

	cr_assert_eq(db_generation_put(&gen, &cause), 0, "%s", cause);
}

/* A generation link PROFILE-id-link to store_path, as nix-env makes it. */
static void
make_link(const struct config *cfg, unsigned id, const char *store_path)
{
	char	*link = profile_link_path(cfg->profile, id);

	cr_assert_eq(symlink(store_path, link), 0);
	free(link);
}

static void
profile_config(struct config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	xasprintf(&cfg->profile, "%s/profile", db_dir);
	cfg->state_dir = db_dir;
	cr_assert_eq(links_open(NULL, cfg->profile, NULL), 0);
}

Test(db, intent_is_the_record_until_done)
{
	struct generation	*gen;
	char			*cause = NULL;

	put(1, 0, "/nix/store/a-user-environment", 1);
	put_intent(2, 1, "/nix/store/b-user-environment");
	gen = db_generation_get(2);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->intent, 1);
	cr_assert_eq(gen->parent, 1);
	cr_assert_eq(gen->npackages, 1);
	db_generation_free(gen);
	cr_assert_eq(db_generation_done(2, 2, &cause), 0, "%s", cause);
	gen = db_generation_get(2);
	cr_assert_eq(gen->intent, 0);
	cr_assert_eq(gen->parent, 1);
	cr_assert_str_eq(gen->packages[0].name, "cowsay");
	db_generation_free(gen);
}

/* Nix numbered it higher (another tool made a generation meanwhile): the
 * record moves with its packages, replacing an old record of that number. */
Test(db, done_renumbers_the_intent)
{
	struct generation	*gen;
	char			*cause = NULL;

	put(1, 0, "/nix/store/a-user-environment", 1);
	put(3, 1, "/nix/store/old-user-environment", 3);
	put_intent(2, 1, "/nix/store/b-user-environment");
	put(4, 3, "/nix/store/d-user-environment", 1);
	assert_summary(4, "-ripgrep -cowsay");
	cr_assert_eq(db_generation_done(2, 3, &cause), 0, "%s", cause);
	/* The old 3's child now follows the new one. */
	assert_summary(4, "+hello -cowsay");
	cr_assert_null(db_generation_get(2));
	gen = db_generation_get(3);
	cr_assert_not_null(gen);
	cr_assert_str_eq(gen->store_path, "/nix/store/b-user-environment");
	cr_assert_eq(gen->intent, 0);
	cr_assert_eq(gen->npackages, 1);
	cr_assert_str_eq(gen->packages[0].name, "cowsay");
	db_generation_free(gen);
}

Test(db, drop_removes_intents_only)
{
	struct generation	*gen;
	char			*cause = NULL;

	put(1, 0, "/nix/store/a-user-environment", 2);
	put_intent(2, 1, "/nix/store/b-user-environment");
	cr_assert_eq(db_generation_drop(1, &cause), 0, "%s", cause);
	cr_assert_eq(db_generation_drop(2, &cause), 0, "%s", cause);
	gen = db_generation_get(1);
	cr_assert_not_null(gen, "a finished record was dropped");
	db_generation_free(gen);
	cr_assert_null(db_generation_get(2));
}

/*
 * "1, 2, rollback to 1, save 3, killed after nix-env --set": at restart
 * the intent is generation 3's record with parent 1 and reason save, not
 * an import whose parent is 2.
 */
Test(db, sync_completes_an_intent_whose_link_exists)
{
	struct config		 cfg;
	struct generation	*gen;
	char			*cause = NULL;

	profile_config(&cfg);
	make_link(&cfg, 1, "/nix/store/a-user-environment");
	make_link(&cfg, 2, "/nix/store/b-user-environment");
	put(1, 0, "/nix/store/a-user-environment", 1);
	put(2, 1, "/nix/store/b-user-environment", 2);
	put_intent(3, 1, "/nix/store/c-user-environment");
	make_link(&cfg, 3, "/nix/store/c-user-environment");
	generation_sync(&cfg);
	gen = db_generation_get(3);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->intent, 0);
	cr_assert_eq(gen->parent, 1, "parent %u, not the rollback's 1",
	    gen->parent);
	cr_assert_eq(gen->reason, REASON_SAVE);
	db_generation_free(gen);
	cr_assert_eq(generation_rollback_target(&cfg, 3, &cause), 1, "%s",
	    cause);
	free(cfg.profile);
}

/* Killed before nix-env --set: no link, and the intent goes. */
Test(db, sync_drops_an_intent_without_link)
{
	struct config		 cfg;
	struct generation	*gen;

	profile_config(&cfg);
	make_link(&cfg, 1, "/nix/store/a-user-environment");
	put(1, 0, "/nix/store/a-user-environment", 1);
	put_intent(2, 1, "/nix/store/b-user-environment");
	generation_sync(&cfg);
	cr_assert_null(db_generation_get(2));
	gen = db_generation_get(1);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->intent, 0);
	db_generation_free(gen);
	free(cfg.profile);
}

/* Nix made the generation under a higher number: it is found there; the
 * link at the intent's own number (another tool's) is an import. */
Test(db, sync_finds_an_intent_numbered_higher)
{
	struct config		 cfg;
	struct generation	*gen;

	profile_config(&cfg);
	make_link(&cfg, 1, "/nix/store/a-user-environment");
	put(1, 0, "/nix/store/a-user-environment", 1);
	put_intent(2, 1, "/nix/store/b-user-environment");
	make_link(&cfg, 2, "/nix/store/other-user-environment");
	make_link(&cfg, 3, "/nix/store/b-user-environment");
	generation_sync(&cfg);
	gen = db_generation_get(3);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->reason, REASON_SAVE);
	cr_assert_eq(gen->parent, 1);
	cr_assert_eq(gen->intent, 0);
	db_generation_free(gen);
	gen = db_generation_get(2);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->reason, REASON_IMPORT);
	cr_assert_str_eq(gen->store_path, "/nix/store/other-user-environment");
	db_generation_free(gen);
	free(cfg.profile);
}

/* A database of schema 2 (before intents) is brought up, its rows kept. */
Test(db, migrates_schema_2)
{
	struct generation	*gen;
	sqlite3			*raw;
	char			*cause = NULL;

	db_close();
	unlink(db_file);
	cr_assert_eq(sqlite3_open(db_file, &raw), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(raw,
	    "CREATE TABLE generations (id INTEGER PRIMARY KEY, parent INTEGER,"
	    " store_path TEXT NOT NULL, created INTEGER NOT NULL,"
	    " reason TEXT NOT NULL, content_hash TEXT, content BLOB,"
	    " build_ms INTEGER);"
	    "CREATE TABLE packages (generation INTEGER NOT NULL"
	    " REFERENCES generations(id) ON DELETE CASCADE,"
	    " position INTEGER NOT NULL, name TEXT NOT NULL,"
	    " version TEXT NOT NULL, path TEXT NOT NULL,"
	    " PRIMARY KEY (generation, position));"
	    "CREATE TABLE builds (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " started INTEGER NOT NULL, duration_ms INTEGER NOT NULL,"
	    " trigger TEXT NOT NULL, content_hash TEXT, ok INTEGER NOT NULL,"
	    " error TEXT, out_path TEXT, generation INTEGER,"
	    " superseded INTEGER NOT NULL DEFAULT 0, log TEXT, file TEXT,"
	    " inputs_hash TEXT);"
	    "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	    "INSERT INTO generations VALUES (1, NULL, '/nix/store/a', 1,"
	    " 'save', 'h', '[ ]', 3);"
	    "INSERT INTO generations VALUES (3, 1, '/nix/store/c', 1,"
	    " 'save', 'h', '[ jq ]', 3);"
	    "INSERT INTO packages VALUES (3, 0, 'jq', '1.7', '/nix/store/j');"
	    "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(raw));
	sqlite3_close(raw);
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	cr_assert_null(db_open_note());
	gen = db_generation_get(1);
	cr_assert_not_null(gen);
	cr_assert_eq(gen->intent, 0);
	cr_assert_str_eq(gen->store_path, "/nix/store/a");
	db_generation_free(gen);
	/* Every record's summary is worked out as the schema comes in. */
	assert_summary(1, "");
	assert_summary(3, "+jq");
	put_intent(2, 1, "/nix/store/b");
	gen = db_generation_get(2);
	cr_assert_eq(gen->intent, 1);
	db_generation_free(gen);
}

/* The names in db_dir starting with prefix: how many. */
static int
count_entries(const char *prefix)
{
	struct dirent	*d;
	DIR		*dir;
	int		 n = 0;

	cr_assert_not_null(dir = opendir(db_dir));
	while ((d = readdir(dir)) != NULL)
		n += strncmp(d->d_name, prefix, strlen(prefix)) == 0;
	closedir(dir);
	return n;
}

/* Overwrite len bytes of the database at offset with garbage. */
static void
scribble(off_t offset, size_t len)
{
	char	*garbage = xmalloc(len);
	int	 fd;

	memset(garbage, 0x5a, len);
	cr_assert((fd = open(db_file, O_WRONLY)) != -1);
	cr_assert_eq(pwrite(fd, garbage, len, offset), (ssize_t)len);
	close(fd);
	free(garbage);
}

/*
 * A corrupt database (a page overwritten, or its header) is moved aside,
 * never deleted, and a new one made; the note names both files.
 */
Test(db, corrupt_is_moved_aside)
{
	char		*cause = NULL, *moved;
	const char	*note;
	off_t		 offsets[] = { 4096, 0 };
	size_t		 i;

	for (i = 0; i < 2; i++) {
		put(1, 0, "/nix/store/a-user-environment", 3);
		put(2, 1, "/nix/store/b-user-environment", 3);
		db_close();
		scribble(offsets[i], 4096);
		cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
		cr_assert_not_null(note = db_open_note());
		cr_assert(db_created());
		cr_assert_not_null(strstr(note, db_file), "%s", note);
		cr_assert_not_null(moved = strstr(note, ".corrupt-"), "%s",
		    note);
		cr_assert_eq(count_entries("profiled.db.corrupt-"), (int)i + 1,
		    "%s", note);
		cr_assert_null(db_generation_get(1), "the new one is empty");
		put(1, 0, "/nix/store/a-user-environment", 1);
	}
}

Test(db, empty_file_is_moved_aside)
{
	char	*cause = NULL;

	db_close();
	cr_assert_eq(truncate(db_file, 0), 0);
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	cr_assert_not_null(db_open_note());
	cr_assert_not_null(strstr(db_open_note(), "empty (0 bytes)"), "%s",
	    db_open_note());
	cr_assert_eq(count_entries("profiled.db.corrupt-"), 1);
}

/* A new database is no note; one reopened is not created. */
Test(db, fresh_and_reopened)
{
	char	*cause = NULL;

	cr_assert_null(db_open_note());
	cr_assert(db_created());
	db_close();
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	cr_assert_null(db_open_note());
	cr_assert(!db_created());
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Hold the database from another process, as sql (run on its own
 * connection) or, with shm_locks, every lock of the WAL index; until the
 * returned pid is killed.
 */
static pid_t
hold(const char *sql, int shm_locks)
{
	int	ready[2];
	char	c;
	pid_t	pid;

	cr_assert_eq(pipe(ready), 0);
	if ((pid = fork()) == 0) {
		sqlite3		*other;
		char		*shm;
		struct flock	 fl = { .l_type = F_WRLCK,
		    .l_whence = SEEK_SET, .l_start = 120, .l_len = 8 };
		int		 fd;

		if (shm_locks) {
			xasprintf(&shm, "%s-shm", db_file);
			if ((fd = open(shm, O_RDWR)) == -1 ||
			    fcntl(fd, F_SETLK, &fl) == -1)
				_exit(1);
		} else if (sqlite3_open(db_file, &other) != SQLITE_OK ||
		    sqlite3_exec(other, sql, NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		(void)write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "the holder failed");
	close(ready[0]);
	return pid;
}

static void
release(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Another process holds a write transaction: in the loop, nothing waits;
 * a build and state wait in memory (and are read back), an intent is
 * refused as busy, and what waits is written once the lock is gone.
 */
Test(db, writes_wait_for_a_lock_without_blocking)
{
	struct event_base	*base = event_base_new();
	struct build_record	 b = { .started = 5, .trigger = REASON_SAVE,
	    .content_hash = "h", .ok = 1, .out_path = "/nix/store/o",
	    .generation = 1 };
	struct build_record	*last;
	struct generation	 gen = { .id = 2, .store_path = "/nix/store/b",
	    .reason = REASON_SAVE, .build_ms = -1, .intent = 1 };
	char			*cause = NULL, *value;
	long long		 start, took;
	pid_t			 holder;

	db_loop(base);
	holder = hold("BEGIN IMMEDIATE; INSERT INTO state VALUES ('x', 'y')",
	    0);
	start = now_ms();
	cr_assert_eq(db_build_add(&b, &cause), 0, "%s", cause);
	cr_assert_eq(db_state_set("settled_hash", "abc"), 0);
	cr_assert_eq(db_generation_put(&gen, &cause), -1);
	cr_assert(db_busy(), "not told as busy: %s", cause);
	free(cause);
	took = now_ms() - start;
	cr_assert_lt(took, 50, "writes waited %lld ms for the lock", took);
	cr_assert_gt(db_waiting_ms(), 0);
	last = db_build_last();
	cr_assert_not_null(last);
	cr_assert_str_eq(last->out_path, "/nix/store/o");
	db_build_free(last);
	value = db_state_get("settled_hash");
	cr_assert_str_eq(value, "abc");
	free(value);

	release(holder);
	start = now_ms();
	while (db_waiting_ms() > 0 && now_ms() - start < 5000)
		event_base_loop(base, EVLOOP_ONCE);
	cr_assert_eq(db_waiting_ms(), 0, "the writes still wait");
	cr_assert_eq(db_generation_put(&gen, &cause), 0, "%s", cause);
	db_close();
	cr_assert_eq(db_open(db_file, &cause), 0, "%s", cause);
	value = db_state_get("settled_hash");
	cr_assert_str_eq(value, "abc", "the waiting write was lost");
	free(value);
	last = db_build_last();
	cr_assert_not_null(last);
	db_build_free(last);
	event_base_free(base);
}

/*
 * Another process holds every lock of the WAL index: SQLite's readers
 * would retry for ten seconds; in the loop a read fails at once instead.
 */
Test(db, reads_never_sleep_in_the_loop)
{
	struct event_base	*base = event_base_new();
	struct generation	*gen;
	long long		 start, took;
	pid_t			 holder;

	put(1, 0, "/nix/store/a-user-environment", 1);
	db_loop(base);
	holder = hold(NULL, 1);
	start = now_ms();
	gen = db_generation_get(1);
	took = now_ms() - start;
	cr_assert_null(gen);
	cr_assert(db_failed() && db_busy(), "the read did not fail as busy");
	cr_assert_lt(took, 50, "a read waited %lld ms", took);
	release(holder);
	gen = db_generation_get(1);
	cr_assert_not_null(gen);
	db_generation_free(gen);
	event_base_free(base);
}
