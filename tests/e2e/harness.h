/*
 * The end-to-end harness.  Each test gets a private mkdtemp directory
 * holding its package file, config, state, socket and Nix profile, runs the
 * real daemon/profiled and client/profilectl there, and synchronises by
 * polling `profilectl --json status`, never by sleeping.  The daemon's
 * stderr goes to a log file that is printed when the test fails.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <criterion/criterion.h>

#include "profiled.h"
#include "profiled.pb-c.h"

/* How long any one wait may take before the test fails, in milliseconds. */
#define HARNESS_DEADLINE_MS	30000

/*
 * Nix options for building the offline package set on a bare nix-bin: no
 * binary cache (no network), no sandbox (its builders use the host's
 * /bin/sh and /usr/bin), and no build users (as root, Nix otherwise wants
 * a nixbld group that only a multi-user install creates).
 */
#define OFFLINE_NIX_FLAGS \
	"--option substituters '' --option sandbox false " \
	"--option build-users-group ''"

/* Every Test's .timeout, in seconds: a backstop well above the waits. */
#define HARNESS_TIMEOUT		180

struct harness {
	char	*root;		/* the repository, found from /proc/self/exe */
	char	*dir;		/* this test's mkdtemp directory */
	char	*package_file;	/* DIR/packages.nix */
	char	*config;	/* DIR/profiled.conf */
	char	*state_dir;	/* DIR/state */
	char	*socket;	/* DIR/profiled.sock */
	char	*profile;	/* DIR/profiles/profile */
	char	*log;		/* the daemon's stderr, beside DIR */
	char	*home;		/* DIR/home, the test's $HOME */
	const char *source;	/* the repository, when root is a copy */
	pid_t	 daemon;	/* -1 when not running */

	/* Run as a user (harness-user.c); user NULL, the pids -1 if not. */
	char	*user;		/* the user children run as */
	uid_t	 uid;
	gid_t	 gid;
	pid_t	 nix_daemon;	/* the tests' nix-daemon */
	char	*nix_daemon_log; /* its stderr, beside DIR */
	int	 lock;		/* held while the test uses the users; or -1 */
};
extern struct harness harness;

/* A finished child process. */
struct run {
	int	 status;	/* exit code, or 128 + signal number */
	char	*out;
	char	*err;
};

typedef int (*harness_predicate)(const struct json *, const void *);

/* Setup and teardown, for TestSuite(.init, .fini). */
void		 harness_init(void);
void		 harness_fini(void);
void		 harness_write_config(const char *);

/* The package file, and other files. */
void		 harness_write(const char *, const char *);
char		*harness_packages(const char *);
void		 harness_save(const char *);
void		 harness_save_by_rename(const char *);
void		 harness_save_packages(const char *);
char		*harness_hash(const char *);

/* Child processes, each killed and failed if it outlives the deadline. */
void		 harness_run(struct run *, const char *, ...)
		     __attribute__((sentinel));
void		 harness_ctl(struct run *, ...) __attribute__((sentinel));
struct json	*harness_ctl_json(const char *, ...) __attribute__((sentinel));
void		 harness_runv(struct run *, char *const []);
void		 harness_run_free(struct run *);
void		 harness_nix_env_install(const char *);
void		 harness_assert_error(const struct run *, const char *);

/* The daemon. */
void		 harness_start(void);
void		 harness_start_with(const char *, ...)
		     __attribute__((sentinel));
void		 harness_stop(void);

/* Waiting on `profilectl --json status`. */
struct json	*harness_status(void);
struct json	*harness_wait(harness_predicate, const void *, const char *);
struct json	*harness_wait_generation(long);
struct json	*harness_wait_built(const char *);
struct json	*harness_wait_idle(void);
int		 harness_idle(const struct json *);

/* Reading JSON and the profile. */
char		*harness_packages_of(const struct json *);
char		*harness_which(const char *);
long		 harness_number(const struct json *, const char *);
const char	*harness_string(const struct json *, const char *);
int		 harness_bool(const struct json *, const char *);
const struct json *harness_generation(const struct json *, long);
char		*harness_last_build(const struct json *);
void		 harness_assert_packages(const struct json *, const char *);
long		 harness_profile_generation(void);
void		 harness_assert_runs(const char *, const char *);
void		 harness_assert_nix_agrees(void);

/* Other commands as the daemon, the daemon's log, tests' own deadlines. */
long long	 harness_clock_ms(void);
long long	 harness_deadline(long long);
void		 harness_pause(void);
int		 harness_reap(pid_t, long long);
void		 harness_child(int);
char		*harness_log_path(pid_t, const char *, const char *,
		     const char *);
void		 harness_spawn(char *const []);
char		*harness_read(const char *);
int		 harness_log_count(const char *);
void		 harness_wait_log(const char *);

/* profilectl running in the background: watch, log -f. */
struct harness_background {
	pid_t	 pid;
	char	*out;		/* its stdout, in a file */
	char	*err;		/* its stderr */
};
void		 harness_background(struct harness_background *, ...)
		     __attribute__((sentinel));
char		*harness_background_wait(struct harness_background *,
		     const char *);
int		 harness_background_exit(struct harness_background *, int);

/* The test's config, the daemon's environment and its own status. */
void		 harness_config_add(const char *);
void		 harness_use_nix_profiles(void);
void		 harness_start_with_env(const char *, const char *);
Profiled__Response *harness_daemon_status(void);
char		*harness_wait_file_error(void);

/* The builds table of the daemon's database. */
struct harness_build {
	long	 id;
	char	*content_hash;
	int	 ok;
	int	 superseded;
	char	*file;		/* whose change started it */
	char	*error;
};
size_t		 harness_builds_since(long, struct harness_build **);
void		 harness_builds_free(struct harness_build *, size_t);
long		 harness_last_build_id(void);
void		 harness_assert_one_build(long, const char *, const char *);
void		 harness_assert_no_build(long);
void		 harness_wait_ignored(void);
void		 harness_assert_waits_for_file(long, const char *);

/* Processes: the gated fixture package's builders, Nix. */
char		*harness_gated_packages(const char *, const char *);
char		*harness_gate_variable(const char *);
long		 harness_process_with(const char *, const char *);
void		 harness_wait_process(const char *, const char *, int);

/*
 * As a normal user against a nix-daemon (harness-user.c): the users and
 * the daemon are the tests' own, made as root and removed after the run.
 */
#define HARNESS_USER		"profiled-e2e"
#define HARNESS_BUILD_GROUP	"profiled-e2e-nixbld"
void		 harness_user_init(void);
void		 harness_user_other_init(void);
void		 harness_user_fini(void);
void		 harness_user_become(void);
int		 harness_users_remove(char **);
void		 harness_mkdir(const char *, mode_t);
void		 harness_user_nix_env_install(const char *);
void		 harness_user_channel(void);
char		*harness_user_copy_source(const char *);

/*
 * A test whose one body runs twice: in suite, as root, and in suite_user,
 * as the tests' user against the tests' nix-daemon.  Both suites must be
 * declared, the second with harness_user_init and harness_user_fini.
 */
#define HARNESS_TEST_BOTH(suite, name)					\
	static void suite##_##name##_body(void);			\
	Test(suite, name) { suite##_##name##_body(); }			\
	Test(suite##_user, name) { suite##_##name##_body(); }		\
	static void suite##_##name##_body(void)

#endif
