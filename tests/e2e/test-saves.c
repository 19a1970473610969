/*
 * Every way a user's tools save the package file ends in exactly one build,
 * of the final content: shell redirections, a truncate and a write apart,
 * editors' renames, sed -i, cp, git checkout, a file deleted and made
 * again, a symlink into a dotfiles directory.  The states in between (an
 * empty file, no file) are never built.  The builds table of the daemon's
 * database counts the builds.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

TestSuite(saves, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Start profiled on the package file listing hello and wait for generation
 * 1; the id of the last build so far, to count the builds after it.
 */
static long
start_at_generation_1(void)
{
	harness_start();
	harness_wait_generation(1);
	return harness_last_build_id();
}

/*
 * Since build after, exactly one build, of text, started by a change of
 * file (NULL: the package file), made generation 2 listing packages.
 */
static void
assert_built_once(long after, const char *text, const char *file,
    const char *packages)
{
	struct json		*status, *generations;
	const struct json	*g;

	status = harness_wait_built(text);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1,
	    "the build of the saved content failed: %s",
	    harness_string(json_get(status, "last_build"), "error"));
	harness_assert_one_build(after, text, file);
	cr_assert_eq(harness_number(status, "current_generation"), 2);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2, "%zu generations, expected 2",
	    generations->count);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_str_eq(harness_string(g, "content_hash"), harness_hash(text));
	harness_assert_packages(g, packages);
	json_free(generations);
	json_free(status);
	harness_assert_nix_agrees();
}

/* Run `sh -c script sh ARGS...`, which must succeed. */
static void
shell(const char *script, const char *arg1, const char *arg2)
{
	struct run	r;

	harness_run(&r, "sh", "-c", script, "sh", arg1, arg2, NULL);
	cr_assert_eq(r.status, 0, "sh -c '%s' exited %d: %s", script,
	    r.status, r.err);
	harness_run_free(&r);
}

/* A file in the test's directory named name, written with text. */
static char *
write_beside(const char *name, const char *text)
{
	char	*path;

	xasprintf(&path, "%s/%s", harness.dir, name);
	harness_write(path, text);
	return path;
}

Test(saves, shell_truncate_and_write)
{
	char	*text = harness_packages("hello cowsay");
	long	 after = start_at_generation_1();

	shell("printf '%s' \"$1\" > \"$2\"", text, harness.package_file);
	assert_built_once(after, text, NULL, "hello-2.12 cowsay-3.7");
}

Test(saves, shell_append)
{
	char	*text, *before = harness_packages("hello");
	long	 after = start_at_generation_1();

	shell("printf '++ [ ripgrep ]\\n' >> \"$1\"", harness.package_file,
	    NULL);
	xasprintf(&text, "%s++ [ ripgrep ]\n", before);
	cr_assert_str_eq(harness_read(harness.package_file), text);
	assert_built_once(after, text, NULL, "hello-2.12 ripgrep-14.1");
}

/*
 * Truncated, then written a while later: the empty file between is an
 * editor half way through a save, not an empty package set, and is never
 * built (a build of it would fail, and be recorded).
 */
Test(saves, truncate_then_write_later)
{
	char	*text = harness_packages("hello cowsay");
	long	 after = start_at_generation_1();

	cr_assert(truncate(harness.package_file, 0) == 0, "truncate: %s",
	    strerror(errno));
	harness_assert_waits_for_file(after, "empty");

	harness_save(text);
	assert_built_once(after, text, NULL, "hello-2.12 cowsay-3.7");
}

/* VS Code, and vim with its default backupcopy: a new file renamed over. */
Test(saves, write_temporary_then_rename)
{
	char	*text = harness_packages("hello ripgrep");
	long	 after = start_at_generation_1();

	harness_save_by_rename(text);
	assert_built_once(after, text, NULL, "hello-2.12 ripgrep-14.1");
}

/*
 * vim with backupcopy=no: the file is renamed away as the backup, a new
 * one written, and the backup deleted.
 */
Test(saves, rename_away_write_new_delete_backup)
{
	char	*text = harness_packages("hello cowsay"), *backup;
	long	 after = start_at_generation_1();

	xasprintf(&backup, "%s~", harness.package_file);
	cr_assert(rename(harness.package_file, backup) == 0, "rename: %s",
	    strerror(errno));
	harness_save(text);
	cr_assert(unlink(backup) == 0, "unlink: %s", strerror(errno));
	assert_built_once(after, text, NULL, "hello-2.12 cowsay-3.7");
}

