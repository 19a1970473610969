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
 *		point at (generations often share one), the current
 *		generation's first, then the others ADOPT_CHUNK at a time:
 *		one profiled built lists them in a comment heading its
 *		manifest.nix (manifest.c), read ADOPT_FILE_STEP files a step;
 *		the others are read by Nix, one nix-instantiate --eval of
 *		adopt-manifests.nix for up to ADOPT_NIX_BATCH of them;
 *   writing	them to each generation, ADOPT_WRITE_STEP generations a
 *		transaction, then on to the next chunk.
 *
 * Reading is once per environment, and Nix starts once per batch: years
 * of nix-env leave about one environment per generation, and a Nix start
 * costs more than reading a manifest.
 *
 * A save meanwhile is numbered from the links (scanned at once if it comes
 * first) and its record is never touched here.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

extern const char adopt_manifests_nix[];

/* Each step is well under a millisecond on an idle machine. */
#define ADOPT_SCAN_STEP		64
#define ADOPT_RECORD_STEP	256
#define ADOPT_WRITE_STEP	64
/* Manifests' first lines read a step: a few KB each, from the cache. */
#define ADOPT_FILE_STEP		16
/*
 * Store paths one Nix evaluation reads: a Nix start is tens of ms, a
 * small manifest a tenth of one (1,000 in 0.2 s here).  A batch that
 * fails is halved until the manifest to blame is read (and fails) alone.
 * They go in one argument, which Linux caps at 128 KiB: half that, at most.
 */
#define ADOPT_NIX_BATCH		1024
#define ADOPT_NIX_ARG_MAX	(64 * 1024)
/* Environments read ahead of writing: what is held in memory at once. */
#define ADOPT_CHUNK		1024
/* How long a step the database's lock refused waits, in ms. */
#define ADOPT_RETRY_MS		20
/* A step longer than this is logged (at debug): a regression shows. */
#define ADOPT_SLOW_MS		5

enum adopt_phase {
	ADOPT_IDLE,
	ADOPT_SCANNING,
	ADOPT_RECORDING,
	ADOPT_READING,
	ADOPT_WRITING
};

/* Where an environment's package list is. */
enum adopt_source {
	ADOPT_UNREAD,
	ADOPT_NEEDS_NIX,	/* no list of profiled's in manifest.nix */
	ADOPT_READ,
	ADOPT_FAILED		/* logged; its generations stay without */
};

struct adopt_env {
	char			*store_path;
	unsigned		*ids;		/* the imports pointing at it */
	size_t			 nids;
	enum adopt_source	 source;
	struct package		*packages;	/* once read */
	size_t			 npackages;
};

/* A link to group: the generation id points at store_path. */
struct adopt_link {
	const char	*store_path;
	unsigned	 id;
};

