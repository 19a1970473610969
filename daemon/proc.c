/*
 * Child processes run from the event loop: Nix never runs in the daemon's
 * own process, so a slow evaluation or build cannot stall the socket.
 *
 * A child gets /dev/null for stdin and a pipe each for stdout and stderr,
 * read by libevent as data arrives.  stdout is kept whole (Nix prints the
 * result there); stderr is handed on line by line to a line callback,
 * which keeps what it wants (build.c keeps the build log), or without one
 * kept, its end, for proc_stderr (nix-env's error).  The
 * exit callback runs once the child has been reaped and both pipes are at
 * end of file, so it always sees all the output.
 *
 * Each child leads its own process group.  proc_kill() asks the group to
 * stop with SIGTERM, which lets nix-store stop the builders it started in
 * sessions of their own, and sends SIGKILL only if that takes too long.
 */
#include <sys/queue.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "profiled.h"

/* stderr kept beyond this is dropped from the start, keeping the end. */
#define PROC_LOG_MAX	(256 * 1024)
/* A line of stderr is cut here, so that one fits an event's frame. */
#define PROC_LINE_MAX	(64 * 1024)
#define PROC_LINE_CUT	" [line cut]"
/* A child printing more than this on stdout is not the Nix we know. */
#define PROC_OUTPUT_MAX	(16 * 1024 * 1024)
/* How long a child asked to stop has before it is killed. */
#define PROC_KILL_GRACE	5
/*
 * How long the pipes may stay open once the child has exited: a process it
 * left behind (an ssh master for remote builds) may hold them for ever.
 */
#define PROC_DRAIN_GRACE	2

struct proc {
	pid_t		 pid;
	int		 status;
	int		 exited;
	int		 dying;		/* asked to stop; nobody waits for it */
	int		 terminating;	/* asked to stop; exit_cb still runs */
	struct event	*kill_timer;	/* SIGKILL if dying, else drain */
	struct event	*out_event;
	struct event	*err_event;
	struct evbuffer	*out;
	struct evbuffer	*err;
	size_t		 line_start;	/* err offset of the unfinished line */
	int		 skipping;	/* to the end of a line cut */
	proc_line_cb	 line_cb;
	proc_exit_cb	 exit_cb;
	void		*arg;
	LIST_ENTRY(proc) entry;
};

static struct event_base	*proc_base;
static LIST_HEAD(, proc)	 proc_list = LIST_HEAD_INITIALIZER(proc_list);
static struct event		*proc_sigchld_event;

static void	proc_sigchld_cb(evutil_socket_t, short, void *);
static void	proc_read_cb(evutil_socket_t, short, void *);
static void	proc_check_done(struct proc *);
static void	proc_close_pipes(struct proc *);

/* Install the SIGCHLD handler that reaps children; call once at start. */
void
proc_init(struct event_base *base)
{
	proc_base = base;
	proc_sigchld_event = evsignal_new(base, SIGCHLD, proc_sigchld_cb, NULL);
	if (proc_sigchld_event == NULL || event_add(proc_sigchld_event, NULL))
		fatalx("cannot watch SIGCHLD");
}

static void
proc_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct proc	*p, *next;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (p = LIST_FIRST(&proc_list); p != NULL; p = next) {
			next = LIST_NEXT(p, entry);
			if (p->pid == pid) {
				p->exited = 1;
				p->status = status;
				if (p->terminating && p->kill_timer != NULL) {
					/* Gone: no SIGKILL for a reused pid. */
					event_free(p->kill_timer);
					p->kill_timer = NULL;
				}
				proc_check_done(p);
				break;
			}
		}
	}
}

