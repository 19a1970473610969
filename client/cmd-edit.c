/*
 * profilectl add and remove: put packages in the package file, or take
 * them out, as its owner would edit it (comments and layout kept), after
 * Nix has checked that the new file evaluates.  profiled then builds it
 * as it builds any save.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_add_exec(struct cmd_args *, struct client_options *);
static int	cmd_remove_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_add_entry = {
	.name = "add",
	.about = "add packages (attributes of the package set) to the "
	    "package file",
	.options = NULL,
	.args = { 1, CMD_ARGS_MANY, "ATTR" },
	.exec = cmd_add_exec
};

const struct cmd_entry cmd_remove_entry = {
	.name = "remove",
	.about = "remove packages from the package file",
	.options = NULL,
	.args = { 1, CMD_ARGS_MANY, "ATTR" },
	.exec = cmd_remove_exec
};

/* One attribute's result in words; 0, or 1 if it needs the user. */
static int
cmd_edit_print(const Profiled__Edited__Result *r)
{
	if (strcmp(r->result, "added") == 0)
		printf("added %s\n", r->attr);
	else if (strcmp(r->result, "removed") == 0)
		printf("removed %s\n", r->attr);
	else if (strcmp(r->result, "present") == 0)
		printf("%s is in the package file already (line %" PRIu32
		    ")\n", r->attr, r->line);
	else if (strcmp(r->result, "absent") == 0)
		printf("%s is not in the package file\n", r->attr);
	else {
		output_fail(CLIENT_EXIT_FAILURE, "%s is part of an expression "
		    "on line %" PRIu32 " (such as lib.hiPrio %s): edit the "
		    "package file by hand", r->attr, r->line, r->attr);
		return 1;
	}
	return 0;
}

static int
cmd_edit_exec(struct cmd_args *args, struct client_options *opts, int add)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__EditRequest		 edit = PROFILED__EDIT_REQUEST__INIT;
	Profiled__Response		*response;
	const Profiled__Edited		*edited;
	const Profiled__Edited__Result	*r;
	size_t				 i;
	int				 rc = CLIENT_EXIT_OK;

	edit.add = add;
	edit.n_attrs = cmd_args_count(args);
	edit.attrs = cmd_args_values(args);
	request.call_case = PROFILED__REQUEST__CALL_EDIT;
	request.edit = &edit;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_EDITED);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	edited = response->edited;
	if (opts->json) {
		output_json_object(NULL);
		output_json_string("package_file", edited->package_file);
		output_json_bool("changed", edited->changed);
		output_json_array("results");
		for (i = 0; i < edited->n_results; i++) {
			r = edited->results[i];
			output_json_object(NULL);
			output_json_string("attr", r->attr);
			output_json_string("result", r->result);
			output_json_number("line", r->has_line, r->line);
			output_json_end();
			if (strcmp(r->result, "wrapped") == 0)
				rc = CLIENT_EXIT_FAILURE;
		}
		output_json_end();
		output_json_end();
	} else {
		for (i = 0; i < edited->n_results; i++) {
			if (cmd_edit_print(edited->results[i]) != 0)
				rc = CLIENT_EXIT_FAILURE;
		}
		if (edited->changed)
			printf("%s saved; profiled is building it "
			    "(profilectl wait for the result)\n",
			    edited->package_file);
	}
	profiled__response__free_unpacked(response, NULL);
	return rc;
}

static int
cmd_add_exec(struct cmd_args *args, struct client_options *opts)
{
	return cmd_edit_exec(args, opts, 1);
}

static int
cmd_remove_exec(struct cmd_args *args, struct client_options *opts)
{
	return cmd_edit_exec(args, opts, 0);
}
