/*
 * make install and make uninstall, into a DESTDIR for each PREFIX people
 * use: the units land in a directory `systemd-analyze --user unit-paths`
 * lists, the example config and package file in PREFIX/share/profiled,
 * the manual pages and completions where man and each shell read them,
 * and make uninstall leaves nothing behind.  The README's install steps
 * are run as written, in a fresh home, with a stand-in for systemctl
 * that finds the units where the user manager would.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

TestSuite(install, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);
TestSuite(install_user, .init = harness_user_init,
    .fini = harness_user_fini, .timeout = HARNESS_TIMEOUT);

/*
 * A fresh home for make and systemd-analyze, and an environment that
 * points nowhere else: no XDG directories but the runtime one, and a
 * fresh make rather than the jobserver of the make running the tests.
 */
static char *
fresh_home(void)
{
	char	*home;

	xasprintf(&home, "%s/fresh-home", harness.dir);
	cr_assert(mkdir(home, 0700) == 0, "mkdir %s: %s", home,
	    strerror(errno));
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("XDG_CONFIG_DIRS");
	unsetenv("XDG_DATA_DIRS");
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	return home;
}

/* Run `make -s -C ROOT goal DESTDIR=dest PREFIX=prefix`, which must work. */
static void
make(const char *goal, const char *dest, const char *prefix)
{
	struct run	 r;
	char		*destdir, *prefix_arg;

	xasprintf(&destdir, "DESTDIR=%s", dest);
	xasprintf(&prefix_arg, "PREFIX=%s", prefix);
	harness_run(&r, "make", "-s", "-C", harness.root, goal, destdir,
	    prefix_arg, NULL);
	cr_assert_eq(r.status, 0, "make %s %s %s: %s%s", goal, destdir,
	    prefix_arg, r.out, r.err);
	harness_run_free(&r);
	free(prefix_arg);
	free(destdir);
}

/* Whether systemd's user manager, in this environment, reads dir. */
static int
in_unit_paths(const char *dir)
{
	struct run	 r;
	char		*copy, *line, *last;
	int		 found = 0;

	harness_run(&r, "systemd-analyze", "--user", "unit-paths", NULL);
	cr_assert_eq(r.status, 0, "systemd-analyze: %s", r.err);
	copy = xstrdup(r.out);
	for (line = strtok_r(copy, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last))
		found |= strcmp(line, dir) == 0;
	free(copy);
	harness_run_free(&r);
	return found;
}

/* Fail unless the file at path is a regular file with mode mode. */
static void
assert_file(const char *path, mode_t mode)
{
	struct stat	sb;

	cr_assert(stat(path, &sb) == 0, "make install did not put %s", path);
	cr_assert(S_ISREG(sb.st_mode) && (sb.st_mode & 07777) == mode,
	    "%s: mode %o, expected a file of %o", path,
	    (unsigned)sb.st_mode & 07777, (unsigned)mode);
}

/* Fail unless the file at path holds what the repository's file does. */
static void
assert_copy(const char *path, const char *repository_file)
{
	char	*source, *want, *got;

	xasprintf(&source, "%s/%s", harness.root, repository_file);
	want = harness_read(source);
	got = harness_read(path);
	cr_assert(*want != '\0' && strcmp(got, want) == 0,
	    "%s is not a copy of %s", path, repository_file);
	free(got);
	free(want);
	free(source);
}

static char	*left_behind;	/* what nftw found that is not a directory */

static int
left_behind_cb(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	char	*next;

	if (type != FTW_D && type != FTW_DP) {
		xasprintf(&next, "%s%s\n", left_behind, path);
		free(left_behind);
		left_behind = next;
	}
	return 0;
}

/* Fail if anything but directories is under dir. */
static void
assert_only_directories(const char *dir)
{
	left_behind = xstrdup("");
	cr_assert_eq(nftw(dir, left_behind_cb, 16, FTW_PHYS), 0, "nftw %s: %s",
	    dir, strerror(errno));
	cr_assert_str_eq(left_behind, "", "make uninstall left:\n%s",
	    left_behind);
	free(left_behind);
}

