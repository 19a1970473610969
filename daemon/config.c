/*
 * Settings for profiled and profilectl: defaults from the XDG environment,
 * then the `key = value` config file, then command-line flags.  Both
 * binaries link this file (profilectl needs it to find the socket), so it
 * uses nothing of the daemon's but log.c and xmalloc.c.  config_set is the
 * one place a key is checked and stored, so a value means the same thing
 * in the file and on the command line, and config_keys is the one list of
 * keys, from which profiled also makes its flags and its --help.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "profiled.h"

#define CONFIG_DEBOUNCE_MAX	60000
#define CONFIG_COUNT_MAX	1000000
/* A week: longer than any build, short enough that seconds fit an int. */
#define CONFIG_DURATION_MAX	(7 * 24 * 3600)
#define CONFIG_SPACE		" \t\n\r\v\f"
/*
 * The most of a user's text an error quotes: a line of a megabyte (a
 * binary file given as the config) must not become a megabyte of log.
 */
#define CONFIG_QUOTE_MAX	40

/*
 * config_set reads a key by its type into its field; profiled turns each
 * entry into a flag and its lines of --help, and the end-to-end tests hold
 * the README's table and etc/profiled.conf to it.  A live key is read by
 * the daemon each time it is needed, so a reload (SIGHUP) changes it at
 * once; the others name things profiled opened at start, and change with a
 * restart.
 */
const struct config_key config_keys[] = {
	{ "package_file", CONFIG_PATH,
	    offsetof(struct config, package_file), 0,
	    "FILE", "$XDG_CONFIG_HOME/profiled/packages.nix",
	    "the Nix file that lists the packages" },
	{ "profile", CONFIG_PATH, offsetof(struct config, profile), 0,
	    "PATH", "as nix-env picks it: ~/.nix-profile's target, else "
	    "$XDG_STATE_HOME/nix/profiles/profile if that directory "
	    "exists, else /nix/var/nix/profiles/per-user/$USER/profile",
	    "the Nix profile kept equal to the package file" },
	{ "state_dir", CONFIG_PATH, offsetof(struct config, state_dir), 0,
	    "DIR", "$XDG_STATE_HOME/profiled",
	    "the history (SQLite), build logs and lock" },
	{ "socket", CONFIG_PATH, offsetof(struct config, socket_path), 0,
	    "PATH", "$XDG_RUNTIME_DIR/profiled.sock",
	    "the control socket profilectl talks to" },
	{ "debounce_ms", CONFIG_MILLISECONDS,
	    offsetof(struct config, debounce_ms), 1,
	    "N", "200",
	    "milliseconds to wait after a write to build" },
	{ "auto_switch", CONFIG_BOOLEAN,
	    offsetof(struct config, auto_switch), 1,
	    "BOOL", "true",
	    "switch to a save's build (false: build only)" },
	{ "notify", CONFIG_BOOLEAN, offsetof(struct config, notify), 1,
	    "BOOL", "true",
	    "desktop notifications of switches and failures" },
	{ "nix_flags", CONFIG_WORDS, offsetof(struct config, nix_flags), 1,
	    "FLAGS", "none",
	    "extra flags for Nix, split as a shell would" },
	{ "build_timeout", CONFIG_DURATION,
	    offsetof(struct config, build_timeout), 1,
	    "DURATION", "1h",
	    "fail a build that runs longer (s, m, h; 0: none)" },
	{ "nix_path", CONFIG_STRING, offsetof(struct config, nix_path), 0,
	    "PATH", "none",
	    "Nix's search path for <nixpkgs> (none: the environment's "
	    "NIX_PATH, else the Nix installer's)" },
	{ "keep_generations", CONFIG_COUNT,
	    offsetof(struct config, keep_generations), 1,
	    "N", "50",
	    "keep the newest N generations (0: keep every one)" },
	{ "keep_days", CONFIG_COUNT, offsetof(struct config, keep_days), 1,
	    "N", "30",
	    "and keep those younger than N days" },
	{ NULL, 0, 0, 0, NULL, NULL, NULL }
};