/* Where generation id is: the index-th of adopt.envs[env]'s ids. */
struct adopt_place {
	unsigned	 id;
	size_t		 env;
	size_t		 index;
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
	struct adopt_env	*envs;		/* by store path, but the first */
	size_t			 nenvs;
	unsigned		*ids;		/* every env's, env after env */
	struct adopt_place	*places;	/* by id */
	int			 current_first;	/* envs[0] is the current's */
	size_t			 next;		/* the chunk's first env */
	size_t			 filed;		/* and its end, so far */
	size_t			 needs_nix;	/* in the chunk */
	size_t			 batch_max;	/* store paths a Nix reads */
	size_t			*batch;		/* the envs it reads */
	size_t			 nbatch;
	size_t			 wenv;		/* writing: this env's ids */
	size_t			 written;	/* from this one on */
	size_t			 done;		/* generations gone through */
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

static int
adopt_link_compare(const void *a, const void *b)
{
	const struct adopt_link	*la = a, *lb = b;
	int			 rc;

	if ((rc = strcmp(la->store_path, lb->store_path)) != 0)
		return rc;
	return la->id < lb->id ? -1 : la->id > lb->id;
}

static int
adopt_place_compare(const void *a, const void *b)
{
	const struct adopt_place	*pa = a, *pb = b;

	return pa->id < pb->id ? -1 : pa->id > pb->id;
}

/* Move adopt.envs[i] to the front, keeping the others' order. */
static void
adopt_env_to_front(size_t i)
{
	struct adopt_env	env = adopt.envs[i];

	memmove(&adopt.envs[1], &adopt.envs[0], i * sizeof *adopt.envs);
	adopt.envs[0] = env;
}

/*
 * Group the generations recorded unread by user environment, sorting the
 * links by store path (one pass, however many environments), the current
 * generation's first: a build held because it would replace it can then
 * say what it would remove.
 */
static void
adopt_group(void)
{
	const struct profile_link	*link;
	struct adopt_link		*links;
	struct adopt_env		*env = NULL;
	char				*current = NULL, *cause = NULL;
	unsigned			 current_id = 0;
	size_t				 i, j, n = 0;

	if (profile_current(adopt.cfg->profile, &current_id, &current,
	    &cause) == -1)
		free(cause);
	links = xcalloc(adopt.nunread + 1, sizeof *links);
	for (i = 0; i < adopt.nunread; i++) {
		if ((link = links_get(adopt.unread[i])) == NULL)
			continue;
		links[n].store_path = xstrdup(link->store_path);
		links[n++].id = link->id;
	}
	qsort(links, n, sizeof *links, adopt_link_compare);
	adopt.ids = xcalloc(n + 1, sizeof *adopt.ids);
	adopt.envs = xcalloc(n + 1, sizeof *adopt.envs);
	for (i = 0; i < n; i++) {
		if (env == NULL ||
		    strcmp(env->store_path, links[i].store_path) != 0) {
			env = &adopt.envs[adopt.nenvs++];
			env->store_path = xstrdup(links[i].store_path);
			env->ids = &adopt.ids[i];
		}
		env->ids[env->nids++] = links[i].id;
		free((char *)links[i].store_path);
	}
	free(links);
	adopt.total = n;
	for (i = 0; current != NULL && current_id != 0 && i < adopt.nenvs;
	    i++) {
		if (strcmp(adopt.envs[i].store_path, current) == 0) {
			adopt_env_to_front(i);
			adopt.current_first = 1;
			break;
		}
	}
	free(current);
	adopt.places = xcalloc(n + 1, sizeof *adopt.places);
	for (i = n = 0; i < adopt.nenvs; i++) {
		for (j = 0; j < adopt.envs[i].nids; j++, n++) {
			adopt.places[n].id = adopt.envs[i].ids[j];
			adopt.places[n].env = i;
			adopt.places[n].index = j;
		}
	}
	qsort(adopt.places, n, sizeof *adopt.places, adopt_place_compare);
	free(adopt.unread);
	adopt.unread = NULL;
	adopt.nunread = 0;
	adopt.batch = xcalloc(ADOPT_NIX_BATCH, sizeof *adopt.batch);
	adopt.batch_max = ADOPT_NIX_BATCH;
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

/*
 * Take env's package list from list, an array of { name, version, path }
 * as user-env.nix and adopt-manifests.nix write it: 0, or -1 if it is not.
 */
static int
adopt_parse_packages(struct adopt_env *env, const struct json *list)
{
	if (manifest_parse_packages(list, &env->packages,
	    &env->npackages) == -1)
		return -1;
	env->source = ADOPT_READ;
	return 0;
}

/* Read env's list from its manifest.nix if profiled wrote one there. */
static void
adopt_read_file(struct adopt_env *env)
{
	struct json	*list = NULL;
	char		*text, *cause = NULL;

	env->source = ADOPT_NEEDS_NIX;
	if ((text = manifest_packages(env->store_path, &cause)) != NULL)
		list = json_parse(text, strlen(text), &cause);
	if (list != NULL && adopt_parse_packages(env, list) == -1)
		log_warnx("%s/manifest.nix has a bad package list; asking Nix",
		    env->store_path);
	json_free(list);
	free(text);
	free(cause);
	if (env->source == ADOPT_NEEDS_NIX)
		adopt.needs_nix++;
}

/*
 * Whether the chunk being read is as long as it gets: the current
 * generation's environment is a chunk of its own, so that a build waiting
 * for it waits for no other.
 */
static int
adopt_chunk_full(void)
{
	size_t	len = adopt.filed - adopt.next;

	return adopt.filed == adopt.nenvs || len >= ADOPT_CHUNK ||
	    adopt.needs_nix >= ADOPT_NIX_BATCH ||
	    (adopt.current_first && adopt.next == 0 && len >= 1);
}

/* One step of writing the chunk read, ADOPT_WRITE_STEP generations. */
static void
adopt_write(void)
{
	struct db_adoption	 list[ADOPT_WRITE_STEP];
	struct adopt_env	*env;
	size_t			 n = 0, ids = 0, wenv, written, took, i;
	char			*cause = NULL;

	wenv = adopt.wenv;
	written = adopt.written;
	while (wenv < adopt.filed && ids < ADOPT_WRITE_STEP) {
		env = &adopt.envs[wenv];
		if (env->source == ADOPT_READ) {
			list[n].ids = env->ids + written;
			list[n].nids = env->nids - written;
			if (list[n].nids > ADOPT_WRITE_STEP - ids)
				list[n].nids = ADOPT_WRITE_STEP - ids;
			list[n].store_path = env->store_path;
			list[n].packages = env->packages;
			list[n].npackages = env->npackages;
			ids += list[n].nids;
			written += list[n++].nids;
		} else
			written = env->nids;	/* failed: logged */
		if (written == env->nids) {
			wenv++;
			written = 0;
		}
	}
	if (n > 0 && db_generation_adopt(list, n, &took, &cause) == -1) {
		if (db_busy()) {
			free(cause);
			adopt_later(ADOPT_RETRY_MS);
			return;
		}
		log_warnx("cannot record the packages of %zu user "
		    "environment%s: %s", n, n == 1 ? "" : "s", cause);
		free(cause);
	}
	for (i = adopt.wenv; i < wenv; i++)
		adopt.done += adopt.envs[i].nids;
	adopt.done += written;
	adopt.done -= adopt.written;
	adopt.wenv = wenv;
	adopt.written = written;
	if (wenv < adopt.filed) {
		adopt_later(0);
		return;
	}
	for (i = adopt.next; i < adopt.filed; i++) {
		package_list_free(adopt.envs[i].packages,
		    adopt.envs[i].npackages);
		adopt.envs[i].packages = NULL;
		adopt.envs[i].npackages = 0;
	}
	adopt.next = adopt.filed;
	adopt.needs_nix = 0;
	adopt.batch_max = ADOPT_NIX_BATCH;
	adopt.phase = ADOPT_READING;
	if (adopt.next == adopt.nenvs) {
		if (adopt.total > 0)
				log_info("adopted %zu existing generation%s",
			    adopt.total, adopt.total == 1 ? "" : "s");
		adopt_finish();
		return;
	}
	adopt_later(0);
}

/* The chunk is read: write it. */
static void
adopt_read_done(void)
{
	adopt.phase = ADOPT_WRITING;
	adopt_write();
}

static void	adopt_read_nix(void);

static void
adopt_nix_exit_cb(struct proc *p, int status, void *arg)
{
	struct adopt_env	*env;
	struct json		*result = NULL;
	char			*cause = NULL;
	const char		*out;
	size_t			 i;

	adopt.proc = NULL;
	out = proc_stdout(p);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (result = json_parse(out, strlen(out), &cause)) != NULL &&
	    result->type == JSON_ARRAY && result->count == adopt.nbatch) {
		for (i = 0; i < adopt.nbatch; i++) {
			env = &adopt.envs[adopt.batch[i]];
			if (adopt_parse_packages(env, result->items[i]) == 0)
				continue;
			log_warnx("cannot list the packages of %s: its "
			    "manifest.nix does not evaluate", env->store_path);
			env->source = ADOPT_FAILED;
		}
		/* Past a bad manifest, back to whole batches. */
		if (adopt.batch_max < ADOPT_NIX_BATCH)
			adopt.batch_max *= 2;
	} else if (adopt.nbatch > 1) {
		/* Some manifest fails the whole evaluation: halve. */
		log_debug("reading %zu user environments failed; trying %zu",
		    adopt.nbatch, adopt.nbatch / 2);
		adopt.batch_max = adopt.nbatch / 2;
	} else {
		env = &adopt.envs[adopt.batch[0]];
		log_warnx("cannot list the packages of %s: %s",
		    env->store_path, cause != NULL ? cause : proc_stderr(p));
		env->source = ADOPT_FAILED;
	}
	json_free(result);
	free(cause);
	proc_free(p);
	adopt_read_nix();
	adopt.changed_cb();
}

/* Start Nix on the next batch of the chunk's environments, or write it. */
static void
adopt_read_nix(void)
{
	struct adopt_env	*env;
	char			*paths = NULL, *cause = NULL, *argv[] = {
	    "nix-instantiate", "--eval", "--strict", "--json", "-E",
	    (char *)adopt_manifests_nix, "--argstr", "storePaths", NULL,
	    NULL };
	size_t			 i, len = 0, at;

	adopt.nbatch = 0;
	for (i = adopt.next; i < adopt.filed &&
	    adopt.nbatch < adopt.batch_max; i++) {
		if (adopt.envs[i].source != ADOPT_NEEDS_NIX)
			continue;
		if (adopt.nbatch > 0 && len + strlen(adopt.envs[i].store_path) +
		    1 > ADOPT_NIX_ARG_MAX)
			break;
		adopt.batch[adopt.nbatch++] = i;
		len += strlen(adopt.envs[i].store_path) + 1;
	}
	if (adopt.nbatch == 0) {
		adopt_read_done();
		return;
	}
	/* One a line: a store path has no newline, nor is it Nix text. */
	paths = xcalloc(len + 1, 1);
	for (i = at = 0; i < adopt.nbatch; i++) {
		env = &adopt.envs[adopt.batch[i]];
		len = strlen(env->store_path);
		memcpy(paths + at, env->store_path, len);
		paths[at + len] = '\n';
		at += len + 1;
	}
	argv[8] = paths;
	adopt.proc = proc_start(adopt.base, argv, NULL, adopt_nix_exit_cb,
	    NULL, &cause);
	free(paths);
	if (adopt.proc != NULL)
		return;
	log_warnx("cannot list the packages of %zu user environment%s: %s",
	    adopt.nbatch, adopt.nbatch == 1 ? "" : "s", cause);
	free(cause);
	for (i = 0; i < adopt.nbatch; i++)
		adopt.envs[adopt.batch[i]].source = ADOPT_FAILED;
	adopt_read_done();
}

/*
 * One step of reading the next chunk: ADOPT_FILE_STEP manifests' first
 * lines, then, the chunk complete, Nix for what they did not list.
 */
static void
adopt_read(void)
{
	size_t	n;

	if (adopt.proc != NULL)
		return;
	for (n = 0; n < ADOPT_FILE_STEP && !adopt_chunk_full(); n++)
		adopt_read_file(&adopt.envs[adopt.filed++]);
	if (!adopt_chunk_full()) {
		adopt_later(0);
		return;
	}
	adopt.wenv = adopt.next;
	adopt.written = 0;
	adopt_read_nix();
}

/* One step of adoption, each bounded; one past ADOPT_SLOW_MS is logged. */
static void
adopt_step_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timespec	 start, end, cpu_start, cpu_end;
	long long	 ms;
	int		 rc, phase = adopt.phase;