/* Each manual page the tree has is at MANDIR/manN/NAME.N under root. */
static void
assert_manual_pages(const char *root)
{
	glob_t		 pages;
	const char	*name;
	char		*path;
	size_t		 i;

	memset(&pages, 0, sizeof pages);
	for (i = 0; i < 2; i++) {
		xasprintf(&path, "%s/%s/*.[158]", harness.root,
		    i == 0 ? "man" : "client/man");
		glob(path, i == 0 ? 0 : GLOB_APPEND, NULL, &pages);
		free(path);
	}
	for (i = 0; i < pages.gl_pathc; i++) {
		name = strrchr(pages.gl_pathv[i], '/') + 1;
		xasprintf(&path, "%s/share/man/man%s/%s", root,
		    strrchr(name, '.') + 1, name);
		assert_file(path, 0644);
		free(path);
	}
	globfree(&pages);
}

/* Whether a line of what the command run prints is dir. */
static int
prints_line(struct run *r, const char *dir)
{
	char	*copy, *line, *last;
	int	 found = 0;

	cr_assert_eq(r->status, 0, "the shell failed: %s", r->err);
	copy = xstrdup(r->out);
	for (line = strtok_r(copy, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last))
		found |= strcmp(line, dir) == 0;
	free(copy);
	harness_run_free(r);
	return found;
}

/*
 * The completions are under root (prefix, expanded, in a DESTDIR), each
 * where its shell reads it: bash's where the bash-completion package loads
 * it on demand ($XDG_DATA_HOME or an $XDG_DATA_DIRS entry, then
 * bash-completion/completions); fish's in a directory of the
 * $fish_complete_path the fish here has in a session whose XDG_DATA_DIRS
 * is the usual /usr/local/share:/usr/share; zsh's in a directory of the
 * zsh here's $fpath, but under ~/.local, which zsh has no directory for
 * and the README tells the user to add.
 */
static void
assert_completions(const char *dest, const char *expanded)
{
	struct run	 r;
	glob_t		 found;
	char		*root, *path, *dir;
	const char	*home = getenv("HOME");
	int		 home_local;

	xasprintf(&root, "%s%s", dest, expanded);
	xasprintf(&path, "%s/share/bash-completion/completions/profilectl",
	    root);
	assert_file(path, 0644);
	assert_copy(path, "completions/profilectl.bash");
	free(path);

	xasprintf(&dir, "%s/share/fish/vendor_completions.d", expanded);
	xasprintf(&path, "%s%s/profilectl.fish", dest, dir);
	assert_file(path, 0644);
	assert_copy(path, "completions/profilectl.fish");
	setenv("XDG_DATA_DIRS", "/usr/local/share:/usr/share", 1);
	harness_run(&r, "fish", "-c", "printf '%s\\n' $fish_complete_path",
	    NULL);
	unsetenv("XDG_DATA_DIRS");
	cr_assert(prints_line(&r, dir), "fish does not read %s", dir);
	free(path);
	free(dir);

	xasprintf(&path, "%s/share/zsh/*/_profilectl", root);
	cr_assert_eq(glob(path, 0, NULL, &found), 0, "make install put no "
	    "%s", path);
	cr_assert_eq(found.gl_pathc, 1, "make install put %zu %s",
	    found.gl_pathc, path);
	assert_file(found.gl_pathv[0], 0644);
	assert_copy(found.gl_pathv[0], "completions/_profilectl");
	dir = xstrndup(found.gl_pathv[0] + strlen(dest),
	    strrchr(found.gl_pathv[0], '/') - found.gl_pathv[0] -
	    strlen(dest));
	globfree(&found);
	xasprintf(&path, "%s/.local", home);
	home_local = strcmp(expanded, path) == 0;
	free(path);
	if (home_local) {
		xasprintf(&path, "%s/share/zsh/site-functions", expanded);
		cr_assert_str_eq(dir, path, "the README tells zsh users to "
		    "add %s to fpath, but the completion went to %s", path,
		    dir);
		free(path);
	} else {
		harness_run(&r, "zsh", "-fc", "print -l $fpath", NULL);
		cr_assert(prints_line(&r, dir), "zsh does not read %s", dir);
	}
	free(dir);
	free(root);
}

/*
 * make install with prefix (as given on make's command line; expanded,
 * the prefix it means) into a DESTDIR, then make uninstall: the units go
 * to unit_dir, which systemd reads, and nothing is left afterwards.
 */
