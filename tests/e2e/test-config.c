/*
 * Where settings come from: command-line flags alone are enough, a flag
 * beats the config file's line for the same key, and every key of
 * config.c's table is a flag that --help, the README and
 * etc/profiled.conf show with its default.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(config, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

Test(config, flags_without_a_config_file)
{
	struct json	*status;

	harness_start_with("--package-file", harness.package_file,
	    "--profile", harness.profile, "--state-dir", harness.state_dir,
	    "--socket", harness.socket, "--debounce-ms", "50",
	    "--notify", "false", "--nix-flags", OFFLINE_NIX_FLAGS,
	    NULL);
	status = harness_wait_generation(1);
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}

Test(config, flags_beat_the_config_file)
{
	char	*config_socket = harness.socket;
	char	*profile = harness.profile;

	xasprintf(&harness.socket, "%s/flag.sock", harness.dir);
	xasprintf(&harness.profile, "%s/profiles/flag-profile", harness.dir);
	harness_start_with("--config", harness.config, "--socket",
	    harness.socket, "--profile", harness.profile, NULL);
	harness_wait_generation(1);
	cr_assert(access(config_socket, F_OK) == -1,
	    "profiled listens on the config file's socket too");
	cr_assert(access(profile, F_OK) == -1,
	    "profiled made the config file's profile too");
	harness_assert_runs("bin/hello", "hello 2.12\n");
	harness_assert_nix_agrees();
}

/* Return a new copy of text with each run of whitespace one space. */
static char *
collapse_spaces(const char *text)
{
	char	*s = xmalloc(strlen(text) + 1), *p = s;

	while (*text != '\0') {
		if (strchr(" \t\n", *text) != NULL) {
			text += strspn(text, " \t\n");
			*p++ = ' ';
		} else
			*p++ = *text++;
	}
	*p = '\0';
	return s;
}

/* Run profiled --help (or -h) and fail unless it exits 0 on stdout. */
static char *
profiled_help(const char *flag)
{
	struct run	 r;
	char		*daemon, *out;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	harness_run(&r, daemon, flag, NULL);
	cr_assert_eq(r.status, 0, "profiled %s exited %d: %s", flag,
	    r.status, r.err);
	cr_assert_str_eq(r.err, "", "profiled %s wrote to stderr", flag);
	out = xstrdup(r.out);
	harness_run_free(&r);
	free(daemon);
	return out;
}

/*
 * --help lists every key of the table as its flag, with its description
 * and its default, and says where the config file is read from.
 */
Test(config, help_lists_every_flag)
{
	static const char	*flags[] = { "--help", "-h" };
	const struct config_key	*k;
	char			*out, *text, *flag, *want;
	size_t			 i;

	for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		out = profiled_help(flags[i]);
		cr_assert(strncmp(out, "usage: profiled ", 16) == 0,
		    "%s does not start with the usage:\n%s", flags[i], out);
		text = collapse_spaces(out);
		cr_assert(strstr(text, "$XDG_CONFIG_HOME/profiled/profiled.conf "
		    "(or --config FILE") != NULL, "%s does not say where the "
		    "config file is:\n%s", flags[i], out);
		for (k = config_keys; k->name != NULL; k++) {
			flag = config_flag(k);
			xasprintf(&want, " --%s %s %s default: %s ", flag,
			    k->value_name, k->description, k->default_text);
			cr_assert(strstr(text, want) != NULL, "%s does not "
			    "list \"%s\":\n%s", flags[i], want, out);
			free(want);
			xasprintf(&want, "[--%s %s]", flag, k->value_name);
			cr_assert(strstr(text, want) != NULL, "the usage "
			    "lacks %s:\n%s", want, out);
			free(want);
			free(flag);
		}
		free(text);
		free(out);
	}
}

