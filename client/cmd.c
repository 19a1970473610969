/*
 * The command table and what every command shares: finding a command by
 * name, its usage line, and parsing its arguments against the options its
 * entry declares, as tmux's arguments.c does, so no command runs getopt
 * itself.  Usage errors print why, then the usage line, and exit 2, so
 * scripts can tell a typo from a daemon that said no.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

/* The options as given: the table's, then cmd_common_options'. */
struct cmd_args {
	const struct cmd_option	 *options;
	int			  noptions;	/* the table's */
	int			  total;	/* and the common ones */
	int			 *given;	/* for each option */
	const char		**value;	/* the last value given it */
	int			  argc;		/* the arguments not options */
	char			**argv;
};

/*
 * getopt_long returns CMD_ARGS_LONG + i for option i given by its long
 * name: above any letter, so an option without a letter is told apart.
 */
#define CMD_ARGS_LONG	256

const struct cmd_entry *cmd_table[] = {
	&cmd_add_entry,
	&cmd_diff_entry,
	&cmd_gc_entry,
	&cmd_generations_entry,
	&cmd_help_entry,
	&cmd_import_entry,
	&cmd_list_entry,
	&cmd_log_entry,
	&cmd_remove_entry,
	&cmd_rollback_entry,
	&cmd_show_entry,
	&cmd_status_entry,
	&cmd_switch_entry,
	&cmd_wait_entry,
	&cmd_watch_entry,
	NULL
};

