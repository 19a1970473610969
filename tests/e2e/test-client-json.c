/*
 * profilectl's --json, as a script reads it: whatever bytes a builder
 * writes, every value parses with a strict parser (daemon/json.c refuses
 * invalid UTF-8), a byte that is not UTF-8 arriving as U+FFFD; every
 * object a command prints carries "schema"; and a point in time is
 * always "time", a duration always "duration_ms", in every command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(client_json, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* U+FFFD, the replacement character, in UTF-8. */
#define REPLACEMENT	"\xef\xbf\xbd"

/*
 * A package file whose one package fails after its builder wrote, in
 * Latin-1, "café naïve", then a real UTF-8 "é" and a control character.
 */
static const char latin1_packages[] =
    "[ (derivation {\n"
    "  name = \"latin1-1.0\";\n"
    "  system = builtins.currentSystem;\n"
    "  builder = \"/bin/sh\";\n"
    "  PATH = \"/usr/bin:/bin\";\n"
    "  args = [ \"-c\" \"printf 'caf\\\\351 na\\\\357ve \\\\303\\\\251 "
    "\\\\001 done\\\\n' >&2; exit 1\" ];\n"
    "}) ]\n";

/* What the builder's line must read as once it is JSON. */
static const char latin1_decoded[] =
    "caf" REPLACEMENT " na" REPLACEMENT "ve \xc3\xa9 \x01 done";

/* text parsed as JSON, strictly; the test fails if it is not JSON. */
static struct json *
parse_strictly(const char *what, const char *text)
{
	struct json	*j;
	char		*cause = NULL;

	j = json_parse(text, strlen(text), &cause);
	cr_assert_not_null(j, "%s: not valid JSON (%s): %s", what, cause,
	    text);
	return j;
}

Test(client_json, builder_bytes_that_are_not_utf8_still_parse)
{
	struct harness_background	 watch;
	struct json			*log, *status, *line;
	struct run			 r;
	char				*out, *at, *end, *one;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "--json", "watch", NULL);
	free(harness_background_wait(&watch, "\"event\": \"status\""));
	harness_save(latin1_packages);
	json_free(harness_wait_built(latin1_packages));

	/* log: the whole text, and the failure's error. */
	harness_ctl(&r, "--json", "log", NULL);
	cr_assert_eq(r.status, 0, "log --json: %s", r.err);
	log = parse_strictly("log --json", r.out);
	cr_assert(strstr(harness_string(log, "text"), latin1_decoded) != NULL,
	    "log's text does not hold the builder's line with U+FFFD: %s",
	    harness_string(log, "text"));
	json_free(log);
	harness_run_free(&r);

	/* status: the last build's error quotes the builder. */
	harness_ctl(&r, "--json", "status", NULL);
	cr_assert_eq(r.status, 0, "status --json: %s", r.err);
	status = parse_strictly("status --json", r.out);
	cr_assert(strstr(harness_string(json_get(status, "last_build"),
	    "error"), "caf" REPLACEMENT) != NULL, "status: %s", r.out);
	json_free(status);
	harness_run_free(&r);

	/* watch: the log line as it came, one object a line. */
	out = harness_background_wait(&watch, "\"event\": \"build_failed\"");
	harness_background_exit(&watch, 1);
	at = strstr(out, "caf" REPLACEMENT);
	cr_assert_not_null(at, "watch --json has no log line with U+FFFD: %s",
	    out);
	while (at > out && at[-1] != '\n')
		at--;
	end = strchr(at, '\n');
	one = strndup(at, end - at);
	line = parse_strictly("watch --json", one);
	cr_assert_str_eq(harness_string(line, "event"), "log");
	cr_assert(strstr(harness_string(line, "line"), latin1_decoded) != NULL,
	    "%s", one);
	json_free(line);
	free(one);
	free(out);

	/* For people, the bytes are passed on as the builder wrote them. */
	harness_ctl(&r, "log", NULL);
	cr_assert_eq(r.status, 0, "log: %s", r.err);
	cr_assert(strstr(r.out, "caf\351 na\357ve") != NULL, "%s", r.out);
	harness_run_free(&r);
}

/* object has schema 1, and time as a string like 2026-11-23T18:30:01Z. */
static void
assert_schema_and_time(const char *what, const struct json *object)
{
	const char	*time;

	cr_assert_eq(harness_number(object, "schema"), 1, "%s: no schema 1",
	    what);
	time = harness_string(object, "time");
	cr_assert(time != NULL && strlen(time) >= 20 && time[10] == 'T' &&
	    time[strlen(time) - 1] == 'Z', "%s: time is not RFC 3339 UTC: %s",
	    what, time != NULL ? time : "(none)");
}

Test(client_json, one_name_for_a_time_one_for_a_duration)
{
	struct harness_background	 watch;
	const struct json		*build, *generation;
	struct json			*status, *generations, *log, *answer;
	struct json			*event;
	char				*out, *line, *last;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "--json", "watch", NULL);
	free(harness_background_wait(&watch, "\"event\": \"status\""));
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	out = harness_background_wait(&watch, "\"event\": \"switched\"");
	harness_background_exit(&watch, 1);

	status = harness_status();
	cr_assert_eq(harness_number(status, "schema"), 1);
	build = json_get(status, "last_build");
	cr_assert_geq(harness_number(build, "duration_ms"), 0);
	cr_assert_not_null(harness_string(build, "time"));
	/* Schema 1's first name, kept for the scripts that read it. */
	cr_assert_str_eq(harness_string(build, "started"),
	    harness_string(build, "time"));

	generations = harness_ctl_json("generations", NULL);
	generation = harness_generation(generations, 2);
	cr_assert_not_null(generation);
	cr_assert_geq(harness_number(generation, "duration_ms"), 0);
	cr_assert_eq(harness_number(generation, "build_ms"),
	    harness_number(generation, "duration_ms"));
	cr_assert_str_eq(harness_string(generation, "created"),
	    harness_string(generation, "time"));

	log = harness_ctl_json("log", NULL);
	assert_schema_and_time("log --json", log);
	cr_assert_str_eq(harness_string(log, "started"),
	    harness_string(log, "time"));

	answer = harness_ctl_json("switch", "--to", "1", NULL);
	cr_assert_eq(harness_number(answer, "schema"), 1);
	cr_assert_eq(harness_number(answer, "generation"), 1);

	/* Every line of watch --json is an object with schema and time. */
	for (line = strtok_r(out, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		event = parse_strictly("watch --json", line);
		if (strcmp(harness_string(event, "event"), "status") == 0)
			cr_assert_eq(harness_number(event, "schema"), 1);
		else
			assert_schema_and_time(line, event);
		json_free(event);
	}
	json_free(answer);
	json_free(log);
	json_free(generations);
	json_free(status);
	free(out);
}
