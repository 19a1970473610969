/*
 * profiled's one internal header: the types modules share and every
 * module's prototypes, grouped under the name of the file that defines them.
 * A module's functions carry its file name as their prefix.
 */
#ifndef PROFILED_H
#define PROFILED_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROFILED_VERSION	"0.1.0"

#define printflike(a, b)	__attribute__((format(printf, a, b)))

/* log.c */
struct event_base;
void	 log_init(const char *, int);
void	 log_loop(struct event_base *);
void	 log_loop_end(void);
void	 log_warn(const char *, ...) printflike(1, 2);
void	 log_warnx(const char *, ...) printflike(1, 2);
void	 log_info(const char *, ...) printflike(1, 2);
void	 log_debug(const char *, ...) printflike(1, 2);
void	 log_generation(unsigned, const char *, const char *, ...)
	     printflike(3, 4);
void	 fatal(const char *, ...) printflike(1, 2) __attribute__((noreturn));
void	 fatalx(const char *, ...) printflike(1, 2) __attribute__((noreturn));

/* xmalloc.c */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) printflike(2, 3);
int	 xvasprintf(char **, const char *, va_list) printflike(2, 0);

/* config.c */
struct config {
	char	*file;		/* the config file that was read, or NULL */
	char	*package_file;
	char	*profile;
	char	*default_profile; /* what profile would be if not set */
	char	*state_dir;
	char	*socket_path;
	int	 debounce_ms;
	int	 auto_switch;
	int	 notify;
	char	**nix_flags;	/* NULL-terminated words of nix_flags */
	int	 build_timeout;	/* seconds; 0: none */
	char	*nix_path;	/* NIX_PATH to use, or NULL */
	int	 keep_generations; /* retention: the newest kept; 0: all */
	int	 keep_days;	/* and those younger kept */
	struct config *retired;	/* values reloads replaced, see config_update */
};
/* How config_set reads a key's value. */
enum config_type {
	CONFIG_PATH,
	CONFIG_MILLISECONDS,
	CONFIG_BOOLEAN,
	CONFIG_WORDS,
	CONFIG_STRING,
	CONFIG_DURATION,
	CONFIG_COUNT
};
/*
 * A key of the config file, which is also profiled's flag --key (with '-'
 * for '_').  The last three fields are for people: --help and the README.
 */
struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;	/* of the field in struct config */
	int			 live;		/* a reload changes it at once */
	const char		*value_name;	/* FILE, N, BOOL, ... */
	const char		*default_text;	/* the default, as prose */
	const char		*description;	/* one short line */
};
extern const struct config_key config_keys[];	/* ends with a NULL name */
int	 config_init(struct config *, char **);
int	 config_read(struct config *, const char *, int, char **);
int	 config_set(struct config *, const char *, const char *, const char *,
	     char **);
int	 config_set_flag(struct config *, const struct config_key *,
	     const char *, char **);
char	*config_flag(const struct config_key *);
void	 config_update(struct config *, struct config *);
void	 config_free(struct config *);
char	*config_default_file(void);
int	 config_split_words(const char *, char ***, char **);
void	 config_free_words(char **);

/* json.c */
enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};
struct json {
	enum json_type	  type;
	int		  boolean;
	double		  number;
	char		 *string;	/* NUL-terminated, UTF-8 */
	size_t		  count;	/* array items or object members */
	struct json	**items;
	char		**keys;		/* object member names, else NULL */
};
struct json	*json_parse(const char *, size_t, char **);
void		 json_free(struct json *);
const struct json *json_get(const struct json *, const char *);
void		 json_write_string(FILE *, const char *);

/* sha256.c */
#define SHA256_HEX_SIZE	65
void	 sha256_hex(const void *, size_t, char [SHA256_HEX_SIZE]);

/* reason.c */
enum reason {
	REASON_SAVE,		/* the package file changed */
	REASON_SWITCH,		/* profilectl switch: build now */
	REASON_SWITCH_TO,	/* profilectl switch --to N */
	REASON_ROLLBACK,
	REASON_IMPORT		/* a generation profiled did not make */
};
const char *reason_name(enum reason);
int	 reason_parse(const char *, enum reason *);

