/*
 * The Nix that profiled runs, found the way a login shell would find it.
 *
 * A systemd user manager gives services neither the login shell's PATH
 * nor its NIX_PATH, which the Nix installers set in the shell's profile.
 * So when nix-env is not on PATH, the places the installers put Nix are
 * tried (~/.nix-profile/bin, the default profile, NixOS's system profile)
 * and the one found is put first on PATH for every Nix child; and when
 * NIX_PATH is unset (and no nix_path is configured), it is set to what
 * Nix's own default search path holds: ~/.nix-defexpr/channels and root's
 * channels, those that exist.  The version in use is asked once, from the
 * loop, for status.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"

static struct {
	char		*bin_dir;	/* where nix-env was found, or NULL */
	char		*version;	/* "nix-env (Nix) 2.8.0", or NULL */
	struct proc	*version_proc;
} nix;

/* Whether dir holds an executable nix-env. */
static int
nix_in_dir(const char *dir, size_t len)
{
	char	*path;
	int	 found;

	xasprintf(&path, "%.*s/nix-env", (int)len, dir);
	found = access(path, X_OK) == 0;
	free(path);
	return found;
}

/* The directory on PATH holding nix-env, as a new string, or NULL. */
static char *
nix_on_path(void)
{
	const char	*path = getenv("PATH"), *entry, *end;
	size_t		 len;

	if (path == NULL)
		return NULL;
	for (entry = path; *entry != '\0'; entry = end + (*end != '\0')) {
		end = entry + strcspn(entry, ":");
		len = end - entry;
		if (len > 0 && nix_in_dir(entry, len))
			return xstrndup(entry, len);
	}
	return NULL;
}

/* Put dir first on PATH, for the Nix children. */
static void
nix_prepend_path(const char *dir)
{
	const char	*path = getenv("PATH");
	char		*value;

	if (path != NULL && *path != '\0')
		xasprintf(&value, "%s:%s", dir, path);
	else
		value = xstrdup(dir);
	setenv("PATH", value, 1);
	free(value);
}

/* Find nix-env on PATH or where the installers put it. */
static void
nix_find(const char *home)
{
	const char	*places[] = { "/nix/var/nix/profiles/default/bin",
	    "/run/current-system/sw/bin" };
	char		*dir;
	size_t		 i;

	if ((nix.bin_dir = nix_on_path()) != NULL) {
		log_debug("using Nix from %s", nix.bin_dir);
		return;
	}
	if (home != NULL) {
		xasprintf(&dir, "%s/.nix-profile/bin", home);
		if (nix_in_dir(dir, strlen(dir))) {
			nix.bin_dir = dir;
			goto found;
		}
		free(dir);
	}
	for (i = 0; i < sizeof places / sizeof places[0]; i++) {
		if (nix_in_dir(places[i], strlen(places[i]))) {
			nix.bin_dir = xstrdup(places[i]);
			goto found;
		}
	}
	log_warnx("Nix is not installed, or not in PATH (%s) nor where its "
	    "installers put it", getenv("PATH") != NULL ? getenv("PATH") :
	    "no PATH");
	return;
found:
	nix_prepend_path(nix.bin_dir);
	log_info("Nix is not in PATH; using the one in %s", nix.bin_dir);
}

/* Add "prefix=path" (or path, without prefix) to *list if path exists. */
static void
nix_path_add(char **list, const char *prefix, const char *path)
{
	struct stat	 sb;
	char		*next;

	if (stat(path, &sb) != 0)
		return;
	xasprintf(&next, "%s%s%s%s%s", *list != NULL ? *list : "",
	    *list != NULL ? ":" : "", prefix != NULL ? prefix : "",
	    prefix != NULL ? "=" : "", path);
	free(*list);
	*list = next;
}

/* Set NIX_PATH: nix_path if configured, else Nix's default if unset. */
static void
nix_set_search_path(const char *nix_path, const char *home)
{
	char	*list = NULL, *channels;

	if (nix_path != NULL) {
		setenv("NIX_PATH", nix_path, 1);
		log_debug("NIX_PATH is %s (nix_path)", nix_path);
		return;
	}
	if (getenv("NIX_PATH") != NULL)
		return;
	if (home != NULL) {
		xasprintf(&channels, "%s/.nix-defexpr/channels", home);
		nix_path_add(&list, NULL, channels);
		free(channels);
	}
	nix_path_add(&list, "nixpkgs",
	    "/nix/var/nix/profiles/per-user/root/channels/nixpkgs");
	nix_path_add(&list, NULL, "/nix/var/nix/profiles/per-user/root/channels");
	if (list == NULL)
		return;
	setenv("NIX_PATH", list, 1);
	log_info("NIX_PATH was not set; using %s", list);
	free(list);
}

/*
 * Make Nix reachable for the children: PATH and NIX_PATH as a login shell
 * would have them.  Call before any child is started.
 */
void
nix_init(const struct config *cfg)
{
	const char	*home = getenv("HOME");

	if (home != NULL && *home != '/')
		home = NULL;
	nix_find(home);
	nix_set_search_path(cfg->nix_path, home);
}

static void
nix_version_exit_cb(struct proc *p, int status, void *arg)
{
	const char	*out = proc_stdout(p);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && *out != '\0')
		nix.version = xstrndup(out, strcspn(out, "\n"));
	proc_free(p);
	nix.version_proc = NULL;
}

/* Ask nix-env for its version, from the loop; status shows it. */
void
nix_version_start(struct event_base *base)
{
	char	*argv[] = { "nix-env", "--version", NULL }, *cause = NULL;

	nix.version_proc = proc_start(base, argv, NULL, nix_version_exit_cb,
	    NULL, &cause);
	if (nix.version_proc == NULL) {
		log_debug("nix-env --version: %s", cause);
		free(cause);
	}
}

/* The version of Nix in use ("nix-env (Nix) 2.8.0"), or NULL if unknown. */
const char *
nix_version(void)
{
	return nix.version;
}

/* Where nix-env was found, or NULL if it was not. */
const char *
nix_bin_dir(void)
{
	return nix.bin_dir;
}

/*
 * Whether <name> can be found on the search path (NIX_PATH): an entry
 * name=PATH, or a directory entry holding name.
 */
int
nix_search_path_has(const char *name)
{
	const char	*list = getenv("NIX_PATH"), *entry, *end, *eq;
	struct stat	 sb;
	size_t		 len = strlen(name);
	char		*path;
	int		 found;

	if (list == NULL)
		return 0;
	for (entry = list; *entry != '\0'; entry = end + (*end != '\0')) {
		end = entry + strcspn(entry, ":");
		eq = memchr(entry, '=', end - entry);
		if (eq != NULL) {
			if ((size_t)(eq - entry) == len &&
			    strncmp(entry, name, len) == 0)
				return 1;
			continue;
		}
		xasprintf(&path, "%.*s/%s", (int)(end - entry), entry, name);
		found = stat(path, &sb) == 0;
		free(path);
		if (found)
			return 1;
	}
	return 0;
}

/* Free what is kept; the loop has ended. */
void
nix_shutdown(void)
{
	if (nix.version_proc != NULL)
		proc_kill(nix.version_proc);
	free(nix.bin_dir);
	free(nix.version);
	memset(&nix, 0, sizeof nix);
}
