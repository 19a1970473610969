/*
 * The queue's collaborators, faked: Nix builds, nix-env, the profile, the
 * database, the events hub, RPC replies, systemd and the watch.  Every
 * call is logged, so a test asserts on what the queue asked for; builds
 * and generations end only when the test says how.  Criterion runs each
 * test in its own process, so this state starts fresh in every test.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "queue-fakes.h"

struct fakes	 fakes;

static char	**fakes_log;
static size_t	  fakes_nlog;

/* The database's state table, enough of it for the queue. */
#define FAKES_DB_SIZE	8
static struct {
	char	*key;
	char	*value;
} fakes_db[FAKES_DB_SIZE];

/*
 * The first misuse of a fake (a build started while one runs, ...), kept
 * for the test's own assertions to report at the test's line.
 */
static void printflike(1, 2)
fakes_violation(const char *fmt, ...)
{
	va_list	ap;

	if (fakes.violation != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&fakes.violation, fmt, ap);
	va_end(ap);
}

static void printflike(1, 2)
fakes_record(const char *fmt, ...)
{
	va_list	ap;

	fakes_log = xreallocarray(fakes_log, fakes_nlog + 1, sizeof *fakes_log);
	va_start(ap, fmt);
	xvasprintf(&fakes_log[fakes_nlog++], fmt, ap);
	va_end(ap);
}

/* The store path of generation id: as nix-env made it, or made up. */
static const char *
fakes_path_of(unsigned id)
{
	static char	path[64];

	if (id < FAKES_GENERATIONS && fakes.paths[id][0] != '\0')
		return fakes.paths[id];
	snprintf(path, sizeof path, "/nix/store/%u%u%u%u-user-environment",
	    id, id, id, id);
	return path;
}

/* Generation 1 at a store path, nothing building, nothing logged. */
void
fakes_reset(void)
{
	memset(&fakes, 0, sizeof fakes);
	fakes.current = 1;
	fakes.current_path = xstrdup("/nix/store/1111-user-environment");
	fakes_clear_log();
}

void
fakes_clear_log(void)
{
	fakes_nlog = 0;
}

/* How many logged calls start with prefix. */
size_t
fakes_count(const char *prefix)
{
	size_t	i, n = 0;

	for (i = 0; i < fakes_nlog; i++)
		n += strncmp(fakes_log[i], prefix, strlen(prefix)) == 0;
	return n;
}

/* Whether line was logged, exactly. */
int
fakes_logged(const char *line)
{
	size_t	i;

	for (i = 0; i < fakes_nlog; i++) {
		if (strcmp(fakes_log[i], line) == 0)
			return 1;
	}
	return 0;
}

/* head, then each word after sep. */
static char *
fakes_join(const char *head, const char *sep, const char *const *words,
    size_t count)
{
	char	*text = xstrdup(head), *next;
	size_t	 i;

	for (i = 0; i < count; i++) {
		xasprintf(&next, "%s%s%s", text, sep, words[i]);
		free(text);
		text = next;
	}
	return text;
}

/* The log, one call a line, for an assertion's message. */
char *
fakes_dump(void)
{
	return fakes_join("", "\n  ", (const char *const *)fakes_log,
	    fakes_nlog);
}

/* What the queue stored under key, or NULL. */
char *
fakes_state(const char *key)
{
	size_t	i;

	for (i = 0; i < FAKES_DB_SIZE && fakes_db[i].key != NULL; i++) {
		if (strcmp(fakes_db[i].key, key) == 0)
			return fakes_db[i].value;
	}
	return NULL;
}

static struct build_result *
fakes_result(int ok, const char *error, const char *out_path)
{
	struct build_result	*result;

	result = xcalloc(1, sizeof *result);
	result->ok = ok;
	result->error = error != NULL ? xstrdup(error) : NULL;
	result->out_path = out_path != NULL ? xstrdup(out_path) : NULL;
	result->log = xstrdup("");
	result->duration_ms = 42;
	return result;
}

struct build_result *
fakes_result_ok(const char *out_path)
{
	return fakes_result(1, NULL, out_path);
}

struct build_result *
fakes_result_failed(const char *error)
{
	return fakes_result(0, error, NULL);
}

/* What build.c gives after build_stop: cancelled, with the stop's why. */
struct build_result *
fakes_result_cancelled(void)
{
	struct build_result	*result;

	if (fakes.stop_why == NULL)
		fakes_violation("a build is cancelled only by build_stop");
	result = fakes_result(0, fakes.stop_why, NULL);
	result->cancelled = 1;
	return result;
}

struct build_result *
fakes_result_stale(void)
{
	struct build_result	*result;

	result = fakes_result(0, "the package file changed while Nix read it",
	    NULL);
	result->stale = 1;
	return result;
}

