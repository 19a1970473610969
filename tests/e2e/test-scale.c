/*
 * Ten thousand generations, as years of nix-env leave a profile: links
 * 1 to 10,000 to four real user environments (built once with nix-env
 * -irf into a scratch profile, which keeps them as GC roots), the current
 * one not the newest.  The package file lists the current one's packages,
 * so profiled, answering at once, makes 10,001 (its own environment of
 * the same packages: nix-env's differs in its manifest) and adopts the
 * rest; it lists every one with its store path, parent and packages
 * across all the pages, shows and diffs them, numbers and parents a save,
 * rolls back twice into the adopted history, switches to an old one,
 * comes up again with 10,002 records agreeing with nix-env, and gc --keep
 * deletes exactly what --dry-run named, the records staying.  As the
 * tests' user against the tests' nix-daemon, the same story, reading
 * every page once rather than three times.
 *
 * The bounds are correctness bounds, one per step and generous (speed is
 * for `make bench`); each step's time goes to the test's log
 * (`e2e-tests --verbose`), to see what dominates.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define SCALE_LINKS	10000
#define SCALE_CURRENT	9998	/* not the newest: 10,001's parent is it */
#define SCALE_STARTED	(SCALE_LINKS + 1)	/* profiled's, at start-up */
#define SCALE_SAVED	(SCALE_LINKS + 2)	/* a save after adoption */
#define SCALE_SWITCH_TO	1233	/* an old one, switched to by hand */
#define SCALE_KEEP	50

/* Per-step bounds: only a daemon that is broken, not slow, misses them. */
/*
 * Bounds for correctness, not speed (make bench measures that): each step
 * takes well under 2 s here alone, and these allow for a loaded machine.
 */
#define SCALE_ANSWER_MS		30000	/* the socket's first answer */
#define SCALE_STEP_MS		60000	/* one command or wait */
#define SCALE_ALL_MS		120000	/* all of the history: adopt, list */
#define SCALE_TIMEOUT		900	/* the test's backstop, in seconds */

TestSuite(scale, .init = harness_init, .fini = harness_fini,
    .timeout = SCALE_TIMEOUT);
TestSuite(scale_user, .init = harness_user_init, .fini = harness_user_fini,
    .timeout = SCALE_TIMEOUT);

/* The environments the links point at, in turn: link N at (N - 1) % 4. */
#define SCALE_ENVIRONMENTS	4
static const struct scale_environment {
	const char	*names;		/* in the fixture package set */
	const char	*packages;	/* what it holds, as scale_packages */
} scale_environments[SCALE_ENVIRONMENTS] = {
	{ "hello", "hello-2.12" },
	{ "hello cowsay", "cowsay-3.7 hello-2.12" },
	{ "ripgrep", "ripgrep-14.1" },
	{ "cowsay ripgrep", "cowsay-3.7 ripgrep-14.1" },
};
#define SCALE_SAVED_NAMES	"hello ripgrep"
#define SCALE_SAVED_PACKAGES	"hello-2.12 ripgrep-14.1"

/* The store paths of the environments, then profiled's two. */
static char	*scale_paths[SCALE_ENVIRONMENTS + 2];

/* The step being timed, for the log. */
static const char	*scale_what;
static long long	 scale_started;

/* End the step being timed, logging its time; start what, bound by ms. */
static void
scale_step(const char *what, long long ms)
{
	long long	now = harness_clock_ms();

	if (scale_what != NULL)
		cr_log_info("scale: %s: %lld ms", scale_what,
		    now - scale_started);
	scale_what = what;
	scale_started = now;
	harness_deadline(ms);
}

/* The environment generation id of the hand-made history points at. */
static const struct scale_environment *
scale_environment(long id)
{
	return &scale_environments[(id - 1) % SCALE_ENVIRONMENTS];
}

/* The store path generation id holds. */
static const char *
scale_path(long id)
{
	if (id > SCALE_LINKS)
		return scale_paths[SCALE_ENVIRONMENTS + id - SCALE_STARTED];
	return scale_paths[(id - 1) % SCALE_ENVIRONMENTS];
}

