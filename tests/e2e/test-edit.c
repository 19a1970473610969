/*
 * profilectl add and remove edit the package file as its owner would:
 * every byte outside the edited lines stays, the result is built as any
 * save is, and what Nix cannot evaluate, or a file of another shape, is
 * refused with the file untouched.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(edit, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A package file with the fixtures' set, from a body after its header. */
static char *
package_file(const char *body)
{
	char	*text;

	xasprintf(&text, "# my packages\n"
	    "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n%s",
	    harness.root, body);
	return text;
}

static void
assert_file_is(const char *want)
{
	char	*got = harness_read(harness.package_file);

	cr_assert_str_eq(got, want);
	free(got);
}

/* Nothing but the package file (and the daemon's own) in its directory. */
static void
assert_no_temporary_files(void)
{
	struct dirent	*entry;
	DIR		*dir;

	cr_assert_not_null(dir = opendir(harness.dir));
	while ((entry = readdir(dir)) != NULL)
		cr_assert_null(strstr(entry->d_name, ".profiled-"),
		    "left behind: %s", entry->d_name);
	closedir(dir);
}

Test(edit, add_and_remove_keep_the_rest_of_the_file)
{
	struct json	*status;
	struct run	 r;
	char		*text;

	text = package_file("with pkgs; [\n"
	    "  hello   # the greeter\n"
	    "  # cowsay, one day\n"
	    "]\n");
	harness_save(text);
	free(text);
	harness_start();
	json_free(harness_wait_generation(1));

	harness_ctl(&r, "add", "ripgrep", "cowsay", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "added ripgrep\nadded cowsay\n") == r.out,
	    "%s", r.out);
	cr_assert(strstr(r.out, "saved; profiled is building it") != NULL,
	    "%s", r.out);
	harness_run_free(&r);
	/* After its last package; the list was sorted, so cowsay sorts. */
	text = package_file("with pkgs; [\n"
	    "  cowsay\n"
	    "  hello   # the greeter\n"
	    "  ripgrep\n"
	    "  # cowsay, one day\n"
	    "]\n");
	assert_file_is(text);
	free(text);
	status = harness_wait_generation(2);
	json_free(status);
	status = harness_wait_idle();
	cr_assert_eq(harness_bool(status, "in_sync"), 1);
	json_free(status);
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");

	/* Its line goes, and the comment on it; the other comment stays. */
	harness_ctl(&r, "remove", "hello", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "removed hello\n") == r.out, "%s", r.out);
	harness_run_free(&r);
	text = package_file("with pkgs; [\n"
	    "  cowsay\n"
	    "  ripgrep\n"
	    "  # cowsay, one day\n"
	    "]\n");
	assert_file_is(text);
	free(text);
	json_free(harness_wait_generation(3));
	assert_no_temporary_files();
}

Test(edit, present_and_absent_change_nothing)
{
	struct json	*answer;
	struct run	 r;
	char		*text;

	text = package_file("with pkgs; [ hello cowsay ]\n");
	harness_save(text);
	harness_start();
	json_free(harness_wait_generation(1));

	harness_ctl(&r, "add", "hello", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "hello is in the package file already "
	    "(line 3)\n");
	harness_run_free(&r);
	harness_ctl(&r, "remove", "ripgrep", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "ripgrep is not in the package file\n");
	harness_run_free(&r);

	answer = harness_ctl_json("add", "hello", NULL);
	cr_assert_eq(harness_bool(answer, "changed"), 0);
	cr_assert_str_eq(harness_string(json_get(answer, "results")->items[0],
	    "result"), "present");
	json_free(answer);
	assert_file_is(text);
	free(text);
	cr_assert_eq(harness_profile_generation(), 1);
}

Test(edit, an_attribute_nix_does_not_know_is_refused)
{
	struct run	 r;
	char		*text;

	text = package_file("with pkgs; [\n  hello\n]\n");
	harness_save(text);
	harness_start();
	json_free(harness_wait_generation(1));

	harness_ctl(&r, "add", "cowsay", "no-such-package", NULL);
	cr_assert_eq(r.status, 1, "%s", r.out);
	harness_assert_error(&r, "no-such-package");
	cr_assert(strstr(r.err, "left as it was") != NULL, "%s", r.err);
	cr_assert_null(strstr(r.err, ".profiled-"), "names the temporary "
	    "file: %s", r.err);
	harness_run_free(&r);
	assert_file_is(text);
	assert_no_temporary_files();

	harness_ctl(&r, "add", "hello; rm -rf ~", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "not an attribute name");
	harness_run_free(&r);
	assert_file_is(text);
	free(text);
	cr_assert_eq(harness_profile_generation(), 1);
}

Test(edit, other_shapes_are_refused_with_the_shape_that_works)
{
	struct run	 r;
	char		*text;

	text = package_file("builtins.attrValues {\n"
	    "  inherit (pkgs) hello;\n}\n");
	harness_save(text);
	harness_start();
	json_free(harness_wait_generation(1));
	harness_ctl(&r, "add", "cowsay", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "line 3: found an expression");
	cr_assert(strstr(r.err, "edit it by hand") != NULL, "%s", r.err);
	harness_run_free(&r);
	assert_file_is(text);
	free(text);

	/* In an expression: said, and left to the owner. */
	text = package_file("with pkgs; [\n  (hiPrio hello)\n  cowsay\n]\n");
	harness_save(text);
	json_free(harness_wait_generation(2));
	harness_ctl(&r, "remove", "hello", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "part of an expression on line 4");
	harness_run_free(&r);
	assert_file_is(text);
	free(text);
}

/* A package file that is a link (to a dotfiles checkout) stays a link. */
Test(edit, a_linked_package_file_is_edited_where_it_lives)
{
	struct stat	 sb;
	struct run	 r;
	char		*target, *text, *got;

	xasprintf(&target, "%s/dotfiles-packages.nix", harness.dir);
	text = package_file("with pkgs; [ hello ]\n");
	harness_write(target, text);
	free(text);
	unlink(harness.package_file);
	cr_assert_eq(symlink(target, harness.package_file), 0, "%s",
	    strerror(errno));
	harness_start();
	json_free(harness_wait_generation(1));

	harness_ctl(&r, "add", "cowsay", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_run_free(&r);
	cr_assert_eq(lstat(harness.package_file, &sb), 0);
	cr_assert(S_ISLNK(sb.st_mode), "the link was replaced by a file");
	got = harness_read(target);
	text = package_file("with pkgs; [ hello cowsay ]\n");
	cr_assert_str_eq(got, text);
	free(got);
	free(text);
	free(target);
	json_free(harness_wait_generation(2));
}