static void
install_uninstall(const char *prefix, const char *expanded,
    const char *unit_dir)
{
	char	*dest, *root, *path, *text, *exec;

	xasprintf(&dest, "%s/dest", harness.dir);
	xasprintf(&root, "%s%s", dest, expanded);
	make("install", dest, prefix);

	cr_assert(in_unit_paths(unit_dir), "systemd does not read %s",
	    unit_dir);
	xasprintf(&path, "%s%s/profiled.service", dest, unit_dir);
	assert_file(path, 0644);
	text = harness_read(path);
	xasprintf(&exec, "\nExecStart=%s/bin/profiled\n", expanded);
	cr_assert(strstr(text, exec) != NULL, "%s lacks %s", path, exec + 1);
	/* The user manager's PATH lacks Nix: the unit adds its places. */
	cr_assert(strstr(text, "\nEnvironment=PATH=%h/.nix-profile/bin:"
	    "/nix/var/nix/profiles/default/bin:") != NULL, "%s does not put "
	    "Nix's places on PATH", path);
	free(exec);
	free(text);
	free(path);
	xasprintf(&path, "%s%s/profiled.socket", dest, unit_dir);
	assert_file(path, 0644);
	free(path);
	xasprintf(&path, "%s/bin/profiled", root);
	assert_file(path, 0755);
	free(path);
	xasprintf(&path, "%s/bin/profilectl", root);
	assert_file(path, 0755);
	free(path);
	xasprintf(&path, "%s/share/profiled/profiled.conf", root);
	assert_copy(path, "etc/profiled.conf");
	free(path);
	xasprintf(&path, "%s/share/profiled/packages.nix", root);
	assert_copy(path, "etc/packages.nix");
	free(path);
	assert_manual_pages(root);
	assert_completions(dest, expanded);

	make("uninstall", dest, prefix);
	assert_only_directories(dest);
	xasprintf(&path, "%s/share/profiled", root);
	cr_assert(access(path, F_OK) == -1, "make uninstall left %s", path);
	free(path);
	free(root);
	free(dest);
}

Test(install, usr_local)
{
	free(fresh_home());
	install_uninstall("/usr/local", "/usr/local",
	    "/usr/local/lib/systemd/user");
}

Test(install, usr)
{
	free(fresh_home());
	install_uninstall("/usr", "/usr", "/usr/lib/systemd/user");
}

/* ~/.local/lib/systemd/user is not read: the units go to share. */
Test(install, home_local)
{
	char	*home = fresh_home(), *prefix, *unit_dir;

	xasprintf(&prefix, "%s/.local", home);
	xasprintf(&unit_dir, "%s/.local/share/systemd/user", home);
	install_uninstall(prefix, prefix, unit_dir);
	free(unit_dir);
	free(prefix);
	free(home);
}

/* PREFIX=~/.local as sh and zsh pass it on, with the ~ unexpanded. */
Test(install, home_local_with_a_tilde)
{
	char	*home = fresh_home(), *prefix, *unit_dir;

	xasprintf(&prefix, "%s/.local", home);
	xasprintf(&unit_dir, "%s/.local/share/systemd/user", home);
	install_uninstall("~/.local", prefix, unit_dir);
	free(unit_dir);
	free(prefix);
	free(home);
}

/*
 * The shell commands of the README's "To use it for real" block: the
 * first block after that phrase.
 */
static char *
readme_install_steps(void)
{
	char		*path, *readme, *steps;
	const char	*at, *end;

	xasprintf(&path, "%s/README.md", harness.source);
	readme = harness_read(path);
	at = strstr(readme, "To use it for real");
	cr_assert_not_null(at, "README.md has no \"To use it for real\"");
	at = strstr(at, "\n```\n");
	cr_assert_not_null(at, "no code block after \"To use it for real\"");
	at += strlen("\n```\n");
	end = strstr(at, "\n```\n");
	cr_assert_not_null(end, "the install steps' block does not end");
	steps = xstrndup(at, end - at + 1);
	free(readme);
	free(path);
	return steps;
}

/*
 * Put a stand-in for systemctl first on PATH: each unit named must be
 * where the user manager looks, and what it was asked is logged in
 * DIR/systemctl.log.  (No systemd runs here to start a user manager.)
 */
