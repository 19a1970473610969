/*
 * Seeing what the daemon does: profilectl watch prints every step as it
 * happens, log shows a build's log (log -f as Nix writes it), wait blocks
 * until the daemon is idle and says whether the last build failed, and
 * switch shows its build's progress.  Builds that must really run (so
 * that Nix has something to say) use a `gated` package whose gate is
 * this test's own, opened or not.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(events, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Packages plus one gated on DIR/gates/NAME, which is opened now if open:
 * a package no other test builds, so Nix really builds it.
 */
static char *
gated(const char *names, const char *name, int open)
{
	char	*gates, *gate, *list, *text;

	xasprintf(&gates, "%s/gates", harness.dir);
	if (mkdir(gates, 0755) == -1)
		cr_assert_eq(errno, EEXIST, "mkdir %s: %s", gates,
		    strerror(errno));
	cr_assert(chmod(harness.dir, 0711) == 0, "chmod: %s", strerror(errno));
	xasprintf(&gate, "%s/%s", gates, name);
	if (open)
		harness_write(gate, "");
	xasprintf(&list, "%s (gated \"%s\")", names, gate);
	text = harness_packages(list);
	free(list);
	free(gate);
	free(gates);
	return text;
}

static int
is_building(const struct json *status, const void *arg)
{
	return strcmp(harness_string(status, "state"), "building") == 0;
}

/* The JSON objects of watch --json's output, one per line, in order. */
static struct json **
events_parse(char *text, size_t *count)
{
	struct json	**events = NULL;
	char		 *line, *last, *cause = NULL;

	*count = 0;
	for (line = strtok_r(text, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		events = xreallocarray(events, *count + 1, sizeof *events);
		events[*count] = json_parse(line, strlen(line), &cause);
		cr_assert_not_null(events[*count], "not JSON (%s): %s", cause,
		    line);
		(*count)++;
	}
	return events;
}

/* The index of the first event of kind at or after from; fails if none. */
static size_t
events_find(struct json **events, size_t count, size_t from, const char *kind)
{
	size_t	i;

	for (i = from; i < count; i++) {
		if (strcmp(harness_string(events[i], "event"), kind) == 0)
			return i;
	}
	cr_assert_fail("no \"%s\" event after event %zu of %zu", kind, from,
	    count);
	return 0;
}

Test(events, watch_json_tells_each_step_in_order)
{
	struct harness_background	  watch;
	struct json			**events, *status;
	size_t				  count, i, j;
	char				 *text, *out;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "--json", "watch", NULL);
	free(harness_background_wait(&watch, "\"event\": \"status\""));

	text = gated("hello", "open", 1);
	harness_save(text);
	harness_wait_generation(2);
	free(harness_background_wait(&watch, "\"event\": \"switched\""));
	json_free(harness_ctl_json("rollback", NULL));
	out = harness_background_wait(&watch, "\"event\": \"rolled_back\"");
	cr_assert_eq(harness_background_exit(&watch, 1), 128 + SIGTERM);

	events = events_parse(out, &count);
	cr_assert_str_eq(harness_string(events[0], "event"), "status");
	status = (struct json *)json_get(events[0], "status");
	cr_assert_eq(harness_number(status, "current_generation"), 1);

	i = events_find(events, count, 1, "file_changed");
	cr_assert_str_eq(harness_string(events[i], "file"),
	    harness.package_file);
	i = events_find(events, count, i, "build_started");
	cr_assert_str_eq(harness_string(events[i], "trigger"), "save");
	cr_assert_str_eq(harness_string(events[i], "file"),
	    harness.package_file);
	cr_assert_str_eq(harness_string(events[i], "content_hash"),
	    harness_hash(text));
	for (j = events_find(events, count, i, "log"); j < count &&
	    strcmp(harness_string(events[j], "event"), "log") == 0; j++) {
		if (strstr(harness_string(events[j], "line"),
		    "building '/nix/store/") != NULL &&
		    strstr(harness_string(events[j], "line"), "-gated-1.0") !=
		    NULL)
			break;
	}
	cr_assert(j < count && strcmp(harness_string(events[j], "event"),
	    "log") == 0, "no log line about building gated");
	i = events_find(events, count, j, "build_succeeded");
	cr_assert(strstr(harness_string(events[i], "store_path"),
	    "-user-environment") != NULL);
	i = events_find(events, count, i, "switched");
	cr_assert_eq(harness_number(events[i], "previous"), 1);
	cr_assert_eq(harness_number(events[i], "generation"), 2);
	cr_assert_eq(harness_bool(events[i], "created"), 1);
	cr_assert_str_eq(harness_string(events[i], "reason"), "save");
	i = events_find(events, count, i, "rolled_back");
	cr_assert_eq(harness_number(events[i], "previous"), 2);
	cr_assert_eq(harness_number(events[i], "generation"), 1);
}

