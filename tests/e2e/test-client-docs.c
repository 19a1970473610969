/*
 * The manual pages and the completions, where `make install` takes them:
 * each page renders with man(1) without a warning, profilectl(1) has
 * every command and option profilectl has and its exit codes,
 * profiled(8) every flag and profiled.conf(5) every key, from the same
 * tables the programs use, so a page that falls behind fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(client_docs, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* Each page, by its file under man/. */
static const char *const docs_pages[] = {
	"profilectl.1", "profiled.8", "profiled.conf.5"
};
#define DOCS_NPAGES	(sizeof docs_pages / sizeof docs_pages[0])

/* The text of ROOT/dir/name. */
static char *
docs_read(const char *dir, const char *name)
{
	char	*path, *text;

	xasprintf(&path, "%s/%s/%s", harness.root, dir, name);
	cr_assert(access(path, R_OK) == 0, "%s is missing", path);
	text = harness_read(path);
	free(path);
	return text;
}

Test(client_docs, pages_render_without_warnings)
{
	struct run	 r;
	char		*path;
	size_t		 i;

	/* Warnings only, whatever the locale and width here. */
	setenv("LC_ALL", "C.UTF-8", 1);
	setenv("MANWIDTH", "80", 1);
	for (i = 0; i < DOCS_NPAGES; i++) {
		xasprintf(&path, "%s/man/%s", harness.root, docs_pages[i]);
		harness_run(&r, "man", "--warnings", "-l", path, NULL);
		cr_assert_eq(r.status, 0, "man -l %s exited %d: %s", path,
		    r.status, r.err);
		cr_assert_str_empty(r.err, "man --warnings -l %s warns:\n%s",
		    path, r.err);
		cr_assert(strstr(r.out, "NAME") != NULL &&
		    strstr(r.out, "SEE ALSO") != NULL, "%s renders as: %s",
		    docs_pages[i], r.out);
		harness_run_free(&r);
		free(path);
	}
}

/* source (mdoc) has the line, or the words, want. */
static void
docs_assert_has(const char *page, const char *source, const char *want)
{
	cr_assert(strstr(source, want) != NULL, "%s lacks \"%s\"", page, want);
}

Test(client_docs, profilectl_page_has_every_command_option_and_exit_code)
{
	static const char	*codes[] = {
		".It 0\nSuccess", ".It 1\n", ".It 2\n", ".It 3\n", ".It 4\n"
	};
	const struct json	*options;
	struct json		*help;
	char			*page, *want;
	const char		*name;
	size_t			 i, j;

	page = docs_read("man", "profilectl.1");
	help = harness_ctl_json("help", NULL);
	for (i = 0; i < help->count; i++) {
		name = harness_string(help->items[i], "name");
		xasprintf(&want, ".It Cm %s", name);
		docs_assert_has("profilectl(1)", page, want);
		free(want);
		options = json_get(help->items[i], "options");
		for (j = 0; j < options->count; j++) {
			xasprintf(&want, "Fl -%s",
			    harness_string(options->items[j], "name"));
			docs_assert_has("profilectl(1)", page, want);
			free(want);
		}
	}
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		docs_assert_has("profilectl(1)", page, codes[i]);
	docs_assert_has("profilectl(1)", page, "Ev PROFILED_SOCKET");
	docs_assert_has("profilectl(1)", page, "Ev NO_COLOR");
	json_free(help);
	free(page);
}

Test(client_docs, daemon_pages_have_every_flag_and_key)
{
	const struct config_key	*k;
	char			*flags, *keys, *flag, *want;

	flags = docs_read("man", "profiled.8");
	keys = docs_read("man", "profiled.conf.5");
	for (k = config_keys; k->name != NULL; k++) {
		flag = config_flag(k);
		xasprintf(&want, ".It Fl -%s Ar", flag);
		docs_assert_has("profiled(8)", flags, want);
		free(want);
		xasprintf(&want, ".It Ic %s No = Ar", k->name);
		docs_assert_has("profiled.conf(5)", keys, want);
		free(want);
		free(flag);
	}
	free(keys);
	free(flags);
}

/*
 * The files the Makefile's install rule takes (another's work): man/NAME.1,
 * .5 and .8, and completions/profilectl.bash, _profilectl and
 * profilectl.fish, each installed where its shell looks for it under
 * PREFIX.  Here only that they are where that rule looks.
 */
Test(client_docs, files_are_where_make_install_takes_them)
{
	static const char	*completions[] = {
		"profilectl.bash", "_profilectl", "profilectl.fish"
	};
	size_t			 i;

	for (i = 0; i < DOCS_NPAGES; i++)
		free(docs_read("man", docs_pages[i]));
	for (i = 0; i < sizeof completions / sizeof completions[0]; i++)
		free(docs_read("completions", completions[i]));
}