/* Hand each complete line of stderr read so far to the line callback. */
static void
proc_emit_lines(struct proc *p, int flush)
{
	struct evbuffer_ptr	 start, found;
	size_t			 len, avail, copy, drop;
	char			*line;

	for (;;) {
		if (evbuffer_ptr_set(p->err, &start, p->line_start,
		    EVBUFFER_PTR_SET) == -1)
			break;
		found = evbuffer_search(p->err, "\n", 1, &start);
		avail = evbuffer_get_length(p->err) - p->line_start;
		if (p->skipping) {
			/* The rest of a line already cut. */
			if (found.pos == -1) {
				p->line_start += avail;
				break;
			}
			p->line_start = found.pos + 1;
			p->skipping = 0;
			continue;
		}
		if (found.pos != -1)
			len = found.pos - p->line_start;
		else if (flush || avail > PROC_LINE_MAX)
			len = avail;
		else
			break;
		if (found.pos == -1 && len == 0)
			break;
		copy = len > PROC_LINE_MAX ? PROC_LINE_MAX : len;
		line = xmalloc(copy + sizeof PROC_LINE_CUT);
		evbuffer_copyout_from(p->err, &start, line, copy);
		line[copy] = '\0';
		if (copy < len)
			strcat(line, PROC_LINE_CUT);
		p->line_start += len + (found.pos != -1);
		if (found.pos == -1 && !flush)
			p->skipping = 1;
		if (p->line_cb != NULL)
			p->line_cb(p, line, p->arg);
		free(line);
	}

	/* Lines handed on are the callback's; none is kept twice. */
	if (p->line_cb != NULL) {
		evbuffer_drain(p->err, p->line_start);
		p->line_start = 0;
		return;
	}
	/* Keep the end of a long log: that is where Nix says what failed. */
	if (evbuffer_get_length(p->err) > PROC_LOG_MAX) {
		drop = evbuffer_get_length(p->err) - PROC_LOG_MAX / 2;
		if (drop > p->line_start)
			drop = p->line_start;
		evbuffer_drain(p->err, drop);
		p->line_start -= drop;
	}
}

static void
proc_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proc	*p = arg;
	struct evbuffer	*buf;
	struct event	**ev;
	int		 n;

	if (p->out_event != NULL && fd == event_get_fd(p->out_event)) {
		buf = p->out;
		ev = &p->out_event;
	} else {
		buf = p->err;
		ev = &p->err_event;
	}
	n = evbuffer_read(buf, fd, 65536);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		if (buf == p->err)
			proc_emit_lines(p, 0);
		else if (evbuffer_get_length(buf) > PROC_OUTPUT_MAX) {
			log_warnx("child %ld printed too much; killing it",
			    (long)p->pid);
			kill(-p->pid, SIGKILL);
			evbuffer_drain(buf, evbuffer_get_length(buf));
		}
		return;
	}
	/* End of file, or an error that ends the stream all the same. */
	if (buf == p->err)
		proc_emit_lines(p, 1);
	close(fd);
	event_free(*ev);
	*ev = NULL;
	proc_check_done(p);
}

static void
proc_drain_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proc	*p = arg;

	log_debug("child %ld exited but its output stays open; closing it",
	    (long)p->pid);
	proc_emit_lines(p, 1);
	proc_close_pipes(p);
	proc_check_done(p);
}

static void
proc_check_done(struct proc *p)
{
	struct timeval	tv = { PROC_DRAIN_GRACE, 0 };

	if (p->dying && p->exited) {
		proc_free(p);
		return;
	}
	if (!p->exited)
		return;
	if (p->out_event != NULL || p->err_event != NULL) {
		if (p->kill_timer == NULL) {
			p->kill_timer = evtimer_new(proc_base,
			    proc_drain_timer_cb, p);
			if (p->kill_timer != NULL)
				evtimer_add(p->kill_timer, &tv);
		}
		return;
	}
	p->exit_cb(p, p->status, p->arg);
}

/*
 * Start argv[0] (found in PATH) with argv, without a shell; NULL, *cause
 * and errno (ENOENT: no such program) if it cannot start.  exit_cb runs once, after exit and end of output, and
 * must call proc_free.
 */
