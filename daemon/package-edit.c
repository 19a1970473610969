/*
 * Editing a package file in place, for profilectl add and remove.
 *
 * The file is Nix source a person wrote, so it is never regenerated: the
 * list of packages is found in its text (a list, or a function returning
 * one, under any number of "with X;" and "let ... in"), and an edit
 * inserts or deletes the bytes of one element, leaving every other byte as
 * it was, comments and layout included.  A small lexer is enough: it knows
 * comments, strings and brackets, which is all it takes to find where
 * elements begin and end.  Whether an added attribute exists is for Nix to
 * say; this only edits text.
 */

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "profiled.h"

enum package_edit_token_type {
	TOKEN_END,
	TOKEN_IDENT,
	TOKEN_STRING,
	TOKEN_OTHER,	/* a path, a number, <nixpkgs>, an operator */
	TOKEN_PUNCT	/* one of {}[]();:.@,?= */
};

struct package_edit_token {
	enum package_edit_token_type	 type;
	size_t				 start;
	size_t				 end;
};

/* An element of the list: a plain attribute path, or any other expression. */
struct package_edit_element {
	size_t		 start;
	size_t		 end;
	char		*path;	/* "pkgs.hello", or NULL if not a plain path */
};

/* What was found in the file: the list, its elements and how it names. */
struct package_edit_shape {
	size_t				 open;	/* offset of '[' */
	size_t				 close;	/* offset of ']' */
	struct package_edit_element	*elements;
	size_t				 count;
	char				**scopes; /* with targets, arguments */
	size_t				 nscopes;
	int				 has_with;
};

struct package_edit_lexer {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	const char	*error;		/* why the text cannot be read */
	size_t		 error_at;
};

static int	package_edit_next(struct package_edit_lexer *,
		    struct package_edit_token *);

static int
package_edit_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static int
package_edit_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '\'' || c == '-';
}

