/*
 * profilectl with a person at the keyboard: ^C during a switch leaves the
 * build to profiled and says how to go back; a switch's result is printed
 * once; log -f on an idle daemon says it waits for the next build; status
 * says when auto_switch is off and what to run; colour only on a
 * terminal, and never with NO_COLOR.
 */
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(client_interaction, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

static int
is_building(const struct json *status, const void *arg)
{
	return strcmp(harness_string(status, "state"), "building") == 0;
}

/* Open the gate name, made by harness_gated_packages. */
static void
open_gate(const char *name)
{
	char	*gate;

	xasprintf(&gate, "%s/gates/%s", harness.dir, name);
	harness_write(gate, "");
	free(gate);
}

Test(client_interaction, interrupted_switch_leaves_the_build_to_profiled)
{
	struct harness_background	 sw;
	char				*err;

	/* Only the switch builds: the save's own build waits a minute. */
	harness_config_add("debounce_ms = 60000");
	harness_start();
	harness_wait_generation(1);
	harness_write(harness.package_file,
	    harness_gated_packages("hello", "later"));
	harness_background(&sw, "switch", NULL);
	json_free(harness_wait(is_building, NULL, "the switch's build"));

	kill(sw.pid, SIGINT);
	cr_assert_eq(harness_background_exit(&sw, 0), 128 + SIGINT,
	    "switch did not die of the SIGINT: %s", harness_read(sw.err));
	err = harness_read(sw.err);
	cr_assert(strstr(err, "the build goes on in profiled") != NULL,
	    "^C does not say the build goes on: %s", err);
	cr_assert(strstr(err, "profilectl switch --to 1") != NULL,
	    "^C does not say how to go back to generation 1: %s", err);
	harness_assert_error(&(struct run){ 1, "", err }, "interrupted");
	free(err);

	/* It did go on, and was activated. */
	open_gate("later");
	json_free(harness_wait_generation(2));
}

Test(client_interaction, switch_result_is_printed_once)
{
	struct run	r;

	harness_config_add("debounce_ms = 60000");
	harness_start();
	harness_wait_generation(1);
	harness_write(harness.package_file,
	    harness_gated_packages("hello", "open"));
	open_gate("open");
	harness_ctl(&r, "switch", "--progress", NULL);
	cr_assert_eq(r.status, 0, "switch --progress: %s", r.err);
	cr_assert_str_eq(r.out, "generation 2 is active (new)\n");
	cr_assert(strstr(r.err, "building (switch)") != NULL, "%s", r.err);
	cr_assert_null(strstr(r.err, "is active"), "the progress repeats "
	    "the result: %s", r.err);
	harness_run_free(&r);
}

/* The background client's stderr, once it holds needle. */
static char *
wait_stderr(struct harness_background *bg, const char *needle)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	char		*text;

	for (;;) {
		text = harness_read(bg->err);
		if (strstr(text, needle) != NULL)
			return text;
		cr_assert(harness_clock_ms() < deadline, "no \"%s\" on "
		    "stderr after %d s: %s", needle, HARNESS_DEADLINE_MS / 1000,
		    text);
		free(text);
		poll(NULL, 0, 20);
	}
}

Test(client_interaction, log_follow_on_an_idle_daemon_says_it_waits)
{
	struct harness_background	 follow;

	harness_start();
	harness_wait_generation(1);
	harness_background(&follow, "log", "-f", NULL);
	free(wait_stderr(&follow, "waiting for the next build"));
	harness_save_packages("hello cowsay");
	cr_assert_eq(harness_background_exit(&follow, 0), 0,
	    "log -f of the next build: %s", harness_read(follow.err));
}

Test(client_interaction, status_says_auto_switch_is_off)
{
	struct json	*status;
	struct run	 r;

	harness_config_add("auto_switch = false");
	harness_start();
	json_free(harness_wait_built(harness_packages("hello")));

	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0, "status: %s", r.err);
	cr_assert(strstr(r.out, "auto switch    off") != NULL &&
	    strstr(r.out, "profilectl switch") != NULL,
	    "status does not say auto_switch is off and what to run:\n%s",
	    r.out);
	harness_run_free(&r);
	status = harness_status();
	cr_assert_eq(harness_bool(status, "auto_switch"), 0);
	json_free(status);

	harness_ctl(&r, "switch", NULL);
	cr_assert_eq(r.status, 0, "switch: %s", r.err);
	harness_run_free(&r);
	json_free(harness_wait_generation(1));
}

Test(client_interaction, auto_switch_on_goes_unsaid)
{
	struct json	*status;
	struct run	 r;

	harness_start();
	harness_wait_generation(1);
	harness_ctl(&r, "status", NULL);
	cr_assert_null(strstr(r.out, "auto switch"), "%s", r.out);
	harness_run_free(&r);
	status = harness_status();
	cr_assert_eq(harness_bool(status, "auto_switch"), 1);
	json_free(status);
}

/*
 * Run profilectl --socket S status on a terminal (a pty) with TERM=xterm
 * and NO_COLOR as given (NULL: unset); what it wrote there.
 */
static char *
status_on_a_terminal(const char *no_colour)
{
	char		 *ctl, *out = xstrdup(""), buf[4096];
	size_t		  len = 0;
	ssize_t		  n;
	int		  master, slave, status;
	pid_t		  pid;

	cr_assert(openpty(&master, &slave, NULL, NULL, NULL) == 0,
	    "openpty: %s", strerror(errno));
	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(master);
		dup2(slave, 1);
		dup2(slave, 2);
		setenv("TERM", "xterm", 1);
		if (no_colour != NULL)
			setenv("NO_COLOR", no_colour, 1);
		else
			unsetenv("NO_COLOR");
		execl(ctl, ctl, "--socket", harness.socket, "status", NULL);
		_exit(127);
	}
	close(slave);
	/* Read until the child is gone and the pty says so (EIO). */
	for (;;) {
		cr_assert(poll(&(struct pollfd){ .fd = master, .events =
		    POLLIN }, 1, HARNESS_DEADLINE_MS) == 1, "no end of output");
		if ((n = read(master, buf, sizeof buf)) <= 0)
			break;
		out = xreallocarray(out, len + n + 1, 1);
		memcpy(out + len, buf, n);
		len += n;
		out[len] = '\0';
	}
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status on a terminal: %s", out);
	free(ctl);
	return out;
}

Test(client_interaction, colour_only_on_a_terminal_without_no_color)
{
	struct run	 r;
	char		*out;

	harness_start();
	harness_wait_generation(1);

	out = status_on_a_terminal(NULL);
	cr_assert(strstr(out, "\033[") != NULL, "no colour on a terminal: %s",
	    out);
	cr_assert(strstr(out, "in sync") != NULL, "%s", out);
	free(out);
	out = status_on_a_terminal("1");
	cr_assert_null(strstr(out, "\033["), "colour despite NO_COLOR: %s",
	    out);
	free(out);
	/* An empty NO_COLOR is as good as none (no-color.org). */
	out = status_on_a_terminal("");
	cr_assert(strstr(out, "\033[") != NULL, "%s", out);
	free(out);

	setenv("TERM", "xterm", 1);
	unsetenv("NO_COLOR");
	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0);
	cr_assert_null(strstr(r.out, "\033["), "colour into a pipe: %s", r.out);
	harness_run_free(&r);
}
