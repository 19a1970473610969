/*
 * profilectl's help, past what test-usage.c holds it to: --help (and no
 * command at all) names where the socket and config are and what each
 * exit code means, and a mistyped command is answered with the one meant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(client_help, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* What the help says about the exit codes, one line each. */
static const char *const help_exit_lines[] = {
	"  0  success\n",
	"  1  the operation failed (a failed build, a refused request)\n",
	"  2  usage error\n",
	"  3  profiled is not running or not reachable\n",
	"  4  timed out (wait --timeout)\n",
};

/* text is profilectl's whole help: commands, socket, config, codes. */
static void
assert_whole_help(const char *text, const char *socket_line)
{
	struct json	*help;
	char		*want;
	size_t		 i;

	help = harness_ctl_json("help", NULL);
	for (i = 0; i < help->count; i++) {
		xasprintf(&want, "\n  %s ", harness_string(help->items[i],
		    "name"));
		cr_assert(strstr(text, want) != NULL, "no line for %s in:\n%s",
		    want + 3, text);
		free(want);
	}
	json_free(help);
	cr_assert(strstr(text, socket_line) != NULL, "no \"%s\" in:\n%s",
	    socket_line, text);
	xasprintf(&want, "config: %s/profiled/profiled.conf\n", harness.dir);
	cr_assert(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
	free(want);
	cr_assert(strstr(text, "\nexit status:\n") != NULL, "%s", text);
	for (i = 0; i < sizeof help_exit_lines / sizeof help_exit_lines[0];
	    i++)
		cr_assert(strstr(text, help_exit_lines[i]) != NULL,
		    "no \"%s\" in:\n%s", help_exit_lines[i], text);
}

Test(client_help, help_says_where_and_what_the_codes_mean)
{
	struct run	 r;
	char		*line, *ctl;

	harness_ctl(&r, "--help", NULL);
	cr_assert_eq(r.status, 0, "--help: %s", r.err);
	xasprintf(&line, "socket: %s (given by --socket)\n", harness.socket);
	assert_whole_help(r.out, line);
	free(line);
	harness_run_free(&r);

	/* Without --socket, where it would look and why. */
	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	harness_run(&r, ctl, "--help", NULL);
	cr_assert_eq(r.status, 0, "--help: %s", r.err);
	xasprintf(&line, "socket: %s/profiled.sock (in $XDG_RUNTIME_DIR)\n",
	    harness.dir);
	assert_whole_help(r.out, line);
	free(line);
	harness_run_free(&r);

	setenv("PROFILED_SOCKET", "/elsewhere/profiled.sock", 1);
	harness_run(&r, ctl, "--help", NULL);
	assert_whole_help(r.out, "socket: /elsewhere/profiled.sock "
	    "(from $PROFILED_SOCKET)\n");
	harness_run_free(&r);
	free(ctl);
}

/* No command: why, then the whole help, on stderr; a usage error. */
Test(client_help, no_command_prints_the_help)
{
	struct run	 r;
	char		*line;

	harness_ctl(&r, NULL);
	cr_assert_eq(r.status, 2, "no command exited %d", r.status);
	cr_assert_str_empty(r.out, "no command wrote to stdout: %s", r.out);
	cr_assert(strncmp(r.err, "profilectl: no command given\nusage: ", 36)
	    == 0, "%s", r.err);
	xasprintf(&line, "socket: %s (given by --socket)\n", harness.socket);
	assert_whole_help(r.err, line);
	free(line);
	harness_run_free(&r);
}

/* A typed command, and the one profilectl suggests (or none). */
struct help_typo {
	char	typed[16];
	char	meant[16];	/* "" when nothing is near enough */
};

Test(client_help, a_typo_names_the_command_meant)
{
	static const struct help_typo	 typos[] = {
		{ "stauts", "status" },
		{ "stats", "status" },
		{ "swich", "switch" },
		{ "rollbak", "rollback" },
		{ "gen", "generations" },
		{ "lgo", "log" },
		{ "frob", "" },
		{ "w", "" },
		{ "x", "" },
	};
	struct run	 r;
	const char	*want;
	char		*line;
	size_t		 i;

	for (i = 0; i < sizeof typos / sizeof typos[0]; i++) {
		harness_ctl(&r, typos[i].typed, NULL);
		cr_assert_eq(r.status, 2, "%s exited %d", typos[i].typed,
		    r.status);
		if (typos[i].meant[0] != '\0')
			xasprintf(&line, "profilectl: unknown command: %s "
			    "(did you mean %s?)\n", typos[i].typed,
			    typos[i].meant);
		else
			xasprintf(&line, "profilectl: unknown command: %s\n",
			    typos[i].typed);
		cr_assert(strncmp(r.err, line, strlen(line)) == 0,
		    "%s: \"%s\", not \"%s\"", typos[i].typed, r.err, line);
		free(line);
		harness_run_free(&r);
	}

	harness_ctl(&r, "help", "stauts", NULL);
	cr_assert_eq(r.status, 2);
	want = "profilectl: unknown command: stauts (did you mean status?)\n";
	cr_assert(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
	harness_run_free(&r);
}
