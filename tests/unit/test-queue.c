/*
 * The build queue's state machine, with real package files and a real
 * debounce timer (debounce_ms 0, the loop run until it fired) but fake
 * builds, nix-env, database and replies (queue-fakes.c): each test says
 * how every build ends and asserts on what the queue asked for.
 */
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "queue-fakes.h"

static char			 queue_dir[] = "/tmp/profiled-test-queue.XXXXXX";
static struct config		 cfg;
static struct event_base	*base;

static void
queue_test_setup(void)
{
	cr_assert_not_null(mkdtemp(queue_dir));
	memset(&cfg, 0, sizeof cfg);
	xasprintf(&cfg.package_file, "%s/packages.nix", queue_dir);
	xasprintf(&cfg.profile, "%s/profile", queue_dir);
	cfg.debounce_ms = 0;
	cfg.auto_switch = 1;
	cr_assert_not_null(base = event_base_new());
	fakes_reset();
	/* The queue's log lines are noise here; QUEUE_TESTS_LOG shows them. */
	if (getenv("QUEUE_TESTS_LOG") == NULL)
		cr_assert_not_null(freopen("/dev/null", "w", stderr));
}

static void
queue_test_teardown(void)
{
	char	*cmd;

	cr_assert_null(fakes.violation, "%s", fakes.violation);
	queue_shutdown();
	event_base_free(base);
	xasprintf(&cmd, "rm -rf '%s'", queue_dir);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	free(cfg.package_file);
	free(cfg.profile);
}

TestSuite(queue, .init = queue_test_setup, .fini = queue_test_teardown,
    .timeout = 5);

/* A file next to the package file. */
static char *
test_path(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/%s", queue_dir, name);
	return path;
}

/* Replace path's content at once, as editors save. */
static void
write_file(const char *path, const char *text)
{
	char	*tmp;
	FILE	*f;

	xasprintf(&tmp, "%s.tmp", path);
	cr_assert_not_null(f = fopen(tmp, "w"));
	cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, 1);
	cr_assert_eq(rename(tmp, path), 0);
	free(tmp);
}

/* A request's callback argument, standing for client number n. */
#define CLIENT(n)	((void *)(uintptr_t)(n))

/* The queue's status now. */
static struct queue_status
status(void)
{
	struct queue_status	 st;
	char			*cause = NULL;

	if (queue_status(&st, &cause) == -1)
		cr_assert_fail("queue_status: %s", cause);
	return st;
}

static const char *
state_name(void)
{
	return queue_state_name(queue_state());
}

static const char *
hash_of(const char *text)
{
	static char	hash[SHA256_HEX_SIZE];

	sha256_hex(text, strlen(text), hash);
	return hash;
}

/* Run the loop until the debounce timer has fired (it always updates the
 * watch first), with a deadline rather than a sleep. */
static void
fire_debounce(void)
{
	size_t		before = fakes_count("watch_set");
	struct timeval	now, deadline;

	gettimeofday(&deadline, NULL);
	deadline.tv_sec += 2;
	while (fakes_count("watch_set") == before) {
		gettimeofday(&now, NULL);
		cr_assert(timercmp(&now, &deadline, <),
		    "the debounce timer never fired");
		cr_assert_neq(event_base_loop(base,
		    EVLOOP_ONCE|EVLOOP_NONBLOCK), -1);
	}
}

/* The watch reports path changed; the debounce runs out. */
static void
changed(const char *path)
{
	queue_file_changed(path);
	fire_debounce();
}

/* The user saves the package file with text. */
static void
save(const char *text)
{
	write_file(cfg.package_file, text);
	changed(cfg.package_file);
}

/* The daemon starts with the package file holding text (NULL: none). */
static void
start(const char *text)
{
	if (text != NULL)
		write_file(cfg.package_file, text);
	queue_init(base, &cfg, NULL);
}

/* The daemon restarts with text already built and settled, generation 1
 * current: nothing to build. */
static void
start_settled(const char *text)
{
	db_state_set("settled_hash", hash_of(text));
	db_state_set("held", "0");
	start(text);
	cr_assert_eq(fakes_count("build_start"), 0);
	cr_assert_str_eq(state_name(), "idle");
}

/*
 * The assertions are macros, so that a failure names the test's own line;
 * each first reports a fake the queue misused, with the calls so far.
 */