void
fakes_result_add_input(struct build_result *result, const char *path)
{
	result->inputs = xreallocarray(result->inputs, result->ninputs + 1,
	    sizeof *result->inputs);
	result->inputs[result->ninputs++] = xstrdup(path);
}

/* End the running build with result, as build.c does: not running first. */
void
fakes_build_finish(struct build_result *result)
{
	if (!fakes.building)
		fakes_violation("a build finished with no build running");
	fakes.building = 0;
	free(fakes.stop_why);
	fakes.stop_why = NULL;
	fakes.build_done(result, fakes.build_arg);
}

/* nix-env made generation id (0: it failed) of the generation given. */
void
fakes_generation_created(unsigned id)
{
	struct generation	*gen = fakes.creating;

	if (gen == NULL) {
		fakes_violation("nix-env finished, but generation_create was "
		    "not called");
		return;
	}
	fakes.creating = NULL;
	if (id != 0) {
		fakes.current = id;
		free(fakes.current_path);
		fakes.current_path = xstrdup(gen->store_path);
		if (id < FAKES_GENERATIONS)
			snprintf(fakes.paths[id], sizeof fakes.paths[id], "%s",
			    gen->store_path);
	}
	fakes.created_cb(id, id != 0 ? NULL : "nix-env failed",
	    fakes.created_arg);
	free(gen);	/* its strings leak, as db_build_free's do */
}

/* build.c */

int
build_start(struct event_base *base, const struct config *cfg,
    const char *hash, build_line_cb line_cb, build_done_cb done_cb,
    void *arg, char **cause)
{
	if (fakes.building)
		fakes_violation("build_start while a build runs");
	fakes_record("build_start");
	fakes.building = 1;
	free(fakes.build_hash);
	fakes.build_hash = xstrdup(hash);
	fakes.build_done = done_cb;
	fakes.build_arg = arg;
	return 0;
}

int
build_running(void)
{
	return fakes.building;
}

void
build_stop(const char *why)
{
	fakes_record("build_stop");
	if (!fakes.building)
		fakes_violation("build_stop with no build running");
	free(fakes.stop_why);
	fakes.stop_why = xstrdup(why);
}

void
build_cancel(void)
{
	fakes_record("build_cancel");
	fakes.building = 0;
}

void
build_result_free(struct build_result *result)
{
	size_t	i;

	if (result == NULL)
		return;
	for (i = 0; i < result->ninputs; i++)
		free(result->inputs[i]);
	free(result->inputs);
	free(result->error);
	free(result->out_path);
	free(result->log);
	free(result);
}

/* profile.c */

int
profile_current(const char *profile, unsigned *id, char **store_path,
    char **cause)
{
	*id = fakes.current;
	*store_path = xstrdup(fakes.current_path);
	return 0;
}

/* adopt.c */

void
adopt_catch_up(void)
{
}

/* Adoption records the links while fakes.recording says so. */
int
adopt_recording(void)
{
	return fakes.recording;
}

/* While the links are recorded, every generation waits for adoption. */
int
adopt_pending(unsigned id)
{
	return fakes.recording;
}

/* generation.c */

void
generation_sync(const struct config *cfg)
{
	fakes_record("generation_sync");
}

unsigned
generation_reusable(const struct config *cfg, const char *store_path)
{
	return fakes.reusable;
}

/* Retention: the queue's tests keep every generation (keep_generations 0). */
unsigned *
generation_retention_plan(const struct config *cfg,
    const struct retention_policy *policy, size_t *count)
{
	fakes_violation("retention planned with keep_generations %d",
	    cfg->keep_generations);
	*count = 0;
	return NULL;
}

int
generation_delete(struct event_base *base, const struct config *cfg,
    const unsigned *ids, size_t count, generation_deleted_cb done_cb,
    void *arg, char **cause)
{
	fakes_violation("generations deleted");
	xasprintf(cause, "no deleting in the queue's tests");
	return -1;
}

int
generation_switch(const struct config *cfg, unsigned id, char **cause)
{
	fakes_record("generation_switch %u", id);
	fakes.current = id;
	free(fakes.current_path);
	fakes.current_path = xstrdup(fakes_path_of(id));
	return 0;
}

unsigned
generation_rollback_target(const struct config *cfg, unsigned current,
    char **cause)
{
	if (fakes.rollback_target == 0)
		xasprintf(cause, "nothing to roll back to");
	return fakes.rollback_target;
}

int
generation_create(struct event_base *base, const struct config *cfg,
    struct generation *gen, generation_created_cb done_cb, void *arg,
    char **cause)
{
	fakes_record("generation_create parent=%u", gen->parent);
	if (fakes.creating != NULL)
		fakes_violation("two generations made at once");
	fakes.creating = gen;
	fakes.created_cb = done_cb;
	fakes.created_arg = arg;
	return 0;
}

/* generation.c: the fake nix-env is never waiting for the database. */
int
generation_cancel(void)
{
	return -1;
}

