/*
 * Unit tests for config.c: defaults under a controlled environment, the
 * config file's syntax and its exact error messages, path expansion and
 * nix_flags word splitting.  Each test runs in its own process (Criterion
 * forks), so setenv and chdir cannot leak into other tests; every test gets
 * a fresh mkdtemp directory holding its HOME, removed afterwards.
 */
#include <sys/stat.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"

#define CONFIG_TEST_KNOWN_KEYS	"(known keys: package_file, profile, " \
	"state_dir, socket, debounce_ms, auto_switch, notify, nix_flags, " \
	"build_timeout, nix_path, keep_generations, keep_days)"

static char	config_test_dir[64];	/* the test's mkdtemp dir */
static char	config_test_home[PATH_MAX];	/* $HOME, inside it */

/* Make path, and any missing parents, or fail the test. */
static void
config_test_mkdir(const char *path)
{
	char	buf[PATH_MAX], *p;

	cr_assert_lt(strlen(path), sizeof buf);
	strcpy(buf, path);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		cr_assert(mkdir(buf, 0700) == 0 || errno == EEXIST,
		    "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	cr_assert(mkdir(buf, 0700) == 0 || errno == EEXIST, "mkdir %s: %s",
	    buf, strerror(errno));
}

/* Write text to the file at path, or fail the test. */
static void
config_test_write(const char *path, const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"), "fopen %s: %s", path,
	    strerror(errno));
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

/* Return a new path: the test directory joined with name. */
static char *
config_test_path(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/%s", config_test_dir, name);
	return path;
}

/*
 * A private environment for each test: HOME in the temporary directory,
 * and no XDG variable or USER from whoever runs the tests.
 */
static void
config_test_setup(void)
{
	strcpy(config_test_dir, "/tmp/test-config-XXXXXX");
	cr_assert_not_null(mkdtemp(config_test_dir), "mkdtemp: %s",
	    strerror(errno));
	snprintf(config_test_home, sizeof config_test_home, "%s/home",
	    config_test_dir);
	config_test_mkdir(config_test_home);
	setenv("HOME", config_test_home, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_RUNTIME_DIR");
	setenv("USER", "tester", 1);
}

static int
config_test_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return remove(path);
}

