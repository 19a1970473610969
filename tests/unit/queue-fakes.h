/*
 * Fakes for everything daemon/queue.c calls beyond inputs, path, sha256,
 * reason, log, xmalloc and libevent, for tests/unit/queue-tests.  Each
 * call is logged as a line ("build_start", "reply switched 7 1->2", ...),
 * and a test decides how builds and nix-env end.  A fake misused (a build
 * started while one runs) notes it in fakes.violation, which the test's
 * assertions report at the test's own line.
 */
#ifndef QUEUE_FAKES_H
#define QUEUE_FAKES_H

#include "profiled.h"

/* What the fake profile, generations and builds answer. */
#define FAKES_GENERATIONS	16
struct fakes {
	unsigned		 current;	/* the profile's generation */
	char			*current_path;	/* its store path */
	char			 paths[FAKES_GENERATIONS][64]; /* nix-env made */
	unsigned		 rollback_target; /* 0: "nothing to roll back to" */
	unsigned		 reusable;	/* generation_reusable's answer */
	int			 recording;	/* adopt_recording's answer */
	int			 recorded;	/* the current one has a record */

	int			 building;	/* build_start ran, no result yet */
	char			*build_hash;	/* the content hash it builds */
	build_done_cb		 build_done;
	void			*build_arg;
	char			*stop_why;	/* build_stop's last reason */

	struct generation	*creating;	/* given to generation_create */
	generation_created_cb	 created_cb;
	void			*created_arg;

	char			*violation;	/* the first misuse of a fake */
};
extern struct fakes	fakes;

void	 fakes_reset(void);
void	 fakes_clear_log(void);
size_t	 fakes_count(const char *);
int	 fakes_logged(const char *);
char	*fakes_dump(void);
char	*fakes_state(const char *);

struct build_result *fakes_result_ok(const char *);
struct build_result *fakes_result_failed(const char *);
struct build_result *fakes_result_cancelled(void);
struct build_result *fakes_result_stale(void);
void	 fakes_result_add_input(struct build_result *, const char *);
void	 fakes_build_finish(struct build_result *);
void	 fakes_generation_created(unsigned);
void	 fakes_done_cb(const struct queue_switched *, const char *, void *);

#endif
