/*
 * profilectl status: what the daemon is doing, which generation is active,
 * whether the package file matches it, and how the last build went.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_status_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.about = "show what profiled is doing and which generation is active",
	.options = NULL,
	.args = { 0, 0, NULL },
	.exec = cmd_status_exec
};

/* The width of the labels, so the values line up. */
#define CMD_STATUS_LABEL	"%-14s "

/* Print a build's error under its line, every line of it indented. */
static void
cmd_status_print_error(const char *error)
{
	size_t	len;

	while (*error != '\0') {
		len = strcspn(error, "\n");
		if (len != 0)
			printf(CMD_STATUS_LABEL "%.*s", "", (int)len, error);
		putchar('\n');
		error += len;
		if (*error == '\n')
			error++;
	}
}

static void
cmd_status_print_build(const Profiled__Build *build)
{
	char	when[64];

	output_local_time(build->started, when, sizeof when);
	printf(CMD_STATUS_LABEL "%s in %.1f s at %s (%s%s%s)\n", "last build",
	    build->ok ? "ok" : "failed", build->duration_ms / 1000.0, when,
	    build->trigger, build->file != NULL ? " of " : "",
	    build->file != NULL ? build->file : "");
	if (!build->ok && build->error != NULL)
		cmd_status_print_error(build->error);
}

static void
cmd_status_print(const Profiled__Status *status)
{
	const char	*sync;
	size_t		 i;

	printf(CMD_STATUS_LABEL "%s%s\n", "state", status->state,
	    status->build_pending ? " (build pending)" : "");
	if (status->has_current_generation) {
		printf(CMD_STATUS_LABEL "%" PRIu32 "\n", "generation",
		    status->current_generation);
	} else
		printf(CMD_STATUS_LABEL "none\n", "generation");

	if (!status->package_file_exists)
		sync = "missing";
	else if (status->in_sync)
		sync = "in sync";
	else if (status->held)
		sync = "not active: a generation was chosen by hand";
	else
		sync = "changed, not yet active";
	printf(CMD_STATUS_LABEL "%s (%s)\n", "package file",
	    status->package_file, sync);
	if (status->file_error != NULL && status->package_file_exists)
		cmd_status_print_error(status->file_error);
	for (i = 0; i < status->n_imports; i++)
		printf(CMD_STATUS_LABEL "%s\n", i == 0 ? "imports" : "",
		    status->imports[i]);
	printf(CMD_STATUS_LABEL "%s\n", "profile", status->profile);

	if (status->nix_version != NULL)
		printf(CMD_STATUS_LABEL "%s%s%s\n", "nix", status->nix_version,
		    status->nix_dir != NULL ? " in " : "",
		    status->nix_dir != NULL ? status->nix_dir : "");

	if (status->last_build != NULL)
		cmd_status_print_build(status->last_build);
	else
		printf(CMD_STATUS_LABEL "none\n", "last build");
	for (i = 0; i < status->n_warnings; i++)
		printf(CMD_STATUS_LABEL "%s\n", "warning", status->warnings[i]);
}

static int
cmd_status_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_STATUS);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;

	if (opts->json) {
		output_json_object(NULL);
		output_status_json(response->status);
		output_json_end();
	} else
		cmd_status_print(response->status);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
