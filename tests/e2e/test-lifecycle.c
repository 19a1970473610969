/*
 * The daemon's life as a service: SIGHUP rereads the config file, taking
 * what can change at once (a bad file is logged and the old settings
 * kept, and flags keep winning over the file); every clean exit, fatal
 * errors too, removes the socket profiled bound; and the installed
 * service unit reloads, restarts and stops it as it should.
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
/* The stories a user's profiled lives through run as a user too. */
TestSuite(lifecycle_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/*
 * Send profiled SIGHUP and wait until its log has one more line holding
 * needle, which the reload logs when it is done.
 */
static void
reload(const char *needle)
{
	long long	deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	int		before = harness_log_count(needle);

	cr_assert_eq(kill(harness.daemon, SIGHUP), 0, "kill: %s",
	    strerror(errno));
	while (harness_log_count(needle) == before) {
		cr_assert(harness_clock_ms() < deadline, "no \"%s\" in the log "
		    "after SIGHUP", needle);
		poll(NULL, 0, 20);
	}
}

/* The status, which must come from the same daemon the test started. */
static struct json *
same_daemon_status(void)
{
	struct json	*status = harness_status();

	cr_assert_eq(harness_number(status, "pid"), harness.daemon,
	    "a different profiled answers");
	return status;
}

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

/*
 * A good new file takes effect without a restart: auto_switch turned off
 * leaves a save built but not switched to, and turned on again switches.
 */
HARNESS_TEST_BOTH(lifecycle, sighup_takes_a_good_config)
{
	struct json	*status;
	char		*text;

	harness_start();
	harness_wait_generation(1);

	harness_config_add("auto_switch = false");
	reload("auto_switch is now false (was true)");
	text = harness_packages("hello cowsay");
	harness_save(text);
	status = harness_wait_built(text);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	cr_assert_eq(harness_number(status, "current_generation"), 1,
	    "switched with auto_switch = false");
	json_free(status);

	harness_config_add("auto_switch = true");
	reload("auto_switch is now true (was false)");
	harness_save_packages("hello ripgrep");
	status = harness_wait_generation(2);
	json_free(status);
	json_free(same_daemon_status());
	free(text);
}

/*
 * A bad new file is logged and changes nothing, not even the good lines
 * before the bad one; the daemon goes on as it was.
 */
HARNESS_TEST_BOTH(lifecycle, sighup_keeps_the_old_config_when_the_new_is_bad)
{
	char	*config = harness_read(harness.config);

	harness_start();
	harness_wait_generation(1);

	harness_config_add("auto_switch = false");
	harness_config_add("debounce_ms = soon");
	reload("keeping the configuration in use");
	cr_assert_eq(harness_log_count("debounce_ms: 'soon' is not a whole "
	    "number"), 1);
	cr_assert_eq(harness_log_count("auto_switch is now"), 0);
	json_free(same_daemon_status());
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));

	/* A file fixed later is taken at the next reload. */
	harness_write(harness.config, config);
	harness_config_add("auto_switch = false");
	reload("auto_switch is now false (was true)");
	free(config);
}

/* A flag given at start keeps winning over the file after a reload. */
HARNESS_TEST_BOTH(lifecycle, sighup_keeps_flags_over_the_file)
{
	struct json	*status;
	char		*text;

	harness_start_with("--config", harness.config, "--auto-switch",
	    "true", NULL);
	harness_wait_generation(1);
	harness_config_add("auto_switch = false");
	reload("configuration reloaded: nothing to change");
	cr_assert_eq(harness_log_count("auto_switch is now"), 0);

	text = harness_packages("hello cowsay");
	harness_save(text);
	status = harness_wait_generation(2);
	json_free(status);
	free(text);
}

/*
 * Keys profiled uses at start only (here the socket and nix_path) keep
 * their value until a restart, and the reload says so.
 */
HARNESS_TEST_BOTH(lifecycle, sighup_keeps_what_needs_a_restart)
{
	char	*other, *line;

	xasprintf(&other, "%s/other.sock", harness.dir);
	xasprintf(&line, "socket = %s", other);
	harness_start();
	harness_wait_generation(1);
	harness_config_add(line);
	harness_config_add("nix_path = nixpkgs=/nowhere");
	reload("nix_path stays none until profiled restarts");
	cr_assert_eq(harness_log_count("socket stays"), 1);
	cr_assert(!exists(other), "bound %s without a restart", other);
	json_free(same_daemon_status());
	free(line);
	free(other);
}

/*
 * New nix_flags apply from the next build: the running one keeps those it
 * started with (and finishes), and the next one fails on the new flags,
 * which let Nix run no builder.
 */
