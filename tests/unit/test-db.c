/*
 * The generation store: records survive a reopen, replace by number, keep
 * their packages in order, and the last build is the newest one.
 */
#include <stdlib.h>
#include <unistd.h>

#include <criterion/criterion.h>
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