	clock_gettime(CLOCK_MONOTONIC, &start);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
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
	case ADOPT_READING:
		adopt_read();
		break;
	case ADOPT_WRITING:
		adopt_write();
		break;
	case ADOPT_IDLE:
		break;
	}
	adopt.changed_cb();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (end.tv_sec - start.tv_sec) * 1000LL +
	    (end.tv_nsec - start.tv_nsec) / 1000000;
	if (ms > ADOPT_SLOW_MS)
		log_debug("adoption step %d held the loop for %lld ms (%.1f ms "
		    "of CPU)", phase, ms,
		    (cpu_end.tv_sec - cpu_start.tv_sec) * 1e3 +
		    (cpu_end.tv_nsec - cpu_start.tv_nsec) / 1e6);
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
 * Whether adoption is still scanning or recording the profile's links, in
 * steps: until it is done, a link may have no record (adopt_catch_up
 * records them all at once).
 */
int
adopt_recording(void)
{
	return adopt.phase == ADOPT_SCANNING || adopt.phase == ADOPT_RECORDING;
}

/*
 * Whether generation id is recorded without its packages and adoption is
 * still to read them (its environment is read or being read now).
 */
int
adopt_pending(unsigned id)
{
	struct adopt_place	 key = { .id = id }, *place;

	if (adopt_recording())
		return 1;
	if (adopt.phase == ADOPT_IDLE || (place = bsearch(&key, adopt.places,
	    adopt.total, sizeof *adopt.places, adopt_place_compare)) == NULL)
		return 0;
	return place->env > adopt.wenv || (place->env == adopt.wenv &&
	    place->index >= adopt.written);
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
		package_list_free(adopt.envs[i].packages,
		    adopt.envs[i].npackages);
	}
	free(adopt.envs);
	free(adopt.ids);
	free(adopt.places);
	free(adopt.batch);
	free(adopt.unread);
	adopt.envs = NULL;
	adopt.ids = NULL;
	adopt.places = NULL;
	adopt.batch = NULL;
	adopt.unread = NULL;
	adopt.nunread = adopt.nenvs = adopt.next = adopt.filed = 0;
	adopt.needs_nix = adopt.nbatch = adopt.wenv = adopt.written = 0;
	adopt.done = adopt.total = 0;
	adopt.current_first = 0;
	adopt.phase = ADOPT_IDLE;
}
