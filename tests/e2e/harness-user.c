/*
 * The end-to-end tests run the way users run profiled: as a normal user,
 * against a nix-daemon that builds as build users, as on a multi-user Nix
 * install.  As root, the harness makes the user, the build group and its
 * build users (once: later tests reuse them, and the runner removes them
 * after the run), starts a nix-daemon of the test's own, whose
 * NIX_CONF_DIR and socket are in the test's directory (nothing in /etc is
 * read or written), and runs profiled, profilectl and Nix as the user with
 * NIX_REMOTE=daemon.
 *
 * The users are the machine's, and a nix-daemon with build users sets
 * /nix/store's group to theirs; so one such test at a time, in this run or
 * any other, uses them: it holds HARNESS_USER_LOCK from .init to .fini.
 * The repository may be unreadable to the user (a clone in /root), so the
 * binaries and the fixture package set are copied into the test's
 * directory, which the user owns.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HARNESS_USER_LOCK	"/tmp/profiled-e2e-users.lock"
#define HARNESS_USER_MARKER	"profiled end-to-end tests"
#define HARNESS_BUILD_USERS	3
/* Another test may hold the users for its whole run. */
#define HARNESS_USER_LOCK_MS	120000

/* The name of build user i, counting from 1. */
static char *
harness_build_user(int i)
{
	char	*name;

	xasprintf(&name, "%s%d", HARNESS_BUILD_GROUP, i);
	return name;
}

/*
 * Run argv as root to completion; 0, or -1 and *cause.  Runs in the
 * runner too, so it fails with a cause rather than an assertion.
 */
static int
harness_users_command(char *const argv[], char **cause)
{
	int	status;
	pid_t	pid;

	if ((pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(open("/dev/null", O_RDWR), 0);
		dup2(0, 1);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if ((status = harness_reap(pid, HARNESS_DEADLINE_MS)) == -1) {
		kill(pid, SIGKILL);
		harness_reap(pid, HARNESS_DEADLINE_MS);
		xasprintf(cause, "%s %s: still running after %d s", argv[0],
		    argv[1], HARNESS_DEADLINE_MS / 1000);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		xasprintf(cause, "%s ... %s: wait status %d (see its stderr)",
		    argv[0], argv[1] != NULL ? argv[1] : "", status);
		return -1;
	}
	return 0;
}

/* name is a user the tests made (its comment says so). */
static int
harness_users_ours(const char *name)
{
	struct passwd	*pw = getpwnam(name);

	return pw != NULL && strcmp(pw->pw_gecos, HARNESS_USER_MARKER) == 0;
}

/* group lists name as a member. */
static int
harness_users_member(const struct group *group, const char *name)
{
	char	**member;

	for (member = group->gr_mem; *member != NULL; member++) {
		if (strcmp(*member, name) == 0)
			return 1;
	}
	return 0;
}

/* The user, the group and all its build users are there, as made. */
static int
harness_users_ready(void)
{
	struct group	*group;
	char		*name;
	int		 i, ready;

	if (!harness_users_ours(HARNESS_USER) ||
	    (group = getgrnam(HARNESS_BUILD_GROUP)) == NULL)
		return 0;
	for (i = 1, ready = 1; i <= HARNESS_BUILD_USERS && ready; i++) {
		name = harness_build_user(i);
		ready = harness_users_ours(name) &&
		    harness_users_member(group, name);
		free(name);
	}
	return ready;
}

/* Any of the tests' users or groups is there. */
static int
harness_users_exist(void)
{
	char	*name;
	int	 i, found;

	found = getpwnam(HARNESS_USER) != NULL ||
	    getgrnam(HARNESS_USER) != NULL ||
	    getgrnam(HARNESS_BUILD_GROUP) != NULL;
	for (i = 1; i <= HARNESS_BUILD_USERS && !found; i++) {
		name = harness_build_user(i);
		found = getpwnam(name) != NULL;
		free(name);
	}
	return found;
}

/* The real uid in /proc/PID/status; -1 if the process is gone. */
static long
harness_users_process_uid(const char *pid)
{
	char	*path, line[256];
	long	 uid = -1;
	FILE	*f;

	xasprintf(&path, "/proc/%s/status", pid);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "Uid: %ld", &uid) == 1)
			break;
	}
	fclose(f);
	return uid;
}

/*
 * SIGKILL every process of uid (left by a test its timeout ended) and wait
 * until none is left, for userdel refuses a user with processes.
 */
