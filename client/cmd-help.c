/*
 * profilectl help: every command with a line on what it does, the global
 * options, where the socket is and the exit codes; or one command's usage
 * and options.  All are read from the command table, so help cannot drift
 * from what is parsed.  `profilectl COMMAND --help` prints
 * the same through cmd_help_show.  It talks to no daemon, so it works when
 * profiled is not running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_help_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.about = "list the commands, or show a command's usage and options",
	.options = NULL,
	.args = { 0, 1, "COMMAND" },
	.exec = cmd_help_exec
};

/* The widest an option's name in --help can be; longer ones are cut. */
#define CMD_HELP_NAME_SIZE	64

/* The exit codes, the same for every command, as profilectl(1) has them. */
static const struct {
	int		 code;
	const char	*about;
} cmd_help_exit_codes[] = {
	{ CLIENT_EXIT_OK, "success" },
	{ CLIENT_EXIT_FAILURE,
	    "the operation failed (a failed build, a refused request)" },
	{ CLIENT_EXIT_USAGE, "usage error" },
	{ CLIENT_EXIT_UNREACHABLE, "profiled is not running or not reachable" },
	{ CLIENT_EXIT_TIMEOUT, "timed out (wait --timeout)" },
};

/* The options of a table as elements of the array being written. */
static void
cmd_help_json_options(const struct cmd_option *option)
{
	char	letter[2] = { 0, 0 };

	for (; option != NULL && option->name != NULL; option++) {
		letter[0] = option->letter;
		output_json_object(NULL);
		output_json_string("name", option->name);
		output_json_string("letter", option->letter != 0 ? letter :
		    NULL);
		output_json_string("value", option->value);
		output_json_string("about", option->about);
		output_json_end();
	}
}

static void
cmd_help_json(const struct cmd_entry *only)
{
	const struct cmd_entry	**entry;
	char			 *usage;

	output_json_array(NULL);
	for (entry = cmd_table; *entry != NULL; entry++) {
		if (only != NULL && *entry != only)
			continue;
		output_json_object(NULL);
		output_json_string("name", (*entry)->name);
		usage = cmd_usage_arguments(*entry);
		output_json_string("usage", usage);
		free(usage);
		output_json_string("about", (*entry)->about);
		output_json_array("options");
		cmd_help_json_options((*entry)->options);
		cmd_help_json_options(cmd_common_options);
		output_json_end();
		output_json_end();
	}
	output_json_end();
}

/* Write option as its line in --help names it: "-f, --follow", "--to N". */
static void
cmd_help_option_name(const struct cmd_option *option, char *buf,
    size_t size)
{
	char	letter[5] = "    ";

	if (option->letter != 0)
		snprintf(letter, sizeof letter, "-%c, ", option->letter);
	snprintf(buf, size, "%s--%s%s%s", letter, option->name,
	    option->value != NULL ? " " : "",
	    option->value != NULL ? option->value : "");
}

/*
 * Print the options of both tables one a line on f, their descriptions in
 * a column after the longest name.
 */
static void
cmd_help_print_options(FILE *f, const struct cmd_option *options,
    const struct cmd_option *more)
{
	const struct cmd_option	*tables[] = { options, more }, *option;
	char			 name[CMD_HELP_NAME_SIZE];
	size_t			 i;
	int			 width = 0;

	for (i = 0; i < 2; i++) {
		for (option = tables[i]; option != NULL && option->name != NULL;
		    option++) {
			cmd_help_option_name(option, name, sizeof name);
			if ((int)strlen(name) > width)
				width = strlen(name);
		}
	}
	for (i = 0; i < 2; i++) {
		for (option = tables[i]; option != NULL && option->name != NULL;
		    option++) {
			cmd_help_option_name(option, name, sizeof name);
			fprintf(f, "  %-*s  %s\n", width, name, option->about);
		}
	}
}

/*
 * Where profilectl finds the socket: the one it would use now and why,
 * where else it looks, and the config file it reads it from.
 */