struct proc *
proc_start(struct event_base *base, char *const argv[], proc_line_cb line_cb,
    proc_exit_cb exit_cb, void *arg, char **cause)
{
	struct proc	*p;
	int		 out[2], err[2], report[2], child_errno, null_fd;
	ssize_t		 n;

	if (pipe2(out, O_CLOEXEC) == -1)
		goto fail0;
	if (pipe2(err, O_CLOEXEC) == -1)
		goto fail1;
	if (pipe2(report, O_CLOEXEC) == -1)
		goto fail2;

	p = xcalloc(1, sizeof *p);
	switch (p->pid = fork()) {
	case -1:
		free(p);
		goto fail3;
	case 0:
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if ((null_fd = open("/dev/null", O_RDONLY)) == -1 ||
		    dup2(null_fd, STDIN_FILENO) == -1 ||
		    dup2(out[1], STDOUT_FILENO) == -1 ||
		    dup2(err[1], STDERR_FILENO) == -1)
			_exit(127);
		if (null_fd > STDERR_FILENO)
			close(null_fd);
		execvp(argv[0], argv);
		child_errno = errno;
		(void)write(report[1], &child_errno, sizeof child_errno);
		_exit(127);
	}
	/* Both sides set the group, so a kill right after fork still lands. */
	setpgid(p->pid, p->pid);
	close(out[1]);
	close(err[1]);
	close(report[1]);

	/* The report pipe closes on exec; anything read is exec's errno. */
	do
		n = read(report[0], &child_errno, sizeof child_errno);
	while (n == -1 && errno == EINTR);
	close(report[0]);
	if (n == sizeof child_errno) {
		xasprintf(cause, "cannot run %s: %s", argv[0],
		    strerror(child_errno));
		close(out[0]);
		close(err[0]);
		/* SIGCHLD reaps it; it is not on the list, so nobody waits. */
		free(p);
		errno = child_errno;
		return NULL;
	}

	evutil_make_socket_nonblocking(out[0]);
	evutil_make_socket_nonblocking(err[0]);
	p->out = evbuffer_new();
	p->err = evbuffer_new();
	p->out_event = event_new(base, out[0], EV_READ|EV_PERSIST,
	    proc_read_cb, p);
	p->err_event = event_new(base, err[0], EV_READ|EV_PERSIST,
	    proc_read_cb, p);
	if (p->out == NULL || p->err == NULL || p->out_event == NULL ||
	    p->err_event == NULL)
		fatalx("cannot set up child process events");
	event_add(p->out_event, NULL);
	event_add(p->err_event, NULL);
	p->line_cb = line_cb;
	p->exit_cb = exit_cb;
	p->arg = arg;
	LIST_INSERT_HEAD(&proc_list, p, entry);
	log_debug("started %s as pid %ld", argv[0], (long)p->pid);
	return p;

fail3:
	child_errno = errno;
	close(report[0]);
	close(report[1]);
	errno = child_errno;
fail2:
	child_errno = errno;
	close(err[0]);
	close(err[1]);
	errno = child_errno;
fail1:
	child_errno = errno;
	close(out[0]);
	close(out[1]);
	errno = child_errno;
fail0:
	child_errno = errno;
	xasprintf(cause, "cannot run %s: %s", argv[0], strerror(child_errno));
	errno = child_errno;
	return NULL;
}

/* Everything the child printed on stdout, NUL-terminated. */
const char *
proc_stdout(struct proc *p)
{
	evbuffer_add(p->out, "", 1);
	return (const char *)evbuffer_pullup(p->out, -1);
}

/* The child's stderr (its last PROC_LOG_MAX bytes at most), NUL-terminated. */
const char *
proc_stderr(struct proc *p)
{
	evbuffer_add(p->err, "", 1);
	return (const char *)evbuffer_pullup(p->err, -1);
}

static void
proc_close_pipes(struct proc *p)
{
	if (p->out_event != NULL) {
		close(event_get_fd(p->out_event));
		event_free(p->out_event);
		p->out_event = NULL;
	}
	if (p->err_event != NULL) {
		close(event_get_fd(p->err_event));
		event_free(p->err_event);
		p->err_event = NULL;
	}
}

