/*
 * profilectl list: the packages of the current generation, name and
 * version, one a line, as Nix made them (the names are the derivations',
 * as nix-env -q shows them).
 */
#include <inttypes.h>
#include <stdio.h>

#include "profiled.h"
#include "client.h"

static int	cmd_list_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.about = "list the current generation's packages and their versions",
	.options = NULL,
	.args = { 0, 0, NULL },
	.exec = cmd_list_exec
};

static int
cmd_list_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Response		*response;
	const Profiled__Generation	*g;

	if ((response = cmd_show_request(opts, 0, 0, 0)) == NULL)
		return CLIENT_EXIT_FAILURE;
	g = response->shown->generation;
	output_packages_sort(g->packages, g->n_packages);
	if (opts->json) {
		output_json_object(NULL);
		output_json_number("generation", 1, g->id);
		output_packages_json("packages", g->packages, g->n_packages);
		output_json_end();
	} else
		output_packages(stdout, g->packages, g->n_packages, "");
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
