/*
 * profiled: keeps the user's Nix profile equal to their package file.
 *
 * main() reads the configuration, takes the state directory's lock, opens
 * the generation store, starts the socket, the file watch and the queue,
 * and runs the one libevent loop until SIGTERM or SIGINT.  SIGHUP reloads
 * the configuration.  It runs in the foreground, as systemd expects.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "profiled.h"

/*
 * getopt_long returns PROFILED_KEY + i for config_keys[i]'s flag: past
 * every character, so it cannot be mistaken for a short option.
 */
#define PROFILED_KEY		256
#define PROFILED_SHORT		"c:vVh"
#define PROFILED_WIDTH		80	/* where the synopsis wraps */

/* profiled's own flags; profiled_options adds one per config key. */
static const struct option profiled_own_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
};
#define PROFILED_NOWN \
	(sizeof profiled_own_options / sizeof profiled_own_options[0])

/* Return a new getopt_long array: the own flags, then the config keys'. */
static struct option *
profiled_options(void)
{
	struct option	*options;
	size_t		 n = 0, i;

	while (config_keys[n].name != NULL)
		n++;
	options = xcalloc(PROFILED_NOWN + n + 1, sizeof *options);
	memcpy(options, profiled_own_options, sizeof profiled_own_options);
	for (i = 0; i < n; i++) {
		options[PROFILED_NOWN + i].name = config_flag(&config_keys[i]);
		options[PROFILED_NOWN + i].has_arg = required_argument;
		options[PROFILED_NOWN + i].val = PROFILED_KEY + (int)i;
	}
	return options;
}

/* Free an array from profiled_options. */
static void
profiled_options_free(struct option *options)
{
	struct option	*o;

	for (o = options + PROFILED_NOWN; o->name != NULL; o++)
		free((char *)o->name);
	free(options);
}

/*
 * Print a space and the len bytes of word at *column, first going to a new
 * line indented by indent if they would run past PROFILED_WIDTH.
 */
static void
profiled_wrap(FILE *f, size_t indent, size_t *column, const char *word,
    size_t len)
{
	if (*column > indent && *column + 1 + len > PROFILED_WIDTH) {
		fprintf(f, "\n%*s", (int)indent, "");
		*column = indent;
	}
	fprintf(f, " %.*s", (int)len, word);
	*column += 1 + len;
}

/* Print the synopsis, one [--flag VALUE] per key, wrapped under its name. */
static void
profiled_synopsis(FILE *f)
{
	static const char	 start[] = "usage: profiled";
	const struct config_key	*k;
	char			*flag, *item;
	size_t			 column = strlen(start);

	fputs(start, f);
	profiled_wrap(f, strlen(start), &column, "[-vV]", strlen("[-vV]"));
	profiled_wrap(f, strlen(start), &column, "[--config FILE]",
	    strlen("[--config FILE]"));
	for (k = config_keys; k->name != NULL; k++) {
		flag = config_flag(k);
		xasprintf(&item, "[--%s %s]", flag, k->value_name);
		profiled_wrap(f, strlen(start), &column, item, strlen(item));
		free(item);
		free(flag);
	}
	fputc('\n', f);
}

/* Print one flag's line of --help: flag in width columns, then text. */
static void
profiled_help_flag(size_t width, const char *flag, const char *text)
{
	printf("  %-*s  %s\n", (int)width, flag, text);
}

/* Print a key's default under its description, wrapped between words. */
static void
profiled_help_default(size_t width, const char *text)
{
	static const char	 label[] = "default:";
	const char		*word = text;
	size_t			 indent = 2 + width + 2, column, len;

	printf("%*s%s", (int)indent, "", label);
	column = indent + strlen(label);
	for (;;) {
		word += strspn(word, " ");
		if (*word == '\0')
			break;
		len = strcspn(word, " ");
		profiled_wrap(stdout, indent + strlen(label), &column, word,
		    len);
		word += len;
	}
	putchar('\n');
}

/*
 * Print --help: the synopsis, where settings come from, then each flag
 * with what it sets and its default, the flags aligned in one column.
 */