/* Return a new copy of $HOME, or the passwd entry's directory, or NULL. */
static char *
config_home(void)
{
	const char	*home;
	struct passwd	*pw;

	if ((home = getenv("HOME")) != NULL && *home != '\0')
		return xstrdup(home);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir != '\0')
		return xstrdup(pw->pw_dir);
	return NULL;
}

/* Return a new copy of $USER, or the passwd entry's name, or the user ID. */
static char *
config_user(void)
{
	const char	*user;
	struct passwd	*pw;
	char		*s;

	if ((user = getenv("USER")) != NULL && *user != '\0')
		return xstrdup(user);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_name != NULL &&
	    *pw->pw_name != '\0')
		return xstrdup(pw->pw_name);
	xasprintf(&s, "%u", (unsigned)getuid());
	return s;
}

/* Return a new "dir/name", without doubling a slash dir ends with. */
static char *
config_join(const char *dir, const char *name)
{
	char	*s;
	size_t	 len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (len == 1 && dir[0] == '/')
		len = 0;
	xasprintf(&s, "%.*s/%s", (int)len, dir, name);
	return s;
}

/*
 * Return text as an error quotes it, a new string: whole if short, else
 * its first CONFIG_QUOTE_MAX bytes and "...".
 */
static char *
config_quote(const char *text)
{
	char	*s;

	if (strlen(text) <= CONFIG_QUOTE_MAX)
		return xstrdup(text);
	xasprintf(&s, "%.*s...", CONFIG_QUOTE_MAX, text);
	return s;
}

/*
 * Return a new copy of the XDG variable if it holds an absolute path (the
 * spec says to ignore anything else), or else of home/fallback.
 */
static char *
config_xdg_dir(const char *variable, const char *home, const char *fallback)
{
	const char	*value;

	if ((value = getenv(variable)) != NULL && *value == '/')
		return xstrdup(value);
	return config_join(home, fallback);
}

/*
 * Return the default profile as nix-env picks it, a new string: the target
 * of ~/.nix-profile if that link exists, else Nix's default for the user.
 */