#define assert_no_violation() do {					\
	char	*log_ = fakes_dump();					\
									\
	cr_assert_null(fakes.violation, "%s; calls:%s", fakes.violation, \
	    log_);							\
	free(log_);							\
} while (0)

/* The queue made the call logged as line. */
#define assert_logged(line) do {					\
	char	*log_ = fakes_dump();					\
									\
	assert_no_violation();						\
	cr_assert(fakes_logged(line), "'%s' not called; calls:%s", line, \
	    log_);							\
	free(log_);							\
} while (0)

/* The queue made count calls logged as starting with prefix. */
#define assert_count(prefix, count) do {				\
	char	*log_ = fakes_dump();					\
									\
	assert_no_violation();						\
	cr_assert_eq(fakes_count(prefix), (size_t)(count), "%zu calls of " \
	    "'%s', not %zu; calls:%s", fakes_count(prefix), prefix,	\
	    (size_t)(count), log_);					\
	free(log_);							\
} while (0)

/* Generation id (0: none) was chosen by hand and is held, also in the
 * database. */
#define assert_held(id) do {						\
	char	number_[16];						\
									\
	assert_no_violation();						\
	snprintf(number_, sizeof number_, "%u", (unsigned)(id));	\
	cr_assert_str_eq(fakes_state("held"), number_);		\
	cr_assert_eq(status().held, (id) != 0);			\
	if ((id) != 0)							\
		cr_assert_eq(status().current, (unsigned)(id));	\
} while (0)

/* The running build builds text. */
#define assert_building(text) do {					\
	assert_no_violation();						\
	cr_assert_str_eq(state_name(), "building");			\
	cr_assert(fakes.building);					\
	cr_assert_str_eq(fakes.build_hash, hash_of(text));		\
} while (0)

/* The running build succeeds with a new store path, and nix-env makes
 * generation id of it. */
#define build_and_create(out_path, id) do {				\
	fakes_build_finish(fakes_result_ok(out_path));			\
	assert_no_violation();						\
	cr_assert_str_eq(state_name(), "switching");			\
	cr_assert_str_eq(fakes.creating->store_path, out_path);	\
	fakes_generation_created(id);					\
	assert_no_violation();						\
} while (0)

Test(queue, new_content_builds_and_switches)
{
	const char	*text = "with pkgs; [ hello ]\n";
	const struct build_record *last;

	start(text);
	assert_count("build_start", 1);
	assert_logged("events_build_started save");
	assert_building(text);
	cr_assert_null(status().last_build);

	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_logged("events_build_succeeded");
	assert_logged("generation_create parent=1");
	cr_assert_str_eq(state_name(), "switching");
	cr_assert_str_eq(fakes.creating->content, text);
	cr_assert_eq(fakes.creating->reason, REASON_SAVE);

	fakes_generation_created(2);
	assert_logged("events_switched 1->2 created=1 save");
	assert_logged("db_build_add save ok=1 superseded=0 generation=2");
	cr_assert_str_eq(state_name(), "idle");
	cr_assert_not_null(last = status().last_build);
	cr_assert(last->ok);
	cr_assert_eq(last->generation, 2);
	cr_assert_str_eq(last->content_hash, hash_of(text));
	cr_assert_str_eq(last->file, cfg.package_file);
	cr_assert_str_eq(inputs_hash(), hash_of(text));
	cr_assert_str_eq(fakes_state("settled_hash"), hash_of(text));

	/* Saved again unchanged: settled, nothing to build. */
	save(text);
	assert_count("build_start", 1);
	cr_assert_str_eq(state_name(), "idle");
}

/*
 * A build that ends while adoption still records the profile's links (in
 * steps, at start) makes its generation once they are all recorded, not
 * by recording them all in that callback; one of the current store path
 * makes nothing, so it waits for nothing.
 */
Test(queue, a_generation_waits_for_adoption_to_record_the_links)
{
	const char	*text = "with pkgs; [ hello ]\n";
	size_t		 syncs;

	start(text);
	fakes.recorded = fakes.recording = 1;
	syncs = fakes_count("generation_sync");
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	cr_assert_str_eq(state_name(), "switching");
	assert_count("generation_create", 0);
	cr_assert_eq(fakes_count("generation_sync"), syncs,
	    "no sync while adoption records the links");
	queue_adopted();
	assert_count("generation_create", 0);

	fakes.recording = 0;
	queue_adopted();
	assert_logged("generation_create parent=1");
	fakes_generation_created(2);
	assert_logged("events_switched 1->2 created=1 save");
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, the_current_store_path_waits_for_no_adoption)
{
	start("with pkgs; [ hello ]\n");
	fakes.recorded = fakes.recording = 1;
	fakes_build_finish(fakes_result_ok(fakes.current_path));
	cr_assert_str_eq(state_name(), "idle");
	assert_count("generation_create", 0);
}