static void
profiled_help(void)
{
	const struct config_key	*k;
	char			*flag, *left;
	size_t			 width = strlen("-c, --config FILE"), len;

	for (k = config_keys; k->name != NULL; k++) {
		len = strlen("    --") + strlen(k->name) + 1 +
		    strlen(k->value_name);
		if (len > width)
			width = len;
	}

	profiled_synopsis(stdout);
	printf("\n"
	    "Keeps the user's Nix profile equal to their package file.\n"
	    "\n"
	    "Settings are read from $XDG_CONFIG_HOME/profiled/profiled.conf "
	    "(or --config\n"
	    "FILE, which must exist), one `key = value` a line.  Every key "
	    "is also a flag\n"
	    "(debounce_ms is --debounce-ms), and a flag wins over the file.  "
	    "Unset,\n"
	    "$XDG_CONFIG_HOME is ~/.config and $XDG_STATE_HOME is "
	    "~/.local/state; without\n"
	    "$XDG_RUNTIME_DIR the socket is /tmp/profiled-UID/profiled.sock."
	    "\n\n");
	profiled_help_flag(width, "-c, --config FILE",
	    "read settings from FILE instead");
	for (k = config_keys; k->name != NULL; k++) {
		flag = config_flag(k);
		xasprintf(&left, "    --%s %s", flag, k->value_name);
		profiled_help_flag(width, left, k->description);
		profiled_help_default(width, k->default_text);
		free(left);
		free(flag);
	}
	profiled_help_flag(width, "-v, --verbose", "log debug messages too");
	profiled_help_flag(width, "-V, --version", "print the version and exit");
	profiled_help_flag(width, "-h, --help", "print this help and exit");
}

/* Exit with status: 0 after --help on stdout, else the synopsis on stderr. */
static void __attribute__((noreturn))
profiled_usage(int status)
{
	if (status == 0)
		profiled_help();
	else
		profiled_synopsis(stderr);
	exit(status);
}

/*
 * Make the state directory, or check the one there: it holds the history
 * and the wrapper Nix evaluates for every build, so it must be ours and
 * private.  One with looser modes (made by hand, or under a lax umask) is
 * tightened to 0700 and the log says so; one of another user is refused.
 * -1 and *cause if it cannot be used.
 */
static int
profiled_state_dir(const char *dir, char **cause)
{
	struct stat	sb;

	if (path_mkdir(dir, 0700, cause) == -1)
		return -1;
	if (stat(dir, &sb) == -1) {
		xasprintf(cause, "state directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		xasprintf(cause, "state directory %s is not a directory", dir);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		xasprintf(cause, "state directory %s belongs to uid %u, not to "
		    "you (uid %u); refusing to use it", dir,
		    (unsigned)sb.st_uid, (unsigned)geteuid());
		return -1;
	}
	if ((sb.st_mode & 077) == 0)
		return 0;
	if (chmod(dir, 0700) == -1) {
		xasprintf(cause, "state directory %s has mode %04o and cannot "
		    "be made 0700: %s", dir, (unsigned)(sb.st_mode & 07777),
		    strerror(errno));
		return -1;
	}
	log_warnx("state directory %s had mode %04o; made it 0700", dir,
	    (unsigned)(sb.st_mode & 07777));
	return 0;
}

/*
 * Take the lock file at path for what (a state directory, a profile), so
 * that one profiled runs for it; -1 and *cause, naming the pid of the
 * profiled that holds it, if another does.  The descriptor stays open for
 * life, and holds our pid for the next one to name.
 */
