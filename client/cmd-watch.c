/*
 * profilectl watch: print what the daemon does as it happens, one line
 * each (with --json, one JSON object per line), until interrupted: first
 * where it stands, then every file change, build, line of Nix's log and
 * switch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_watch_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.about = "print what profiled does as it happens, until interrupted",
	.options = NULL,
	.args = { 0, 0, NULL },
	.exec = cmd_watch_exec
};

static void
cmd_watch_print_status(const Profiled__Status *status, int json)
{
	if (json) {
		output_json_object(NULL);
		output_json_string("event", "status");
		output_json_object("status");
		output_status_json(status);
		output_json_end();
		output_json_end();
		return;
	}
	printf("%s", status->state);
	if (status->has_current_generation)
		printf(", generation %" PRIu32, status->current_generation);
	if (status->file_error != NULL)
		printf(", %s", status->file_error);
	else if (status->in_sync)
		fputs(", in sync", stdout);
	else if (status->held)
		fputs(", held", stdout);
	putchar('\n');
}

static int
cmd_watch_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__SubscribeRequest	 subscribe =
	    PROFILED__SUBSCRIBE_REQUEST__INIT;
	Profiled__Response		*response;
	int				 fd;

	subscribe.has_logs = subscribe.logs = 1;
	request.call_case = PROFILED__REQUEST__CALL_SUBSCRIBE;
	request.subscribe = &subscribe;
	if ((fd = client_open(opts, &request)) == -1)
		return CLIENT_EXIT_FAILURE;
	while ((response = client_receive(fd)) != NULL) {
		if (response->result_case == PROFILED__RESPONSE__RESULT_STATUS)
			cmd_watch_print_status(response->status, opts->json);
		else if (response->result_case ==
		    PROFILED__RESPONSE__RESULT_EVENT)
			output_event(stdout, response->event, opts->json, 1);
		else {
			client_error(response);
			close(fd);
			return CLIENT_EXIT_FAILURE;
		}
		profiled__response__free_unpacked(response, NULL);
		/* Whoever reads a pipe wants each line as it happens. */
		if (fflush(stdout) != 0) {
			close(fd);
			return CLIENT_EXIT_FAILURE;
		}
	}
	close(fd);
	return CLIENT_EXIT_FAILURE;
}
