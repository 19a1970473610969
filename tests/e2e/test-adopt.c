/*
 * Adoption in the background: a profile with hundreds of generations
 * profiled has no record of (links to a few real environments, as years
 * of nix-env leave) is answered for at once, while the package lists are
 * read; a save meanwhile is numbered and parented right; once done every
 * generation's packages are known.  Environments profiled built are read
 * without Nix; the others by nix-instantiate (adopt-manifests.nix), here a
 * wrapper first on the daemon's PATH that blocks on a FIFO while
 * DIR/pause/hold exists, so "still adopting" is a state the test holds,
 * not a race it hopes to win.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Links made beyond the three generations profiled made. */
#define ADOPT_LINKS	300

TestSuite(adopt_background, .init = harness_init, .fini = harness_fini,
    .timeout = HARNESS_TIMEOUT);

static void
save_and_wait(const char *names, long generation)
{
	harness_save_packages(names);
	json_free(harness_wait_generation(generation));
}

/* The profile's link for generation id, as a new string. */
static char *
link_path(long id)
{
	char	*path;

	xasprintf(&path, "%s-%ld-link", harness.profile, id);
	return path;
}

/* What link id points at, as a new string. */
static char *
link_target(long id)
{
	char	*path = link_path(id), buf[PATH_MAX];
	ssize_t	 n;

	n = readlink(path, buf, sizeof buf - 1);
	cr_assert(n > 0, "readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
	free(path);
	return xstrdup(buf);
}

/*
 * DIR/wrap/nix-instantiate: Nix's, except that adoption's (reading store
 * paths' manifests), while DIR/pause/hold exists, writes
 * DIR/pause/reached and blocks reading the FIFO DIR/pause/go.
 */
static char *
write_wrapper(void)
{
	char	*wrap, *pause, *script, *path;
	char	*real = harness_which("nix-instantiate");

	xasprintf(&wrap, "%s/wrap", harness.dir);
	xasprintf(&pause, "%s/pause", harness.dir);
	cr_assert(mkdir(wrap, 0755) == 0, "mkdir %s: %s", wrap,
	    strerror(errno));
	cr_assert(mkdir(pause, 0755) == 0, "mkdir %s: %s", pause,
	    strerror(errno));
	xasprintf(&path, "%s/go", pause);
	cr_assert(mkfifo(path, 0644) == 0, "mkfifo: %s", strerror(errno));
	free(path);
	xasprintf(&path, "%s/hold", pause);
	harness_write(path, "");
	free(path);
	xasprintf(&script,
	    "#!/bin/sh\n"
	    "case \" $* \" in *' storePaths '*) ;; *) exec %s \"$@\" ;; "
	    "esac\n"
	    "if [ -e %s/hold ]; then\n"
	    "  echo $$ > %s/reached.tmp; mv %s/reached.tmp %s/reached\n"
	    "  read go < %s/go\n"
	    "fi\n"
	    "exec %s \"$@\"\n",
	    real, pause, pause, pause, pause, pause, real);
	xasprintf(&path, "%s/nix-instantiate", wrap);
	harness_write(path, script);
	cr_assert(chmod(path, 0755) == 0, "chmod: %s", strerror(errno));
	free(path);
	free(script);
	free(pause);
	free(real);
	return wrap;
}

/* Wait, with the harness's deadline, for the wrapper to block. */
static void
wait_blocked(void)
{
	long long	 deadline = harness_clock_ms() + HARNESS_DEADLINE_MS;
	char		*reached;

	xasprintf(&reached, "%s/pause/reached", harness.dir);
	while (access(reached, F_OK) != 0) {
		cr_assert(harness_clock_ms() < deadline,
		    "no Nix was run to read an adopted generation");
		harness_pause();
	}
	free(reached);
}

/* Let the blocked nix-instantiate and every later one run. */
static void
release(void)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/pause/hold", harness.dir);
	cr_assert(unlink(path) == 0, "unlink: %s", strerror(errno));
	free(path);
	xasprintf(&path, "%s/pause/go", harness.dir);
	fd = open(path, O_WRONLY);
	cr_assert(fd != -1, "open %s: %s", path, strerror(errno));
	cr_assert(write(fd, "go\n", 3) == 3);
	close(fd);
	free(path);
}

static int
adopted(const struct json *status, const void *arg)
{
	const struct json	*adopting = json_get(status, "adopting");

	cr_assert_not_null(adopting, "status has no adopting member");
	return adopting->type == JSON_NULL;
}