/* Stopped meanwhile: nothing is made, and a switch that waited is told. */
Test(queue, stop_while_waiting_for_adoption_makes_nothing)
{
	start("with pkgs; [ hello ]\n");
	fakes.recorded = fakes.recording = 1;
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	queue_switch_to(0, 1, fakes_done_cb, CLIENT(7));
	cr_assert_eq(queue_stop(), 0, "the loop may end at once");
	assert_logged("reply error 7 profiled is stopping");
	assert_count("generation_create", 0);
}

Test(queue, build_of_the_current_store_path_makes_no_generation)
{
	start("[ hello ]\n");
	fakes_build_finish(fakes_result_ok(fakes.current_path));
	assert_count("generation_create", 0);
	assert_count("events_switched", 0);
	assert_logged("db_build_add save ok=1 superseded=0 generation=1");
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, saves_while_building_stop_it_and_build_the_newest)
{
	const char	*a = "[ a ]\n", *b = "[ b ]\n", *c = "[ c ]\n";

	start(a);
	save(b);
	assert_count("build_stop", 1);
	assert_logged("events_build_queued save");
	assert_building(a);
	cr_assert(status().pending);

	/*
	 * Nix stopped: recorded superseded, and once the saves have settled
	 * the newest content builds.
	 */
	fakes_build_finish(fakes_result_cancelled());
	assert_logged("events_build_cancelled superseded");
	assert_logged("db_build_add save ok=0 superseded=1 generation=0");
	cr_assert_null(status().last_build, "a superseded build is not the last");
	assert_count("build_start", 1);
	cr_assert_str_eq(state_name(), "waiting");
	fire_debounce();
	assert_count("build_start", 2);
	assert_building(b);
	cr_assert(!status().pending);

	/* A third save stops the second build too. */
	save(c);
	assert_count("build_stop", 2);
	assert_building(b);
	cr_assert(status().pending);
	fakes_build_finish(fakes_result_cancelled());
	fire_debounce();
	assert_count("build_start", 3);
	assert_building(c);

	build_and_create("/nix/store/3333-user-environment", 2);
	assert_count("generation_create", 1);
	cr_assert_str_eq(status().last_build->content_hash, hash_of(c));
	cr_assert_str_eq(state_name(), "idle");
	cr_assert(!status().pending);
}

Test(queue, saves_while_a_stop_is_pending_build_only_the_newest)
{
	const char	*a = "[ a ]\n", *c = "[ c ]\n";

	start(a);
	save("[ b ]\n");
	save(c);
	fakes_build_finish(fakes_result_cancelled());
	fire_debounce();
	assert_count("build_start", 2);
	assert_building(c);
	assert_count("events_build_queued", 1);
}

Test(queue, stale_result_is_superseded_and_rebuilt)
{
	const char	*b = "[ b ]\n";

	start("[ a ]\n");
	/* The file changed under Nix before the watch said so. */
	write_file(cfg.package_file, b);
	fakes_build_finish(fakes_result_stale());
	assert_logged("db_build_add save ok=0 superseded=1 generation=0");
	assert_count("generation_create", 0);
	fire_debounce();
	assert_count("build_start", 2);
	assert_building(b);
}

Test(queue, save_back_to_the_content_being_built_clears_pending)
{
	const char	*a = "[ a ]\n";

	start(a);
	save("[ b ]\n");
	cr_assert(status().pending);
	save(a);
	cr_assert(!status().pending);
	assert_count("build_stop", 1);
	assert_building(a);

	/* Nix finished before it saw the stop: a is activated as is. */
	build_and_create("/nix/store/2222-user-environment", 2);
	assert_count("build_start", 1);
	cr_assert(status().last_build->ok);
	cr_assert_str_eq(state_name(), "idle");
}

/*
 * A save back to the content being built clears pending, but build_stop
 * cannot be taken back: the build ends cancelled.  That is no failure of
 * a, which is built again (it once was recorded failed and settled).
 */
