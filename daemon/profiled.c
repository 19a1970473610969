/*
 * profiled: keeps the user's Nix profile equal to their package file.
 *
 * main() reads the configuration, takes the state directory's lock, opens
 * the generation store, starts the socket, the file watch and the queue,
 * and runs the one libevent loop until SIGTERM or SIGINT.  It runs in the
 * foreground, as systemd expects.
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

static const struct option profiled_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "package-file", required_argument, NULL, 'K' },
	{ "profile", required_argument, NULL, 'K' },
	{ "state-dir", required_argument, NULL, 'K' },
	{ "socket", required_argument, NULL, 'K' },
	{ "debounce-ms", required_argument, NULL, 'K' },
	{ "auto-switch", required_argument, NULL, 'K' },
	{ "notify", required_argument, NULL, 'K' },
	{ "nix-flags", required_argument, NULL, 'K' },
	{ "build-timeout", required_argument, NULL, 'K' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void __attribute__((noreturn))
profiled_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: profiled [-vV] [--config FILE] [--package-file FILE] "
	    "[--profile PATH]\n"
	    "                [--state-dir DIR] [--socket PATH] "
	    "[--debounce-ms N] [--auto-switch BOOL]\n"
	    "                [--notify BOOL] [--nix-flags FLAGS] "
	    "[--build-timeout DURATION]\n");
	exit(status);
}

/*
 * Take the state directory's lock, so one user runs one profiled; -1 and
 * *cause if another holds it.  The descriptor stays open for life.
 */
static int
profiled_lock(const char *state_dir, char **cause)
{
	char	*path, buf[32];
	ssize_t	 n;
	int	 fd;

	xasprintf(&path, "%s/lock", state_dir);
	if ((fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0600)) == -1) {
		xasprintf(cause, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX|LOCK_NB) == -1) {
		n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		xasprintf(cause, "another profiled%s%s%s is already running "
		    "for %s", *buf != '\0' ? " (pid " : "", buf,
		    *buf != '\0' ? ")" : "", state_dir);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", (long)getpid());
	return 0;
}

/* A watched file changed (NULL: any may have). */
static void
profiled_file_changed_cb(const char *path, void *arg)
{
	queue_file_changed(path);
}

/* The desktop notification's Roll back button was pressed. */
static void
profiled_rollback_cb(void *arg)
{
	queue_switch_to(1, 0, NULL, NULL);
}

/* The queue's status may have changed: keep systemd's STATUS= current. */
static void
profiled_status_cb(void)
{
	struct queue_status	 status;
	char			*cause = NULL;

	if (queue_status(&status, &cause) == -1) {
		log_debug("%s", cause);
		free(cause);
		return;
	}
	systemd_status(&status);
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

/* Read the config file and then the flags, which win; exit on error. */
static void
profiled_configure(struct config *cfg, int argc, char **argv, int *verbose)
{
	const char	*file = NULL;
	char		*cause = NULL, *key, *p, *default_file;
	int		 opt, index;

	while ((opt = getopt_long(argc, argv, "c:vVh", profiled_options,
	    NULL)) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'V':
			printf("profiled %s\n", PROFILED_VERSION);
			exit(0);
		case 'h':
			profiled_usage(0);
		case 'K':
			break;
		default:
			profiled_usage(2);
		}
	}
	if (optind != argc)
		profiled_usage(2);

	if (config_init(cfg, &cause) == -1)
		fatalx("%s", cause);
	default_file = config_default_file();
	if (config_read(cfg, file != NULL ? file : default_file, file == NULL,
	    &cause) == -1)
		fatalx("%s", cause);
	free(default_file);

	/* Flags go through config_set too, so they are checked the same way. */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:vVh", profiled_options,
	    &index)) != -1) {
		if (opt != 'K')
			continue;
		key = xstrdup(profiled_options[index].name);
		for (p = key; *p != '\0'; p++) {
			if (*p == '-')
				*p = '_';
		}
		if (config_set(cfg, key, optarg, NULL, &cause) == -1)
			fatalx("--%s: %s", profiled_options[index].name, cause);
		free(key);
	}
}

int
main(int argc, char **argv)
{
	struct config		 cfg;
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	char			*cause = NULL, *path, *dir;
	int			 verbose = 0, fd;

	log_init("profiled", 0);
	profiled_configure(&cfg, argc, argv, &verbose);
	log_init("profiled", verbose);
	signal(SIGPIPE, SIG_IGN);

	if (path_mkdir(cfg.state_dir, 0700, &cause) == -1 ||
	    profiled_lock(cfg.state_dir, &cause) == -1)
		fatalx("%s", cause);
	dir = path_dirname(cfg.profile);
	if (path_mkdir(dir, 0755, &cause) == -1)
		fatalx("%s", cause);
	free(dir);
	xasprintf(&path, "%s/profiled.db", cfg.state_dir);
	if (db_open(path, &cause) == -1)
		fatalx("%s", cause);
	free(path);
	if (build_install_wrapper(cfg.state_dir, &cause) == -1)
		fatalx("%s", cause);

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	proc_init(base);
	sigterm = evsignal_new(base, SIGTERM, profiled_signal_cb, base);
	sigint = evsignal_new(base, SIGINT, profiled_signal_cb, base);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) ||
	    event_add(sigint, NULL))
		fatalx("cannot watch signals");

	generation_sync(&cfg, 1);
	rpc_init(&cfg);
	systemd_init(base);
	notify_init(base, &cfg, profiled_rollback_cb, NULL);
	if ((fd = systemd_listen_fd(&cause)) == -2 ||
	    server_start(base, fd, cfg.socket_path, &cause) == -1)
		fatalx("%s", cause);
	if (watch_start(base, cfg.package_file, profiled_file_changed_cb, NULL,
	    &cause) == -1)
		fatalx("%s", cause);
	queue_init(base, &cfg, profiled_status_cb);
	log_info("watching %s for profile %s", cfg.package_file, cfg.profile);
	systemd_ready();
	profiled_status_cb();

	event_base_dispatch(base);

	queue_shutdown();
	events_shutdown();
	notify_shutdown();
	systemd_shutdown();
	watch_stop();
	server_stop();
	db_close();
	event_free(sigterm);
	event_free(sigint);
	proc_shutdown();
	event_base_free(base);
	config_free(&cfg);
	return 0;
}