/* The packages generation id holds, as scale_packages. */
static const char *
scale_expected_packages(long id)
{
	if (id == SCALE_STARTED)
		return scale_environment(SCALE_CURRENT)->packages;
	if (id == SCALE_SAVED)
		return SCALE_SAVED_PACKAGES;
	return scale_environment(id)->packages;
}

/* Generation id's parent: -1 for none; an import's is the one before. */
static long
scale_parent(long id)
{
	if (id == SCALE_STARTED)
		return SCALE_CURRENT;
	return id - 1 > 0 ? id - 1 : -1;
}

static int
scale_compare_cb(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A JSON array of packages as sorted "name-version" words, one string. */
static char *
scale_packages(const struct json *array)
{
	char	**words, *all = xstrdup(""), *next;
	size_t	  i;

	cr_assert(array != NULL && array->type == JSON_ARRAY,
	    "no packages array");
	words = xcalloc(array->count + 1, sizeof *words);
	for (i = 0; i < array->count; i++)
		xasprintf(&words[i], "%s-%s",
		    harness_string(array->items[i], "name"),
		    harness_string(array->items[i], "version"));
	qsort(words, array->count, sizeof *words, scale_compare_cb);
	for (i = 0; i < array->count; i++) {
		xasprintf(&next, "%s%s%s", all, i == 0 ? "" : " ", words[i]);
		free(all);
		free(words[i]);
		all = next;
	}
	free(words);
	return all;
}

static void
scale_assert_packages(const struct json *array, const char *want,
    const char *what)
{
	char	*got = scale_packages(array);

	cr_assert_str_eq(got, want, "%s: \"%s\", expected \"%s\"", what, got,
	    want);
	free(got);
}

/* The path of the profile's link for generation id. */
static char *
scale_link(long id)
{
	char	*path;

	xasprintf(&path, "%s-%ld-link", harness.profile, id);
	return path;
}

/*
 * Build the environments once with nix-env -irf into DIR/seed/seed (its
 * links keep them from the garbage collector), as the test's user if it
 * runs as one; their store paths in scale_paths.
 */
static void
scale_make_environments(void)
{
	struct run	 r;
	char		*dir, *profile, *file, *text, *link, real[PATH_MAX];
	char		*argv[16];
	int		 k, n;

	xasprintf(&dir, "%s/seed", harness.dir);
	harness_mkdir(dir, 0755);
	xasprintf(&profile, "%s/seed", dir);
	for (k = 0; k < SCALE_ENVIRONMENTS; k++) {
		xasprintf(&file, "%s/%d.nix", dir, k);
		text = harness_packages(scale_environments[k].names);
		harness_write(file, text);
		n = 0;
		argv[n++] = "nix-env";
		argv[n++] = "--profile";
		argv[n++] = profile;
		argv[n++] = "-irf";
		argv[n++] = file;
		if (harness.user == NULL) {
			/* As root with no nix-daemon: OFFLINE_NIX_FLAGS. */
			argv[n++] = "--option";
			argv[n++] = "substituters";
			argv[n++] = "";
			argv[n++] = "--option";
			argv[n++] = "sandbox";
			argv[n++] = "false";
			argv[n++] = "--option";
			argv[n++] = "build-users-group";
			argv[n++] = "";
		}
		argv[n] = NULL;
		harness_runv(&r, argv);
		cr_assert_eq(r.status, 0, "nix-env -irf %s: %s", file, r.err);
		harness_run_free(&r);
		xasprintf(&link, "%s-%d-link", profile, k + 1);
		cr_assert(realpath(link, real) != NULL, "realpath %s: %s",
		    link, strerror(errno));
		scale_paths[k] = xstrdup(real);
		free(link);
		free(text);
		free(file);
	}
	free(profile);
	free(dir);
}

/*
 * The hand-made history: links 1 to SCALE_LINKS, the user's if the test
 * runs as one, and the profile pointing at SCALE_CURRENT as Nix points it
 * (a name relative to the profile's directory).
 */
static void
scale_make_links(void)
{
	const char	*name = strrchr(harness.profile, '/') + 1;
	char		*link, *target;
	long		 id;

	for (id = 1; id <= SCALE_LINKS; id++) {
		link = scale_link(id);
		cr_assert(symlink(scale_path(id), link) == 0, "symlink %s: %s",
		    link, strerror(errno));
		if (harness.user != NULL)
			cr_assert(lchown(link, harness.uid, harness.gid) == 0,
			    "lchown %s: %s", link, strerror(errno));
		free(link);
	}
	xasprintf(&target, "%s-%d-link", name, SCALE_CURRENT);
	cr_assert(symlink(target, harness.profile) == 0, "symlink %s: %s",
	    harness.profile, strerror(errno));
	if (harness.user != NULL)
		cr_assert(lchown(harness.profile, harness.uid, harness.gid) == 0,
		    "lchown %s: %s", harness.profile, strerror(errno));
	free(target);
}

/*
 * Idle, nothing pending, nothing left to adopt; meanwhile status counts
 * at most the hand-made generations as what there is to adopt.
 */
static int
scale_settled(const struct json *status, const void *arg)
{
	const struct json	*adopting = json_get(status, "adopting");
	long			 done, total;

	cr_assert_not_null(adopting, "status has no adopting member");
	if (adopting->type == JSON_OBJECT) {
		done = harness_number(adopting, "done");
		total = harness_number(adopting, "total");
		/* The total grows from 0 while the links are compared. */
		cr_assert(total >= 0 && total <= SCALE_LINKS && done >= 0 &&
		    done <= total, "adopting %ld of %ld, expected at most %d",
		    done, total, SCALE_LINKS);
		return 0;
	}
	return adopting->type == JSON_NULL && harness_idle(status);
}

/* Status says the profile is at generation id, and so does its link. */
static void
scale_assert_current(long id)
{
	struct json	*status = harness_status();
	char		 real[PATH_MAX];

	cr_assert_eq(harness_number(status, "current_generation"), id);
	json_free(status);
	cr_assert_eq(harness_profile_generation(), id, "the profile names "
	    "generation %ld, expected %ld", harness_profile_generation(), id);
	cr_assert(realpath(harness.profile, real) != NULL, "realpath %s: %s",
	    harness.profile, strerror(errno));
	cr_assert_str_eq(real, scale_path(id));
}

/*
 * `generations --json`, every page: exactly the generations 1 to last in
 * order, each with its store path, parent, reason and packages; current
 * the one marked current.
 */
static void
scale_assert_listed(long last, long current)
{
	struct json		*list;
	const struct json	*g;
	char			 what[64];
	long			 id;
	size_t			 i;

	list = harness_ctl_json("generations", NULL);
	cr_assert_eq(list->type, JSON_ARRAY);
	cr_assert_eq(list->count, (size_t)last, "generations lists %zu, "
	    "expected %ld", list->count, last);
	for (i = 0; i < list->count; i++) {
		g = list->items[i];
		id = (long)i + 1;
		cr_assert_eq(harness_number(g, "id"), id, "generation %ld "
		    "listed in place of %ld", harness_number(g, "id"), id);
		cr_assert_str_eq(harness_string(g, "store_path"),
		    scale_path(id), "generation %ld's store path", id);
		cr_assert_eq(harness_bool(g, "current"), id == current,
		    "generation %ld's current mark", id);
		cr_assert_eq(harness_bool(g, "deleted"), 0);
		cr_assert_eq(harness_number(g, "parent"), scale_parent(id),
		    "generation %ld's parent is %ld", id,
		    harness_number(g, "parent"));
		cr_assert_str_eq(harness_string(g, "reason"), id > SCALE_LINKS ?
		    "save" : "import", "generation %ld's reason", id);
		snprintf(what, sizeof what, "generation %ld's packages", id);
		scale_assert_packages(json_get(g, "packages"),
		    scale_expected_packages(id), what);
	}
	json_free(list);
}

/*
 * The table of `generations` (pages without package lists, on one
 * connection): one line per generation 1 to last, in order, current
 * marked.
 */
static void
scale_assert_table(long last, long current)
{
	struct run	 r;
	char		*line, *save;
	long		 expected = 1, id;

	harness_ctl(&r, "generations", NULL);
	cr_assert_eq(r.status, 0, "generations: %s", r.err);
	line = strtok_r(r.out, "\n", &save);
	cr_assert(line != NULL && strstr(line, "ID") != NULL, "no header");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		cr_assert(sscanf(line + (line[0] == '*'), "%ld", &id) == 1,
		    "not a generation's line: %s", line);
		cr_assert_eq(id, expected, "line for %ld in place of %ld", id,
		    expected);
		cr_assert_eq(line[0] == '*', id == current,
		    "generation %ld's current mark", id);
		expected++;
	}
	cr_assert_eq(expected - 1, last, "the table has %ld generations",
	    expected - 1);
	harness_run_free(&r);
}

