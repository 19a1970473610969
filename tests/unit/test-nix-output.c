/*
 * Reading Nix's stderr, on the texts Nix 2.8 really prints: the user should
 * read Nix's first error line, with the file:line:column it points at, and
 * the files an evaluation reads are the ones -v names.
 */
#include <stdlib.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "profiled.h"

TestSuite(nix_output);

/* Arrays, not pointers: Criterion copies parameters into another process. */
struct summary_case {
	char	log[512];
	char	summary[160];
};

ParameterizedTestParameters(nix_output, error)
{
	static struct summary_case cases[] = {
		{ "error: undefined variable 'nonexistent'\n"
		  "\n"
		  "       at /home/u/.config/profiled/packages.nix:3:3:\n"
		  "\n"
		  "            2| with pkgs; [ hello\n"
		  "            3|   nonexistent ]\n"
		  "             |   ^\n"
		  "(use '--show-trace' to show detailed location information)\n",
		  "/home/u/.config/profiled/packages.nix:3:3: "
		  "error: undefined variable 'nonexistent'" },
		{ "error: syntax error, unexpected ']'\n"
		  "\n"
		  "       at /tmp/p/packages.nix:3:5:\n"
		  "\n"
		  "            2| with pkgs; [ hello\n",
		  "/tmp/p/packages.nix:3:5: error: syntax error, "
		  "unexpected ']'" },
		{ "these 2 derivations will be built:\n"
		  "  /nix/store/g5ry-broken-1.0.drv\n"
		  "building '/nix/store/g5ry-broken-1.0.drv'...\n"
		  "broken: deliberate failure\n"
		  "error: builder for '/nix/store/g5ry-broken-1.0.drv' failed "
		  "with exit code 1\n"
		  "error: 1 dependencies of derivation '/nix/store/bcv2-user-"
		  "environment.drv' failed to build\n",
		  "error: package broken-1.0 failed to build (its builder "
		  "failed with exit code 1); it said: broken: deliberate "
		  "failure" },
		{ "building '/nix/store/g5ry-quiet-1.0.drv'...\n"
		  "error: builder for '/nix/store/g5ry-quiet-1.0.drv' failed "
		  "with exit code 1\n",
		  "error: package quiet-1.0 failed to build (its builder failed "
		  "with exit code 1)" },
		{ "error: builder for '/nix/store/9xk2-hello-2.12.drv' failed "
		  "due to signal 9 (Killed)\n",
		  "error: package hello-2.12 failed to build (its builder failed "
		  "due to signal 9 (Killed))" },
		{ "error: /tmp/p/packages.nix must evaluate to a list of "
		  "derivations (or a function returning one), not a set\n"
		  "(use '--show-trace' to show detailed location information)\n",
		  "error: /tmp/p/packages.nix must evaluate to a list of "
		  "derivations (or a function returning one), not a set" },
		{ "warning: something odd\nSegmentation fault\n",
		  "Segmentation fault" },
		{ "", "error: Nix failed without a message" },
	};

	return cr_make_param_array(struct summary_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct summary_case *c, nix_output, error)
{
	char	*summary;

	summary = nix_output_error(c->log);
	cr_assert_str_eq(summary, c->summary);
	free(summary);
}

/* The files an evaluation reads, from nix-instantiate -v. */
Test(nix_output, evaluated_file)
{
	char	*path;

	path = nix_output_evaluated_file("evaluating file "
	    "'/home/u/.config/profiled/dev-tools.nix'");
	cr_assert_str_eq(path, "/home/u/.config/profiled/dev-tools.nix");
	free(path);
	cr_assert_null(nix_output_evaluated_file("evaluating file ''"));
	cr_assert_null(nix_output_evaluated_file("evaluating file '/a/b"));
	cr_assert_null(nix_output_evaluated_file("building '/nix/store/x.drv'"
	    "..."));
}