Test(queue, stopped_build_of_content_saved_back_is_built_again)
{
	const char	*a = "[ a ]\n";

	start(a);
	save("[ b ]\n");
	save(a);
	fakes_build_finish(fakes_result_cancelled());
	fire_debounce();
	assert_count("build_start", 2);
	assert_building(a);
}

/*
 * A burst of saves faster than the debounce: the first save's build, once
 * stopped, is followed by one build of the newest content when the saves
 * have settled, not one per save.
 */
Test(queue, a_burst_of_saves_costs_two_builds)
{
	char	text[32];
	int	i;

	start("[ s0 ]\n");
	for (i = 1; i <= 20; i++) {
		snprintf(text, sizeof text, "[ s%d ]\n", i);
		write_file(cfg.package_file, text);
		queue_file_changed(cfg.package_file);
		if (i == 1) {
			/* The first save after the build stops it. */
			fire_debounce();
			fakes_build_finish(fakes_result_cancelled());
		}
		/* The rest come faster than the saves settle. */
		cr_assert_neq(event_base_loop(base,
		    EVLOOP_ONCE|EVLOOP_NONBLOCK), -1);
		assert_count("build_start", 1);
	}
	cr_assert_str_eq(state_name(), "waiting");
	fire_debounce();
	assert_count("build_start", 2);
	cr_assert_eq(queue_builds_started(), 2);
	assert_building("[ s20 ]\n");
	build_and_create("/nix/store/2222-user-environment", 2);
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, failed_build_is_recorded_and_not_retried_until_a_change)
{
	const char	*a = "[ nonexistent ]\n", *b = "[ hello ]\n";
	const struct build_record *last;

	start(a);
	fakes_build_finish(fakes_result_failed("error: undefined variable"));
	assert_logged("events_build_failed");
	assert_logged("db_build_add save ok=0 superseded=0 generation=0");
	assert_count("generation_create", 0);
	assert_count("events_switched", 0);
	cr_assert_str_eq(state_name(), "idle");
	cr_assert_not_null(last = status().last_build);
	cr_assert(!last->ok);
	cr_assert_str_eq(last->error, "error: undefined variable");
	cr_assert_str_eq(last->content_hash, hash_of(a));

	save(a);
	assert_count("build_start", 1);
	cr_assert_str_eq(state_name(), "idle");

	save(b);
	assert_count("build_start", 2);
	assert_building(b);
}

Test(queue, missing_file_builds_nothing_until_it_appears)
{
	const char	*text = "[ hello ]\n";

	start(NULL);
	assert_count("build_start", 0);
	cr_assert_str_eq(state_name(), "idle");
	cr_assert(!status().file_exists);
	cr_assert_not_null(status().file_error);
	cr_assert_not_null(strstr(status().file_error, "does not exist"), "%s",
	    status().file_error);
	cr_assert_str_eq(inputs_hash(), "");

	save(text);
	assert_building(text);
	cr_assert_null(status().file_error);
}

Test(queue, blank_file_builds_nothing_until_it_has_content)
{
	const char	*text = "[ hello ]\n";
	char		*line;

	start_settled(text);
	save(" \t\n\n");
	assert_count("build_start", 0);
	cr_assert_str_eq(state_name(), "idle");
	cr_assert(status().file_exists);
	cr_assert_not_null(strstr(status().file_error, "is empty"), "%s",
	    status().file_error);
	xasprintf(&line, "events_file_error %s is empty", cfg.package_file);
	assert_logged(line);
	free(line);

	/* Back as it was: settled still, nothing to build. */
	save(text);
	assert_count("build_start", 0);
	cr_assert_null(status().file_error);
	save("[ hello jq ]\n");
	assert_building("[ hello jq ]\n");
}

Test(queue, file_removed_then_back_builds_the_new_content)
{
	const char	*text = "[ hello jq ]\n";

	start_settled("[ hello ]\n");
	cr_assert_eq(unlink(cfg.package_file), 0);
	changed(cfg.package_file);
	assert_count("build_start", 0);
	cr_assert(!status().file_exists);
	cr_assert_not_null(strstr(status().file_error, "does not exist"));
	save(text);
	assert_building(text);
}