static void
stub_systemctl(void)
{
	static const char stub[] =
	    "#!/bin/sh\n"
	    "# systemctl's stand-in: each unit named must be where the user\n"
	    "# manager looks.\n"
	    "echo \"$*\" >> \"$STUB_LOG\"\n"
	    "for arg; do\n"
	    "\tcase $arg in *.socket|*.service) ;; *) continue ;; esac\n"
	    "\tfound=\n"
	    "\tfor dir in $(systemd-analyze --user unit-paths); do\n"
	    "\t\t[ -f \"$dir/$arg\" ] && found=$dir/$arg\n"
	    "\tdone\n"
	    "\t[ -n \"$found\" ] || { echo \"no unit $arg\" >&2; exit 1; }\n"
	    "done\n";
	char	*stubs, *path;

	xasprintf(&stubs, "%s/stubs", harness.dir);
	harness_mkdir(stubs, 0755);
	xasprintf(&path, "%s/systemctl", stubs);
	harness_write(path, stub);
	cr_assert(chmod(path, 0755) == 0);
	free(path);
	xasprintf(&path, "%s:%s", stubs, getenv("PATH"));
	setenv("PATH", path, 1);
	free(path);
	xasprintf(&path, "%s/systemctl.log", harness.dir);
	setenv("STUB_LOG", path, 1);
	free(path);
	free(stubs);
}

/*
 * Run the README's install steps with sh in the tree at source, but the
 * line starting with skip, if any (one the README says to skip).
 */
static void
run_readme_steps(const char *source, const char *skip)
{
	struct run	 r;
	char		*steps, *script, *text, *at, *end;

	steps = readme_install_steps();
	if (skip != NULL) {
		at = strstr(steps, skip);
		cr_assert(at != NULL && (at == steps || at[-1] == '\n'),
		    "no step \"%s\" in:\n%s", skip, steps);
		end = strchr(at, '\n');
		memmove(at, end + 1, strlen(end + 1) + 1);
	}
	xasprintf(&script, "%s/steps.sh", harness.dir);
	xasprintf(&text, "set -e\ncd '%s'\n%s", source, steps);
	harness_write(script, text);
	free(text);
	harness_run(&r, "sh", script, NULL);
	cr_assert_eq(r.status, 0, "the README's steps failed:\n%s\n%s%s",
	    steps, r.out, r.err);
	harness_run_free(&r);
	free(script);
	free(steps);
}

/*
 * The README's steps, run verbatim by sh in the repository with a fresh
 * HOME: they install, make the package file where profiled reads it, and
 * enable units systemd finds; make uninstall then leaves only the user's
 * own package file.
 */