static void
config_test_teardown(void)
{
	if (config_test_dir[0] != '\0')
		nftw(config_test_dir, config_test_remove_cb, 16,
		    FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = config_test_setup, .fini = config_test_teardown,
    .timeout = 10);

/* Return a new string showing a word list as [a|b|c]. */
static char *
config_test_words(char **words)
{
	char	*s, *next;
	size_t	 i;

	s = xstrdup("[");
	for (i = 0; words[i] != NULL; i++) {
		xasprintf(&next, "%s%s%s", s, i == 0 ? "" : "|", words[i]);
		free(s);
		s = next;
	}
	xasprintf(&next, "%s]", s);
	free(s);
	return next;
}

/* Return a new string showing one setting of cfg, by its config key. */
static char *
config_test_field(const struct config *cfg, const char *key)
{
	char	*s;

	if (strcmp(key, "package_file") == 0)
		return xstrdup(cfg->package_file);
	if (strcmp(key, "profile") == 0)
		return xstrdup(cfg->profile);
	if (strcmp(key, "state_dir") == 0)
		return xstrdup(cfg->state_dir);
	if (strcmp(key, "socket") == 0)
		return xstrdup(cfg->socket_path);
	if (strcmp(key, "nix_flags") == 0)
		return config_test_words(cfg->nix_flags);
	if (strcmp(key, "nix_path") == 0)
		return xstrdup(cfg->nix_path != NULL ? cfg->nix_path : "");
	if (strcmp(key, "debounce_ms") == 0)
		xasprintf(&s, "%d", cfg->debounce_ms);
	else if (strcmp(key, "auto_switch") == 0)
		xasprintf(&s, "%d", cfg->auto_switch);
	else if (strcmp(key, "notify") == 0)
		xasprintf(&s, "%d", cfg->notify);
	else if (strcmp(key, "build_timeout") == 0)
		xasprintf(&s, "%d", cfg->build_timeout);
	else if (strcmp(key, "keep_generations") == 0)
		xasprintf(&s, "%d", cfg->keep_generations);
	else if (strcmp(key, "keep_days") == 0)
		xasprintf(&s, "%d", cfg->keep_days);
	else
		cr_assert_fail("no field for key %s", key);
	return s;
}

/*
 * Return a new copy of pattern with @DIR@ replaced by the test directory
 * (where config files go) and @HOME@ by $HOME.
 */
static char *
config_test_expand(const char *pattern)
{
	char		*s, *next;
	const char	*at;
	size_t		 i;
	static const char *names[] = { "@DIR@", "@HOME@" };
	const char	*values[] = { config_test_dir, config_test_home };

	s = xstrdup(pattern);
	for (i = 0; i < 2; i++) {
		while ((at = strstr(s, names[i])) != NULL) {
			xasprintf(&next, "%.*s%s%s", (int)(at - s), s,
			    values[i], at + strlen(names[i]));
			free(s);
			s = next;
		}
	}
	return s;
}

/* config_split_words */

struct config_words_case {
	char	input[64];
	char	want[64];		/* the words as [a|b] */
	char	error[32];		/* the cause, if it must fail */
};

ParameterizedTestParameters(config, split_words)
{
	static struct config_words_case cases[] = {
		{ "", "[]", "" },
		{ "   \t\n ", "[]", "" },
		{ "one", "[one]", "" },
		{ "  one   two\tthree\n", "[one|two|three]", "" },
		{ "--option substituters '' --max-jobs 2",
		    "[--option|substituters||--max-jobs|2]", "" },
		{ "'a b' c", "[a b|c]", "" },
		{ "'a \\ \"b\"'", "[a \\ \"b\"]", "" },
		{ "\"a b\" \"\"", "[a b|]", "" },
		{ "\"say \\\"hi\\\" \\\\ \\n\"", "[say \"hi\" \\ \\n]", "" },
		{ "a\\ b c", "[a b|c]", "" },
		{ "\\'x\\'", "['x']", "" },
		{ "ab'cd'\"ef\"gh", "[abcdefgh]", "" },
		{ "$HOME ~ *", "[$HOME|~|*]", "" },
		{ "end\\", "[end\\]", "" },
		{ "'open", "", "unterminated quote" },
		{ "a \"open", "", "unterminated quote" },
		{ "\"a\\\"", "", "unterminated quote" },
	};

	return cr_make_param_array(struct config_words_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_words_case *c, config, split_words)
{
	char	**words = NULL, *cause = NULL, *got;
	int	  r;

	r = config_split_words(c->input, &words, &cause);
	if (c->error[0] != '\0') {
		cr_assert_eq(r, -1, "split <%s> succeeded", c->input);
		cr_assert_str_eq(cause, c->error);
		free(cause);
		return;
	}
	cr_assert_eq(r, 0, "split <%s>: %s", c->input, cause);
	got = config_test_words(words);
	cr_assert_str_eq(got, c->want, "split <%s>", c->input);
	free(got);
	config_free_words(words);
}

Test(config, free_words_null)
{
	config_free_words(NULL);
}

/* Good config files: what one setting ends up as. */

struct config_good_case {
	char	text[128];		/* the config file */
	char	key[16];		/* the setting to look at */
	char	want[64];		/* as config_test_field shows it */
};

ParameterizedTestParameters(config, good_files)
{
	static struct config_good_case cases[] = {
		{ "debounce_ms = 500\n", "debounce_ms", "500" },
		{ "debounce_ms=0", "debounce_ms", "0" },
		{ "  debounce_ms\t=\t60000  \r\n", "debounce_ms", "60000" },
		{ "debounce_ms = \"7\"\n", "debounce_ms", "7" },
		{ "# a comment\n\n   # indented comment\ndebounce_ms = 9\n",
		    "debounce_ms", "9" },
		{ "auto_switch = no\n", "auto_switch", "0" },
		{ "package_file = /etc/pkgs#1.nix\n", "package_file",
		    "/etc/pkgs#1.nix" },
		{ "package_file = \"/x/y \"\n", "package_file", "/x/y " },
		{ "package_file = pkgs.nix\n", "package_file", "@DIR@/pkgs.nix" },
		{ "package_file = sub/pkgs.nix\n", "package_file",
		    "@DIR@/sub/pkgs.nix" },
		{ "package_file = ~/p.nix\n", "package_file", "@HOME@/p.nix" },
		{ "profile = ~\n", "profile", "@HOME@" },
		{ "profile = ~/.nix-profile\n", "profile",
		    "@HOME@/.nix-profile" },
		{ "profile = ~x/p\n", "profile", "@DIR@/~x/p" },
		{ "state_dir = /var/lib/p\n", "state_dir", "/var/lib/p" },
		{ "state_dir = state\n", "state_dir", "@DIR@/state" },
		{ "socket = /run/user/1/p.sock\n", "socket",
		    "/run/user/1/p.sock" },
		{ "socket = p.sock\n", "socket", "@DIR@/p.sock" },
		{ "nix_flags = --option substituters ''\n", "nix_flags",
		    "[--option|substituters|]" },
		{ "nix_flags = \"--max-jobs 2\"\n", "nix_flags",
		    "[--max-jobs|2]" },
		{ "nix_flags = \"a b\" c\n", "nix_flags", "[a b|c]" },
		{ "nix_flags = \"a\" \"b\"\n", "nix_flags", "[a|b]" },
		{ "nix_flags =\n", "nix_flags", "[]" },
		{ "nix_flags = --arg x #1\n", "nix_flags", "[--arg|x|#1]" },
	};

	return cr_make_param_array(struct config_good_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_good_case *c, config, good_files)
{
	struct config	 cfg;
	char		*path, *cause = NULL, *got, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	path = config_test_path("profiled.conf");
	config_test_write(path, c->text);
	cr_assert_eq(config_read(&cfg, path, 0, &cause), 0, "<%s>: %s",
	    c->text, cause);
	cr_assert_str_eq(cfg.file, path);

	got = config_test_field(&cfg, c->key);
	want = config_test_expand(c->want);
	cr_assert_str_eq(got, want, "<%s>", c->text);
	free(want);
	free(got);
	free(path);
	config_free(&cfg);
}

/* Bad config files: the exact message, naming the file and line. */

struct config_bad_case {
	char	text[160];
	char	error[256];		/* @FILE@ is the config file */
};

ParameterizedTestParameters(config, bad_files)
{
	static struct config_bad_case cases[] = {
		{ "# c\n\ndebounce = 3\n",
		    "@FILE@:3: unknown key 'debounce' " CONFIG_TEST_KNOWN_KEYS },
		{ "Notify = on\n",
		    "@FILE@:1: unknown key 'Notify' " CONFIG_TEST_KNOWN_KEYS },
		{ "\n\n\n\ndebounce_ms = abc\n",
		    "@FILE@:5: debounce_ms: 'abc' is not a whole number from 0 "
		    "to 60000" },
		{ "debounce_ms = 60001\n",
		    "@FILE@:1: debounce_ms: '60001' is not a whole number from "
		    "0 to 60000" },
		{ "debounce_ms = -1\n",
		    "@FILE@:1: debounce_ms: '-1' is not a whole number from 0 "
		    "to 60000" },
		{ "debounce_ms = 1.5\n",
		    "@FILE@:1: debounce_ms: '1.5' is not a whole number from 0 "
		    "to 60000" },
		{ "debounce_ms = 99999999999999999999\n",
		    "@FILE@:1: debounce_ms: '99999999999999999999' is not a "
		    "whole number from 0 to 60000" },
		{ "debounce_ms = 18446744073709551621\n",	/* 2^64 + 5 */
		    "@FILE@:1: debounce_ms: '18446744073709551621' is not a "
		    "whole number from 0 to 60000" },
		{ "debounce_ms =\n",
		    "@FILE@:1: debounce_ms: '' is not a whole number from 0 to "
		    "60000" },
		{ "keep_generations = -5\n",
		    "@FILE@:1: keep_generations: '-5' is not a whole number "
		    "from 0 to 1000000" },
		{ "\nkeep_days = 1000001\n",
		    "@FILE@:2: keep_days: '1000001' is not a whole number from "
		    "0 to 1000000" },
		{ "notify = on\n\n#\nauto_switch = maybe\n",
		    "@FILE@:4: auto_switch: 'maybe' is not true or false "
		    "(or yes/no, on/off, 1/0)" },
		{ "a\nb\nc\n\n\n\njust words\n", "@FILE@:1: expected 'key = "
		    "value', not 'a'" },
		{ "# ok\nnotify = 1\n\n\n\n\njust words\n",
		    "@FILE@:7: expected 'key = value', not 'just words'" },
		{ " = 3\n", "@FILE@:1: expected 'key = value', not '= 3'" },
		{ "debounce_ms = 1\ndebounce_ms = 2\n",
		    "@FILE@:2: debounce_ms is set twice, on line 1 and on this "
		    "line" },
		{ "notify = off\n# again\n\nnotify = on\n",
		    "@FILE@:4: notify is set twice, on line 1 and on this line" },
		{ "nix_flags = --foo\nsocket = /s\nnix_flags =\n",
		    "@FILE@:3: nix_flags is set twice, on line 1 and on this "
		    "line" },
		{ "debounce_ms = 12345678901234567890123456789012345678901234\n",
		    "@FILE@:1: debounce_ms: '1234567890123456789012345678901234"
		    "567890...' is not a whole number from 0 to 60000" },
		{ "socket = /run/user/1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaa.sock\n",
		    "@FILE@:1: socket: the path '/run/user/1/aaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaa...' is 129 bytes long; the system allows at most "
		    "107 for a socket" },
		{ "package_file =\n",
		    "@FILE@:1: package_file: the path is empty" },
		{ "socket = \"\"\n", "@FILE@:1: socket: the path is empty" },
		{ "nix_flags = --option 'x\n",
		    "@FILE@:1: nix_flags: unterminated quote" },
	};

	return cr_make_param_array(struct config_bad_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_bad_case *c, config, bad_files)
{
	struct config	 cfg;
	char		*path, *cause = NULL, *want, *at;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	path = config_test_path("profiled.conf");
	config_test_write(path, c->text);
	cr_assert_eq(config_read(&cfg, path, 0, &cause), -1,
	    "<%s> was accepted", c->text);

	at = strstr(c->error, "@FILE@");
	cr_assert_not_null(at);
	xasprintf(&want, "%.*s%s%s", (int)(at - c->error), c->error, path,
	    at + strlen("@FILE@"));
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);
	config_free(&cfg);
}

/* config_set directly: the cause carries no file or line. */

struct config_set_case {
	char	key[16];
	char	value[16];
	char	want[8];		/* as config_test_field shows it */
	char	error[256];		/* the cause, if it must fail */
};

ParameterizedTestParameters(config, set)
{
	static struct config_set_case cases[] = {
		{ "auto_switch", "true", "1", "" },
		{ "auto_switch", "FALSE", "0", "" },
		{ "auto_switch", "Yes", "1", "" },
		{ "auto_switch", "no", "0", "" },
		{ "auto_switch", "ON", "1", "" },
		{ "auto_switch", "off", "0", "" },
		{ "auto_switch", "1", "1", "" },
		{ "auto_switch", "0", "0", "" },
		{ "notify", "oFf", "0", "" },
		{ "notify", "yes", "1", "" },
		{ "notify", "2", "",
		    "notify: '2' is not true or false (or yes/no, on/off, 1/0)" },
		{ "notify", "", "",
		    "notify: '' is not true or false (or yes/no, on/off, 1/0)" },
		{ "notify", "y", "",
		    "notify: 'y' is not true or false (or yes/no, on/off, 1/0)" },
		{ "debounce_ms", "abc", "",
		    "debounce_ms: 'abc' is not a whole number from 0 to 60000" },
		{ "debounce_ms", " 5", "",
		    "debounce_ms: ' 5' is not a whole number from 0 to 60000" },
		{ "debounce_ms", "+5", "",
		    "debounce_ms: '+5' is not a whole number from 0 to 60000" },
		{ "debounce_ms", "0012", "12", "" },
		{ "build_timeout", "90", "90", "" },
		{ "build_timeout", "90s", "90", "" },
		{ "build_timeout", "30m", "1800", "" },
		{ "build_timeout", "2h", "7200", "" },
		{ "build_timeout", "0", "0", "" },
		{ "build_timeout", "168h", "604800", "" },
		{ "build_timeout", "169h", "", "build_timeout: '169h' is not a "
		    "duration like 90, 90s, 30m or 2h (at most 168h; 0 for "
		    "none)" },
		{ "build_timeout", "2d", "", "build_timeout: '2d' is not a "
		    "duration like 90, 90s, 30m or 2h (at most 168h; 0 for "
		    "none)" },
		{ "build_timeout", "h", "", "build_timeout: 'h' is not a "
		    "duration like 90, 90s, 30m or 2h (at most 168h; 0 for "
		    "none)" },
		{ "build_timeout", "1.5h", "", "build_timeout: '1.5h' is not a "
		    "duration like 90, 90s, 30m or 2h (at most 168h; 0 for "
		    "none)" },
		{ "debounce", "5", "",
		    "unknown key 'debounce' " CONFIG_TEST_KNOWN_KEYS },
		{ "", "5", "", "unknown key '' " CONFIG_TEST_KNOWN_KEYS },
		{ "profile", "", "", "profile: the path is empty" },
		{ "nix_flags", "\"", "", "nix_flags: unterminated quote" },
	};

	return cr_make_param_array(struct config_set_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_set_case *c, config, set)
{
	struct config	 cfg, before;
	char		*cause = NULL, *got;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	/* Start from values none of the cases sets, to see a change. */
	cfg.auto_switch = cfg.notify = -1;
	cfg.debounce_ms = 4;
	cfg.build_timeout = 5;
	before = cfg;
	if (c->error[0] != '\0') {
		cr_assert_eq(config_set(&cfg, c->key, c->value, NULL, &cause),
		    -1, "%s = <%s> was accepted", c->key, c->value);
		cr_assert_str_eq(cause, c->error);
		cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0,
		    "a failed config_set changed the config");
		free(cause);
	} else {
		cr_assert_eq(config_set(&cfg, c->key, c->value, NULL, &cause),
		    0, "%s = <%s>: %s", c->key, c->value, cause);
		got = config_test_field(&cfg, c->key);
		cr_assert_str_eq(got, c->want, "%s = <%s>", c->key, c->value);
		free(got);
	}
	config_free(&cfg);
}

/* Paths from the command line (base NULL) are relative to the cwd. */
Test(config, set_relative_to_cwd)
{
	struct config	 cfg;
	char		*cause = NULL, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_eq(chdir(config_test_home), 0);
	cr_assert_eq(config_set(&cfg, "package_file", "a/p.nix", NULL,
	    &cause), 0, "%s", cause);
	xasprintf(&want, "%s/a/p.nix", config_test_home);
	cr_assert_str_eq(cfg.package_file, want);
	free(want);

	cr_assert_eq(config_set(&cfg, "socket", "s", "/run/x/", &cause), 0,
	    "%s", cause);
	cr_assert_str_eq(cfg.socket_path, "/run/x/s");
	config_free(&cfg);
}

/* A config file named by a relative path resolves paths from its dir. */
Test(config, read_relative_file)
{
	struct config	 cfg;
	char		*cause = NULL, *dir, *path, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	dir = config_test_path("etc");
	config_test_mkdir(dir);
	path = config_test_path("etc/p.conf");
	config_test_write(path, "state_dir = state\n");
	cr_assert_eq(chdir(config_test_dir), 0);

	cr_assert_eq(config_read(&cfg, "etc/p.conf", 0, &cause), 0, "%s",
	    cause);
	cr_assert_str_eq(cfg.file, "etc/p.conf");
	xasprintf(&want, "%s/state", dir);
	cr_assert_str_eq(cfg.state_dir, want);
	free(want);

	cr_assert_eq(config_read(&cfg, "p.conf", 1, &cause), 0, "%s", cause);
	cr_assert_str_eq(cfg.file, "etc/p.conf");
	cr_assert_eq(chdir(dir), 0);
	config_test_write(path, "state_dir = here\n");
	cr_assert_eq(config_read(&cfg, "p.conf", 0, &cause), 0, "%s", cause);
	cr_assert_str_eq(cfg.file, "p.conf");
	xasprintf(&want, "%s/here", dir);
	cr_assert_str_eq(cfg.state_dir, want);
	free(want);
	free(path);
	free(dir);
	config_free(&cfg);
}

/* Setting nix_flags twice replaces the list (valgrind sees the old one). */
Test(config, nix_flags_replaced)
{
	struct config	 cfg;
	char		*cause = NULL, *got;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_eq(config_set(&cfg, "nix_flags", "-j 2", NULL, &cause), 0);
	cr_assert_eq(config_set(&cfg, "nix_flags", "--keep-going", NULL,
	    &cause), 0);
	got = config_test_words(cfg.nix_flags);
	cr_assert_str_eq(got, "[--keep-going]");
	free(got);
	config_free(&cfg);
	config_free(&cfg);
}

/* Defaults */

/* Every default, with each XDG variable set to its own directory. */
Test(config, defaults_from_xdg)
{
	struct config	 cfg;
	char		*cause = NULL, *want;

	setenv("XDG_CONFIG_HOME", "/xdg/config", 1);
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);

	cr_assert_null(cfg.file);
	cr_assert_str_eq(cfg.package_file, "/xdg/config/profiled/packages.nix");
	cr_assert_str_eq(cfg.state_dir, "/xdg/state/profiled");
	cr_assert_str_eq(cfg.socket_path, "/run/user/4242/profiled.sock");
	cr_assert_str_eq(cfg.profile,
	    "/nix/var/nix/profiles/per-user/tester/profile");
	cr_assert_eq(cfg.debounce_ms, 200);
	cr_assert_eq(cfg.auto_switch, 1);
	cr_assert_eq(cfg.notify, 1);
	cr_assert_not_null(cfg.nix_flags);
	cr_assert_null(cfg.nix_flags[0]);

	want = config_default_file();
	cr_assert_str_eq(want, "/xdg/config/profiled/profiled.conf");
	free(want);
	config_free(&cfg);
}

/* Unset, empty and relative XDG variables all fall back to HOME. */
struct config_fallback_case {
	int	unset;			/* or set every XDG variable to value */
	char	value[16];
};

ParameterizedTestParameters(config, defaults_fallback)
{
	static struct config_fallback_case cases[] = {
		{ 1, "" }, { 0, "" }, { 0, "relative/dir" },
	};

	return cr_make_param_array(struct config_fallback_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_fallback_case *c, config, defaults_fallback)
{
	struct config	 cfg;
	char		*cause = NULL, *want;

	if (!c->unset) {
		setenv("XDG_CONFIG_HOME", c->value, 1);
		setenv("XDG_STATE_HOME", c->value, 1);
		setenv("XDG_RUNTIME_DIR", c->value, 1);
	}
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);

	want = config_test_expand("@HOME@/.config/profiled/packages.nix");
	cr_assert_str_eq(cfg.package_file, want);
	free(want);
	want = config_test_expand("@HOME@/.local/state/profiled");
	cr_assert_str_eq(cfg.state_dir, want);
	free(want);
	xasprintf(&want, "/tmp/profiled-%u/profiled.sock", (unsigned)getuid());
	cr_assert_str_eq(cfg.socket_path, want);
	free(want);
	want = config_test_expand("@HOME@/.config/profiled/profiled.conf");
	free(cfg.file);
	cfg.file = config_default_file();
	cr_assert_str_eq(cfg.file, want);
	free(want);
	config_free(&cfg);
}

/* The profile Nix would pick: the XDG one once its directory exists. */
Test(config, profile_default_xdg)
{
	struct config	 cfg;
	char		*cause = NULL, *profiles, *want;

	profiles = config_test_expand("@HOME@/.local/state/nix/profiles");
	config_test_mkdir(profiles);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	xasprintf(&want, "%s/profile", profiles);
	cr_assert_str_eq(cfg.profile, want);
	free(want);
	free(profiles);
	config_free(&cfg);

	setenv("XDG_STATE_HOME", config_test_dir, 1);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_str_eq(cfg.profile,
	    "/nix/var/nix/profiles/per-user/tester/profile");
	config_free(&cfg);

	profiles = config_test_path("nix/profiles");
	config_test_mkdir(profiles);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	xasprintf(&want, "%s/profile", profiles);
	cr_assert_str_eq(cfg.profile, want);
	free(want);
	free(profiles);
	config_free(&cfg);
}

/* A file, not a directory, at nix/profiles does not count. */
Test(config, profile_default_not_a_directory)
{
	struct config	 cfg;
	char		*cause = NULL, *path;

	path = config_test_expand("@HOME@/.local/state/nix");
	config_test_mkdir(path);
	free(path);
	path = config_test_expand("@HOME@/.local/state/nix/profiles");
	config_test_write(path, "");
	free(path);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_str_eq(cfg.profile,
	    "/nix/var/nix/profiles/per-user/tester/profile");
	config_free(&cfg);
}

/* Without USER or HOME (unset or empty) the passwd entry answers. */
struct config_passwd_case {
	int	unset;			/* or set USER and HOME to "" */
};

ParameterizedTestParameters(config, defaults_from_passwd)
{
	static struct config_passwd_case cases[] = { { 1 }, { 0 } };

	return cr_make_param_array(struct config_passwd_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_passwd_case *c, config, defaults_from_passwd)
{
	struct config	 cfg;
	struct passwd	*pw;
	char		*cause = NULL, *want, target[PATH_MAX];
	ssize_t		 n;

	cr_assert_not_null(pw = getpwuid(getuid()));
	if (c->unset) {
		unsetenv("USER");
		unsetenv("HOME");
	} else {
		setenv("USER", "", 1);
		setenv("HOME", "", 1);
	}
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);

	xasprintf(&want, "%s/.config/profiled/packages.nix", pw->pw_dir);
	cr_assert_str_eq(cfg.package_file, want);
	free(want);
	/* As nix-env: the target of ~/.nix-profile, if the account has one. */
	xasprintf(&want, "%s/.nix-profile", pw->pw_dir);
	if ((n = readlink(want, target, sizeof target - 1)) > 0) {
		target[n] = '\0';
		if (target[0] == '/')
			cr_assert_str_eq(cfg.profile, target);
	} else {
		free(want);
		xasprintf(&want, "%s/.local/state/nix/profiles", pw->pw_dir);
		if (access(want, F_OK) != 0) {
			free(want);
			xasprintf(&want, "/nix/var/nix/profiles/per-user/%s/"
			    "profile", pw->pw_name);
			cr_assert_str_eq(cfg.profile, want);
		}
	}
	free(want);
	config_free(&cfg);
}

/* ~/ in a value follows $HOME at the time it is read. */
Test(config, tilde_uses_home)
{
	struct config	 cfg;
	char		*cause = NULL;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	setenv("HOME", "/elsewhere/", 1);
	cr_assert_eq(config_set(&cfg, "state_dir", "~/s", "/base", &cause), 0,
	    "%s", cause);
	cr_assert_str_eq(cfg.state_dir, "/elsewhere/s");
	config_free(&cfg);
}

/* config_read */

Test(config, read_missing)
{
	struct config	 cfg;
	char		*cause = NULL, *path, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cfg.debounce_ms = 7;
	path = config_test_path("none.conf");
	cr_assert_eq(config_read(&cfg, path, 1, &cause), 0, "%s", cause);
	cr_assert_null(cfg.file);
	cr_assert_eq(cfg.debounce_ms, 7);

	cr_assert_eq(config_read(&cfg, path, 0, &cause), -1);
	xasprintf(&want, "cannot read %s: No such file or directory", path);
	cr_assert_str_eq(cause, want);
	cr_assert_null(cfg.file);
	free(want);
	free(cause);
	free(path);
	config_free(&cfg);
}

/* Only a missing file is optional; any other failure is an error. */
Test(config, read_unreadable)
{
	struct config	 cfg;
	char		*cause = NULL, *file, *path, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_eq(config_read(&cfg, config_test_home, 1, &cause), -1);
	xasprintf(&want, "cannot read %s: Is a directory", config_test_home);
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);

	file = config_test_path("file");
	config_test_write(file, "");
	xasprintf(&path, "%s/profiled.conf", file);
	cr_assert_eq(config_read(&cfg, path, 1, &cause), -1);
	xasprintf(&want, "cannot read %s: Not a directory", path);
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);
	free(file);
	config_free(&cfg);
}

