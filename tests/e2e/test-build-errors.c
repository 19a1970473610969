/*
 * Build errors a user can act on: a failing package is named with what
 * its builder said, a Nix that is not in profiled's PATH is reported as
 * such, and a package file that is a directory is reported in status and
 * never built.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(build_errors, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

static int
is_idle_after_failure(const struct json *status, const void *arg)
{
	return harness_idle(status) &&
	    harness_bool(json_get(status, "last_build"), "ok") == 0;
}

/* Wait until the last build failed; its error, which must mention what. */
static struct json *
wait_failed_with(const char *what)
{
	struct json	*status;
	const char	*error;

	status = harness_wait(is_idle_after_failure, NULL, "a failed build");
	error = harness_string(json_get(status, "last_build"), "error");
	cr_assert(error != NULL && strstr(error, what) != NULL,
	    "error \"%s\" does not say \"%s\"", error, what);
	return status;
}

Test(build_errors, failing_builder_names_the_package)
{
	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello broken");
	json_free(wait_failed_with("broken"));
	json_free(wait_failed_with("deliberate failure"));
	cr_assert_eq(harness_profile_generation(), 1);
}

/*
 * Put in dir a script running the program PROFILED_TEST_WRAPPER names
 * (valgrind) by its full path, so that it is still found with dir as the
 * PATH.
 */
static void
add_wrapper(const char *dir)
{
	const char	*wrap = getenv("PROFILED_TEST_WRAPPER");
	struct run	 r;
	char		*path, *script;

	if (wrap == NULL || *wrap == '\0')
		return;
	harness_run(&r, "sh", "-c", "set -- $1; command -v \"$1\"", "sh",
	    wrap, NULL);
	r.out[strcspn(r.out, "\n")] = '\0';
	cr_assert(r.status == 0 && *r.out == '/', "cannot find the wrapper "
	    "%s", wrap);
	xasprintf(&path, "%s/%s", dir, strrchr(r.out, '/') + 1);
	xasprintf(&script, "#!/bin/sh\nexec %s \"$@\"\n", r.out);
	harness_write(path, script);
	cr_assert(chmod(path, 0755) == 0, "chmod: %s", strerror(errno));
	free(script);
	free(path);
	harness_run_free(&r);
}

/*
 * Started with a PATH that has no Nix: the build fails saying Nix is not
 * installed or not in PATH, and nothing is made.
 */
Test(build_errors, nix_not_in_path)
{
	struct json	*status;
	char		*empty;

	xasprintf(&empty, "%s/bin-without-nix", harness.dir);
	cr_assert(mkdir(empty, 0755) == 0, "mkdir: %s", strerror(errno));
	add_wrapper(empty);
	harness_start_with_env("PATH", empty);
	status = wait_failed_with("Nix is not installed");
	json_free(wait_failed_with("PATH"));
	cr_assert_eq(json_get(status, "current_generation")->type, JSON_NULL,
	    "a generation without Nix");
	cr_assert_eq(harness_profile_generation(), -1);
	json_free(status);
}

/*
 * Replace the package file, while profiled runs, by what make (mkdir,
 * mkfifo) makes: status says it is not a regular file and nothing is
 * built; once remove (rmdir, unlink) has taken it away, a file saved
 * there is built.
 */
static void
assert_not_a_file(int (*make)(const char *, mode_t),
    int (*remove)(const char *))
{
	char	*text = harness_packages("hello cowsay");
	long	 after;

	harness_start();
	harness_wait_generation(1);
	after = harness_last_build_id();
	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	cr_assert(make(harness.package_file, 0755) == 0, "make: %s",
	    strerror(errno));
	harness_assert_waits_for_file(after, "not a regular file");

	cr_assert(remove(harness.package_file) == 0, "remove: %s",
	    strerror(errno));
	harness_save(text);
	json_free(harness_wait_built(text));
	harness_assert_one_build(after, text, NULL);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");
}

Test(build_errors, package_file_is_a_directory)
{
	assert_not_a_file(mkdir, rmdir);
}

/* Started with a directory as the package file: nothing is built. */
Test(build_errors, starts_with_a_directory)
{
	char	*error;

	cr_assert(unlink(harness.package_file) == 0, "unlink: %s",
	    strerror(errno));
	cr_assert(mkdir(harness.package_file, 0755) == 0, "mkdir: %s",
	    strerror(errno));
	harness_start();
	error = harness_wait_file_error();
	cr_assert(strstr(error, "not a regular file") != NULL, "file_error "
	    "\"%s\"", error);
	free(error);
	harness_assert_no_build(0);
	cr_assert_eq(harness_profile_generation(), -1);
}

/*
 * A FIFO where the package file should be is as unreadable a file as a
 * directory, and profiled must keep answering.
 */
Test(build_errors, package_file_is_a_fifo)
{
	assert_not_a_file(mkfifo, unlink);
}