/* path.c */
char	*path_dirname(const char *);
char	*path_basename(const char *);
int	 path_mkdir(const char *, mode_t, char **);
/* A package file larger than this is surely not one. */
#define PATH_FILE_MAX	(1024 * 1024)
/* path_read_file: not read for now (EMFILE, ENOMEM); try again later. */
#define PATH_READ_AGAIN	2
int	 path_read_file(const char *, size_t, char **, char **);

/* proc.c */
struct event_base;
struct proc;
typedef void (*proc_line_cb)(struct proc *, const char *, void *);
typedef void (*proc_exit_cb)(struct proc *, int, void *);
void	 proc_init(struct event_base *);
void	 proc_shutdown(void);
struct proc *proc_start(struct event_base *, char *const [], proc_line_cb,
	     proc_exit_cb, void *, char **);
const char *proc_stdout(struct proc *);
const char *proc_stderr(struct proc *);
void	 proc_free(struct proc *);
void	 proc_kill(struct proc *);
void	 proc_terminate(struct proc *);
char	*proc_run_sync(char *const [], char **);

struct event_base;

/* package.c */
struct package {
	char	*name;
	char	*version;
	char	*path;
};
struct package *package_list_copy(const struct package *, size_t);
void	 package_list_free(struct package *, size_t);
int	 package_version_compare(const char *, const char *);

/* package-edit.c */
enum package_edit_result {
	PACKAGE_EDIT_CHANGED,
	PACKAGE_EDIT_ALREADY,	/* add: in the list already */
	PACKAGE_EDIT_ABSENT,	/* remove: not in the list */
	PACKAGE_EDIT_WRAPPED	/* only inside an expression, such as hiPrio */
};
struct package_edit {
	const char			*attr;	/* hello, python3Packages.foo */
	enum package_edit_result	 result;
	unsigned			 line;	/* where it was found, or 0 */
};
int	 package_edit_valid_attr(const char *);
char	*package_edit_apply(const char *, const char *, size_t, int,
	     struct package_edit *, size_t, char **);

/* adopt.c */
typedef void (*adopt_changed_cb)(void);
void	 adopt_start(struct event_base *, const struct config *,
	     adopt_changed_cb);
int	 adopt_progress(size_t *, size_t *);
void	 adopt_catch_up(void);
int	 adopt_recording(void);
int	 adopt_pending(unsigned);
void	 adopt_free(void);

/* db.c */
struct generation {
	unsigned	 id;		/* the profile's number */
	unsigned	 parent;	/* 0: a root */
	char		*store_path;
	int64_t		 created;	/* unix seconds */
	enum reason	 reason;	/* save, switch, import */
	char		*content_hash;	/* NULL if not built by profiled */
	char		*content;	/* the package file as built, or NULL */
	int64_t		 build_ms;	/* -1: unknown */
	struct package	*packages;
	size_t		 npackages;
	int		 intent;	/* written before nix-env --set ended */
	char		*summary;	/* from the parent; NULL: unknown */
};
struct build_record {
	int64_t		 started;	/* unix seconds */
	uint64_t	 duration_ms;
	enum reason	 trigger;	/* save, switch */
	char		*content_hash;
	int		 ok;
	char		*error;		/* one line, NULL if ok */
	char		*out_path;	/* NULL if it failed */
	unsigned	 generation;	/* the one it made or equals; 0: none */
	int		 superseded;	/* newer content was saved meanwhile */
	char		*log;
	char		*file;		/* whose change started it, or NULL */
	char		*inputs_hash;	/* of the file and what it imports */
};
int	 db_open(const char *, char **);
const char *db_open_note(void);
const char *db_path(void);
int	 db_created(void);
void	 db_loop(struct event_base *);
void	 db_close(void);
void	 db_read_begin(void);
void	 db_read_end(void);
int	 db_failed(void);
int	 db_busy(void);
long long db_waiting_ms(void);
int	 db_generation_put(const struct generation *, char **);
int	 db_generation_put_many(const struct generation *, size_t, char **);
int	 db_generation_done(unsigned, unsigned, char **);
int	 db_generation_drop(unsigned, char **);
struct generation *db_generation_get(unsigned);
struct generation *db_generation_brief(unsigned);
struct generation *db_generation_copy(const struct generation *);
struct generation **db_generation_list(size_t *);
struct db_record_path {
	unsigned	 id;
	char		*store_path;
	int		 unread;	/* an import, its packages not read */
};
struct db_record_path *db_generation_paths(size_t *);
struct db_record_path *db_generation_range(unsigned, unsigned, size_t *);
struct generation **db_generation_after(unsigned, size_t, int, size_t *);
struct generation **db_generation_intents(size_t *);
int	 db_generation_path(unsigned, char **, int *);
int	 db_generation_lineage(unsigned, unsigned *, int64_t *);
/* Generations of one store path to give its packages (adopt.c). */
struct db_adoption {
	const unsigned		*ids;
	size_t			 nids;
	const char		*store_path;
	const struct package	*packages;
	size_t			 npackages;
};
int	 db_generation_adopt(const struct db_adoption *, size_t, size_t *,
	     char **);
