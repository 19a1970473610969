/*
 * Adoption: reading the packages of the generations profiled found in the
 * profile (imports, recorded by generation_sync without them) in the
 * background, so that start-up does not wait for one nix-env per
 * generation.  One child at a time, one per distinct user environment
 * (generations often share one); each result is written as it comes.  The
 * loop never waits on it.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

struct adopt_env {
	char		*store_path;
	unsigned	*ids;		/* the imports pointing at it */
	size_t		 nids;
};

static struct {
	struct event_base	*base;
	const struct config	*cfg;
	adopt_changed_cb	 changed_cb;
	struct adopt_env	*envs;
	size_t			 nenvs;
	size_t			 next;		/* the env being read */
	size_t			 done;		/* generations read */
	size_t			 total;		/* generations to read */
	struct proc		*proc;
} adopt;

static void	adopt_next(void);

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
 * Write the packages read for env to each of its generations still an
 * import without packages for that store path: a record the queue wrote
 * meanwhile (an intent, a generation made) is never touched.
 */
static void
adopt_write(const struct adopt_env *env, const struct generation *read)
{
	struct generation	*gen;
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < env->nids; i++) {
		if (generation_is_creating(env->ids[i]))
			continue;
		gen = db_generation_get(env->ids[i]);
		if (gen == NULL || gen->intent || gen->reason != REASON_IMPORT ||
		    gen->npackages != 0 ||
		    strcmp(gen->store_path, env->store_path) != 0) {
			db_generation_free(gen);
			continue;
		}
		gen->packages = package_list_copy(read->packages,
		    read->npackages);
		gen->npackages = read->npackages;
		if (db_generation_put(gen, &cause) == -1) {
			log_warnx("cannot record the packages of generation "
			    "%u: %s", gen->id, cause);
			free(cause);
			cause = NULL;
		}
		db_generation_free(gen);
	}
}

static void
adopt_exit_cb(struct proc *p, int status, void *arg)
{
	struct adopt_env	*env = &adopt.envs[adopt.next];
	struct generation	 read;

	memset(&read, 0, sizeof read);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		generation_parse_manifest(env->store_path, proc_stdout(p),
		    &read);
		adopt_write(env, &read);
	} else
		log_warnx("cannot list the packages of %s: %s",
		    env->store_path, proc_stderr(p));
	package_list_free(read.packages, read.npackages);
	proc_free(p);
	adopt.proc = NULL;
	adopt.done += env->nids;
	adopt.next++;
	adopt_next();
	adopt.changed_cb();
}

/* Start reading the next environment, or finish. */
static void
adopt_next(void)
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
	adopt_free();
}

/*
 * Read, in the background, the packages of every import recorded without
 * them whose link is there (generation_sync recorded them); changed_cb is
 * called as each environment is read.
 */
void
adopt_start(struct event_base *base, const struct config *cfg,
    adopt_changed_cb changed_cb)
{
	struct generation	**records;
	struct profile_link	 *links;
	struct adopt_env	 *env;
	size_t			  nrecords, nlinks, i, j = 0;

	adopt.base = base;
	adopt.cfg = cfg;
	adopt.changed_cb = changed_cb;
	records = db_generation_list(&nrecords);
	links = profile_list(cfg->profile, &nlinks);
	/* Both are in id order. */
	for (i = 0; i < nrecords; i++) {
		if (records[i]->intent || records[i]->reason != REASON_IMPORT ||
		    records[i]->npackages != 0)
			continue;
		while (j < nlinks && links[j].id < records[i]->id)
			j++;
		if (j == nlinks || links[j].id != records[i]->id ||
		    strcmp(links[j].store_path, records[i]->store_path) != 0)
			continue;
		env = adopt_env(records[i]->store_path);
		env->ids = xreallocarray(env->ids, env->nids + 1,
		    sizeof *env->ids);
		env->ids[env->nids++] = records[i]->id;
		adopt.total++;
	}
	profile_list_free(links, nlinks);
	db_generation_list_free(records, nrecords);
	if (adopt.total > 0)
		log_info("adopting %zu existing generation%s (%zu user "
		    "environment%s) in the background", adopt.total,
		    adopt.total == 1 ? "" : "s", adopt.nenvs,
		    adopt.nenvs == 1 ? "" : "s");
	adopt_next();
}

/* Whether adoption runs: then *done of *total generations are read. */
int
adopt_progress(size_t *done, size_t *total)
{
	*done = adopt.done;
	*total = adopt.total;
	return adopt.total > 0;
}

/* Stop reading (at exit): what is not read is read at the next start. */
void
adopt_free(void)
{
	size_t	i;

	if (adopt.proc != NULL) {
		proc_kill(adopt.proc);
		adopt.proc = NULL;
	}
	for (i = 0; i < adopt.nenvs; i++) {
		free(adopt.envs[i].store_path);
		free(adopt.envs[i].ids);
	}
	free(adopt.envs);
	adopt.envs = NULL;
	adopt.nenvs = adopt.next = adopt.done = adopt.total = 0;
}