Test(install, readme_steps_work_in_a_fresh_home)
{
	struct run	 r;
	char		*home = fresh_home(), *path, *text, *log;

	stub_systemctl();
	run_readme_steps(harness.root, NULL);

	xasprintf(&path, "%s/.config/profiled/packages.nix", home);
	assert_copy(path, "etc/packages.nix");
	free(path);
	xasprintf(&path, "%s/.local/bin/profiled", home);
	assert_file(path, 0755);
	free(path);
	xasprintf(&log, "%s/systemctl.log", harness.dir);
	text = harness_read(log);
	cr_assert(strstr(text, "--user enable --now profiled.socket") != NULL,
	    "the steps ran systemctl as:\n%s", text);
	free(text);
	free(log);

	harness_run(&r, "make", "-s", "-C", harness.root, "uninstall",
	    "PREFIX=~/.local", NULL);
	cr_assert_eq(r.status, 0, "make uninstall: %s%s", r.out, r.err);
	harness_run_free(&r);
	xasprintf(&path, "%s/.config/profiled/packages.nix", home);
	cr_assert(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
	free(path);
	assert_only_directories(home);
	free(home);
}

/* The value of the first "key=" line of unit text, a new string. */
static char *
unit_value(const char *text, const char *key)
{
	char		*want;
	const char	*at;

	xasprintf(&want, "\n%s=", key);
	at = strstr(text, want);
	cr_assert_not_null(at, "no %s= in the unit:\n%s", key, text);
	free(want);
	at += strlen(key) + 2;
	return xstrndup(at, strcspn(at, "\n"));
}

/* text with every "%c" replaced by with, a new string. */
static char *
unit_expand(const char *text, char specifier, const char *with)
{
	char	*out = xstrdup(""), *next;

	for (; *text != '\0'; text++) {
		if (text[0] == '%' && text[1] == specifier) {
			xasprintf(&next, "%s%s", out, with);
			text++;
		} else
			xasprintf(&next, "%s%c", out, *text);
		free(out);
		out = next;
	}
	return out;
}

/*
 * Start the installed units as a user manager would on the first
 * profilectl call: profiled.socket's ListenStream= (%t is
 * $XDG_RUNTIME_DIR) held by systemd-socket-activate, which starts
 * profiled.service's ExecStart= on the first connection, in the
 * environment the user manager gives a service: HOME, USER, LOGNAME,
 * XDG_RUNTIME_DIR and the unit's Environment=PATH= (%h is $HOME); no
 * NIX_PATH, no XDG_CONFIG_HOME or XDG_STATE_HOME, no NIX_REMOTE.
 * NIX_CONF_DIR and NIX_DAEMON_SOCKET_PATH stand for the machine's
 * /etc/nix and nix-daemon socket.  Its output is profiled's log.
 */
static void
start_units(const char *unit_dir)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	struct stat	 sb;
	char		*path, *text, *listen, *socket, *exec, *environment;
	char		*env[8];
	int		 n = 0;

	xasprintf(&path, "%s/profiled.socket", unit_dir);
	text = harness_read(path);
	listen = unit_value(text, "ListenStream");
	socket = unit_expand(listen, 't', getenv("XDG_RUNTIME_DIR"));
	cr_assert_str_eq(socket, harness.socket);
	free(text);
	free(path);
	xasprintf(&path, "%s/profiled.service", unit_dir);
	text = harness_read(path);
	exec = unit_value(text, "ExecStart");
	cr_assert(strchr(exec, ' ') == NULL, "ExecStart=%s has arguments",
	    exec);
	environment = unit_value(text, "Environment");
	cr_assert(strncmp(environment, "PATH=", 5) == 0, "Environment=%s",
	    environment);

	xasprintf(&env[n++], "HOME=%s", harness.home);
	xasprintf(&env[n++], "USER=%s", harness.user);
	xasprintf(&env[n++], "LOGNAME=%s", harness.user);
	xasprintf(&env[n++], "XDG_RUNTIME_DIR=%s", getenv("XDG_RUNTIME_DIR"));
	env[n++] = unit_expand(environment, 'h', harness.home);
	xasprintf(&env[n++], "NIX_CONF_DIR=%s", getenv("NIX_CONF_DIR"));
	xasprintf(&env[n++], "NIX_DAEMON_SOCKET_PATH=%s",
	    getenv("NIX_DAEMON_SOCKET_PATH"));
	char *const argv[] = { "env", "-i", env[0], env[1], env[2], env[3],
	    env[4], env[5], env[6], "systemd-socket-activate", "-l", socket,
	    "-E", "HOME", "-E", "USER", "-E", "LOGNAME", "-E",
	    "XDG_RUNTIME_DIR", "-E", "PATH", "-E", "NIX_CONF_DIR", "-E",
	    "NIX_DAEMON_SOCKET_PATH", exec, NULL };
	harness_spawn(argv);
	/* As systemctl enable --now returns: the socket listens. */
	while (stat(socket, &sb) == -1 || !S_ISSOCK(sb.st_mode)) {
		cr_assert(harness_clock_ms() < deadline, "no socket at %s",
		    socket);
		harness_pause();
	}
	while (n > 0)
		free(env[--n]);
	free(environment);
	free(exec);
	free(socket);
	free(listen);
	free(text);
	free(path);
}

/* Run the installed profilectl (no --socket: it finds the socket). */
static void
installed_ctl(struct run *r, const char *arg1, const char *arg2)
{
	char	*ctl;

	xasprintf(&ctl, "%s/.local/bin/profilectl", harness.home);
	harness_run(r, ctl, arg1, arg2, NULL);
	free(ctl);
}

/* README.md has text (its lines joined by spaces), or the test fails. */
static void
assert_readme_says(const char *text)
{
	char	*path, *readme, *p;

	xasprintf(&path, "%s/README.md", harness.source);
	readme = harness_read(path);
	for (p = readme; *p != '\0'; p++)
		*p = *p == '\n' ? ' ' : *p;
	cr_assert(strstr(readme, text) != NULL, "README.md no longer says "
	    "\"%s\"", text);
	free(readme);
	free(path);
}

/* ~/.nix-profile/bin/name runs and prints output: it is on the PATH. */
static void
assert_on_path(const char *name, const char *output)
{
	struct run	 r;
	char		*path;

	xasprintf(&path, "%s/.nix-profile/bin/%s", harness.home, name);
	harness_run(&r, path, NULL);
	cr_assert(r.status == 0, "%s exited %d: %s", path, r.status, r.err);
	cr_assert_str_eq(r.out, output, "%s printed \"%s\"", path, r.out);
	harness_run_free(&r);
	free(path);
}

