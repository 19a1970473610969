/*
 * Only its user gets in: another uid is refused on the socket, the socket
 * is bound only where no one else can replace it, nothing but a stale
 * socket is removed from its path, one profile has one daemon, and
 * profilectl talks only to a socket of its own user.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(access, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A uid no test runs as, to own what another user would. */
#define ACCESS_OTHER_UID	65534

/* Run profiled on the test's config with the extra flags; it must fail. */
static void
access_start_fails(struct run *r, const char *flag, const char *value)
{
	char	*daemon;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	harness_run(r, daemon, "--config", harness.config, flag, value, NULL);
	free(daemon);
	cr_assert_neq(r->status, 0, "profiled started: %s", r->err);
}

/* A listening socket at path, bound by the test. */
static int
access_listen(const char *path)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	int			 fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	cr_assert(bind(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "bind %s: %s", path, strerror(errno));
	cr_assert(listen(fd, 8) == 0, "listen: %s", strerror(errno));
	return fd;
}

/*
 * With the socket's directory and the socket opened to everyone, another
 * user's profilectl reaches the daemon, and is refused by it: the client
 * says why, the daemon logs the uid and pid, and nothing changes.
 */
Test(access, another_uid_is_refused, .init = harness_user_other_init,
    .fini = harness_user_fini)
{
	struct json	*status;
	struct run	 r;
	char		*want;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	cr_assert(chmod(harness.dir, 0755) == 0 &&
	    chmod(harness.socket, 0666) == 0, "chmod: %s", strerror(errno));

	xasprintf(&want, "this profiled serves uid 0 only; you are uid %u",
	    (unsigned)harness.uid);
	harness.user = HARNESS_USER;
	harness_ctl(&r, "rollback", NULL);
	harness.user = NULL;
	cr_assert_eq(r.status, 1, "rollback as %s exited %d: %s",
	    HARNESS_USER, r.status, r.err);
	cr_assert(strstr(r.err, want) != NULL, "stderr: %s", r.err);
	harness_run_free(&r);

	harness.user = HARNESS_USER;
	harness_ctl(&r, "switch", "--to", "1", NULL);
	harness.user = NULL;
	cr_assert_eq(r.status, 1, "switch --to 1 as %s exited %d: %s",
	    HARNESS_USER, r.status, r.err);
	harness_run_free(&r);
	free(want);

	xasprintf(&want, "refused a connection from uid %u (pid ",
	    (unsigned)harness.uid);
	cr_assert_eq(harness_log_count(want), 2, "the log does not say twice "
	    "\"%s\"", want);
	free(want);
	status = harness_status();
	cr_assert_eq(harness_number(status, "current_generation"), 2);
	cr_assert_eq(harness_profile_generation(), 2);
	json_free(status);
}

/*
 * A socket directory another user owns, or anyone may write, or that is
 * a symlink, could have the socket replaced: profiled refuses to start,
 * naming it, and binds nothing there.
 */
Test(access, unsafe_socket_directories_are_refused)
{
	static const struct {
		const char	*name;
		const char	*want;
	} cases[] = {
		{ "theirs", "belongs to uid 65534, not to you (uid 0)" },
		{ "open", "is writable by everyone (mode 0777)" },
		{ "group", "is writable by its group (mode 0770)" },
		{ "link", "is not a directory but a symlink" },
	};
	struct run	 r;
	char		*dir, *socket, *want;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xasprintf(&dir, "%s/%s", harness.dir, cases[i].name);
		if (strcmp(cases[i].name, "link") == 0)
			cr_assert(symlink(harness.dir, dir) == 0, "symlink: %s",
			    strerror(errno));
		else
			cr_assert(mkdir(dir, 0700) == 0, "mkdir: %s",
			    strerror(errno));
		if (strcmp(cases[i].name, "theirs") == 0)
			cr_assert(chown(dir, ACCESS_OTHER_UID,
			    ACCESS_OTHER_UID) == 0, "chown: %s",
			    strerror(errno));
		if (strcmp(cases[i].name, "open") == 0)
			cr_assert(chmod(dir, 0777) == 0);
		if (strcmp(cases[i].name, "group") == 0)
			cr_assert(chmod(dir, 0770) == 0);
		xasprintf(&socket, "%s/p.sock", dir);
		access_start_fails(&r, "--socket", socket);
		xasprintf(&want, "socket directory %s %s", dir, cases[i].want);
		cr_assert(strstr(r.err, want) != NULL, "wanted \"%s\" in: %s",
		    want, r.err);
		cr_assert(access(socket, F_OK) == -1, "%s was bound", socket);
		harness_run_free(&r);
		free(want);
		free(socket);
		free(dir);
	}
}

