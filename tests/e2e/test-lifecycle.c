/*
 * The daemon's life as a service: every clean exit, fatal errors too,
 * removes the socket profiled bound.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(lifecycle, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* Whether anything is at path. */
static int
exists(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0;
}

/* Wait for pid to exit and return its wait status. */
static int
wait_exit(pid_t pid)
{
	long long	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	int		status;

	while (waitpid(pid, &status, WNOHANG) != pid) {
		cr_assert(harness_clock_ms() < deadline, "profiled still runs");
		poll(NULL, 0, 20);
	}
	return status;
}

/* SIGTERM and SIGINT end profiled with exit 0 and remove its socket. */
Test(lifecycle, clean_exit_removes_the_socket)
{
	int	status;

	harness_start();
	harness_wait_generation(1);
	cr_assert(exists(harness.socket));
	harness_stop();
	cr_assert(!exists(harness.socket), "SIGTERM left %s", harness.socket);

	harness_start();
	cr_assert(exists(harness.socket));
	kill(harness.daemon, SIGINT);
	status = wait_exit(harness.daemon);
	harness.daemon = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "wait status %d after SIGINT", status);
	cr_assert(!exists(harness.socket), "SIGINT left %s", harness.socket);
}

/* A fatal error after the socket is bound removes it on the way out. */
Test(lifecycle, fatal_error_removes_the_socket)
{
	struct run	 r;
	char		*daemon, *file;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	xasprintf(&file, "%s/not-a-file/", harness.dir);
	harness_run(&r, daemon, "--config", harness.config, "--package-file",
	    file, NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "fatal: package file") != NULL, "%s", r.err);
	cr_assert(!exists(harness.socket), "left %s", harness.socket);
	harness_run_free(&r);
	free(file);
	free(daemon);
}
