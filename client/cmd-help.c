/*
 * profilectl help: the usage of every command, or of the one named.  It
 * talks to no daemon, so it works when profiled is not running.
 */
#include <stdio.h>

#include "profiled.h"
#include "client.h"

static int	cmd_help_exec(int, char **, struct client_options *);

const struct cmd_entry cmd_help_entry = {
	"help", "help [COMMAND]", cmd_help_exec
};

static void
cmd_help_json(const struct cmd_entry *only)
{
	const struct cmd_entry	**entry;
	int			  first = 1;

	fputs("[", stdout);
	for (entry = cmd_table; *entry != NULL; entry++) {
		if (only != NULL && *entry != only)
			continue;
		fputs(first ? "{\"name\": " : ", {\"name\": ", stdout);
		output_json_string((*entry)->name);
		fputs(", \"usage\": ", stdout);
		output_json_string((*entry)->usage);
		fputs("}", stdout);
		first = 0;
	}
	fputs("]\n", stdout);
}

static void
cmd_help_print(const struct cmd_entry *only)
{
	const struct cmd_entry	**entry;

	if (only != NULL) {
		printf(CMD_USAGE_PREFIX "%s\n", only->usage);
		return;
	}
	printf(CMD_USAGE_PREFIX "COMMAND [ARGS]\n"
	    "       profilectl --version\n"
	    "commands:\n");
	for (entry = cmd_table; *entry != NULL; entry++)
		printf("  %s\n", (*entry)->usage);
}

static int
cmd_help_exec(int argc, char **argv, struct client_options *opts)
{
	const struct cmd_entry	*only = NULL;
	int			 first;

	first = cmd_parse_flags(argc, argv, opts, &cmd_help_entry, 1);
	if (first == -1)
		return CLIENT_EXIT_USAGE;
	if (first < argc && (only = cmd_find(argv[first])) == NULL) {
		log_warnx("unknown command: %s", argv[first]);
		return cmd_usage(&cmd_help_entry);
	}

	if (opts->json)
		cmd_help_json(only);
	else
		cmd_help_print(only);
	return CLIENT_EXIT_OK;
}