/*
 * A regular file at the socket path is kept, and the start refused
 * naming it; a live socket is another daemon's; a stale one is replaced.
 */
Test(access, only_a_stale_socket_is_removed)
{
	struct run	 r;
	char		*text, *want;
	int		 fd;

	harness_write(harness.socket, "precious\n");
	access_start_fails(&r, "-v", "-v");
	xasprintf(&want, "%s exists and is not a socket; not removing it",
	    harness.socket);
	cr_assert(strstr(r.err, want) != NULL, "wanted \"%s\" in: %s", want,
	    r.err);
	text = harness_read(harness.socket);
	cr_assert_str_eq(text, "precious\n");
	free(text);
	free(want);
	harness_run_free(&r);
	cr_assert(unlink(harness.socket) == 0);

	/* Someone answers: another daemon runs there. */
	fd = access_listen(harness.socket);
	access_start_fails(&r, "-v", "-v");
	cr_assert(strstr(r.err, "another profiled is listening on") != NULL,
	    "%s", r.err);
	harness_run_free(&r);
	close(fd);

	/* The same socket, no one listening: stale, and replaced. */
	harness_start();
	cr_assert_eq(harness_log_count("removed the stale socket"), 1);
}

/*
 * A second daemon on the same profile, from another state directory and
 * socket, refuses to start, naming the first by its pid.
 */
Test(access, second_daemon_on_the_same_profile)
{
	struct run	 r;
	char		*state, *want;

	harness_start();
	harness_wait_generation(1);
	xasprintf(&state, "%s/state2", harness.dir);
	access_start_fails(&r, "--state-dir", state);
	xasprintf(&want, "another profiled (pid %ld) is already running for "
	    "profile %s (it holds %s.profiled.lock)", (long)harness.daemon,
	    harness.profile, harness.profile);
	cr_assert(strstr(r.err, want) != NULL, "wanted \"%s\" in: %s", want,
	    r.err);
	harness_run_free(&r);
	json_free(harness_wait_generation(1));
	free(want);
	free(state);
}

/*
 * The state directory is private whatever was there: one made 0777 is
 * made 0700 (and the log says so), and under umask 000 the wrapper Nix
 * evaluates is not writable by others.
 */
Test(access, state_directory_and_files_are_private)
{
	struct stat	 sb;
	char		*wrapper;

	cr_assert(mkdir(harness.state_dir, 0777) == 0);
	cr_assert(chmod(harness.state_dir, 0777) == 0);
	umask(0);
	harness_start();
	umask(022);
	harness_wait_generation(1);
	cr_assert(stat(harness.state_dir, &sb) == 0);
	cr_assert_eq(sb.st_mode & 07777, 0700, "state directory mode %04o",
	    (unsigned)(sb.st_mode & 07777));
	cr_assert_eq(harness_log_count("had mode 0777; made it 0700"), 1);
	xasprintf(&wrapper, "%s/user-env.nix", harness.state_dir);
	cr_assert(stat(wrapper, &sb) == 0, "stat %s: %s", wrapper,
	    strerror(errno));
	cr_assert_eq(sb.st_mode & 022, 0, "%s has mode %04o", wrapper,
	    (unsigned)(sb.st_mode & 07777));
	free(wrapper);
}

/*
 * profilectl refuses a socket that is not its user's (or root's): anyone
 * could have bound it in place of profiled.
 */
Test(access, client_refuses_another_users_socket)
{
	struct run	 r;
	char		*path, *ctl, *want;
	int		 fd;

	xasprintf(&path, "%s/impostor.sock", harness.dir);
	fd = access_listen(path);
	cr_assert(chown(path, ACCESS_OTHER_UID, ACCESS_OTHER_UID) == 0,
	    "chown: %s", strerror(errno));
	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	harness_run(&r, ctl, "--socket", path, "status", NULL);
	cr_assert_eq(r.status, 3, "status exited %d: %s", r.status, r.err);
	xasprintf(&want, "socket %s belongs to uid 65534, not to you (uid 0); "
	    "refusing to talk to it", path);
	cr_assert(strstr(r.err, want) != NULL, "wanted \"%s\" in: %s", want,
	    r.err);
	harness_run_free(&r);
	close(fd);
	free(want);
	free(ctl);
	free(path);
}