Test(queue, rollback_while_building_holds_and_is_not_undone)
{
	const char	*text = "[ hello ]\n";

	fakes.current = 3;
	fakes.rollback_target = 2;
	start_settled(text);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	assert_building(text);
	queue_switch_build(fakes_done_cb, CLIENT(8));
	cr_assert(status().pending);
	assert_logged("events_build_queued switch");

	queue_switch_to(1, 0, fakes_done_cb, CLIENT(9));
	assert_logged("generation_switch 2");
	assert_logged("events_switched 3->2 created=0 rollback");
	assert_logged("reply switched 9 3->2");
	assert_logged("reply error 8 cancelled: generation 2 was chosen");
	cr_assert(!status().pending);
	assert_held(2);
	cr_assert_str_eq(fakes_state("held"), "2");

	fakes_build_finish(fakes_result_ok("/nix/store/4444-user-environment"));
	assert_logged("reply error 7 not activated: generation 2 was "
	    "chosen while the build ran");
	assert_count("generation_create", 0);
	assert_count("generation_switch", 1);
	assert_count("build_start", 1);
	cr_assert_eq(fakes.current, 2);
	assert_held(2);
	cr_assert_str_eq(state_name(), "idle");

	/* Held until the file really changes. */
	save(text);
	assert_count("build_start", 1);
}

/*
 * A rollback clears pending; the build a save stopped is then dropped,
 * not told as a failure (once it was "build_failed" to every subscriber,
 * a desktop notification among them, though nothing failed).
 */
Test(queue, build_stopped_before_a_rollback_is_not_a_failure)
{
	fakes.current = 3;
	fakes.rollback_target = 2;
	start_settled("[ hello ]\n");
	save("[ hello jq ]\n");
	assert_count("build_start", 1);
	save("[ hello jq tree ]\n");
	assert_count("build_stop", 1);
	queue_switch_to(1, 0, fakes_done_cb, CLIENT(9));
	cr_assert(!status().pending);
	assert_held(2);

	fakes_build_finish(fakes_result_cancelled());
	assert_count("build_start", 1);
	assert_count("events_build_failed", 0);
	/* Followers (log -f) learn that no build follows. */
	assert_logged("events_build_cancelled held");
	assert_logged("db_build_add save ok=0 superseded=1 generation=0");
	assert_held(2);
	cr_assert_str_eq(state_name(), "idle");
}

/*
 * The newest choice wins: a switch asked for after a rollback made during
 * a build of the same content activates that build.
 */
Test(queue, switch_after_a_rollback_during_a_build_activates_it)
{
	fakes.current = 3;
	fakes.rollback_target = 2;
	start_settled("[ hello ]\n");
	save("[ hello jq ]\n");
	queue_switch_to(1, 0, fakes_done_cb, CLIENT(9));
	assert_held(2);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	build_and_create("/nix/store/4444-user-environment", 4);
	assert_count("build_start", 1);
	assert_logged("reply switched 7 2->4");
	assert_count("reply error", 0);
	assert_held(0);
}

/* While stopping, a switch or a wait is answered at once, not kept. */
Test(queue, requests_while_stopping_are_refused)
{
	start("[ hello ]\n");
	cr_assert_eq(queue_stop(), 0);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	queue_wait(fakes_done_cb, CLIENT(8));
	assert_logged("reply error 7 profiled is stopping");
	assert_logged("reply error 8 profiled is stopping");
}

/*
 * A switch asked for while a save's build of the same content runs takes
 * that build's result: one build, and the switch is answered with it.
 */
Test(queue, switch_while_a_save_builds_takes_its_result)
{
	const char	*text = "[ hello ]\n";

	start(text);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	cr_assert(status().pending);
	build_and_create("/nix/store/2222-user-environment", 2);
	assert_count("build_start", 1);
	assert_logged("reply switched 7 1->2");
	assert_count("reply", 1);
	cr_assert(!status().pending);
	cr_assert_str_eq(state_name(), "idle");
}

/* A switch of other content than the running build's gets a build. */
Test(queue, switch_after_a_save_during_a_build_builds_again)
{
	start("[ hello ]\n");
	queue_switch_build(fakes_done_cb, CLIENT(7));
	/* Saved, not yet reported by the watch. */
	write_file(cfg.package_file, "[ hello cowsay ]\n");
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_count("reply", 0);
	assert_count("build_start", 2);
	assert_building("[ hello cowsay ]\n");
	build_and_create("/nix/store/3333-user-environment", 2);
	assert_logged("reply switched 7 1->2");
}

