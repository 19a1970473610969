/*
 * The end-to-end harness: private directories, the real binaries run as
 * child processes with deadlines, and waits that poll the daemon's status.
 *
 * Tests run in Criterion's forked workers, so a failed assertion ends the
 * worker's test but still runs .fini, which stops the daemon and removes the
 * directory.  The daemon's log lives beside the directory rather than in it,
 * so that the runner (a report hook below) can print it after any failure,
 * a timeout included, and then delete it.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/hooks.h>
#include <sqlite3.h>

#include "frame.h"
#include "harness.h"

#define HARNESS_POLL_MS		20
#define HARNESS_MAX_ARGS	32

struct harness harness = { .daemon = -1, .nix_daemon = -1, .lock = -1 };

/* How long a child, a start, a stop or a wait may take: harness_deadline. */
static long long	harness_deadline_ms = HARNESS_DEADLINE_MS;

/*
 * The path of a log (what: "log" for profiled's, "nix-daemon.log"), from
 * the runner's pid and the test's names.
 */
char *
harness_log_path(pid_t runner, const char *suite, const char *test,
    const char *what)
{
	const char	*tmp = getenv("TMPDIR");
	char		*path;

	xasprintf(&path, "%s/profiled-e2e.%ld.%s.%s.%s",
	    tmp != NULL ? tmp : "/tmp", (long)runner, suite, test, what);
	return path;
}

