/*
 * profilectl diff: what changed between two generations, in the packages
 * they hold (added, removed, and changed with old and new version, an
 * upgrade or a downgrade as Nix orders versions), or with --file in the
 * package files they were built from.  With no argument: the current
 * generation against its parent; with one: that generation against the
 * current one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_diff_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_diff_options[] = {
	{ "file", 0, NULL,
	    "a unified diff of the package files the two were built from" },
	{ "pending", 0, NULL,
	    "to the build not activated: what profilectl switch would change" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.about = "what changed from generation A (default: the current one's "
	    "parent) to B (default: the current one)",
	.options = cmd_diff_options,
	.args = { 0, 2, "A [B]" },
	.exec = cmd_diff_exec
};

static void
cmd_diff_print(const Profiled__Diff *diff)
{
	const Profiled__Change	*c;
	size_t			 i;

	if (diff->n_added + diff->n_removed + diff->n_changed == 0) {
		if (diff->to == 0)
			printf("switching to the build would change no package "
			    "of generation %" PRIu32 "\n", diff->from);
		else
			printf("no package changed from generation %" PRIu32
			    " to %" PRIu32 "\n", diff->from, diff->to);
		return;
	}
	for (i = 0; i < diff->n_added; i++)
		printf("+ %s %s\n", diff->added[i]->name,
		    diff->added[i]->version);
	for (i = 0; i < diff->n_removed; i++)
		printf("- %s %s\n", diff->removed[i]->name,
		    diff->removed[i]->version);
	for (i = 0; i < diff->n_changed; i++) {
		c = diff->changed[i];
		printf("~ %s %s -> %s (%s)\n", c->name, c->old_version,
		    c->new_version, c->order > 0 ? "upgrade" : c->order < 0 ?
		    "downgrade" : "same version, another build");
	}
}

static void
cmd_diff_json(const Profiled__Diff *diff, const char *file_diff)
{
	const Profiled__Change	*c;
	size_t			 i;

	output_json_object(NULL);
	output_json_number("from", diff->from != 0, diff->from);
	output_json_number("to", diff->to != 0, diff->to);
	output_packages_json("added", diff->added, diff->n_added);
	output_packages_json("removed", diff->removed, diff->n_removed);
	output_json_array("changed");
	for (i = 0; i < diff->n_changed; i++) {
		c = diff->changed[i];
		output_json_object(NULL);
		output_json_string("name", c->name);
		output_json_string("old", c->old_version);
		output_json_string("new", c->new_version);
		output_json_string("order", c->order > 0 ? "upgrade" :
		    c->order < 0 ? "downgrade" : "same");
		output_json_end();
	}
	output_json_end();
	if (file_diff != NULL)
		output_json_string("file_diff", file_diff);
	output_json_end();
}

/*
 * The unified diff of the two package files, or NULL (the error said)
 * when one of them was not built by profiled.
 */
static char *
cmd_diff_files(const Profiled__Diff *diff)
{
	char	*text = NULL, *from_label, *to_label;
	size_t	 len = 0;
	FILE	*f;

	if (diff->from != 0 && !diff->has_from_content) {
		output_fail(CLIENT_EXIT_FAILURE, "generation %" PRIu32 " was "
		    "not built by profiled: there is no package file to "
		    "compare", diff->from);
		return NULL;
	}
	if (!diff->has_to_content) {
		output_fail(CLIENT_EXIT_FAILURE, "generation %" PRIu32 " was "
		    "not built by profiled: there is no package file to "
		    "compare", diff->to);
		return NULL;
	}
	if (diff->from != 0)
		xasprintf(&from_label, "generation %" PRIu32, diff->from);
	else
		from_label = xstrdup("nothing");
	if (diff->to != 0)
		xasprintf(&to_label, "generation %" PRIu32, diff->to);
	else
		to_label = xstrdup("the build not activated");
	if ((f = open_memstream(&text, &len)) == NULL)
		fatal("open_memstream");
	text_diff_unified(f, from_label, diff->from != 0 ?
	    (char *)diff->from_content.data : "", diff->from != 0 ?
	    diff->from_content.len : 0, to_label,
	    (char *)diff->to_content.data, diff->to_content.len);
	fclose(f);
	free(from_label);
	free(to_label);
	return text;
}

static int
cmd_diff_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__DiffRequest	 diff = PROFILED__DIFF_REQUEST__INIT;
	Profiled__Response	*response;
	const char		*arg;
	unsigned long long	 n[2];
	char			*file_diff = NULL;
	int			 i, file = cmd_args_has(args, "file");
	int			 rc = CLIENT_EXIT_OK;

	for (i = 0; i < cmd_args_count(args); i++) {
		arg = cmd_args_string(args, i);
		if (cmd_parse_number(arg, 1, UINT32_MAX, &n[i]) != 0) {
			output_fail(CLIENT_EXIT_USAGE,
			    "bad generation number: %s", arg);
			return cmd_usage(&cmd_diff_entry);
		}
	}
	diff.has_from = cmd_args_count(args) > 0;
	diff.from = diff.has_from ? n[0] : 0;
	diff.has_to = cmd_args_count(args) > 1;
	diff.to = diff.has_to ? n[1] : 0;
	diff.has_file = diff.file = file;
	diff.has_pending = diff.pending = cmd_args_has(args, "pending");
	if (diff.pending && cmd_args_count(args) > 1) {
		output_fail(CLIENT_EXIT_USAGE, "--pending compares with the "
		    "build not activated: give at most A");
		return cmd_usage(&cmd_diff_entry);
	}
	request.call_case = PROFILED__REQUEST__CALL_DIFF;
	request.diff = &diff;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_DIFF);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	if (file && (file_diff = cmd_diff_files(response->diff)) == NULL)
		rc = CLIENT_EXIT_FAILURE;
	else if (opts->json)
		cmd_diff_json(response->diff, file_diff);
	else if (file)
		fputs(file_diff, stdout);
	else
		cmd_diff_print(response->diff);
	free(file_diff);
	profiled__response__free_unpacked(response, NULL);
	return rc;
}
