/*
 * The core stories the way users run profiled on a multi-user Nix: as a
 * normal user, with NIX_REMOTE=daemon and no Nix flags, against a
 * nix-daemon that builds as build users (harness-user.c).  Each story also
 * checks that profiled ran as the user, that the profile's links and the
 * state are the user's, that the builds ran as a build user (so through the
 * nix-daemon), and that Nix, asked as the user, agrees.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(multiuser, .init = harness_user_init, .fini = harness_user_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * A package file listing names and the fixture that prints who built it,
 * tagged with the test's directory, so that this test builds it.
 */
static char *
user_packages(const char *names)
{
	char	*list, *text;

	xasprintf(&list, "%s (built-by \"%s\")", names, harness.dir);
	text = harness_packages(list);
	free(list);
	return text;
}

/* Save user_packages(names). */
static void
user_save(const char *names)
{
	char	*text = user_packages(names);

	harness_save(text);
	free(text);
}

/* Save user_packages(names) and wait until generation n is current. */
static struct json *
user_save_wait(const char *names, long n)
{
	user_save(names);
	return harness_wait_generation(n);
}

/* path (not followed) belongs to the test's user. */
static void
assert_owned(const char *path)
{
	struct stat	sb;

	cr_assert(lstat(path, &sb) == 0, "lstat %s: %s", path,
	    strerror(errno));
	cr_assert_eq(sb.st_uid, harness.uid, "%s belongs to uid %ld, not to "
	    "%s (uid %ld)", path, (long)sb.st_uid, HARNESS_USER,
	    (long)harness.uid);
}

/* The real and effective uids of the running profiled are the user's. */
static void
assert_daemon_runs_as_user(void)
{
	char	*path, line[256];
	long	 real = -1, effective = -1;
	FILE	*f;

	cr_assert(harness.daemon != -1, "profiled is not running");
	xasprintf(&path, "/proc/%ld/status", (long)harness.daemon);
	cr_assert((f = fopen(path, "r")) != NULL, "%s: %s", path,
	    strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "Uid: %ld %ld", &real, &effective) == 2)
			break;
	}
	fclose(f);
	cr_assert(real == (long)harness.uid && effective == real,
	    "profiled runs as uid %ld (effective %ld), not as %s (%ld)", real,
	    effective, HARNESS_USER, (long)harness.uid);
	free(path);
}

/*
 * What profiled made is the user's: the profile link, the generation it
 * points at, the database; and the nix-daemon served the user, untrusted.
 */
static void
assert_made_as_user(void)
{
	char	 target[PATH_MAX], *dir, *link, *db, *log, *line;
	ssize_t	 n;

	assert_daemon_runs_as_user();
	assert_owned(harness.profile);
	n = readlink(harness.profile, target, sizeof target - 1);
	cr_assert(n > 0, "readlink %s: %s", harness.profile, strerror(errno));
	target[n] = '\0';
	dir = xstrdup(harness.profile);
	*strrchr(dir, '/') = '\0';
	xasprintf(&link, "%s/%s", dir, target);
	assert_owned(link);
	xasprintf(&db, "%s/profiled.db", harness.state_dir);
	assert_owned(db);

	log = harness_read(harness.nix_daemon_log);
	xasprintf(&line, ", user %s\n", HARNESS_USER);
	cr_assert(strstr(log, line) != NULL, "nix-daemon's log has no "
	    "untrusted connection from %s: %s", HARNESS_USER, log);
	free(line);
	free(log);
	free(db);
	free(link);
	free(dir);
}

/* The profile's built-by ran as one of the nix-daemon's build users. */
static void
assert_built_by_build_user(void)
{
	struct group	*group;
	struct run	 r;
	char		*path, **member;

	xasprintf(&path, "%s/bin/built-by", harness.profile);
	harness_run(&r, path, NULL);
	cr_assert_eq(r.status, 0, "%s exited %d: %s", path, r.status, r.err);
	cr_assert(r.out[0] != '\0' && r.out[strlen(r.out) - 1] == '\n',
	    "built-by printed \"%s\"", r.out);
	r.out[strlen(r.out) - 1] = '\0';
	group = getgrnam(HARNESS_BUILD_GROUP);
	cr_assert_not_null(group, "no group %s", HARNESS_BUILD_GROUP);
	for (member = group->gr_mem; *member != NULL; member++) {
		if (strcmp(*member, r.out) == 0)
			break;
	}
	cr_assert_not_null(*member, "the build ran as \"%s\", not as a build "
	    "user of %s: not through the nix-daemon", r.out,
	    HARNESS_BUILD_GROUP);
	harness_run_free(&r);
	free(path);
}

/*
 * The nix-daemon registered path, a root the user made, as an indirect GC
 * root: a link of its own in /nix/var/nix/gcroots/auto names path.
 */
static void
assert_gc_root(const char *path)
{
	struct dirent	*d;
	DIR		*auto_roots;
	char		*link, target[PATH_MAX];
	ssize_t		 n;
	int		 found = 0;

	auto_roots = opendir("/nix/var/nix/gcroots/auto");
	cr_assert_not_null(auto_roots, "opendir gcroots/auto: %s",
	    strerror(errno));
	while (!found && (d = readdir(auto_roots)) != NULL) {
		xasprintf(&link, "/nix/var/nix/gcroots/auto/%s", d->d_name);
		n = readlink(link, target, sizeof target - 1);
		free(link);
		if (n > 0) {
			target[n] = '\0';
			found = strcmp(target, path) == 0;
		}
	}
	closedir(auto_roots);
	cr_assert(found, "no GC root in /nix/var/nix/gcroots/auto names %s",
	    path);
}

