/*
 * Package lists, shared by the build's result, the generation records and
 * the diff between two generations: one way to copy and free them, and the
 * order of versions Nix uses, so profiled calls a change an upgrade
 * exactly when Nix would.
 */
#include <limits.h>
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

/* One component of a version: a run of digits or of other characters. */
struct package_component {
	const char	*text;
	size_t		 length;	/* 0: the version has run out */
	int		 numeric;	/* a number that fits an int */
	int		 value;
};

static int
package_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
package_is_separator(char c)
{
	return c == '.' || c == '-';
}

/*
 * Read the component at *p into c and move *p past it, as Nix's
 * nextComponent: separators are skipped, and a run of digits is a number
 * only if it fits an int, since Nix's string2Int<int> refuses the rest.
 */
static void
package_next_component(const char **p, struct package_component *c)
{
	const char	*s;
	long long	 value = 0;

	while (package_is_separator(**p))
		(*p)++;
	s = c->text = *p;
	if (package_is_digit(*s)) {
		while (package_is_digit(*s)) {
			if (value <= INT_MAX)
				value = value * 10 + (*s - '0');
			s++;
		}
		c->numeric = value <= INT_MAX;
		c->value = c->numeric ? (int)value : 0;
	} else {
		while (*s != '\0' && !package_is_digit(*s) &&
		    !package_is_separator(*s))
			s++;
		c->numeric = 0;
		c->value = 0;
	}
	c->length = s - c->text;
	*p = s;
}

static int
package_component_is_pre(const struct package_component *c)
{
	return c->length == 3 && memcmp(c->text, "pre", 3) == 0;
}

/* Whether a orders before b, as Nix's componentsLT, rule for rule. */
static int
package_component_less(const struct package_component *a,
    const struct package_component *b)
{
	size_t	length;
	int	r;

	if (a->numeric && b->numeric)
		return a->value < b->value;
	if (a->length == 0 && b->numeric)
		return 1;
	if (package_component_is_pre(a) && !package_component_is_pre(b))
		return 1;
	if (package_component_is_pre(b))
		return 0;
	/* A letter is older than a number: 2.3a before 2.3.1. */
	if (b->numeric)
		return 1;
	if (a->numeric)
		return 0;
	length = a->length < b->length ? a->length : b->length;
	if ((r = memcmp(a->text, b->text, length)) != 0)
		return r < 0;
	return a->length < b->length;
}

/*
 * Order versions a and b as Nix's builtins.compareVersions does: <0 if a
 * is older, 0 if Nix holds them the same, >0 if a is newer.
 */
int
package_version_compare(const char *a, const char *b)
{
	struct package_component	ca, cb;

	while (*a != '\0' || *b != '\0') {
		package_next_component(&a, &ca);
		package_next_component(&b, &cb);
		if (package_component_less(&ca, &cb))
			return -1;
		if (package_component_less(&cb, &ca))
			return 1;
	}
	return 0;
}
