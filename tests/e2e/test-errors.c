/*
 * Errors a user meets before anything is built: no daemon behind the
 * socket, a second daemon on the same state, a bad config file.  Each is
 * a non-zero exit with one clear line.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(errors, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Run profiled with --config config and the arguments that follow to
 * completion; it must fail, saying why on stderr, naming what if not NULL.
 */
static void
assert_profiled_fails(const char *config, const char *what,
    const char *arg1, const char *arg2)
{
	struct run	 r;
	char		*daemon;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	harness_run(&r, daemon, "--config", config, arg1, arg2, NULL);
	cr_assert_neq(r.status, 0, "profiled exited 0 with %s", config);
	cr_assert(r.err[0] != '\0', "profiled failed without a word");
	if (what != NULL)
		cr_assert(strstr(r.err, what) != NULL, "profiled's stderr "
		    "\"%s\" does not mention \"%s\"", r.err, what);
	harness_run_free(&r);
	free(daemon);
}

/* Write a config file named name in the test's directory; its path. */
static char *
write_config(const char *name, const char *text)
{
	char	*path, *content;

	xasprintf(&path, "%s/%s", harness.dir, name);
	xasprintf(&content, text, harness.package_file, harness.profile,
	    harness.state_dir, harness.socket);
	harness_write(path, content);
	free(content);
	return path;
}

Test(errors, client_without_daemon)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct run		 r;
	int			 fd;

	harness_ctl(&r, "status", NULL);
	harness_assert_error(&r, "not running");
	harness_run_free(&r);
	harness_ctl(&r, "--json", "status", NULL);
	harness_assert_error(&r, "not running");
	harness_run_free(&r);

	/* A socket file left behind by a daemon that died. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness.socket);
	cr_assert(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "bind: %s", strerror(errno));
	close(fd);
	harness_ctl(&r, "generations", NULL);
	harness_assert_error(&r, "not running");
	harness_run_free(&r);
}

Test(errors, second_instance_on_the_same_state)
{
	struct json	*status;
	char		*other;

	harness_start();
	harness_wait_generation(1);

	/* The same config, then the same but for the socket. */
	xasprintf(&other, "%s/other.sock", harness.dir);
	assert_profiled_fails(harness.config, NULL, NULL, NULL);
	assert_profiled_fails(harness.config, NULL, "--socket", other);

	status = harness_wait_generation(1);
	cr_assert_eq(harness_number(status, "pid"), harness.daemon,
	    "status answered by pid %ld, not the first profiled",
	    harness_number(status, "pid"));
	cr_assert(access(other, F_OK) == -1, "the second profiled left %s",
	    other);
	json_free(status);
}

Test(errors, unknown_config_key)
{
	char	*config;

	config = write_config("bad.conf",
	    "# a config with a typo\n"
	    "package_file = %s\n"
	    "profile = %s\n"
	    "state_dir = %s\n"
	    "socket = %s\n"
	    "debounce_msec = 50\n");
	assert_profiled_fails(config, "bad.conf:6", NULL, NULL);
	cr_assert(access(harness.socket, F_OK) == -1,
	    "profiled made its socket before rejecting its config");
}

Test(errors, bad_config_value)
{
	char	*config;

	config = write_config("bad.conf",
	    "package_file = %s\n"
	    "profile = %s\n"
	    "state_dir = %s\n"
	    "socket = %s\n"
	    "\n"
	    "auto_switch = perhaps\n");
	assert_profiled_fails(config, "bad.conf:6", NULL, NULL);
}

Test(errors, sigterm_exits_zero)
{
	harness_start();
	harness_wait_generation(1);
	harness_stop();
}