static char *
config_default_profile(const char *home, const char *state_home)
{
	struct stat	 sb;
	char		*profiles, *profile, *user, *link, target[PATH_MAX];
	ssize_t		 n;

	link = config_join(home, ".nix-profile");
	n = readlink(link, target, sizeof target - 1);
	free(link);
	if (n > 0) {
		target[n] = '\0';
		if (target[0] == '/')
			return xstrdup(target);
		return config_join(home, target);
	}
	profiles = config_join(state_home, "nix/profiles");
	if (stat(profiles, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		profile = config_join(profiles, "profile");
		free(profiles);
		return profile;
	}
	free(profiles);
	user = config_user();
	xasprintf(&profile, "/nix/var/nix/profiles/per-user/%s/profile", user);
	free(user);
	return profile;
}

/* Fill cfg with the defaults; -1 only when there is no home directory. */
int
config_init(struct config *cfg, char **cause)
{
	const char	*runtime;
	char		*home, *xdg_config, *xdg_state;

	memset(cfg, 0, sizeof *cfg);
	if ((home = config_home()) == NULL) {
		xasprintf(cause, "cannot find the home directory: HOME is not "
		    "set and user %u has no passwd entry", (unsigned)getuid());
		return -1;
	}
	xdg_config = config_xdg_dir("XDG_CONFIG_HOME", home, ".config");
	xdg_state = config_xdg_dir("XDG_STATE_HOME", home, ".local/state");

	cfg->package_file = config_join(xdg_config, "profiled/packages.nix");
	cfg->state_dir = config_join(xdg_state, "profiled");
	if ((runtime = getenv("XDG_RUNTIME_DIR")) != NULL && *runtime == '/')
		cfg->socket_path = config_join(runtime, "profiled.sock");
	else {
		xasprintf(&cfg->socket_path, "/tmp/profiled-%u/profiled.sock",
		    (unsigned)getuid());
	}
	cfg->profile = config_default_profile(home, xdg_state);
	cfg->default_profile = xstrdup(cfg->profile);
	cfg->debounce_ms = 200;
	cfg->auto_switch = 1;
	cfg->keep_generations = 50;
	cfg->keep_days = 30;
	cfg->build_timeout = 3600;
	cfg->notify = 1;
	cfg->nix_flags = xcalloc(1, sizeof *cfg->nix_flags);

	free(xdg_state);
	free(xdg_config);
	free(home);
	return 0;
}

/* Return the default config file as a new string, NULL without a home. */
char *
config_default_file(void)
{
	char	*home, *xdg_config, *file;

	if ((home = config_home()) == NULL)
		return NULL;
	xdg_config = config_xdg_dir("XDG_CONFIG_HOME", home, ".config");
	file = config_join(xdg_config, "profiled/profiled.conf");
	free(xdg_config);
	free(home);
	return file;
}

/*
 * Turn value into a new absolute path in *path: "~" and "~/" mean $HOME,
 * and a relative path is taken from base, or the current directory if
 * base is NULL.  The cause names the key.
 */
static int
config_path(const char *key, const char *value, const char *base,
    char **path, char **cause)
{
	char	*home, *cwd, *quoted;

	if (*value == '\0') {
		xasprintf(cause, "%s: the path is empty", key);
		return -1;
	}
	if (*value == '/') {
		*path = xstrdup(value);
		return 0;
	}
	if (value[0] == '~' && (value[1] == '\0' || value[1] == '/')) {
		if ((home = config_home()) == NULL) {
			quoted = config_quote(value);
			xasprintf(cause, "%s: cannot expand '%s': no home "
			    "directory", key, quoted);
			free(quoted);
			return -1;
		}
		*path = value[1] == '\0' ? xstrdup(home) :
		    config_join(home, value + 2);
		free(home);
		return 0;
	}
	if (base != NULL) {
		*path = config_join(base, value);
		return 0;
	}
	if ((cwd = getcwd(NULL, 0)) == NULL) {
		xasprintf(cause, "%s: cannot find the current directory: %s",
		    key, strerror(errno));
		return -1;
	}
	*path = config_join(cwd, value);
	free(cwd);
	return 0;
}

/* Parse a whole number from 0 to max. */
static int
config_number(const char *key, const char *value, long max, int *number,
    char **cause)
{
	const char	*p;
	char		*quoted;
	long		 n = 0;

	for (p = value; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > max)
			break;
	}
	if (p == value || *p != '\0' || n > max) {
		quoted = config_quote(value);
		xasprintf(cause, "%s: '%s' is not a whole number from 0 to %ld",
		    key, quoted, max);
		free(quoted);
		return -1;
	}
	*number = (int)n;
	return 0;
}

/*
 * Parse a duration in seconds: a whole number, optionally followed by s, m
 * or h, up to CONFIG_DURATION_MAX seconds; 0 means none.
 */
static int
config_duration(const char *key, const char *value, int *seconds,
    char **cause)
{
	const char	*p;
	char		*quoted;
	long		 n = 0, unit = 1;

	for (p = value; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > CONFIG_DURATION_MAX)
			break;
	}
	if (p != value && *p != '\0' && p[1] == '\0') {
		if (*p == 'm')
			unit = 60;
		else if (*p == 'h')
			unit = 3600;
		else if (*p != 's')
			unit = 0;
		p++;
	}
	if (p == value || *p != '\0' || unit == 0 ||
	    n * unit > CONFIG_DURATION_MAX) {
		quoted = config_quote(value);
		xasprintf(cause, "%s: '%s' is not a duration like 90, 90s, 30m "
		    "or 2h (at most %dh; 0 for none)", key, quoted,
		    CONFIG_DURATION_MAX / 3600);
		free(quoted);
		return -1;
	}
	*seconds = (int)(n * unit);
	return 0;
}

/* Parse true/false, yes/no, on/off or 1/0, in any case. */
static int
config_boolean(const char *key, const char *value, int *flag, char **cause)
{
	static const char	*yes[] = { "true", "yes", "on", "1" };
	static const char	*no[] = { "false", "no", "off", "0" };
	char			*quoted;
	size_t			 i;

	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*flag = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*flag = 0;
			return 0;
		}
	}
	quoted = config_quote(value);
	xasprintf(cause, "%s: '%s' is not true or false (or yes/no, on/off, "
	    "1/0)", key, quoted);
	free(quoted);
	return -1;
}

