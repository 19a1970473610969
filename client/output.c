/*
 * Output the commands share: how a failure is told (one line on stderr,
 * its exit code, and with --json an error object on stdout), colour for
 * people, local times, and the values more than one command prints: what
 * a switch did, the daemon's status, an event.  The
 * JSON itself is written by output-json.c; the names of its fields are
 * documented in the README, and a point in time is always "time", a
 * duration "duration_ms".
 */
#include <sys/time.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

/* The first failure: what profilectl exits with and says. */
static struct {
	int	 exit_code;
	char	*message;
	int	 written;	/* as JSON on stdout, already */
} output_failure;

/*
 * Say why the command fails, one line on stderr, and keep it (the first
 * one, which is the cause) for the exit code and --json's error object;
 * returns exit_code.
 */
int
output_fail(int exit_code, const char *fmt, ...)
{
	va_list	 ap;
	char	*message;

	va_start(ap, fmt);
	xvasprintf(&message, fmt, ap);
	va_end(ap);
	log_warnx("%s", message);
	if (output_failure.message == NULL) {
		output_failure.message = message;
		output_failure.exit_code = exit_code;
	} else
		free(message);
	return exit_code;
}

/* The failure's "error" and "exit_code", in the object being written. */
void
output_json_failure(void)
{
	const char	*message = output_failure.message;

	output_json_string("error", message != NULL ? message : "failed");
	output_json_number("exit_code", 1, message != NULL ?
	    output_failure.exit_code : CLIENT_EXIT_FAILURE);
	output_failure.written = 1;
}

/*
 * What profilectl exits with when its command returned rc: a failure
 * exits with the code its first output_fail gave, and with json its
 * error object goes to stdout, unless the command wrote it already.
 */
int
output_exit(int rc, int json)
{
	if (rc == CLIENT_EXIT_OK)
		return rc;
	if (output_failure.message != NULL)
		rc = output_failure.exit_code;
	if (json && !output_failure.written) {
		output_json_object(NULL);
		output_json_failure();
		output_json_end();
	}
	free(output_failure.message);
	output_failure.message = NULL;
	return rc;
}

/*
 * Whether f gets colour: only a terminal does, and never when NO_COLOR is
 * set to anything (no-color.org) or the terminal is dumb.
 */
static int
output_colour_on(FILE *f)
{
	const char	*no_colour = getenv("NO_COLOR");
	const char	*term = getenv("TERM");

	if (no_colour != NULL && *no_colour != '\0')
		return 0;
	if (term == NULL || strcmp(term, "dumb") == 0)
		return 0;
	return isatty(fileno(f));
}

