/*
 * The package list profiled writes into the user environments it builds:
 * user-env.nix puts it, as JSON, in a comment on the first line of
 * manifest.nix.  build.c reads it from what nix-build made, and adopt.c
 * from environments it finds in a profile's history, without running Nix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/* How user-env.nix starts manifest.nix: the package list, as JSON. */
#define MANIFEST_PREFIX	"/* profiled packages: "
#define MANIFEST_SUFFIX	" */"

/*
 * The package list's JSON from the first line of out_path's manifest.nix,
 * as a new string; NULL and *cause if it is not there.  One line of a
 * file, from the page cache: it does not hold up the loop.  nix-env writes
 * its manifest on one line, so the start is compared first, and one it
 * wrote is not read whole.
 */
char *
manifest_packages(const char *out_path, char **cause)
{
	char	*manifest, *line = NULL, *json = NULL;
	char	 head[sizeof MANIFEST_PREFIX];
	size_t	 size = 0, prefix = strlen(MANIFEST_PREFIX);
	size_t	 suffix = strlen(MANIFEST_SUFFIX);
	ssize_t	 len = -1;
	FILE	*f;

	xasprintf(&manifest, "%s/manifest.nix", out_path);
	if ((f = fopen(manifest, "re")) == NULL) {
		xasprintf(cause, "cannot open %s: %s", manifest,
		    strerror(errno));
		free(manifest);
		return NULL;
	}
	if (fread(head, 1, prefix, f) == prefix &&
	    memcmp(head, MANIFEST_PREFIX, prefix) == 0 &&
	    (len = getline(&line, &size, f)) > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	if (len >= (ssize_t)suffix &&
	    strcmp(line + len - suffix, MANIFEST_SUFFIX) == 0)
		json = xstrndup(line, len - suffix);
	else
		xasprintf(cause, "%s has no package list", manifest);
	fclose(f);
	free(line);
	free(manifest);
	return json;
}

/*
 * The packages of list, that JSON parsed ([{"name", "version", "path"},
 * ...], as adopt-manifests.nix prints them too), into a new *packages of
 * *count: 0, or -1 (and nothing) if it is not that shape.
 */
int
manifest_parse_packages(const struct json *list, struct package **packages,
    size_t *count)
{
	const struct json	*item, *name, *version, *path;
	size_t			 i;

	*packages = NULL;
	*count = 0;
	if (list == NULL || list->type != JSON_ARRAY)
		return -1;
	*packages = xcalloc(list->count, sizeof **packages);
	for (i = 0; i < list->count; i++) {
		item = list->items[i];
		name = json_get(item, "name");
		version = json_get(item, "version");
		path = json_get(item, "path");
		if (name == NULL || name->type != JSON_STRING ||
		    version == NULL || version->type != JSON_STRING ||
		    path == NULL || path->type != JSON_STRING) {
			package_list_free(*packages, *count);
			*packages = NULL;
			*count = 0;
			return -1;
		}
		(*packages)[i].name = xstrdup(name->string);
		(*packages)[i].version = xstrdup(version->string);
		(*packages)[i].path = xstrdup(path->string);
		(*count)++;
	}
	return 0;
}
