/*
 * The README teaches by example, so its examples must work: each
 * profilectl and profiled command line it shows names only commands and
 * options the programs have (a command not built yet fails here), each
 * Nix block parses, and each profiled.conf example is read by profiled's
 * own config reader.  The command tables come from the programs
 * themselves (`profilectl --json help`, the config key table), so the
 * README cannot drift from them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TestSuite(readme, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

/* A code block of the README: its info string ("nix", "") and text. */
struct readme_block {
	char	*info;
	char	*text;
	int	 line;		/* the line of its opening fence */
};

/* The README's text. */
static char *
readme_read(void)
{
	char	*path, *text;

	xasprintf(&path, "%s/README.md", harness.root);
	text = harness_read(path);
	cr_assert(text[0] != '\0', "cannot read %s", path);
	free(path);
	return text;
}

/*
 * The README's fenced code blocks, in order, into *blocks; and its prose
 * (everything outside them, lines joined by spaces) into *prose.
 */
static size_t
readme_split(const char *readme, struct readme_block **blocks, char **prose)
{
	const char	*line = readme, *end;
	struct readme_block *b = NULL;
	size_t		 n = 0, used = 0, size = strlen(readme) + 2;
	char		*text = NULL, *next;
	int		 number = 0;

	*blocks = NULL;
	*prose = xcalloc(1, size);
	for (; *line != '\0'; line = *end == '\0' ? end : end + 1) {
		number++;
		end = line + strcspn(line, "\n");
		if (strncmp(line, "```", 3) == 0) {
			if (b == NULL) {
				*blocks = xreallocarray(*blocks, n + 1,
				    sizeof **blocks);
				b = &(*blocks)[n++];
				b->info = xstrndup(line + 3, end - line - 3);
				b->line = number;
				text = xstrdup("");
			} else {
				b->text = text;
				b = NULL;
			}
			continue;
		}
		if (b != NULL) {
			xasprintf(&next, "%s%.*s\n", text, (int)(end - line),
			    line);
			free(text);
			text = next;
		} else {
			memcpy(*prose + used, line, end - line);
			used += end - line;
			(*prose)[used++] = ' ';
		}
	}
	cr_assert_null(b, "README.md's block at line %d does not end",
	    b != NULL ? b->line : 0);
	return n;
}

static void
readme_blocks_free(struct readme_block *blocks, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(blocks[i].info);
		free(blocks[i].text);
	}
	free(blocks);
}

/* The options a program takes: names ("json") and letters. */
struct readme_options {
	char	*names[64];
	char	*values[64];	/* NULL for an option without a value */
	char	 letters[64];
	size_t	 count;
};

static void
readme_options_add(struct readme_options *o, const char *name, char letter,
    const char *value)
{
	cr_assert(o->count < 64);
	o->names[o->count] = xstrdup(name);
	o->values[o->count] = value != NULL ? xstrdup(value) : NULL;
	o->letters[o->count] = letter;
	o->count++;
}

static void
readme_options_free(struct readme_options *o)
{
	size_t	i;

	for (i = 0; i < o->count; i++) {
		free(o->names[i]);
		free(o->values[i]);
	}
	o->count = 0;
}

/* The index of option "--name" or "-l" in o, or -1. */
static int
readme_option_find(const struct readme_options *o, const char *token)
{
	size_t	i, len;

	if (token[1] != '-') {
		for (i = 0; i < o->count; i++)
			if (token[2] == '\0' && o->letters[i] == token[1])
				return i;
		return -1;
	}
	len = strcspn(token + 2, "=");
	for (i = 0; i < o->count; i++) {
		if (strlen(o->names[i]) == len &&
		    strncmp(o->names[i], token + 2, len) == 0)
			return i;
	}
	return -1;
}

/* The options of profilectl command name (NULL: none), or NULL. */
static const struct json *
readme_command(const struct json *help, const char *name, size_t len)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < help->count; i++) {
		s = harness_string(help->items[i], "name");
		if (strlen(s) == len && strncmp(s, name, len) == 0)
			return help->items[i];
	}
	return NULL;
}

