/*
 * profilectl switch: have the daemon build the package file now and
 * activate the result, or with --to N activate existing generation N, which
 * builds nothing.  A build can take minutes; the daemon answers when it is
 * done, and we wait for it, showing its progress (Nix's log and each step)
 * on stderr when that is a terminal, or with --progress.
 */
#include <stdint.h>
#include <stdlib.h>
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

static void
cmd_switch_progress(const Profiled__Event *event)
{
	output_event(stderr, event, 0, 0);
}

static int
cmd_switch_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__SwitchRequest	 switch_to = PROFILED__SWITCH_REQUEST__INIT;
	Profiled__Response	*response;
	const char		*to;
	unsigned long long	 n;
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
	request.call_case = PROFILED__REQUEST__CALL_SWITCH_TO;
	request.switch_to = &switch_to;
	if ((fd = client_open(opts, &request)) == -1)
		return CLIENT_EXIT_FAILURE;
	/* Progress comes as events, before the one answer that ends it. */
	response = client_answer(fd, PROFILED__RESPONSE__RESULT_SWITCHED,
	    cmd_switch_progress);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	output_switched(response->switched, opts->json, 0);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
