/*
 * profilectl's command line, with no daemon behind it: every command's
 * --help exits 0 and lists each of its options with a line on what it
 * does, `help COMMAND` prints the same, `--help` lists every command, and
 * bad usage exits 2 with one line saying why, then the usage line.  The
 * options are spelled out here, not read from profilectl, so a help that
 * drops one fails.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(usage, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

#define USAGE_PREFIX	"usage: profilectl [--socket PATH] [--json] "

/* A command and what its --help must list besides --json and -h, --help. */
struct usage_command {
	char	name[16];
	char	usage[64];	/* its usage line after USAGE_PREFIX */
	char	options[4][24];	/* as --help names them; "" ends */
};

static struct usage_command usage_commands[] = {
	{ "add", "add ATTR ...", { "" } },
	{ "diff", "diff [--file] [--pending] [A [B]]",
	    { "--file", "--pending", "" } },
	{ "gc", "gc [--keep N] [--older-than DAYS] [-n] [--collect]",
	    { "--keep N", "--older-than DAYS", "-n, --dry-run", "--collect" } },
	{ "generations", "generations [--tree] [--all]",
	    { "--tree", "--all" } },
	{ "help", "help [COMMAND]", { "" } },
	{ "import", "import [--print] [--profile PATH]",
	    { "--print", "--profile PATH" } },
	{ "list", "list", { "" } },
	{ "log", "log [-f] [N]", { "-f, --follow", "" } },
	{ "remove", "remove ATTR ...", { "" } },
	{ "rollback", "rollback", { "" } },
	{ "show", "show [--file] [N]", { "--file", "" } },
	{ "status", "status", { "" } },
	{ "switch", "switch [--progress] [--to N]", { "--progress", "--to N" } },
	{ "wait", "wait [--timeout SECONDS]", { "--timeout SECONDS", "" } },
	{ "watch", "watch", { "" } },
};
#define USAGE_NCOMMANDS	(sizeof usage_commands / sizeof usage_commands[0])

/*
 * out has a line naming option, after only spaces, then at least two
 * spaces and a description.
 */
static void
assert_option_line(const char *out, const char *option)
{
	const char	*line, *end, *p;
	size_t		 len = strlen(option);

	for (line = out; *line != '\0'; line = end + (*end == '\n')) {
		end = strchrnul(line, '\n');
		for (p = line; *p == ' '; p++)
			/* nothing */;
		if (p == line || (size_t)(end - p) <= len + 2 ||
		    strncmp(p, option, len) != 0 || strncmp(p + len, "  ", 2) != 0)
			continue;
		for (p += len; *p == ' '; p++)
			/* nothing */;
		if (p < end)
			return;
	}
	cr_assert_fail("no line describes %s in:\n%s", option, out);
}

ParameterizedTestParameters(usage, command_help)
{
	return cr_make_param_array(struct usage_command, usage_commands,
	    USAGE_NCOMMANDS);
}

ParameterizedTest(const struct usage_command *c, usage, command_help)
{
	struct run	 r, help;
	char		*usage;
	size_t		 i;

	harness_ctl(&r, c->name, "--help", NULL);
	cr_assert_eq(r.status, 0, "%s --help exited %d: %s", c->name, r.status,
	    r.err);
	cr_assert_str_empty(r.err, "%s --help wrote to stderr", c->name);
	xasprintf(&usage, USAGE_PREFIX "%s\n", c->usage);
	cr_assert(strncmp(r.out, usage, strlen(usage)) == 0,
	    "%s --help does not start with \"%s\": %s", c->name, usage, r.out);
	cr_assert(r.out[strlen(usage)] != '\n' && r.out[strlen(usage)] != '\0',
	    "%s --help has no description after its usage: %s", c->name,
	    r.out);
	for (i = 0; i < 4 && c->options[i][0] != '\0'; i++)
		assert_option_line(r.out, c->options[i]);
	assert_option_line(r.out, "--json");
	assert_option_line(r.out, "-h, --help");

	/* The same from -h, and from help COMMAND. */
	harness_ctl(&help, c->name, "-h", NULL);
	cr_assert_eq(help.status, 0);
	cr_assert_str_eq(help.out, r.out, "%s -h differs from --help", c->name);
	harness_run_free(&help);
	harness_ctl(&help, "help", c->name, NULL);
	cr_assert_eq(help.status, 0, "help %s: %s", c->name, help.err);
	cr_assert_str_eq(help.out, r.out, "help %s differs from %s --help",
	    c->name, c->name);
	harness_run_free(&help);
	harness_run_free(&r);
	free(usage);
}

/* Help is what was asked for even when the rest of the line is wrong. */
Test(usage, help_wins_over_bad_values)
{
	struct run	 r, help;

	harness_ctl(&help, "help", "switch", NULL);
	harness_ctl(&r, "switch", "--to", "x", "extra", "--help", NULL);
	cr_assert_eq(r.status, 0, "switch --to x extra --help: %s", r.err);
	cr_assert_str_eq(r.out, help.out);
	harness_run_free(&r);
	harness_run_free(&help);
}

