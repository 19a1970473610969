/*
 * Shell completion for profilectl, driven as each shell drives it: bash
 * (`complete -p` registers it, the function fills COMPREPLY for the words
 * typed), fish (`complete -C`), zsh (TAB in a pseudo-terminal).  Each
 * completes the commands, their options and generation numbers asked of
 * the daemon on the socket typed.  What is expected comes from
 * `profilectl --json help`, the table the completions read too.
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

/*
 * Complete line in fish (completions/profilectl.fish sourced, profilectl
 * on PATH): the candidates, one a line, each maybe with a tab and what it
 * is.
 */
static char *
complete_fish(const char *line)
{
	struct run	 r;
	char		*file, *path, *candidates;

	xasprintf(&file, "%s/completions/profilectl.fish", harness.root);
	xasprintf(&path, "%s/client:%s", harness.root, getenv("PATH"));
	setenv("PATH", path, 1);
	harness_run(&r, "fish", "--no-config", "-c",
	    "source $argv[1]; and complete -C$argv[2]", file, line, NULL);
	cr_assert_eq(r.status, 0, "fish exited %d: %s", r.status, r.err);
	cr_assert_str_empty(r.err, "fish said: %s", r.err);
	candidates = r.out;
	free(r.err);
	free(path);
	free(file);
	return candidates;
}

/* candidates (fish's) has word, alone or before a tab, as a line. */
static int
has_candidate(const char *candidates, const char *word)
{
	const char	*p = candidates;
	size_t		 len = strlen(word);

	for (; (p = strstr(p, word)) != NULL; p++) {
		if ((p == candidates || p[-1] == '\n') &&
		    (p[len] == '\n' || p[len] == '\t'))
			return 1;
	}
	return 0;
}

Test(client_completion, fish_completes_commands_options_generations)
{
	const struct json	*options;
	struct json		*help = commands();
	const char		*name;
	char			*got, *line, *want;
	size_t			 i, j;

	harness_start();
	harness_wait_generation(1);

	got = complete_fish("profilectl ");
	for (i = 0; i < help->count; i++) {
		name = harness_string(help->items[i], "name");
		cr_assert(has_candidate(got, name), "fish does not complete "
		    "command %s: %s", name, got);
	}
	free(got);
	for (i = 0; i < help->count; i++) {
		name = harness_string(help->items[i], "name");
		xasprintf(&line, "profilectl %s --", name);
		got = complete_fish(line);
		options = json_get(help->items[i], "options");
		for (j = 0; j < options->count; j++) {
			xasprintf(&want, "--%s",
			    harness_string(options->items[j], "name"));
			cr_assert(has_candidate(got, want), "fish does not "
			    "complete %s %s: %s", name, want, got);
			free(want);
		}
		free(got);
		free(line);
	}
	xasprintf(&line, "profilectl --socket %s switch --to ",
	    harness.socket);
	got = complete_fish(line);
	cr_assert_str_eq(got, "1\n", "fish completes %s with: %s", line, got);
	free(got);
	free(line);
	json_free(help);
}

/*
 * Drive zsh's completion as a person would, in a pseudo-terminal (zpty):
 * $1 is the completions directory, $2 profilectl's, $3 the line typed
 * before TAB, $4 what must then appear on the terminal; it waits for
 * that, and the harness's deadline ends it if it never comes.
 */
static const char zsh_driver[] =
    "zmodload zsh/zpty || exit 2\n"
    "zpty z zsh -f -i\n"
    "zpty -w z \"PROMPT='READY> '; fpath=(${(q)1} \\$fpath); "
    "path=(${(q)2} \\$path); autoload -U compinit; compinit -u -D\"\n"
    "zpty -r z out '*READY> ' || exit 3\n"
    "zpty -w -n z \"$3\"$'\\t'\n"
    "zpty -r z out \"*${4}*\" || exit 4\n"
    "print -r -- completed\n"
    "zpty -d z\n";

/* zsh completes line (typed, then TAB) with want. */
static void
assert_zsh_completes(const char *line, const char *want)
{
	struct run	 r;
	char		*dir, *bin;

	xasprintf(&dir, "%s/completions", harness.root);
	xasprintf(&bin, "%s/client", harness.root);
	harness_run(&r, "zsh", "-f", "-c", zsh_driver, "zsh", dir, bin, line,
	    want, NULL);
	cr_assert(r.status == 0 && strcmp(r.out, "completed\n") == 0,
	    "zsh did not complete \"%s\" with \"%s\" (exit %d): %s%s", line,
	    want, r.status, r.out, r.err);
	harness_run_free(&r);
	free(bin);
	free(dir);
}

Test(client_completion, zsh_completes_commands_options_generations)
{
	char	*line;

	harness_start();
	harness_wait_generation(1);
	assert_zsh_completes("profilectl stat", "status");
	assert_zsh_completes("profilectl switch --pro", "--progress");
	assert_zsh_completes("profilectl log --fol", "--follow");
	xasprintf(&line, "profilectl --socket %s switch --to ", harness.socket);
	assert_zsh_completes(line, "--to 1");
	free(line);
}
