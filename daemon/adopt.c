/*
 * Adoption: what start-up does with a profile's existing generations,
 * after the socket answers and systemd has heard READY=1, so that neither
 * waits for it.  From the loop, in bounded steps so that every call is
 * answered between two of them:
 *
 *   scanning	the profile's directory, ADOPT_SCAN_STEP entries a step
 *		(links.c keeps what it finds, and inotify the rest);
 *   recording	the links with no record, as imports, ADOPT_RECORD_STEP
 *		links (one query, one transaction) a step;
 *   reading	the packages of each distinct user environment those
 *		point at, one nix-env -q at a time (generations often share
 *		one), the current generation's first;
 *   writing	them to each generation, ADOPT_WRITE_STEP a transaction.
 *
 * A save meanwhile is numbered from the links (scanned at once if it comes
 * first) and its record is never touched here.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

/* Each step is well under a millisecond on an idle machine. */
#define ADOPT_SCAN_STEP		256
#define ADOPT_RECORD_STEP	256
#define ADOPT_WRITE_STEP	256
/* How long a step the database's lock refused waits, in ms. */
#define ADOPT_RETRY_MS		20

enum adopt_phase {
	ADOPT_IDLE,
	ADOPT_SCANNING,
	ADOPT_RECORDING,
	ADOPT_READING,
	ADOPT_WRITING
};

struct adopt_env {
	char		*store_path;
	unsigned	*ids;		/* the imports pointing at it */
	size_t		 nids;
};

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	adopt_changed_cb	 changed_cb;
	enum adopt_phase	 phase;
	struct event		*step;
	unsigned		 after;		/* recording: links above it */
	unsigned		*unread;	/* recorded, packages unread */
	size_t			 nunread;
	struct adopt_env	*envs;
	size_t			 nenvs;
	size_t			 next;		/* the env being read */
	size_t			 written;	/* of its ids, gone through */
	struct generation	 read;		/* its packages, once read */
	size_t			 done;		/* generations read */
	size_t			 total;		/* generations to read */
	struct proc		*proc;
} adopt;

static void	adopt_read(void);
static void	adopt_finish(void);

/* Take the next step from the loop, after delay_ms. */
static void
adopt_later(int delay_ms)
{
	struct timeval	tv = { 0, delay_ms * 1000 };

	evtimer_add(adopt.step, &tv);
}

/* The env for store_path in adopt.envs, added if it is not there. */
static struct adopt_env *
adopt_env(const char *store_path)
{
	struct adopt_env	*env;
	size_t			 i;

	for (i = 0; i < adopt.nenvs; i++) {
		if (strcmp(adopt.envs[i].store_path, store_path) == 0)
			return &adopt.envs[i];
	}
	adopt.envs = xreallocarray(adopt.envs, adopt.nenvs + 1,
	    sizeof *adopt.envs);
	env = &adopt.envs[adopt.nenvs++];
	memset(env, 0, sizeof *env);
	env->store_path = xstrdup(store_path);
	return env;
}

/*
 * Group the generations recorded unread by user environment, the current
 * generation's first: a build held because it would replace it can then
 * say what it would remove.
 */
static void
adopt_group(void)
{
	const struct profile_link	*link;
	struct adopt_env		*env, first;
	char				*store_path = NULL, *cause = NULL;
	unsigned			 current = 0;
	size_t				 i;

	if (profile_current(adopt.cfg->profile, &current, &store_path,
	    &cause) == -1)
		free(cause);
	if (store_path != NULL && current != 0)
		adopt_env(store_path);
	free(store_path);
	for (i = 0; i < adopt.nunread; i++) {
		if ((link = links_get(adopt.unread[i])) == NULL)
			continue;
		env = adopt_env(link->store_path);
		env->ids = xreallocarray(env->ids, env->nids + 1,
		    sizeof *env->ids);
		env->ids[env->nids++] = link->id;
		adopt.total++;
	}
	free(adopt.unread);
	adopt.unread = NULL;
	adopt.nunread = 0;
	/* The current one's went first; with none unread, it goes. */
	if (adopt.nenvs > 0 && adopt.envs[0].nids == 0) {
		first = adopt.envs[0];
		memmove(&adopt.envs[0], &adopt.envs[1],
		    (adopt.nenvs - 1) * sizeof *adopt.envs);
		adopt.nenvs--;
		free(first.store_path);
	}
	if (adopt.total > 0)
		log_info("adopting %zu existing generation%s (%zu user "
		    "environment%s) in the background", adopt.total,
		    adopt.total == 1 ? "" : "s", adopt.nenvs,
		    adopt.nenvs == 1 ? "" : "s");
}

