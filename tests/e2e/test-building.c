/*
 * While a build runs: the daemon keeps answering, a save stops the build
 * and builds the newest content instead, a rollback is not undone by the
 * build finishing, and SIGTERM neither waits for the build nor loses it.
 * The `gated` fixture package holds its build until the test opens the
 * gate.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

TestSuite(building, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* Packages plus one gated on DIR/gates/GATE; Nix's builders must reach it. */
static char *
gated_packages_at(const char *names, const char *gate)
{
	return harness_gated_packages(names, gate);
}

static char *
gated_packages(const char *names)
{
	return gated_packages_at(names, "open");
}

static void
open_gate_at(const char *name)
{
	char	*gate;

	xasprintf(&gate, "%s/gates/%s", harness.dir, name);
	harness_write(gate, "");
	free(gate);
}

static void
open_gate(void)
{
	open_gate_at("open");
}

/* Whether process pid has variable (NAME=value) in its environment. */
static int
has_environment(const char *pid, const char *variable)
{
	char	 path[64], buf[65536];
	size_t	 len, at;
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%s/environ", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (at = 0; at < (size_t)n; at += len + 1) {
		len = strlen(buf + at);
		if (strcmp(buf + at, variable) == 0)
			return 1;
	}
	return 0;
}

/* The pid of a process building the package gated on GATE, or 0. */
static long
gated_builder_at(const char *gate)
{
	struct dirent	*entry;
	char		*variable;
	long		 pid = 0;
	DIR		*proc;

	xasprintf(&variable, "gate=%s/gates/%s", harness.dir, gate);
	cr_assert((proc = opendir("/proc")) != NULL, "opendir /proc: %s",
	    strerror(errno));
	while (pid == 0 && (entry = readdir(proc)) != NULL) {
		if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9' &&
		    has_environment(entry->d_name, variable))
			pid = strtol(entry->d_name, NULL, 10);
	}
	closedir(proc);
	free(variable);
	return pid;
}

static long
gated_builder(void)
{
	return gated_builder_at("open");
}

/* The command name of pid's parent, in buf; "" if it cannot be read. */
static const char *
parent_name(long pid, char *buf, size_t size)
{
	char	 path[64], stat[512], *paren;
	long	 ppid;
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return buf;
	n = read(fd, stat, sizeof stat - 1);
	close(fd);
	if (n <= 0)
		return buf;
	stat[n] = '\0';
	if ((paren = strrchr(stat, ')')) == NULL ||
	    sscanf(paren + 1, " %*c %ld", &ppid) != 1)
		return buf;
	snprintf(path, sizeof path, "/proc/%ld/comm", ppid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return buf;
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/*
 * Poll until a builder of the package gated on GATE runs: Nix has read
 * the package file and is building.
 */
static void
wait_for_builder_at(const char *gate)
{
	struct timespec	 interval = { 0, 20 * 1000000L };
	int		 polls = HARNESS_DEADLINE_MS / 20;

	while (gated_builder_at(gate) == 0 && polls-- > 0)
		nanosleep(&interval, NULL);
	cr_assert(polls > 0, "no builder of the package gated on %s after "
	    "%d s", gate, HARNESS_DEADLINE_MS / 1000);
}

static void
wait_for_builder(void)
{
	wait_for_builder_at("open");
}

/*
 * Poll until no builder of the gated package is left.  One whose parent
 * is no longer Nix was orphaned: Nix was killed before it could stop its
 * builder, which now runs on unsupervised.
 */
static void
wait_for_no_builder(void)
{
	struct timespec	 interval = { 0, 20 * 1000000L };
	int		 polls = HARNESS_DEADLINE_MS / 20;
	char		 parent[64];
	long		 pid;

	while ((pid = gated_builder()) != 0 && polls-- > 0) {
		parent_name(pid, parent, sizeof parent);
		cr_assert(parent[0] == '\0' || strncmp(parent, "nix", 3) == 0,
		    "builder pid %ld outlived its Nix and runs on under %s "
		    "after its build was stopped", pid, parent);
		nanosleep(&interval, NULL);
	}
	cr_assert_eq(pid, 0, "builder pid %ld still running %d s after "
	    "its build was stopped", pid, HARNESS_DEADLINE_MS / 1000);
}

static int
is_building(const struct json *status, const void *arg)
{
	const char	*state = harness_string(status, "state");

	return state != NULL && strcmp(state, "building") == 0;
}

static int
is_building_with_one_pending(const struct json *status, const void *arg)
{
	return is_building(status, NULL) &&
	    harness_bool(status, "build_pending") == 1;
}

Test(building, status_answers_while_building)
{
	struct json	*status, *generations;
	char		*text;

	harness_start();
	harness_wait_generation(1);
	text = gated_packages("hello");
	harness_save(text);
	status = harness_wait(is_building, NULL, "state building");
	wait_for_builder();
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");

	open_gate();
	harness_wait_generation(2);
	harness_assert_runs("bin/gated", "gated 1.0\n");
	harness_assert_nix_agrees();
}

/*
 * Saves during a build stop it (Nix and its builder go) and build the
 * newest content at once: the gate of the stopped build never opens.
 */
Test(building, saves_while_building_stop_it_and_build_the_newest)
{
	struct json		*status, *generations;
	const struct json	*g;
	char			*last = harness_packages("hello cowsay ripgrep");

	harness_start();
	harness_wait_generation(1);
	harness_save(gated_packages("hello"));
	harness_wait(is_building, NULL, "state building");
	wait_for_builder();
	harness_save_packages("cowsay");
	harness_save_packages("ripgrep");
	harness_save(last);

	status = harness_wait_built(last);
	cr_assert_eq(harness_number(status, "current_generation"), 2);
	wait_for_no_builder();
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2, "%zu generations; the stopped "
	    "build or an intermediate save made one", generations->count);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	harness_assert_packages(g, "hello-2.12 cowsay-3.7 ripgrep-14.1");
	harness_assert_nix_agrees();
}

Test(building, rollback_while_building_is_not_undone)
{
	struct json		*status, *answer, *generations;
	const struct json	*g;
	char			*text;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	text = gated_packages("ripgrep");
	harness_save(text);
	harness_wait(is_building, NULL, "state building");
	wait_for_builder();
	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	json_free(answer);

	open_gate();
	status = harness_wait_built(text);
	cr_assert_eq(harness_number(status, "current_generation"), 1,
	    "the build that finished after the rollback was activated");
	cr_assert_eq(harness_profile_generation(), 1);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	json_free(generations);
	harness_assert_nix_agrees();

	harness_stop();
	harness_start();
	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), 1,
	    "a restart undid the rollback");

	harness_save_packages("hello ripgrep");
	harness_wait_generation(3);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 3);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_nix_agrees();
}

