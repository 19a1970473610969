/*
 * profilectl's one internal header: the command table's types and every
 * client module's prototypes, grouped under the name of the file that
 * defines them.  Each command lives in its own cmd-<verb>.c and exports one
 * struct cmd_entry; cmd.c holds the table and what the commands share.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profiled.pb-c.h"

/* The global options, given before the command (or --json after it). */
struct client_options {
	const char	*socket_path;	/* --socket, or NULL to look for it */
	int		 json;		/* --json: one JSON value on stdout */
};

/*
 * One option, declared once in a table that parses it, prints it in the
 * usage line and describes it in --help.  A table ends with a NULL name.
 */
struct cmd_option {
	const char	*name;		/* --name */
	int		 letter;	/* -letter as well, or 0 */
	const char	*value;		/* its value's name ("N"), NULL: a flag */
	const char	*about;		/* one line for --help */
};

/* A command's options and other arguments as given, from cmd_args_parse. */
struct cmd_args;

/* args.upper for a command taking any number of arguments: "NAME ...". */
#define CMD_ARGS_MANY	INT_MAX

/*
 * A command: its name, a line saying what it does, the options it takes
 * besides --json and --help, how many other arguments it takes (and their
 * name for the usage line), and its body, which reads the parsed arguments.
 */
struct cmd_entry {
	const char		*name;
	const char		*about;
	const struct cmd_option	*options;
	struct {
		int		 lower;
		int		 upper;
		const char	*name;
	} args;
	int			(*exec)(struct cmd_args *,
				    struct client_options *);
};

/*
 * Exit codes, the same for every command and documented in profilectl(1):
 * success; the operation failed (a build, or the daemon said no); bad
 * usage; profiled not running or not reachable; --timeout passed.
 */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAILURE	1
#define CLIENT_EXIT_USAGE	2
#define CLIENT_EXIT_UNREACHABLE	3
#define CLIENT_EXIT_TIMEOUT	4

/* cmd.c */
#define CMD_USAGE_PREFIX	"usage: profilectl [--socket PATH] [--json] "
extern const struct cmd_entry	*cmd_table[];
extern const struct cmd_option	 cmd_common_options[];
const struct cmd_entry *cmd_find(const char *);
void	 cmd_unknown(const char *);
char	*cmd_usage_arguments(const struct cmd_entry *);
int	 cmd_usage(const struct cmd_entry *);
struct cmd_args *cmd_args_parse(const struct cmd_option *, int, char **, int,
	     char **);
struct cmd_args *cmd_parse(const struct cmd_entry *, int, char **,
	     struct client_options *);
void	 cmd_args_free(struct cmd_args *);
int	 cmd_args_has(const struct cmd_args *, const char *);
const char *cmd_args_get(const struct cmd_args *, const char *);
int	 cmd_args_count(const struct cmd_args *);
const char *cmd_args_string(const struct cmd_args *, int);
char	**cmd_args_values(const struct cmd_args *);
int	 cmd_parse_number(const char *, unsigned long long, unsigned long long,
	     unsigned long long *);

/* cmd-*.c */
extern const struct cmd_entry	cmd_add_entry;
extern const struct cmd_entry	cmd_diff_entry;
extern const struct cmd_entry	cmd_gc_entry;
extern const struct cmd_entry	cmd_generations_entry;
extern const struct cmd_entry	cmd_help_entry;
extern const struct cmd_entry	cmd_import_entry;
extern const struct cmd_entry	cmd_list_entry;
extern const struct cmd_entry	cmd_log_entry;
extern const struct cmd_entry	cmd_remove_entry;
extern const struct cmd_entry	cmd_rollback_entry;
extern const struct cmd_entry	cmd_show_entry;
extern const struct cmd_entry	cmd_status_entry;
extern const struct cmd_entry	cmd_switch_entry;
extern const struct cmd_entry	cmd_wait_entry;
extern const struct cmd_entry	cmd_watch_entry;

/* cmd-show.c */
Profiled__Response *cmd_show_request(struct client_options *, unsigned, int,
	     int);

/* text-diff.c */
int	 text_diff_unified(FILE *, const char *, const char *, size_t,
	     const char *, const char *, size_t);

/* cmd-help.c */
int	 cmd_help_show(const struct cmd_entry *, const struct client_options *);
int	 cmd_help_no_command(const struct client_options *);

/* profilectl.c */
extern const struct cmd_option	profilectl_options[];

/* client-socket.c */
struct client_socket {
	char	*paths[2];	/* to try in order; the first is the one */
	int	 count;
	char	*source;	/* where the first comes from, for people */
	int	 expected;	/* --socket, or the usual place: an error
				   need not say where it came from */
};
void	 client_socket_find(const struct client_options *,
	     struct client_socket *);
void	 client_socket_free(struct client_socket *);

/* client.c */
int	 client_open(const struct client_options *, const Profiled__Request *);
Profiled__Response *client_receive(int);
void	 client_error(Profiled__Response *);
Profiled__Response *client_answer(int, Profiled__Response__ResultCase,
	     void (*)(const Profiled__Event *));
Profiled__Response *client_request(const struct client_options *,
	     const Profiled__Request *, Profiled__Response__ResultCase);
Profiled__Response *client_request_on(const struct client_options *, int *,
	     const Profiled__Request *, Profiled__Response__ResultCase);

/* output.c */
enum output_colour {
	OUTPUT_PLAIN,		/* back to no colour */
	OUTPUT_GOOD,		/* built, active, in sync */
	OUTPUT_BAD,		/* failed */
	OUTPUT_BUSY		/* under way, or waiting on the user */
};
int	 output_fail(int, const char *, ...) printflike(2, 3);
void	 output_json_failure(void);
int	 output_exit(int, int);
void	 output_colour(FILE *, enum output_colour);
void	 output_local_time(int64_t, char *, size_t);
void	 output_switched(const Profiled__Switched *, int, int);
void	 output_status_json(const Profiled__Status *);
void	 output_event(FILE *, const Profiled__Event *, int, int);
size_t	 output_width(const char *);
size_t	 output_cut(const char *, size_t);
void	 output_packages_sort(Profiled__Package **, size_t);
void	 output_packages(FILE *, Profiled__Package **, size_t, const char *);
void	 output_packages_json(const char *, Profiled__Package **, size_t);

/* output-json.c */
#define OUTPUT_JSON_SCHEMA	1
void	 output_json_object(const char *);
void	 output_json_array(const char *);
void	 output_json_end(void);
void	 output_json_string(const char *, const char *);
void	 output_json_number(const char *, int, uint64_t);
void	 output_json_bool(const char *, int);
void	 output_json_time(const char *, int64_t);
void	 output_json_time_ms(const char *, int64_t);

#endif