Test(queue, failed_build_after_a_rollback_keeps_the_hold)
{
	fakes.current = 3;
	fakes.rollback_target = 2;
	start("[ hello ]\n");
	queue_switch_to(1, 0, fakes_done_cb, CLIENT(9));
	fakes_build_finish(fakes_result_failed("error: no hello"));
	assert_logged("db_build_add save ok=0 superseded=0 generation=0");
	assert_held(2);
	cr_assert_str_eq(fakes_state("held"), "2");
	save("[ hello ]\n");
	assert_count("build_start", 1);
}

Test(queue, rollback_with_nothing_to_roll_back_to_is_an_error)
{
	start_settled("[ hello ]\n");
	queue_switch_to(1, 0, fakes_done_cb, CLIENT(9));
	assert_logged("reply error 9 nothing to roll back to");
	assert_held(0);
	assert_count("generation_switch", 0);
}

Test(queue, switch_to_while_nix_env_switches_waits_for_it)
{
	start("[ hello ]\n");
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	cr_assert_str_eq(state_name(), "switching");
	queue_switch_to(0, 1, fakes_done_cb, CLIENT(9));
	assert_count("generation_switch", 0);

	fakes_generation_created(2);
	assert_logged("events_switched 1->2 created=1 save");
	assert_logged("generation_switch 1");
	assert_logged("reply switched 9 2->1");
	assert_held(1);
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, switch_builds_even_when_in_sync_and_answers)
{
	const char	*text = "[ hello ]\n";

	start_settled(text);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	assert_logged("events_build_started switch");
	assert_building(text);

	/* Built the generation already current: nothing made, 7 answered. */
	fakes_build_finish(fakes_result_ok(fakes.current_path));
	assert_count("generation_create", 0);
	assert_logged("reply switched 7 1->1");
	assert_logged("db_build_add switch ok=1 superseded=0 generation=1");
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, switch_makes_a_generation_and_answers_every_waiter)
{
	const char	*text = "[ hello ]\n";

	start_settled(text);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_logged("generation_create parent=1");
	cr_assert_eq(fakes.creating->reason, REASON_SWITCH);
	/* A second switch while nix-env runs waits for a build of its own. */
	queue_switch_build(fakes_done_cb, CLIENT(8));
	fakes_generation_created(2);
	assert_logged("reply switched 7 1->2");
	assert_logged("events_switched 1->2 created=1 switch");
	assert_building(text);
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_logged("reply switched 8 2->2");
	assert_count("generation_create", 1);
}

Test(queue, switch_while_a_save_is_debounced_builds_now)
{
	const char	*text = "[ hello jq ]\n";

	cfg.debounce_ms = 60000;
	start_settled("[ hello ]\n");
	write_file(cfg.package_file, text);
	queue_file_changed(cfg.package_file);
	cr_assert_str_eq(state_name(), "waiting");
	queue_switch_build(fakes_done_cb, CLIENT(7));
	assert_building(text);
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	fakes_generation_created(2);
	assert_logged("reply switched 7 1->2");
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, switch_with_a_missing_file_is_an_error)
{
	char	*line;

	start(NULL);
	queue_switch_build(fakes_done_cb, CLIENT(7));
	assert_count("build_start", 0);
	xasprintf(&line, "reply error 7 %s does not exist",
	    cfg.package_file);
	assert_logged(line);
	free(line);
	cr_assert_str_eq(state_name(), "idle");
}

Test(queue, wait_while_idle_answers_at_once)
{
	start_settled("[ hello ]\n");
	queue_wait(fakes_done_cb, CLIENT(5));
	assert_logged("reply idle 5");
}

Test(queue, wait_while_building_answers_when_idle)
{
	start("[ hello ]\n");
	queue_wait(fakes_done_cb, CLIENT(5));
	assert_count("reply idle", 0);
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_count("reply idle", 0);
	fakes_generation_created(2);
	assert_logged("reply idle 5");
	assert_count("reply idle", 1);
}

Test(queue, wait_sees_a_save_the_watch_has_not_reported)
{
	const char	*text = "[ hello jq ]\n";

	start_settled("[ hello ]\n");
	write_file(cfg.package_file, text);
	queue_wait(fakes_done_cb, CLIENT(5));
	assert_count("reply idle", 0);
	fire_debounce();
	assert_building(text);
	fakes_build_finish(fakes_result_failed("error: no jq"));
	assert_logged("reply idle 5");
}

