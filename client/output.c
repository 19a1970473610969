/*
 * Output the commands share: JSON scalars in the one style every --json
 * uses (strings through json_write_string, absent values as null, times
 * as UTC ISO 8601), local times for people, and what a switch did, which
 * switch, switch --to and rollback all print.
 */
#include <sys/time.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "profiled.h"
#include "client.h"

/* Write s as a JSON string, or null if s is NULL. */
void
output_json_string(const char *s)
{
	if (s == NULL)
		fputs("null", stdout);
	else
		json_write_string(stdout, s);
}

/* Write unix seconds t as a JSON string like "2026-11-23T18:30:01Z". */
void
output_json_time(int64_t t)
{
	char		 buf[64];
	time_t		 when = t;
	struct tm	 tm;

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, sizeof buf, "%" PRId64, t);
	json_write_string(stdout, buf);
}

/* Write n as a JSON number if has is set, else null. */
void
output_json_number(int has, uint64_t n)
{
	if (has)
		printf("%" PRIu64, n);
	else
		fputs("null", stdout);
}

void
output_json_bool(int b)
{
	fputs(b ? "true" : "false", stdout);
}

/* Format unix seconds t as local "%Y-%m-%d %H:%M:%S" into buf. */
void
output_local_time(int64_t t, char *buf, size_t size)
{
	time_t		 when = t;
	struct tm	 tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "%" PRId64, t);
}

/*
 * Print what a switch, switch --to or rollback did; rollback words a
 * change as going back from the previous generation.
 */
void
output_switched(const Profiled__Switched *switched, int json, int rollback)
{
	if (json) {
		fputs("{\"previous\": ", stdout);
		output_json_number(switched->has_previous, switched->previous);
		printf(", \"generation\": %" PRIu32 ", \"created\": ",
		    switched->generation);
		output_json_bool(switched->created);
		fputs(", \"changed\": ", stdout);
		output_json_bool(switched->changed);
		fputs("}\n", stdout);
	} else if (!switched->changed) {
		printf("generation %" PRIu32 " is already active; "
		    "nothing changed\n", switched->generation);
	} else if (rollback && switched->has_previous) {
		printf("rolled back from generation %" PRIu32 " to %" PRIu32
		    "\n", switched->previous, switched->generation);
	} else {
		printf("generation %" PRIu32 " is active%s\n",
		    switched->generation, switched->created ? " (new)" : "");
	}
}

static void
output_build_json(const Profiled__Build *build)
{
	fputs("{\"ok\": ", stdout);
	output_json_bool(build->ok);
	fputs(", \"error\": ", stdout);
	output_json_string(build->error);
	fputs(", \"started\": ", stdout);
	output_json_time(build->started);
	printf(", \"duration_ms\": %" PRIu64 ", \"generation\": ",
	    build->duration_ms);
	output_json_number(build->has_generation, build->generation);
	fputs(", \"content_hash\": ", stdout);
	output_json_string(build->content_hash);
	fputs(", \"trigger\": ", stdout);
	output_json_string(build->trigger);
	fputs(", \"file\": ", stdout);
	output_json_string(build->file);
	fputs("}", stdout);
}

/* Write status as one JSON object, with no newline after it. */
void
output_status_json(const Profiled__Status *status)
{
	size_t	i;

	fputs("{\"state\": ", stdout);
	output_json_string(status->state);
	fputs(", \"current_generation\": ", stdout);
	output_json_number(status->has_current_generation,
	    status->current_generation);
	fputs(", \"package_file\": ", stdout);
	output_json_string(status->package_file);
	fputs(", \"package_file_exists\": ", stdout);
	output_json_bool(status->package_file_exists);
	fputs(", \"file_error\": ", stdout);
	output_json_string(status->file_error);
	fputs(", \"imports\": [", stdout);
	for (i = 0; i < status->n_imports; i++) {
		if (i > 0)
			fputs(", ", stdout);
		output_json_string(status->imports[i]);
	}
	fputs("], \"profile\": ", stdout);
	output_json_string(status->profile);
	fputs(", \"in_sync\": ", stdout);
	output_json_bool(status->in_sync);
	fputs(", \"held\": ", stdout);
	output_json_bool(status->held);
	fputs(", \"build_pending\": ", stdout);
	output_json_bool(status->build_pending);
	fputs(", \"warnings\": [", stdout);
	for (i = 0; i < status->n_warnings; i++) {
		if (i > 0)
			fputs(", ", stdout);
		output_json_string(status->warnings[i]);
	}
	fputs("], \"nix_version\": ", stdout);
	output_json_string(status->nix_version);
	fputs(", \"nix_dir\": ", stdout);
	output_json_string(status->nix_dir);
	printf(", \"pid\": %" PRIu32 ", \"last_build\": ", status->pid);
	if (status->last_build == NULL)
		fputs("null", stdout);
	else
		output_build_json(status->last_build);
	fputs("}", stdout);
}

/* Write unix milliseconds t as a JSON string like "...T18:30:01.123Z". */
static void
output_json_time_ms(int64_t t)
{
	char		 buf[64];
	time_t		 when = t / 1000;
	struct tm	 tm;

	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, sizeof buf, "%" PRId64, t / 1000);
	snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ".%03dZ",
	    (int)(t % 1000));
	json_write_string(stdout, buf);
}