void	 db_generation_paths_free(struct db_record_path *, size_t);
unsigned *db_generation_children(unsigned, size_t *);
void	 db_generation_free(struct generation *);
void	 db_generation_list_free(struct generation **, size_t);
int	 db_build_add(const struct build_record *, char **);
struct build_record *db_build_last(void);
struct build_record *db_build_of_generation(unsigned);
void	 db_build_free(struct build_record *);
char	*db_state_get(const char *);
int	 db_state_set(const char *, const char *);

/* profile.c */
struct profile_link {
	unsigned	 id;
	char		*store_path;
	int64_t		 created;
};
unsigned profile_parse_link_name(const char *, const char *);
char	*profile_link_path(const char *, unsigned);
int	 profile_current(const char *, unsigned *, char **, char **);
struct profile_link *profile_list(const char *, size_t *);
void	 profile_list_free(struct profile_link *, size_t);
int	 profile_switch(const char *, unsigned, char **);
int	 profile_link_home(const char *, char **);
char	*profile_home_warning(const char *);
int	 profile_links_are_roots(const char *);
typedef unsigned (*profile_newest_cb)(void);
int	 profile_create(const char *, const char *, profile_newest_cb,
	     unsigned *, char **);

/* links.c */
int	 links_open(struct event_base *, const char *, char **);
void	 links_close(void);
int	 links_scan(size_t);
void	 links_refresh(void);
void	 links_event(uint32_t, const char *);
const struct profile_link *links_list(size_t *);
const struct profile_link *links_get(unsigned);
unsigned links_newest(void);
unsigned links_below(unsigned);
size_t	 links_after(unsigned);
unsigned *links_take_changed(size_t *, int *);

/* nix.c */
void	 nix_init(const struct config *);
void	 nix_version_start(struct event_base *);
const char *nix_version(void);
const char *nix_bin_dir(void);
int	 nix_search_path_has(const char *);
void	 nix_shutdown(void);

/* manifest.c */
char	*manifest_packages(const char *, char **);
int	 manifest_parse_packages(const struct json *, struct package **,
	     size_t *);

/* build.c */
struct build_result {
	int		 ok;
	int		 stale;		/* the file changed while Nix read it */
	int		 cancelled;	/* stopped by build_stop */
	char		*error;		/* one line, for status */
	char		*out_path;
	struct package	*packages;
	size_t		 npackages;
	char		*log;		/* Nix's stderr */
	uint64_t	 duration_ms;
	char		**inputs;	/* files it imports, to watch too */
	size_t		 ninputs;
};
typedef void (*build_line_cb)(const char *, void *);
typedef void (*build_done_cb)(struct build_result *, void *);
int	 build_install_wrapper(const char *, char **);
int	 build_start(struct event_base *, const struct config *, const char *,
	     build_line_cb, build_done_cb, void *, char **);
int	 build_running(void);
char	*build_log(void);
void	 build_stop(const char *);
void	 build_cancel(void);
void	 build_result_free(struct build_result *);

/* nix-output.c */
char	*nix_output_evaluated_file(const char *);
char	*nix_output_error(const char *);

