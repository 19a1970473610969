/*
 * The history answers questions: list, show and diff against real
 * generations, after upgrades, additions, removals and rollbacks, for
 * generations profiled built and for one nix-env made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(history, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A package file with hello at version, from the fixtures' mk. */
static char *
hello_at(const char *version, const char *others)
{
	char	*text;

	xasprintf(&text, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [\n  (mk { pname = \"hello\"; version = \"%s\"; })\n"
	    "  %s\n]\n", harness.root, version, others);
	return text;
}

static void
save_and_wait(const char *text, long generation)
{
	harness_save(text);
	json_free(harness_wait_generation(generation));
}

static void
assert_packages_are(const struct json *array, const char *want)
{
	char	*got = harness_packages_of(array);

	cr_assert_str_eq(got, want);
	free(got);
}

Test(history, list_prints_the_current_packages)
{
	struct json		*list;
	const struct json	*packages;
	struct run		 r;
	size_t			 i;

	harness_save_packages("hello cowsay");
	harness_start();
	json_free(harness_wait_generation(1));

	harness_ctl(&r, "list", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "cowsay  3.7\nhello   2.12\n");
	harness_run_free(&r);

	list = harness_ctl_json("list", NULL);
	cr_assert_eq(harness_number(list, "generation"), 1);
	packages = json_get(list, "packages");
	assert_packages_are(packages, "cowsay 3.7;hello 2.12;");
	for (i = 0; i < packages->count; i++)
		cr_assert(strncmp(harness_string(packages->items[i], "path"),
		    "/nix/store/", 11) == 0);
	json_free(list);
}

/* The sum of nix-store --query --size over path's closure. */
static long long
closure_size(const char *path)
{
	struct run	 r;
	char		*command;
	long long	 total = 0;
	const char	*line;

	xasprintf(&command, "nix-store --query --size $(nix-store --query "
	    "--requisites %s)", path);
	harness_run(&r, "/bin/sh", "-c", command, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	for (line = r.out; *line != '\0'; line = strchr(line, '\n') + 1)
		total += atoll(line);
	harness_run_free(&r);
	free(command);
	return total;
}

Test(history, show_tells_where_a_generation_sits_and_what_it_holds)
{
	struct json		*shown;
	const struct json	*children;
	struct run		 r;
	char			*second;

	harness_save_packages("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	/* Odd bytes: a tab, a CR, Latin-1 in a comment, no final newline. */
	second = harness_packages("hello cowsay");
	second[strlen(second) - 1] = '\0';
	{
		char *odd;

		xasprintf(&odd, "# caf\xe9\r\n\t%s", second);
		free(second);
		second = odd;
	}
	save_and_wait(second, 2);
	json_free(harness_ctl_json("rollback", NULL));
	json_free(harness_wait_idle());
	harness_save_packages("hello ripgrep");
	json_free(harness_wait_generation(3));

	/* Generation 1 has two children: the branch rollback left. */
	shown = harness_ctl_json("show", "1", NULL);
	cr_assert_eq(harness_number(shown, "id"), 1);
	cr_assert_eq(json_get(shown, "parent")->type, JSON_NULL);
	children = json_get(shown, "children");
	cr_assert_eq(children->count, 2);
	cr_assert_eq(children->items[0]->number, 2);
	cr_assert_eq(children->items[1]->number, 3);
	cr_assert_eq(harness_bool(shown, "current"), 0);
	assert_packages_are(json_get(shown, "packages"), "hello 2.12;");
	json_free(shown);

	/* The current one by default, its closure sized as Nix sizes it. */
	shown = harness_ctl_json("show", NULL);
	cr_assert_eq(harness_number(shown, "id"), 3);
	cr_assert_eq(harness_number(shown, "parent"), 1);
	cr_assert_str_eq(harness_string(shown, "reason"), "save");
	cr_assert_eq(harness_bool(shown, "current"), 1);
	cr_assert_eq(harness_bool(shown, "deleted"), 0);
	cr_assert(harness_number(shown, "duration_ms") >= 0);
	cr_assert_eq(harness_number(shown, "closure_bytes"),
	    closure_size(harness_string(shown, "store_path")));
	json_free(shown);

	harness_ctl(&r, "show", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "generation     3 (current)\n") != NULL &&
	    strstr(r.out, "parent         1\n") != NULL &&
	    strstr(r.out, "children       none\n") != NULL &&
	    strstr(r.out, "reason         save\n") != NULL &&
	    strstr(r.out, "closure size   ") != NULL &&
	    strstr(r.out, "  hello    2.12\n  ripgrep  14.1\n") != NULL,
	    "%s", r.out);
	harness_run_free(&r);

	/* --file: the file as it was built, byte for byte. */
	harness_ctl(&r, "show", "2", "--file", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, second);
	harness_run_free(&r);
	free(second);

	harness_ctl(&r, "show", "99", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "there is no generation 99");
	harness_run_free(&r);
	harness_ctl(&r, "show", "x", NULL);
	cr_assert_eq(r.status, 2);
	harness_run_free(&r);
}

/* out is what GNU diff -u says from a_text to b_text, labelled as ours. */
static void
assert_diff_u(const char *out, const char *a, const char *a_text,
    const char *b, const char *b_text)
{
	struct run	 r;
	char		*a_file, *b_file, *a_label, *b_label;

	xasprintf(&a_file, "%s/diff-a", harness.dir);
	xasprintf(&b_file, "%s/diff-b", harness.dir);
	xasprintf(&a_label, "generation %s", a);
	xasprintf(&b_label, "generation %s", b);
	harness_write(a_file, a_text);
	harness_write(b_file, b_text);
	harness_run(&r, "diff", "-u", "--label", a_label, "--label", b_label,
	    a_file, b_file, NULL);
	cr_assert_eq(r.status, 1, "diff -u: %s", r.err);
	cr_assert_str_eq(out, r.out);
	harness_run_free(&r);
	free(a_file);
	free(b_file);
	free(a_label);
	free(b_label);
}

Test(history, diff_names_what_changed_in_nix_version_order)
{
	struct json		*diff;
	const struct json	*changed;
	struct run		 r;
	char			*text, *text2, *text3;

	text = hello_at("2.12", "cowsay");
	harness_save(text);
	free(text);
	harness_start();
	json_free(harness_wait_generation(1));
	/* cowsay goes, ripgrep comes, hello 2.12 -> 2.12pre1: a downgrade. */
	text2 = hello_at("2.12pre1", "ripgrep");
	save_and_wait(text2, 2);
	text3 = hello_at("2.13", "ripgrep");
	save_and_wait(text3, 3);

	/* No argument: the current generation against its parent. */
	diff = harness_ctl_json("diff", NULL);
	cr_assert_eq(harness_number(diff, "from"), 2);
	cr_assert_eq(harness_number(diff, "to"), 3);
	assert_packages_are(json_get(diff, "added"), "");
	assert_packages_are(json_get(diff, "removed"), "");
	changed = json_get(diff, "changed");
	cr_assert_eq(changed->count, 1);
	cr_assert_str_eq(harness_string(changed->items[0], "name"), "hello");
	cr_assert_str_eq(harness_string(changed->items[0], "old"), "2.12pre1");
	cr_assert_str_eq(harness_string(changed->items[0], "new"), "2.13");
	cr_assert_str_eq(harness_string(changed->items[0], "order"),
	    "upgrade");
	json_free(diff);

	/* Two: from A to B. */
	diff = harness_ctl_json("diff", "1", "2", NULL);
	assert_packages_are(json_get(diff, "added"), "ripgrep 14.1;");
	assert_packages_are(json_get(diff, "removed"), "cowsay 3.7;");
	changed = json_get(diff, "changed");
	cr_assert_eq(changed->count, 1);
	cr_assert_str_eq(harness_string(changed->items[0], "order"),
	    "downgrade", "2.12 -> 2.12pre1 is a downgrade to Nix");
	json_free(diff);

	harness_ctl(&r, "diff", "1", "2", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "+ ripgrep 14.1\n- cowsay 3.7\n"
	    "~ hello 2.12 -> 2.12pre1 (downgrade)\n");
	harness_run_free(&r);

	/* One: that generation against the current one. */
	harness_ctl(&r, "diff", "1", NULL);
	cr_assert_str_eq(r.out, "+ ripgrep 14.1\n- cowsay 3.7\n"
	    "~ hello 2.12 -> 2.13 (upgrade)\n");
	harness_run_free(&r);

	harness_ctl(&r, "diff", "3", "3", NULL);
	cr_assert_str_eq(r.out, "no package changed from generation 3 to 3\n");
	harness_run_free(&r);

	/* --file: a unified diff of the two files as built, as diff -u. */
	harness_ctl(&r, "diff", "--file", "2", "3", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_diff_u(r.out, "2", text2, "3", text3);
	cr_assert(strstr(r.out, "-  (mk { pname = \"hello\"; version = "
	    "\"2.12pre1\"; })\n+  (mk { pname = \"hello\"; version = "
	    "\"2.13\"; })\n") != NULL, "%s", r.out);
	harness_run_free(&r);
	free(text2);
	free(text3);

	harness_ctl(&r, "diff", "1", "99", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "there is no generation 99");
	harness_run_free(&r);
}

/* A generation nix-env made has its packages from its manifest. */
/* Hunks, context and files without a final newline as diff -u has them. */
Test(history, diff_file_is_diff_u)
{
	struct run	 r;
	char		*first, *second;

	xasprintf(&first, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [\n  # 1\n  # 2\n  # 3\n  # 4\n  hello\n  # 5\n"
	    "  # 6\n  # 7\n  # 8\n  # 9\n  # 10\n  # 11\n  cowsay\n]\n",
	    harness.root);
	xasprintf(&second, "{ pkgs ? import %s/tests/fixtures/pkgs.nix { } }:\n"
	    "with pkgs; [\n  # 1\n  # 2\n  # 3\n  # 4\n  # 5\n"
	    "  # 6\n  # 7\n  # 8\n  # 9\n  # 10\n  # 11\n  cowsay\n"
	    "  ripgrep\n]", harness.root);
	harness_save(first);
	harness_start();
	json_free(harness_wait_generation(1));
	save_and_wait(second, 2);

	harness_ctl(&r, "diff", "--file", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	assert_diff_u(r.out, "1", first, "2", second);
	cr_assert(strstr(r.out, "@@ -4,7 +4,6 @@") != NULL, "%s", r.out);
	harness_run_free(&r);
	free(first);
	free(second);
}

Test(history, diff_reads_a_generation_nix_env_made)
{
	struct json	*diff;
	struct run	 r;

	harness_nix_env_install("cowsay");
	harness_save_packages("hello");
	harness_start();
	json_free(harness_wait_idle());
	json_free(harness_ctl_json("switch", NULL));
	json_free(harness_wait_generation(2));

	diff = harness_ctl_json("diff", NULL);
	cr_assert_eq(harness_number(diff, "from"), 1);
	assert_packages_are(json_get(diff, "added"), "hello 2.12;");
	assert_packages_are(json_get(diff, "removed"), "cowsay 3.7;");
	json_free(diff);

	harness_ctl(&r, "show", "1", "--file", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "generation 1 was not built by profiled");
	harness_run_free(&r);
}

/* `profilectl generations ARGS...` in locale, its stdout. */
static char *
generations_in(const char *locale, const char *a, const char *b)
{
	struct run	 r;
	char		*ctl, *lc, *out;

	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	xasprintf(&lc, "LC_ALL=%s", locale);
	harness_run(&r, "env", lc, "COLUMNS=", ctl, "--socket", harness.socket,
	    "generations", a, b, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	out = r.out;
	r.out = NULL;
	harness_run_free(&r);
	free(ctl);
	free(lc);
	return out;
}

/*
 * Line n of out (from 0) starts with start and, after the age column,
 * reads rest.
 */
static void
assert_row(const char *out, int n, const char *start, const char *rest)
{
	const char	*line = out, *end;
	char		*row;

	while (n-- > 0) {
		cr_assert_not_null(line = strchr(line, '\n'), "no line: %s",
		    out);
		line++;
	}
	end = strchrnul(line, '\n');
	row = xstrndup(line, end - line);
	cr_assert(strncmp(row, start, strlen(start)) == 0,
	    "\"%s\" does not start \"%s\" in\n%s", row, start, out);
	cr_assert(strlen(row) >= strlen(rest) &&
	    strcmp(row + strlen(row) - strlen(rest), rest) == 0,
	    "\"%s\" does not end \"%s\" in\n%s", row, rest, out);
	free(row);
}

/*
 * 1 -> 2, rollback, 1 -> 3 -> 4, switch --to 2, 2 -> 5: generations lists
 * what each changed from its parent, --tree draws the two branches, and a
 * generation deleted from the profile shows only with --all.
 */
Test(history, generations_summarise_and_draw_the_tree)
{
	struct json		*list;
	struct run		 r;
	char			*out;

	harness_save_packages("hello");
	harness_start();
	json_free(harness_wait_generation(1));
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));
	json_free(harness_ctl_json("rollback", NULL));
	harness_save_packages("hello ripgrep");
	json_free(harness_wait_generation(3));
	harness_save_packages("ripgrep");
	json_free(harness_wait_generation(4));
	json_free(harness_ctl_json("switch", "--to", "2", NULL));
	harness_save_packages("cowsay");
	json_free(harness_wait_generation(5));

	out = generations_in("C", NULL, NULL);
	assert_row(out, 0, "    ID  PARENT   AGE  REASON    CHANGES", "CHANGES");
	assert_row(out, 1, "     1       -  ", "save      +hello");
	assert_row(out, 2, "     2       1  ", "save      +cowsay");
	assert_row(out, 3, "     3       1  ", "save      +ripgrep");
	assert_row(out, 4, "     4       3  ", "save      -hello");
	assert_row(out, 5, "*    5       2  ", "save      -hello");
	free(out);

	out = generations_in("C", "--tree", NULL);
	assert_row(out, 0, "  ID   ", "CHANGES");
	assert_row(out, 1, "  1    ", "+hello");
	assert_row(out, 2, "  |- 2 ", "+cowsay");
	assert_row(out, 3, "* |  5 ", "-hello");
	assert_row(out, 4, "  `- 3 ", "+ripgrep");
	assert_row(out, 5, "     4 ", "-hello");
	cr_assert_null(strstr(out, "\xe2"), "box drawing in C: %s", out);
	free(out);
	out = generations_in("C.UTF-8", "--tree", NULL);
	assert_row(out, 2, "  \u251c\u2500 2 ", "+cowsay");
	assert_row(out, 3, "* \u2502  5 ", "-hello");
	assert_row(out, 4, "  \u2514\u2500 3 ", "+ripgrep");
	free(out);

	/* Too wide for COLUMNS: cut, marked. */
	harness_save_packages("hello cowsay ripgrep");
	json_free(harness_wait_generation(6));
	{
		char	*ctl;

		xasprintf(&ctl, "%s/client/profilectl", harness.root);
		harness_run(&r, "env", "COLUMNS=40", ctl, "--socket",
		    harness.socket, "generations", NULL);
		free(ctl);
	}
	assert_row(r.out, 6, "*    6       5  ", "save      +hell...");
	cr_assert_eq(strlen(strrchr(r.out, '*')), 41, "%s", r.out);
	harness_run_free(&r);

	/* Generation 3 deleted by Nix: listed with --all only. */
	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--delete-generations", "3", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	harness_run_free(&r);
	out = generations_in("C", NULL, NULL);
	cr_assert_null(strstr(out, "     3       1"), "%s", out);
	free(out);
	out = generations_in("C", "--all", NULL);
	assert_row(out, 3, "     3       1  ", "save      [deleted] +ripgrep");
	free(out);
	list = harness_ctl_json("generations", "--all", NULL);
	cr_assert_eq(list->count, 6);
	cr_assert_eq(harness_bool(list->items[2], "deleted"), 1);
	cr_assert_eq(harness_bool(list->items[3], "deleted"), 0);
	cr_assert_str_eq(harness_string(list->items[3], "summary"), "-hello");
	json_free(list);
	/* Without 3, 1 -> 2 -> 5 -> 6 is straight, and 4 a root of its own. */
	out = generations_in("C", "--tree", NULL);
	assert_row(out, 1, "  1 ", "+hello");
	assert_row(out, 2, "  2 ", "+cowsay");
	assert_row(out, 5, "  4 ", "-hello");
	free(out);
}

/*
 * With auto_switch off, a save is built and not activated: status says
 * what switching would change, diff --pending says it in full, and
 * switch makes it the generation; then nothing is pending.
 */
Test(history, preview_of_a_build_not_activated)
{
	struct json	*status, *diff;
	struct run	 r;
	char		*text;

	harness_config_add("auto_switch = false");
	harness_save_packages("hello");
	harness_start();
	json_free(harness_ctl_json("switch", NULL));
	json_free(harness_wait_generation(1));
	status = harness_wait_idle();
	cr_assert_eq(json_get(status, "built_change")->type, JSON_NULL);
	json_free(status);

	harness_ctl(&r, "diff", "--pending", NULL);
	cr_assert_eq(r.status, 1);
	harness_assert_error(&r, "no build waits to be activated");
	harness_run_free(&r);

	text = harness_packages("hello-old cowsay");
	harness_save(text);
	status = harness_wait_built(text);
	free(text);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_str_eq(harness_string(status, "built_change"),
	    "+cowsay ~hello");
	json_free(status);
	harness_ctl(&r, "status", NULL);
	cr_assert(strstr(r.out, "not active: switching would change +cowsay "
	    "~hello (profilectl diff --pending)") != NULL, "%s", r.out);
	harness_run_free(&r);

	diff = harness_ctl_json("diff", "--pending", NULL);
	cr_assert_eq(harness_number(diff, "from"), 1);
	cr_assert_eq(json_get(diff, "to")->type, JSON_NULL);
	assert_packages_are(json_get(diff, "added"), "cowsay 3.7;");
	cr_assert_str_eq(harness_string(json_get(diff, "changed")->items[0],
	    "order"), "downgrade");
	json_free(diff);
	harness_ctl(&r, "diff", "--pending", "--file", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "+++ the build not activated\n") != NULL &&
	    strstr(r.out, "+with pkgs; [ hello-old cowsay ]\n") != NULL,
	    "%s", r.out);
	harness_run_free(&r);
	cr_assert_eq(harness_profile_generation(), 1);

	json_free(harness_ctl_json("switch", NULL));
	json_free(harness_wait_generation(2));
	status = harness_wait_idle();
	cr_assert_eq(json_get(status, "built_change")->type, JSON_NULL);
	json_free(status);
}
