/*
 * Package lists, shared by the build's result and the generation records:
 * one way to copy and free them.
 */
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/* A new array holding copies of the count packages in list. */
struct package *
package_list_copy(const struct package *list, size_t count)
{
	struct package	*copy;
	size_t		 i;

	copy = xcalloc(count, sizeof *copy);
	for (i = 0; i < count; i++) {
		copy[i].name = xstrdup(list[i].name);
		copy[i].version = xstrdup(list[i].version);
		copy[i].path = xstrdup(list[i].path);
	}
	return copy;
}

/* Free list and the count packages it holds; NULL is an empty list. */
void
package_list_free(struct package *list, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++) {
		free(list[i].name);
		free(list[i].version);
		free(list[i].path);
	}
	free(list);
}