/* Start writing in colour on f, if f gets colour; OUTPUT_PLAIN ends it. */
void
output_colour(FILE *f, enum output_colour colour)
{
	static const char	*codes[] = {
		[OUTPUT_PLAIN] = "\033[0m",
		[OUTPUT_GOOD] = "\033[32m",
		[OUTPUT_BAD] = "\033[1;31m",
		[OUTPUT_BUSY] = "\033[33m",
	};

	if (output_colour_on(f))
		fputs(codes[colour], f);
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
		output_json_object(NULL);
		output_json_number("previous", switched->has_previous,
		    switched->previous);
		output_json_number("generation", 1, switched->generation);
		output_json_bool("created", switched->created);
		output_json_bool("changed", switched->changed);
		output_json_end();
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

/* A build as the member key of the object being written. */
static void
output_build_json(const char *key, const Profiled__Build *build)
{
	output_json_object(key);
	output_json_bool("ok", build->ok);
	output_json_string("error", build->error);
	output_json_time("time", build->started);
	output_json_number("duration_ms", 1, build->duration_ms);
	output_json_number("generation", build->has_generation,
	    build->generation);
	output_json_string("content_hash", build->content_hash);
	output_json_string("trigger", build->trigger);
	output_json_string("file", build->file);
	/* Schema 1's first name for "time", which scripts may read. */
	output_json_time("started", build->started);
	output_json_end();
}

/*
 * Write status's members into the object being written, so that status
 * prints them alone, watch inside its first line, and a failed wait
 * beside its error.
 */
void
output_status_json(const Profiled__Status *status)
{
	size_t	i;

	output_json_string("state", status->state);
	output_json_number("current_generation",
	    status->has_current_generation, status->current_generation);
	output_json_string("package_file", status->package_file);
	output_json_bool("package_file_exists", status->package_file_exists);
	output_json_string("file_error", status->file_error);
	output_json_array("imports");
	for (i = 0; i < status->n_imports; i++)
		output_json_string(NULL, status->imports[i]);
	output_json_end();
	output_json_string("profile", status->profile);
	output_json_bool("in_sync", status->in_sync);
	output_json_bool("held", status->held);
	output_json_bool("build_pending", status->build_pending);
	output_json_array("warnings");
	for (i = 0; i < status->n_warnings; i++)
		output_json_string(NULL, status->warnings[i]);
	output_json_end();
	output_json_string("nix_version", status->nix_version);
	output_json_string("nix_dir", status->nix_dir);
	/* null from a daemon too old to say. */
	if (status->has_auto_switch)
		output_json_bool("auto_switch", status->auto_switch);
	else
		output_json_string("auto_switch", NULL);
	output_json_string("built_change", status->built_change);
	/* Only while generations found at start are being adopted. */
	if (status->has_adopting_total) {
		output_json_object("adopting");
		output_json_number("done", 1, status->adopting_done);
		output_json_number("total", 1, status->adopting_total);
		output_json_end();
	} else
		output_json_string("adopting", NULL);
	output_json_number("pid", 1, status->pid);
	/* null from a daemon too old to count. */
	output_json_number("builds_started", status->has_builds_started,
	    status->builds_started);
	if (status->last_build == NULL)
		output_json_string("last_build", NULL);
	else
		output_build_json("last_build", status->last_build);
}

/* The name of an event's kind in JSON, as documented in profilectl(1). */
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

/* One event as one JSON object on its own line: the fields it has. */
static void
output_event_json(const Profiled__Event *e)
{
	output_json_object(NULL);
	output_json_time_ms("time", e->time_ms);
	output_json_string("event", output_event_name(e->kind));
	if (e->file != NULL)
		output_json_string("file", e->file);
	if (e->trigger != NULL)
		output_json_string("trigger", e->trigger);
	if (e->content_hash != NULL)
		output_json_string("content_hash", e->content_hash);
	if (e->line != NULL)
		output_json_string("line", e->line);
	if (e->error != NULL)
		output_json_string("error", e->error);
	if (e->has_duration_ms)
		output_json_number("duration_ms", 1, e->duration_ms);
	if (e->store_path != NULL)
		output_json_string("store_path", e->store_path);
	if (e->has_previous || e->has_generation)
		output_json_number("previous", e->has_previous, e->previous);
	if (e->has_generation)
		output_json_number("generation", 1, e->generation);
	if (e->has_created)
		output_json_bool("created", e->created);
	if (e->reason != NULL)
		output_json_string("reason", e->reason);
	output_json_end();
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

/* The colour of an event's line for people. */
static enum output_colour
output_event_colour(Profiled__Event__Kind kind)
{
	switch (kind) {
	case PROFILED__EVENT__KIND__FILE_ERROR:
	case PROFILED__EVENT__KIND__BUILD_FAILED:
		return OUTPUT_BAD;
	case PROFILED__EVENT__KIND__BUILD_SUCCEEDED:
	case PROFILED__EVENT__KIND__SWITCHED:
	case PROFILED__EVENT__KIND__ROLLED_BACK:
		return OUTPUT_GOOD;
	case PROFILED__EVENT__KIND__BUILD_CANCELLED:
		return OUTPUT_BUSY;
	case PROFILED__EVENT__KIND__FILE_CHANGED:
	case PROFILED__EVENT__KIND__BUILD_QUEUED:
	case PROFILED__EVENT__KIND__BUILD_STARTED:
	case PROFILED__EVENT__KIND__LOG:
	case _PROFILED__EVENT__KIND_IS_INT_SIZE:
		break;
	}
	return OUTPUT_PLAIN;
}

/* The line for people saying what event is, without its newline. */
static void
output_event_words(FILE *f, const Profiled__Event *e)
{
	double	seconds = e->duration_ms / 1000.0;

	switch (e->kind) {
	case PROFILED__EVENT__KIND__LOG:
		fprintf(f, "  %s", e->line);
		break;
	case PROFILED__EVENT__KIND__FILE_CHANGED:
		fprintf(f, "%s changed", e->file);
		break;
	case PROFILED__EVENT__KIND__FILE_ERROR:
		fprintf(f, "%s", e->error);
		break;
	case PROFILED__EVENT__KIND__BUILD_QUEUED:
		fputs("build queued (", f);
		output_trigger(f, e);
		fputs(")", f);
		break;
	case PROFILED__EVENT__KIND__BUILD_STARTED:
		fputs("building (", f);
		output_trigger(f, e);
		fputs(")", f);
		break;
	case PROFILED__EVENT__KIND__BUILD_SUCCEEDED:
		fprintf(f, "built in %.1f s: %s", seconds, e->store_path);
		break;
	case PROFILED__EVENT__KIND__BUILD_FAILED:
		fprintf(f, "build failed after %.1f s: %s", seconds, e->error);
		break;
	case PROFILED__EVENT__KIND__BUILD_CANCELLED:
		fprintf(f, "build stopped after %.1f s: %s", seconds, e->error);
		break;
	case PROFILED__EVENT__KIND__ROLLED_BACK:
		fprintf(f, "rolled back from generation %" PRIu32 " to %"
		    PRIu32, e->previous, e->generation);
		break;
	case PROFILED__EVENT__KIND__SWITCHED:
		fprintf(f, "generation %" PRIu32 " is active", e->generation);
		if (e->has_previous)
			fprintf(f, " (was %" PRIu32 ", %s%s)", e->previous,
			    e->created ? "new, " : "", e->reason);
		else
			fprintf(f, " (%s%s)", e->created ? "new, " : "",
			    e->reason);
		break;
	case _PROFILED__EVENT__KIND_IS_INT_SIZE:
		fputs(output_event_name(e->kind), f);
		break;
	}
}

/*
 * Print event as one line on f, for people (with the local time first if
 * with_time), or as one JSON object on stdout.
 */
void
output_event(FILE *f, const Profiled__Event *e, int json, int with_time)
{
	enum output_colour	colour = output_event_colour(e->kind);
	char			when[16];
	time_t			t = e->time_ms / 1000;
	struct tm		tm;

	if (json) {
		output_event_json(e);
		return;
	}
	if (with_time && localtime_r(&t, &tm) != NULL &&
	    strftime(when, sizeof when, "%H:%M:%S", &tm) != 0)
		fprintf(f, "%s ", when);
	if (colour != OUTPUT_PLAIN)
		output_colour(f, colour);
	output_event_words(f, e);
	if (colour != OUTPUT_PLAIN)
		output_colour(f, OUTPUT_PLAIN);
	fputc('\n', f);
}

static int
output_packages_compare(const void *a, const void *b)
{
	const Profiled__Package	*pa = *(Profiled__Package *const *)a;
	const Profiled__Package	*pb = *(Profiled__Package *const *)b;
	int			 c;

	if ((c = strcmp(pa->name, pb->name)) != 0)
		return c;
	return strcmp(pa->version, pb->version);
}

/* Order packages by name, as nix-env -q lists them. */
void
output_packages_sort(Profiled__Package **packages, size_t count)
{
	qsort(packages, count, sizeof *packages, output_packages_compare);
}

/*
 * Packages as two columns, name and version, the names padded to the
 * longest; each line starts with indent.
 */
void
output_packages(FILE *f, Profiled__Package **packages, size_t count,
    const char *indent)
{
	size_t	i;
	int	width = 0;

	for (i = 0; i < count; i++) {
		if ((int)strlen(packages[i]->name) > width)
			width = strlen(packages[i]->name);
	}
	for (i = 0; i < count; i++)
		fprintf(f, "%s%-*s  %s\n", indent, width, packages[i]->name,
		    packages[i]->version);
}

/* Packages as key's array of {name, version, path}. */
void
output_packages_json(const char *key, Profiled__Package **packages,
    size_t count)
{
	size_t	i;

	output_json_array(key);
	for (i = 0; i < count; i++) {
		output_json_object(NULL);
		output_json_string("name", packages[i]->name);
		output_json_string("version", packages[i]->version);
		output_json_string("path", packages[i]->path);
		output_json_end();
	}
	output_json_end();
}

/* The characters of UTF-8 text s (not its bytes), as a terminal shows. */
size_t
output_width(const char *s)
{
	size_t	width = 0;

	for (; *s != '\0'; s++)
		width += ((unsigned char)*s & 0xc0) != 0x80;
	return width;
}

/* The offset in s after its first n characters. */
size_t
output_cut(const char *s, size_t n)
{
	size_t	i = 0;

	for (; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n-- == 0)
			break;
	}
	return i;
}