/* A whole file: every key, comments, and keys left alone keep defaults. */
Test(config, read_whole_file)
{
	struct config	 cfg;
	char		*cause = NULL, *path, *want, *got;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	path = config_test_path("profiled.conf");
	config_test_write(path,
	    "# profiled settings\n"
	    "package_file = ~/nix/packages.nix\n"
	    "  # state lives next to this file\n"
	    "state_dir = state\n"
	    "debounce_ms = 50\n"
	    "auto_switch = false\n"
	    "nix_flags = --option substituters '' --max-jobs 2\n");
	cr_assert_eq(config_read(&cfg, path, 0, &cause), 0, "%s", cause);

	cr_assert_str_eq(cfg.file, path);
	want = config_test_expand("@HOME@/nix/packages.nix");
	cr_assert_str_eq(cfg.package_file, want);
	free(want);
	want = config_test_expand("@DIR@/state");
	cr_assert_str_eq(cfg.state_dir, want);
	free(want);
	cr_assert_eq(cfg.debounce_ms, 50);
	cr_assert_eq(cfg.auto_switch, 0);
	cr_assert_eq(cfg.notify, 1);
	xasprintf(&want, "/tmp/profiled-%u/profiled.sock", (unsigned)getuid());
	cr_assert_str_eq(cfg.socket_path, want);
	free(want);
	got = config_test_words(cfg.nix_flags);
	cr_assert_str_eq(got, "[--option|substituters||--max-jobs|2]");
	free(got);
	free(path);
	config_free(&cfg);
}