/* The options profilectl and every command take, besides their own. */
const struct cmd_option cmd_common_options[] = {
	{ "json", 0, NULL, "print JSON, for scripts" },
	{ "help", 'h', NULL, "print this help" },
	{ NULL, 0, NULL, NULL }
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

/* Longer names than this are not typos of a command. */
#define CMD_TYPO_MAX	32

/*
 * The edit distance from a to b, counting a swap of two neighbours as one
 * edit (optimal string alignment): "stauts" is 1 from "status".
 */
static size_t
cmd_distance(const char *a, const char *b)
{
	size_t	d[CMD_TYPO_MAX + 1][CMD_TYPO_MAX + 1];
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, best;

	assert(la <= CMD_TYPO_MAX && lb <= CMD_TYPO_MAX);
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] != b[j - 1];
			best = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/*
 * The command name was most likely meant for, or NULL: the one command it
 * begins, else the nearest within two edits (fewer than its length, so
 * that "x" suggests nothing).
 */
static const struct cmd_entry *
cmd_closest(const char *name)
{
	const struct cmd_entry	**entry, *prefixed = NULL, *nearest = NULL;
	size_t			  len = strlen(name), distance, best = 3;
	int			  prefixes = 0;

	if (len == 0 || len > CMD_TYPO_MAX)
		return NULL;
	for (entry = cmd_table; *entry != NULL; entry++) {
		if (strncmp((*entry)->name, name, len) == 0) {
			prefixed = *entry;
			prefixes++;
		}
		distance = cmd_distance(name, (*entry)->name);
		if (distance < best && distance < len) {
			best = distance;
			nearest = *entry;
		}
	}
	if (prefixes == 1 && len >= 2)
		return prefixed;
	return nearest;
}

/* Say name is not a command, suggesting the one most likely meant. */
void
cmd_unknown(const char *name)
{
	const struct cmd_entry	*closest = cmd_closest(name);

	if (closest != NULL) {
		output_fail(CLIENT_EXIT_USAGE, "unknown command: %s (did you "
		    "mean %s?)", name, closest->name);
	} else
		output_fail(CLIENT_EXIT_USAGE, "unknown command: %s", name);
}

/*
 * entry's part of the usage line, made from its table: its name, its
 * options, then its other arguments ("COMMAND [ARGS]" if entry is NULL).
 * The caller frees it.
 */
char *
cmd_usage_arguments(const struct cmd_entry *entry)
{
	const struct cmd_option	*option;
	char			*usage;
	size_t			 len;
	FILE			*f;

	if (entry == NULL)
		return xstrdup("COMMAND [ARGS]");
	if ((f = open_memstream(&usage, &len)) == NULL)
		fatal("open_memstream");
	fputs(entry->name, f);
	for (option = entry->options; option != NULL && option->name != NULL;
	    option++) {
		if (option->letter != 0)
			fprintf(f, " [-%c", option->letter);
		else
			fprintf(f, " [--%s", option->name);
		if (option->value != NULL)
			fprintf(f, " %s", option->value);
		fputs("]", f);
	}
	if (entry->args.upper > 0) {
		fprintf(f, entry->args.lower > 0 ? " %s" : " [%s]",
		    entry->args.name);
		if (entry->args.upper == CMD_ARGS_MANY)
			fputs(" ...", f);
	}
	if (fclose(f) != 0)
		fatal("open_memstream");
	return usage;
}

/* Print entry's usage line (the program's if entry is NULL); returns 2. */
int
cmd_usage(const struct cmd_entry *entry)
{
	char	*usage;

	usage = cmd_usage_arguments(entry);
	fprintf(stderr, CMD_USAGE_PREFIX "%s\n", usage);
	free(usage);
	return CLIENT_EXIT_USAGE;
}

/* How many options table declares. */
static int
cmd_args_count_options(const struct cmd_option *table)
{
	int	n = 0;

	while (table != NULL && table[n].name != NULL)
		n++;
	return n;
}

/* Option i of args: its table's, then a common one. */
static const struct cmd_option *
cmd_args_option(const struct cmd_args *args, int i)
{
	if (i < args->noptions)
		return &args->options[i];
	return &cmd_common_options[i - args->noptions];
}

/* The getopt_long tables for args' options. */
static void
cmd_args_getopt(const struct cmd_args *args, int in_order,
    struct option **longopts, char **optstring)
{
	const struct cmd_option	*option;
	int			 i;
	char			*s;

	*longopts = xcalloc(args->total + 1, sizeof **longopts);
	*optstring = s = xcalloc(2 * args->total + 3, 1);
	if (in_order)
		*s++ = '+';
	*s++ = ':';
	for (i = 0; i < args->total; i++) {
		option = cmd_args_option(args, i);
		(*longopts)[i].name = option->name;
		(*longopts)[i].has_arg = option->value != NULL ?
		    required_argument : no_argument;
		(*longopts)[i].val = CMD_ARGS_LONG + i;
		if (option->letter != 0) {
			*s++ = option->letter;
			if (option->value != NULL)
				*s++ = ':';
		}
	}
}

/* The index of the option getopt_long returned as ch. */
static int
cmd_args_index(const struct cmd_args *args, int ch)
{
	int	i;

	if (ch >= CMD_ARGS_LONG)
		return ch - CMD_ARGS_LONG;
	for (i = 0; i < args->total; i++) {
		if (cmd_args_option(args, i)->letter == ch)
			return i;
	}
	fatalx("getopt_long returned unknown option %d", ch);
}

/* Why getopt_long refused argv's option, having returned ch. */
static char *
cmd_args_cause(const struct cmd_args *args, int ch, char **argv)
{
	char	*cause;

	if (ch == ':') {
		xasprintf(&cause, "option %s needs an argument",
		    argv[optind - 1]);
	} else if (optopt >= CMD_ARGS_LONG) {
		xasprintf(&cause, "option --%s takes no value",
		    cmd_args_option(args, optopt - CMD_ARGS_LONG)->name);
	} else if (optopt != 0)
		xasprintf(&cause, "unknown option -%c", optopt);
	else
		xasprintf(&cause, "unknown option %s", argv[optind - 1]);
	return cause;
}

/*
 * Parse argv (argv[0] is the program's or the command's name) against
 * options and cmd_common_options.  getopt_long does the work, so options
 * go before or after the other arguments, as --name=value or abbreviated,
 * as they always have; with in_order, the first argument that is not an
 * option ends the options (the command's own follow it).  NULL, with
 * *cause saying why, if an option is unknown or lacks its value.
 */
struct cmd_args *
cmd_args_parse(const struct cmd_option *options, int argc, char **argv,
    int in_order, char **cause)
{
	struct cmd_args	*args;
	struct option	*longopts;
	char		*optstring;
	int		 ch, i;

	args = xcalloc(1, sizeof *args);
	args->options = options;
	args->noptions = cmd_args_count_options(options);
	args->total = args->noptions +
	    cmd_args_count_options(cmd_common_options);
	args->given = xcalloc(args->total, sizeof *args->given);
	args->value = xcalloc(args->total, sizeof *args->value);
	cmd_args_getopt(args, in_order, &longopts, &optstring);

	*cause = NULL;
	optind = 0;
	while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (ch == ':' || ch == '?') {
			*cause = cmd_args_cause(args, ch, argv);
			break;
		}
		i = cmd_args_index(args, ch);
		args->given[i] = 1;
		args->value[i] = optarg;
	}
	free(longopts);
	free(optstring);
	if (*cause != NULL) {
		cmd_args_free(args);
		return NULL;
	}
	args->argc = argc - optind;
	args->argv = argv + optind;
	return args;
}