/* The options of one profilectl command (with the common ones) into o. */
static void
readme_command_options(const struct json *command, struct readme_options *o)
{
	const struct json	*options, *letter, *value;
	size_t			 i;

	options = json_get(command, "options");
	for (i = 0; i < options->count; i++) {
		letter = json_get(options->items[i], "letter");
		value = json_get(options->items[i], "value");
		readme_options_add(o, harness_string(options->items[i], "name"),
		    letter->type == JSON_STRING ? letter->string[0] : 0,
		    value->type == JSON_STRING ? value->string : NULL);
	}
}

/*
 * Check one command line, from "profilectl " or "profiled " on, against
 * the program's options; where says where it is.  Returns the words
 * checked, for the test to know it looked at something.
 */
static size_t
readme_check_line(const char *line, const struct json *help,
    const struct readme_options *global, const char *where)
{
	struct readme_options	 options;
	const struct json	*command = NULL;
	char			*copy, *token, *last, *s;
	int			 i, skip = 0, program_is_ctl;
	size_t			 checked = 0;

	memset(&options, 0, sizeof options);
	copy = xstrdup(line);
	program_is_ctl = strncmp(copy, "profilectl ", 11) == 0;
	token = strtok_r(copy, " \t", &last);	/* the program */
	while ((token = strtok_r(NULL, " \t", &last)) != NULL) {
		/* A synopsis's brackets and a line's end. */
		while (*token == '[' || *token == '(')
			token++;
		for (s = token + strlen(token); s > token &&
		    strchr("])`,;.:", s[-1]) != NULL; s--)
			s[-1] = '\0';
		if (*token == '\0')
			continue;
		if (*token == '#' || strchr("|<>&", *token) != NULL ||
		    strncmp(token, "2>", 2) == 0 || strcmp(token, "…") == 0)
			break;
		if (skip) {
			skip = 0;
			continue;
		}
		if (token[0] == '-' && token[1] != '\0') {
			checked++;
			if ((i = readme_option_find(global, token)) != -1)
				skip = global->values[i] != NULL &&
				    strchr(token, '=') == NULL;
			else if ((i = readme_option_find(&options, token)) !=
			    -1)
				skip = options.values[i] != NULL &&
				    strchr(token, '=') == NULL;
			else {
				cr_assert_fail("%s: %s has no option %s%s%s (in "
				    "\"%s\")", where, program_is_ctl ?
				    "profilectl" : "profiled", token,
				    command != NULL ? " for " : "",
				    command != NULL ? harness_string(command,
				    "name") : "", line);
			}
			continue;
		}
		if (!program_is_ctl || command != NULL)
			continue;	/* an argument */
		/* The command; COMMAND stands for any. */
		checked++;
		if (isupper((unsigned char)*token)) {
			command = help;	/* any: only common options */
			continue;
		}
		command = readme_command(help, token, strlen(token));
		cr_assert_not_null(command, "%s: profilectl has no command "
		    "'%s' (in \"%s\")", where, token, line);
		readme_command_options(command, &options);
	}
	readme_options_free(&options);
	free(copy);
	return checked;
}

/*
 * Every profilectl and profiled command line the README shows, in its
 * code blocks (from the start of a line, after "$ ") and in its inline
 * code (`profilectl switch --to 4`).
 */