/* A successful build of the package file importing a and b. */
static struct build_result *
result_importing(const char *out_path, const char *a, const char *b)
{
	struct build_result	*result;

	result = fakes_result_ok(out_path);
	fakes_result_add_input(result, a);
	fakes_result_add_input(result, b);
	return result;
}

/* A package file importing a.nix and b.nix, built once into generation 2:
 * their paths in *a and *b. */
static void
start_with_inputs(char **a, char **b)
{
	char	*line;

	*a = test_path("a.nix");
	*b = test_path("b.nix");
	write_file(*a, "[ pkgs.hello ]\n");
	write_file(*b, "[ pkgs.jq ]\n");
	start("import ./a.nix ++ import ./b.nix\n");
	fakes_build_finish(result_importing("/nix/store/2222-user-environment",
	    *a, *b));
	fakes_generation_created(2);
	cr_assert_str_eq(state_name(), "idle");

	xasprintf(&line, "watch_set %s %s %s", cfg.package_file, *a, *b);
	assert_logged(line);
	free(line);
	cr_assert_eq(status().nimports, 2);
	cr_assert_str_eq(status().imports[0], *a);
	cr_assert_str_eq(status().imports[1], *b);
}

Test(queue, inputs_are_watched_and_an_edit_of_one_builds)
{
	char	*a, *b, *hash_before, *line;

	start_with_inputs(&a, &b);
	xasprintf(&line, "%s\n%s\n", a, b);
	cr_assert_str_eq(fakes_state("inputs"), line);
	free(line);
	hash_before = xstrdup(inputs_hash());
	cr_assert_str_neq(hash_before, hash_of("import ./a.nix ++ "
	    "import ./b.nix\n"));

	/* The package file is unchanged; what it imports is not. */
	write_file(a, "[ pkgs.hello pkgs.tree ]\n");
	changed(a);
	xasprintf(&line, "events_file_changed %s", a);
	assert_logged(line);
	free(line);
	assert_count("build_start", 2);
	cr_assert_str_neq(inputs_hash(), hash_before);
	fakes_build_finish(result_importing("/nix/store/3333-user-environment",
	    a, b));
	fakes_generation_created(3);
	cr_assert_str_eq(status().last_build->file, a);
	cr_assert_str_eq(status().last_build->inputs_hash, inputs_hash());
	/* The same imports again: not written again (a sync per save). */
	assert_count("db_state_set inputs", 1);
	free(hash_before);
	free(a);
	free(b);
}

Test(queue, input_edited_and_reverted_builds_nothing)
{
	char	*a, *b, *hash_before;

	start_with_inputs(&a, &b);
	hash_before = xstrdup(inputs_hash());
	write_file(b, "[ pkgs.ripgrep ]\n");
	write_file(b, "[ pkgs.jq ]\n");
	changed(b);
	assert_count("build_start", 1);
	cr_assert_str_eq(inputs_hash(), hash_before);
	cr_assert_str_eq(state_name(), "idle");
	free(hash_before);
	free(a);
	free(b);
}

Test(queue, input_removed_is_a_change)
{
	char	*a, *b;

	start_with_inputs(&a, &b);
	cr_assert_eq(unlink(b), 0);
	changed(b);
	assert_count("build_start", 2);
	free(a);
	free(b);
}

Test(queue, input_edited_while_its_build_runs_is_built_after)
{
	char	*a, *b;

	start_with_inputs(&a, &b);
	write_file(a, "[ pkgs.tree ]\n");
	changed(a);
	assert_count("build_start", 2);

	/* Edited back while Nix reads it, the watch not yet heard. */
	write_file(a, "[ pkgs.hello ]\n");
	fakes_build_finish(result_importing("/nix/store/3333-user-environment",
	    a, b));
	fakes_generation_created(3);
	cr_assert_str_eq(state_name(), "idle");
	changed(a);
	assert_count("build_start", 3);
	free(a);
	free(b);
}

