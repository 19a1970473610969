/*
 * A failed build never touches the profile: whatever Nix rejects, the
 * current generation and the profile link stay, the error reaches the
 * status with Nix's own message, and fixing the file builds again.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(failed_build, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Save a package file whose second line is body; its build must fail with
 * an error mentioning message (and location, unless NULL), and leave
 * generation 1 current; then a good file builds generation 2 on top of 1.
 */
static void
assert_build_fails(const char *body, const char *message,
    const char *location)
{
	struct json		*status, *generations;
	const struct json	*build, *g;
	const char		*error;
	char			*text, before[PATH_MAX], after[PATH_MAX];

	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "%s\n", harness.root, body);
	harness_start();
	harness_wait_generation(1);
	cr_assert(realpath(harness.profile, before) != NULL, "realpath: %s",
	    strerror(errno));

	harness_save(text);
	status = harness_wait_built(text);
	build = json_get(status, "last_build");
	error = harness_string(build, "error");
	cr_assert_eq(harness_bool(build, "ok"), 0, "the build of \"%s\" "
	    "succeeded", body);
	cr_assert_not_null(error, "a failed build without an error");
	cr_assert(strstr(error, message) != NULL,
	    "error \"%s\" does not mention \"%s\"", error, message);
	if (location != NULL)
		cr_assert(strstr(error, location) != NULL,
		    "error \"%s\" does not name \"%s\"", error, location);
	cr_assert_eq(json_get(build, "generation")->type, JSON_NULL,
	    "a failed build made generation %ld",
	    harness_number(build, "generation"));
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(status, "in_sync"), 0,
	    "in sync after a failed build");
	cr_assert_eq(harness_profile_generation(), 1);
	cr_assert(realpath(harness.profile, after) != NULL, "realpath: %s",
	    strerror(errno));
	cr_assert_str_eq(after, before, "the profile moved to %s", after);
	generations = harness_ctl_json("generations", NULL);
	cr_assert_eq(generations->count, 1, "%zu generations after a failed "
	    "build", generations->count);
	json_free(generations);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
	json_free(status);

	harness_save_packages("hello cowsay");
	harness_wait_generation(2);
	generations = harness_ctl_json("generations", NULL);
	g = harness_generation(generations, 2);
	cr_assert_not_null(g);
	cr_assert_eq(harness_number(g, "parent"), 1);
	harness_assert_packages(g, "hello-2.12 cowsay-3.7");
	harness_assert_nix_agrees();
	free(text);
}

Test(failed_build, syntax_error)
{
	assert_build_fails("with pkgs; [ hello ) ]", "syntax error",
	    "packages.nix:2");
}

Test(failed_build, missing_attribute)
{
	assert_build_fails("with pkgs; [ hello pkgs.nonexistent ]",
	    "attribute 'nonexistent' missing", "packages.nix:2");
}

Test(failed_build, undefined_variable)
{
	assert_build_fails("with pkgs; [ hello nonexistent ]",
	    "undefined variable 'nonexistent'", "packages.nix:2");
}

Test(failed_build, failing_builder)
{
	assert_build_fails("with pkgs; [ hello broken ]", "broken", NULL);
}

Test(failed_build, not_a_list)
{
	assert_build_fails("with pkgs; hello", "list", NULL);
}

Test(failed_build, collision_without_priority)
{
	assert_build_fails("with pkgs; [ hello hello-old ]", "priority", NULL);
}
