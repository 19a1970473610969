/*
 * Where profiled's socket is, found without needing profiled's config to
 * make sense: a config file this profilectl cannot parse (a key added by a
 * newer profiled, a value out of range) is profiled's to judge, and must
 * not keep the user from a daemon that runs.  So the one key profilectl
 * needs, `socket`, is read leniently, and every other line is skipped.
 *
 * In order: --socket; $PROFILED_SOCKET; the config file's `socket`;
 * $XDG_RUNTIME_DIR/profiled.sock.  Without XDG_RUNTIME_DIR (su, cron, an
 * ssh session without logind) there are two places to try, as systemd and
 * profiled would pick them: /run/user/UID/profiled.sock, where the socket
 * unit listens, then /tmp/profiled-UID/profiled.sock, where profiled binds
 * its own socket when it has no XDG_RUNTIME_DIR either.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

#define CLIENT_SOCKET_NAME	"profiled.sock"
#define CLIENT_SOCKET_SPACE	" \t\r\n\v\f"

/* Return s without the whitespace at either end, shortening it in place. */
static char *
client_socket_trim(char *s)
{
	size_t	len;

	s += strspn(s, CLIENT_SOCKET_SPACE);
	len = strlen(s);
	while (len > 0 && strchr(CLIENT_SOCKET_SPACE, s[len - 1]) != NULL)
		s[--len] = '\0';
	return s;
}

/*
 * value, a path as the config file at file gives it, made absolute as
 * profiled makes it: from the file's directory, with ~ for $HOME.  NULL
 * if it cannot be.
 */
static char *
client_socket_absolute(const char *value, const char *file)
{
	const char	*home = getenv("HOME"), *slash;
	char		*path;

	if (*value == '/')
		return xstrdup(value);
	if (value[0] == '~' && (value[1] == '\0' || value[1] == '/')) {
		if (home == NULL || *home != '/')
			return NULL;
		xasprintf(&path, "%s%s", home, value + 1);
		return path;
	}
	if ((slash = strrchr(file, '/')) == NULL)
		return NULL;
	xasprintf(&path, "%.*s/%s", (int)(slash - file), file, value);
	return path;
}

/*
 * The socket the config file at file names, in its last `socket = PATH`
 * line, or NULL if it names none or cannot be read.  A value that is one
 * "quoted string" loses its quotes, as profiled reads it.
 */
static char *
client_socket_from_config(const char *file)
{
	FILE	*f;
	char	*line = NULL, *s, *equals, *key, *value, *path = NULL;
	size_t	 size = 0, len;

	if ((f = fopen(file, "r")) == NULL)
		return NULL;
	while (getline(&line, &size, f) != -1) {
		s = client_socket_trim(line);
		if (*s == '#' || (equals = strchr(s, '=')) == NULL)
			continue;
		*equals = '\0';
		key = client_socket_trim(s);
		value = client_socket_trim(equals + 1);
		if (strcmp(key, "socket") != 0)
			continue;
		len = strlen(value);
		if (len >= 2 && value[0] == '"' &&
		    strchr(value + 1, '"') == value + len - 1) {
			value[len - 1] = '\0';
			value++;
		}
		if (*value == '\0')
			continue;
		free(path);
		path = client_socket_absolute(value, file);
	}
	free(line);
	fclose(f);
	return path;
}

/*
 * Whether dir is profiled's own fallback directory: ours, and writable by
 * nobody else, so that no other user's socket is talked to in /tmp.
 */
static int
client_socket_private(const char *dir)
{
	struct stat	sb;

	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    sb.st_uid == getuid() && (sb.st_mode & 022) == 0;
}

/*
 * Fill where with the sockets to try, in order, and where the first comes
 * from, in words for people ("given by --socket", "in $XDG_RUNTIME_DIR");
 * free it with client_socket_free.
 */
void
client_socket_find(const struct client_options *opts,
    struct client_socket *where)
{
	const char	*value;
	char		*file, *dir;

	memset(where, 0, sizeof *where);
	if (opts->socket_path != NULL) {
		where->paths[where->count++] = xstrdup(opts->socket_path);
		where->source = xstrdup("given by --socket");
		where->expected = 1;
		return;
	}
	if ((value = getenv("PROFILED_SOCKET")) != NULL && *value != '\0') {
		where->paths[where->count++] = xstrdup(value);
		where->source = xstrdup("from $PROFILED_SOCKET");
		return;
	}
	if ((file = config_default_file()) != NULL &&
	    (where->paths[0] = client_socket_from_config(file)) != NULL) {
		where->count = 1;
		xasprintf(&where->source, "from `socket` in %s", file);
		free(file);
		return;
	}
	free(file);
	if ((value = getenv("XDG_RUNTIME_DIR")) != NULL && *value == '/') {
		xasprintf(&where->paths[where->count++], "%s/%s", value,
		    CLIENT_SOCKET_NAME);
		where->source = xstrdup("in $XDG_RUNTIME_DIR");
		where->expected = 1;
		return;
	}
	xasprintf(&where->paths[where->count++], "/run/user/%u/%s",
	    (unsigned)getuid(), CLIENT_SOCKET_NAME);
	xasprintf(&dir, "/tmp/profiled-%u", (unsigned)getuid());
	if (client_socket_private(dir))
		xasprintf(&where->paths[where->count++], "%s/%s", dir,
		    CLIENT_SOCKET_NAME);
	free(dir);
	where->source = xstrdup("XDG_RUNTIME_DIR is not set");
}

void
client_socket_free(struct client_socket *where)
{
	int	i;

	for (i = 0; i < where->count; i++)
		free(where->paths[i]);
	free(where->source);
	memset(where, 0, sizeof *where);
}
