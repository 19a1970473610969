/*
 * profilectl rollback: activate the current generation's parent, the
 * generation it was built from, which is not always the one numbered
 * before it.
 */
#include "profiled.h"
#include "client.h"

static int	cmd_rollback_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_rollback_entry = {
	.name = "rollback",
	.about = "activate the current generation's parent",
	.options = NULL,
	.args = { 0, 0, NULL },
	.exec = cmd_rollback_exec
};

static int
cmd_rollback_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__RollbackRequest	 rollback =
	    PROFILED__ROLLBACK_REQUEST__INIT;
	Profiled__Response		*response;

	request.call_case = PROFILED__REQUEST__CALL_ROLLBACK;
	request.rollback = &rollback;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_SWITCHED);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	output_switched(response->switched, opts->json, 1);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