/* Write len bytes of data to the file at path, or fail the test. */
static void
config_test_write_bytes(const char *path, const void *data, size_t len)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"), "fopen %s: %s", path,
	    strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Read the file at path (len bytes) and return config_read's cause. */
static char *
config_test_bad_bytes(const void *data, size_t len, char **path)
{
	struct config	 cfg;
	char		*cause = NULL;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	*path = config_test_path("profiled.conf");
	config_test_write_bytes(*path, data, len);
	cr_assert_eq(config_read(&cfg, *path, 0, &cause), -1,
	    "the file was accepted");
	config_free(&cfg);
	return cause;
}

/* A NUL byte is an error naming its line, not the end of the line. */
Test(config, nul_byte_is_an_error)
{
	static const char	 text[] = "notify = on\n# fine\n"
	    "socket = /s\0/elsewhere\n";
	char			*path, *cause, *want;

	cause = config_test_bad_bytes(text, sizeof text - 1, &path);
	xasprintf(&want, "%s:3: a NUL byte (is this a text file?)", path);
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);
}

/*
 * A megabyte on one line (a binary file given as the config) is quoted by
 * its first 40 bytes, whether it is no key = value, an unknown key or a
 * bad value.
 */
Test(config, long_lines_are_quoted_short)
{
	static const char	*starts[] = { "", "notify = ", "debounce_ms = " };
	size_t			 len = 1024 * 1024, i;
	char			*text, *path, *cause, *want;

	for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
		text = xmalloc(len + 1);
		memset(text, 'x', len);
		memcpy(text, starts[i], strlen(starts[i]));
		text[len] = '\n';
		cause = config_test_bad_bytes(text, len + 1, &path);
		cr_assert_lt(strlen(cause), strlen(path) + 320, "<%.300s>",
		    cause);
		switch (i) {
		case 0:
			xasprintf(&want, "%s:1: expected 'key = value', not "
			    "'%.40s...'", path, text);
			break;
		case 1:
			xasprintf(&want, "%s:1: notify: '%.40s...' is not true "
			    "or false (or yes/no, on/off, 1/0)", path,
			    text + strlen(starts[i]));
			break;
		default:
			xasprintf(&want, "%s:1: debounce_ms: '%.40s...' is not "
			    "a whole number from 0 to 60000", path,
			    text + strlen(starts[i]));
			break;
		}
		cr_assert_str_eq(cause, want);
		free(want);
		free(cause);
		free(path);
		free(text);
	}
}