/* Fill *cause with the unknown key and the list of known ones. */
static void
config_unknown_key(const char *key, char **cause)
{
	const struct config_key	*k;
	char			*known, *next, *quoted;

	known = xstrdup(config_keys[0].name);
	for (k = config_keys + 1; k->name != NULL; k++) {
		xasprintf(&next, "%s, %s", known, k->name);
		free(known);
		known = next;
	}
	quoted = config_quote(key);
	xasprintf(cause, "unknown key '%s' (known keys: %s)", quoted, known);
	free(quoted);
	free(known);
}

/*
 * Whether *path fits where k's path goes: a socket's in sun_path, any
 * other within PATH_MAX.  Refused here, the error names the key at start,
 * rather than bind or open failing later with ENAMETOOLONG; on error
 * *path is freed.
 */
static int
config_path_fits(const struct config_key *k, const char *label, char **path,
    char **cause)
{
	size_t	max = PATH_MAX, len = strlen(*path);
	char	*quoted;

	if (k->offset == offsetof(struct config, socket_path))
		max = sizeof(((struct sockaddr_un *)NULL)->sun_path);
	if (len < max)
		return 0;
	quoted = config_quote(*path);
	xasprintf(cause, "%s: the path '%s' is %zu bytes long; the system "
	    "allows at most %zu%s", label, quoted, len, max - 1,
	    max == PATH_MAX ? "" : " for a socket");
	free(quoted);
	free(*path);
	*path = NULL;
	return -1;
}

/*
 * Check value for k and store it in cfg, with errors starting "label: "
 * (the key in a file, the flag on the command line); paths are made
 * absolute against base (NULL is the current directory).  On error cfg is
 * unchanged.
 */
static int
config_store(struct config *cfg, const struct config_key *k,
    const char *label, const char *value, const char *base, char **cause)
{
	char	**field, ***list, *path, **words, *error;

	switch (k->type) {
	case CONFIG_PATH:
		if (config_path(label, value, base, &path, cause) != 0 ||
		    config_path_fits(k, label, &path, cause) != 0)
			return -1;
		field = (char **)((char *)cfg + k->offset);
		free(*field);
		*field = path;
		return 0;
	case CONFIG_MILLISECONDS:
		return config_number(label, value, CONFIG_DEBOUNCE_MAX,
		    (int *)((char *)cfg + k->offset), cause);
	case CONFIG_COUNT:
		return config_number(label, value, CONFIG_COUNT_MAX,
		    (int *)((char *)cfg + k->offset), cause);
	case CONFIG_BOOLEAN:
		return config_boolean(label, value,
		    (int *)((char *)cfg + k->offset), cause);
	case CONFIG_DURATION:
		return config_duration(label, value,
		    (int *)((char *)cfg + k->offset), cause);
	case CONFIG_STRING:
		field = (char **)((char *)cfg + k->offset);
		free(*field);
		*field = *value != '\0' ? xstrdup(value) : NULL;
		return 0;
	case CONFIG_WORDS:
		if (config_split_words(value, &words, &error) != 0) {
			xasprintf(cause, "%s: %s", label, error);
			free(error);
			return -1;
		}
		list = (char ***)((char *)cfg + k->offset);
		config_free_words(*list);
		*list = words;
		return 0;
	}
	fatalx("config_store: bad type for %s", k->name);
}

/*
 * Check value for key and store it in cfg; paths are made absolute against
 * base (NULL is the current directory).  On error cfg is unchanged.
 */
int
config_set(struct config *cfg, const char *key, const char *value,
    const char *base, char **cause)
{
	const struct config_key	*k;

	for (k = config_keys; k->name != NULL; k++) {
		if (strcmp(k->name, key) == 0)
			return config_store(cfg, k, key, value, base, cause);
	}
	config_unknown_key(key, cause);
	return -1;
}

/*
 * Check the value given to k's flag and store it in cfg as config_set
 * would, but with paths taken from the current directory and errors naming
 * the flag the user typed.
 */
int
config_set_flag(struct config *cfg, const struct config_key *k,
    const char *value, char **cause)
{
	char	*flag, *label;
	int	 retval;

	flag = config_flag(k);
	xasprintf(&label, "--%s", flag);
	retval = config_store(cfg, k, label, value, NULL, cause);
	free(label);
	free(flag);
	return retval;
}

