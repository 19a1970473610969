/*
 * profilectl's command line, with no daemon behind it: bad usage exits 2
 * with one line saying why, then the usage line.
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
