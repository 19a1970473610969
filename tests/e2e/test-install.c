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

	xasprintf(&path, "%s/README.md", harness.root);
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
 * The README's steps, run verbatim by sh in the repository with a fresh
 * HOME: they install, make the package file where profiled reads it, and
 * enable units systemd finds; make uninstall then leaves only the user's
 * own package file.
 */
Test(install, readme_steps_work_in_a_fresh_home)
{
	static const char stub[] =
	    "#!/bin/sh\n"
	    "# systemctl's stand-in: each unit named must be where the user\n"
	    "# manager looks.\n"
	    "echo \"$*\" >> \"$HOME/../systemctl.log\"\n"
	    "for arg; do\n"
	    "\tcase $arg in *.socket|*.service) ;; *) continue ;; esac\n"
	    "\tfound=\n"
	    "\tfor dir in $(systemd-analyze --user unit-paths); do\n"
	    "\t\t[ -f \"$dir/$arg\" ] && found=$dir/$arg\n"
	    "\tdone\n"
	    "\t[ -n \"$found\" ] || { echo \"no unit $arg\" >&2; exit 1; }\n"
	    "done\n";
	struct run	 r;
	char		*home = fresh_home(), *steps, *script, *stubs, *path;
	char		*text, *log;

	xasprintf(&stubs, "%s/stubs", harness.dir);
	cr_assert(mkdir(stubs, 0755) == 0);
	xasprintf(&path, "%s/systemctl", stubs);
	harness_write(path, stub);
	cr_assert(chmod(path, 0755) == 0);
	free(path);
	xasprintf(&path, "%s:%s", stubs, getenv("PATH"));
	setenv("PATH", path, 1);
	free(path);

	steps = readme_install_steps();
	xasprintf(&script, "%s/steps.sh", harness.dir);
	xasprintf(&text, "set -e\ncd '%s'\n%s", harness.root, steps);
	harness_write(script, text);
	free(text);
	harness_run(&r, "sh", script, NULL);
	cr_assert_eq(r.status, 0, "the README's steps failed:\n%s\n%s%s",
	    steps, r.out, r.err);
	harness_run_free(&r);

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
	free(script);
	free(steps);
	free(stubs);
	free(home);
}