static int
harness_users_kill(uid_t uid, char **cause)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	struct dirent	*d;
	DIR		*proc;
	int		 found;

	do {
		if ((proc = opendir("/proc")) == NULL) {
			xasprintf(cause, "opendir /proc: %s", strerror(errno));
			return -1;
		}
		found = 0;
		while ((d = readdir(proc)) != NULL) {
			if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
			    harness_users_process_uid(d->d_name) != (long)uid)
				continue;
			kill(strtol(d->d_name, NULL, 10), SIGKILL);
			found = 1;
		}
		closedir(proc);
		if (found)
			harness_pause();
	} while (found && harness_clock_ms() < deadline);
	if (found)
		xasprintf(cause, "processes of uid %ld outlive SIGKILL",
		    (long)uid);
	return found ? -1 : 0;
}

/*
 * A nix-daemon with build users makes /nix/store root:GROUP 1775, so that
 * they can write their outputs.  Once the tests' daemon is gone, give the
 * store back the owner and mode Nix gives it without build users, so that
 * no later group with the same gid can write it.
 */
static int
harness_users_restore_store(char **cause)
{
	struct group	*group = getgrnam(HARNESS_BUILD_GROUP);
	struct stat	 sb;

	if (group == NULL || stat("/nix/store", &sb) == -1 ||
	    sb.st_gid != group->gr_gid)
		return 0;
	if (chown("/nix/store", 0, 0) == -1 ||
	    chmod("/nix/store", 0755) == -1) {
		xasprintf(cause, "restoring /nix/store: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int
harness_users_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	remove(path);
	return 0;
}

/*
 * Remove what the tests' nix-daemon made for the user and the build users
 * in /nix/var/nix: the per-user profile and GC-root directories (if the
 * user owns them), the build users' lock files, and their directory if
 * nothing else is in it.
 */
static void
harness_users_remove_nix_state(void)
{
	static const char *const	 dirs[] = { "profiles", "gcroots" };
	struct passwd			*pw;
	struct stat			 sb;
	char				*path, *name;
	size_t				 i;
	int				 n;

	if ((pw = getpwnam(HARNESS_USER)) != NULL) {
		for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
			xasprintf(&path, "/nix/var/nix/%s/per-user/%s", dirs[i],
			    HARNESS_USER);
			if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
			    sb.st_uid == pw->pw_uid)
				nftw(path, harness_users_remove_cb, 16,
				    FTW_DEPTH | FTW_PHYS);
			free(path);
		}
	}
	for (n = 1; n <= HARNESS_BUILD_USERS; n++) {
		name = harness_build_user(n);
		if ((pw = getpwnam(name)) != NULL) {
			xasprintf(&path, "/nix/var/nix/userpool/%ld",
			    (long)pw->pw_uid);
			unlink(path);
			free(path);
		}
		free(name);
	}
	/* Made by the first nix-daemon that built as a build user. */
	rmdir("/nix/var/nix/userpool");
}

/*
 * Remove the user (and its own group) if the tests made it: kill its
 * processes, then userdel.  A user of that name the tests did not make
 * is an error, never removed.
 */
static int
harness_users_remove_user(const char *name, char **cause)
{
	struct passwd	*pw = getpwnam(name);

	if (pw == NULL)
		return 0;
	if (!harness_users_ours(name)) {
		xasprintf(cause, "user %s exists and is not the tests' (its "
		    "comment is not \"%s\"); remove it by hand", name,
		    HARNESS_USER_MARKER);
		return -1;
	}
	if (harness_users_kill(pw->pw_uid, cause) == -1)
		return -1;
	return harness_users_command((char *[]){ "userdel", (char *)name,
	    NULL }, cause);
}

/* Remove group name if it is there. */
static int
harness_users_remove_group(const char *name, char **cause)
{
	if (getgrnam(name) == NULL)
		return 0;
	return harness_users_command((char *[]){ "groupdel", (char *)name,
	    NULL }, cause);
}

/* Remove whatever of the tests' users and groups is there; lock held. */
static int
harness_users_clear(char **cause)
{
	char	*name;
	int	 i, rc;

	if (harness_users_restore_store(cause) == -1)
		return -1;
	harness_users_remove_nix_state();
	if (harness_users_remove_user(HARNESS_USER, cause) == -1)
		return -1;
	for (i = 1; i <= HARNESS_BUILD_USERS; i++) {
		name = harness_build_user(i);
		rc = harness_users_remove_user(name, cause);
		free(name);
		if (rc == -1)
			return -1;
	}
	if (harness_users_remove_group(HARNESS_USER, cause) == -1)
		return -1;
	return harness_users_remove_group(HARNESS_BUILD_GROUP, cause);
}

