/*
 * profilectl generations: the history of the profile, one generation a
 * row in id order, the current one marked: its parent, its age, why it
 * was made, and what changed from its parent, fitting the terminal; with
 * --tree, drawn as the tree its parents make, rollbacks leaving branches;
 * with --all, the generations deleted from the profile too.
 */
#include <sys/ioctl.h>

#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiled.h"
#include "client.h"

static int	cmd_generations_exec(struct cmd_args *, struct client_options *);

static const struct cmd_option cmd_generations_options[] = {
	{ "tree", 0, NULL,
	    "draw the generations as a tree of parents and children" },
	{ "all", 0, NULL,
	    "include generations deleted from the profile (kept on record)" },
	{ NULL, 0, NULL, NULL }
};

const struct cmd_entry cmd_generations_entry = {
	.name = "generations",
	.about = "list the profile's generations, the current one marked",
	.options = cmd_generations_options,
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

/* How a row is laid out: the reason column's width, the line's. */
struct cmd_generations_layout {
	int	 reason_width;
	int	 columns;	/* 0: no limit */
	time_t	 now;
	int	 utf8;		/* draw the tree with box-drawing characters */
	int	 label_width;	/* the tree's lines and the id, in characters */
};

/* One generation as an element of the array being written. */
static void
cmd_generations_json_one(const Profiled__Generation *generation)
{
	output_json_object(NULL);
	output_json_number("id", 1, generation->id);
	output_json_number("parent", generation->has_parent,
	    generation->parent);
	output_json_string("store_path", generation->store_path);
	output_json_time("time", generation->created);
	output_json_string("reason", generation->reason);
	output_json_bool("current", generation->current);
	output_json_bool("deleted", generation->deleted);
	output_json_string("summary", generation->summary);
	output_json_string("content_hash", generation->content_hash);
	output_json_number("duration_ms", generation->has_build_ms,
	    generation->build_ms);
	/* All of them, unless a page could not hold them all. */
	output_json_number("package_count", 1, generation->has_package_count ?
	    generation->package_count : generation->n_packages);
	output_packages_json("packages", generation->packages,
	    generation->n_packages);
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

/* The width to fit: the terminal's, or COLUMNS, or none for a pipe. */
static int
cmd_generations_columns(void)
{
	struct winsize	 ws;
	const char	*columns = getenv("COLUMNS");

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return ws.ws_col;
	if (columns != NULL && atoi(columns) > 0)
		return atoi(columns);
	return 0;
}

/* How long ago t was, in the largest unit that fits: 42s 5m 3h 2d 6w 2y. */
static void
cmd_generations_age(time_t now, int64_t t, char *buf, size_t size)
{
	int64_t	age = now > t ? now - t : 0;

	if (age < 60)
		snprintf(buf, size, "%" PRId64 "s", age);
	else if (age < 3600)
		snprintf(buf, size, "%" PRId64 "m", age / 60);
	else if (age < 86400)
		snprintf(buf, size, "%" PRId64 "h", age / 3600);
	else if (age < 14 * 86400)
		snprintf(buf, size, "%" PRId64 "d", age / 86400);
	else if (age < 365 * 86400)
		snprintf(buf, size, "%" PRId64 "w", age / (7 * 86400));
	else
		snprintf(buf, size, "%" PRId64 "y", age / (365 * 86400));
}

/*
 * One row: the current mark, then prefix (the tree's lines) and the rest;
 * cut to the layout's width with "..." at the end.
 */
static void
cmd_generations_row(const struct cmd_generations_layout *layout,
    const Profiled__Generation *g, const char *prefix, int with_parent)
{
	char	 parent[16], age[16], *row;
	size_t	 len, cut;
	FILE	*f;

	if ((f = open_memstream(&row, &len)) == NULL)
		fatal("open_memstream");
	if (g->has_parent)
		snprintf(parent, sizeof parent, "%" PRIu32, g->parent);
	else
		snprintf(parent, sizeof parent, "-");
	cmd_generations_age(layout->now, g->created, age, sizeof age);
	if (with_parent)
		fprintf(f, "%c %4" PRIu32 "  %6s", g->current ? '*' : ' ', g->id,
		    parent);
	else {
		/* The tree's lines and the id, padded to the widest. */
		snprintf(parent, sizeof parent, "%" PRIu32, g->id);
		fprintf(f, "%c %s%-*s", g->current ? '*' : ' ', prefix,
		    layout->label_width - (int)output_width(prefix), parent);
	}
	fprintf(f, "  %4s  %-*s  %s%s", age, layout->reason_width, g->reason,
	    g->deleted ? "[deleted] " : "",
	    g->summary != NULL ? (*g->summary != '\0' ? g->summary :
	    "(no change)") : "?");
	if (fclose(f) != 0)
		fatal("open_memstream");
	/* Cut at a character, not inside one: UTF-8 continuation bytes. */
	if (layout->columns > 3 && output_width(row) > (size_t)layout->columns) {
		cut = output_cut(row, layout->columns - 3);
		row[cut] = '\0';
		printf("%s...\n", row);
	} else
		printf("%s\n", row);
	free(row);
}

static void
cmd_generations_print(const struct cmd_generations_layout *layout,
    const Profiled__Generations *generations)
{
	size_t	i;

	printf("  %4s  %6s  %4s  %-*s  %s\n", "ID", "PARENT", "AGE",
	    layout->reason_width, "REASON", "CHANGES");
	for (i = 0; i < generations->n_generations; i++)
		cmd_generations_row(layout, generations->generations[i], "", 1);
}

/* The index of the generation numbered id in the list, or -1. */
static ssize_t
cmd_generations_find(const Profiled__Generations *generations, uint32_t id)
{
	size_t	lower = 0, upper = generations->n_generations, middle;

	while (lower < upper) {
		middle = lower + (upper - lower) / 2;
		if (generations->generations[middle]->id == id)
			return middle;
		if (generations->generations[middle]->id < id)
			lower = middle + 1;
		else
			upper = middle;
	}
	return -1;
}

/*
 * Draw the subtree of generation i: a generation with one child is
 * followed by it in the same column, so that a straight history stays
 * straight; where there are several, each is a branch, drawn indented
 * under the last line of its parent.  first is the prefix of i's own
 * line, rest of the lines below it.
 */
static void
cmd_generations_subtree(const struct cmd_generations_layout *layout,
    const Profiled__Generations *generations, size_t **children,
    size_t *nchildren, size_t i, const char *first, const char *rest)
{
	const char	*branch = layout->utf8 ? "\u251c\u2500 " : "|- ";
	const char	*last = layout->utf8 ? "\u2514\u2500 " : "`- ";
	const char	*line = layout->utf8 ? "\u2502  " : "|  ";
	char		*child_first, *child_rest;
	size_t		 c;

	cmd_generations_row(layout, generations->generations[i], first, 0);
	/* A straight line of single children, without recursing. */
	while (nchildren[i] == 1) {
		i = children[i][0];
		cmd_generations_row(layout, generations->generations[i], rest,
		    0);
	}
	for (c = 0; c < nchildren[i]; c++) {
		xasprintf(&child_first, "%s%s", rest, c + 1 < nchildren[i] ?
		    branch : last);
		xasprintf(&child_rest, "%s%s", rest, c + 1 < nchildren[i] ?
		    line : "   ");
		cmd_generations_subtree(layout, generations, children,
		    nchildren, children[i][c], child_first, child_rest);
		free(child_first);
		free(child_rest);
	}
}

/* The generations as the tree their parents make, roots in id order. */
static void
cmd_generations_tree(const struct cmd_generations_layout *layout,
    const Profiled__Generations *generations)
{
	const Profiled__Generation	*g;
	size_t				 n = generations->n_generations, i;
	size_t				**children, *nchildren;
	ssize_t				 parent;

	struct cmd_generations_layout	 tree = *layout;
	size_t				*depth;
	char				 id[16];
	int				 width;

	children = xcalloc(n, sizeof *children);
	nchildren = xcalloc(n, sizeof *nchildren);
	for (i = 0; i < n; i++) {
		g = generations->generations[i];
		if (!g->has_parent ||
		    (parent = cmd_generations_find(generations, g->parent)) ==
		    -1)
			continue;
		children[parent] = xreallocarray(children[parent],
		    nchildren[parent] + 1, sizeof **children);
		children[parent][nchildren[parent]++] = i;
	}
	/*
	 * How far each is indented: a branch where a parent has several
	 * children.  Parents come before children, having lower ids.
	 */
	depth = xcalloc(n, sizeof *depth);
	tree.label_width = 2;
	for (i = 0; i < n; i++) {
		g = generations->generations[i];
		if (g->has_parent &&
		    (parent = cmd_generations_find(generations, g->parent)) !=
		    -1)
			depth[i] = depth[parent] + (nchildren[parent] > 1);
		width = snprintf(id, sizeof id, "%" PRIu32, g->id) +
		    3 * depth[i];
		if (width > tree.label_width)
			tree.label_width = width;
	}
	free(depth);
	layout = &tree;
	printf("  %-*s  %4s  %-*s  %s\n", layout->label_width, "ID", "AGE",
	    layout->reason_width, "REASON", "CHANGES");
	for (i = 0; i < n; i++) {
		g = generations->generations[i];
		/* A root: no parent, or one no longer listed. */
		if (!g->has_parent || cmd_generations_find(generations,
		    g->parent) == -1)
			cmd_generations_subtree(layout, generations, children,
			    nchildren, i, "", "");
	}
	for (i = 0; i < n; i++)
		free(children[i]);
	free(children);
	free(nchildren);
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
cmd_generations_fetch(struct client_options *opts, int deleted,
    Profiled__Response ***pages, size_t *npages)
{
	Profiled__Request		 request = PROFILED__REQUEST__INIT;
	Profiled__GenerationsRequest	 generations =
	    PROFILED__GENERATIONS_REQUEST__INIT;
	Profiled__Generations		*all, *page;
	Profiled__Response		*response;
	size_t				 i;
	int				 fd = -1;

	all = xcalloc(1, sizeof *all);
	profiled__generations__init(all);
	/* --all: the daemon's "all" is deleted generations too. */
	generations.has_all = generations.all = deleted;
	/* A table shows no package lists: pages without them. */
	generations.has_brief = generations.brief = !opts->json;
	request.call_case = PROFILED__REQUEST__CALL_GENERATIONS;
	request.generations = &generations;
	*pages = NULL;
	*npages = 0;
	/* Every page on one connection. */
	do {
		response = client_request_on(opts, &fd, &request,
		    PROFILED__RESPONSE__RESULT_GENERATIONS);
		if (response == NULL) {
			if (fd != -1)
				close(fd);
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
			close(fd);
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
	close(fd);
	return all;
}

static int
cmd_generations_exec(struct cmd_args *args, struct client_options *opts)
{
	struct cmd_generations_layout	  layout;
	const Profiled__Generation	 *g;
	Profiled__Generations		 *all;
	Profiled__Response		**pages;
	size_t				  npages, i;
	int				  rc = CLIENT_EXIT_OK;

	all = cmd_generations_fetch(opts, cmd_args_has(args, "all"), &pages,
	    &npages);
	if (all == NULL)
		rc = CLIENT_EXIT_FAILURE;
	else if (opts->json)
		cmd_generations_json(all);
	else {
		layout.reason_width = CMD_GENERATIONS_REASON_WIDTH;
		for (i = 0; i < all->n_generations; i++) {
			g = all->generations[i];
			if ((int)strlen(g->reason) > layout.reason_width)
				layout.reason_width = strlen(g->reason);
		}
		layout.columns = cmd_generations_columns();
		layout.now = time(NULL);
		setlocale(LC_CTYPE, "");
		layout.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
		if (cmd_args_has(args, "tree"))
			cmd_generations_tree(&layout, all);
		else
			cmd_generations_print(&layout, all);
	}
	for (i = 0; i < npages; i++)
		profiled__response__free_unpacked(pages[i], NULL);
	free(pages);
	if (all != NULL)
		free(all->generations);
	free(all);
	return rc;
}