static int
profiled_lock(const char *path, const char *what, char **cause)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC|O_NOFOLLOW,
	    0600)) == -1) {
		xasprintf(cause, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
		n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		xasprintf(cause, "another profiled%s%s%s is already running "
		    "for %s (it holds %s)", *buf != '\0' ? " (pid " : "", buf,
		    *buf != '\0' ? ")" : "", what, path);
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", (long)getpid());
	return 0;
}

/*
 * Take the state directory's lock, then the profile's, so that two
 * daemons never manage one profile, even from two state directories (they
 * would fight, and one never rebuild).  Nix's own <profile>.lock cannot be
 * held: nix-env --set takes it for each switch, and deletes it after; so
 * the profile's lock is a file of ours beside it.
 */
static int
profiled_locks(const struct config *cfg, int profile_dir, char **cause)
{
	char	*path, *what;
	int	 rc;

	xasprintf(&path, "%s/lock", cfg->state_dir);
	rc = profiled_lock(path, cfg->state_dir, cause);
	free(path);
	if (rc == -1)
		return -1;
	if (!profile_dir) {
		/* Not there yet: the state directory's lock must do. */
		log_info("no lock beside %s until Nix makes its directory",
		    cfg->profile);
		return 0;
	}
	xasprintf(&path, "%s.profiled.lock", cfg->profile);
	xasprintf(&what, "profile %s", cfg->profile);
	rc = profiled_lock(path, what, cause);
	free(what);
	free(path);
	return rc;
}

/* A watched file changed (NULL: any may have). */
static void
profiled_file_changed_cb(const char *path, void *arg)
{
	queue_file_changed(path);
}

/* The switch a notification's button asked for is over. */
static void
profiled_switched_cb(const struct queue_switched *sw, const char *error,
    void *arg)
{
	if (error != NULL)
		log_warnx("the switch asked from the desktop notification "
		    "failed: %s", error);
}

/* A desktop notification's button was pressed: do what it offered. */
static void
profiled_notify_action_cb(enum notify_action action, unsigned generation,
    void *arg)
{
	switch (action) {
	case NOTIFY_ACTION_ROLLBACK:
		queue_switch_to(1, 0, NULL, NULL);
		break;
	case NOTIFY_ACTION_UNDO:
		queue_switch_to(0, generation, NULL, NULL);
		break;
	case NOTIFY_ACTION_SWITCH:
		queue_switch_build(profiled_switched_cb, NULL);
		break;
	case NOTIFY_ACTION_NONE:
		break;
	}
}

/* The queue's status may have changed: keep systemd's STATUS= current. */
static void
profiled_status_cb(void)
{
	struct queue_status	 status;
	char			*cause = NULL;

	rpc_status_changed();
	if (queue_status(&status, &cause) == -1) {
		log_debug("%s", cause);
		free(cause);
		return;
	}
	systemd_status(&status);
}

/*
 * Adoption went on: a build or a page of generations may wait for it,
 * and status shows it.
 */
static void
profiled_adopt_cb(void)
{
	queue_adopted();
	rpc_adopted();
	profiled_status_cb();
}

/* Exit, once a generation nix-env is making (if any) is recorded. */
static void
profiled_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	log_info("%s; exiting", strsignal(sig));
	systemd_stopping();
	if (queue_stop() == 0)
		event_base_loopbreak(arg);
}

/*
 * The command line, kept so that a reload reads the same file and lets the
 * same flags win over it.
 */
static struct {
	int		 argc;
	char		**argv;
	const char	*file;		/* --config FILE, or NULL */
} profiled_args;

/*
 * Fill cfg with the defaults, then the config file, then the flags, which
 * win; -1 and *cause (cfg freed) if the file or a flag is bad.
 */
static int
profiled_load(struct config *cfg, char **cause)
{
	struct option	*options;
	char		*default_file;
	int		 opt, retval;

	if (config_init(cfg, cause) == -1)
		return -1;
	if (profiled_args.file != NULL)
		retval = config_read(cfg, profiled_args.file, 0, cause);
	else if ((default_file = config_default_file()) == NULL)
		retval = 0;
	else {
		retval = config_read(cfg, default_file, 1, cause);
		free(default_file);
	}

	/* Flags go through config.c too, so they are checked the same way. */
	options = profiled_options();
	optind = 1;
	while (retval == 0 && (opt = getopt_long(profiled_args.argc,
	    profiled_args.argv, PROFILED_SHORT, options, NULL)) != -1) {
		if (opt >= PROFILED_KEY)
			retval = config_set_flag(cfg,
			    &config_keys[opt - PROFILED_KEY], optarg, cause);
	}
	profiled_options_free(options);
	if (retval == -1)
		config_free(cfg);
	return retval;
}

/* Read the flags profiled itself acts on, then cfg; exit on error. */
static void
profiled_configure(struct config *cfg, int argc, char **argv, int *verbose)
{
	struct option	*options;
	char		*cause = NULL;
	int		 opt;

	options = profiled_options();
	while ((opt = getopt_long(argc, argv, PROFILED_SHORT, options,
	    NULL)) != -1) {
		switch (opt) {
		case 'c':
			profiled_args.file = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'V':
			printf("profiled %s\n", PROFILED_VERSION);
			exit(0);
		case 'h':
			profiled_usage(0);
		default:
			if (opt < PROFILED_KEY)
				profiled_usage(2);
			break;
		}
	}
	if (optind != argc)
		profiled_usage(2);
	profiled_options_free(options);

	profiled_args.argc = argc;
	profiled_args.argv = argv;
	if (profiled_load(cfg, &cause) == -1)
		fatalx("%s", cause);
}

