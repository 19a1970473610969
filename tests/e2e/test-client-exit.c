/*
 * profilectl's exit codes, the same for every command: 0 success, 1 the
 * operation failed (a failed build, a request the daemon refused), 2 bad
 * usage, 3 profiled not running or not reachable, 4 timed out.  Each
 * failure says why in one line on stderr and, with --json, as
 * {"error": ..., "exit_code": N} on stdout.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(client_exit, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

#define EXIT_ARGS	6

/*
 * Run profilectl with the arguments (NULL-terminated, at most EXIT_ARGS),
 * then again with --json first: both must exit code, the first saying why
 * on stderr's first line, which has what in it, and the second printing
 * the same why on stdout as JSON with the exit code.
 */
static void
assert_exit(int code, const char *what, ...)
{
	const char	*args[EXIT_ARGS + 1];
	struct json	*error;
	struct run	 r, j;
	char		*why, *cause = NULL;
	va_list		 ap;
	int		 n = 0;

	va_start(ap, what);
	while ((args[n] = va_arg(ap, const char *)) != NULL) {
		cr_assert(n < EXIT_ARGS, "too many arguments");
		n++;
	}
	va_end(ap);
	while (n < EXIT_ARGS)
		args[++n] = NULL;

	harness_ctl(&r, args[0], args[1], args[2], args[3], args[4], args[5],
	    NULL);
	cr_assert_eq(r.status, code, "profilectl %s %s exited %d, not %d: %s",
	    args[0], args[1] != NULL ? args[1] : "", r.status, code, r.err);
	cr_assert(strncmp(r.err, "profilectl: ", 12) == 0 &&
	    strchr(r.err, '\n') != NULL, "stderr: %s", r.err);
	why = strndup(r.err + 12, strchr(r.err, '\n') - r.err - 12);
	cr_assert(strstr(why, what) != NULL, "\"%s\" does not say \"%s\"", why,
	    what);

	harness_ctl(&j, "--json", args[0], args[1], args[2], args[3], args[4],
	    args[5], NULL);
	cr_assert_eq(j.status, code, "with --json, exited %d", j.status);
	error = json_parse(j.out, strlen(j.out), &cause);
	cr_assert_not_null(error, "--json %s: stdout is not JSON (%s): %s",
	    args[0], cause, j.out);
	cr_assert_eq(error->type, JSON_OBJECT);
	cr_assert_str_eq(harness_string(error, "error"), why);
	cr_assert_eq(harness_number(error, "exit_code"), code);
	json_free(error);
	free(why);
	harness_run_free(&j);
	harness_run_free(&r);
}

Test(client_exit, daemon_not_running_is_3)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	assert_exit(3, "profiled is not running", "status", NULL);
	assert_exit(3, "not running", "switch", NULL);
	assert_exit(3, "not running", "log", "-f", NULL);

	/* A socket file left behind by a daemon that died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness.socket);
	cr_assert(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "bind: %s", strerror(errno));
	close(fd);
	assert_exit(3, "not running", "generations", NULL);
}

Test(client_exit, usage_is_2)
{
	/* profilectl's own options, before the command, as a script's. */
	assert_exit(2, "no command given", NULL);
	assert_exit(2, "unknown option --nope", "--nope", NULL);
	assert_exit(2, "option --socket needs an argument", "--socket", NULL);
	assert_exit(2, "bad generation number: x", "switch", "--to", "x",
	    NULL);
	assert_exit(2, "unknown option --nope", "status", "--nope", NULL);
	assert_exit(2, "unknown command: frob", "frob", NULL);
	assert_exit(2, "bad timeout: soon", "wait", "--timeout", "soon", NULL);
}

Test(client_exit, refused_and_failed_are_1_success_is_0)
{
	struct run	r;

	harness_start();
	harness_wait_generation(1);
	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0, "status: %s", r.err);
	harness_run_free(&r);

	assert_exit(1, "99", "switch", "--to", "99", NULL);
	assert_exit(1, "there is no generation 99", "log", "99", NULL);

	harness_save_packages("broken");
	json_free(harness_wait_built(harness_packages("broken")));
	assert_exit(1, "broken-1.0", "switch", NULL);
	assert_exit(1, "the last build failed", "wait", NULL);
}

/* A failed wait --json is the status, with why and the code beside it. */
Test(client_exit, failed_wait_json_keeps_the_status)
{
	struct json	*status;
	struct run	 r;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("broken");
	json_free(harness_wait_built(harness_packages("broken")));
	harness_ctl(&r, "--json", "wait", NULL);
	cr_assert_eq(r.status, 1);
	status = json_parse(r.out, strlen(r.out), NULL);
	cr_assert_not_null(status, "%s", r.out);
	cr_assert_str_eq(harness_string(status, "state"), "idle");
	cr_assert_eq(harness_number(status, "exit_code"), 1);
	cr_assert(strstr(harness_string(status, "error"), "broken-1.0") != NULL,
	    "%s", r.out);
	json_free(status);
	harness_run_free(&r);
}

Test(client_exit, wait_timeout_is_4)
{
	harness_start();
	harness_wait_generation(1);
	harness_save(harness_gated_packages("hello", "never"));
	assert_exit(4, "timed out after 1 s", "wait", "--timeout", "1", NULL);
}

/*
 * Every command that asks the daemon, read from profilectl's own table so
 * that a new one is held to it too, exits 3 when none runs.
 */
Test(client_exit, every_command_without_a_daemon_is_3)
{
	struct json	*help;
	const char	*name;
	size_t		 i, asked = 0;

	help = harness_ctl_json("help", NULL);
	for (i = 0; i < help->count; i++) {
		name = harness_string(help->items[i], "name");
		if (strcmp(name, "help") == 0)
			continue;	/* the one that never asks */
		assert_exit(3, "profiled is not running", name, NULL);
		asked++;
	}
	cr_assert_geq(asked, 8, "only %zu commands", asked);
	json_free(help);
}

/* The daemon going away under a client is "not reachable" too. */
Test(client_exit, daemon_gone_is_3)
{
	struct harness_background	 watch, json;
	struct json			*error;
	char				*err, *out, *last;

	harness_start();
	harness_wait_generation(1);
	harness_background(&watch, "watch", NULL);
	harness_background(&json, "--json", "watch", NULL);
	free(harness_background_wait(&watch, "idle, generation 1"));
	free(harness_background_wait(&json, "\"event\": \"status\""));
	harness_stop();
	cr_assert_eq(harness_background_exit(&watch, 0), 3,
	    "watch did not exit 3 when profiled stopped");
	err = harness_read(watch.err);
	cr_assert(strstr(err, "lost connection to profiled") != NULL, "%s",
	    err);
	free(err);

	/* With --json, the stream ends with the error as one more line. */
	cr_assert_eq(harness_background_exit(&json, 0), 3,
	    "watch --json did not exit 3 when profiled stopped");
	out = harness_read(json.out);
	cr_assert(strlen(out) > 1 && out[strlen(out) - 1] == '\n', "%s", out);
	out[strlen(out) - 1] = '\0';
	last = strrchr(out, '\n') != NULL ? strrchr(out, '\n') + 1 : out;
	error = json_parse(last, strlen(last), NULL);
	cr_assert_not_null(error, "watch --json's last line is not JSON: %s",
	    last);
	cr_assert(strstr(harness_string(error, "error"),
	    "lost connection to profiled") != NULL, "%s", last);
	cr_assert_eq(harness_number(error, "exit_code"), 3);
	json_free(error);
	free(out);
}