/* Status says done of total generations are adopted, in JSON and text. */
static void
assert_adopting(long done, long total)
{
	struct json		*status = harness_status();
	const struct json	*adopting = json_get(status, "adopting");
	struct run		 r;
	char			*want;

	cr_assert(adopting != NULL && adopting->type == JSON_OBJECT,
	    "status does not say it is adopting");
	cr_assert_eq(harness_number(adopting, "done"), done);
	cr_assert_eq(harness_number(adopting, "total"), total);
	json_free(status);
	harness_ctl(&r, "status", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	xasprintf(&want, "adopting       %ld of %ld existing generations "
	    "(reading their packages)\n", done, total);
	cr_assert(strstr(r.out, want) != NULL, "%s", r.out);
	free(want);
	harness_run_free(&r);
}

static void
assert_diff(long from, long to, const char *added, const char *removed)
{
	struct json	*diff;
	char		 a[32], b[32], *got;

	snprintf(a, sizeof a, "%ld", from);
	snprintf(b, sizeof b, "%ld", to);
	diff = harness_ctl_json("diff", a, b, NULL);
	got = harness_packages_of(json_get(diff, "added"));
	cr_assert_str_eq(got, added, "diff %ld %ld: added", from, to);
	free(got);
	got = harness_packages_of(json_get(diff, "removed"));
	cr_assert_str_eq(got, removed, "diff %ld %ld: removed", from, to);
	free(got);
	json_free(diff);
}

Test(adopt_background, answers_at_once_and_saves_while_adopting)
{
	struct json		*generations;
	const struct json	*gen;
	char			*targets[3], *link, *wrap, *path;
	struct run		 r;
	long			 id;
	int			 i;

	/* Three real environments, made by profiled, and one by nix-env. */
	harness_start();
	save_and_wait("hello", 1);
	save_and_wait("hello cowsay", 2);
	save_and_wait("ripgrep", 3);
	harness_stop();
	harness_nix_env_install("ripgrep");
	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--switch-generation", "3", NULL);
	cr_assert_eq(r.status, 0, "nix-env --switch-generation: %s", r.err);
	harness_run_free(&r);

	/*
	 * Years of nix-env: links 5.. to hello, hello cowsay and nix-env's
	 * ripgrep, not recorded, none to the current (3): the first chunk
	 * read holds all three, the last one read by Nix.
	 */
	targets[0] = link_target(1);
	targets[1] = link_target(2);
	targets[2] = link_target(4);
	for (id = 5; id <= ADOPT_LINKS; id++) {
		link = link_path(id);
		cr_assert(symlink(targets[(id - 1) % 3], link) == 0,
		    "symlink %s: %s", link, strerror(errno));
		free(link);
	}

	/* Reading nix-env's environment blocks: status answers. */
	wrap = write_wrapper();
	xasprintf(&path, "%s:%s", wrap, getenv("PATH"));
	harness_start_with_env("PATH", path);
	wait_blocked();
	assert_adopting(0, ADOPT_LINKS - 3);

	/* A save meanwhile is the next number, its parent the current. */
	save_and_wait("cowsay", ADOPT_LINKS + 1);
	generations = harness_ctl_json("generations", "--json", NULL);
	gen = harness_generation(generations, ADOPT_LINKS + 1);
	cr_assert_not_null(gen, "generation %d is not listed", ADOPT_LINKS + 1);
	cr_assert_eq(harness_number(gen, "parent"), 3);
	cr_assert_str_eq(harness_string(gen, "reason"), "save");
	json_free(generations);
	assert_adopting(0, ADOPT_LINKS - 3);

	/* Released, adoption ends and every generation's packages are known. */
	release();
	json_free(harness_wait(adopted, NULL, "adoption to finish"));
	assert_diff(5, 6, "ripgrep 14.1;", "hello 2.12;cowsay 3.7;");
	assert_diff(6, 7, "hello 2.12;", "ripgrep 14.1;");
	assert_diff(3, 6, "", "");
	assert_diff(ADOPT_LINKS - 2, ADOPT_LINKS - 1, "cowsay 3.7;", "");
	assert_diff(ADOPT_LINKS, ADOPT_LINKS + 1, "cowsay 3.7;",
	    "ripgrep 14.1;");
	assert_diff(3, ADOPT_LINKS, "", "");

	for (i = 0; i < 3; i++)
		free(targets[i]);
	free(path);
	free(wrap);
}

static int
built_and_idle(const struct json *status, const void *arg)
{
	const struct json	*last = json_get(status, "last_build");

	return last != NULL && last->type == JSON_OBJECT &&
	    harness_idle(status);
}

/*
 * The first build at start, of the packages nix-env installed, finishes
 * before adoption has read the current generation's: whether it would
 * change them cannot be told yet, so it is neither activated nor held
 * (no warning, no notification) until they are read; then it is, since
 * it changes nothing.
 */
Test(adopt_background, a_build_waits_for_the_current_packages_to_be_read)
{
	struct json	*status;
	char		*wrap, *path, *log;
	struct run	 r;

	harness_nix_env_install("hello");
	harness_save_packages("hello");
	wrap = write_wrapper();
	xasprintf(&path, "%s:%s", wrap, getenv("PATH"));
	harness_start_with_env("PATH", path);
	wait_blocked();
	status = harness_wait(built_and_idle, NULL, "the first build");
	cr_assert_eq(harness_number(status, "current_generation"), 1);
	json_free(status);
	harness_ctl(&r, "status", NULL);
	cr_assert(strstr(r.out, "adopting") != NULL, "%s", r.out);
	cr_assert(strstr(r.out, "would") == NULL &&
	    strstr(r.out, "not activated") == NULL, "held:\n%s", r.out);
	harness_run_free(&r);

	release();
	json_free(harness_wait_generation(2));
	harness_assert_runs("bin/hello", "hello 2.12\n");
	log = harness_read(harness.log);
	cr_assert(strstr(log, "not activating") == NULL, "held:\n%s", log);
	free(log);
	free(path);
	free(wrap);
}

/* Generations of the many-environments case, each its own environment. */
#define ADOPT_ENVS	2000
/* The one whose manifest.nix does not parse. */
#define ADOPT_BROKEN	777

/* The store path, as a string, of generation i's package named what. */
static char *
fake_path(const char *what, long i)
{
	char	*path;

	xasprintf(&path, "/nix/store/0000000000000000000000000000000%ld-%s-%ld",
	    i % 10, what, i);
	return path;
}

/*
 * DIR/envs/eI/manifest.nix for generation i: as nix-env writes it (odd i:
 * Nix reads it, a package "a" with a version, "tool" without one and with
 * outputs out and bin, whose path is bin's, the first by name), headed by
 * the same list as profiled writes it for even i (read without Nix).
 */
static void
write_manifest(const char *dir, long i)
{
	char	*env, *path, *text, *head, *a, *bin, *out;

	xasprintf(&env, "%s/e%ld", dir, i);
	cr_assert(mkdir(env, 0755) == 0, "mkdir: %s", strerror(errno));
	a = fake_path("a", i);
	bin = fake_path("tool-bin", i);
	out = fake_path("tool", i);
	if (i % 2 == 0)
		xasprintf(&head, "/* profiled packages: [{\"name\":\"a\","
		    "\"version\":\"1.%ld\",\"path\":\"%s\"},{\"name\":"
		    "\"tool\",\"version\":\"\",\"path\":\"%s\"}] */\n", i, a,
		    bin);
	else
		head = xstrdup("");
	if (i == ADOPT_BROKEN)
		text = xstrdup("[ { broken");
	else
		xasprintf(&text, "%s[ { \"name\" = \"a-1.%ld\"; \"out\" = { "
		    "\"outPath\" = \"%s\"; }; \"outPath\" = \"%s\"; "
		    "\"outputs\" = [ \"out\" ]; \"type\" = \"derivation\"; } "
		    "{ \"name\" = \"tool\"; \"bin\" = { \"outPath\" = \"%s\"; "
		    "}; \"out\" = { \"outPath\" = \"%s\"; }; \"outPath\" = "
		    "\"%s\"; \"outputs\" = [ \"out\" \"bin\" ]; \"type\" = "
		    "\"derivation\"; } ]", head, i, a, a, bin, out, out);
	xasprintf(&path, "%s/manifest.nix", env);
	harness_write(path, text);
	free(path);
	free(text);
	free(a);
	free(bin);
	free(out);
	free(head);
	free(env);
}

/* What generation i lists once adopted, as harness_packages_of says. */
static char *
expected_packages(long i)
{
	char	*want;

	if (i == ADOPT_BROKEN)
		return xstrdup("");
	xasprintf(&want, "a 1.%ld;tool ;", i);
	return want;
}

/* Generation gen's packages as name version path, one a line. */
static char *
packages_with_paths(const struct json *packages)
{
	char	*all = xstrdup(""), *next;
	size_t	 i;

	for (i = 0; i < packages->count; i++) {
		xasprintf(&next, "%s%s %s %s\n", all,
		    harness_string(packages->items[i], "name"),
		    harness_string(packages->items[i], "version"),
		    harness_string(packages->items[i], "path"));
		free(all);
		all = next;
	}
	return all;
}

/* What nix-env -q --json --out-path says link's packages are, alike. */
static char *
nix_env_packages(long i)
{
	struct json		*list;
	const struct json	*item, *outputs;
	char			*link = link_path(i), *all = xstrdup(""), *next;
	struct run		 r;
	size_t			 j;

	harness_run(&r, "nix-env", "--profile", link, "-q", "--json",
	    "--out-path", NULL);
	cr_assert_eq(r.status, 0, "nix-env -q: %s", r.err);
	list = json_parse(r.out, strlen(r.out), NULL);
	cr_assert(list != NULL && list->type == JSON_OBJECT);
	/* Keyed by the place in the manifest, 0 to 9 here. */
	for (j = 0; j < list->count; j++) {
		xasprintf(&next, "%zu", j);
		item = json_get(list, next);
		free(next);
		cr_assert_not_null(item);
		outputs = json_get(item, "outputs");
		xasprintf(&next, "%s%s %s %s\n", all,
		    harness_string(item, "pname"),
		    harness_string(item, "version"),
		    outputs->items[0]->string);
		free(all);
		all = next;
	}
	json_free(list);
	harness_run_free(&r);
	free(link);
	return all;
}

/*
 * Years of nix-env leave about one environment per generation: each is
 * read once, without Nix if profiled built it, else many to a Nix
 * evaluation, one that does not parse failing alone; every generation
 * then lists what nix-env -q says it holds.
 */
Test(adopt_background, many_environments_are_each_read_once)
{
	struct json		*generations;
	const struct json	*gen;
	char			*dir, **argv, *link, *want, *got, *line, *last;
	struct run		 r;
	long			 i, nix_runs;

	xasprintf(&dir, "%s/envs", harness.dir);
	cr_assert(mkdir(dir, 0755) == 0, "mkdir: %s", strerror(errno));
	argv = xcalloc(ADOPT_ENVS + 6, sizeof *argv);
	argv[0] = "nix-store";
	argv[1] = "--add";
	for (i = 1; i <= ADOPT_ENVS; i++) {
		write_manifest(dir, i);
		xasprintf(&argv[i + 1], "%s/e%ld", dir, i);
	}
	harness_runv(&r, argv);
	cr_assert_eq(r.status, 0, "nix-store --add: %s", r.err);
	for (i = 1; i <= ADOPT_ENVS; i++)
		free(argv[i + 1]);
	i = 1;
	for (line = strtok_r(r.out, "\n", &last); line != NULL;
	    line = strtok_r(NULL, "\n", &last), i++) {
		link = link_path(i);
		cr_assert(symlink(line, link) == 0, "symlink: %s",
		    strerror(errno));
		free(link);
	}
	cr_assert_eq(i, ADOPT_ENVS + 1, "nix-store --add made %ld", i - 1);
	harness_run_free(&r);
	/*
	 * Links made by symlink(2) are no GC roots, and other tests collect
	 * garbage meanwhile: root them (harness_fini removes the roots).
	 */
	argv[0] = "nix-store";
	argv[1] = "--realise";
	argv[2] = "--add-root";
	xasprintf(&argv[3], "%s/root", dir);
	argv[4] = "--indirect";
	for (i = 1; i <= ADOPT_ENVS; i++)
		argv[i + 4] = link_path(i);
	argv[ADOPT_ENVS + 5] = NULL;
	harness_runv(&r, argv);
	cr_assert_eq(r.status, 0, "nix-store --add-root: %s", r.err);
	harness_run_free(&r);
	free(argv[3]);
	for (i = 1; i <= ADOPT_ENVS; i++)
		free(argv[i + 4]);
	xasprintf(&want, "%s-%d-link", strrchr(harness.profile, '/') + 1,
	    ADOPT_ENVS);
	cr_assert(symlink(want, harness.profile) == 0, "symlink: %s",
	    strerror(errno));
	free(want);

	harness_start();
	json_free(harness_wait(adopted, NULL, "adoption to finish"));

	generations = harness_ctl_json("generations", "--json", NULL);
	for (i = 1; i <= ADOPT_ENVS; i++) {
		gen = harness_generation(generations, i);
		cr_assert_not_null(gen, "generation %ld is not listed", i);
		want = expected_packages(i);
		got = harness_packages_of(json_get(gen, "packages"));
		cr_assert_str_eq(got, want, "generation %ld: %s, not %s", i,
		    got, want);
		free(got);
		free(want);
	}
	/* Paths and all, as nix-env reads them, either way they are read. */
	for (i = 1; i <= 4; i++) {
		want = nix_env_packages(i);
		got = packages_with_paths(json_get(harness_generation(
		    generations, i), "packages"));
		cr_assert_str_eq(got, want, "generation %ld: %s, not %s", i,
		    got, want);
		free(got);
		free(want);
	}
	json_free(generations);

	/*
	 * Once per environment, up to 1,024 to a Nix evaluation: two, and
	 * the broken one's batch halved down to it and doubled back after.
	 */
	got = harness_read(harness.log);
	nix_runs = 0;
	for (line = got; (line = strstr(line, "started nix-instantiate")) !=
	    NULL; line++)
		nix_runs++;
	cr_assert(nix_runs >= 2 && nix_runs <= 4 + 4 * 10,
	    "%ld nix-instantiate runs for %d environments", nix_runs,
	    ADOPT_ENVS / 2);
	cr_assert(strstr(got, "cannot list the packages of") != NULL,
	    "the broken manifest is not reported");
	free(got);
	free(argv);
	free(dir);
}