/* show id --json: its parent, children, reason, store path and packages. */
static void
scale_assert_shown(long id, long child)
{
	const char		*reason = id > SCALE_LINKS ? "save" : "import";
	struct json		*shown;
	const struct json	*children;
	char			 arg[32];

	snprintf(arg, sizeof arg, "%ld", id);
	shown = harness_ctl_json("show", arg, NULL);
	cr_assert_eq(harness_number(shown, "id"), id);
	cr_assert_eq(harness_number(shown, "parent"), scale_parent(id));
	children = json_get(shown, "children");
	cr_assert(children != NULL && children->type == JSON_ARRAY);
	if (child == 0)
		cr_assert_eq(children->count, 0, "generation %ld has children",
		    id);
	else {
		cr_assert_eq(children->count, 1, "generation %ld has %zu "
		    "children", id, children->count);
		cr_assert_eq((long)children->items[0]->number, child);
	}
	cr_assert_str_eq(harness_string(shown, "reason"), reason);
	cr_assert_str_eq(harness_string(shown, "store_path"), scale_path(id));
	scale_assert_packages(json_get(shown, "packages"),
	    scale_expected_packages(id), "show's packages");
	json_free(shown);
}

/* diff from to --json: what was added and removed, nothing changed. */
static void
scale_assert_diff(long from, long to, const char *added, const char *removed)
{
	struct json	*diff;
	char		 a[32], b[32];

	snprintf(a, sizeof a, "%ld", from);
	snprintf(b, sizeof b, "%ld", to);
	diff = harness_ctl_json("diff", a, b, NULL);
	scale_assert_packages(json_get(diff, "added"), added, "added");
	scale_assert_packages(json_get(diff, "removed"), removed, "removed");
	cr_assert_eq(json_get(diff, "changed")->count, 0);
	json_free(diff);
}

