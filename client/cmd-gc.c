/*
 * profilectl gc: delete old generations by hand, as retention does after
 * every switch (the newest keep_generations and those younger than
 * keep_days stay; the current generation, its parent and the newest never
 * go), through Nix, their records kept; with --collect, also collect the
 * store's garbage and say what it freed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "profiled.h"
#include "client.h"

static int	cmd_gc_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_gc_options[] = {
	{ "keep", 0, "N", "keep the newest N generations" },
	{ "older-than", 0, "DAYS",
	    "delete only generations older than DAYS days" },
	{ "dry-run", 'n', NULL, "say what would be deleted; delete nothing" },
	{ "collect", 0, NULL,
	    "then collect the store's garbage (nix-store --gc)" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_gc_entry = {
	.name = "gc",
	.about = "delete old generations (their records stay), as retention "
	    "does",
	.options = cmd_gc_options,
	.args = { 0, 0, NULL },
	.exec = cmd_gc_exec
};

static void
cmd_gc_print(const Profiled__Collected *c)
{
	size_t	i;

	if (c->n_deleted == 0)
		printf("no generation to delete\n");
	else {
		printf("%s", c->dry_run ? "would delete generation" :
		    "deleted generation");
		printf("%s", c->n_deleted == 1 ? "" : "s");
		for (i = 0; i < c->n_deleted; i++)
			printf("%s %" PRIu32, i > 0 ? "," : "", c->deleted[i]);
		printf("\n");
	}
	if (c->has_bytes_freed)
		printf("collected %" PRIu64 " store paths, %.1f MiB freed\n",
		    c->paths_freed, c->bytes_freed / (1024.0 * 1024));
}

static int
cmd_gc_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__GcRequest	 gc = PROFILED__GC_REQUEST__INIT;
	Profiled__Response	*response;
	const Profiled__Collected *c;
	const char		*value;
	unsigned long long	 n;
	size_t			 i;

	if ((value = cmd_args_get(args, "keep")) != NULL) {
		if (cmd_parse_number(value, 0, UINT32_MAX, &n) != 0) {
			output_fail(CLIENT_EXIT_USAGE, "--keep: not a number: "
			    "%s", value);
			return cmd_usage(&cmd_gc_entry);
		}
		gc.has_keep = 1;
		gc.keep = n;
	}
	if ((value = cmd_args_get(args, "older-than")) != NULL) {
		if (cmd_parse_number(value, 0, UINT32_MAX, &n) != 0) {
			output_fail(CLIENT_EXIT_USAGE, "--older-than: not a "
			    "number of days: %s", value);
			return cmd_usage(&cmd_gc_entry);
		}
		gc.has_older_than_days = 1;
		gc.older_than_days = n;
	}
	gc.has_dry_run = gc.dry_run = cmd_args_has(args, "dry-run");
	gc.has_collect = gc.collect = cmd_args_has(args, "collect");
	request.call_case = PROFILED__REQUEST__CALL_GC;
	request.gc = &gc;
	response = client_request(opts, &request,
	    PROFILED__RESPONSE__RESULT_COLLECTED);
	if (response == NULL)
		return CLIENT_EXIT_FAILURE;
	c = response->collected;
	if (opts->json) {
		output_json_object(NULL);
		output_json_bool("dry_run", c->dry_run);
		output_json_array("deleted");
		for (i = 0; i < c->n_deleted; i++)
			output_json_number(NULL, 1, c->deleted[i]);
		output_json_end();
		output_json_number("paths_freed", c->has_paths_freed,
		    c->paths_freed);
		output_json_number("bytes_freed", c->has_bytes_freed,
		    c->bytes_freed);
		output_json_end();
	} else
		cmd_gc_print(c);
	profiled__response__free_unpacked(response, NULL);
	return CLIENT_EXIT_OK;
}