Test(readme, every_command_and_option_shown_exists)
{
	struct readme_options	 ctl, daemon;
	struct readme_block	*blocks;
	const struct config_key	*k;
	struct json		*help;
	char			*readme, *prose, *flag, *span, *at, *end;
	char			*line, *last, *where;
	size_t			 n, i, checked = 0;
	int			 ctl_switch = 0;

	memset(&ctl, 0, sizeof ctl);
	memset(&daemon, 0, sizeof daemon);
	help = harness_ctl_json("help", NULL);
	/* profilectl's own options, before the command. */
	readme_options_add(&ctl, "socket", 0, "PATH");
	readme_options_add(&ctl, "json", 0, NULL);
	readme_options_add(&ctl, "version", 'V', NULL);
	readme_options_add(&ctl, "help", 'h', NULL);
	for (k = config_keys; k->name != NULL; k++) {
		flag = config_flag(k);
		readme_options_add(&daemon, flag, 0, k->value_name);
		free(flag);
	}
	readme_options_add(&daemon, "config", 'c', "FILE");
	readme_options_add(&daemon, "verbose", 'v', NULL);
	readme_options_add(&daemon, "version", 'V', NULL);
	readme_options_add(&daemon, "help", 'h', NULL);

	readme = readme_read();
	n = readme_split(readme, &blocks, &prose);
	for (i = 0; i < n; i++) {
		for (line = strtok_r(blocks[i].text, "\n", &last);
		    line != NULL; line = strtok_r(NULL, "\n", &last)) {
			if (strncmp(line, "$ ", 2) == 0)
				line += 2;
			xasprintf(&where, "README.md's block at line %d",
			    blocks[i].line);
			if (strncmp(line, "profilectl ", 11) == 0)
				checked += readme_check_line(line, help, &ctl,
				    where);
			else if (strncmp(line, "profiled ", 9) == 0)
				checked += readme_check_line(line, help,
				    &daemon, where);
			free(where);
		}
	}
	/* Inline code: `...` spans of the prose. */
	for (at = prose; (at = strchr(at, '`')) != NULL; at = end + 1) {
		if ((end = strchr(at + 1, '`')) == NULL)
			break;
		span = xstrndup(at + 1, end - at - 1);
		if (strncmp(span, "profilectl ", 11) == 0) {
			checked += readme_check_line(span, help, &ctl,
			    "README.md");
			ctl_switch |= strstr(span, " switch") != NULL;
		} else if (strncmp(span, "profiled ", 9) == 0)
			checked += readme_check_line(span, help, &daemon,
			    "README.md");
		free(span);
	}
	/* It looked: the README shows many, `profilectl switch` among them. */
	cr_assert_gt(checked, 50, "only %zu words checked", checked);
	cr_assert(ctl_switch, "no `profilectl switch` found in the prose");

	readme_options_free(&ctl);
	readme_options_free(&daemon);
	readme_blocks_free(blocks, n);
	json_free(help);
	free(prose);
	free(readme);
}

/* Each ```nix block parses as Nix (`nix-instantiate --parse`). */
Test(readme, nix_blocks_parse)
{
	struct readme_block	*blocks;
	struct run		 r;
	char			*readme, *prose, *path;
	size_t			 n, i, parsed = 0;

	readme = readme_read();
	n = readme_split(readme, &blocks, &prose);
	xasprintf(&path, "%s/block.nix", harness.dir);
	for (i = 0; i < n; i++) {
		if (strcmp(blocks[i].info, "nix") != 0)
			continue;
		harness_write(path, blocks[i].text);
		harness_run(&r, "nix-instantiate", "--parse", path, NULL);
		cr_assert_eq(r.status, 0, "README.md's Nix block at line %d "
		    "does not parse:\n%s%s", blocks[i].line, blocks[i].text,
		    r.err);
		harness_run_free(&r);
		parsed++;
	}
	cr_assert_geq(parsed, 4, "only %zu Nix blocks in README.md", parsed);
	free(path);
	readme_blocks_free(blocks, n);
	free(prose);
	free(readme);
}

/*
 * Each block that is a profiled.conf (it says so on its first line) is
 * read by profiled's own reader without an error.
 */
Test(readme, config_examples_are_read)
{
	struct readme_block	*blocks;
	struct config		 cfg;
	char			*readme, *prose, *path, *cause;
	size_t			 n, i, read = 0;

	readme = readme_read();
	n = readme_split(readme, &blocks, &prose);
	xasprintf(&path, "%s/example.conf", harness.dir);
	for (i = 0; i < n; i++) {
		if (strncmp(blocks[i].text, "# ~/.config/profiled/profiled.conf",
		    34) != 0)
			continue;
		harness_write(path, blocks[i].text);
		memset(&cfg, 0, sizeof cfg);
		cause = NULL;
		cr_assert_eq(config_init(&cfg, &cause), 0, "%s", cause);
		cr_assert_eq(config_read(&cfg, path, 0, &cause), 0,
		    "README.md's profiled.conf at line %d: %s",
		    blocks[i].line, cause);
		config_free(&cfg);
		read++;
	}
	cr_assert_geq(read, 1, "no profiled.conf example in README.md");
	free(path);
	readme_blocks_free(blocks, n);
	free(prose);
	free(readme);
}