/* inputs.c */
struct inputs_snapshot {	/* the files as a build started from them */
	char		 *content;	/* the package file's text */
	char		  file_hash[SHA256_HEX_SIZE];
	char		  hash[SHA256_HEX_SIZE];	/* with its imports */
	char		**paths;	/* the imports */
	char		(*hashes)[SHA256_HEX_SIZE];
	size_t		  count;
};
void	 inputs_init(const char *);
void	 inputs_shutdown(void);
void	 inputs_watch(void);
int	 inputs_refresh(void);
int	 inputs_again(void);
const char *inputs_hash(void);
const char *inputs_error(void);
int	 inputs_file_exists(void);
int	 inputs_uses_nixpkgs(void);
const char *const *inputs_imports(size_t *);
struct inputs_snapshot *inputs_take(void);
void	 inputs_learn(struct inputs_snapshot *, char *const *, size_t);
void	 inputs_snapshot_free(struct inputs_snapshot *);

/* generation.c */
typedef void (*generation_created_cb)(unsigned, const char *, void *);
void	 generation_sync(const struct config *);
void	 generation_settle(void);
int	 generation_record_links(size_t, size_t, unsigned **, size_t *);
void	 generation_parse_manifest(const char *, const char *,
	     struct generation *);
int	 generation_is_creating(unsigned);
unsigned generation_rollback_target(const struct config *, unsigned, char **);
struct retention_policy;
unsigned *generation_retention_plan(const struct config *,
	     const struct retention_policy *, size_t *);
typedef void (*generation_deleted_cb)(const char *, void *);
int	 generation_delete(struct event_base *, const struct config *,
	     const unsigned *, size_t, generation_deleted_cb, void *, char **);
unsigned generation_reusable(const struct config *, const char *);
int	 generation_switch(const struct config *, unsigned, char **);
int	 generation_create(struct event_base *, const struct config *,
	     struct generation *, generation_created_cb, void *, char **);
int	 generation_cancel(void);
unsigned generation_waiting(void);
char	*generation_history_warning(const struct config *);

/* diff.c */
struct generation_change {
	char	*name;
	char	*old_version;
	char	*new_version;
	int	 order;		/* package_version_compare(new, old) */
};
struct generation_diff {
	struct package			*added;		/* in the new order */
	size_t				 nadded;
	struct package			*removed;	/* in the old order */
	size_t				 nremoved;
	struct generation_change	*changed;	/* in the new order */
	size_t				 nchanged;
};
void	 generation_diff(const struct generation *, const struct generation *,
	     struct generation_diff *);
void	 generation_diff_free(struct generation_diff *);
int	 generation_packages_unknown(const struct generation *);
char	*generation_summary(const struct generation *,
	     const struct generation *);

/* queue.c */
enum queue_state {
	QUEUE_IDLE,
	QUEUE_WAITING,		/* a save is being debounced */
	QUEUE_BUILDING,
	QUEUE_SWITCHING,	/* nix-env is making the new generation */
	QUEUE_DELETING		/* nix-env deletes old generations */
};
struct queue_status {		/* where things stand, for status and STATUS= */
	enum queue_state	 state;
	unsigned		 current;	/* the profile's generation */
	int			 in_sync;	/* it is what the files build */
	int			 held;		/* chosen by hand, and kept */
	int			 pending;	/* a build waits */
	int			 file_exists;
	const char		*file_error;	/* why it cannot be built */
	const char *const	*imports;
	size_t			 nimports;
	enum reason		 trigger;	/* of the running build */
	const char		*build_file;	/* whose change started it */
	const struct build_record *last_build;	/* or NULL */
	const char *const	*warnings;	/* for the user to act on */
	size_t			 nwarnings;
	const struct generation	*built;		/* built, not activated */
};
struct queue_switched {
	unsigned		 previous;	/* 0: none */
	unsigned		 generation;
	int			 created;
};
/* A request's end: what was switched (NULL for a wait), or the error. */
typedef void (*queue_done_cb)(const struct queue_switched *, const char *,
	     void *);
typedef void (*queue_changed_cb)(void);
void	 queue_init(struct event_base *, const struct config *,
	     queue_changed_cb);
int	 queue_stop(void);
void	 queue_shutdown(void);
void	 queue_file_changed(const char *);
void	 queue_switch_build(queue_done_cb, void *);
void	 queue_switch_to(int, unsigned, queue_done_cb, void *);
const struct generation *queue_built(void);
typedef void (*queue_gc_cb)(const unsigned *, size_t, const char *, void *);
void	 queue_gc(const struct retention_policy *, int, queue_gc_cb, void *);
void	 queue_wait(queue_done_cb, void *);
enum queue_state queue_state(void);
const char *queue_state_name(enum queue_state);
int	 queue_status(struct queue_status *, char **);
unsigned queue_builds_started(void);
void	 queue_adopted(void);
void	 queue_add_warning(char *);