/* The 1-based line of offset at, for messages. */
static unsigned
package_edit_line(const char *text, size_t at)
{
	unsigned	line = 1;
	size_t		i;

	for (i = 0; i < at; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static void
package_edit_fail(struct package_edit_lexer *lx, const char *error,
    size_t at)
{
	if (lx->error == NULL) {
		lx->error = error;
		lx->error_at = at;
	}
	lx->pos = lx->len;
}

/* Skip whitespace and comments. */
static void
package_edit_skip(struct package_edit_lexer *lx)
{
	const char	*t = lx->text;
	size_t		 start;

	while (lx->pos < lx->len) {
		if (isspace((unsigned char)t[lx->pos]))
			lx->pos++;
		else if (t[lx->pos] == '#') {
			while (lx->pos < lx->len && t[lx->pos] != '\n')
				lx->pos++;
		} else if (t[lx->pos] == '/' && lx->pos + 1 < lx->len &&
		    t[lx->pos + 1] == '*') {
			start = lx->pos;
			lx->pos += 2;
			while (lx->pos + 1 < lx->len && (t[lx->pos] != '*' ||
			    t[lx->pos + 1] != '/'))
				lx->pos++;
			if (lx->pos + 1 >= lx->len) {
				package_edit_fail(lx, "a comment is not closed",
				    start);
				return;
			}
			lx->pos += 2;
		} else
			break;
	}
}

/* After "${": skip the interpolated expression and its closing brace. */
static void
package_edit_interpolation(struct package_edit_lexer *lx)
{
	struct package_edit_token	tok;
	int				depth = 1;

	while (depth > 0 && package_edit_next(lx, &tok) == 0) {
		if (tok.type == TOKEN_END) {
			package_edit_fail(lx, "a ${ is not closed", lx->pos);
			return;
		}
		if (tok.type != TOKEN_PUNCT)
			continue;
		if (lx->text[tok.start] == '{')
			depth++;
		else if (lx->text[tok.start] == '}')
			depth--;
	}
}

/* Step past one byte of a string's text, or a whole ${...} in it. */
static void
package_edit_string_step(struct package_edit_lexer *lx)
{
	if (lx->text[lx->pos] == '$' && lx->pos + 1 < lx->len &&
	    lx->text[lx->pos + 1] == '{') {
		lx->pos += 2;
		package_edit_interpolation(lx);
	} else
		lx->pos++;
}

/* A "..." string; pos is past the opening quote. */
static void
package_edit_string(struct package_edit_lexer *lx, size_t start)
{
	const char	*t = lx->text;

	while (lx->pos < lx->len) {
		if (t[lx->pos] == '\\')
			lx->pos += 2;
		else if (t[lx->pos] == '"') {
			lx->pos++;
			return;
		} else
			package_edit_string_step(lx);
	}
	package_edit_fail(lx, "a string is not closed", start);
}

/* A ''...'' string; pos is past the opening quotes. */
static void
package_edit_indented_string(struct package_edit_lexer *lx, size_t start)
{
	const char	*t = lx->text;

	while (lx->pos < lx->len) {
		if (t[lx->pos] == '\'' && lx->pos + 1 < lx->len &&
		    t[lx->pos + 1] == '\'') {
			/* ''' ''$ and ''\x are escapes, not the end. */
			if (lx->pos + 2 < lx->len && (t[lx->pos + 2] == '\'' ||
			    t[lx->pos + 2] == '$')) {
				lx->pos += 3;
				continue;
			}
			if (lx->pos + 2 < lx->len && t[lx->pos + 2] == '\\') {
				lx->pos += 4;
				continue;
			}
			lx->pos += 2;
			return;
		}
		package_edit_string_step(lx);
	}
	package_edit_fail(lx, "a '' string is not closed", start);
}

/* The next token; -1 once the text has proved unreadable. */
static int
package_edit_next(struct package_edit_lexer *lx, struct package_edit_token *tok)
{
	const char	*t = lx->text;
	size_t		 start;
	int		 c;

	package_edit_skip(lx);
	if (lx->error != NULL)
		return -1;
	start = tok->start = lx->pos;
	if (lx->pos >= lx->len) {
		tok->type = TOKEN_END;
		tok->end = lx->pos;
		return 0;
	}
	c = (unsigned char)t[lx->pos];
	if (package_edit_ident_start(c)) {
		while (lx->pos < lx->len &&
		    package_edit_ident_char((unsigned char)t[lx->pos]))
			lx->pos++;
		tok->type = TOKEN_IDENT;
	} else if (c == '"') {
		lx->pos++;
		package_edit_string(lx, start);
		tok->type = TOKEN_STRING;
	} else if (c == '\'' && lx->pos + 1 < lx->len && t[lx->pos + 1] == '\'') {
		lx->pos += 2;
		package_edit_indented_string(lx, start);
		tok->type = TOKEN_STRING;
	} else if (strchr("{}[]();:@,?=", c) != NULL) {
		lx->pos++;
		tok->type = TOKEN_PUNCT;
	} else if (c == '.' && !(lx->pos + 1 < lx->len &&
	    (t[lx->pos + 1] == '/' || t[lx->pos + 1] == '.'))) {
		lx->pos++;
		tok->type = TOKEN_PUNCT;
	} else if (c == '<' && lx->pos + 1 < lx->len &&
	    package_edit_ident_start((unsigned char)t[lx->pos + 1])) {
		/* <nixpkgs> */
		while (lx->pos < lx->len && t[lx->pos] != '>' &&
		    !isspace((unsigned char)t[lx->pos]))
			lx->pos++;
		if (lx->pos < lx->len && t[lx->pos] == '>')
			lx->pos++;
		tok->type = TOKEN_OTHER;
	} else if (c == '.' || c == '/' || c == '~' || isdigit(c)) {
		/* A path or a number: a run of the characters they use. */
		lx->pos++;
		while (lx->pos < lx->len &&
		    (isalnum((unsigned char)t[lx->pos]) ||
		    strchr("._-+/~", t[lx->pos]) != NULL))
			lx->pos++;
		tok->type = TOKEN_OTHER;
	} else {
		lx->pos++;
		tok->type = TOKEN_OTHER;
	}
	tok->end = lx->pos;
	return lx->error != NULL ? -1 : 0;
}

static int
package_edit_is(const struct package_edit_lexer *lx,
    const struct package_edit_token *tok, const char *what)
{
	size_t	len = strlen(what);

	return tok->end - tok->start == len &&
	    memcmp(lx->text + tok->start, what, len) == 0;
}

/*
 * Skip a bracketed expression whose opening token was just read; the
 * lexer ends past its closing bracket.
 */
static int
package_edit_skip_brackets(struct package_edit_lexer *lx, size_t open)
{
	struct package_edit_token	 tok;
	char				 stack[256];
	size_t				 depth = 0;
	char				 c;

	stack[depth++] = lx->text[open];
	while (depth > 0) {
		if (package_edit_next(lx, &tok) == -1)
			return -1;
		if (tok.type == TOKEN_END) {
			package_edit_fail(lx, "a bracket is not closed", open);
			return -1;
		}
		if (tok.type != TOKEN_PUNCT)
			continue;
		c = lx->text[tok.start];
		if (c == '{' || c == '[' || c == '(') {
			if (depth == sizeof stack) {
				package_edit_fail(lx, "brackets nest too deep",
				    tok.start);
				return -1;
			}
			stack[depth++] = c;
		} else if (c == '}' || c == ']' || c == ')') {
			if ((c == '}' && stack[depth - 1] != '{') ||
			    (c == ']' && stack[depth - 1] != '[') ||
			    (c == ')' && stack[depth - 1] != '(')) {
				package_edit_fail(lx, "brackets do not match",
				    tok.start);
				return -1;
			}
			depth--;
		}
	}
	return 0;
}

static void
package_edit_scope_add(struct package_edit_shape *shape, const char *text,
    size_t start, size_t end)
{
	shape->scopes = xreallocarray(shape->scopes, shape->nscopes + 1,
	    sizeof *shape->scopes);
	shape->scopes[shape->nscopes++] = xstrndup(text + start, end - start);
}

/*
 * Read a function's set pattern, "{ pkgs ? ..., lib, ... }", whose '{'
 * was just read: its argument names are scopes packages may be named in.
 * 0 if it was a pattern (followed by ':' or '@'), 1 if not.
 */
static int
package_edit_pattern(struct package_edit_lexer *lx,
    struct package_edit_shape *shape, size_t open)
{
	struct package_edit_lexer	 scan = *lx;
	struct package_edit_token	 tok, next;
	size_t				 saved;

	if (package_edit_skip_brackets(lx, open) == -1)
		return -1;
	saved = lx->pos;
	if (package_edit_next(lx, &next) == -1)
		return -1;
	lx->pos = saved;
	if (next.type != TOKEN_PUNCT ||
	    (lx->text[next.start] != ':' && lx->text[next.start] != '@'))
		return 1;
	/* Names directly inside the braces, each followed by ? , or }. */
	for (;;) {
		if (package_edit_next(&scan, &tok) == -1 || scan.pos > saved)
			break;
		if (tok.type == TOKEN_PUNCT && lx->text[tok.start] == '?') {
			/* Skip the default, up to ',' or '}' at this depth. */
			for (;;) {
				if (package_edit_next(&scan, &tok) == -1 ||
				    tok.type == TOKEN_END)
					return 0;
				if (tok.type != TOKEN_PUNCT)
					continue;
				if (strchr("{[(", lx->text[tok.start]) !=
				    NULL) {
					if (package_edit_skip_brackets(&scan,
					    tok.start) == -1)
						return 0;
					continue;
				}
				if (lx->text[tok.start] == ',' ||
				    lx->text[tok.start] == '}')
					break;
			}
			continue;
		}
		if (tok.type == TOKEN_IDENT)
			package_edit_scope_add(shape, lx->text, tok.start,
			    tok.end);
	}
	return 0;
}

/* The elements of the list between shape->open and shape->close. */
static int
package_edit_elements(struct package_edit_lexer *lx,
    struct package_edit_shape *shape)
{
	struct package_edit_token	 tok, next;
	struct package_edit_element	*e;
	size_t				 saved;
	char				*path;
	int				 plain;

	lx->pos = shape->open + 1;
	for (;;) {
		if (package_edit_next(lx, &tok) == -1)
			return -1;
		if (tok.start == shape->close)
			return 0;
		shape->elements = xreallocarray(shape->elements,
		    shape->count + 1, sizeof *shape->elements);
		e = &shape->elements[shape->count++];
		e->start = tok.start;
		e->path = NULL;
		if (tok.type == TOKEN_PUNCT &&
		    strchr("{[(", lx->text[tok.start]) != NULL) {
			if (package_edit_skip_brackets(lx, tok.start) == -1)
				return -1;
			e->end = lx->pos;
			continue;
		}
		e->end = tok.end;
		if (tok.type != TOKEN_IDENT)
			continue;
		/* ident(.ident)*: a plain attribute path. */
		plain = 1;
		for (;;) {
			saved = lx->pos;
			if (package_edit_next(lx, &next) == -1)
				return -1;
			if (next.type != TOKEN_PUNCT ||
			    lx->text[next.start] != '.') {
				lx->pos = saved;
				break;
			}
			if (package_edit_next(lx, &next) == -1)
				return -1;
			if (next.type != TOKEN_IDENT) {
				/* pkgs."foo" or pkgs.${x}: not plain. */
				plain = 0;
				e->end = next.end;
				if (next.type == TOKEN_PUNCT)
					lx->pos = next.start;
				break;
			}
			e->end = next.end;
		}
		if (!plain)
			continue;
		path = xstrndup(lx->text + e->start, e->end - e->start);
		if (strpbrk(path, " \t\n#/") != NULL) {
			/* Spaced or commented inside: leave it alone. */
			free(path);
			continue;
		}
		e->path = path;
	}
}

static void
package_edit_shape_free(struct package_edit_shape *shape)
{
	size_t	i;

	for (i = 0; i < shape->count; i++)
		free(shape->elements[i].path);
	free(shape->elements);
	for (i = 0; i < shape->nscopes; i++)
		free(shape->scopes[i]);
	free(shape->scopes);
	memset(shape, 0, sizeof *shape);
}

#define PACKAGE_EDIT_SHAPES "a list of packages, or a function returning " \
	"one, as in \"{ pkgs ? import <nixpkgs> { } }: with pkgs; [ hello ]\""

/*
 * Find the list in text: 0, or -1 and *cause saying what in the file is
 * not of a shape that can be edited.
 */
static int
package_edit_parse(const char *name, const char *text, size_t len,
    struct package_edit_shape *shape, char **cause)
{
	struct package_edit_lexer	 lx = { text, len, 0, NULL, 0 };
	struct package_edit_token	 tok, next;
	size_t				 saved, start;
	int				 lets, r;
	const char			*what = NULL;

	memset(shape, 0, sizeof *shape);
	for (;;) {
		if (package_edit_next(&lx, &tok) == -1)
			goto unreadable;
		if (tok.type == TOKEN_END) {
			what = "the file holds no list";
			break;
		}
		if (tok.type == TOKEN_PUNCT && text[tok.start] == '{') {
			r = package_edit_pattern(&lx, shape, tok.start);
			if (r == -1)
				goto unreadable;
			if (r == 1) {
				what = "an attribute set";
				break;
			}
			if (package_edit_next(&lx, &next) == -1)
				goto unreadable;
			if (text[next.start] == '@' &&
			    (package_edit_next(&lx, &next) == -1 ||
			    package_edit_next(&lx, &next) == -1))
				goto unreadable;
			continue;	/* past ':' */
		}
		if (tok.type == TOKEN_IDENT && package_edit_is(&lx, &tok,
		    "with")) {
			/* with EXPR; -- a single name is a scope. */
			start = lx.pos;
			if (package_edit_next(&lx, &next) == -1)
				goto unreadable;
			if (next.type == TOKEN_IDENT) {
				if (package_edit_next(&lx, &tok) == -1)
					goto unreadable;
				if (tok.type == TOKEN_PUNCT &&
				    text[tok.start] == ';') {
					package_edit_scope_add(shape, text,
					    next.start, next.end);
					shape->has_with = 1;
					continue;
				}
			}
			lx.pos = start;
			for (;;) {
				if (package_edit_next(&lx, &tok) == -1)
					goto unreadable;
				if (tok.type == TOKEN_END) {
					what = "a \"with\" with no ';'";
					goto shape_error;
				}
				if (tok.type == TOKEN_PUNCT &&
				    strchr("{[(", text[tok.start]) != NULL) {
					if (package_edit_skip_brackets(&lx,
					    tok.start) == -1)
						goto unreadable;
				} else if (tok.type == TOKEN_PUNCT &&
				    text[tok.start] == ';')
					break;
			}
			shape->has_with = 1;
			continue;
		}
		if (tok.type == TOKEN_IDENT && package_edit_is(&lx, &tok,
		    "let")) {
			/* let ... in, nested lets counted. */
			for (lets = 1; lets > 0;) {
				if (package_edit_next(&lx, &tok) == -1)
					goto unreadable;
				if (tok.type == TOKEN_END) {
					what = "a \"let\" with no \"in\"";
					goto shape_error;
				}
				if (tok.type == TOKEN_PUNCT &&
				    strchr("{[(", text[tok.start]) != NULL) {
					if (package_edit_skip_brackets(&lx,
					    tok.start) == -1)
						goto unreadable;
				} else if (package_edit_is(&lx, &tok, "let"))
					lets++;
				else if (package_edit_is(&lx, &tok, "in"))
					lets--;
			}
			continue;
		}
		if (tok.type == TOKEN_IDENT) {
			/* pkgs: ... or args@{ ... }: */
			saved = lx.pos;
			if (package_edit_next(&lx, &next) == -1)
				goto unreadable;
			if (next.type == TOKEN_PUNCT && text[next.start] == ':') {
				package_edit_scope_add(shape, text, tok.start,
				    tok.end);
				continue;
			}
			if (next.type == TOKEN_PUNCT && text[next.start] == '@')
				continue;
			lx.pos = saved;
			what = "an expression";
			break;
		}
		if (tok.type == TOKEN_PUNCT && text[tok.start] == '[') {
			shape->open = tok.start;
			if (package_edit_skip_brackets(&lx, tok.start) == -1)
				goto unreadable;
			shape->close = lx.pos - 1;
			if (package_edit_next(&lx, &next) == -1)
				goto unreadable;
			if (next.type != TOKEN_END) {
				tok = next;
				what = "more after the list";
				break;
			}
			if (package_edit_elements(&lx, shape) == -1)
				goto unreadable;
			return 0;
		}
		what = "an expression";
		break;
	}
shape_error:
	xasprintf(cause, "%s: line %u: found %s; profilectl add and remove "
	    "edit %s, and this file is not of that shape: edit it by hand",
	    name, package_edit_line(text, tok.start), what,
	    PACKAGE_EDIT_SHAPES);
	package_edit_shape_free(shape);
	return -1;

unreadable:
	xasprintf(cause, "%s: line %u: %s", name,
	    package_edit_line(text, lx.error_at), lx.error);
	package_edit_shape_free(shape);
	return -1;
}

/* Is path attr, or attr in one of the scopes (pkgs.hello for hello)? */
static int
package_edit_names(const struct package_edit_shape *shape, const char *path,
    const char *attr)
{
	size_t	i, len;

	if (strcmp(path, attr) == 0)
		return 1;
	for (i = 0; i < shape->nscopes; i++) {
		len = strlen(shape->scopes[i]);
		if (strncmp(path, shape->scopes[i], len) == 0 &&
		    path[len] == '.' && strcmp(path + len + 1, attr) == 0)
			return 1;
	}
	return 0;
}

/* Does the text of e mention attr's last name as a word? */
static int
package_edit_mentions(const char *text, const struct package_edit_element *e,
    const char *attr)
{
	const char	*name = strrchr(attr, '.');
	size_t		 len, i;

	name = name != NULL ? name + 1 : attr;
	len = strlen(name);
	for (i = e->start; i + len <= e->end; i++) {
		if (memcmp(text + i, name, len) != 0)
			continue;
		if ((i == e->start ||
		    !package_edit_ident_char((unsigned char)text[i - 1])) &&
		    (i + len == e->end ||
		    !package_edit_ident_char((unsigned char)text[i + len])))
			return 1;
	}
	return 0;
}

/* A valid attribute path: name(.name)*. */
int
package_edit_valid_attr(const char *attr)
{
	const char	*p = attr;

	for (;;) {
		if (!package_edit_ident_start((unsigned char)*p))
			return 0;
		while (package_edit_ident_char((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 1;
		if (*p++ != '.')
			return 0;
	}
}

static size_t
package_edit_line_start(const char *text, size_t at)
{
	while (at > 0 && text[at - 1] != '\n')
		at--;
	return at;
}

/* Only spaces and tabs between the start of at's line and at? */
static int
package_edit_starts_line(const char *text, size_t at)
{
	size_t	i;

	for (i = package_edit_line_start(text, at); i < at; i++)
		if (text[i] != ' ' && text[i] != '\t')
			return 0;
	return 1;
}

static int
package_edit_same_line(const char *text, size_t a, size_t b)
{
	size_t	i;

	for (i = a; i < b; i++)
		if (text[i] == '\n')
			return 0;
	return 1;
}

/* Replace [start, end) of *text with insert. */
static void
package_edit_splice(char **text, size_t *len, size_t start, size_t end,
    const char *insert)
{
	size_t	 n = strlen(insert), newlen = *len - (end - start) + n;
	char	*out;

	out = xmalloc(newlen + 1);
	memcpy(out, *text, start);
	memcpy(out + start, insert, n);
	memcpy(out + start + n, *text + end, *len - end);
	out[newlen] = '\0';
	free(*text);
	*text = out;
	*len = newlen;
}

/*
 * What to write for attr: under "with pkgs;" its name, else named the way
 * the list's other elements are (pkgs.hello), else in the pkgs argument.
 */
static char *
package_edit_spelling(const struct package_edit_shape *shape,
    const char *attr)
{
	const struct package_edit_element	*e;
	const char				*dot;
	size_t					 i, j;
	char					*s;

	if (shape->has_with)
		return xstrdup(attr);
	for (i = 0; i < shape->count; i++) {
		e = &shape->elements[i];
		if (e->path == NULL || (dot = strchr(e->path, '.')) == NULL)
			continue;
		for (j = 0; j < shape->nscopes; j++) {
			if (strlen(shape->scopes[j]) ==
			    (size_t)(dot - e->path) && strncmp(e->path,
			    shape->scopes[j], dot - e->path) == 0) {
				xasprintf(&s, "%s.%s", shape->scopes[j], attr);
				return s;
			}
		}
	}
	for (j = 0; j < shape->nscopes; j++) {
		if (strcmp(shape->scopes[j], "pkgs") == 0) {
			xasprintf(&s, "pkgs.%s", attr);
			return s;
		}
	}
	return xstrdup(attr);
}

/* The leading spaces and tabs of at's line. */
static char *
package_edit_indent(const char *text, size_t at)
{
	size_t	start = package_edit_line_start(text, at), end = start;

	while (text[end] == ' ' || text[end] == '\t')
		end++;
	return xstrndup(text + start, end - start);
}

/*
 * Are the list's plain elements in order, one per line?  Then a new one
 * goes where it sorts; otherwise at the end.
 */
static int
package_edit_sorted(const char *text, const struct package_edit_shape *shape)
{
	size_t	i;

	if (shape->count < 2)
		return 0;
	for (i = 0; i < shape->count; i++) {
		if (shape->elements[i].path == NULL ||
		    !package_edit_starts_line(text, shape->elements[i].start))
			return 0;
		if (i > 0 && strcasecmp(shape->elements[i - 1].path,
		    shape->elements[i].path) > 0)
			return 0;
	}
	return 1;
}

static void
package_edit_insert(char **text, size_t *len,
    const struct package_edit_shape *shape, const char *word)
{
	const struct package_edit_element	*e, *last;
	size_t					 i, at;
	char					*indent, *insert;
	const char				*nl;

	/* A file written on Windows keeps its line ends. */
	nl = strstr(*text, "\r\n") != NULL ? "\r\n" : "\n";

	if (package_edit_sorted(*text, shape)) {
		for (i = 0; i < shape->count; i++) {
			e = &shape->elements[i];
			if (strcasecmp(e->path, word) <= 0)
				continue;
			indent = package_edit_indent(*text, e->start);
			xasprintf(&insert, "%s%s%s", word, nl, indent);
			package_edit_splice(text, len, e->start, e->start,
			    insert);
			free(insert);
			free(indent);
			return;
		}
	}
	if (shape->count == 0) {
		if (package_edit_same_line(*text, shape->open, shape->close)) {
			xasprintf(&insert, " %s ", word);
			package_edit_splice(text, len, shape->open + 1,
			    shape->close, insert);
		} else if (package_edit_starts_line(*text, shape->close)) {
			at = package_edit_line_start(*text, shape->close);
			indent = package_edit_indent(*text, shape->close);
			xasprintf(&insert, "%s  %s%s", indent, word, nl);
			package_edit_splice(text, len, at, at, insert);
			free(indent);
		} else {
			xasprintf(&insert, " %s", word);
			package_edit_splice(text, len, shape->open + 1,
			    shape->open + 1, insert);
		}
		free(insert);
		return;
	}
	last = &shape->elements[shape->count - 1];
	if (package_edit_same_line(*text, last->end, shape->close) ||
	    !package_edit_starts_line(*text, last->start)) {
		xasprintf(&insert, " %s", word);
		at = last->end;
	} else {
		/* A line of its own after the last element's line. */
		indent = package_edit_indent(*text, last->start);
		xasprintf(&insert, "%s%s%s", nl, indent, word);
		free(indent);
		for (at = last->end; at < shape->close && (*text)[at] != '\n';
		    at++)
			;
		if (at > last->end && (*text)[at - 1] == '\r')
			at--;
	}
	package_edit_splice(text, len, at, at, insert);
	free(insert);
}

static void
package_edit_delete(char **text, size_t *len, const struct package_edit_element *e)
{
	const char	*t = *text;
	size_t		 start = e->start, end = e->end, after;

	after = end;
	while (after < *len && (t[after] == ' ' || t[after] == '\t' ||
	    t[after] == '\r'))
		after++;
	if (package_edit_starts_line(t, start) && after < *len &&
	    t[after] == '#') {
		/* A comment after it on its line is about it. */
		while (after < *len && t[after] != '\n')
			after++;
	}
	if (package_edit_starts_line(t, start) &&
	    (after == *len || t[after] == '\n')) {
		/* Alone on its line: the line goes. */
		start = package_edit_line_start(t, start);
		end = after < *len ? after + 1 : after;
	} else if (package_edit_starts_line(t, start))
		end = after;
	else {
		while (start > 0 && (t[start - 1] == ' ' || t[start - 1] == '\t'))
			start--;
	}
	package_edit_splice(text, len, start, end, "");
}

/*
 * Add (or remove) each of edits' attributes in the package file text
 * (name is for messages), setting each edit's result and line.  Returns
 * the new text, which equals text if nothing changed, or NULL and *cause
 * when the file is not a shape that can be edited.
 */
char *
package_edit_apply(const char *name, const char *text, size_t len, int add,
    struct package_edit *edits, size_t count, char **cause)
{
	struct package_edit_shape		 shape;
	const struct package_edit_element	*e;
	struct package_edit			*edit;
	size_t					 i, j, outlen = len;
	char					*out, *word;
	int					 found;

	out = xmalloc(len + 1);
	memcpy(out, text, len);
	out[len] = '\0';
	for (i = 0; i < count; i++) {
		edit = &edits[i];
		assert(package_edit_valid_attr(edit->attr));
		if (package_edit_parse(name, out, outlen, &shape, cause) == -1) {
			free(out);
			return NULL;
		}
		edit->result = add ? PACKAGE_EDIT_ALREADY : PACKAGE_EDIT_ABSENT;
		edit->line = 0;
		/* Last first, so that deleting keeps earlier offsets. */
		found = 0;
		for (j = shape.count; j-- > 0;) {
			e = &shape.elements[j];
			if (e->path == NULL ||
			    !package_edit_names(&shape, e->path, edit->attr))
				continue;
			found = 1;
			edit->line = package_edit_line(out, e->start);
			if (!add) {
				edit->result = PACKAGE_EDIT_CHANGED;
				package_edit_delete(&out, &outlen, e);
			}
		}
		if (!found) {
			for (j = 0; j < shape.count; j++) {
				e = &shape.elements[j];
				if (e->path != NULL ||
				    !package_edit_mentions(out, e, edit->attr))
					continue;
				edit->result = PACKAGE_EDIT_WRAPPED;
				edit->line = package_edit_line(out, e->start);
				break;
			}
		}
		if (add && !found && edit->result != PACKAGE_EDIT_WRAPPED) {
			word = package_edit_spelling(&shape, edit->attr);
			package_edit_insert(&out, &outlen, &shape, word);
			free(word);
			edit->result = PACKAGE_EDIT_CHANGED;
		}
		package_edit_shape_free(&shape);
	}
	return out;
}
