/*
 * profilectl show: one generation in full (the current one by default):
 * where it sits in the history, when and why it was made, what it holds
 * and how much store it takes; with --file, the package file exactly as
 * it was built.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_show_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_show_options[] = {
	{ "file", 0, NULL,
	    "print the package file as it was built, byte for byte" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.about = "show generation N (default: the current one) in full",
	.options = cmd_show_options,
	.args = { 0, 1, "N" },
	.exec = cmd_show_exec
};

/*
 * Ask for generation id (0: the current one), with its package file and
 * its closure's size if asked; NULL (the error said) if that fails.
 */
Profiled__Response *
cmd_show_request(struct client_options *opts, unsigned id, int file,
    int size)
{
	Profiled__Request	request = PROFILED__REQUEST__INIT;
	Profiled__ShowRequest	show = PROFILED__SHOW_REQUEST__INIT;

	show.has_generation = id != 0;
	show.generation = id;
	show.has_file = show.file = file;
	show.has_size = show.size = size;
	request.call_case = PROFILED__REQUEST__CALL_SHOW;
	request.show = &show;
	return client_request(opts, &request, PROFILED__RESPONSE__RESULT_SHOWN);
}

/* bytes for people: 12.3 MiB. */
static void
cmd_show_size(uint64_t bytes, char *buf, size_t size)
{
	const char	*units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double		 n = bytes;
	size_t		 u = 0;

	while (n >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		n /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	else
		snprintf(buf, size, "%.1f %s", n, units[u]);
}

static void
cmd_show_print(const Profiled__Shown *shown)
{
	const Profiled__Generation	*g = shown->generation;
	char				 when[64], size[32];
	size_t				 i;

	printf("%-14s %" PRIu32 "%s%s\n", "generation", g->id,
	    g->current ? " (current)" : "", g->deleted ? " (deleted)" : "");
	if (g->has_parent)
		printf("%-14s %" PRIu32 "\n", "parent", g->parent);
	else
		printf("%-14s none\n", "parent");
	printf("%-14s ", "children");
	for (i = 0; i < shown->n_children; i++)
		printf("%s%" PRIu32, i > 0 ? ", " : "", shown->children[i]);
	printf("%s\n", shown->n_children == 0 ? "none" : "");
	output_local_time(g->created, when, sizeof when);
	printf("%-14s %s\n", "created", when);
	printf("%-14s %s\n", "reason", g->reason);
	if (g->has_build_ms)
		printf("%-14s %.1f s\n", "build time", g->build_ms / 1000.0);
	printf("%-14s %s\n", "store path", g->store_path);
	if (shown->has_closure_bytes) {
		cmd_show_size(shown->closure_bytes, size, sizeof size);
		printf("%-14s %s\n", "closure size", size);
	}
	printf("%-14s %zu\n", "packages", g->n_packages);
	output_packages(stdout, g->packages, g->n_packages, "  ");
}

static void
cmd_show_json(const Profiled__Shown *shown, int file)
{
	const Profiled__Generation	*g = shown->generation;
	char				*content;
	size_t				 i;

	output_json_object(NULL);
	output_json_number("id", 1, g->id);
	output_json_number("parent", g->has_parent, g->parent);
	output_json_array("children");
	for (i = 0; i < shown->n_children; i++)
		output_json_number(NULL, 1, shown->children[i]);
	output_json_end();
	output_json_time("time", g->created);
	output_json_string("reason", g->reason);
	output_json_bool("current", g->current);
	output_json_bool("deleted", g->deleted);
	output_json_number("duration_ms", g->has_build_ms, g->build_ms);
	output_json_string("store_path", g->store_path);
	output_json_number("closure_bytes", shown->has_closure_bytes,
	    shown->closure_bytes);
	output_json_string("content_hash", g->content_hash);
	output_packages_json("packages", g->packages, g->n_packages);
	if (file) {
		content = NULL;
		if (shown->has_content)
			content = xstrndup((char *)shown->content.data,
			    shown->content.len);
		output_json_string("file", content);
		free(content);
	}
	output_json_end();
}

static int
cmd_show_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Response	*response;
	const Profiled__Shown	*shown;
	const char		*generation = cmd_args_string(args, 0);
	unsigned long long	 n = 0;
	int			 file = cmd_args_has(args, "file");
	int			 rc = CLIENT_EXIT_OK;

	if (generation != NULL &&
	    cmd_parse_number(generation, 1, UINT32_MAX, &n) != 0) {
		output_fail(CLIENT_EXIT_USAGE, "bad generation number: %s",
		    generation);
		return cmd_usage(&cmd_show_entry);
	}
	if ((response = cmd_show_request(opts, n, file, !file)) == NULL)
		return CLIENT_EXIT_FAILURE;
	shown = response->shown;
	output_packages_sort(shown->generation->packages,
	    shown->generation->n_packages);
	if (opts->json)
		cmd_show_json(shown, file);
	else if (!file)
		cmd_show_print(shown);
	else if (!shown->has_content) {
		rc = output_fail(CLIENT_EXIT_FAILURE, "generation %" PRIu32
		    " was not built by profiled (it is an %s): there is no "
		    "package file to show", shown->generation->id,
		    shown->generation->reason);
	} else if (fwrite(shown->content.data, 1, shown->content.len, stdout) !=
	    shown->content.len)
		rc = CLIENT_EXIT_FAILURE;
	profiled__response__free_unpacked(response, NULL);
	return rc;
}