static void
cmd_help_print_socket(FILE *f, const struct client_options *opts)
{
	struct client_socket	 where;
	char			*file;

	client_socket_find(opts, &where);
	fprintf(f, "\nsocket: %s", where.paths[0]);
	if (where.count > 1)
		fprintf(f, ", then %s", where.paths[1]);
	fprintf(f, " (%s)\n", where.source);
	client_socket_free(&where);
	fputs("  the first of: --socket PATH; $PROFILED_SOCKET; `socket` in the "
	    "config file;\n"
	    "  $XDG_RUNTIME_DIR/profiled.sock; without XDG_RUNTIME_DIR,\n"
	    "  /run/user/UID/profiled.sock, then "
	    "/tmp/profiled-UID/profiled.sock\n", f);
	file = config_default_file();
	fprintf(f, "config: %s\n  profilectl reads only `socket` from it; "
	    "profiled reads the rest\n",
	    file != NULL ? file : "none (no home directory)");
	free(file);
}

/* Every command with what it does, the options, the socket, the codes. */
static void
cmd_help_print_all(FILE *f, const struct client_options *opts)
{
	const struct cmd_entry	**entry;
	size_t			  i;
	int			  width = 0;

	for (entry = cmd_table; *entry != NULL; entry++) {
		if ((int)strlen((*entry)->name) > width)
			width = strlen((*entry)->name);
	}
	fprintf(f, CMD_USAGE_PREFIX "COMMAND [ARGS]\n"
	    "       profilectl --version\n"
	    "\n"
	    "commands:\n");
	for (entry = cmd_table; *entry != NULL; entry++)
		fprintf(f, "  %-*s  %s\n", width, (*entry)->name,
		    (*entry)->about);
	fprintf(f, "\noptions:\n");
	cmd_help_print_options(f, profilectl_options, cmd_common_options);
	cmd_help_print_socket(f, opts);
	fprintf(f, "\nexit status:\n");
	for (i = 0; i < sizeof cmd_help_exit_codes /
	    sizeof cmd_help_exit_codes[0]; i++) {
		fprintf(f, "  %d  %s\n", cmd_help_exit_codes[i].code,
		    cmd_help_exit_codes[i].about);
	}
	fprintf(f, "\nSee 'profilectl help COMMAND' for a command's options, "
	    "profilectl(1) for more.\n");
}

/* entry's usage line, what it does, and its options. */
static void
cmd_help_print(const struct cmd_entry *entry)
{
	char	*usage;

	usage = cmd_usage_arguments(entry);
	printf(CMD_USAGE_PREFIX "%s\n%s\n\noptions:\n", usage, entry->about);
	free(usage);
	cmd_help_print_options(stdout, entry->options, cmd_common_options);
}

/*
 * Print the help of entry, or of profilectl if entry is NULL, as JSON if
 * opts asks for it; returns 0.
 */
int
cmd_help_show(const struct cmd_entry *entry, const struct client_options *opts)
{
	if (opts->json)
		cmd_help_json(entry);
	else if (entry != NULL)
		cmd_help_print(entry);
	else
		cmd_help_print_all(stdout, opts);
	return CLIENT_EXIT_OK;
}

/*
 * No command was given: say so, and print the help on stderr, where a
 * usage error goes; returns 2.
 */
int
cmd_help_no_command(const struct client_options *opts)
{
	output_fail(CLIENT_EXIT_USAGE, "no command given");
	cmd_help_print_all(stderr, opts);
	return CLIENT_EXIT_USAGE;
}

static int
cmd_help_exec(struct cmd_args *args, struct client_options *opts)
{
	const struct cmd_entry	*entry = NULL;
	const char		*name;

	name = cmd_args_string(args, 0);
	if (name != NULL && (entry = cmd_find(name)) == NULL) {
		cmd_unknown(name);
		return cmd_usage(&cmd_help_entry);
	}
	return cmd_help_show(entry, opts);
}