/* Would gc --keep SCALE_KEEP delete generation id (current SCALE_SWITCH_TO)? */
static int
scale_collected(long id)
{
	return id <= SCALE_SAVED - SCALE_KEEP && id != SCALE_SWITCH_TO &&
	    id != SCALE_SWITCH_TO - 1;
}

/* gc's answer names exactly the generations scale_collected says. */
static void
scale_assert_gc(const struct json *answer, int dry_run)
{
	const struct json	*deleted = json_get(answer, "deleted");
	size_t			 i = 0;
	long			 id;

	cr_assert_eq(harness_bool(answer, "dry_run"), dry_run);
	cr_assert(deleted != NULL && deleted->type == JSON_ARRAY);
	for (id = 1; id <= SCALE_SAVED; id++) {
		if (!scale_collected(id))
			continue;
		cr_assert(i < deleted->count, "gc%s deletes %zu generations, "
		    "not %ld", dry_run ? " --dry-run" : "", deleted->count, id);
		cr_assert_eq((long)deleted->items[i]->number, id, "gc%s "
		    "deletes %ld in place of %ld", dry_run ? " --dry-run" : "",
		    (long)deleted->items[i]->number, id);
		i++;
	}
	cr_assert_eq(deleted->count, i, "gc%s deletes %zu generations, "
	    "expected %zu", dry_run ? " --dry-run" : "", deleted->count, i);
}

/* The profile has a link for exactly the generations kept (all: every one). */
static void
scale_assert_links(int all)
{
	struct stat	 sb;
	char		*link;
	long		 id;
	int		 there;

	for (id = 1; id <= SCALE_SAVED + 1; id++) {
		link = scale_link(id);
		there = lstat(link, &sb) == 0;
		cr_assert_eq(there, id <= SCALE_SAVED && (all ||
		    !scale_collected(id)), "%s is %s", link, there ? "there" :
		    "gone");
		free(link);
	}
}

