/*
 * profilectl finds profiled's socket on its own: a daemon config it
 * cannot parse does not stop it (it reads only `socket`, leniently);
 * --socket and $PROFILED_SOCKET name it outright; without XDG_RUNTIME_DIR
 * it tries /run/user/UID, as systemd's socket unit would have it, then
 * the /tmp/profiled-UID profiled falls back to.  The client runs here
 * without the harness's --socket, so that it has to look.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(client_socket, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(client_socket_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/* Point XDG_RUNTIME_DIR at an empty directory, where no socket is. */
static void
runtime_dir_elsewhere(void)
{
	char	*dir;

	xasprintf(&dir, "%s/elsewhere", harness.dir);
	harness_mkdir(dir, 0700);
	setenv("XDG_RUNTIME_DIR", dir, 1);
	free(dir);
}

/* Run `profilectl ARG...` with no --socket; r holds the result. */
static void
ctl_alone(struct run *r, const char *arg1, const char *arg2,
    const char *arg3)
{
	char	*ctl;

	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	harness_run(r, ctl, arg1, arg2, arg3, NULL);
	free(ctl);
}

/* status, run with no --socket, reaches the test's daemon. */
static void
assert_reaches_daemon(const char *how)
{
	struct json	*status;
	struct run	 r;

	ctl_alone(&r, "--json", "status", NULL);
	cr_assert_eq(r.status, 0, "%s: status exited %d: %s", how, r.status,
	    r.err);
	status = json_parse(r.out, strlen(r.out), NULL);
	cr_assert_not_null(status, "%s: %s", how, r.out);
	cr_assert_eq(harness_number(status, "pid"), harness.daemon,
	    "%s: answered by pid %ld", how, harness_number(status, "pid"));
	json_free(status);
	harness_run_free(&r);
}

HARNESS_TEST_BOTH(client_socket, broken_daemon_config_still_reaches_a_healthy_daemon)
{
	char	*dir, *config;

	harness_start();
	harness_wait_generation(1);
	runtime_dir_elsewhere();

	/* The default config, wrong in every way profiled would refuse. */
	xasprintf(&dir, "%s/profiled", harness.dir);
	harness_mkdir(dir, 0755);
	xasprintf(&config, "%s/profiled.conf", dir);
	harness_write(config,
	    "# written by a newer profiled, or by hand\n"
	    "frobnicate = yes\n"
	    "debounce_ms = a lot\n"
	    "this line has no equals sign\n"
	    "socket = /nowhere/first.sock\n"
	    "  socket = \"../profiled.sock\"   \n"
	    "auto_switch = perhaps\n");
	assert_reaches_daemon("the socket from a broken config");
	free(config);
	free(dir);
}

HARNESS_TEST_BOTH(client_socket, flag_then_environment)
{
	struct run	r;

	harness_start();
	harness_wait_generation(1);
	runtime_dir_elsewhere();

	setenv("PROFILED_SOCKET", harness.socket, 1);
	assert_reaches_daemon("$PROFILED_SOCKET");

	setenv("PROFILED_SOCKET", "/nowhere/profiled.sock", 1);
	ctl_alone(&r, "status", NULL, NULL);
	cr_assert_eq(r.status, 3, "a wrong $PROFILED_SOCKET: %s", r.err);
	cr_assert(strstr(r.err, "/nowhere/profiled.sock") != NULL, "%s", r.err);
	harness_run_free(&r);
	ctl_alone(&r, "--socket", harness.socket, "status");
	cr_assert_eq(r.status, 0, "--socket loses to $PROFILED_SOCKET: %s",
	    r.err);
	harness_run_free(&r);
	unsetenv("PROFILED_SOCKET");
}

/*
 * Run profilectl status without XDG_RUNTIME_DIR in a mount namespace
 * whose /run and /tmp are empty, the test's directory (holding the
 * daemon's socket) bound at dir (a path under /run/user or /tmp), or
 * nowhere if dir is NULL.
 */
static void
ctl_without_runtime_dir(struct run *r, const char *dir)
{
	char	*ctl;

	/* The client runs from the test's directory, as /run/hold/profilectl:
	 * a checkout under /tmp is hidden by the tmpfs mounted over /tmp. */
	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	unsetenv("XDG_RUNTIME_DIR");
	harness_run(r, "unshare", "--mount", "--propagation", "private",
	    "sh", "-c",
	    "cp \"$3\" \"$1/profilectl\" && "
	    "mount -t tmpfs tmpfs /run && mkdir /run/hold && "
	    "mount --bind \"$1\" /run/hold && mount -t tmpfs tmpfs /tmp && "
	    "mkdir -m 700 /tmp/profiled-$(id -u) && "
	    "mkdir -p /run/user/$(id -u) && "
	    "if [ -n \"$2\" ]; then mount --bind /run/hold \"$2\"; fi && "
	    "exec /run/hold/profilectl status",
	    "sh", harness.dir, dir != NULL ? dir : "", ctl, NULL);
	free(ctl);
}

Test(client_socket, without_runtime_dir_as_systemd_does)
{
	struct run	 r;
	char		*dir;

	harness_run(&r, "unshare", "--mount", "true", NULL);
	if (r.status != 0)
		cr_skip_test("no mount namespaces here: %s", r.err);
	harness_run_free(&r);
	harness_start();
	harness_wait_generation(1);

	/* Where systemd's socket unit listens. */
	xasprintf(&dir, "/run/user/%u", (unsigned)getuid());
	ctl_without_runtime_dir(&r, dir);
	cr_assert_eq(r.status, 0, "status via %s: %s", dir, r.err);
	cr_assert(strstr(r.out, "generation     1") != NULL, "%s", r.out);
	harness_run_free(&r);
	free(dir);

	/* Where profiled binds its own without XDG_RUNTIME_DIR. */
	xasprintf(&dir, "/tmp/profiled-%u", (unsigned)getuid());
	ctl_without_runtime_dir(&r, dir);
	cr_assert_eq(r.status, 0, "status via %s: %s", dir, r.err);
	harness_run_free(&r);

	/* Neither: one line naming both. */
	ctl_without_runtime_dir(&r, NULL);
	cr_assert_eq(r.status, 3, "no socket anywhere: exit %d: %s", r.status,
	    r.err);
	cr_assert(strstr(r.err, "/run/user/") != NULL &&
	    strstr(r.err, dir) != NULL, "%s", r.err);
	harness_assert_error(&r, "not running");
	harness_run_free(&r);
	free(dir);
}