Test(saves, sed_in_place)
{
	struct run	 r;
	char		*text = harness_packages("hello cowsay");
	long		 after = start_at_generation_1();

	harness_run(&r, "sed", "-i", "s/\\[ hello \\]/[ hello cowsay ]/",
	    harness.package_file, NULL);
	cr_assert_eq(r.status, 0, "sed -i: %s", r.err);
	harness_run_free(&r);
	cr_assert_str_eq(harness_read(harness.package_file), text,
	    "sed did not make the expected file");
	assert_built_once(after, text, NULL, "hello-2.12 cowsay-3.7");
}

/*
 * Deleted, then made again a while later: while it is missing, status
 * says so, with why, and nothing is built; it is built when it is back.
 */
Test(saves, delete_then_recreate_later)
{
	char	*text = harness_packages("hello ripgrep");
	long	 after = start_at_generation_1();

	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	harness_assert_waits_for_file(after, "does not exist");

	harness_save(text);
	assert_built_once(after, text, NULL, "hello-2.12 ripgrep-14.1");
}

Test(saves, cp_over_it)
{
	char		*text = harness_packages("cowsay");
	char		*source = write_beside("new.nix", text);
	long		 after = start_at_generation_1();
	struct run	 r;

	harness_run(&r, "cp", source, harness.package_file, NULL);
	cr_assert_eq(r.status, 0, "cp: %s", r.err);
	harness_run_free(&r);
	assert_built_once(after, text, NULL, "cowsay-3.7");
}

/* Run git in the test's directory, which must succeed. */
static void
git(const char *a, const char *b, const char *c, const char *d)
{
	struct run	r;

	harness_run(&r, "git", "-C", harness.dir, "-c", "user.name=profiled",
	    "-c", "user.email=profiled@example.org", a, b, c, d, NULL);
	cr_assert_eq(r.status, 0, "git %s %s: %s", a, b, r.err);
	harness_run_free(&r);
}

/*
 * git checkout of the file, in a repository holding it (git removes the
 * file and writes a new one).
 */
Test(saves, git_checkout)
{
	char	*text = harness_packages("hello cowsay ripgrep");
	long	 after;

	harness_save(text);
	git("init", "-q", NULL, NULL);
	git("add", "packages.nix", NULL, NULL);
	git("commit", "-q", "-m", "packages");
	harness_save_packages("hello");
	after = start_at_generation_1();

	git("checkout", "--", "packages.nix", NULL);
	cr_assert_str_eq(harness_read(harness.package_file), text,
	    "git checkout did not restore the file");
	assert_built_once(after, text, NULL,
	    "hello-2.12 cowsay-3.7 ripgrep-14.1");
}

/*
 * Make the package file a symlink to DIR/dotfiles/name (made first, with
 * text) as a dotfiles manager does; the link target's path.
 */
static char *
link_to_dotfiles(const char *name, const char *text)
{
	char	*dotfiles, *target;

	xasprintf(&dotfiles, "%s/dotfiles", harness.dir);
	cr_assert(mkdir(dotfiles, 0755) == 0 || errno == EEXIST,
	    "mkdir: %s", strerror(errno));
	xasprintf(&target, "%s/%s", dotfiles, name);
	harness_write(target, text);
	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	cr_assert(symlink(target, harness.package_file) == 0, "symlink: %s",
	    strerror(errno));
	free(dotfiles);
	return target;
}

Test(saves, symlink_edit_the_target)
{
	char	*text = harness_packages("hello cowsay"), *target;
	long	 after;

	target = link_to_dotfiles("packages.nix", harness_packages("hello"));
	after = start_at_generation_1();
	harness_write(target, text);
	assert_built_once(after, text, target, "hello-2.12 cowsay-3.7");
}

/*
 * ln -sfn repoints the link (a new link renamed over the old): the new
 * target is built, and from then on watched instead of the old one.
 */
Test(saves, symlink_repointed)
{
	char	*text = harness_packages("hello ripgrep"), *old, *new, *last;
	long	 after;

	old = link_to_dotfiles("packages.nix", harness_packages("hello"));
	new = write_beside("dotfiles/work.nix", text);
	after = start_at_generation_1();
	shell("ln -sfn \"$1\" \"$2\"", new, harness.package_file);
	assert_built_once(after, text, NULL, "hello-2.12 ripgrep-14.1");

	after = harness_last_build_id();
	harness_write(old, harness_packages("cowsay"));
	harness_wait_ignored();
	harness_assert_no_build(after);
	last = harness_packages("ripgrep");
	harness_write(new, last);
	json_free(harness_wait_built(last));
	harness_assert_one_build(after, last, new);
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
}

/*
 * Thirty saves in about two seconds, alternating package lists that hold
 * a package whose build never ends, then the final list: each save stops
 * the running build, so once all is quiet only the last build was not
 * superseded, and it built the final content, which the current
 * generation holds.  (Lists that build faster than the saves come would
 * legitimately finish between two saves, so the intermediate ones are
 * all slow.)
 */