/* The stories' checks, at generation current. */
static void
assert_user_story(long current)
{
	cr_assert_eq(harness_profile_generation(), current);
	assert_made_as_user();
	assert_built_by_build_user();
	harness_assert_nix_agrees();
}

Test(multiuser, first_build)
{
	struct json		*generations;
	const struct json	*g;
	char			*result, *link;

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	g = harness_generation(generations, 1);
	cr_assert_not_null(g);
	harness_assert_packages(g, "hello-2.12 built-by-1.0");
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_user_story(1);
	xasprintf(&result, "%s/result", harness.state_dir);
	assert_gc_root(result);
	xasprintf(&link, "%s-1-link", harness.profile);
	assert_gc_root(link);
	free(link);
	free(result);
	json_free(generations);
}

Test(multiuser, save_makes_a_generation)
{
	struct json		*generations;
	const struct json	*g;

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	json_free(user_save_wait("hello cowsay", 2));
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_packages(g, "hello-2.12 cowsay-3.7 built-by-1.0");
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	assert_user_story(2);
	json_free(generations);
}

/* `profilectl --json rollback` goes from previous to generation. */
static void
rollback(long previous, long generation)
{
	struct json	*answer = harness_ctl_json("rollback", NULL);

	cr_assert_eq(harness_number(answer, "previous"), previous);
	cr_assert_eq(harness_number(answer, "generation"), generation,
	    "rollback to %ld, expected to %ld",
	    harness_number(answer, "generation"), generation);
	cr_assert_eq(harness_bool(answer, "changed"), 1);
	json_free(answer);
	json_free(harness_wait_idle());
	cr_assert_eq(harness_profile_generation(), generation);
}

/* 1, 2, back to 1, then 3 from 1: rollback from 3 goes to 1, not 2. */
Test(multiuser, rollback_goes_to_the_parent)
{
	struct json		*generations;
	const struct json	*g;

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	json_free(user_save_wait("hello cowsay", 2));
	rollback(2, 1);
	json_free(user_save_wait("hello ripgrep", 3));
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 3);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	rollback(3, 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_user_story(1);
	json_free(generations);
}

Test(multiuser, switch_to_builds_nothing)
{
	struct json	*answer, *status;
	char		*before, *after;

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	status = user_save_wait("cowsay", 2);
	before = harness_last_build(status);
	json_free(status);

	answer = harness_ctl_json("switch", "--to", "1", NULL);
	cr_assert_eq(harness_number(answer, "previous"), 2);
	cr_assert_eq(harness_number(answer, "generation"), 1);
	cr_assert_eq(harness_bool(answer, "created"), 0);
	json_free(answer);
	status = harness_wait_idle();
	after = harness_last_build(status);
	cr_assert_str_eq(after, before, "switch --to built: before \"%s\", "
	    "after \"%s\"", before, after);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_user_story(1);
	json_free(status);
	free(after);

	answer = harness_ctl_json("switch", "--to", "2", NULL);
	cr_assert_eq(harness_number(answer, "generation"), 2);
	json_free(answer);
	status = harness_wait_idle();
	after = harness_last_build(status);
	cr_assert_str_eq(after, before);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
	assert_user_story(2);
	json_free(status);
	free(after);
	free(before);
}

Test(multiuser, failed_build_leaves_the_profile)
{
	struct json		*status, *generations, *log;
	const struct json	*build;
	const char		*error;
	char			*text, before[PATH_MAX], after[PATH_MAX];

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	cr_assert(realpath(harness.profile, before) != NULL, "realpath: %s",
	    strerror(errno));

	text = user_packages("hello broken");
	harness_save(text);
	status = harness_wait_built(text);
	build = json_get(status, "last_build");
	error = harness_string(build, "error");
	cr_assert_eq(harness_bool(build, "ok"), 0, "hello broken was built");
	cr_assert(error != NULL && strstr(error, "broken-1.0") != NULL,
	    "the error \"%s\" does not name broken-1.0", error);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 0,
	    "in sync after a failed build");
	cr_assert(realpath(harness.profile, after) != NULL, "realpath: %s",
	    strerror(errno));
	cr_assert_str_eq(after, before, "the profile moved to %s", after);
	log = harness_ctl_json("log", NULL);
	cr_assert(strstr(harness_string(log, "text"), "deliberate failure") !=
	    NULL, "the failed build's log: %s", harness_string(log, "text"));
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	assert_user_story(1);
	json_free(generations);
	json_free(log);
	json_free(status);
	free(text);
}

/*
 * profiled stopped and started again keeps its state and rebuilds
 * nothing; a change made while it was down is built when it starts.
 */
Test(multiuser, restart_keeps_state)
{
	struct json		*status, *generations;
	const struct json	*g;
	char			*before, *after;

	user_save("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	status = user_save_wait("hello cowsay", 2);
	before = harness_last_build(status);
	json_free(status);
	harness_stop();

	harness_start();
	status = harness_wait_generation(2);
	after = harness_last_build(status);
	cr_assert_str_eq(after, before, "rebuilt an unchanged file at start");
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2);
	assert_user_story(2);
	json_free(generations);
	json_free(status);
	harness_stop();

	user_save("hello ripgrep");
	harness_start();
	json_free(harness_wait_generation(3));
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 3);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 2);
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
	assert_user_story(3);
	json_free(generations);
	free(after);
	free(before);
}
