/*
 * profilectl log: the log of the build that made generation N, or of the
 * last build; with -f, the running build's log (or the next build's, if
 * none runs) as Nix writes it, ending when the build does, with its result
 * as the exit status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_log_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_log_options[] = {
	{ "follow", 'f', NULL,
	    "follow the running (or next) build's log; exit with its result" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_log_entry = {
	.name = "log",
	.about = "print the log of generation N's build, or of the last build",
	.options = cmd_log_options,
	.args = { 0, 1, "N" },
	.exec = cmd_log_exec
};

static int
cmd_log_show(struct client_options *opts, uint32_t generation)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__LogRequest	 log_request = PROFILED__LOG_REQUEST__INIT;
	Profiled__Response	*response;
	const Profiled__Log	*log;
	size_t			 len;

	log_request.has_generation = generation != 0;
	log_request.generation = generation;
	request.call_case = PROFILED__REQUEST__CALL_LOG;
	request.log = &log_request;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_LOG);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	log = response->log;
	if (opts->json) {
		output_json_object(NULL);
		output_json_number("generation", log->has_generation,
		    log->generation);
		output_json_bool("ok", log->ok);
		output_json_time("time", log->started);
		output_json_string("trigger", log->trigger);
		output_json_string("error", log->error);
		output_json_string("text", log->text);
		/* Schema 1's first name for "time". */
		output_json_time("started", log->started);
		output_json_end();
	} else {
		len = strlen(log->text);
		fputs(log->text, stdout);
		if (len > 0 && log->text[len - 1] != '\n')
			putchar('\n');
	}
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}

/*
 * What event means to a follower: -1 to go on, else the exit status (the
 * build it follows ended).  *following is set while a build is followed.
 */
static int
cmd_log_follow_event(const Profiled__Event *e, int json, int *following)
{
	if (e->kind == PROFILED__EVENT__KIND__BUILD_STARTED) {
		*following = 1;
		return -1;
	}
	if (!*following)
		return -1;
	switch (e->kind) {
	case PROFILED__EVENT__KIND__LOG:
		if (json)
			output_event(stdout, e, 1, 0);
		else
			printf("%s\n", e->line);
		return -1;
	case PROFILED__EVENT__KIND__BUILD_QUEUED:
		if (json)
			output_event(stdout, e, 1, 0);
		return -1;
	case PROFILED__EVENT__KIND__BUILD_SUCCEEDED:
		if (json)
			output_event(stdout, e, 1, 0);
		return CLIENT_EXIT_OK;
	case PROFILED__EVENT__KIND__BUILD_FAILED:
		if (json)
			output_event(stdout, e, 1, 0);
		return output_fail(CLIENT_EXIT_FAILURE, "build failed: %s",
		    e->error);
	case PROFILED__EVENT__KIND__BUILD_CANCELLED:
		if (json)
			output_event(stdout, e, 1, 0);
		if (e->reason != NULL && strcmp(e->reason, "held") == 0) {
			/* Stopped, and a generation was chosen: none follows. */
			return output_fail(CLIENT_EXIT_FAILURE, "%s",
			    e->error);
		}
		/* Newer content was saved: its build is the one to follow. */
		if (!json)
			log_warnx("%s; following the next build", e->error);
		*following = 0;
		return -1;
	case PROFILED__EVENT__KIND__FILE_CHANGED:
	case PROFILED__EVENT__KIND__FILE_ERROR:
	case PROFILED__EVENT__KIND__BUILD_STARTED:
	case PROFILED__EVENT__KIND__SWITCHED:
	case PROFILED__EVENT__KIND__ROLLED_BACK:
	case _PROFILED__EVENT__KIND_IS_INT_SIZE:
		break;
	}
	return -1;
}

static int
cmd_log_follow(struct client_options *opts)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__SubscribeRequest	 subscribe =
	    PROFILED__SUBSCRIBE_REQUEST__INIT;
	Profiled__Response		*response;
	int				 fd, following = 0, rc = -1;

	subscribe.has_logs = subscribe.logs = 1;
	request.call_case = PROFILED__REQUEST__CALL_SUBSCRIBE;
	request.subscribe = &subscribe;
	if ((fd = client_open(opts, &request)) == -1)
		return CLIENT_EXIT_FAILURE;
	while (rc == -1 && (response = client_receive(fd)) != NULL) {
		switch (response->result_case) {
		case PROFILED__RESPONSE__RESULT_STATUS:
			/* The running build's log so far comes next. */
			following = strcmp(response->status->state,
			    "building") == 0;
			/* Silence would look like a hang. */
			if (!following) {
				log_warnx("no build is running; waiting for "
				    "the next build (a save, or profilectl "
				    "switch)");
			}
			break;
		case PROFILED__RESPONSE__RESULT_EVENT:
			rc = cmd_log_follow_event(response->event, opts->json,
			    &following);
			break;
		default:
			client_error(response);
			close(fd);
			return CLIENT_EXIT_FAILURE;
		}
		profiled__response__free_unpacked(response, NULL);
		if (fflush(stdout) != 0)
			rc = CLIENT_EXIT_FAILURE;
	}
	close(fd);
	return rc != -1 ? rc : CLIENT_EXIT_FAILURE;
}

static int
cmd_log_exec(struct cmd_args *args, struct client_options *opts)
{
	const char		*generation = cmd_args_string(args, 0);
	unsigned long long	 n = 0;

	if (cmd_args_has(args, "follow")) {
		/* The build to follow has no generation yet. */
		if (generation != NULL) {
			output_fail(CLIENT_EXIT_USAGE,
			    "unexpected argument: %s", generation);
			return cmd_usage(&cmd_log_entry);
		}
		return cmd_log_follow(opts);
	}
	if (generation != NULL &&
	    cmd_parse_number(generation, 1, UINT32_MAX, &n) != 0) {
		output_fail(CLIENT_EXIT_USAGE, "bad generation number: %s",
		    generation);
		return cmd_usage(&cmd_log_entry);
	}
	return cmd_log_show(opts, n);
}
