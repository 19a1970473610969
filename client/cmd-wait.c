/*
 * profilectl wait: block until the daemon has nothing left to do (no save
 * waiting to be built, no build running or queued), for scripts and shell
 * prompts.  Exits 0 if the last build succeeded and the package file can
 * be built, 1 (saying why) if not, or 4 if --timeout passes first.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_wait_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_wait_options[] = {
	{ "timeout", 0, "SECONDS",
	    "fail if still busy after SECONDS; 0 waits for ever" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_wait_entry = {
	.name = "wait",
	.about = "wait until profiled is idle; fail if the last build failed",
	.options = cmd_wait_options,
	.args = { 0, 0, NULL },
	.exec = cmd_wait_exec
};

/* Wait for fd to be readable for up to seconds (0: for ever); 0 if not. */
static int
cmd_wait_readable(int fd, long seconds)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	int		n;

	do
		n = poll(&pfd, 1, seconds > 0 ? (int)(seconds * 1000) : -1);
	while (n == -1 && errno == EINTR);
	return n != 0;
}

static int
cmd_wait_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__WaitRequest	 wait = PROFILED__WAIT_REQUEST__INIT;
	Profiled__Response	*response;
	const Profiled__Status	*status;
	const char		*value;
	unsigned long long	 timeout = 0;
	int			 fd, rc = CLIENT_EXIT_OK;

	if ((value = cmd_args_get(args, "timeout")) != NULL &&
	    cmd_parse_number(value, 0, 86400 * 365, &timeout) != 0) {
		output_fail(CLIENT_EXIT_USAGE, "bad timeout: %s", value);
		return cmd_usage(&cmd_wait_entry);
	}

	request.call_case = PROFILED__REQUEST__CALL_WAIT;
	request.wait = &wait;
	if ((fd = client_open(opts, &request)) == -1)
		return CLIENT_EXIT_FAILURE;
	if (!cmd_wait_readable(fd, (long)timeout)) {
		close(fd);
		return output_fail(CLIENT_EXIT_TIMEOUT, "timed out after "
		    "%llu s; profiled is still busy", timeout);
	}
	response = client_answer(fd, PROFILED__RESPONSE__RESULT_STATUS, NULL);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	status = response->status;
	if (status->file_error != NULL)
		rc = output_fail(CLIENT_EXIT_FAILURE, "%s", status->file_error);
	else if (status->last_build != NULL && !status->last_build->ok) {
		rc = output_fail(CLIENT_EXIT_FAILURE, "the last build failed: "
		    "%s", status->last_build->error != NULL ?
		    status->last_build->error : "no reason given");
	}
	/* A failure is the status with why beside it, not the status lost. */
	if (opts->json) {
		output_json_object(NULL);
		output_status_json(status);
		if (rc != CLIENT_EXIT_OK)
			output_json_failure();
		output_json_end();
	}
	profiled__response__free_unpacked(response, NULL);
	return rc;
}
