/*
 * The command table and what every command shares: finding a command by
 * name, the usage line, and parsing the arguments of a command whose only
 * option is --json.  Usage errors print why, then the usage line, and exit
 * 2, so scripts can tell a typo from a daemon that said no.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

const struct cmd_entry *cmd_table[] = {
	&cmd_generations_entry,
	&cmd_help_entry,
	&cmd_log_entry,
	&cmd_rollback_entry,
	&cmd_status_entry,
	&cmd_switch_entry,
	&cmd_wait_entry,
	&cmd_watch_entry,
	NULL
};

/* The command called name, or NULL. */
const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry	**entry;

	for (entry = cmd_table; *entry != NULL; entry++) {
		if (strcmp((*entry)->name, name) == 0)
			return *entry;
	}
	return NULL;
}

/* Print entry's usage line (the program's if entry is NULL); returns 2. */
int
cmd_usage(const struct cmd_entry *entry)
{
	fprintf(stderr, CMD_USAGE_PREFIX "%s\n",
	    entry == NULL ? "COMMAND [ARGS]" : entry->usage);
	return CLIENT_EXIT_USAGE;
}

/*
 * Report the option getopt_long just refused (ch is ':' or '?', the
 * optstring starting with ':') and print the usage line; returns 2.
 */
int
cmd_bad_option(int ch, char **argv, const struct cmd_entry *entry)
{
	if (ch == ':')
		log_warnx("option %s needs an argument", argv[optind - 1]);
	else if (optopt != 0)
		log_warnx("unknown option -%c", optopt);
	else
		log_warnx("unknown option %s", argv[optind - 1]);
	return cmd_usage(entry);
}

/*
 * Parse the arguments of a command whose only option is --json and which
 * takes at most max_args other arguments (argv[0] is the command's name).
 * Returns the index in argv of the first of those, or -1 after printing
 * the usage line.
 */
int
cmd_parse_flags(int argc, char **argv, struct client_options *opts,
    const struct cmd_entry *entry, int max_args)
{
	static const struct option	 options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", options, NULL)) != -1) {
		switch (ch) {
		case 'j':
			opts->json = 1;
			break;
		default:
			cmd_bad_option(ch, argv, entry);
			return -1;
		}
	}
	if (argc - optind > max_args) {
		log_warnx("unexpected argument: %s", argv[optind + max_args]);
		cmd_usage(entry);
		return -1;
	}
	return optind;
}

/*
 * Parse s, all digits, as a whole number from min to max into *n; -1 if
 * it is not one.
 */
int
cmd_parse_number(const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *n)
{
	unsigned long long	 value;
	char			*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	value = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0 || value < min || value > max)
		return -1;
	*n = value;
	return 0;
}