/* Bad usage: the usage on stderr, nothing on stdout, exit 2. */
Test(config, bad_usage_exits_2)
{
	static const char	*args[][2] = {
		{ "--no-such-flag", NULL },
		{ "stray-argument", NULL },
		{ "--debounce-ms", NULL },	/* its value missing */
		{ "-x", NULL },
		{ "--config", NULL },
	};
	struct run		 r;
	char			*daemon;
	size_t			 i;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	for (i = 0; i < sizeof args / sizeof args[0]; i++) {
		harness_run(&r, daemon, args[i][0], args[i][1], NULL);
		cr_assert_eq(r.status, 2, "profiled %s exited %d", args[i][0],
		    r.status);
		cr_assert_str_eq(r.out, "", "profiled %s wrote to stdout",
		    args[i][0]);
		cr_assert(strstr(r.err, "usage: profiled ") != NULL,
		    "profiled %s: no usage on stderr: %s", args[i][0], r.err);
		harness_run_free(&r);
	}
	free(daemon);
}

/*
 * A flag's bad value stops profiled before it listens, with an error that
 * names the flag as typed, even when the config file's value is good.
 */
Test(config, bad_flag_value_names_the_flag)
{
	static const char	*cases[][3] = {
		{ "--debounce-ms", "abc", "--debounce-ms: 'abc' is not a "
		    "whole number from 0 to 60000" },
		{ "--auto-switch", "maybe", "--auto-switch: 'maybe' is not "
		    "true or false" },
		{ "--build-timeout", "2d", "--build-timeout: '2d' is not a "
		    "duration" },
		{ "--nix-flags", "'open", "--nix-flags: unterminated quote" },
		{ "--package-file", "", "--package-file: the path is empty" },
	};
	struct run		 r;
	char			*daemon;
	size_t			 i;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		harness_run(&r, daemon, "--config", harness.config,
		    cases[i][0], cases[i][1], NULL);
		cr_assert_eq(r.status, 1, "profiled %s '%s' exited %d",
		    cases[i][0], cases[i][1], r.status);
		cr_assert(strstr(r.err, cases[i][2]) != NULL, "profiled's "
		    "stderr \"%s\" does not say \"%s\"", r.err,
		    cases[i][2]);
		cr_assert(access(harness.socket, F_OK) == -1,
		    "profiled made its socket before rejecting %s",
		    cases[i][0]);
		harness_run_free(&r);
	}
	free(daemon);
}

/*
 * The config file's hygiene at start: a NUL byte, a key set twice and a
 * socket path too long for the system each stop profiled before it
 * listens, naming the line or the key, and a long bad line is quoted by
 * its first 40 bytes only.
 */
