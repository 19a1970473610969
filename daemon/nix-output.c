/*
 * Reading what Nix prints on stderr, for the build (build.c) and the
 * making of generations (generation.c): the error a user should read, and
 * the files an evaluation reads.  The texts are Nix's own, as 2.8 and
 * later print them; tests/unit/test-nix-output.c holds real samples.
 */
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/* What Nix says with -v (nix-build, nix-instantiate) for each file it reads. */
#define NIX_OUTPUT_EVALUATING	"evaluating file '"

/*
 * The file a line of Nix's -v output says is being evaluated, as a new
 * string, or NULL if the line says something else.
 */
char *
nix_output_evaluated_file(const char *line)
{
	const char	*path;
	size_t		 len;

	if (strncmp(line, NIX_OUTPUT_EVALUATING,
	    strlen(NIX_OUTPUT_EVALUATING)) != 0)
		return NULL;
	path = line + strlen(NIX_OUTPUT_EVALUATING);
	len = strlen(path);
	if (len < 2 || path[len - 1] != '\'')
		return NULL;
	return xstrndup(path, len - 1);
}

/*
 * Nix's "error: builder for '/nix/store/HASH-NAME.drv' failed with exit
 * code N" (len bytes at error) in words naming the package; NULL if error
 * is not that.
 */
static char *
nix_output_builder_error(const char *error, size_t len)
{
	static const char	 prefix[] = "error: builder for '";
	const char		*path, *quote, *name, *dash;
	char			*summary;
	size_t			 name_len;

	if (len < sizeof prefix - 1 ||
	    strncmp(error, prefix, sizeof prefix - 1) != 0)
		return NULL;
	path = error + sizeof prefix - 1;
	if ((quote = memchr(path, '\'', error + len - path)) == NULL)
		return NULL;
	name = path;
	while ((dash = memchr(name, '/', quote - name)) != NULL)
		name = dash + 1;
	if ((dash = memchr(name, '-', quote - name)) != NULL)
		name = dash + 1;
	name_len = quote - name;
	if (name_len > 4 && strncmp(quote - 4, ".drv", 4) == 0)
		name_len -= 4;
	/* The rest: " failed with exit code 1". */
	xasprintf(&summary, "error: package %.*s failed to build (its builder"
	    "%.*s)", (int)name_len, name, (int)(error + len - quote - 1),
	    quote + 1);
	return summary;
}

/*
 * The error a user should read in a Nix log: the first "error:" line,
 * after the "FILE:LINE:COL" location Nix prints under it, if any; for a
 * builder that failed, with the last line the builder printed.  Never
 * NULL: a log without an error line gives its last non-empty line.
 */
char *
nix_output_error(const char *log)
{
	const char	*line, *next, *error = NULL, *at = NULL, *last = NULL;
	const char	*before = NULL;
	size_t		 error_len = 0, at_len = 0, last_len = 0, before_len = 0;
	size_t		 len;
	char		*summary, *text;

	for (line = log; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		len = next != NULL ? (size_t)(next - line) : strlen(line);
		if (next != NULL)
			next++;
		if (error == NULL && strncmp(line, "error:", 6) == 0) {
			error = line;
			error_len = len;
			before = last;
			before_len = last_len;
			continue;
		}
		if (len > 0) {
			last = line;
			last_len = len;
		}
		if (error != NULL && at == NULL) {
			while (len > 0 && (*line == ' ' || *line == '\t')) {
				line++;
				len--;
			}
			if (len > 3 && strncmp(line, "at ", 3) == 0) {
				at = line + 3;
				at_len = len - 3;
				if (at_len > 0 && at[at_len - 1] == ':')
					at_len--;
			} else if (len > 0)
				break;
		}
	}
	if (error == NULL) {
		if (last == NULL)
			return xstrdup("error: Nix failed without a message");
		return xstrndup(last, last_len);
	}
	if (at != NULL) {
		xasprintf(&summary, "%.*s: %.*s", (int)at_len, at,
		    (int)error_len, error);
		return summary;
	}
	if ((summary = nix_output_builder_error(error, error_len)) == NULL)
		return xstrndup(error, error_len);
	if (before != NULL && strncmp(before, "building '", 10) != 0) {
		xasprintf(&text, "%s; it said: %.*s", summary,
		    (int)before_len, before);
		free(summary);
		summary = text;
	}
	return summary;
}