/* Forget p; its exit callback calls this. */
void
proc_free(struct proc *p)
{
	LIST_REMOVE(p, entry);
	proc_close_pipes(p);
	if (p->kill_timer != NULL)
		event_free(p->kill_timer);
	evbuffer_free(p->out);
	evbuffer_free(p->err);
	free(p);
}

static void
proc_kill_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proc	*p = arg;

	log_warnx("child %ld did not stop; killing it", (long)p->pid);
	kill(-p->pid, SIGKILL);
}

/*
 * Ask p's whole process group to stop with SIGTERM, and SIGKILL it if it
 * has not exited within PROC_KILL_GRACE seconds.  Unlike proc_kill, p's
 * exit callback still runs, once it has stopped.
 */
void
proc_terminate(struct proc *p)
{
	struct timeval	tv = { PROC_KILL_GRACE, 0 };

	if (p->exited || p->terminating)
		return;
	p->terminating = 1;
	kill(-p->pid, SIGTERM);
	p->kill_timer = evtimer_new(proc_base, proc_kill_timer_cb, p);
	if (p->kill_timer != NULL)
		evtimer_add(p->kill_timer, &tv);
}

/*
 * Stop p's whole process group and forget it: no callback runs, and it is
 * reaped (after SIGKILL, if SIGTERM is not enough) in the background.
 */
void
proc_kill(struct proc *p)
{
	struct timeval	tv = { PROC_KILL_GRACE, 0 };

	if (p->exited) {
		proc_free(p);
		return;
	}
	kill(-p->pid, SIGTERM);
	p->dying = 1;
	proc_close_pipes(p);
	if (p->kill_timer != NULL)
		event_free(p->kill_timer);
	p->kill_timer = evtimer_new(proc_base, proc_kill_timer_cb, p);
	if (p->kill_timer != NULL)
		evtimer_add(p->kill_timer, &tv);
}

/*
 * Stop every child still running and wait for them, for PROC_KILL_GRACE
 * seconds before SIGKILL; used on shutdown, when blocking is fine.
 */
void
proc_shutdown(void)
{
	struct proc	*p;
	int		 i, running;

	LIST_FOREACH(p, &proc_list, entry) {
		if (!p->exited && !p->dying)
			kill(-p->pid, SIGTERM);
	}
	for (i = 0; i < PROC_KILL_GRACE * 100; i++) {
		running = 0;
		LIST_FOREACH(p, &proc_list, entry) {
			if (!p->exited && waitpid(p->pid, NULL, WNOHANG) == 0)
				running = 1;
			else
				p->exited = 1;
		}
		if (!running)
			break;
		usleep(10000);
	}
	while ((p = LIST_FIRST(&proc_list)) != NULL) {
		if (!p->exited) {
			kill(-p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
		proc_free(p);
	}
	if (proc_sigchld_event != NULL) {
		event_free(proc_sigchld_event);
		proc_sigchld_event = NULL;
	}
}

/*
 * Run argv to completion, blocking, and return its stdout (NUL-terminated)
 * if it exits 0; NULL and *cause if not.  Only for use before the event
 * loop runs, since it reaps the child itself.
 */
char *
proc_run_sync(char *const argv[], char **cause)
{
	struct evbuffer	*out;
	char		*text = NULL;
	pid_t		 pid;
	int		 pipefd[2], null_fd, status, n;

	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return NULL;
	}
	switch (pid = fork()) {
	case -1:
		xasprintf(cause, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return NULL;
	case 0:
		signal(SIGPIPE, SIG_DFL);
		if ((null_fd = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(null_fd, STDIN_FILENO) == -1 ||
		    dup2(pipefd[1], STDOUT_FILENO) == -1 ||
		    dup2(null_fd, STDERR_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	for (;;) {
		n = evbuffer_read(out, pipefd[0], 65536);
		if (n > 0 && evbuffer_get_length(out) <= PROC_OUTPUT_MAX)
			continue;
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		evbuffer_add(out, "", 1);
		text = xstrdup((const char *)evbuffer_pullup(out, -1));
	} else
		xasprintf(cause, "%s failed", argv[0]);
	evbuffer_free(out);
	return text;
}