Test(events, watch_prints_a_line_for_people)
{
	struct harness_background	 watch;
	char				*out;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "watch", NULL);
	free(harness_background_wait(&watch, "idle, generation 1, in sync\n"));
	harness_save_packages("hello cowsay");
	out = harness_background_wait(&watch,
	    "generation 2 is active (was 1, new, save)\n");
	cr_assert(strstr(out, " building (save of ") != NULL, "%s", out);
	cr_assert(strstr(out, " built in ") != NULL, "%s", out);
	free(out);
	harness_save_packages("broken");
	out = harness_background_wait(&watch, "build failed after ");
	cr_assert(strstr(out, "package broken-1.0 failed to build") != NULL,
	    "the failure does not name the package: %s", out);
	free(out);
	harness_background_exit(&watch, 1);
}

/* A save that stops the running build is told as such. */
Test(events, watch_tells_a_stopped_build)
{
	struct harness_background	 watch;
	char				*out;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "--json", "watch", NULL);
	free(harness_background_wait(&watch, "\"event\": \"status\""));
	harness_save(gated("hello", "closed", 0));
	free(harness_background_wait(&watch, "building '"));
	harness_save_packages("hello cowsay");
	out = harness_background_wait(&watch, "\"event\": \"switched\"");
	cr_assert(strstr(out, "\"event\": \"build_cancelled\"") != NULL,
	    "no build_cancelled event: %s", out);
	cr_assert(strstr(out, "\"event\": \"build_queued\"") != NULL,
	    "no build_queued event: %s", out);
	free(out);
	harness_background_exit(&watch, 1);
}

Test(events, log_of_a_generation_and_of_the_last_build)
{
	struct json	*log;
	struct run	 r;

	harness_save(gated("hello", "open", 1));
	harness_start();
	harness_wait_generation(1);
	harness_nix_env_install("cowsay");

	harness_ctl(&r, "log", "1", NULL);
	cr_assert_eq(r.status, 0, "log 1: %s", r.err);
	cr_assert(strstr(r.out, "building '/nix/store/") != NULL &&
	    strstr(r.out, "-gated-1.0.drv'") != NULL,
	    "the log of generation 1 does not show gated being built: %s",
	    r.out);
	harness_run_free(&r);

	harness_save_packages("hello broken");
	harness_wait_built(harness_packages("hello broken"));
	log = harness_ctl_json("log", NULL);
	cr_assert_eq(harness_bool(log, "ok"), 0);
	cr_assert(strstr(harness_string(log, "text"), "deliberate failure") !=
	    NULL, "the failed build's log: %s", harness_string(log, "text"));
	cr_assert(strstr(harness_string(log, "error"), "broken-1.0") != NULL);
	json_free(log);

	harness_ctl(&r, "log", "99", NULL);
	harness_assert_error(&r, "there is no generation 99");
	harness_run_free(&r);
	harness_ctl(&r, "log", "2", NULL);
	harness_assert_error(&r, "generation 2 was not built by profiled");
	harness_run_free(&r);
	harness_ctl(&r, "log", "x", NULL);
	cr_assert_eq(r.status, 2, "log x: a usage error, not %d", r.status);
	harness_run_free(&r);
}

/*
 * A long build log is kept by its end, where Nix says what failed: the
 * last 64 KiB, from the start of a line.
 */
