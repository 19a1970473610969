/*
 * profilectl help: the usage of every command, or of the one named.  It
 * talks to no daemon, so it works when profiled is not running.
 */
#include <stdio.h>
#include <stdlib.h>

#include "profiled.h"
#include "client.h"

static int	cmd_help_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.options = NULL,
	.args = { 0, 1, "COMMAND" },
	.exec = cmd_help_exec
};

static void
cmd_help_json(const struct cmd_entry *only)
{
	const struct cmd_entry	**entry;
	char			 *usage;
	int			  first = 1;

	fputs("[", stdout);
	for (entry = cmd_table; *entry != NULL; entry++) {
		if (only != NULL && *entry != only)
			continue;
		fputs(first ? "{\"name\": " : ", {\"name\": ", stdout);
		output_json_string((*entry)->name);
		fputs(", \"usage\": ", stdout);
		usage = cmd_usage_arguments(*entry);
		output_json_string(usage);
		free(usage);
		fputs("}", stdout);
		first = 0;
	}
	fputs("]\n", stdout);
}

static void
cmd_help_print(const struct cmd_entry *only)
{
	const struct cmd_entry	**entry;
	char			 *usage;

	if (only != NULL) {
		usage = cmd_usage_arguments(only);
		printf(CMD_USAGE_PREFIX "%s\n", usage);
		free(usage);
		return;
	}
	printf(CMD_USAGE_PREFIX "COMMAND [ARGS]\n"
	    "       profilectl --version\n"
	    "commands:\n");
	for (entry = cmd_table; *entry != NULL; entry++) {
		usage = cmd_usage_arguments(*entry);
		printf("  %s\n", usage);
		free(usage);
	}
}

static int
cmd_help_exec(struct cmd_args *args, struct client_options *opts)
{
	const struct cmd_entry	*only = NULL;
	const char		*name;

	name = cmd_args_string(args, 0);
	if (name != NULL && (only = cmd_find(name)) == NULL) {
		log_warnx("unknown command: %s", name);
		return cmd_usage(&cmd_help_entry);
	}

	if (opts->json)
		cmd_help_json(only);
	else
		cmd_help_print(only);
	return CLIENT_EXIT_OK;
}