unsigned
generation_waiting(void)
{
	return 0;
}

/* generation.c: no generation is another tool's here (db_generation_get
 * finds none), so the diff is never asked for. */
void
generation_diff(const struct generation *old, const struct generation *new,
    struct generation_diff *diff)
{
	fakes_violation("generation_diff with no generation recorded");
	memset(diff, 0, sizeof *diff);
}

void
generation_diff_free(struct generation_diff *diff)
{
}

/* profile.c, nix.c: a shell that sees the profile, nixpkgs on NIX_PATH. */
char *
profile_home_warning(const char *profile)
{
	return NULL;
}

int
nix_search_path_has(const char *name)
{
	return 1;
}

/* db.c */

long long
db_waiting_ms(void)
{
	return 0;
}

const char *
db_path(void)
{
	return "profiled.db";
}

/*
 * The current generation's record, made by profiled, once fakes.recorded
 * says so; none else (so no generation is another tool's).
 */
struct generation *
db_generation_get(unsigned id)
{
	struct generation	*gen;

	if (!fakes.recorded || id != fakes.current)
		return NULL;
	gen = xcalloc(1, sizeof *gen);
	gen->id = id;
	gen->store_path = xstrdup(fakes.current_path);
	gen->reason = REASON_SAVE;
	gen->build_ms = -1;
	return gen;
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

int
db_failed(void)
{
	return 0;
}


int
db_build_add(const struct build_record *build, char **cause)
{
	fakes_record("db_build_add %s ok=%d superseded=%d generation=%u",
	    reason_name(build->trigger), build->ok, build->superseded, build->generation);
	return 0;
}

struct build_record *
db_build_last(void)
{
	return NULL;
}

/* The record alone: every read of a freed record goes through it, so a
 * use after free still shows under valgrind; its strings just leak. */
void
db_build_free(struct build_record *build)
{
	free(build);
}

char *
db_state_get(const char *key)
{
	const char	*value = fakes_state(key);

	return value != NULL ? xstrdup(value) : NULL;
}

int
db_state_set(const char *key, const char *value)
{
	size_t	i;

	for (i = 0; i < FAKES_DB_SIZE && fakes_db[i].key != NULL; i++) {
		if (strcmp(fakes_db[i].key, key) == 0)
			break;
	}
	cr_assert_lt(i, FAKES_DB_SIZE, "too many state keys");
	fakes_record("db_state_set %s", key);
	if (fakes_db[i].key == NULL)
		fakes_db[i].key = xstrdup(key);
	free(fakes_db[i].value);
	fakes_db[i].value = xstrdup(value);
	return 0;
}

/* events.c */

void
events_file_changed(const char *path)
{
	fakes_record("events_file_changed %s", path);
}

void
events_file_error(const char *path, const char *error)
{
	fakes_record("events_file_error %s", error);
}

void
events_build_queued(enum reason trigger, const char *file)
{
	fakes_record("events_build_queued %s", reason_name(trigger));
}

void
events_build_started(enum reason trigger, const char *file,
    const char *hash)
{
	fakes_record("events_build_started %s", reason_name(trigger));
}

void
events_held_foreign(unsigned generation, const char *change)
{
	fakes_record("events_held_foreign %u %s", generation, change);
}

void
events_built(const struct generation *built)
{
	fakes_record("events_built %s", built->store_path);
}

void
events_log_line(const char *line)
{
	fakes_record("events_log_line %s", line);
}

void
events_build_succeeded(const char *out_path, uint64_t duration_ms)
{
	fakes_record("events_build_succeeded");
}

void
events_build_failed(const char *error, uint64_t duration_ms)
{
	fakes_record("events_build_failed");
}

void
events_build_cancelled(const char *why, uint64_t duration_ms,
    enum events_cancel cancel)
{
	fakes_record("events_build_cancelled %s", cancel == EVENTS_HELD ?
	    "held" : "superseded");
}

void
events_switched(unsigned previous, unsigned generation, int created,
    enum reason reason)
{
	fakes_record("events_switched %u->%u created=%d %s", previous,
	    generation, created, reason_name(reason));
}

/* What a request's callback was told, as rpc.c would answer it. */
void
fakes_done_cb(const struct queue_switched *sw, const char *error, void *arg)
{
	unsigned long long	client = (uintptr_t)arg;

	if (error != NULL)
		fakes_record("reply error %llu %s", client, error);
	else if (sw != NULL)
		fakes_record("reply switched %llu %u->%u", client, sw->previous,
		    sw->generation);
	else
		fakes_record("reply idle %llu", client);
}

/* watch.c */

int
watch_set(const char *const *files, size_t count, char **cause)
{
	char	*line = fakes_join("watch_set", " ", files, count);

	fakes_record("%s", line);
	free(line);
	return 0;
}
