/*
 * profilectl status: what the daemon is doing, which generation is active,
 * whether the package file matches it, and how the last build went.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_status_exec(int, char **, struct client_options *);

const struct cmd_entry cmd_status_entry = {
	"status", "status", cmd_status_exec
};

/* The width of the labels, so the values line up. */
#define CMD_STATUS_LABEL	"%-14s "

static void
cmd_status_json_build(const Profiled__Build *build)
{
	fputs("{\"ok\": ", stdout);
	output_json_bool(build->ok);
	fputs(", \"error\": ", stdout);
	output_json_string(build->error);
	fputs(", \"started\": ", stdout);
	output_json_time(build->started);
	printf(", \"duration_ms\": %" PRIu64 ", \"generation\": ",
	    build->duration_ms);
	output_json_number(build->has_generation, build->generation);
	fputs(", \"content_hash\": ", stdout);
	output_json_string(build->content_hash);
	fputs(", \"trigger\": ", stdout);
	output_json_string(build->trigger);
	fputs("}", stdout);
}

static void
cmd_status_json(const Profiled__Status *status)
{
	fputs("{\"state\": ", stdout);
	output_json_string(status->state);
	fputs(", \"current_generation\": ", stdout);
	output_json_number(status->has_current_generation,
	    status->current_generation);
	fputs(", \"package_file\": ", stdout);
	output_json_string(status->package_file);
	fputs(", \"package_file_exists\": ", stdout);
	output_json_bool(status->package_file_exists);
	fputs(", \"profile\": ", stdout);
	output_json_string(status->profile);
	fputs(", \"in_sync\": ", stdout);
	output_json_bool(status->in_sync);
	fputs(", \"held\": ", stdout);
	output_json_bool(status->held);
	fputs(", \"build_pending\": ", stdout);
	output_json_bool(status->build_pending);
	printf(", \"pid\": %" PRIu32 ", \"last_build\": ", status->pid);
	if (status->last_build == NULL)
		fputs("null", stdout);
	else
		cmd_status_json_build(status->last_build);
	fputs("}\n", stdout);
}

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
	printf(CMD_STATUS_LABEL "%s in %.1f s at %s (%s)\n", "last build",
	    build->ok ? "ok" : "failed", build->duration_ms / 1000.0, when,
	    build->trigger);
	if (!build->ok && build->error != NULL)
		cmd_status_print_error(build->error);
}

static void
cmd_status_print(const Profiled__Status *status)
{
	const char	*sync;

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
	printf(CMD_STATUS_LABEL "%s\n", "profile", status->profile);

	if (status->last_build != NULL)
		cmd_status_print_build(status->last_build);
	else
		printf(CMD_STATUS_LABEL "none\n", "last build");
}

static int
cmd_status_exec(int argc, char **argv, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__StatusRequest	 status = PROFILED__STATUS_REQUEST__INIT;
	Profiled__Response	*response;

	if (cmd_parse_flags(argc, argv, opts, &cmd_status_entry, 0) == -1)
		return CLIENT_EXIT_USAGE;

	request.call_case = PROFILED__REQUEST__CALL_STATUS;
	request.status = &status;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_STATUS);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;

	if (opts->json)
		cmd_status_json(response->status);
	else
		cmd_status_print(response->status);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