Test(config, bad_files_stop_the_start)
{
	struct run	 r;
	char		*daemon, *config, *text, *want, *socket;
	size_t		 i;

	xasprintf(&daemon, "%s/daemon/profiled", harness.root);
	config = harness_read(harness.config);

	/* A NUL byte, written after the good lines. */
	harness_write(harness.config, config);
	{
		FILE	*f = fopen(harness.config, "a");

		cr_assert_not_null(f);
		cr_assert_eq(fwrite("notify = on\0off\n", 1, 16, f), 16);
		cr_assert_eq(fclose(f), 0);
	}
	harness_run(&r, daemon, "--config", harness.config, NULL);
	xasprintf(&want, "%s:9: a NUL byte", harness.config);
	cr_assert(r.status == 1 && strstr(r.err, want) != NULL, "exit %d: %s",
	    r.status, r.err);
	harness_run_free(&r);
	free(want);

	/* A key set twice. */
	xasprintf(&text, "%sdebounce_ms = 100\n", config);
	harness_write(harness.config, text);
	free(text);
	harness_run(&r, daemon, "--config", harness.config, NULL);
	xasprintf(&want, "%s:9: debounce_ms is set twice, on line 6 and on "
	    "this line", harness.config);
	cr_assert(r.status == 1 && strstr(r.err, want) != NULL, "exit %d: %s",
	    r.status, r.err);
	harness_run_free(&r);
	free(want);

	/* A line of 100 kB that is no key = value. */
	text = xmalloc(strlen(config) + 100001 + 1);
	strcpy(text, config);
	for (i = strlen(config); i < strlen(config) + 100000; i++)
		text[i] = 'x';
	strcpy(text + i, "\n");
	harness_write(harness.config, text);
	free(text);
	harness_run(&r, daemon, "--config", harness.config, NULL);
	cr_assert(r.status == 1 && strstr(r.err, "expected 'key = value', not "
	    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'") != NULL,
	    "exit %d: %s", r.status, r.err);
	cr_assert_lt(strlen(r.err), 1024, "%zu bytes of error", strlen(r.err));
	harness_run_free(&r);

	/* A socket path over sun_path, in the file and as a flag. */
	socket = xmalloc(121);
	memset(socket, 's', 120);
	socket[0] = '/';
	socket[120] = '\0';
	xasprintf(&text, "%s", config);
	*strstr(text, "socket =") = '#';
	xasprintf(&want, "%ssocket = %s\n", text, socket);
	harness_write(harness.config, want);
	free(want);
	free(text);
	harness_run(&r, daemon, "--config", harness.config, NULL);
	cr_assert(r.status == 1 && strstr(r.err, ":9: socket: the path '/sss") !=
	    NULL && strstr(r.err, "is 120 bytes long; the system allows at "
	    "most 107 for a socket") != NULL, "exit %d: %s", r.status, r.err);
	harness_run_free(&r);
	harness_write(harness.config, config);
	harness_run(&r, daemon, "--config", harness.config, "--socket", socket,
	    NULL);
	cr_assert(r.status == 1 && strstr(r.err, "--socket: the path") !=
	    NULL, "exit %d: %s", r.status, r.err);
	harness_run_free(&r);
	cr_assert(access(harness.socket, F_OK) == -1);
	free(socket);
	free(config);
	free(daemon);
}

/* Return the repository's file at path, or fail the test if it is empty. */
static char *
read_repository_file(const char *path)
{
	char	*full, *text;

	xasprintf(&full, "%s/%s", harness.root, path);
	text = harness_read(full);
	cr_assert(text[0] != '\0', "cannot read %s", full);
	free(full);
	return text;
}

/*
 * The README's profiled section shows the synopsis --help prints and a
 * row per key of the table; etc/profiled.conf has a line per key, and
 * shows the default of each key whose default is one plain value.
 */
Test(config, readme_and_example_config_follow_the_table)
{
	const struct config_key	*k;
	char			*readme, *example, *help, *want, *flag;

	readme = read_repository_file("README.md");
	example = read_repository_file("etc/profiled.conf");
	help = profiled_help("--help");
	*strstr(help, "\n\n") = '\0';
	xasprintf(&want, "## profiled\n\n```\n%s\n```\n", help);
	cr_assert(strstr(readme, want) != NULL, "README.md's profiled "
	    "section does not start with the synopsis:\n%s", help);
	free(want);

	for (k = config_keys; k->name != NULL; k++) {
		flag = config_flag(k);
		xasprintf(&want, "\n| `%s` | `--%s %s` | %s | %s |\n", k->name,
		    flag, k->value_name, k->description, k->default_text);
		cr_assert(strstr(readme, want) != NULL, "README.md lacks the "
		    "row%s", want);
		free(want);
		free(flag);

		if (strpbrk(k->default_text, "$ ") != NULL ||
		    strcmp(k->default_text, "none") == 0)
			xasprintf(&want, "\n#%s = ", k->name);
		else {
			xasprintf(&want, "\n#%s = %s\n", k->name,
			    k->default_text);
		}
		cr_assert(strstr(example, want) != NULL, "etc/profiled.conf "
		    "lacks \"%s\"", want + 1);
		free(want);
	}
	free(help);
	free(example);
	free(readme);
}