Test(building, sigterm_while_building)
{
	char	*text;

	harness_start();
	harness_wait_generation(1);
	text = gated_packages("hello cowsay");
	harness_save(text);
	harness_wait(is_building, NULL, "state building");
	wait_for_builder();
	harness_stop();
	cr_assert_eq(harness_profile_generation(), 1);
	wait_for_no_builder();

	open_gate();
	harness_start();
	harness_wait_generation(2);
	harness_assert_runs("bin/gated", "gated 1.0\n");
	harness_assert_nix_agrees();
}

/* Start `profilectl --json switch` in the background, its stdout to a file. */
static pid_t
switch_in_background(void)
{
	char	*ctl, *out;
	pid_t	 pid;
	int	 fd;

	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	xasprintf(&out, "%s/switch.out", harness.dir);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		execl(ctl, ctl, "--socket", harness.socket, "--json", "switch",
		    (char *)NULL);
		_exit(127);
	}
	free(ctl);
	free(out);
	return pid;
}

/* Wait (with the deadline) for the background switch; its JSON answer. */
static struct json *
switch_answer(pid_t pid)
{
	struct timespec	 interval = { 0, 20 * 1000000L };
	int		 polls = HARNESS_DEADLINE_MS / 20, status = 0;
	char		*out, buf[4096], *cause = NULL;
	struct json	*answer;
	ssize_t		 n;
	int		 fd;

	while (waitpid(pid, &status, WNOHANG) == 0 && polls-- > 0)
		nanosleep(&interval, NULL);
	if (polls <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		cr_assert_fail("profilectl switch got no answer in %d s",
		    HARNESS_DEADLINE_MS / 1000);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "profilectl switch failed (status %d)", status);
	xasprintf(&out, "%s/switch.out", harness.dir);
	fd = open(out, O_RDONLY);
	n = fd == -1 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd != -1)
		close(fd);
	free(out);
	cr_assert(n > 0, "profilectl switch printed nothing");
	buf[n] = '\0';
	answer = json_parse(buf, n, &cause);
	cr_assert_not_null(answer, "%s: %s", buf, cause);
	return answer;
}

static int
is_idle_without_pending(const struct json *status, const void *arg)
{
	return harness_idle(status) && !harness_bool(status, "build_pending");
}

/*
 * A switch whose build is superseded by a save must still be answered,
 * even when the save goes back to the content that is already active.
 */
Test(building, superseded_switch_still_answers)
{
	struct json	*answer, *status;
	pid_t		 pid;

	harness_start();
	harness_wait_generation(1);
	harness_save(gated_packages_at("hello", "first"));
	wait_for_builder_at("first");
	pid = switch_in_background();
	harness_wait(is_building_with_one_pending, NULL,
	    "building with the switch pending");
	/* Stops the first build; the switch builds this, held at its gate. */
	harness_save(gated_packages_at("hello", "second"));
	wait_for_builder_at("second");
	/* Back to what generation 1 was built from: stops the switch's. */
	harness_save_packages("hello");

	answer = switch_answer(pid);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	cr_assert_eq(harness_bool(answer, "changed"), 0);
	json_free(answer);
	status = harness_wait(is_idle_without_pending, NULL, "idle");
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	harness_assert_nix_agrees();
}

/*
 * A rollback during a build also drops the build waiting behind it, and
 * the file's content at the rollback stays unbuilt, across a restart.
 */
Test(building, rollback_drops_the_waiting_build)
{
	struct json	*status, *generations;
	pid_t		 pid;
	int		 exit_status;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	harness_save(gated_packages("ripgrep"));
	wait_for_builder();
	/* A switch of the content being built waits behind its build. */
	pid = switch_in_background();
	harness_wait(is_building_with_one_pending, NULL, "a pending build");
	json_free(harness_ctl_json("rollback", NULL));
	status = harness_status();
	cr_assert_eq(harness_bool(status, "build_pending"), 0,
	    "the rollback left a build waiting");
	json_free(status);
	cr_assert_eq(waitpid(pid, &exit_status, 0), pid);
	cr_assert(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 1,
	    "the dropped switch did not fail (status %d)", exit_status);

	open_gate();
	status = harness_wait(is_idle_without_pending, NULL, "idle");
	cr_assert_eq(harness_number(status, "current_generation"), 1,
	    "a build queued before the rollback undid it");
	cr_assert_eq(harness_bool(status, "held"), 1);
	json_free(status);

	harness_stop();
	harness_start();
	status = harness_wait_idle();
	cr_assert_eq(harness_number(status, "current_generation"), 1,
	    "a restart built the content the rollback held");
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	harness_assert_nix_agrees();
}
