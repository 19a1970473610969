/*
 * profilectl switch: have the daemon build the package file now and
 * activate the result, or with --to N activate existing generation N, which
 * builds nothing.  A build can take minutes; the daemon answers when it is
 * done, and we wait for it, showing its progress (Nix's log and each step)
 * on stderr when that is a terminal, or with --progress.  ^C leaves the
 * build to profiled, saying so and how to go back.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_switch_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_switch_options[] = {
	{ "progress", 0, NULL,
	    "show the build's progress on stderr, a terminal or not" },
	{ "to", 0, "N", "activate existing generation N; builds nothing" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_switch_entry = {
	.name = "switch",
	.about = "build the package file now, activate it and wait for that",
	.options = cmd_switch_options,
	.args = { 0, 0, NULL },
	.exec = cmd_switch_exec
};

/*
 * What ^C says, made before the request goes, since the handler may only
 * write(2) it.
 */
static char	cmd_switch_interrupted[512];
static size_t	cmd_switch_interrupted_len;

/*
 * ^C stops profilectl, not the build or switch: that is profiled's (a save
 * would have started the same build), and it goes on and is activated.
 * Say so and how to go back, then die of the signal, as the shell expects.
 */
static void
cmd_switch_interrupt(int sig)
{
	ssize_t	n;

	n = write(STDERR_FILENO, cmd_switch_interrupted,
	    cmd_switch_interrupted_len);
	(void)n;
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Ask for the current generation (*current, 0 if none), so that ^C can
 * name the way back to it; -1 if the daemon did not answer (it said why).
 */
static int
cmd_switch_current(struct client_options *opts, uint32_t *current)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_STATUS);
	if (response == NULL)
		return -1;
	*current = response->status->has_current_generation ?
	    response->status->current_generation : 0;
	profiled__response__free_unpacked(response, NULL);
	return 0;
}

/* Make what ^C will say about request, current being active now. */
static void
cmd_switch_prepare_interrupt(const Profiled__SwitchRequest *request,
    uint32_t current)
{
	char	back[64];
	int	len;

	if (current != 0) {
		snprintf(back, sizeof back, "; to go back afterwards: "
		    "profilectl switch --to %" PRIu32, current);
	} else
		snprintf(back, sizeof back, "; no generation was active");
	if (request->has_generation) {
		len = snprintf(cmd_switch_interrupted,
		    sizeof cmd_switch_interrupted, "%sprofilectl: interrupted; "
		    "profiled goes on switching to generation %" PRIu32 "%s\n",
		    isatty(STDERR_FILENO) ? "\n" : "", request->generation,
		    back);
	} else {
		len = snprintf(cmd_switch_interrupted,
		    sizeof cmd_switch_interrupted, "%sprofilectl: interrupted; "
		    "the build goes on in profiled, which activates its result "
		    "('profilectl log -f' follows it)%s\n",
		    isatty(STDERR_FILENO) ? "\n" : "", back);
	}
	cmd_switch_interrupted_len = (size_t)len < sizeof cmd_switch_interrupted
	    ? (size_t)len : sizeof cmd_switch_interrupted - 1;
}

/* Progress for people; the answer alone says what became active. */
static void
cmd_switch_progress(const Profiled__Event *event)
{
	if (event->kind == PROFILED__EVENT__KIND__SWITCHED)
		return;
	output_event(stderr, event, 0, 0);
}

static int
cmd_switch_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__SwitchRequest	 switch_to = PROFILED__SWITCH_REQUEST__INIT;
	Profiled__Response	*response;
	struct sigaction	 act;
	const char		*to;
	unsigned long long	 n;
	uint32_t		 current;
	int			 fd;

	if ((to = cmd_args_get(args, "to")) != NULL) {
		if (cmd_parse_number(to, 1, UINT32_MAX, &n) != 0) {
			output_fail(CLIENT_EXIT_USAGE,
			    "bad generation number: %s", to);
			return cmd_usage(&cmd_switch_entry);
		}
		switch_to.generation = n;
		switch_to.has_generation = 1;
	}
	if (cmd_args_has(args, "progress") ||
	    (!switch_to.has_generation && isatty(STDERR_FILENO)))
		switch_to.has_progress = switch_to.progress = 1;
	if (cmd_switch_current(opts, &current) != 0)
		return CLIENT_EXIT_FAILURE;
	cmd_switch_prepare_interrupt(&switch_to, current);
	memset(&act, 0, sizeof act);
	act.sa_handler = cmd_switch_interrupt;
	sigemptyset(&act.sa_mask);
	sigaction(SIGINT, &act, NULL);

	request.call_case = PROFILED__REQUEST__CALL_SWITCH_TO;
	request.switch_to = &switch_to;
	if ((fd = client_open(opts, &request)) == -1)
		return CLIENT_EXIT_FAILURE;
	/* Progress comes as events, before the one answer that ends it. */
	response = client_answer(fd, PROFILED__RESPONSE__RESULT_SWITCHED,
	    cmd_switch_progress);
	signal(SIGINT, SIG_DFL);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	output_switched(response->switched, opts->json, 0);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