/* An unknown key of a kilobyte is quoted short too. */
Test(config, long_unknown_key_is_quoted_short)
{
	char	 key[1025], *text, *path, *cause, *want;

	memset(key, 'k', sizeof key - 1);
	key[sizeof key - 1] = '\0';
	xasprintf(&text, "%s = 1\n", key);
	cause = config_test_bad_bytes(text, strlen(text), &path);
	xasprintf(&want, "%s:1: unknown key '%.40s...' "
	    CONFIG_TEST_KNOWN_KEYS, path, key);
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);
	free(path);
	free(text);
}

/* Paths longer than the system takes are refused, naming the key. */
Test(config, paths_too_long_for_the_system)
{
	struct config	 cfg;
	char		*cause = NULL, *value, *want;
	size_t		 len;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	len = PATH_MAX;
	value = xmalloc(len + 1);
	memset(value, 'd', len);
	value[0] = '/';
	value[len] = '\0';
	cr_assert_eq(config_set(&cfg, "state_dir", value, NULL, &cause), -1);
	xasprintf(&want, "state_dir: the path '%.40s...' is %zu bytes long; "
	    "the system allows at most %d", value, len, PATH_MAX - 1);
	cr_assert_str_eq(cause, want);
	free(want);
	free(cause);

	/* One byte shorter fits PATH_MAX, and a socket must fit sun_path. */
	value[len - 1] = '\0';
	cr_assert_eq(config_set(&cfg, "package_file", value, NULL, &cause), 0,
	    "%s", cause);
	value[108] = '\0';
	cr_assert_eq(config_set(&cfg, "socket", value, NULL, &cause), -1);
	cr_assert_not_null(strstr(cause, "is 108 bytes long; the system "
	    "allows at most 107 for a socket"), "%s", cause);
	cr_assert(strncmp(cause, "socket: ", 8) == 0, "%s", cause);
	free(cause);
	value[107] = '\0';
	cr_assert_eq(config_set(&cfg, "socket", value, NULL, &cause), 0,
	    "%s", cause);
	free(value);
	config_free(&cfg);
}