/* `generations --all`: every record, those gc deleted marked deleted. */
static void
scale_assert_records(void)
{
	struct json		*list;
	const struct json	*g;
	size_t			 i;

	list = harness_ctl_json("generations", "--all", NULL);
	cr_assert_eq(list->count, SCALE_SAVED, "generations --all lists %zu",
	    list->count);
	for (i = 0; i < list->count; i++) {
		g = list->items[i];
		cr_assert_eq(harness_number(g, "id"), (long)i + 1);
		cr_assert_eq(harness_bool(g, "deleted"),
		    scale_collected((long)i + 1), "generation %zu's deleted "
		    "mark", i + 1);
	}
	json_free(list);
}

/* show id: the record is there, marked deleted or not. */
static void
scale_assert_deleted(long id, int deleted)
{
	struct json	*shown;
	char		 arg[32];

	snprintf(arg, sizeof arg, "%ld", id);
	shown = harness_ctl_json("show", arg, NULL);
	cr_assert_eq(harness_number(shown, "id"), id);
	cr_assert_eq(harness_bool(shown, "deleted"), deleted, "generation %ld "
	    "is%s marked deleted", id, deleted ? " not" : "");
	cr_assert_str_eq(harness_string(shown, "store_path"), scale_path(id));
	json_free(shown);
}

/*
 * nix-env --list-generations: the numbers, each once and in order, are 1
 * to last; current is the one marked (current).
 */
static void
scale_assert_nix_lists(long last, long current)
{
	struct run	 r;
	char		*line, *last_line;
	long		 id, expected = 1, nix_current = -1;

	harness_run(&r, "nix-env", "--profile", harness.profile,
	    "--list-generations", NULL);
	cr_assert_eq(r.status, 0, "nix-env --list-generations: %s", r.err);
	for (line = strtok_r(r.out, "\n", &last_line); line != NULL;
	    line = strtok_r(NULL, "\n", &last_line)) {
		if (sscanf(line, "%ld", &id) != 1)
			continue;
		cr_assert_eq(id, expected, "nix-env lists %ld, expected %ld",
		    id, expected);
		if (strstr(line, "(current)") != NULL)
			nix_current = id;
		expected++;
	}
	cr_assert_eq(expected - 1, last, "nix-env lists %ld generations",
	    expected - 1);
	cr_assert_eq(nix_current, current, "nix-env's current is %ld",
	    nix_current);
	harness_run_free(&r);
}

/* The profile's store path, as a new string, once it is none of known. */
static char *
scale_new_path(size_t known)
{
	char	*path = realpath(harness.profile, NULL);
	size_t	 k;

	cr_assert_not_null(path, "realpath %s: %s", harness.profile,
	    strerror(errno));
	for (k = 0; k < known; k++)
		cr_assert_str_neq(path, scale_paths[k]);
	return path;
}

/* rollback --json goes to generation id, and the profile with it. */
static void
scale_rollback(long id)
{
	struct json	*answer;

	answer = harness_ctl_json("rollback", NULL);
	cr_assert_eq(harness_number(answer, "generation"), id);
	json_free(answer);
	json_free(harness_wait_idle());
	scale_assert_current(id);
}