/* events.c */
enum events_cancel {
	EVENTS_SUPERSEDED,	/* a build of newer content follows */
	EVENTS_HELD		/* a generation chosen by hand stays */
};
void	 events_subscribe(uint64_t, int, int);
void	 events_client_gone(uint64_t);
void	 events_client_replied(uint64_t);
void	 events_file_changed(const char *);
void	 events_file_error(const char *, const char *);
void	 events_build_queued(enum reason, const char *);
void	 events_build_started(enum reason, const char *, const char *);
void	 events_log_line(const char *);
void	 events_build_succeeded(const char *, uint64_t);
void	 events_build_failed(const char *, uint64_t);
void	 events_build_cancelled(const char *, uint64_t, enum events_cancel);
void	 events_switched(unsigned, unsigned, int, enum reason);
void	 events_held_foreign(unsigned, const char *);
void	 events_built(const struct generation *);
void	 events_shutdown(void);

/* watch.c */
typedef void (*watch_changed_cb)(const char *, void *);
int	 watch_start(struct event_base *, const char *, watch_changed_cb,
	     void *, char **);
int	 watch_set(const char *const *, size_t, char **);
void	 watch_stop(void);

/* server.c */
struct Profiled__Response;
int	 server_start(struct event_base *, int, const char *, char **);
void	 server_stop(void);
void	 server_send(uint64_t, const struct Profiled__Response *);
void	 server_send_frame(uint64_t, const unsigned char *, size_t);

/* retention.c */
struct retention_policy {
	size_t		 keep_generations;	/* the newest kept */
	unsigned	 keep_days;		/* those younger kept */
};
unsigned *retention_plan(const struct profile_link *, size_t, unsigned,
	     unsigned, const struct retention_policy *, int64_t, size_t *);

/* edit.c */
typedef void (*edit_done_cb)(const char *, const struct package_edit *,
	     size_t, int, void *);
int	 edit_start(struct event_base *, const struct config *, int,
	     char *const *, size_t, edit_done_cb, void *, char **);

/* store.c */
typedef void (*store_size_cb)(int, uint64_t, void *);
int	 store_closure_size(struct event_base *, const char *, store_size_cb,
	     void *, char **);
typedef void (*store_collected_cb)(const char *, uint64_t, uint64_t, void *);
int	 store_collect_garbage(struct event_base *, store_collected_cb, void *,
	     char **);

/* rpc.c */
struct Profiled__Request;
void	 rpc_init(struct event_base *, const struct config *);
void	 rpc_dispatch(uint64_t, const struct Profiled__Request *);
void	 rpc_reply_error(uint64_t, const char *);
void	 rpc_status(uint64_t);
void	 rpc_status_changed(void);
void	 rpc_adopted(void);
const unsigned char *rpc_status_frame(size_t *, char **);
void	 rpc_shutdown(void);

/* systemd.c */
void	 systemd_init(struct event_base *);
int	 systemd_listen_fd(char **);
void	 systemd_ready(void);
void	 systemd_reloading(void);
void	 systemd_status(const struct queue_status *);
void	 systemd_stopping(void);
void	 systemd_shutdown(void);

/* notify.c */
enum notify_action {
	NOTIFY_ACTION_NONE,
	NOTIFY_ACTION_ROLLBACK,	/* to the current generation's parent */
	NOTIFY_ACTION_UNDO,	/* a rollback: back to where it came from */
	NOTIFY_ACTION_SWITCH	/* activate a build auto_switch left */
};
typedef void (*notify_action_cb)(enum notify_action, unsigned, void *);
void	 notify_init(struct event_base *, const struct config *,
	     notify_action_cb, void *);
void	 notify_shutdown(void);
void	 notify_generation_changed(unsigned, unsigned, int);
void	 notify_build_failed(const char *);
void	 notify_held_foreign(unsigned, const char *);
void	 notify_built(const struct generation *);

#endif
