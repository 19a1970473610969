/*
 * profilectl's one internal header: the command table's types and every
 * client module's prototypes, grouped under the name of the file that
 * defines them.  Each command lives in its own cmd-<verb>.c and exports one
 * struct cmd_entry; cmd.c holds the table and what the commands share.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profiled.pb-c.h"

/* The global options, given before the command (or --json after it). */
struct client_options {
	const char	*socket_path;	/* --socket, or NULL for the config's */
	int		 json;		/* --json: one JSON value on stdout */
};

/* A command: its name, its arguments for the usage line, and its body. */
struct cmd_entry {
	const char	*name;
	const char	*usage;
	int		(*exec)(int, char **, struct client_options *);
};

/* Exit codes: success, a failure reported on stderr, bad usage. */
#define CLIENT_EXIT_OK		0
#define CLIENT_EXIT_FAILURE	1
#define CLIENT_EXIT_USAGE	2

/* cmd.c */
#define CMD_USAGE_PREFIX	"usage: profilectl [--socket PATH] [--json] "
extern const struct cmd_entry	*cmd_table[];
const struct cmd_entry *cmd_find(const char *);
int	 cmd_usage(const struct cmd_entry *);
int	 cmd_bad_option(int, char **, const struct cmd_entry *);
int	 cmd_parse_flags(int, char **, struct client_options *,
	     const struct cmd_entry *, int);
int	 cmd_parse_number(const char *, unsigned long long, unsigned long long,
	     unsigned long long *);

/* cmd-*.c */
extern const struct cmd_entry	cmd_generations_entry;
extern const struct cmd_entry	cmd_help_entry;
extern const struct cmd_entry	cmd_log_entry;
extern const struct cmd_entry	cmd_rollback_entry;
extern const struct cmd_entry	cmd_status_entry;
extern const struct cmd_entry	cmd_switch_entry;
extern const struct cmd_entry	cmd_wait_entry;
extern const struct cmd_entry	cmd_watch_entry;

/* client.c */
int	 client_connect(const char *, char **);
int	 client_open(const struct client_options *, const Profiled__Request *);
Profiled__Response *client_receive(int, char **);
void	 client_error(Profiled__Response *);
Profiled__Response *client_answer(int, Profiled__Response__ResultCase,
	     void (*)(const Profiled__Event *));
Profiled__Response *client_request(const struct client_options *,
	     const Profiled__Request *, Profiled__Response__ResultCase);

/* output.c */
void	 output_json_string(const char *);
void	 output_json_time(int64_t);
void	 output_json_number(int, uint64_t);
void	 output_json_bool(int);
void	 output_local_time(int64_t, char *, size_t);
void	 output_switched(const Profiled__Switched *, int, int);
void	 output_status_json(const Profiled__Status *);
void	 output_event(FILE *, const Profiled__Event *, int, int);

#endif
