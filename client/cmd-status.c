/*
 * profilectl status: what the daemon is doing, which generation is active,
 * whether the package file matches it, and how the last build went; the
 * words that matter in colour on a terminal.
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

/* Print value in colour, if stdout gets colour. */
static void
cmd_status_paint(enum output_colour colour, const char *value)
{
	if (colour == OUTPUT_PLAIN) {
		fputs(value, stdout);
		return;
	}
	output_colour(stdout, colour);
	fputs(value, stdout);
	output_colour(stdout, OUTPUT_PLAIN);
}

static void
cmd_status_print_build(const Profiled__Build *build)
{
	char	when[64];

	output_local_time(build->started, when, sizeof when);
	printf(CMD_STATUS_LABEL, "last build");
	cmd_status_paint(build->ok ? OUTPUT_GOOD : OUTPUT_BAD,
	    build->ok ? "ok" : "failed");
	printf(" in %.1f s at %s (%s%s%s)\n", build->duration_ms / 1000.0, when,
	    build->trigger, build->file != NULL ? " of " : "",
	    build->file != NULL ? build->file : "");
	if (!build->ok && build->error != NULL)
		cmd_status_print_error(build->error);
}

/* Where the package file stands against the profile, and its colour. */
static const char *
cmd_status_sync(const Profiled__Status *status, enum output_colour *colour)
{
	*colour = OUTPUT_BUSY;
	if (!status->package_file_exists) {
		*colour = OUTPUT_BAD;
		return "missing";
	}
	if (status->in_sync) {
		*colour = OUTPUT_GOOD;
		return "in sync";
	}
	if (status->held)
		return "not active: a generation was chosen by hand";
	return "changed, not yet active";
}

static void
cmd_status_print(const Profiled__Status *status)
{
	enum output_colour	 colour;
	const char		*sync;
	size_t			 i;

	printf(CMD_STATUS_LABEL, "state");
	cmd_status_paint(strcmp(status->state, "idle") == 0 ? OUTPUT_PLAIN :
	    OUTPUT_BUSY, status->state);
	printf("%s\n", status->build_pending ? " (build pending)" : "");
	if (status->has_current_generation) {
		printf(CMD_STATUS_LABEL "%" PRIu32 "\n", "generation",
		    status->current_generation);
	} else
		printf(CMD_STATUS_LABEL "none\n", "generation");

	sync = cmd_status_sync(status, &colour);
	printf(CMD_STATUS_LABEL "%s (", "package file", status->package_file);
	cmd_status_paint(colour, sync);
	printf(")\n");
	if (status->file_error != NULL && status->package_file_exists)
		cmd_status_print_error(status->file_error);
	for (i = 0; i < status->n_imports; i++)
		printf(CMD_STATUS_LABEL "%s\n", i == 0 ? "imports" : "",
		    status->imports[i]);
	printf(CMD_STATUS_LABEL "%s\n", "profile", status->profile);
	/* Otherwise a save that is built but never active looks broken. */
	if (status->has_auto_switch && !status->auto_switch) {
		printf(CMD_STATUS_LABEL, "auto switch");
		cmd_status_paint(OUTPUT_BUSY, "off");
		printf(": a save is built, not activated; "
		    "run 'profilectl switch'\n");
	}

	/* What switch would change: the preview of a build not active. */
	if (status->built_change != NULL) {
		printf(CMD_STATUS_LABEL, "built");
		cmd_status_paint(OUTPUT_BUSY, "not active");
		printf(": switching would %s%s (profilectl diff --pending)\n",
		    *status->built_change != '\0' ? "change " : "change no "
		    "package", status->built_change);
	}

	if (status->has_adopting_total)
		printf(CMD_STATUS_LABEL "%" PRIu32 " of %" PRIu32 " existing "
		    "generations (reading their packages)\n", "adopting",
		    status->adopting_done, status->adopting_total);

	if (status->nix_version != NULL)
		printf(CMD_STATUS_LABEL "%s%s%s\n", "nix", status->nix_version,
		    status->nix_dir != NULL ? " in " : "",
		    status->nix_dir != NULL ? status->nix_dir : "");

	if (status->last_build != NULL)
		cmd_status_print_build(status->last_build);
	else
		printf(CMD_STATUS_LABEL "none\n", "last build");
	if (status->has_builds_started)
		printf(CMD_STATUS_LABEL "%" PRIu32 " started since profiled "
		    "started\n", "builds", status->builds_started);
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