/*
 * Return k's flag as a new string, without its dashes: the key with '-'
 * for '_', as long options are spelt.
 */
char *
config_flag(const struct config_key *k)
{
	char	*flag, *p;

	flag = xstrdup(k->name);
	for (p = flag; *p != '\0'; p++) {
		if (*p == '_')
			*p = '-';
	}
	return flag;
}

/* Return s without the whitespace at either end, shortening it in place. */
static char *
config_trim(char *s)
{
	size_t	len;

	s += strspn(s, CONFIG_SPACE);
	len = strlen(s);
	while (len > 0 && strchr(CONFIG_SPACE, s[len - 1]) != NULL)
		s[--len] = '\0';
	return s;
}

/*
 * Split line (already trimmed, not blank or a comment) into key and value.
 * A value that is one double-quoted string, "like this", loses the quotes
 * so it can keep spaces at its ends; anything else is taken as written,
 * so nix_flags = "a b" c still reaches config_split_words whole.
 */
static int
config_parse_line(char *line, char **key, char **value)
{
	char	*equals, *v;
	size_t	 len;

	if ((equals = strchr(line, '=')) == NULL)
		return -1;
	*equals = '\0';
	*key = config_trim(line);
	if (**key == '\0')
		return -1;
	v = config_trim(equals + 1);
	len = strlen(v);
	if (len >= 2 && v[0] == '"' && strchr(v + 1, '"') == v + len - 1) {
		v[len - 1] = '\0';
		v++;
	}
	*value = v;
	return 0;
}

/* Return a new copy of the absolute directory holding path, or NULL. */
static char *
config_directory(const char *path, char **cause)
{
	const char	*slash;
	char		*dir, *absolute;

	if ((slash = strrchr(path, '/')) == NULL) {
		if ((absolute = getcwd(NULL, 0)) == NULL) {
			xasprintf(cause, "%s: cannot find the current "
			    "directory: %s", path, strerror(errno));
		}
		return absolute;
	}
	if (slash == path)
		return xstrdup("/");
	dir = xstrndup(path, slash - path);
	if (*dir == '/')
		return dir;
	if (config_path(path, dir, NULL, &absolute, cause) != 0)
		absolute = NULL;
	free(dir);
	return absolute;
}

/* Return key's index in config_keys, or -1 if it is not a key. */
static int
config_key_index(const char *key)
{
	int	i;

	for (i = 0; config_keys[i].name != NULL; i++) {
		if (strcmp(config_keys[i].name, key) == 0)
			return i;
	}
	return -1;
}

/*
 * Check one line of the config file (number, read as len bytes) and store
 * what it sets; seen[i] is the line that set config_keys[i], so a key set
 * twice is an error naming both lines, not a silent override.  The cause
 * has no "path:line: " yet.
 */
static int
config_read_line(struct config *cfg, char *line, size_t len,
    unsigned int number, unsigned int *seen, const char *base, char **cause)
{
	char	*s, *key, *value, *quoted;
	int	 i;

	if (memchr(line, '\0', len) != NULL) {
		*cause = xstrdup("a NUL byte (is this a text file?)");
		return -1;
	}
	s = config_trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	quoted = config_quote(s);
	if (config_parse_line(s, &key, &value) != 0) {
		xasprintf(cause, "expected 'key = value', not '%s'", quoted);
		free(quoted);
		return -1;
	}
	free(quoted);
	if ((i = config_key_index(key)) != -1 && seen[i] != 0) {
		xasprintf(cause, "%s is set twice, on line %u and on this "
		    "line", key, seen[i]);
		return -1;
	}
	if (config_set(cfg, key, value, base, cause) != 0)
		return -1;
	assert(i != -1);	/* config_set knows no other keys */
	seen[i] = number;
	return 0;
}

/*
 * Read the config file at path into cfg, through config_set, with every
 * error prefixed by "path:line: ".  A missing file is not an error when
 * missing_ok is set, and then cfg is untouched.  After an error, keys
 * from earlier lines may already be stored.
 */