Test(saves, burst_of_saves)
{
	struct timespec		 pause = { 0, 60 * 1000000L };
	struct harness_build	*builds;
	struct json		*status, *generations;
	const struct json	*g;
	char			*texts[2], *last, *gate;
	size_t			 n, i, current = 0;
	long			 after = start_at_generation_1();

	texts[0] = harness_gated_packages("hello cowsay", "never");
	texts[1] = harness_gated_packages("ripgrep", "never");
	last = harness_packages("cowsay ripgrep");
	for (i = 0; i < 29; i++) {
		harness_save(texts[i % 2]);
		nanosleep(&pause, NULL);
	}
	harness_save(last);
	status = harness_wait_built(last);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 1);

	n = harness_builds_since(after, &builds);
	for (i = 0; i < n; i++) {
		cr_log_info("build %ld: content %.12s, ok %d, superseded %d, "
		    "error %s", builds[i].id, builds[i].content_hash,
		    builds[i].ok, builds[i].superseded, builds[i].error);
		current += !builds[i].superseded;
	}
	cr_assert(n > 0, "no build recorded");
	cr_assert_eq(current, 1, "%zu builds not superseded of %zu after the "
	    "burst, expected only the last", current, n);
	cr_assert_str_eq(builds[n - 1].content_hash, harness_hash(last));
	cr_assert(builds[n - 1].ok && !builds[n - 1].superseded);
	harness_builds_free(builds, n);

	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 2, "%zu generations after the burst",
	    generations->count);
	g = harness_generation(generations,
	    harness_number(status, "current_generation"));
	cr_assert_not_null(g);
	cr_assert_str_eq(harness_string(g, "content_hash"), harness_hash(last));
	harness_assert_packages(g, "cowsay-3.7 ripgrep-14.1");
	gate = harness_gate_variable("never");
	harness_wait_process("environ", gate, 0);
	harness_assert_nix_agrees();
}

/*
 * The link's target deleted, then made again a while later (a dotfiles
 * checkout switching branches): nothing is built while it is missing,
 * and the new target is built when it is back.
 */
Test(saves, symlink_target_deleted_then_recreated)
{
	char	*text = harness_packages("hello cowsay"), *target;
	long	 after;

	target = link_to_dotfiles("packages.nix", harness_packages("hello"));
	after = start_at_generation_1();
	cr_assert(unlink(target) == 0, "unlink: %s", strerror(errno));
	harness_assert_waits_for_file(after, "does not exist");

	harness_write(target, text);
	assert_built_once(after, text, target, "hello-2.12 cowsay-3.7");
}

/*
 * The directory the link points into is removed and made again (a
 * dotfiles checkout cloned afresh): the new target is still seen.
 */
Test(saves, symlink_target_directory_removed_and_recreated)
{
	char	*text = harness_packages("hello ripgrep"), *target, *dotfiles;
	long	 after;

	target = link_to_dotfiles("packages.nix", harness_packages("hello"));
	after = start_at_generation_1();
	xasprintf(&dotfiles, "%s/dotfiles", harness.dir);
	cr_assert(unlink(target) == 0, "unlink: %s", strerror(errno));
	cr_assert(rmdir(dotfiles) == 0, "rmdir: %s", strerror(errno));
	harness_assert_waits_for_file(after, "does not exist");

	cr_assert(mkdir(dotfiles, 0755) == 0, "mkdir: %s", strerror(errno));
	harness_write(target, text);
	assert_built_once(after, text, target, "hello-2.12 ripgrep-14.1");
	free(dotfiles);
}

/*
 * 100 saves in 2 s with debounce_ms = 10, far faster than a build: the
 * first build is stopped, and one build of the last content follows once
 * the saves have settled: at most two builds, not one per save.
 */
Test(saves, burst_faster_than_the_debounce_costs_two_builds)
{
	struct timespec		 pace = { 0, 20 * 1000000L };
	struct harness_build	*builds;
	struct json		*status;
	char			*text, names[64];
	size_t			 n;
	long			 after;
	int			 i;

	harness_config_add("debounce_ms = 10");
	after = start_at_generation_1();
	for (i = 0; i < 100; i++) {
		/* hello at 100 versions: each save a new content. */
		snprintf(names, sizeof names, "(mk { pname = \"hello\"; "
		    "version = \"3.%d\"; })", i);
		text = harness_packages(names);
		harness_save(text);
		if (i < 99)
			free(text);
		nanosleep(&pace, NULL);
	}
	status = harness_wait_built(text);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1);
	json_free(status);
	n = harness_builds_since(after, &builds);
	cr_log_info("%zu builds for 100 saves", n);
	cr_assert_leq(n, 2, "%zu builds for a burst of 100 saves", n);
	cr_assert_str_eq(builds[n - 1].content_hash, harness_hash(text));
	harness_builds_free(builds, n);
	free(text);
}
