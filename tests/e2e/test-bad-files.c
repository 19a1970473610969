/*
 * Every kind of bad package file is an error that says where, and the
 * profile and its current generation stay as they were: Nix's errors
 * (syntax, a set, infinite recursion, abort, a package that is not one)
 * as a failed build naming the file and line, and files that cannot be
 * built at all (empty, oversized) as a file error.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(bad_files, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Criterion runs each parameter in a new process, where pointers made in
 * the parent mean nothing: the parameters are indexes into the table.
 */
static const struct bad_file {
	const char	*what;
	const char	*text;		/* after the header */
	const char	*error;		/* in the build's error */
	int		 line;		/* the line it must name, or 0 */
} bad_file_cases[] = {
	{ "a syntax error", "with pkgs; [ hello\n", "syntax error", 2 },
	{ "a set", "{ hello = pkgs.hello; }\n", "", 0 },
	{ "infinite recursion", "let x = x; in x\n", "infinite recursion", 0 },
	{ "abort", "abort \"not today\"\n", "not today", 0 },
	{ "a string in the list", "with pkgs; [ hello \"cowsay\" ]\n", "", 0 },
	{ "an undefined package", "with pkgs; [ hello nonexistent ]\n",
	  "nonexistent", 2 },
};

ParameterizedTestParameters(bad_files, nix_errors)
{
	static size_t	index[sizeof bad_file_cases / sizeof bad_file_cases[0]];
	size_t		i;

	for (i = 0; i < sizeof index / sizeof index[0]; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index,
	    sizeof index / sizeof index[0]);
}

/* The profile at generation 1 of "hello", as the test starts. */
static void
start_at_generation_one(void)
{
	harness_save_packages("hello");
	harness_start();
	json_free(harness_wait_generation(1));
}

static void
assert_untouched(void)
{
	struct json	*status = harness_status();

	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_profile_generation(), 1);
	json_free(status);
	harness_assert_runs("bin/hello", "hello 2.12\n");
}

ParameterizedTest(size_t *i, bad_files, nix_errors)
{
	const struct bad_file	*b = &bad_file_cases[*i];
	const struct json	*build;
	struct json		*status;
	char			*text, *where;
	const char		*error;

	start_at_generation_one();
	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "%s", harness.root, b->text);
	harness_save(text);
	status = harness_wait_built(text);
	build = json_get(status, "last_build");
	error = harness_string(build, "error");
	cr_assert_eq(harness_bool(build, "ok"), 0, "%s built", b->what);
	cr_assert(error != NULL && strstr(error, b->error) != NULL,
	    "%s: error \"%s\" does not say \"%s\"", b->what, error, b->error);
	cr_assert(strstr(error, harness.package_file) != NULL || b->line == 0,
	    "%s: error \"%s\" does not name %s", b->what, error,
	    harness.package_file);
	if (b->line != 0) {
		xasprintf(&where, "%s:%d", harness.package_file, b->line);
		cr_assert(strstr(error, where) != NULL, "%s: error \"%s\" does "
		    "not name %s", b->what, error, where);
		free(where);
	}
	cr_log_info("%s: %s", b->what, error);
	json_free(status);
	free(text);
	assert_untouched();
}

Test(bad_files, empty_and_oversized_files_are_file_errors)
{
	char	*error, *big;
	size_t	 size = 50 * 1024 * 1024;

	start_at_generation_one();
	harness_save("");
	error = harness_wait_file_error();
	cr_assert(strstr(error, "empty") != NULL, "%s", error);
	free(error);
	assert_untouched();

	big = xmalloc(size + 1);
	memset(big, ' ', size);
	big[size] = '\0';
	harness_save(big);
	free(big);
	error = harness_wait_file_error();
	cr_log_info("50 MB: %s", error);
	free(error);
	assert_untouched();
}