int
config_read(struct config *cfg, const char *path, int missing_ok,
    char **cause)
{
	FILE		*f;
	char		*line = NULL, *base, *error;
	unsigned int	*seen;
	size_t		 size = 0, nkeys = 0;
	ssize_t		 len;
	unsigned int	 number = 0;
	int		 retval = -1;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && missing_ok)
			return 0;
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if ((base = config_directory(path, cause)) == NULL) {
		fclose(f);
		return -1;
	}
	free(cfg->file);
	cfg->file = xstrdup(path);
	while (config_keys[nkeys].name != NULL)
		nkeys++;
	seen = xcalloc(nkeys, sizeof *seen);

	while ((len = getline(&line, &size, f)) != -1) {
		number++;
		if (config_read_line(cfg, line, len, number, seen, base,
		    &error) != 0) {
			xasprintf(cause, "%s:%u: %s", path, number, error);
			free(error);
			goto out;
		}
	}
	if (ferror(f)) {
		xasprintf(cause, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	retval = 0;

out:
	free(seen);
	free(line);
	free(base);
	fclose(f);
	return retval;
}

/* Append word to *line, quoted so config_split_words reads it back. */
static void
config_append_word(char **line, const char *word)
{
	const char	*p;
	char		*quoted, *q, *next;

	if (*word != '\0' && strpbrk(word, CONFIG_SPACE "'\"\\") == NULL)
		quoted = xstrdup(word);
	else {
		q = quoted = xmalloc(2 * strlen(word) + 3);
		*q++ = '"';
		for (p = word; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				*q++ = '\\';
			*q++ = *p;
		}
		*q++ = '"';
		*q = '\0';
	}
	xasprintf(&next, "%s%s%s", *line, **line != '\0' ? " " : "", quoted);
	free(quoted);
	free(*line);
	*line = next;
}

/* Return k's value in cfg as a new string, as the file would spell it. */
static char *
config_format(const struct config *cfg, const struct config_key *k)
{
	const void	*field = (const char *)cfg + k->offset;
	char		*s, **word;
	int		 n;

	switch (k->type) {
	case CONFIG_PATH:
		return xstrdup(*(char *const *)field);
	case CONFIG_MILLISECONDS:
	case CONFIG_COUNT:
		xasprintf(&s, "%d", *(const int *)field);
		return s;
	case CONFIG_BOOLEAN:
		return xstrdup(*(const int *)field ? "true" : "false");
	case CONFIG_STRING:
		return xstrdup(*(char *const *)field != NULL ?
		    *(char *const *)field : "none");
	case CONFIG_DURATION:
		n = *(const int *)field;
		if (n != 0 && n % 3600 == 0)
			xasprintf(&s, "%dh", n / 3600);
		else if (n != 0 && n % 60 == 0)
			xasprintf(&s, "%dm", n / 60);
		else
			xasprintf(&s, "%ds", n);
		return s;
	case CONFIG_WORDS:
		s = xstrdup("");
		for (word = *(char **const *)field; *word != NULL; word++)
			config_append_word(&s, *word);
		return s;
	}
	fatalx("config_format: bad type for %s", k->name);
}

/* Whether k's field is a pointer (to a string or a word list). */
static int
config_is_pointer(const struct config_key *k)
{
	return k->type == CONFIG_PATH || k->type == CONFIG_STRING ||
	    k->type == CONFIG_WORDS;
}

/* Exchange k's value between a and b. */
static void
config_swap(struct config *a, struct config *b, const struct config_key *k)
{
	unsigned char	saved[sizeof(char *)];
	size_t		size = sizeof(int);

	if (config_is_pointer(k))
		size = sizeof(char *);
	assert(size <= sizeof saved);
	memcpy(saved, (char *)a + k->offset, size);
	memcpy((char *)a + k->offset, (char *)b + k->offset, size);
	memcpy((char *)b + k->offset, saved, size);
}

/*
 * Take k's value from fresh into cfg if k is live, logging the change, or
 * else say that it waits for a restart; fresh gets cfg's old value.
 * Return 1 if the value changed, else 0.
 */
static int
config_update_key(struct config *cfg, struct config *fresh,
    const struct config_key *k)
{
	char	*was, *now;
	int	 changed;

	was = config_format(cfg, k);
	now = config_format(fresh, k);
	changed = strcmp(was, now) != 0 && k->live;
	if (changed) {
		log_info("%s is now %s (was %s)", k->name, now, was);
		config_swap(cfg, fresh, k);
	} else if (strcmp(was, now) != 0) {
		log_warnx("%s stays %s until profiled restarts (the new "
		    "configuration says %s)", k->name, was, now);
	}
	free(now);
	free(was);
	return changed;
}

/*
 * Make cfg what fresh (the file and flags read anew) says for every live
 * key, logging each change, and log each other key whose new value waits
 * for a restart; fresh is used up.  Modules hold pointers into cfg, and a
 * running build holds the nix_flags it started with, so the strings and
 * lists cfg gives up are not freed but kept on cfg->retired until
 * config_free.
 */
void
config_update(struct config *cfg, struct config *fresh)
{
	const struct config_key	*k;
	struct config		*retired;
	int			 changed = 0, retire = 0;

	for (k = config_keys; k->name != NULL; k++) {
		if (!config_update_key(cfg, fresh, k))
			continue;
		changed = 1;
		if (config_is_pointer(k))
			retire = 1;
	}
	if (!changed)
		log_info("configuration reloaded: nothing to change");

	/* Nothing holds the name of the file read, so it is replaced. */
	free(cfg->file);
	cfg->file = fresh->file;
	fresh->file = NULL;
	if (!retire) {
		config_free(fresh);
		return;
	}
	retired = xmalloc(sizeof *retired);
	*retired = *fresh;
	retired->retired = cfg->retired;
	cfg->retired = retired;
}

/*
 * Free everything cfg holds, values earlier reloads retired too, and zero
 * it, so freeing twice is harmless.
 */
void
config_free(struct config *cfg)
{
	struct config	*retired, *next;

	for (retired = cfg->retired; retired != NULL; retired = next) {
		next = retired->retired;
		retired->retired = NULL;
		config_free(retired);
		free(retired);
	}
	free(cfg->file);
	free(cfg->package_file);
	free(cfg->profile);
	free(cfg->default_profile);
	free(cfg->nix_path);
	free(cfg->state_dir);
	free(cfg->socket_path);
	config_free_words(cfg->nix_flags);
	memset(cfg, 0, sizeof *cfg);
}

/* Append a copy of word to the NULL-terminated array *words of *count. */
static void
config_add_word(char ***words, size_t *count, const char *word)
{
	*words = xreallocarray(*words, *count + 2, sizeof **words);
	(*words)[(*count)++] = xstrdup(word);
	(*words)[*count] = NULL;
}

/*
 * Split s into words as a shell would, but with no expansion of any kind:
 * whitespace separates words, '...' is literal ('' is an empty word),
 * "..." allows \" and \\, and a backslash outside quotes escapes the next
 * character (at the very end it is kept, as sh does).  On success *words
 * is a new NULL-terminated array for config_free_words.
 */
int
config_split_words(const char *s, char ***words, char **cause)
{
	char		**list, *word;
	size_t		  count = 0, len;
	const char	 *p = s;
	char		  quote;

	list = xcalloc(1, sizeof *list);
	word = xmalloc(strlen(s) + 1);
	for (;;) {
		p += strspn(p, CONFIG_SPACE);
		if (*p == '\0')
			break;
		len = 0;
		while (*p != '\0' && strchr(CONFIG_SPACE, *p) == NULL) {
			if (*p != '\'' && *p != '"') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				word[len++] = *p++;
				continue;
			}
			quote = *p++;
			while (*p != quote) {
				if (*p == '\0')
					goto unterminated;
				if (quote == '"' && *p == '\\' &&
				    (p[1] == '"' || p[1] == '\\'))
					p++;
				word[len++] = *p++;
			}
			p++;
		}
		word[len] = '\0';
		config_add_word(&list, &count, word);
	}
	free(word);
	*words = list;
	return 0;

unterminated:
	free(word);
	config_free_words(list);
	*cause = xstrdup("unterminated quote");
	return -1;
}

/* Free a word list from config_split_words; NULL is fine. */
void
config_free_words(char **words)
{
	char	**word;

	if (words == NULL)
		return;
	for (word = words; *word != NULL; word++)
		free(*word);
	free(words);
}