/* The name of an event's kind in JSON, as documented in the README. */
static const char *
output_event_name(Profiled__Event__Kind kind)
{
	switch (kind) {
	case PROFILED__EVENT__KIND__FILE_CHANGED:
		return "file_changed";
	case PROFILED__EVENT__KIND__FILE_ERROR:
		return "file_error";
	case PROFILED__EVENT__KIND__BUILD_QUEUED:
		return "build_queued";
	case PROFILED__EVENT__KIND__BUILD_STARTED:
		return "build_started";
	case PROFILED__EVENT__KIND__LOG:
		return "log";
	case PROFILED__EVENT__KIND__BUILD_SUCCEEDED:
		return "build_succeeded";
	case PROFILED__EVENT__KIND__BUILD_FAILED:
		return "build_failed";
	case PROFILED__EVENT__KIND__BUILD_CANCELLED:
		return "build_cancelled";
	case PROFILED__EVENT__KIND__SWITCHED:
		return "switched";
	case PROFILED__EVENT__KIND__ROLLED_BACK:
		return "rolled_back";
	case _PROFILED__EVENT__KIND_IS_INT_SIZE:
		break;
	}
	return "unknown";
}

static void
output_event_json(const Profiled__Event *e)
{
	fputs("{\"time\": ", stdout);
	output_json_time_ms(e->time_ms);
	fputs(", \"event\": ", stdout);
	output_json_string(output_event_name(e->kind));
	if (e->file != NULL) {
		fputs(", \"file\": ", stdout);
		output_json_string(e->file);
	}
	if (e->trigger != NULL) {
		fputs(", \"trigger\": ", stdout);
		output_json_string(e->trigger);
	}
	if (e->content_hash != NULL) {
		fputs(", \"content_hash\": ", stdout);
		output_json_string(e->content_hash);
	}
	if (e->line != NULL) {
		fputs(", \"line\": ", stdout);
		output_json_string(e->line);
	}
	if (e->error != NULL) {
		fputs(", \"error\": ", stdout);
		output_json_string(e->error);
	}
	if (e->has_duration_ms)
		printf(", \"duration_ms\": %" PRIu64, e->duration_ms);
	if (e->store_path != NULL) {
		fputs(", \"store_path\": ", stdout);
		output_json_string(e->store_path);
	}
	if (e->has_previous || e->has_generation) {
		fputs(", \"previous\": ", stdout);
		output_json_number(e->has_previous, e->previous);
	}
	if (e->has_generation)
		printf(", \"generation\": %" PRIu32, e->generation);
	if (e->has_created) {
		fputs(", \"created\": ", stdout);
		output_json_bool(e->created);
	}
	if (e->reason != NULL) {
		fputs(", \"reason\": ", stdout);
		output_json_string(e->reason);
	}
	fputs("}\n", stdout);
}

/* The words for what a build was for: "save of FILE" or "switch". */
static void
output_trigger(FILE *f, const Profiled__Event *e)
{
	if (e->file != NULL)
		fprintf(f, "%s of %s", e->trigger, e->file);
	else
		fputs(e->trigger != NULL ? e->trigger : "?", f);
}

/*
 * Print event as one line on f, for people (with the local time first if
 * with_time), or as one JSON object on stdout.
 */
void
output_event(FILE *f, const Profiled__Event *e, int json, int with_time)
{
	char		when[16];
	time_t		t = e->time_ms / 1000;
	struct tm	tm;
	double		seconds = e->duration_ms / 1000.0;

	if (json) {
		output_event_json(e);
		return;
	}
	if (with_time && localtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof when, "%H:%M:%S", &tm) != 0)
		fprintf(f, "%s ", when);
	switch (e->kind) {
	case PROFILED__EVENT__KIND__LOG:
		fprintf(f, "  %s\n", e->line);
		break;
	case PROFILED__EVENT__KIND__FILE_CHANGED:
		fprintf(f, "%s changed\n", e->file);
		break;
	case PROFILED__EVENT__KIND__FILE_ERROR:
		fprintf(f, "%s\n", e->error);
		break;
	case PROFILED__EVENT__KIND__BUILD_QUEUED:
		fputs("build queued (", f);
		output_trigger(f, e);
		fputs(")\n", f);
		break;
	case PROFILED__EVENT__KIND__BUILD_STARTED:
		fputs("building (", f);
		output_trigger(f, e);
		fputs(")\n", f);
		break;
	case PROFILED__EVENT__KIND__BUILD_SUCCEEDED:
		fprintf(f, "built in %.1f s: %s\n", seconds, e->store_path);
		break;
	case PROFILED__EVENT__KIND__BUILD_FAILED:
		fprintf(f, "build failed after %.1f s: %s\n", seconds,
		    e->error);
		break;
	case PROFILED__EVENT__KIND__BUILD_CANCELLED:
		fprintf(f, "build stopped after %.1f s: %s\n", seconds,
		    e->error);
		break;
	case PROFILED__EVENT__KIND__ROLLED_BACK:
		fprintf(f, "rolled back from generation %" PRIu32 " to %"
		    PRIu32 "\n", e->previous, e->generation);
		break;
	case PROFILED__EVENT__KIND__SWITCHED:
		fprintf(f, "generation %" PRIu32 " is active", e->generation);
		if (e->has_previous)
			fprintf(f, " (was %" PRIu32 ", %s%s)", e->previous,
			    e->created ? "new, " : "", e->reason);
		else
			fprintf(f, " (%s%s)", e->created ? "new, " : "",
			    e->reason);
		fputc('\n', f);
		break;
	case _PROFILED__EVENT__KIND_IS_INT_SIZE:
		fprintf(f, "%s\n", output_event_name(e->kind));
		break;
	}
}