/* Milliseconds on the monotonic clock. */
static long long
harness_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The interval between two polls of a condition. */
void
harness_pause(void)
{
	struct timespec	ts = { 0, HARNESS_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* Write all of text to path, replacing its content in place. */
void
harness_write(const char *path, const char *text)
{
	size_t	len = strlen(text), done = 0;
	ssize_t	n;
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert(fd != -1, "open %s: %s", path, strerror(errno));
	/* A test run as a user writes the user's files, as the user would. */
	if (harness.user != NULL)
		cr_assert(fchown(fd, harness.uid, harness.gid) == 0,
		    "chown %s: %s", path, strerror(errno));
	while (done < len) {
		n = write(fd, text + done, len - done);
		cr_assert(n > 0, "write %s: %s", path, strerror(errno));
		done += n;
	}
	cr_assert(close(fd) == 0, "close %s: %s", path, strerror(errno));
}

/* The repository root: this binary is ROOT/tests/e2e/e2e-tests. */
static char *
harness_find_root(void)
{
	char	 exe[PATH_MAX], *slash;
	int	 i;

	cr_assert(realpath("/proc/self/exe", exe) != NULL,
	    "realpath /proc/self/exe: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		slash = strrchr(exe, '/');
		cr_assert(slash != NULL && slash != exe, "odd binary path %s", exe);
		*slash = '\0';
	}
	return xstrdup(exe);
}

/* Write the test's config, with nix_flags as its Nix flags. */
void
harness_write_config(const char *nix_flags)
{
	char	*config;

	xasprintf(&config,
	    "# profiled.conf for one end-to-end test\n"
	    "package_file = %s\n"
	    "profile = %s\n"
	    "state_dir = %s\n"
	    "socket = %s\n"
	    "debounce_ms = 50\n"
	    "notify = false\n"
	    "nix_flags = %s\n",
	    harness.package_file, harness.profile, harness.state_dir,
	    harness.socket, nix_flags);
	harness_write(harness.config, config);
	free(config);
}

/* Create the test's directory, config and a package file listing hello. */
void
harness_init(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*template, *profiles;

	harness.root = harness_find_root();
	harness.source = harness.root;
	xasprintf(&template, "%s/profiled-e2e.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	cr_assert(mkdtemp(template) != NULL, "mkdtemp: %s", strerror(errno));
	harness.dir = template;
	xasprintf(&harness.package_file, "%s/packages.nix", harness.dir);
	xasprintf(&harness.config, "%s/profiled.conf", harness.dir);
	xasprintf(&harness.state_dir, "%s/state", harness.dir);
	xasprintf(&harness.socket, "%s/profiled.sock", harness.dir);
	xasprintf(&harness.profile, "%s/profiles/profile", harness.dir);
	harness.log = harness_log_path(getppid(), criterion_current_suite->name,
	    criterion_current_test->name, "log");
	harness.daemon = -1;
	harness_deadline_ms = HARNESS_DEADLINE_MS;
	unlink(harness.log);
	cr_assert(strlen(harness.socket) <
	    sizeof(((struct sockaddr_un *)0)->sun_path),
	    "socket path %s too long; set a shorter TMPDIR", harness.socket);

	xasprintf(&profiles, "%s/profiles", harness.dir);
	cr_assert(mkdir(profiles, 0755) == 0, "mkdir %s: %s", profiles,
	    strerror(errno));
	free(profiles);

	/* Whatever the daemon or client defaults to stays in DIR too, and
	 * so does the home where Nix and profiled look for ~/.nix-profile. */
	xasprintf(&harness.home, "%s/home", harness.dir);
	cr_assert(mkdir(harness.home, 0755) == 0, "mkdir %s: %s",
	    harness.home, strerror(errno));
	setenv("HOME", harness.home, 1);
	setenv("XDG_CONFIG_HOME", harness.dir, 1);
	setenv("XDG_STATE_HOME", harness.dir, 1);
	setenv("XDG_RUNTIME_DIR", harness.dir, 1);

	harness_write_config(OFFLINE_NIX_FLAGS);
	harness_save_packages("hello");
}

/* Wait up to ms for pid to exit; its wait status, or -1 if it did not. */
int
harness_reap(pid_t pid, long long ms)
{
	long long	deadline = harness_now() + ms;
	int		status;
	pid_t		r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r == -1 && errno != EINTR)
			return -1;
		if (harness_now() > deadline)
			return -1;
		harness_pause();
	}
}

static int
harness_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* End *pid with SIGTERM, or SIGKILL if it lingers; mark it gone. */
static void
harness_end(pid_t *pid)
{
	if (*pid == -1)
		return;
	kill(*pid, SIGTERM);
	if (harness_reap(*pid, 10000) == -1) {
		kill(*pid, SIGKILL);
		harness_reap(*pid, 10000);
	}
	*pid = -1;
}

/*
 * Remove the GC roots Nix registered for links in the test's directory
 * (its profile's generations, the build's result link): links in
 * /nix/var/nix/gcroots/auto naming a path in DIR, which would otherwise
 * pile up, dangling, until the next garbage collection.
 */
static void
harness_remove_gc_roots(void)
{
	static const char	 roots[] = "/nix/var/nix/gcroots/auto";
	struct dirent		*d;
	DIR			*auto_roots;
	size_t			 len = strlen(harness.dir);
	char			 path[PATH_MAX], target[PATH_MAX];
	ssize_t			 n;

	if ((auto_roots = opendir(roots)) == NULL)
		return;
	while ((d = readdir(auto_roots)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", roots, d->d_name);
		n = readlink(path, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strncmp(target, harness.dir, len) == 0 &&
		    target[len] == '/')
			unlink(path);
	}
	closedir(auto_roots);
}

/* The directory harness_use_nix_profiles made as root, or NULL. */
static char	*harness_nix_profiles_dir;

static void
harness_remove_nix_profiles_dir(void)
{
	if (harness_nix_profiles_dir == NULL)
		return;
	nftw(harness_nix_profiles_dir, harness_remove_cb, 16,
	    FTW_DEPTH | FTW_PHYS);
	free(harness_nix_profiles_dir);
	harness_nix_profiles_dir = NULL;
}

/*
 * Make the test's profile one in Nix's profiles directory, where a user's
 * default profile is and whose links are GC roots by themselves: the
 * user's per-user directory (harness_user_fini removes it) or, as root, a
 * directory of the test's own in root's, removed with its links (they
 * hold store paths) by harness_fini once the daemon has stopped.
 */
void
harness_use_nix_profiles(void)
{
	char	*dir, *line;

	if (harness.user != NULL) {
		xasprintf(&dir, "/nix/var/nix/profiles/per-user/%s",
		    harness.user);
		if (access(dir, F_OK) != 0)
			harness_mkdir(dir, 0755);
	} else {
		dir = xstrdup("/nix/var/nix/profiles/per-user/root/"
		    "profiled-e2e.XXXXXX");
		cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir,
		    strerror(errno));
		harness_nix_profiles_dir = xstrdup(dir);
	}
	free(harness.profile);
	xasprintf(&harness.profile, "%s/profile", dir);
	xasprintf(&line, "profile = %s", harness.profile);
	harness_config_add(line);
	cr_assert(profile_links_are_roots(harness.profile),
	    "%s is not under Nix's profiles", harness.profile);
	free(line);
	free(dir);
}

/*
 * Stop the daemon (then any nix-daemon), remove the directory and the GC
 * roots of links in it.
 */
void
harness_fini(void)
{
	harness_end(&harness.daemon);
	harness_end(&harness.nix_daemon);
	harness_remove_nix_profiles_dir();
	if (harness.dir == NULL)
		return;
	nftw(harness.dir, harness_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
	harness_remove_gc_roots();
}

/*
 * In the runner, after each test's .fini: print a log if the test failed
 * or timed out, then delete it.
 */
static void
harness_report_log(const struct criterion_test *test, int failed,
    const char *what, const char *whose)
{
	char	*path, buf[8192];
	FILE	*f;
	size_t	 n;

	path = harness_log_path(getpid(), test->category, test->name, what);
	if (failed && (f = fopen(path, "r")) != NULL) {
		fprintf(stderr, "---- %s's log for %s::%s ----\n", whose,
		    test->category, test->name);
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			fwrite(buf, 1, n, stderr);
		fprintf(stderr, "---- end of %s's log ----\n", whose);
		fclose(f);
	}
	unlink(path);
	free(path);
}

static void
harness_report(const struct criterion_test *test, int failed)
{
	harness_report_log(test, failed, "log", "profiled");
	harness_report_log(test, failed, "nix-daemon.log", "nix-daemon");
}

ReportHook(POST_FINI)(struct criterion_test_stats *stats)
{
	harness_report(stats->test, stats->test_status == CR_STATUS_FAILED);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
	harness_report(stats->test, 1);
}

/*
 * In the runner, after every test: remove the users and group the
 * multi-user tests made, if any; they are made once and reused.
 */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char	*cause;

	if (harness_users_remove(&cause) == -1) {
		fprintf(stderr, "profiled e2e: cannot remove the tests' users: "
		    "%s\n", cause);
		free(cause);
	}
}

/* The text of a package file listing names from the test package set. */
char *
harness_packages(const char *names)
{
	char	*text;

	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [ %s ]\n", harness.root, names);
	return text;
}

/* Save text as the package file in place (truncate, then write). */
void
harness_save(const char *text)
{
	harness_write(harness.package_file, text);
}

/* Save text as an editor does: a temporary file renamed over the old. */
void
harness_save_by_rename(const char *text)
{
	char	*tmp;

	xasprintf(&tmp, "%s/.packages.nix.swp", harness.dir);
	harness_write(tmp, text);
	cr_assert(rename(tmp, harness.package_file) == 0, "rename: %s",
	    strerror(errno));
	free(tmp);
}

/* Save a package file listing names, in place. */
void
harness_save_packages(const char *names)
{
	char	*text = harness_packages(names);

	harness_save(text);
	free(text);
}

/* The SHA-256 of text, in hex, as last_build.content_hash reports it. */
char *
harness_hash(const char *text)
{
	char	hex[SHA256_HEX_SIZE];

	sha256_hex(text, strlen(text), hex);
	return xstrdup(hex);
}

/* Append what fd has to read to *buf; 0 at end of file. */
static int
harness_drain(int fd, char **buf, size_t *len)
{
	char	chunk[4096];
	ssize_t	n;

	n = read(fd, chunk, sizeof chunk);
	if (n == -1 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	*buf = xreallocarray(*buf, *len + n + 1, 1);
	memcpy(*buf + *len, chunk, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 1;
}

/* argv as one line, for messages. */
static char *
harness_join(char *const argv[])
{
	char	*line = xstrdup(""), *next;
	int	 i;

	for (i = 0; argv[i] != NULL; i++) {
		xasprintf(&next, "%s%s%s", line, i == 0 ? "" : " ", argv[i]);
		free(line);
		line = next;
	}
	return line;
}

/*
 * Run argv to completion, its output in r; fail the test if it is still
 * running at the deadline.  Children die with the test's worker.
 */
void
harness_runv(struct run *r, char *const argv[])
{
	long long	 deadline = harness_now() + harness_deadline_ms, left;
	struct pollfd	 pfd[2];
	size_t		 len[2] = { 0, 0 };
	char		*buf[2];
	int		 out[2], err[2], open_fds, status, i;
	pid_t		 pid;

	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0,
	    "pipe: %s", strerror(errno));
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		harness_child(SIGKILL);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);

	buf[0] = xstrdup("");
	buf[1] = xstrdup("");
	pfd[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
	for (open_fds = 2; open_fds > 0;) {
		left = deadline - harness_now();
		if (left <= 0)
			break;
		if (poll(pfd, 2, left) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			if (!harness_drain(pfd[i].fd, &buf[i], &len[i])) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	for (i = 0; i < 2; i++) {
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	}

	status = harness_reap(pid, open_fds > 0 ? 0 : deadline - harness_now());
	if (status == -1) {
		kill(pid, SIGKILL);
		harness_reap(pid, harness_deadline_ms);
		cr_assert_fail("`%s` still running after %d s; stdout: %s; "
		    "stderr: %s", harness_join(argv),
		    (int)(harness_deadline_ms / 1000), buf[0], buf[1]);
	}
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
	r->out = buf[0];
	r->err = buf[1];
}

/* Collect a NULL-terminated argument list after first into argv. */
static void
harness_collect(char *argv[], int n, va_list ap)
{
	char	*arg;

	while ((arg = va_arg(ap, char *)) != NULL) {
		cr_assert(n < HARNESS_MAX_ARGS - 1, "too many arguments");
		argv[n++] = arg;
	}
	argv[n] = NULL;
}

/* Run program with the NULL-terminated arguments that follow. */
void
harness_run(struct run *r, const char *program, ...)
{
	char	*argv[HARNESS_MAX_ARGS];
	va_list	 ap;

	argv[0] = (char *)program;
	va_start(ap, program);
	harness_collect(argv, 1, ap);
	va_end(ap);
	harness_runv(r, argv);
}

/* Run profilectl on the test's socket: prefix's words, then ap's. */
static void
harness_ctlv(struct run *r, const char *const prefix[], va_list ap)
{
	char	*argv[HARNESS_MAX_ARGS];
	int	 n = 0;

	xasprintf(&argv[n++], "%s/client/profilectl", harness.root);
	argv[n++] = "--socket";
	argv[n++] = harness.socket;
	while (*prefix != NULL)
		argv[n++] = (char *)*prefix++;
	harness_collect(argv, n, ap);
	harness_runv(r, argv);
	free(argv[0]);
}

/* Run profilectl on the test's socket with the arguments that follow. */
void
harness_ctl(struct run *r, ...)
{
	static const char *const	 prefix[] = { NULL };
	va_list				 ap;

	va_start(ap, r);
	harness_ctlv(r, prefix, ap);
	va_end(ap);
}

/* Run `profilectl --json command ...`; it must succeed with JSON. */
struct json *
harness_ctl_json(const char *command, ...)
{
	const char	*prefix[] = { "--json", command, NULL };
	struct run	 r;
	struct json	*j;
	char		*cause = NULL;
	va_list		 ap;

	va_start(ap, command);
	harness_ctlv(&r, prefix, ap);
	va_end(ap);
	cr_assert(r.status == 0, "profilectl --json %s exited %d: %s", command,
	    r.status, r.err);
	j = json_parse(r.out, strlen(r.out), &cause);
	cr_assert(j != NULL, "profilectl --json %s: not JSON (%s): %s",
	    command, cause, r.out);
	harness_run_free(&r);
	return j;
}

void
harness_run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/*
 * Change the profile behind profiled's back, as a user would with
 * `nix-env -iA attr` from the fixture package set.
 */
void
harness_nix_env_install(const char *attr)
{
	struct run	 r;
	char		*pkgs;

	xasprintf(&pkgs, "%s/tests/fixtures/pkgs.nix", harness.root);
	harness_run(&r, "nix-env", "--profile", harness.profile, "-f", pkgs,
	    "-iA", attr, "--option", "substituters", "", "--option", "sandbox",
	    "false", "--option", "build-users-group", "", NULL);
	cr_assert_eq(r.status, 0, "nix-env -iA %s: %s", attr, r.err);
	harness_run_free(&r);
	free(pkgs);
}

/* r failed as a command should: non-zero, one line on stderr naming what. */
void
harness_assert_error(const struct run *r, const char *what)
{
	size_t	len = strlen(r->err);

	cr_assert(r->status != 0, "exited 0, expected failure; stdout: %s",
	    r->out);
	cr_assert(len > 0 && r->err[len - 1] == '\n' &&
	    strchr(r->err, '\n') == r->err + len - 1,
	    "stderr is not exactly one line: \"%s\"", r->err);
	if (what != NULL)
		cr_assert(strstr(r->err, what) != NULL,
		    "stderr \"%s\" does not mention \"%s\"", r->err, what);
}

/*
 * Start profiled -v with the NULL-terminated arguments that follow and
 * wait until it answers on harness.socket.  PROFILED_TEST_WRAPPER, if set,
 * is a command to run it under (`make check-valgrind` uses valgrind).
 */
void
harness_start_with(const char *arg, ...)
{
	long long	 deadline = harness_now() + harness_deadline_ms;
	char		*argv[HARNESS_MAX_ARGS], **wrapper = NULL, *cause;
	const char	*wrap = getenv("PROFILED_TEST_WRAPPER");
	struct run	 r;
	va_list		 ap;
	int		 status, n = 0;
	pid_t		 pid;

	cr_assert(harness.daemon == -1, "profiled already started");
	if (wrap != NULL && *wrap != '\0') {
		cr_assert_eq(config_split_words(wrap, &wrapper, &cause), 0,
		    "PROFILED_TEST_WRAPPER: %s", cause);
		for (; wrapper[n] != NULL && n < HARNESS_MAX_ARGS / 2; n++)
			argv[n] = wrapper[n];
	}
	xasprintf(&argv[n], "%s/daemon/profiled", harness.root);
	argv[n + 1] = "-v";
	argv[n + 2] = (char *)arg;
	argv[n + 3] = NULL;
	if (arg != NULL) {
		va_start(ap, arg);
		harness_collect(argv, n + 3, ap);
		va_end(ap);
	}
	harness_spawn(argv);
	pid = harness.daemon;
	free(argv[n]);
	config_free_words(wrapper);

	for (;;) {
		harness_ctl(&r, "--json", "status", NULL);
		if (r.status == 0)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			harness.daemon = -1;
			cr_assert_fail("profiled exited (status %d) before "
			    "answering; see its log", status);
		}
		cr_assert(harness_now() < deadline, "profiled not answering "
		    "after %d s: %s", (int)(harness_deadline_ms / 1000), r.err);
		harness_run_free(&r);
		harness_pause();
	}
	harness_run_free(&r);
}

/* Start profiled on the test's config and wait until it answers. */
void
harness_start(void)
{
	harness_start_with("--config", harness.config, NULL);
}

/* Stop profiled with SIGTERM; it must exit 0. */
void
harness_stop(void)
{
	int	status;

	cr_assert(harness.daemon != -1, "profiled is not running");
	kill(harness.daemon, SIGTERM);
	status = harness_reap(harness.daemon, harness_deadline_ms);
	cr_assert(status != -1, "profiled still running %d s after SIGTERM",
	    (int)(harness_deadline_ms / 1000));
	harness.daemon = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "profiled ended with wait status %d after SIGTERM, expected exit 0",
	    status);
}

/* `profilectl --json status`, which must succeed. */
struct json *
harness_status(void)
{
	return harness_ctl_json("status", NULL);
}

/*
 * Poll status until predicate holds and return that status; fail with the
 * last status seen if the deadline passes or the daemon exits first.
 */
struct json *
harness_wait(harness_predicate predicate, const void *arg, const char *what)
{
	long long	 deadline = harness_now() + harness_deadline_ms;
	struct json	*status;
	struct run	 r;
	char		*cause;
	int		 wstatus;

	for (;;) {
		harness_ctl(&r, "--json", "status", NULL);
		if (r.status == 0) {
			cause = NULL;
			status = json_parse(r.out, strlen(r.out), &cause);
			free(cause);
			if (status != NULL && predicate(status, arg)) {
				harness_run_free(&r);
				return status;
			}
			json_free(status);
		}
		if (harness.daemon != -1 &&
		    waitpid(harness.daemon, &wstatus, WNOHANG) == harness.daemon) {
			harness.daemon = -1;
			cr_assert_fail("profiled exited (wait status %d) while "
			    "waiting for %s", wstatus, what);
		}
		if (harness_now() > deadline)
			cr_assert_fail("timed out after %d s waiting for %s; last "
			    "status (exit %d): %s%s",
			    (int)(harness_deadline_ms / 1000), what, r.status,
			    r.out, r.err);
		harness_run_free(&r);
		harness_pause();
	}
}

/* status says idle with nothing pending. */
int
harness_idle(const struct json *status)
{
	const char	*state = harness_string(status, "state");

	return state != NULL && strcmp(state, "idle") == 0 &&
	    harness_bool(status, "build_pending") == 0;
}

static int
harness_is_at_generation(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_number(status, "current_generation") == *(const long *)arg &&
	    harness_bool(status, "in_sync") == 1;
}

static int
harness_has_built(const struct json *status, const void *arg)
{
	const char	*hash;

	hash = harness_string(json_get(status, "last_build"), "content_hash");
	return harness_idle(status) && hash != NULL &&
	    strcmp(hash, arg) == 0;
}

static int
harness_is_idle(const struct json *status, const void *arg)
{
	return harness_idle(status);
}

/* Wait until profiled is idle, nothing pending. */
struct json *
harness_wait_idle(void)
{
	return harness_wait(harness_is_idle, NULL, "state idle");
}

/* Wait until profiled is idle and in sync at generation n. */
struct json *
harness_wait_generation(long n)
{
	char		*what;
	struct json	*status;

	xasprintf(&what, "idle and in sync at generation %ld", n);
	status = harness_wait(harness_is_at_generation, &n, what);
	free(what);
	return status;
}

/* Wait until profiled is idle and its last build was of exactly text. */
struct json *
harness_wait_built(const char *text)
{
	char		*hash, *what;
	struct json	*status;

	hash = harness_hash(text);
	xasprintf(&what, "idle with last_build.content_hash %s", hash);
	status = harness_wait(harness_has_built, hash, what);
	free(what);
	free(hash);
	return status;
}

/* Member key of object as a whole number; -1 if missing or not a number. */
long
harness_number(const struct json *object, const char *key)
{
	const struct json	*v = json_get(object, key);

	return v != NULL && v->type == JSON_NUMBER ? (long)v->number : -1;
}

/* Member key of object as a string; NULL if missing or not a string. */
const char *
harness_string(const struct json *object, const char *key)
{
	const struct json	*v = json_get(object, key);

	return v != NULL && v->type == JSON_STRING ? v->string : NULL;
}

/* Member key of object as 0 or 1; -1 if missing or not a boolean. */
int
harness_bool(const struct json *object, const char *key)
{
	const struct json	*v = json_get(object, key);

	return v != NULL && v->type == JSON_BOOL ? v->boolean : -1;
}

/* last_build, as a string that changes whenever a new build is recorded. */
char *
harness_last_build(const struct json *status)
{
	const struct json	*build = json_get(status, "last_build");
	char			*line;

	cr_assert(build != NULL && build->type == JSON_OBJECT,
	    "no last_build in status");
	xasprintf(&line, "started %s, took %ld ms, trigger %s, generation %ld, "
	    "content_hash %s, ok %d", harness_string(build, "started"),
	    harness_number(build, "duration_ms"), harness_string(build, "trigger"),
	    harness_number(build, "generation"),
	    harness_string(build, "content_hash"), harness_bool(build, "ok"));
	return line;
}

/* The generation numbered id in a `generations --json` array, or NULL. */
const struct json *
harness_generation(const struct json *generations, long id)
{
	size_t	i;

	cr_assert(generations->type == JSON_ARRAY, "generations: not an array");
	for (i = 0; i < generations->count; i++) {
		if (harness_number(generations->items[i], "id") == id)
			return generations->items[i];
	}
	return NULL;
}

static int
harness_compare_words_cb(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* words (a malloc'd array of n strings) sorted and joined by spaces. */
static char *
harness_sorted(char **words, size_t n)
{
	char	*line = xstrdup(""), *next;
	size_t	 i;

	qsort(words, n, sizeof *words, harness_compare_words_cb);
	for (i = 0; i < n; i++) {
		xasprintf(&next, "%s%s%s", line, i == 0 ? "" : " ", words[i]);
		free(line);
		line = next;
		free(words[i]);
	}
	free(words);
	return line;
}

/* The whitespace-separated words of text, sorted, joined by spaces. */
static char *
harness_sorted_words(const char *text)
{
	char	**words = NULL, *copy = xstrdup(text), *word, *last;
	size_t	  n = 0;

	for (word = strtok_r(copy, " \t\n", &last); word != NULL;
	    word = strtok_r(NULL, " \t\n", &last)) {
		words = xreallocarray(words, n + 1, sizeof *words);
		words[n++] = xstrdup(word);
	}
	free(copy);
	return harness_sorted(words, n);
}

/* A generation's packages as sorted "name-version" words. */
static char *
harness_package_names(const struct json *generation)
{
	const struct json	*packages = json_get(generation, "packages");
	char			**words;
	size_t			  i;

	cr_assert(packages != NULL && packages->type == JSON_ARRAY,
	    "generation %ld has no packages array",
	    harness_number(generation, "id"));
	words = xcalloc(packages->count + 1, sizeof *words);
	for (i = 0; i < packages->count; i++) {
		xasprintf(&words[i], "%s-%s",
		    harness_string(packages->items[i], "name"),
		    harness_string(packages->items[i], "version"));
	}
	return harness_sorted(words, packages->count);
}

/* generation lists exactly the packages in expected ("hello-2.12 ..."). */
void
harness_assert_packages(const struct json *generation, const char *expected)
{
	char	*want = harness_sorted_words(expected);
	char	*have = harness_package_names(generation);

	cr_assert_str_eq(have, want, "generation %ld has packages \"%s\", "
	    "expected \"%s\"", harness_number(generation, "id"), have, want);
	free(want);
	free(have);
}

/* The N of the PROFILE-N-link the profile points at; -1 if none. */
long
harness_profile_generation(void)
{
	char		 target[PATH_MAX], tail[16];
	const char	*name = strrchr(harness.profile, '/') + 1, *base;
	size_t		 len = strlen(name);
	ssize_t		 n;
	long		 generation;

	n = readlink(harness.profile, target, sizeof target - 1);
	if (n == -1)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strncmp(base, name, len) != 0 ||
	    sscanf(base + len, "-%ld-%15s", &generation, tail) != 2 ||
	    strcmp(tail, "link") != 0)
		return -1;
	return generation;
}

/* PROFILE/bin runs and prints exactly output. */
void
harness_assert_runs(const char *bin, const char *output)
{
	struct run	 r;
	char		*path;

	xasprintf(&path, "%s/%s", harness.profile, bin);
	harness_run(&r, path, NULL);
	cr_assert(r.status == 0, "%s exited %d: %s", path, r.status, r.err);
	cr_assert_str_eq(r.out, output, "%s printed \"%s\", expected \"%s\"",
	    path, r.out, output);
	harness_run_free(&r);
	free(path);
}

/*
 * Nix and profiled tell the same story: the same generation numbers, the
 * same current one (which the profile link names), and the current
 * generation's packages and store path are what the profile holds.
 */
void
harness_assert_nix_agrees(void)
{
	struct json		*generations, *status;
	const struct json	*current = NULL, *g;
	struct run		 r;
	char			**ids, *ours, *theirs, *line, *last, *nix_pkgs;
	char			*listed, real[PATH_MAX];
	long			 id, nix_current = -1;
	size_t			 i, n = 0;

	generations = harness_ctl_json("generations", NULL);
	cr_assert(generations->type == JSON_ARRAY, "generations: not an array");
	ids = xcalloc(generations->count + 1, sizeof *ids);
	for (i = 0; i < generations->count; i++) {
		g = generations->items[i];
		xasprintf(&ids[i], "%ld", harness_number(g, "id"));
		if (harness_bool(g, "current") == 1) {
			cr_assert(current == NULL, "two current generations");
			current = g;
		}
	}
	ours = harness_sorted(ids, generations->count);
	cr_assert(current != NULL, "no generation is current");

	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--list-generations", NULL);
	cr_assert(r.status == 0, "nix-env --list-generations: %s", r.err);
	ids = NULL;
	for (line = strtok_r(r.out, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		if (sscanf(line, "%ld", &id) != 1)
			continue;
		ids = xreallocarray(ids, n + 1, sizeof *ids);
		xasprintf(&ids[n++], "%ld", id);
		if (strstr(line, "(current)") != NULL)
			nix_current = id;
	}
	theirs = harness_sorted(ids, n);
	harness_run_free(&r);
	cr_assert_str_eq(ours, theirs, "profilectl generations [%s], nix-env "
	    "--list-generations [%s]", ours, theirs);
	cr_assert_eq(harness_number(current, "id"), nix_current,
	    "profilectl's current generation %ld, nix-env's %ld",
	    harness_number(current, "id"), nix_current);
	cr_assert_eq(harness_profile_generation(), nix_current,
	    "profile link names generation %ld, nix-env says %ld",
	    harness_profile_generation(), nix_current);
	status = harness_status();
	cr_assert_eq(harness_number(status, "current_generation"), nix_current,
	    "status.current_generation %ld, nix-env's current %ld",
	    harness_number(status, "current_generation"), nix_current);

	cr_assert(realpath(harness.profile, real) != NULL, "realpath %s: %s",
	    harness.profile, strerror(errno));
	cr_assert_str_eq(harness_string(current, "store_path"), real,
	    "current generation's store_path %s, the profile holds %s",
	    harness_string(current, "store_path"), real);

	harness_run(&r, "nix-env", "--profile", harness.profile, "-q", NULL);
	cr_assert(r.status == 0, "nix-env -q: %s", r.err);
	nix_pkgs = harness_sorted_words(r.out);
	listed = harness_package_names(current);
	cr_assert_str_eq(listed, nix_pkgs, "generation %ld lists \"%s\", "
	    "nix-env -q \"%s\"", nix_current, listed, nix_pkgs);
	harness_run_free(&r);

	free(ours);
	free(theirs);
	free(nix_pkgs);
	free(listed);
	json_free(status);
	json_free(generations);
}

/* Milliseconds on the monotonic clock, for tests' own deadlines. */
long long
harness_clock_ms(void)
{
	return harness_now();
}

/*
 * In a child about to exec: become the test's user, if the test runs as
 * one, then die with signal when the test's worker does.  The death
 * signal comes after the change of user, which clears it.
 */
void
harness_child(int signal)
{
	harness_user_become();
	prctl(PR_SET_PDEATHSIG, signal);
}

/*
 * Start argv as "the daemon" (a wrapper that becomes profiled, such as
 * systemd-socket-activate), its output in the log; harness_stop ends it.
 * Unlike harness_start, it does not wait for an answer.
 */
void
harness_spawn(char *const argv[])
{
	pid_t	pid;
	int	fd;

	cr_assert(harness.daemon == -1, "profiled already started");
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open(harness.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(fd, 1);
		dup2(fd, 2);
		harness_child(SIGTERM);
		execvp(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	harness.daemon = pid;
}

/* The content of the file at path; "" if it cannot be read. */
char *
harness_read(const char *path)
{
	char	*text = xstrdup("");
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return text;
	while (harness_drain(fd, &text, &len))
		;
	close(fd);
	return text;
}

/* How many lines of the daemon's log contain needle. */
int
harness_log_count(const char *needle)
{
	char	*text = harness_read(harness.log), *line, *last;
	int	 n = 0;

	for (line = strtok_r(text, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last)) {
		if (strstr(line, needle) != NULL)
			n++;
	}
	free(text);
	return n;
}

/* Wait until a line of the daemon's log contains needle. */
void
harness_wait_log(const char *needle)
{
	long long	deadline = harness_now() + HARNESS_DEADLINE_MS;

	while (harness_log_count(needle) == 0) {
		cr_assert(harness_now() < deadline, "timed out after %d s "
		    "waiting for \"%s\" in profiled's log",
		    HARNESS_DEADLINE_MS / 1000, needle);
		harness_pause();
	}
}

/*
 * Start `profilectl --socket S args...` in the background (for watch and
 * log -f, which run until something happens), its stdout and stderr in
 * files; wait on it with harness_background_wait and _exit.
 */
void
harness_background(struct harness_background *bg, ...)
{
	char		*argv[32], *ctl;
	const char	*arg;
	size_t		 n = 0;
	va_list		 ap;
	int		 out, err;
	static int	 serial;

	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	argv[n++] = ctl;
	argv[n++] = "--socket";
	argv[n++] = harness.socket;
	va_start(ap, bg);
	while ((arg = va_arg(ap, const char *)) != NULL && n < 31)
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	serial++;
	xasprintf(&bg->out, "%s/background-%d.out", harness.dir, serial);
	xasprintf(&bg->err, "%s/background-%d.err", harness.dir, serial);
	bg->pid = fork();
	cr_assert(bg->pid != -1, "fork: %s", strerror(errno));
	if (bg->pid == 0) {
		out = open(bg->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		err = open(bg->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(open("/dev/null", O_RDONLY), 0);
		dup2(out, 1);
		dup2(err, 2);
		harness_child(SIGKILL);
		execv(ctl, argv);
		_exit(127);
	}
	free(ctl);
}

/* Wait until the background client's stdout contains needle; it all. */
char *
harness_background_wait(struct harness_background *bg, const char *needle)
{
	long long	 deadline = harness_now() + HARNESS_DEADLINE_MS;
	char		*text;

	for (;;) {
		text = harness_read(bg->out);
		if (strstr(text, needle) != NULL)
			return text;
		if (harness_now() > deadline) {
			kill(bg->pid, SIGKILL);
			cr_assert_fail("timed out after %d s waiting for \"%s\" "
			    "from profilectl; it printed: %s; stderr: %s",
			    HARNESS_DEADLINE_MS / 1000, needle, text,
			    harness_read(bg->err));
		}
		free(text);
		harness_pause();
	}
}

/*
 * Wait (with the deadline) for the background client to exit, or with
 * stop, end it first; its exit status, or 128 + the signal's number.
 */
int
harness_background_exit(struct harness_background *bg, int stop)
{
	int	status;

	if (stop)
		kill(bg->pid, SIGTERM);
	status = harness_reap(bg->pid, HARNESS_DEADLINE_MS);
	if (status == -1) {
		kill(bg->pid, SIGKILL);
		waitpid(bg->pid, NULL, 0);
		cr_assert_fail("profilectl did not exit in %d s; stdout: %s",
		    HARNESS_DEADLINE_MS / 1000, harness_read(bg->out));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) :
	    128 + WTERMSIG(status);
}

/* The length of the key a `key = value` line sets, 0 if none. */
static size_t
harness_config_key(const char *line)
{
	size_t	len = strcspn(line, "= \t\n");

	return line[len + strspn(line + len, " \t")] == '=' ? len : 0;
}

/*
 * Set line (`key = value`, without its newline) in the test's config
 * file: in place of the line setting the same key, since profiled refuses
 * a key set twice, or else at the end.
 */
void
harness_config_add(const char *line)
{
	char	*text = harness_read(harness.config), *next, *at;
	size_t	 len = harness_config_key(line), end;

	for (at = text; len > 0 && *at != '\0'; at += strcspn(at, "\n") +
	    (at[strcspn(at, "\n")] != '\0')) {
		if (harness_config_key(at) != len || strncmp(at, line, len) != 0)
			continue;
		end = strcspn(at, "\n");
		xasprintf(&next, "%.*s%s%s", (int)(at - text), text, line,
		    at + end);
		goto write;
	}
	xasprintf(&next, "%s%s\n", text, line);
write:
	harness_write(harness.config, next);
	free(next);
	free(text);
}

/*
 * Start profiled on the test's config with the environment variable name
 * set to value (NULL: unset) in its environment only.
 */
void
harness_start_with_env(const char *name, const char *value)
{
	char	*saved = getenv(name) != NULL ? xstrdup(getenv(name)) : NULL;

	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
	harness_start();
	if (saved != NULL)
		setenv(name, saved, 1);
	else
		unsetenv(name);
	free(saved);
}

/*
 * The daemon's own Status message, asked for over its socket: it has what
 * `profilectl --json status` does not print (file_error, imports,
 * last_build.file).  Free with profiled__response__free_unpacked.
 */
Profiled__Response *
harness_daemon_status(void)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	unsigned char		 header[FRAME_HEADER_SIZE], *frame;
	size_t			 size, done;
	uint32_t		 len;
	ssize_t			 n;
	int			 fd;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	frame = frame_pack(&request.base, &size);
	cr_assert_not_null(frame, "cannot pack a status request");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", harness.socket);
	cr_assert(connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0,
	    "connect %s: %s", harness.socket, strerror(errno));
	cr_assert(send(fd, frame, size, MSG_NOSIGNAL) == (ssize_t)size,
	    "send: %s", strerror(errno));
	free(frame);

	for (done = 0; done < sizeof header; done += n) {
		cr_assert(poll(&(struct pollfd){ .fd = fd, .events = POLLIN },
		    1, HARNESS_DEADLINE_MS) == 1, "no status answer in %d s",
		    HARNESS_DEADLINE_MS / 1000);
		n = read(fd, header + done, sizeof header - done);
		cr_assert(n > 0, "status: connection lost");
	}
	cr_assert(frame_header_decode(header, &len) == 0, "bad frame header");
	frame = xmalloc(len + 1);
	for (done = 0; done < len; done += n) {
		cr_assert(poll(&(struct pollfd){ .fd = fd, .events = POLLIN },
		    1, HARNESS_DEADLINE_MS) == 1, "no status answer in %d s",
		    HARNESS_DEADLINE_MS / 1000);
		n = read(fd, frame + done, len - done);
		cr_assert(n > 0, "status: connection lost");
	}
	close(fd);
	response = profiled__response__unpack(NULL, len, frame);
	free(frame);
	cr_assert(response != NULL && response->result_case ==
	    PROFILED__RESPONSE__RESULT_STATUS, "the answer is not a status");
	return response;
}

/*
 * Poll the daemon's status until it is idle with a file_error; that
 * error, which the caller frees.
 */
char *
harness_wait_file_error(void)
{
	long long		 deadline = harness_now() + HARNESS_DEADLINE_MS;
	Profiled__Response	*response;
	char			*error = NULL;

	for (;;) {
		response = harness_daemon_status();
		if (strcmp(response->status->state, "idle") == 0 &&
		    !response->status->build_pending &&
		    response->status->file_error != NULL)
			error = xstrdup(response->status->file_error);
		profiled__response__free_unpacked(response, NULL);
		if (error != NULL)
			return error;
		cr_assert(harness_now() < deadline, "timed out after %d s "
		    "waiting for a file_error in status",
		    HARNESS_DEADLINE_MS / 1000);
		harness_pause();
	}
}

/* The daemon's database, opened read-only. */
static sqlite3 *
harness_db_open(void)
{
	sqlite3	*db;
	char	*path;

	xasprintf(&path, "%s/profiled.db", harness.state_dir);
	cr_assert(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK, "open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, HARNESS_DEADLINE_MS);
	free(path);
	return db;
}

static char *
harness_db_text(sqlite3_stmt *stmt, int column)
{
	const unsigned char	*text = sqlite3_column_text(stmt, column);

	return text != NULL ? xstrdup((const char *)text) : NULL;
}

/*
 * The rows of the builds table with an id above after, oldest first, in
 * *builds (free with harness_builds_free); how many.
 */
size_t
harness_builds_since(long after, struct harness_build **builds)
{
	sqlite3		*db = harness_db_open();
	sqlite3_stmt	*stmt;
	size_t		 n = 0;
	int		 rc;

	cr_assert(sqlite3_prepare_v2(db, "SELECT id, content_hash, ok, "
	    "superseded, file, error FROM builds WHERE id > ? ORDER BY id",
	    -1, &stmt, NULL) == SQLITE_OK, "builds: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(stmt, 1, after);
	*builds = NULL;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*builds = xreallocarray(*builds, n + 1, sizeof **builds);
		(*builds)[n] = (struct harness_build){
			.id = sqlite3_column_int64(stmt, 0),
			.content_hash = harness_db_text(stmt, 1),
			.ok = sqlite3_column_int(stmt, 2),
			.superseded = sqlite3_column_int(stmt, 3),
			.file = harness_db_text(stmt, 4),
			.error = harness_db_text(stmt, 5),
		};
		n++;
	}
	cr_assert_eq(rc, SQLITE_DONE, "builds: %s", sqlite3_errmsg(db));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return n;
}

void
harness_builds_free(struct harness_build *builds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(builds[i].content_hash);
		free(builds[i].file);
		free(builds[i].error);
	}
	free(builds);
}

/* The id of the newest row of the builds table; 0 if there is none. */
long
harness_last_build_id(void)
{
	struct harness_build	*builds;
	size_t			 n = harness_builds_since(0, &builds);
	long			 id = n > 0 ? builds[n - 1].id : 0;

	harness_builds_free(builds, n);
	return id;
}

/*
 * Since the build numbered after, exactly one build was recorded: a
 * successful, current one of text, started by a change of file (the
 * package file if NULL).
 */
void
harness_assert_one_build(long after, const char *text, const char *file)
{
	struct harness_build	*builds;
	char			*hash = harness_hash(text);
	size_t			 n = harness_builds_since(after, &builds), i;

	for (i = 0; i < n; i++)
		cr_log_info("build %ld: content %.12s, ok %d, superseded %d, "
		    "file %s, error %s", builds[i].id, builds[i].content_hash,
		    builds[i].ok, builds[i].superseded, builds[i].file,
		    builds[i].error);
	cr_assert_eq(n, 1, "%zu builds recorded, expected exactly one", n);
	cr_assert_str_eq(builds[0].content_hash, hash, "the build was not of "
	    "the final content");
	cr_assert(builds[0].ok && !builds[0].superseded, "the build failed "
	    "or was superseded: %s", builds[0].error);
	cr_assert_str_eq(builds[0].file, file != NULL ? file :
	    harness.package_file, "the build was started by %s",
	    builds[0].file);
	harness_builds_free(builds, n);
	free(hash);
}

/*
 * The text of a package file listing names and the fixture package gated
 * on DIR/gates/GATE, whose build waits until that file exists.  Nix's
 * builders must reach the gate, so DIR is opened to them.
 */
char *
harness_gated_packages(const char *names, const char *gate)
{
	char	*gates, *list, *text;

	xasprintf(&gates, "%s/gates", harness.dir);
	cr_assert(mkdir(gates, 0755) == 0 || errno == EEXIST, "mkdir %s: %s",
	    gates, strerror(errno));
	cr_assert(chmod(harness.dir, 0711) == 0, "chmod: %s", strerror(errno));
	xasprintf(&list, "%s (gated \"%s/%s\")", names, gates, gate);
	text = harness_packages(list);
	free(list);
	free(gates);
	return text;
}

/* Whether the NUL-separated list in /proc/PID/WHAT holds entry. */
static int
harness_proc_has(const char *pid, const char *what, const char *entry)
{
	char	*path, *text;
	size_t	 len = 0, at;
	int	 fd, found = 0;

	xasprintf(&path, "/proc/%s/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return 0;
	text = xstrdup("");
	while (harness_drain(fd, &text, &len))
		;
	close(fd);
	for (at = 0; at < len && !found; at += strlen(text + at) + 1)
		found = strcmp(text + at, entry) == 0;
	free(text);
	return found;
}

/*
 * The pid of a process whose /proc/PID/WHAT ("environ" or "cmdline")
 * holds entry (such as "gate=PATH", or an argument); 0 if there is none.
 */
long
harness_process_with(const char *what, const char *entry)
{
	struct dirent	*d;
	DIR		*proc;
	long		 pid = 0;

	cr_assert((proc = opendir("/proc")) != NULL, "opendir /proc: %s",
	    strerror(errno));
	while (pid == 0 && (d = readdir(proc)) != NULL) {
		if (d->d_name[0] >= '1' && d->d_name[0] <= '9' &&
		    (long)getpid() != strtol(d->d_name, NULL, 10) &&
		    harness_proc_has(d->d_name, what, entry))
			pid = strtol(d->d_name, NULL, 10);
	}
	closedir(proc);
	return pid;
}

/* Wait until a process with entry in /proc/PID/WHAT runs, or none does. */
void
harness_wait_process(const char *what, const char *entry, int running)
{
	long long	deadline = harness_now() + HARNESS_DEADLINE_MS;
	long		pid;

	while (((pid = harness_process_with(what, entry)) != 0) != running) {
		cr_assert(harness_now() < deadline, "after %d s, %s process "
		    "with %s in its %s%s", HARNESS_DEADLINE_MS / 1000,
		    running ? "still no" : "still a", entry, what,
		    running ? "" : " (the build was stopped)");
		harness_pause();
	}
}

/* The environment entry a builder of the package gated on gate has. */
char *
harness_gate_variable(const char *gate)
{
	char	*variable;

	xasprintf(&variable, "gate=%s/gates/%s", harness.dir, gate);
	return variable;
}

/* No build was recorded since the build numbered after. */
void
harness_assert_no_build(long after)
{
	struct harness_build	*builds;
	size_t			 n = harness_builds_since(after, &builds);

	cr_assert_eq(n, 0, "%zu builds recorded, expected none; the first "
	    "was of %s, ok %d, error %s", n, n > 0 ? builds[0].content_hash :
	    "", n > 0 ? builds[0].ok : -1, n > 0 ? builds[0].error : "");
	harness_builds_free(builds, n);
}

/*
 * After a change profiled must ignore, wait until it has been idle for a
 * few debounce intervals: had it taken the change for one, it would be
 * waiting or building by then, or have recorded a build.
 */
void
harness_wait_ignored(void)
{
	long long	since = harness_now();

	while (harness_now() - since < 250)
		json_free(harness_wait_idle());
}

/*
 * The package file, just made unbuildable (empty, missing, not a file),
 * is waited for: status gives file_error saying why, and whether the file
 * exists; the profile stays at generation 1, not in sync; no build is
 * recorded after the build numbered after.
 */
void
harness_assert_waits_for_file(long after, const char *why)
{
	struct json	*status;
	struct stat	 sb;
	char		*error = harness_wait_file_error();

	cr_assert(strstr(error, why) != NULL, "file_error \"%s\" does not say "
	    "\"%s\"", error, why);
	cr_assert(strstr(error, harness.package_file) != NULL, "file_error "
	    "\"%s\" does not name the file", error);
	free(error);
	status = harness_status();
	cr_assert_eq(harness_bool(status, "package_file_exists"),
	    stat(harness.package_file, &sb) == 0);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 0,
	    "in sync with a package file that cannot be built");
	json_free(status);
	harness_assert_no_build(after);
	harness_assert_runs("bin/hello", "hello 2.12\n");
}

/* The program the daemon would run by that name: the first on PATH. */
char *
harness_which(const char *program)
{
	char	*path = xstrdup(getenv("PATH")), *dir, *last, *found = NULL;

	for (dir = strtok_r(path, ":", &last); dir != NULL && found == NULL;
	    dir = strtok_r(NULL, ":", &last)) {
		xasprintf(&found, "%s/%s", dir, program);
		if (access(found, X_OK) != 0) {
			free(found);
			found = NULL;
		}
	}
	free(path);
	cr_assert_not_null(found, "no %s on PATH", program);
	return found;
}

/* "name version;" for each package of a JSON array, in order. */
char *
harness_packages_of(const struct json *array)
{
	const struct json	*p;
	char			*all = xstrdup(""), *next;
	size_t			 i;

	cr_assert(array != NULL && array->type == JSON_ARRAY);
	for (i = 0; i < array->count; i++) {
		p = array->items[i];
		xasprintf(&next, "%s%s %s;", all, harness_string(p, "name"),
		    harness_string(p, "version"));
		free(all);
		all = next;
	}
	return all;
}

/*
 * Give each later child process, start, stop and status wait up to ms
 * (HARNESS_DEADLINE_MS again for the next test); the one it replaces.  For
 * a test whose steps are long by nature, each with its own bound.
 */
long long
harness_deadline(long long ms)
{
	long long	old = harness_deadline_ms;

	harness_deadline_ms = ms;
	return old;
}
