/*
 * Shell completion for profilectl.  The bash one is driven as bash drives
 * it (`complete -p` registers it, the function fills COMPREPLY for the
 * words typed): commands, every option of each command, and generation
 * numbers asked of the daemon on the socket typed.  Commands and options
 * come from `profilectl --json help`, so a command added to profilectl
 * and not to the completions fails here; the zsh and fish files, which
 * need their shells to run, are held to the same list as text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(client_completion, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/*
 * Source completions/profilectl.bash in bash, print what `complete -p
 * profilectl` says, then complete the words (profilectl's path first, the
 * word being completed last) and print COMPREPLY, one a line.
 */
static const char bash_driver[] =
    "source \"$1\" || exit\n"
    "complete -p profilectl || exit\n"
    "shift\n"
    "COMP_WORDS=(\"$@\")\n"
    "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
    "COMPREPLY=()\n"
    "_profilectl\n"
    "for word in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$word\"; done\n";

/*
 * What bash completes for profilectl followed by the words (at most 5,
 * NULL-terminated), the last being the word under the cursor: the
 * candidates, one a line, sorted as bash leaves them.
 */
static char *
complete_bash(const char *w1, const char *w2, const char *w3,
    const char *w4, const char *w5)
{
	struct run	 r;
	char		*file, *ctl, *line, *candidates;

	xasprintf(&file, "%s/completions/profilectl.bash", harness.root);
	xasprintf(&ctl, "%s/client/profilectl", harness.root);
	harness_run(&r, "bash", "--norc", "--noprofile", "-c", bash_driver,
	    "bash", file, ctl, w1, w2, w3, w4, w5, NULL);
	cr_assert_eq(r.status, 0, "bash completion exited %d: %s", r.status,
	    r.err);
	line = strchr(r.out, '\n');
	cr_assert_not_null(line, "no output: %s", r.err);
	*line = '\0';
	cr_assert_str_eq(r.out, "complete -F _profilectl profilectl",
	    "complete -p profilectl says: %s", r.out);
	candidates = xstrdup(line + 1);
	harness_run_free(&r);
	free(ctl);
	free(file);
	return candidates;
}

/* candidates (one a line) has word as a line of its own. */
static int
has_line(const char *candidates, const char *word)
{
	const char	*p = candidates;
	size_t		 len = strlen(word);

	for (; (p = strstr(p, word)) != NULL; p++) {
		if ((p == candidates || p[-1] == '\n') && p[len] == '\n')
			return 1;
	}
	return 0;
}

/* profilectl's commands, from its own --json help. */
static struct json *
commands(void)
{
	return harness_ctl_json("help", NULL);
}

Test(client_completion, bash_completes_commands)
{
	struct json	*help = commands();
	char		*got;
	size_t		 i, lines = 0;

	got = complete_bash("", NULL, NULL, NULL, NULL);
	for (i = 0; i < help->count; i++) {
		cr_assert(has_line(got, harness_string(help->items[i], "name")),
		    "bash does not complete command %s: %s",
		    harness_string(help->items[i], "name"), got);
	}
	for (i = 0; got[i] != '\0'; i++)
		lines += got[i] == '\n';
	cr_assert_eq(lines, help->count, "bash completes more: %s", got);
	free(got);

	got = complete_bash("st", NULL, NULL, NULL, NULL);
	cr_assert_str_eq(got, "status\n");
	free(got);
	got = complete_bash("--", NULL, NULL, NULL, NULL);
	cr_assert(has_line(got, "--socket") && has_line(got, "--json") &&
	    has_line(got, "--version") && has_line(got, "--help"), "%s", got);
	free(got);
	json_free(help);
}

Test(client_completion, bash_completes_each_commands_options)
{
	const struct json	*options, *command;
	struct json		*help = commands();
	const char		*name;
	char			*got, *want;
	size_t			 i, j;

	for (i = 0; i < help->count; i++) {
		command = help->items[i];
		name = harness_string(command, "name");
		got = complete_bash(name, "--", NULL, NULL, NULL);
		options = json_get(command, "options");
		for (j = 0; j < options->count; j++) {
			xasprintf(&want, "--%s",
			    harness_string(options->items[j], "name"));
			cr_assert(has_line(got, want), "bash does not complete "
			    "%s %s: %s", name, want, got);
			free(want);
		}
		free(got);
	}
	json_free(help);
}

Test(client_completion, bash_completes_generation_numbers)
{
	char	*got;

	harness_start();
	harness_wait_generation(1);
	harness_save_packages("hello cowsay");
	json_free(harness_wait_generation(2));

	got = complete_bash("--socket", harness.socket, "switch", "--to", "");
	cr_assert_str_eq(got, "1\n2\n", "switch --to completes: %s", got);
	free(got);
	got = complete_bash("--socket", harness.socket, "log", "2", NULL);
	cr_assert_str_eq(got, "2\n", "log 2 completes: %s", got);
	free(got);

	/* No daemon there: nothing to offer, and no noise. */
	got = complete_bash("--socket", "/nowhere", "switch", "--to", "");
	cr_assert_str_eq(got, "", "%s", got);
	free(got);
}

/* The zsh and fish files name every command and option profilectl has. */
Test(client_completion, zsh_and_fish_name_every_command_and_option)
{
	static const char	*files[] = { "_profilectl", "profilectl.fish" };
	const struct json	*options;
	struct json		*help = commands();
	const char		*name;
	char			*path, *text, *want;
	size_t			 f, i, j;

	for (f = 0; f < 2; f++) {
		xasprintf(&path, "%s/completions/%s", harness.root, files[f]);
		text = harness_read(path);
		for (i = 0; i < help->count; i++) {
			name = harness_string(help->items[i], "name");
			cr_assert(strstr(text, name) != NULL, "%s lacks %s",
			    files[f], name);
			options = json_get(help->items[i], "options");
			for (j = 0; j < options->count; j++) {
				/* zsh spells them --name, fish -l name. */
				xasprintf(&want, f == 0 ? "--%s" : "-l %s",
				    harness_string(options->items[j], "name"));
				cr_assert(strstr(text, want) != NULL,
				    "%s lacks %s's %s", files[f], name, want);
				free(want);
			}
		}
		free(text);
		free(path);
	}
	json_free(help);
}