/* The key table, from which profiled makes its flags and --help. */

/* Return key's entry in config_keys, or fail the test. */
static const struct config_key *
config_test_key(const char *key)
{
	const struct config_key	*k;

	for (k = config_keys; k->name != NULL; k++) {
		if (strcmp(k->name, key) == 0)
			return k;
	}
	cr_assert_fail("no key %s in config_keys", key);
	return NULL;
}

/*
 * Every key has a flag, unique and none of profiled's own, a value name
 * and a one-line description and default for --help.
 */
Test(config, keys_documented)
{
	static const char	*own[] = { "config", "verbose", "version",
				    "help" };
	const struct config_key	*k, *other;
	char			*flag, *other_flag;
	size_t			 i;

	for (k = config_keys; k->name != NULL; k++) {
		cr_assert(k->name[0] >= 'a' && k->name[0] <= 'z' &&
		    strspn(k->name, "abcdefghijklmnopqrstuvwxyz_") ==
		    strlen(k->name), "key '%s' is not lower_case", k->name);
		flag = config_flag(k);
		cr_assert_eq(strlen(flag), strlen(k->name));
		for (i = 0; flag[i] != '\0'; i++) {
			cr_assert_eq(flag[i], k->name[i] == '_' ? '-' :
			    k->name[i], "%s has flag --%s", k->name, flag);
		}
		for (i = 0; i < sizeof own / sizeof own[0]; i++)
			cr_assert_str_neq(flag, own[i]);
		for (other = config_keys; other != k; other++) {
			other_flag = config_flag(other);
			cr_assert_str_neq(flag, other_flag);
			free(other_flag);
		}
		free(flag);

		cr_assert(k->value_name != NULL && k->value_name[0] != '\0' &&
		    strspn(k->value_name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
		    strlen(k->value_name), "%s: value name '%s'", k->name,
		    k->value_name);
		cr_assert(k->description != NULL && k->description[0] != '\0' &&
		    strchr(k->description, '\n') == NULL, "%s: description",
		    k->name);
		cr_assert(k->default_text != NULL &&
		    k->default_text[0] != '\0' &&
		    strchr(k->default_text, '\n') == NULL, "%s: default",
		    k->name);
	}
}

/* Return a new copy of text with each $NAME replaced by its value. */
static char *
config_test_variables(const char *text)
{
	char		*s, *next, *name;
	const char	*dollar, *value;
	size_t		 len;

	s = xstrdup(text);
	while ((dollar = strchr(s, '$')) != NULL) {
		len = strspn(dollar + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		name = xstrndup(dollar + 1, len);
		cr_assert_not_null(value = getenv(name), "$%s is not set",
		    name);
		xasprintf(&next, "%.*s%s%s", (int)(dollar - s), s, value,
		    dollar + 1 + len);
		free(name);
		free(s);
		s = next;
	}
	return s;
}

/*
 * Each key's default as --help shows it, given as the key's value to a
 * config where every key is set otherwise, gives back what config_init
 * chose: the help does not lie.  "none" is the empty value; the profile's
 * default depends on a directory and is prose (profile_default_xdg tests
 * both of its cases).
 */
Test(config, defaults_as_documented)
{
	const struct config_key	*k;
	struct config		 defaults, cfg;
	char			*cause = NULL, *path, *value, *want, *got;

	setenv("XDG_CONFIG_HOME", "/xdg/config", 1);
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	cr_assert_eq(config_init(&defaults, &cause), 0, "%s", cause);
	path = config_test_path("otherwise.conf");
	config_test_write(path,
	    "package_file = /p.nix\n"
	    "state_dir = /s\n"
	    "socket = /p.sock\n"
	    "debounce_ms = 1\n"
	    "auto_switch = false\n"
	    "notify = false\n"
	    "nix_flags = -j 2\n"
	    "build_timeout = 2\n"
	    "nix_path = nixpkgs=/n\n"
	    "keep_generations = 7\n"
	    "keep_days = 0\n");
	for (k = config_keys; k->name != NULL; k++) {
		if (strcmp(k->name, "profile") == 0)
			continue;
		if (strcmp(k->default_text, "none") == 0)
			value = xstrdup("");
		else
			value = config_test_variables(k->default_text);
		cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
		cr_assert_eq(config_read(&cfg, path, 0, &cause), 0, "%s",
		    cause);
		want = config_test_field(&defaults, k->name);
		got = config_test_field(&cfg, k->name);
		cr_assert_str_neq(got, want, "otherwise.conf leaves %s at its "
		    "default", k->name);
		free(got);
		cr_assert_eq(config_set(&cfg, k->name, value, NULL, &cause), 0,
		    "%s = %s: %s", k->name, value, cause);
		got = config_test_field(&cfg, k->name);
		cr_assert_str_eq(got, want, "%s: --help says the default is "
		    "'%s'", k->name, k->default_text);
		free(got);
		free(want);
		free(value);
		config_free(&cfg);
	}
	free(path);
	config_free(&defaults);
}

/* config_set_flag: as config_set, but the cause names the flag. */

struct config_flag_case {
	char	key[16];
	char	value[16];
	char	want[64];		/* as config_test_field shows it */
	char	error[128];		/* the cause, if it must fail */
};

ParameterizedTestParameters(config, set_flag)
{
	static struct config_flag_case cases[] = {
		{ "debounce_ms", "abc", "", "--debounce-ms: 'abc' is not a "
		    "whole number from 0 to 60000" },
		{ "debounce_ms", "50", "50", "" },
		{ "auto_switch", "maybe", "", "--auto-switch: 'maybe' is not "
		    "true or false (or yes/no, on/off, 1/0)" },
		{ "auto_switch", "off", "0", "" },
		{ "build_timeout", "2d", "", "--build-timeout: '2d' is not a "
		    "duration like 90, 90s, 30m or 2h (at most 168h; 0 for "
		    "none)" },
		{ "build_timeout", "2m", "120", "" },
		{ "nix_flags", "'a", "", "--nix-flags: unterminated quote" },
		{ "nix_flags", "-j 2", "[-j|2]", "" },
		{ "package_file", "", "", "--package-file: the path is empty" },
		{ "state_dir", "s", "@HOME@/s", "" },
		{ "socket", "~/p.sock", "@HOME@/p.sock", "" },
	};

	return cr_make_param_array(struct config_flag_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct config_flag_case *c, config, set_flag)
{
	struct config	 cfg, before;
	char		*cause = NULL, *got, *want;

	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_eq(chdir(config_test_home), 0);
	before = cfg;
	if (c->error[0] != '\0') {
		cr_assert_eq(config_set_flag(&cfg, config_test_key(c->key),
		    c->value, &cause), -1, "--%s <%s> was accepted", c->key,
		    c->value);
		cr_assert_str_eq(cause, c->error);
		cr_assert_eq(memcmp(&cfg, &before, sizeof cfg), 0,
		    "a failed config_set_flag changed the config");
		free(cause);
	} else {
		cr_assert_eq(config_set_flag(&cfg, config_test_key(c->key),
		    c->value, &cause), 0, "%s <%s>: %s", c->key, c->value,
		    cause);
		got = config_test_field(&cfg, c->key);
		want = config_test_expand(c->want);
		cr_assert_str_eq(got, want, "%s <%s>", c->key, c->value);
		free(want);
		free(got);
	}
	config_free(&cfg);
}

/* With no profile set, the profile is ~/.nix-profile's target, as nix-env
 * picks it; a relative target is taken from the home directory. */
Test(config, default_profile_follows_nix_profile_link)
{
	struct config	 cfg;
	char		*cause = NULL, *link, *want;

	xasprintf(&link, "%s/.nix-profile", config_test_home);
	cr_assert_eq(symlink("/nix/var/nix/profiles/per-user/ada/profile",
	    link), 0);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	cr_assert_str_eq(cfg.profile,
	    "/nix/var/nix/profiles/per-user/ada/profile");
	cr_assert_str_eq(cfg.default_profile, cfg.profile);
	config_free(&cfg);

	cr_assert_eq(unlink(link), 0);
	cr_assert_eq(symlink(".local/state/nix/profiles/profile", link), 0);
	cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
	xasprintf(&want, "%s/.local/state/nix/profiles/profile",
	    config_test_home);
	cr_assert_str_eq(cfg.profile, want);
	config_free(&cfg);
	free(want);
	free(link);
}
