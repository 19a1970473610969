/*
 * profilectl: the command-line client of profiled.  It parses the global
 * options, finds the command in the table and runs it; each command sends
 * one request over the daemon's socket and prints the one response, for
 * people or, with --json, as one JSON value for scripts.
 */
#include <getopt.h>
#include <stdio.h>

#include "profiled.h"
#include "client.h"

/* Exit with rc, unless what went to stdout did not all get there. */
static int
profilectl_exit(int rc)
{
	/* A full disk or closed pipe must not pass for success. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		log_warnx("error writing to stdout");
		return CLIENT_EXIT_FAILURE;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option	 options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct client_options		 opts = { NULL, 0 };
	char				*help_argv[] = { "help", NULL };
	const struct cmd_entry		*entry;
	int				 ch;

	log_init("profilectl", 0);

	/* '+': stop at the command, whose own options are its business. */
	while ((ch = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
		switch (ch) {
		case 's':
			opts.socket_path = optarg;
			break;
		case 'j':
			opts.json = 1;
			break;
		case 'V':
			printf("profilectl %s\n", PROFILED_VERSION);
			return profilectl_exit(CLIENT_EXIT_OK);
		case 'h':
			return profilectl_exit(cmd_help_entry.exec(1, help_argv,
			    &opts));
		default:
			return cmd_bad_option(ch, argv, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return cmd_usage(NULL);
	if ((entry = cmd_find(argv[0])) == NULL) {
		log_warnx("unknown command: %s", argv[0]);
		return cmd_usage(NULL);
	}

	return profilectl_exit(entry->exec(argc, argv, &opts));
}