/* The status's warnings, each followed by a newline, as a new string. */
static char *
warnings_of(const struct json *status)
{
	const struct json	*list = json_get(status, "warnings");
	char			*text = xstrdup(""), *next;
	size_t			 i;

	cr_assert(list != NULL && list->type == JSON_ARRAY, "no warnings");
	for (i = 0; i < list->count; i++) {
		xasprintf(&next, "%s%s\n", text, list->items[i]->string);
		free(text);
		text = next;
	}
	return text;
}

/* Idle after a build of the current file, with a warning holding text. */
static int
held_with(const struct json *status, const void *text)
{
	char	*warnings;
	int	 found;

	if (!harness_idle(status) || harness_bool(status, "in_sync") == 1)
		return 0;
	warnings = warnings_of(status);
	found = strstr(warnings, text) != NULL;
	free(warnings);
	return found;
}

/* Idle, in sync, nothing to warn about. */
static int
settled(const struct json *status, const void *arg)
{
	char	*warnings;
	int	 none;

	if (!harness_idle(status) || harness_bool(status, "in_sync") != 1)
		return 0;
	warnings = warnings_of(status);
	none = *warnings == '\0';
	free(warnings);
	return none;
}

/*
 * A user of Debian's multi-user Nix as they set it up: a channel, then
 * `nix-env -iA nixpkgs.cowsay`; then the README's install steps (but the
 * line starting with skip) in a checkout of theirs, and the units started
 * as a user manager would.  The source tree's path.
 */
static char *
install_over_nix_env(const char *skip)
{
	struct run	 r;
	char		*source, *units, *log;

	harness_user_channel();
	harness_run(&r, "nix-env", "-iA", "nixpkgs.cowsay", NULL);
	cr_assert_eq(r.status, 0, "nix-env -iA nixpkgs.cowsay: %s", r.err);
	harness_run_free(&r);
	assert_on_path("cowsay", "cowsay 3.7\n");
	free(harness.profile);
	xasprintf(&harness.profile, "/nix/var/nix/profiles/per-user/%s/profile",
	    harness.user);

	source = harness_user_copy_source("src");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_STATE_HOME");
	unsetenv("XDG_DATA_HOME");
	unsetenv("MAKEFLAGS");
	unsetenv("MFLAGS");
	unsetenv("MAKELEVEL");
	stub_systemctl();
	run_readme_steps(source, skip);
	log = harness_read(getenv("STUB_LOG"));
	cr_assert(strstr(log, "--user enable --now profiled.socket") != NULL,
	    "the steps ran systemctl as:\n%s", log);
	free(log);
	xasprintf(&units, "%s/.local/share/systemd/user", harness.home);
	start_units(units);
	free(units);
	return source;
}

/* Stop profiled; make uninstall removes what make install put. */
static void
uninstall(const char *source)
{
	struct run	 r;
	char		*path;

	harness_stop();
	harness_run(&r, "make", "-s", "-C", source, "uninstall",
	    "PREFIX=~/.local", NULL);
	cr_assert_eq(r.status, 0, "make uninstall: %s%s", r.out, r.err);
	harness_run_free(&r);
	xasprintf(&path, "%s/.local/bin/profiled", harness.home);
	cr_assert(access(path, F_OK) == -1, "make uninstall left %s", path);
	free(path);
}

/*
 * A user with packages from nix-env (cowsay) follows the README's steps
 * verbatim, the cp of the example included: the example is built but not
 * activated, cowsay stays on PATH through ~/.nix-profile, and status says
 * what the file would change and what to run.  As the README goes on,
 * `profilectl import --print` prints cowsay, merged into the file; the
 * merge adds hello, so it is held too, until `profilectl switch`, the
 * consent; from then on a save is switched to as usual.
 */