Test(queue, without_auto_switch_a_save_is_built_not_activated)
{
	const char	*text = "[ hello ]\n";

	cfg.auto_switch = 0;
	start(text);
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_logged("events_build_succeeded");
	assert_logged("db_build_add save ok=1 superseded=0 generation=0");
	assert_count("generation_create", 0);
	assert_count("generation_switch", 0);
	assert_count("events_switched", 0);
	cr_assert_str_eq(state_name(), "idle");
	cr_assert(status().last_build->ok);
	cr_assert_str_eq(fakes_state("settled_hash"), hash_of(text));
	save(text);
	assert_count("build_start", 1);

	/* profilectl switch still activates. */
	queue_switch_build(fakes_done_cb, CLIENT(7));
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_logged("generation_create parent=1");
}

Test(queue, stop_cancels_the_build_and_answers_waiters)
{
	start_settled("[ hello ]\n");
	queue_switch_build(fakes_done_cb, CLIENT(7));
	queue_switch_build(fakes_done_cb, CLIENT(8));
	queue_wait(fakes_done_cb, CLIENT(5));
	cr_assert_eq(queue_stop(), 0);
	assert_logged("build_cancel");
	assert_logged("reply error 7 profiled is stopping");
	assert_logged("reply error 8 profiled is stopping");
	assert_logged("reply error 5 profiled is stopping");
	cr_assert(!status().pending);
}

/*
 * Status answers are packed once per change (rpc.c), so the queue must
 * tell every change through its changed_cb: the status as last told must
 * equal the status now after every step, whatever the step.
 */
static char	*told;

/* What status shows, as one string, to compare. */
static char *
status_text(void)
{
	struct queue_status	 st = status();
	char			*text, *next;
	size_t			 i;

	xasprintf(&text, "%s current=%u sync=%d held=%d pending=%d exists=%d "
	    "error=%s imports=%zu built=%s builds=%u", queue_state_name(
	    st.state), st.current, st.in_sync, st.held, st.pending,
	    st.file_exists, st.file_error != NULL ? st.file_error : "-",
	    st.nimports, st.built != NULL ? st.built->store_path : "-",
	    queue_builds_started());
	if (st.last_build != NULL) {
		xasprintf(&next, "%s last=%d,%u,%s", text, st.last_build->ok,
		    st.last_build->generation, st.last_build->content_hash);
		free(text);
		text = next;
	}
	for (i = 0; i < st.nwarnings; i++) {
		xasprintf(&next, "%s warning=%s", text, st.warnings[i]);
		free(text);
		text = next;
	}
	return text;
}

static void
told_cb(void)
{
	free(told);
	told = status_text();
}

#define assert_told() do {						\
	char	*now_ = status_text();					\
	cr_assert_str_eq(told, now_, "the status changed untold");	\
	free(now_);							\
} while (0)

Test(queue, every_change_of_status_is_told)
{
	const char	*text = "[ hello ]\n";

	write_file(cfg.package_file, text);
	queue_init(base, &cfg, told_cb);
	assert_told();
	assert_building(text);
	cr_assert_eq(queue_builds_started(), 1);

	/* A save while it builds: pending, then the newest is built. */
	write_file(cfg.package_file, "[ hello cowsay ]\n");
	queue_file_changed(cfg.package_file);
	assert_told();
	fire_debounce();
	assert_told();
	fakes_build_finish(fakes_result_cancelled());
	assert_told();
	while (queue_builds_started() < 2)
		cr_assert_neq(event_base_loop(base,
		    EVLOOP_ONCE|EVLOOP_NONBLOCK), -1);
	assert_told();
	fakes_build_finish(fakes_result_ok("/nix/store/2222-user-environment"));
	assert_told();
	fakes_generation_created(2);
	assert_told();
	cr_assert_str_eq(state_name(), "idle");

	/* A failed build, a rollback, a switch, a wait, a missing file. */
	save("[ broken ]\n");
	assert_told();
	fakes_build_finish(fakes_result_failed("no such package"));
	assert_told();
	fakes.rollback_target = 1;
	queue_switch_to(1, 0, fakes_done_cb, CLIENT(1));
	assert_told();
	queue_switch_build(fakes_done_cb, CLIENT(2));
	assert_told();
	fakes_build_finish(fakes_result_ok("/nix/store/3333-user-environment"));
	assert_told();
	fakes_generation_created(3);
	assert_told();
	queue_wait(fakes_done_cb, CLIENT(3));
	assert_told();
	cr_assert_eq(unlink(cfg.package_file), 0);
	changed(cfg.package_file);
	assert_told();
	cr_assert_eq(queue_builds_started(), 4);
	free(told);
	told = NULL;
}