HARNESS_TEST_BOTH(scale, ten_thousand_generations)
{
	struct json	*answer;
	char		*arg;
	int		 k;

	scale_step("building the environments", SCALE_STEP_MS);
	scale_make_environments();
	scale_step("making the links", SCALE_STEP_MS);
	scale_make_links();
	harness_save_packages(scale_environment(SCALE_CURRENT)->names);

	/* Up at once; 10,001 is the file's build, the rest adopted. */
	scale_step("the socket's first answer", SCALE_ANSWER_MS);
	harness_start();
	scale_step("adoption and the first build", SCALE_ALL_MS);
	json_free(harness_wait(scale_settled, NULL,
	    "idle with every generation adopted"));
	scale_paths[SCALE_ENVIRONMENTS] = scale_new_path(SCALE_ENVIRONMENTS);
	scale_assert_current(SCALE_STARTED);

	scale_step("generations, every page", SCALE_ALL_MS);
	scale_assert_listed(SCALE_STARTED, SCALE_STARTED);
	scale_assert_table(SCALE_STARTED, SCALE_STARTED);

	scale_step("show and diff", SCALE_STEP_MS);
	scale_assert_shown(1, 2);
	scale_assert_shown(5000, 5001);
	scale_assert_shown(SCALE_LINKS, 0);
	scale_assert_shown(SCALE_STARTED, 0);
	scale_assert_diff(4998, 4999, "ripgrep-14.1", "cowsay-3.7 hello-2.12");
	scale_assert_diff(3, SCALE_LINKS, "cowsay-3.7", "");
	scale_assert_diff(1, 9997, "", "");
	scale_assert_diff(SCALE_CURRENT, SCALE_STARTED, "", "");

	/* A save: the next number, its parent the current. */
	scale_step("a save", SCALE_STEP_MS);
	harness_save_packages(SCALE_SAVED_NAMES);
	json_free(harness_wait_generation(SCALE_SAVED));
	scale_paths[SCALE_ENVIRONMENTS + 1] =
	    scale_new_path(SCALE_ENVIRONMENTS + 1);
	scale_assert_shown(SCALE_SAVED, 0);
	scale_assert_shown(SCALE_STARTED, SCALE_SAVED);
	harness_assert_runs("bin/rg", "ripgrep 14.1\n");

	/* Rollback goes to the parent: profiled's own, then nix-env's. */
	scale_step("two rollbacks", SCALE_STEP_MS);
	scale_rollback(SCALE_STARTED);
	scale_rollback(SCALE_CURRENT);
	harness_assert_runs("bin/cowsay", "cowsay 3.7\n");

	scale_step("switch --to an old one", SCALE_STEP_MS);
	xasprintf(&arg, "%d", SCALE_SWITCH_TO);
	answer = harness_ctl_json("switch", "--to", arg, NULL);
	cr_assert_eq(harness_number(answer, "generation"), SCALE_SWITCH_TO);
	json_free(answer);
	free(arg);
	json_free(harness_wait_idle());
	scale_assert_current(SCALE_SWITCH_TO);
	harness_assert_runs("bin/hello", "hello 2.12\n");

	/* Up again with 10,002 records: nothing to adopt, Nix agrees. */
	scale_step("a restart", SCALE_STEP_MS);
	harness_stop();
	harness_start();
	scale_step("settled after the restart", SCALE_ALL_MS);
	json_free(harness_wait(scale_settled, NULL, "idle after the restart"));
	scale_assert_current(SCALE_SWITCH_TO);
	scale_step("generations after the restart, every page", SCALE_ALL_MS);
	scale_assert_listed(SCALE_SAVED, SCALE_SWITCH_TO);
	scale_step("nix-env --list-generations", SCALE_STEP_MS);
	scale_assert_nix_lists(SCALE_SAVED, SCALE_SWITCH_TO);

	/*
	 * gc --keep: the newest 50 stay, and so do the current and its
	 * parent; --dry-run names the same and deletes nothing.
	 */
	scale_step("gc --dry-run", SCALE_ALL_MS);
	answer = harness_ctl_json("gc", "--dry-run", "--keep", "50", NULL);
	scale_assert_gc(answer, 1);
	json_free(answer);
	scale_assert_links(1);
	scale_step("gc", SCALE_ALL_MS);
	answer = harness_ctl_json("gc", "--keep", "50", NULL);
	scale_assert_gc(answer, 0);
	json_free(answer);
	scale_assert_links(0);
	scale_step("the records after gc", SCALE_ALL_MS);
	scale_assert_deleted(1, 1);
	scale_assert_deleted(SCALE_SWITCH_TO - 1, 0);
	scale_assert_deleted(SCALE_SAVED - SCALE_KEEP, 1);
	scale_assert_deleted(SCALE_SAVED - SCALE_KEEP + 1, 0);
	scale_assert_records();
	scale_step("Nix agrees after gc", SCALE_STEP_MS);
	harness_assert_nix_agrees();
	scale_step(NULL, HARNESS_DEADLINE_MS);

	for (k = 0; k < SCALE_ENVIRONMENTS + 2; k++) {
		free(scale_paths[k]);
		scale_paths[k] = NULL;
	}
}