/* profilectl --help and help: every command with a line, and its options. */
Test(usage, help_lists_every_command)
{
	static const char	*global[] = {
		"--socket PATH", "-V, --version", "--json", "-h, --help"
	};
	const struct json	*entry;
	struct json		*commands;
	struct run		 r, help;
	size_t			 i;

	harness_ctl(&r, "--help", NULL);
	cr_assert_eq(r.status, 0, "--help: %s", r.err);
	harness_ctl(&help, "help", NULL);
	cr_assert_eq(help.status, 0, "help: %s", help.err);
	cr_assert_str_eq(help.out, r.out, "help differs from --help");
	for (i = 0; i < USAGE_NCOMMANDS; i++)
		assert_option_line(r.out, usage_commands[i].name);
	for (i = 0; i < sizeof global / sizeof global[0]; i++)
		assert_option_line(r.out, global[i]);

	/* A command this file does not know would go untested. */
	commands = harness_ctl_json("help", NULL);
	cr_assert_eq(commands->type, JSON_ARRAY);
	cr_assert_eq(commands->count, USAGE_NCOMMANDS,
	    "profilectl has %zu commands, this test knows %zu", commands->count,
	    USAGE_NCOMMANDS);
	for (i = 0; i < commands->count; i++) {
		entry = commands->items[i];
		cr_assert_str_eq(harness_string(entry, "name"),
		    usage_commands[i].name);
		cr_assert_str_eq(harness_string(entry, "usage"),
		    usage_commands[i].usage);
	}
	json_free(commands);
	harness_run_free(&help);
	harness_run_free(&r);
}

/* switch --help --json: the switch entry alone, with every option. */
Test(usage, help_json)
{
	static const char	*names[] = { "progress", "to", "json", "help" };
	const struct json	*options, *to;
	struct json		*help;
	size_t			 i;

	help = harness_ctl_json("switch", "--help", NULL);
	cr_assert_eq(help->type, JSON_ARRAY);
	cr_assert_eq(help->count, 1);
	cr_assert_str_eq(harness_string(help->items[0], "name"), "switch");
	options = json_get(help->items[0], "options");
	cr_assert(options != NULL && options->type == JSON_ARRAY);
	cr_assert_eq(options->count, 4);
	for (i = 0; i < 4; i++)
		cr_assert_str_eq(harness_string(options->items[i], "name"),
		    names[i]);
	to = options->items[1];
	cr_assert_str_eq(harness_string(to, "value"), "N");
	cr_assert(harness_string(to, "about")[0] != '\0');
	json_free(help);
}

/* A command line that is not right, and what profilectl must say. */
struct usage_error {
	char	args[3][24];	/* after --socket PATH; "" ends */
	char	why[48];	/* stderr's first line, after "profilectl: " */
	char	usage[48];	/* the usage line after USAGE_PREFIX */
};

ParameterizedTestParameters(usage, errors)
{
	static struct usage_error cases[] = {
		{ { "--nope" }, "unknown option --nope", "COMMAND [ARGS]" },
		{ { "-x" }, "unknown option -x", "COMMAND [ARGS]" },
		{ { "--socket" }, "option --socket needs an argument",
		    "COMMAND [ARGS]" },
		{ { "frob" }, "unknown command: frob", "COMMAND [ARGS]" },
		{ { "switch", "--nope" }, "unknown option --nope",
		    "switch [--progress] [--to N]" },
		{ { "switch", "-x" }, "unknown option -x",
		    "switch [--progress] [--to N]" },
		{ { "switch", "--to" }, "option --to needs an argument",
		    "switch [--progress] [--to N]" },
		{ { "switch", "--to", "0" }, "bad generation number: 0",
		    "switch [--progress] [--to N]" },
		{ { "switch", "--to=4294967296" },
		    "bad generation number: 4294967296",
		    "switch [--progress] [--to N]" },
		{ { "switch", "extra" }, "unexpected argument: extra",
		    "switch [--progress] [--to N]" },
		{ { "wait", "--timeout" }, "option --timeout needs an argument",
		    "wait [--timeout SECONDS]" },
		{ { "wait", "--timeout", "-1" }, "bad timeout: -1",
		    "wait [--timeout SECONDS]" },
		{ { "wait", "--timeout", "31536001" }, "bad timeout: 31536001",
		    "wait [--timeout SECONDS]" },
		{ { "log", "x" }, "bad generation number: x", "log [-f] [N]" },
		{ { "log", "0" }, "bad generation number: 0", "log [-f] [N]" },
		{ { "log", "1", "2" }, "unexpected argument: 2", "log [-f] [N]" },
		{ { "log", "-f", "3" }, "unexpected argument: 3",
		    "log [-f] [N]" },
		{ { "log", "-fz" }, "unknown option -z", "log [-f] [N]" },
		{ { "status", "--json=yes" }, "option --json takes no value",
		    "status" },
		{ { "status", "now" }, "unexpected argument: now", "status" },
		{ { "help", "frob" }, "unknown command: frob",
		    "help [COMMAND]" },
		{ { "help", "switch", "log" }, "unexpected argument: log",
		    "help [COMMAND]" },
	};

	return cr_make_param_array(struct usage_error, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(const struct usage_error *c, usage, errors)
{
	struct run	 r;
	char		*want;

#define USAGE_ARG(i)	(c->args[i][0] != '\0' ? c->args[i] : NULL)
	harness_ctl(&r, USAGE_ARG(0), USAGE_ARG(1), USAGE_ARG(2), NULL);
	xasprintf(&want, "profilectl: %s\n" USAGE_PREFIX "%s\n", c->why,
	    c->usage);
	cr_assert_eq(r.status, 2, "%s %s: exited %d, not 2: %s", c->args[0],
	    c->args[1], r.status, r.err);
	cr_assert_str_eq(r.err, want, "%s %s", c->args[0], c->args[1]);
	cr_assert_str_empty(r.out, "%s %s wrote to stdout", c->args[0],
	    c->args[1]);
	harness_run_free(&r);
	free(want);
}
