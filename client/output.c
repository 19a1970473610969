/*
 * Output the commands share: JSON scalars in the one style every --json
 * uses (strings through json_write_string, absent values as null, times
 * as UTC ISO 8601), local times for people, and what a switch did, which
 * switch, switch --to and rollback all print.
 */
#include <inttypes.h>
#include <stdio.h>
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
