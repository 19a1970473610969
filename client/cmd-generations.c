/*
 * profilectl generations: the history of the profile, one generation a
 * row in the order the daemon sends them (by id), the current one marked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"
#include "client.h"

static int	cmd_generations_exec(struct cmd_args *, struct client_options *);

const struct cmd_entry cmd_generations_entry = {
	.name = "generations",
	.about = "list the profile's generations, the current one marked",
	.options = NULL,
	.args = { 0, 0, NULL },
	.exec = cmd_generations_exec
};

/*
 * Pages asked for at most: a page holds up to 64 generations, so this is
 * far past any real history, and a daemon that answers `more` for ever
 * (or pages that go nowhere) is given up on rather than followed.
 */
#define CMD_GENERATIONS_PAGES_MAX	4096

/* The narrowest REASON column; a longer reason widens it for every row. */
#define CMD_GENERATIONS_REASON_WIDTH	8

/* One generation as an element of the array being written. */
static void
cmd_generations_json_one(const Profiled__Generation *generation)
{
	const Profiled__Package	*package;
	size_t			 i;

	output_json_object(NULL);
	output_json_number("id", 1, generation->id);
	output_json_number("parent", generation->has_parent,
	    generation->parent);
	output_json_string("store_path", generation->store_path);
	output_json_time("time", generation->created);
	output_json_string("reason", generation->reason);
	output_json_bool("current", generation->current);
	output_json_string("content_hash", generation->content_hash);
	output_json_number("duration_ms", generation->has_build_ms,
	    generation->build_ms);
	/* All of them, unless a page could not hold them all. */
	output_json_number("package_count", 1, generation->has_package_count ?
	    generation->package_count : generation->n_packages);
	output_json_array("packages");
	for (i = 0; i < generation->n_packages; i++) {
		package = generation->packages[i];
		output_json_object(NULL);
		output_json_string("name", package->name);
		output_json_string("version", package->version);
		output_json_string("path", package->path);
		output_json_end();
	}
	output_json_end();
	/* Schema 1's first names for "time" and "duration_ms". */
	output_json_time("created", generation->created);
	output_json_number("build_ms", generation->has_build_ms,
	    generation->build_ms);
	output_json_end();
}

static void
cmd_generations_json(const Profiled__Generations *generations)
{
	size_t	i;

	output_json_array(NULL);
	for (i = 0; i < generations->n_generations; i++)
		cmd_generations_json_one(generations->generations[i]);
	output_json_end();
}

static void
cmd_generations_print(const Profiled__Generations *generations)
{
	const Profiled__Generation	*generation;
	char				 parent[16], created[64];
	size_t				 i;
	int				 width = CMD_GENERATIONS_REASON_WIDTH;

	for (i = 0; i < generations->n_generations; i++) {
		generation = generations->generations[i];
		if ((int)strlen(generation->reason) > width)
			width = strlen(generation->reason);
	}

	printf("%c%4s  %6s  %-19s  %-*s %8s  %s\n", ' ', "ID", "PARENT",
	    "CREATED", width, "REASON", "PACKAGES", "STORE PATH");
	for (i = 0; i < generations->n_generations; i++) {
		generation = generations->generations[i];
		if (generation->has_parent) {
			snprintf(parent, sizeof parent, "%" PRIu32,
			    generation->parent);
		} else
			snprintf(parent, sizeof parent, "-");
		output_local_time(generation->created, created, sizeof created);
		printf("%c%4" PRIu32 "  %6s  %-19s  %-*s %8zu  %s\n",
		    generation->current ? '*' : ' ', generation->id, parent,
		    created, width, generation->reason,
		    generation->has_package_count ?
		    (size_t)generation->package_count : generation->n_packages,
		    generation->store_path);
	}
}

/*
 * Whether page, asked for after `after`, moves on: every id above the
 * last, in order.  A page that does not cannot end a loop of pages.
 */
static int
cmd_generations_page_moves(const Profiled__Generations *page, uint32_t after)
{
	size_t	i;

	for (i = 0; i < page->n_generations; i++) {
		if (page->generations[i]->id <= after)
			return 0;
		after = page->generations[i]->id;
	}
	return page->n_generations > 0 || !page->more;
}

/*
 * Ask for every generation, page after page, into one list; NULL (the error
 * said) if a request fails, or the pages do not end.  Each page's response
 * stays in pages[] since the list points into it.
 */
static Profiled__Generations *
cmd_generations_fetch(struct client_options *opts,
    Profiled__Response ***pages, size_t *npages)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__GenerationsRequest	 generations =
	    PROFILED__GENERATIONS_REQUEST__INIT;
	Profiled__Generations		*all, *page;
	Profiled__Response		*response;
	size_t				 i;

	all = xcalloc(1, sizeof *all);
	profiled__generations__init(all);
	request.call_case = PROFILED__REQUEST__CALL_GENERATIONS;
	request.generations = &generations;
	*pages = NULL;
	*npages = 0;
	do {
		response = client_request(opts, &request,
		    PROFILED__RESPONSE__RESULT_GENERATIONS);
		if (response == NULL) {
			free(all->generations);
			free(all);
			return NULL;
		}
		*pages = xreallocarray(*pages, *npages + 1, sizeof **pages);
		(*pages)[(*npages)++] = response;
		page = response->generations;
		if (!cmd_generations_page_moves(page, generations.after) ||
		    (page->more && *npages == CMD_GENERATIONS_PAGES_MAX)) {
			output_fail(CLIENT_EXIT_FAILURE, "profiled's pages of "
			    "generations do not end (%zu pages, the last after "
			    "generation %" PRIu32 "); giving up", *npages,
			    generations.after);
			free(all->generations);
			free(all);
			return NULL;
		}
		all->generations = xreallocarray(all->generations,
		    all->n_generations + page->n_generations,
		    sizeof *all->generations);
		for (i = 0; i < page->n_generations; i++)
			all->generations[all->n_generations++] =
			    page->generations[i];
		if (page->n_generations == 0)
			break;
		generations.has_after = 1;
		generations.after =
		    page->generations[page->n_generations - 1]->id;
	} while (page->more);
	return all;
}

static int
cmd_generations_exec(struct cmd_args *args, struct client_options *opts)
{
	Profiled__Generations	 *all;
	Profiled__Response	**pages;
	size_t			  npages, i;
	int			  rc = CLIENT_EXIT_OK;

	if ((all = cmd_generations_fetch(opts, &pages, &npages)) == NULL)
		rc = CLIENT_EXIT_FAILURE;
	else if (opts->json)
		cmd_generations_json(all);
	else
		cmd_generations_print(all);
	for (i = 0; i < npages; i++)
		profiled__response__free_unpacked(pages[i], NULL);
	free(pages);
	if (all != NULL)
		free(all->generations);
	free(all);
	return rc;
}