/*
 * SIGHUP: read the config file and flags again and take what can change
 * while profiled runs; a bad file is logged and the old settings kept.
 * systemd is told the reload began and, either way, that it is over.
 */
static void
profiled_reload_cb(evutil_socket_t sig, short events, void *arg)
{
	struct config	*cfg = arg, fresh;
	char		*cause = NULL;

	systemd_reloading();
	log_info("%s; reloading the configuration", strsignal(sig));
	if (profiled_load(&fresh, &cause) == -1) {
		log_warnx("%s; keeping the configuration in use", cause);
		free(cause);
	} else
		config_update(cfg, &fresh);
	rpc_status_changed();
	systemd_ready();
}

int
main(int argc, char **argv)
{
	struct config		 cfg;
	struct event_base	*base;
	struct event		*sigterm, *sigint, *sighup;
	char			*cause = NULL, *path, *dir, *history;
	int			 profile_dir;
	int			 verbose = 0, fd;

	log_init("profiled", 0);
	profiled_configure(&cfg, argc, argv, &verbose);
	log_init("profiled", verbose);
	signal(SIGPIPE, SIG_IGN);
	/* Until the loop handles it, a reload must not end the daemon. */
	signal(SIGHUP, SIG_IGN);

	/* Nothing profiled or Nix writes is for others to change. */
	umask(umask(022) | 022);

	if (profiled_state_dir(cfg.state_dir, &cause) == -1)
		fatalx("%s", cause);
	/*
	 * On a multi-user Nix the nix-daemon makes a user's per-user profile
	 * directory when the user first talks to it, and the user cannot:
	 * the first build's nix-env does, and fails saying why if not.
	 */
	dir = path_dirname(cfg.profile);
	if (path_mkdir(dir, 0755, &cause) == -1) {
		log_info("%s; Nix makes it at the first build", cause);
		free(cause);
		cause = NULL;
		profile_dir = 0;
	} else
		profile_dir = 1;
	if (profiled_locks(&cfg, profile_dir, &cause) == -1)
		fatalx("%s", cause);
	free(dir);
	nix_init(&cfg);
	/* As nix-env on first use: the shell finds the default profile. */
	if (strcmp(cfg.profile, cfg.default_profile) == 0 &&
	    profile_link_home(cfg.profile, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		cause = NULL;
	}
	xasprintf(&path, "%s/profiled.db", cfg.state_dir);
	if (db_open(path, &cause) == -1)
		fatalx("%s", cause);
	free(path);
	history = generation_history_warning(&cfg);
	if (build_install_wrapper(cfg.state_dir, &cause) == -1)
		fatalx("%s", cause);

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	log_loop(base);
	proc_init(base);
	sigterm = evsignal_new(base, SIGTERM, profiled_signal_cb, base);
	sigint = evsignal_new(base, SIGINT, profiled_signal_cb, base);
	sighup = evsignal_new(base, SIGHUP, profiled_reload_cb, &cfg);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    event_add(sigterm, NULL) || event_add(sigint, NULL) ||
	    event_add(sighup, NULL))
		fatalx("cannot watch signals");

	db_loop(base);
	/* The links are read from the loop, after the socket answers. */
	if (links_open(base, cfg.profile, &cause) == -1)
		fatalx("%s", cause);
	rpc_init(base, &cfg);
	systemd_init(base);
	notify_init(base, &cfg, profiled_notify_action_cb, NULL);
	if ((fd = systemd_listen_fd(&cause)) == -2 ||
	    server_start(base, fd, cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	if (watch_start(base, cfg.package_file, profiled_file_changed_cb, NULL,
	    &cause) == -1)
		fatalx("%s", cause);
	queue_add_warning(history);
	queue_init(base, &cfg, profiled_status_cb);
	log_info("watching %s for profile %s", cfg.package_file, cfg.profile);
	systemd_ready();
	/* Status shows Nix's version; asking it costs a fork, after the bind. */
	nix_version_start(base);
	profiled_status_cb();
	adopt_start(base, &cfg, profiled_adopt_cb);

	event_base_dispatch(base);

	adopt_free();
	links_close();
	queue_shutdown();
	rpc_shutdown();
	events_shutdown();
	notify_shutdown();
	nix_shutdown();
	systemd_shutdown();
	watch_stop();
	server_stop();
	db_close();
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	proc_shutdown();
	log_loop_end();
	event_base_free(base);
	config_free(&cfg);
	return 0;
}