/*
 * Parse a command's argv against its entry and take --json from it.  NULL
 * after printing why and the usage line if it is not what entry accepts.
 */
struct cmd_args *
cmd_parse(const struct cmd_entry *entry, int argc, char **argv,
    struct client_options *opts)
{
	struct cmd_args	*args;
	char		*cause;

	if ((args = cmd_args_parse(entry->options, argc, argv, 0,
	    &cause)) == NULL) {
		output_fail(CLIENT_EXIT_USAGE, "%s", cause);
		free(cause);
		cmd_usage(entry);
		return NULL;
	}
	if (cmd_args_has(args, "json"))
		opts->json = 1;
	/* Whoever asks for help gets it, whatever else is on the line. */
	if (cmd_args_has(args, "help"))
		return args;
	if (args->argc > entry->args.upper)
		output_fail(CLIENT_EXIT_USAGE, "unexpected argument: %s",
		    args->argv[entry->args.upper]);
	else if (args->argc < entry->args.lower)
		output_fail(CLIENT_EXIT_USAGE, "missing argument: %s",
		    entry->args.name);
	else
		return args;
	cmd_args_free(args);
	cmd_usage(entry);
	return NULL;
}

void
cmd_args_free(struct cmd_args *args)
{
	if (args == NULL)
		return;
	free(args->given);
	free(args->value);
	free(args);
}

/* The index of the option called name; a name no table has is a bug. */
static int
cmd_args_find(const struct cmd_args *args, const char *name)
{
	int	i;

	for (i = 0; i < args->total; i++) {
		if (strcmp(cmd_args_option(args, i)->name, name) == 0)
			return i;
	}
	fatalx("no option --%s", name);
}

/* Whether option name was given. */
int
cmd_args_has(const struct cmd_args *args, const char *name)
{
	return args->given[cmd_args_find(args, name)];
}

/* The value last given option name, or NULL if it was not given. */
const char *
cmd_args_get(const struct cmd_args *args, const char *name)
{
	int	i = cmd_args_find(args, name);

	assert(cmd_args_option(args, i)->value != NULL);
	return args->value[i];
}

/* How many arguments are not options. */
int
cmd_args_count(const struct cmd_args *args)
{
	return args->argc;
}

/* The argument that is not an option at index i, or NULL if none is. */
const char *
cmd_args_string(const struct cmd_args *args, int i)
{
	if (i < 0 || i >= args->argc)
		return NULL;
	return args->argv[i];
}

/* The arguments that are not options, NULL-terminated as argv is. */
char **
cmd_args_values(const struct cmd_args *args)
{
	return args->argv;
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