Test(lifecycle, sighup_changes_nix_flags_for_the_next_build)
{
	struct json	*status;
	const char	*error;
	char		*first, *second, *gate, *variable;

	harness_start();
	harness_wait_generation(1);
	first = harness_gated_packages("hello", "first");
	variable = harness_gate_variable("first");
	harness_save(first);
	harness_wait_process("environ", variable, 1);

	harness_config_add("nix_flags = " OFFLINE_NIX_FLAGS
	    " --option max-jobs 0");
	reload("nix_flags is now");
	xasprintf(&gate, "%s/gates/first", harness.dir);
	harness_write(gate, "");
	json_free(harness_wait_generation(2));

	second = harness_gated_packages("hello", "second");
	harness_save(second);
	status = harness_wait_built(second);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 0,
	    "built with --option max-jobs 0");
	error = harness_string(json_get(status, "last_build"), "error");
	cr_assert(error != NULL && strstr(error, "max-jobs") != NULL,
	    "failed for another reason: %s", error);
	cr_assert_eq(harness_number(status, "current_generation"), 2);
	json_free(status);
	free(variable);
	free(gate);
	free(second);
	free(first);
}

/* SIGTERM and SIGINT end profiled with exit 0 and remove its socket. */
HARNESS_TEST_BOTH(lifecycle, clean_exit_removes_the_socket)
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
HARNESS_TEST_BOTH(lifecycle, fatal_error_removes_the_socket)
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

/* The value of the first "key=" line of unit text; NULL if none. */
static char *
unit_value(const char *text, const char *key)
{
	char		*want;
	const char	*at;

	xasprintf(&want, "\n%s=", key);
	at = strstr(text, want);
	free(want);
	if (at == NULL)
		return NULL;
	at += strlen(key) + 2;
	return xstrndup(at, strcspn(at, "\n"));
}

/*
 * The installed service passes systemd-analyze, reloads with the command
 * its ExecReload= runs, restarts after any exit systemd did not ask for,
 * sends SIGTERM to profiled alone (which lets nix-env finish), and gives
 * profiled no way to gain privileges.
 */
Test(lifecycle, service_unit_reloads_restarts_and_stops_gently)
{
	struct run	 r;
	char		*prefix, *arg, *service, *text, *reload_command;
	char		*pid, *value;

	/* make check runs this inside make: a fresh make, not its jobserver. */
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	xasprintf(&prefix, "%s/prefix", harness.dir);
	xasprintf(&arg, "PREFIX=%s", prefix);
	harness_run(&r, "make", "-s", "-C", harness.root, "install", arg, NULL);
	cr_assert_eq(r.status, 0, "make install: %s%s", r.out, r.err);
	harness_run_free(&r);
	xasprintf(&service, "%s/lib/systemd/user/profiled.service", prefix);
	harness_run(&r, "systemd-analyze", "--user", "verify", service, NULL);
	cr_assert(r.status == 0 && *r.err == '\0',
	    "systemd-analyze verify exited %d: %s%s", r.status, r.out, r.err);
	harness_run_free(&r);

	text = harness_read(service);
	value = unit_value(text, "Restart");
	cr_assert(value != NULL && strcmp(value, "always") == 0,
	    "Restart=%s", value);
	free(value);
	value = unit_value(text, "KillMode");
	cr_assert(value != NULL && strcmp(value, "mixed") == 0,
	    "KillMode=%s", value);
	free(value);
	value = unit_value(text, "NoNewPrivileges");
	cr_assert(value != NULL && strcmp(value, "yes") == 0,
	    "NoNewPrivileges=%s", value);
	free(value);
	/* Builds yield to the desktop: lower CPU weight, nice, idle-ish IO. */
	value = unit_value(text, "CPUWeight");
	cr_assert(value != NULL && atoi(value) > 0 && atoi(value) < 100,
	    "CPUWeight=%s is not below the default 100", value);
	free(value);
	value = unit_value(text, "Nice");
	cr_assert(value != NULL && atoi(value) > 0, "Nice=%s", value);
	free(value);
	value = unit_value(text, "IOSchedulingPriority");
	cr_assert(value != NULL && strcmp(value, "7") == 0,
	    "IOSchedulingPriority=%s", value);
	free(value);

	/* systemd runs ExecReload= with $MAINPID set, without a shell. */
	reload_command = unit_value(text, "ExecReload");
	cr_assert_not_null(reload_command, "no ExecReload= in %s", service);
	harness_start();
	harness_wait_generation(1);
	xasprintf(&pid, "%ld", (long)harness.daemon);
	setenv("MAINPID", pid, 1);
	harness_run(&r, "sh", "-c", reload_command, NULL);
	cr_assert_eq(r.status, 0, "%s: %s", reload_command, r.err);
	harness_run_free(&r);
	harness_wait_log("configuration reloaded: nothing to change");
	json_free(same_daemon_status());
	free(pid);
	free(reload_command);
	free(text);
	free(service);
	free(arg);
	free(prefix);
}
