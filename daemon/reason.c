/*
 * Why a build ran or the profile changed: a closed vocabulary, an enum
 * inside the daemon and its name at the edges (SQLite, the wire, JSON and
 * logs).  The names are stable: databases and scripts hold them.
 */
#include <assert.h>
#include <string.h>

#include "profiled.h"

static const char *const reason_names[] = {
	[REASON_SAVE] = "save",
	[REASON_SWITCH] = "switch",
	[REASON_SWITCH_TO] = "switch --to",
	[REASON_ROLLBACK] = "rollback",
	[REASON_IMPORT] = "import",
};

/* The name of reason, as stored and shown. */
const char *
reason_name(enum reason reason)
{
	assert((size_t)reason < sizeof reason_names / sizeof reason_names[0]);
	return reason_names[reason];
}

/* The reason named name; -1 if there is none of that name. */
int
reason_parse(const char *name, enum reason *reason)
{
	size_t	i;

	for (i = 0; i < sizeof reason_names / sizeof reason_names[0]; i++) {
		if (strcmp(reason_names[i], name) == 0) {
			*reason = i;
			return 0;
		}
	}
	return -1;
}