/*
 * Record the next max links at most (0: all): 1 once every link is
 * compared, 0 if more remain, -1 if the database's lock refused.
 */
static int
adopt_record(size_t max)
{
	const struct profile_link	*list;
	size_t				 count, first, last;

	links_refresh();
	list = links_list(&count);
	if ((first = links_after(adopt.after)) >= count)
		return 1;
	last = max == 0 || first + max > count ? count - 1 : first + max - 1;
	if (generation_record_links(first, last, &adopt.unread,
	    &adopt.nunread) == -1) {
		if (db_busy())
			return -1;
		log_warnx("existing generations are not recorded; the next "
		    "start tries again");
	}
	adopt.after = list[last].id;
	return last + 1 == count;
}

/* Every link is recorded: read their packages. */
static void
adopt_recorded(void)
{
	adopt_group();
	adopt.phase = ADOPT_READING;
	adopt_read();
}

/* The scan is over: settle the intents, then record, from the start. */
static void
adopt_scanned(void)
{
	unsigned	*ids;
	size_t		 n;
	int		 full;

	/* Every link is compared here, in steps, not by a sync. */
	ids = links_take_changed(&n, &full);
	free(ids);
	generation_settle();
	adopt.phase = ADOPT_RECORDING;
}

/* One step of writing the env read to ADOPT_WRITE_STEP of its ids. */
static void
adopt_write(void)
{
	struct adopt_env	*env = &adopt.envs[adopt.next];
	size_t			 n, written;
	char			*cause = NULL;

	n = env->nids - adopt.written;
	if (n > ADOPT_WRITE_STEP)
		n = ADOPT_WRITE_STEP;
	if (db_generation_adopt(env->ids + adopt.written, n, env->store_path,
	    adopt.read.packages, adopt.read.npackages, &written,
	    &cause) == -1) {
		if (db_busy()) {
			free(cause);
			adopt_later(ADOPT_RETRY_MS);
			return;
		}
		log_warnx("cannot record the packages of %s: %s",
		    env->store_path, cause);
		free(cause);
	}
	adopt.written += n;
	adopt.done += n;
	if (adopt.written < env->nids) {
		adopt_later(0);
		adopt.changed_cb();
		return;
	}
	package_list_free(adopt.read.packages, adopt.read.npackages);
	memset(&adopt.read, 0, sizeof adopt.read);
	adopt.next++;
	adopt.phase = ADOPT_READING;
	adopt_read();
	adopt.changed_cb();
}

static void
adopt_exit_cb(struct proc *p, int status, void *arg)
{
	struct adopt_env	*env = &adopt.envs[adopt.next];

	adopt.proc = NULL;
	memset(&adopt.read, 0, sizeof adopt.read);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		generation_parse_manifest(env->store_path, proc_stdout(p),
		    &adopt.read);
		proc_free(p);
		adopt.written = 0;
		adopt.phase = ADOPT_WRITING;
		adopt_write();
		return;
	}
	log_warnx("cannot list the packages of %s: %s", env->store_path,
	    proc_stderr(p));
	proc_free(p);
	adopt.done += env->nids;
	adopt.next++;
	adopt_read();
	adopt.changed_cb();
}

/* Start reading the next environment, or finish. */
static void
adopt_read(void)
{
	struct adopt_env	*env;
	char			*link, *cause = NULL;
	char			*argv[] = { "nix-env", "--profile", NULL, "-q",
	    "--json", "--out-path", NULL };
	size_t			 i;

	while (adopt.next < adopt.nenvs) {
		env = &adopt.envs[adopt.next];
		/* Retention (or nix-env) may have deleted some meanwhile. */
		link = NULL;
		for (i = 0; i < env->nids && link == NULL; i++) {
			link = profile_link_path(adopt.cfg->profile,
			    env->ids[i]);
			if (access(link, F_OK) != 0) {
				free(link);
				link = NULL;
			}
		}
		if (link != NULL) {
			argv[2] = link;
			adopt.proc = proc_start(adopt.base, argv, NULL,
			    adopt_exit_cb, NULL, &cause);
			free(link);
			if (adopt.proc != NULL)
				return;
			log_warnx("cannot list the packages of %s: %s",
			    env->store_path, cause);
			free(cause);
			cause = NULL;
		}
		adopt.done += env->nids;
		adopt.next++;
	}
	if (adopt.total > 0)
		log_info("adopted %zu existing generation%s", adopt.total,
		    adopt.total == 1 ? "" : "s");
	adopt_finish();
}

