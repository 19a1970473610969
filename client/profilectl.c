/*
 * profilectl: the command-line client of profiled.  It parses the global
 * options, finds the command in the table and runs it; each command sends
 * one request over the daemon's socket and prints the one response, for
 * people or, with --json, as one JSON value for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

/* The options before the command, besides --json and --help. */
const struct cmd_option profilectl_options[] = {
	{ "socket", 0, "PATH",
	    "talk to profiled at PATH instead of looking for its socket" },
	{ "version", 'V', NULL, "print profilectl's version" },
	{ NULL, 0, NULL, NULL }
};

/*
 * Exit with rc (a failure's own exit code, and with json its error object
 * on stdout), unless what went to stdout did not all get there.
 */
static int
profilectl_exit(int rc, int json)
{
	rc = output_exit(rc, json);
	/* A full disk or closed pipe must not pass for success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_warnx("error writing to stdout");
		return CLIENT_EXIT_FAILURE;
	}
	return rc;
}

/*
 * Whether --json comes before the command, for when the options could not
 * be parsed: a script that asked for JSON gets its error as JSON even when
 * its own command line is what is wrong.
 */
static int
profilectl_wants_json(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			return 1;
		if (strcmp(argv[i], "--") == 0 || argv[i][0] != '-')
			break;
		if (strcmp(argv[i], "--socket") == 0)
			i++;	/* its value, whatever it looks like */
	}
	return 0;
}

/* Run the command argv[0] with its arguments, or its --help. */
static int
profilectl_run(int argc, char **argv, struct client_options *opts)
{
	const struct cmd_entry	*entry;
	struct cmd_args		*args;
	int			 rc;

	if ((entry = cmd_find(argv[0])) == NULL) {
		cmd_unknown(argv[0]);
		return cmd_usage(NULL);
	}
	if ((args = cmd_parse(entry, argc, argv, opts)) == NULL)
		return CLIENT_EXIT_USAGE;
	if (cmd_args_has(args, "help"))
		rc = cmd_help_show(entry, opts);
	else
		rc = entry->exec(args, opts);
	cmd_args_free(args);
	return rc;
}

int
main(int argc, char **argv)
{
	struct client_options	 opts = { NULL, 0 };
	struct cmd_args		*args;
	char			*cause;
	int			 rc;

	log_init("profilectl", 0);

	/* In order: the options after the command are the command's. */
	args = cmd_args_parse(profilectl_options, argc, argv, 1, &cause);
	if (args == NULL) {
		output_fail(CLIENT_EXIT_USAGE, "%s", cause);
		free(cause);
		return profilectl_exit(cmd_usage(NULL),
		    profilectl_wants_json(argc, argv));
	}
	opts.socket_path = cmd_args_get(args, "socket");
	opts.json = cmd_args_has(args, "json");
	if (cmd_args_has(args, "version")) {
		printf("profilectl %s\n", PROFILED_VERSION);
		rc = CLIENT_EXIT_OK;
	} else if (cmd_args_has(args, "help"))
		rc = cmd_help_show(NULL, &opts);
	else if (cmd_args_count(args) == 0)
		rc = cmd_help_no_command(&opts);
	else {
		rc = profilectl_run(cmd_args_count(args),
		    cmd_args_values(args), &opts);
	}
	cmd_args_free(args);
	return profilectl_exit(rc, opts.json);
}