Test(install_user, readme_steps_as_a_user_with_a_nix_env_profile)
{
	struct json	*status;
	struct run	 r;
	char		*source, *file, *merged, *at, *more, *warnings;
	long		 generation;

	assert_readme_says("If you copied the example anyway, profiled builds "
	    "it but does not activate a result that would remove what you "
	    "installed");
	assert_readme_says("`profilectl import --print` prints the packages "
	    "to merge into your file, and `profilectl switch` is your consent");
	source = install_over_nix_env(NULL);

	/* The first profilectl call starts profiled; cowsay is kept. */
	installed_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0, "profilectl status: %s", r.err);
	harness_run_free(&r);
	status = harness_wait(held_with, "would remove cowsay 3.7",
	    "the example held, cowsay kept");
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	cr_assert_eq(harness_bool(json_get(status, "last_build"), "ok"), 1,
	    "the example did not build");
	json_free(status);
	assert_on_path("cowsay", "cowsay 3.7\n");
	installed_ctl(&r, "status", NULL);
	cr_assert(strstr(r.out, "warning") != NULL &&
	    strstr(r.out, "would remove cowsay 3.7") != NULL &&
	    strstr(r.out, "add hello 2.12") != NULL &&
	    strstr(r.out, "profilectl import") != NULL &&
	    strstr(r.out, "profilectl switch") != NULL,
	    "status does not say what to do:\n%s", r.out);
	harness_run_free(&r);
	cr_assert(harness_log_count("NIX_PATH was not set; using") == 1,
	    "the log does not say where <nixpkgs> came from");

	/* import --print, merged with the example's hello. */
	installed_ctl(&r, "import", "--print");
	cr_assert_eq(r.status, 0, "profilectl import --print: %s", r.err);
	at = strstr(r.out, "\n  cowsay\n");
	cr_assert_not_null(at, "import --print: %s", r.out);
	xasprintf(&merged, "%.*s\n  hello%s", (int)(at - r.out), r.out, at);
	harness_run_free(&r);
	xasprintf(&file, "%s/.config/profiled/packages.nix", harness.home);
	harness_write(file, merged);
	status = harness_wait_built(merged);
	warnings = warnings_of(status);
	cr_assert(strstr(warnings, "add hello 2.12") != NULL &&
	    strstr(warnings, "remove") == NULL, "the merge: %s", warnings);
	free(warnings);
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	json_free(status);
	assert_on_path("cowsay", "cowsay 3.7\n");

	/* profilectl switch is the consent. */
	installed_ctl(&r, "switch", NULL);
	cr_assert_eq(r.status, 0, "profilectl switch: %s", r.err);
	harness_run_free(&r);
	status = harness_wait(settled, NULL, "the merged file switched to");
	generation = harness_number(status, "current_generation");
	cr_assert_gt(generation, 1);
	json_free(status);
	assert_on_path("hello", "hello 2.12\n");
	assert_on_path("cowsay", "cowsay 3.7\n");

	/* From then on, a save is switched to. */
	at = strstr(merged, "\n  hello\n");
	xasprintf(&more, "%.*s\n  ripgrep%s", (int)(at - merged), merged, at);
	harness_write(file, more);
	json_free(harness_wait_generation(generation + 1));
	assert_on_path("rg", "ripgrep 14.1\n");
	harness_assert_nix_agrees();
	uninstall(source);
	free(more);
	free(merged);
	free(file);
	free(source);
}

/*
 * The README's other way for a user with packages from nix-env: skip the
 * cp and let `profilectl import` write the package file, which is then
 * switched to at once, nothing held, nothing lost.
 */
Test(install_user, readme_import_instead_of_the_example)
{
	struct json	*status;
	struct run	 r;
	char		*source, *file, *text;

	assert_readme_says("skip the `cp` and, once the service runs, let "
	    "`profilectl import` write the package file from them");
	source = install_over_nix_env("cp ");
	xasprintf(&file, "%s/.config/profiled/packages.nix", harness.home);
	cr_assert_eq(access(file, F_OK), -1, "the steps made %s", file);

	installed_ctl(&r, "import", NULL);
	cr_assert_eq(r.status, 0, "profilectl import: %s", r.err);
	harness_run_free(&r);
	text = harness_read(file);
	cr_assert(strstr(text, "\n  cowsay\n") != NULL, "%s", text);
	status = harness_wait_built(text);
	json_free(status);
	status = harness_wait(settled, NULL, "the imported file switched to");
	cr_assert_str_eq(harness_string(status, "profile"), harness.profile);
	json_free(status);
	assert_on_path("cowsay", "cowsay 3.7\n");
	harness_assert_nix_agrees();
	uninstall(source);
	free(text);
	free(file);
	free(source);
}