Test(events, long_log_keeps_its_last_64_kib)
{
	struct json	*log;
	const char	*text;
	char		*packages;

	harness_start();
	harness_wait_generation(1);
	/* 20,000 lines of "trace: line N", some 300 KiB in all. */
	packages = harness_packages("(builtins.foldl' (acc: i: builtins.trace "
	    "\"line ${toString i}\" acc) cowsay (builtins.genList (i: i) "
	    "20000))");
	harness_save(packages);
	harness_wait_built(packages);
	log = harness_ctl_json("log", NULL);
	text = harness_string(log, "text");
	cr_assert_leq(strlen(text), 64 * 1024, "%zu bytes kept", strlen(text));
	cr_assert_gt(strlen(text), 60 * 1024, "%zu bytes kept", strlen(text));
	cr_assert(strncmp(text, "trace: line ", 12) == 0, "kept from the middle "
	    "of a line: %.40s", text);
	cr_assert(strstr(text, "trace: line 19999\n") != NULL, "the end of "
	    "the log is missing");
	cr_assert_null(strstr(text, "trace: line 0\n"), "the start was kept");
	json_free(log);
	free(packages);
}

Test(events, log_follow_ends_with_the_build)
{
	struct harness_background	 follow;
	char				*gate, *out;

	harness_start();
	harness_wait_generation(1);
	harness_background(&follow, "log", "-f", NULL);
	harness_save(gated("hello", "later", 0));
	out = harness_background_wait(&follow, "building '");
	cr_assert(strstr(out, "-gated-1.0.drv'") != NULL, "%s", out);
	free(out);
	xasprintf(&gate, "%s/gates/later", harness.dir);
	harness_write(gate, "");
	cr_assert_eq(harness_background_exit(&follow, 0), 0,
	    "log -f of a build that succeeded: %s",
	    harness_read(follow.err));
	harness_wait_generation(2);

	/* Started while a build runs: its log so far, then the end. */
	harness_save(gated("broken", "late", 0));
	harness_wait(is_building, NULL, "a build");
	harness_background(&follow, "log", "-f", NULL);
	harness_save(gated("broken", "late", 1));
	cr_assert_eq(harness_background_exit(&follow, 0), 1,
	    "log -f of a build that failed did not exit 1");
	out = harness_read(follow.out);
	cr_assert(strstr(out, "deliberate failure") != NULL, "%s", out);
	cr_assert(strstr(harness_read(follow.err), "build failed: ") != NULL);
	free(out);
}

Test(events, wait_returns_when_idle_with_the_result)
{
	struct json	*status;
	struct run	 r;

	harness_start();
	harness_save_packages("hello cowsay");
	harness_ctl(&r, "--json", "wait", NULL);
	cr_assert_eq(r.status, 0, "wait: %s", r.err);
	status = json_parse(r.out, strlen(r.out), NULL);
	cr_assert_not_null(status, "wait --json: %s", r.out);
	cr_assert_str_eq(harness_string(status, "state"), "idle");
	cr_assert_eq(harness_bool(status, "in_sync"), 1,
	    "wait returned before the save was built: %s", r.out);
	cr_assert_str_eq(harness_string(json_get(status, "last_build"),
	    "content_hash"), harness_hash(harness_packages("hello cowsay")));
	harness_run_free(&r);

	harness_save_packages("broken");
	harness_ctl(&r, "wait", NULL);
	cr_assert_eq(r.status, 1, "wait after a failed build exited %d",
	    r.status);
	harness_assert_error(&r, "the last build failed: error: package "
	    "broken-1.0 failed to build");
	harness_run_free(&r);

	harness_save(gated("hello", "never", 0));
	harness_ctl(&r, "wait", "--timeout", "1", NULL);
	harness_assert_error(&r, "timed out after 1 s");
	harness_run_free(&r);
}

Test(events, switch_shows_progress)
{
	struct run	r;

	/* The save must not start a build of its own before the switch does,
	 * however slow the machine: the debounce outlasts the test. */
	harness_config_add("debounce_ms = 60000");
	harness_start();
	harness_wait_generation(1);
	harness_write(harness.package_file, gated("hello", "open", 1));
	harness_ctl(&r, "switch", "--progress", NULL);
	cr_assert_eq(r.status, 0, "switch --progress: %s", r.err);
	cr_assert_str_eq(r.out, "generation 2 is active (new)\n");
	cr_assert(strstr(r.err, "building (switch)\n") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "-gated-1.0.drv'") != NULL, "%s", r.err);
	cr_assert(strstr(r.err, "built in ") != NULL, "%s", r.err);
	harness_run_free(&r);

	harness_ctl(&r, "switch", NULL);
	cr_assert_eq(r.status, 0, "switch: %s", r.err);
	cr_assert_str_eq(r.err, "", "switch printed progress without "
	    "--progress or a terminal");
	harness_run_free(&r);
}