/* Make the build group, its build users and the test user. */
static int
harness_users_create(char **cause)
{
	char	*name;
	int	 i, rc;

	if (harness_users_command((char *[]){ "groupadd", "--system",
	    HARNESS_BUILD_GROUP, NULL }, cause) == -1)
		return -1;
	for (i = 1; i <= HARNESS_BUILD_USERS; i++) {
		name = harness_build_user(i);
		rc = harness_users_command((char *[]){ "useradd", "--system",
		    "--no-create-home", "--home-dir", "/nonexistent",
		    "--shell", "/usr/sbin/nologin", "--gid",
		    HARNESS_BUILD_GROUP, "--groups", HARNESS_BUILD_GROUP,
		    "--comment", HARNESS_USER_MARKER, name, NULL }, cause);
		free(name);
		if (rc == -1)
			return -1;
	}
	/* A normal user; its home is each test's directory, by $HOME. */
	return harness_users_command((char *[]){ "useradd",
	    "--no-create-home", "--home-dir", "/nonexistent", "--shell",
	    "/bin/sh", "--user-group", "--comment", HARNESS_USER_MARKER,
	    HARNESS_USER, NULL }, cause);
}

static int
harness_users_open_lock(void)
{
	return open(HARNESS_USER_LOCK, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
}

/*
 * After every test, in the runner: remove the tests' users and groups, if
 * there are any, once no test of any run uses them; 0, or -1 and *cause.
 */
int
harness_users_remove(char **cause)
{
	int	fd, rc;

	if (!harness_users_exist())
		return 0;
	if ((fd = harness_users_open_lock()) == -1) {
		xasprintf(cause, "open %s: %s", HARNESS_USER_LOCK,
		    strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
		;
	rc = harness_users_clear(cause);
	close(fd);
	return rc;
}

/* Take the lock on the tests' users, waiting for other tests' release. */
static void
harness_user_lock(void)
{
	long long	deadline = harness_clock_ms() + HARNESS_USER_LOCK_MS;

	harness.lock = harness_users_open_lock();
	cr_assert(harness.lock != -1, "open %s: %s", HARNESS_USER_LOCK,
	    strerror(errno));
	while (flock(harness.lock, LOCK_EX | LOCK_NB) == -1) {
		cr_assert(errno == EWOULDBLOCK || errno == EINTR, "flock %s: "
		    "%s", HARNESS_USER_LOCK, strerror(errno));
		cr_assert(harness_clock_ms() < deadline, "%s still locked "
		    "after %d s by another test", HARNESS_USER_LOCK,
		    HARNESS_USER_LOCK_MS / 1000);
		harness_pause();
	}
}

/* The tests' users, as made: reused if there, else (re)made. */
static void
harness_user_make(void)
{
	struct passwd	*pw;
	char		*cause = NULL;

	if (!harness_users_ready()) {
		cr_assert(harness_users_clear(&cause) == 0, "removing stale "
		    "test users: %s", cause);
		cr_assert(harness_users_create(&cause) == 0, "making the test "
		    "users: %s", cause);
		cr_assert(harness_users_ready(), "the test users are not as "
		    "made");
	}
	pw = getpwnam(HARNESS_USER);
	cr_assert_not_null(pw, "no user %s", HARNESS_USER);
	harness.uid = pw->pw_uid;
	harness.gid = pw->pw_gid;
}

/* Copy the repository's file relative into DIR/root, with mode. */
static void
harness_user_copy(const char *root, const char *relative, mode_t mode)
{
	char	*from, *to, *slash, buf[65536];
	ssize_t	 n;
	int	 in, out;

	xasprintf(&from, "%s/%s", root, relative);
	xasprintf(&to, "%s/root/%s", harness.dir, relative);
	for (slash = strchr(to + strlen(harness.dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		cr_assert(mkdir(to, 0755) == 0 || errno == EEXIST,
		    "mkdir %s: %s", to, strerror(errno));
		*slash = '/';
	}
	in = open(from, O_RDONLY | O_CLOEXEC);
	cr_assert(in != -1, "open %s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	cr_assert(out != -1, "open %s: %s", to, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		cr_assert(write(out, buf, n) == n, "write %s: %s", to,
		    strerror(errno));
	cr_assert(n == 0, "read %s: %s", from, strerror(errno));
	close(in);
	cr_assert(close(out) == 0, "close %s: %s", to, strerror(errno));
	free(from);
	free(to);
}

static int
harness_user_chown_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return lchown(path, harness.uid, harness.gid);
}

/*
 * Start the test's nix-daemon as root, its config and socket in
 * DIR/nix-daemon, and wait until it accepts connections.
 */
static void
harness_user_start_nix_daemon(void)
{
	long long		 deadline;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			*dir, *conf, *text;
	int			 fd, status, connected = 0;
	pid_t			 pid;

	xasprintf(&dir, "%s/nix-daemon", harness.dir);
	cr_assert(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	xasprintf(&conf, "%s/nix.conf", dir);
	xasprintf(&text,
	    "# The tests' nix-daemon: builds run as the tests' build users,\n"
	    "# unsandboxed (the offline builders use the host's /bin/sh),\n"
	    "# with no binary cache (no network).\n"
	    "build-users-group = %s\n"
	    "sandbox = false\n"
	    "substituters =\n", HARNESS_BUILD_GROUP);
	harness_write(conf, text);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s/socket", dir);
	cr_assert(strlen(dir) + strlen("/socket") < sizeof sun.sun_path,
	    "nix-daemon socket path too long; set a shorter TMPDIR");
	/* Both nix-daemon and, later, the user's Nix read these. */
	setenv("NIX_CONF_DIR", dir, 1);
	setenv("NIX_DAEMON_SOCKET_PATH", sun.sun_path, 1);
	unsetenv("NIX_REMOTE");

	harness.nix_daemon_log = harness_log_path(getppid(),
	    criterion_current_suite->name, criterion_current_test->name,
	    "nix-daemon.log");
	unlink(harness.nix_daemon_log);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open(harness.nix_daemon_log, O_WRONLY | O_CREAT | O_APPEND,
		    0644);
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(fd, 1);
		dup2(fd, 2);
		harness_child(SIGTERM);
		execlp("nix-daemon", "nix-daemon", (char *)NULL);
		dprintf(2, "exec nix-daemon: %s\n", strerror(errno));
		_exit(127);
	}
	harness.nix_daemon = pid;

	for (deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	    !connected; harness_pause()) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(fd != -1, "socket: %s", strerror(errno));
		connected = connect(fd, (struct sockaddr *)&sun,
		    sizeof sun) == 0;
		close(fd);
		if (!connected && waitpid(pid, &status, WNOHANG) == pid) {
			harness.nix_daemon = -1;
			cr_assert_fail("nix-daemon exited (wait status %d) "
			    "before listening: %s", status,
			    harness_read(harness.nix_daemon_log));
		}
		cr_assert(connected || harness_clock_ms() < deadline,
		    "nix-daemon not listening on %s after %d s", sun.sun_path,
		    HARNESS_DEADLINE_MS / 1000);
	}
	free(text);
	free(conf);
	free(dir);
}

/*
 * .init of a test run as a user: harness_init's directory, owned by the
 * tests' user, with a copy of the binaries and fixtures, a config with no
 * Nix flags (the nix-daemon's config has what the offline builds need,
 * and a user may not set build-users-group), and the test's nix-daemon.
 */
void
harness_user_init(void)
{
	const char	*root;

	harness_init();
	harness_user_lock();
	harness_user_make();

	root = harness.root;
	harness_user_copy(root, "daemon/profiled", 0755);
	harness_user_copy(root, "client/profilectl", 0755);
	harness_user_copy(root, "tests/fixtures/pkgs.nix", 0644);
	harness_user_copy(root, "etc/offline-pkgs.nix", 0644);
	xasprintf(&harness.root, "%s/root", harness.dir);
	harness_write_config("");
	harness_save_packages("hello");
	cr_assert(nftw(harness.dir, harness_user_chown_cb, 16, FTW_PHYS) == 0,
	    "chown -R %s: %s", harness.dir, strerror(errno));

	harness_user_start_nix_daemon();
	setenv("NIX_REMOTE", "daemon", 1);
	setenv("HOME", harness.dir, 1);
	setenv("USER", HARNESS_USER, 1);
	setenv("LOGNAME", HARNESS_USER, 1);
	harness.user = xstrdup(HARNESS_USER);
}

/*
 * .init of a test run as root that needs a second user to act as: the
 * tests' user is made (under its lock, held to .fini) but not become, and
 * the binaries and fixtures are copied where that user can run them.
 * Run a child as the user by setting harness.user around it.
 */
void
harness_user_other_init(void)
{
	const char	*root;

	harness_init();
	harness_user_lock();
	harness_user_make();
	root = harness.root;
	harness_user_copy(root, "daemon/profiled", 0755);
	harness_user_copy(root, "client/profilectl", 0755);
	harness_user_copy(root, "tests/fixtures/pkgs.nix", 0644);
	harness_user_copy(root, "etc/offline-pkgs.nix", 0644);
	xasprintf(&harness.root, "%s/root", harness.dir);
	harness_save_packages("hello");
}

/* .fini: harness_fini, then give the store back and release the users. */
void
harness_user_fini(void)
{
	char	*cause = NULL;

	harness_fini();
	if (harness.lock == -1)
		return;
	if (harness_users_restore_store(&cause) == -1)
		cr_log_error("%s", cause);
	close(harness.lock);
	harness.lock = -1;
}

/*
 * In a child about to exec, if the test runs as a user: become the user,
 * in the test's directory, or exit 127.
 */
void
harness_user_become(void)
{
	if (harness.user == NULL)
		return;
	if (chdir(harness.dir) == -1 ||
	    initgroups(harness.user, harness.gid) == -1 ||
	    setgid(harness.gid) == -1 || setuid(harness.uid) == -1) {
		dprintf(2, "becoming %s: %s\n", harness.user, strerror(errno));
		_exit(127);
	}
}