static void
adopt_step_cb(evutil_socket_t fd, short events, void *arg)
{
	int	rc;

	switch (adopt.phase) {
	case ADOPT_SCANNING:
		if (links_scan(ADOPT_SCAN_STEP))
			adopt_scanned();
		adopt_later(0);
		break;
	case ADOPT_RECORDING:
		if ((rc = adopt_record(ADOPT_RECORD_STEP)) == 1)
			adopt_recorded();
		else
			adopt_later(rc == -1 ? ADOPT_RETRY_MS : 0);
		break;
	case ADOPT_WRITING:
		adopt_write();
		break;
	case ADOPT_READING:
	case ADOPT_IDLE:
		break;
	}
	adopt.changed_cb();
}

/*
 * A call needs every link recorded (a page of generations, a rollback, a
 * build that may replace an import): if start-up has not got that far,
 * get there now, in one go.  A no-op once it has.
 */
void
adopt_catch_up(void)
{
	int	rc = 0;

	if (adopt.phase != ADOPT_SCANNING && adopt.phase != ADOPT_RECORDING)
		return;
	evtimer_del(adopt.step);
	if (adopt.phase == ADOPT_SCANNING) {
		links_scan(0);
		adopt_scanned();
	}
	if ((rc = adopt_record(0)) == 1)
		adopt_recorded();
	else
		adopt_later(ADOPT_RETRY_MS);
	adopt.changed_cb();
}

/*
 * Adopt the profile's existing generations in the background (links.c
 * must be open); changed_cb is called as steps are taken.
 */
void
adopt_start(struct event_base *base, const struct config *cfg,
    adopt_changed_cb changed_cb)
{
	adopt.base = base;
	adopt.cfg = cfg;
	adopt.changed_cb = changed_cb;
	adopt.phase = ADOPT_SCANNING;
	if ((adopt.step = evtimer_new(base, adopt_step_cb, NULL)) == NULL)
		fatalx("cannot create a timer");
	adopt_later(0);
}

/*
 * Whether adoption runs: then *done of *total generations are read.
 * Until every link is compared (the first milliseconds), *total is those
 * found so far, and may be 0: a client waiting for adoption to end must
 * not take the start for its end.
 */
int
adopt_progress(size_t *done, size_t *total)
{
	*done = adopt.done;
	*total = adopt.phase == ADOPT_RECORDING || adopt.phase ==
	    ADOPT_SCANNING ? adopt.nunread : adopt.total;
	return adopt.phase != ADOPT_IDLE;
}

/*
 * Whether generation id is recorded without its packages and adoption is
 * still to read them (its environment is read or being read now).
 */
int
adopt_pending(unsigned id)
{
	size_t	i, j;

	if (adopt.phase == ADOPT_SCANNING || adopt.phase == ADOPT_RECORDING)
		return 1;
	for (i = adopt.next; i < adopt.nenvs; i++) {
		j = i == adopt.next && adopt.phase == ADOPT_WRITING ?
		    adopt.written : 0;
		for (; j < adopt.envs[i].nids; j++) {
			if (adopt.envs[i].ids[j] == id)
				return 1;
		}
	}
	return 0;
}

/* Stop (at exit): what is not adopted is adopted at the next start. */
void
adopt_free(void)
{
	adopt_finish();
	if (adopt.step != NULL)
		event_free(adopt.step);
	adopt.step = NULL;
}

/* Adoption is over (or stopped): forget it, keeping the step's timer. */
static void
adopt_finish(void)
{
	size_t	i;

	if (adopt.proc != NULL) {
		proc_kill(adopt.proc);
		adopt.proc = NULL;
	}
	if (adopt.step != NULL)
		evtimer_del(adopt.step);
	for (i = 0; i < adopt.nenvs; i++) {
		free(adopt.envs[i].store_path);
		free(adopt.envs[i].ids);
	}
	free(adopt.envs);
	adopt.envs = NULL;
	free(adopt.unread);
	adopt.unread = NULL;
	package_list_free(adopt.read.packages, adopt.read.npackages);
	memset(&adopt.read, 0, sizeof adopt.read);
	adopt.nunread = adopt.nenvs = adopt.next = adopt.done = 0;
	adopt.total = adopt.written = 0;
	adopt.phase = ADOPT_IDLE;
}
