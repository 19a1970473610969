/*
 * A small, strict JSON reader (RFC 8259) for what Nix prints, and the one
 * writer helper profilectl's --json output needs.  Strict because the input
 * comes from other programs: anything the RFC does not allow is an error
 * with its byte offset, never a guess.  Strings are decoded to NUL-terminated
 * UTF-8, so \u0000 is refused and callers may treat them as C strings.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

/* Deep enough for any real document, shallow enough for the C stack. */
#define JSON_MAX_DEPTH	512

struct json_parser {
	const char	*text;
	size_t		 len;
	size_t		 pos;
	int		 depth;
	char		*cause;
};

static struct json	*json_parse_value(struct json_parser *);

/* Record the first error at offset, keeping the earliest if called twice. */
static void printflike(3, 4)
json_error(struct json_parser *p, size_t offset, const char *fmt, ...)
{
	va_list	 ap;
	char	*message;

	if (p->cause != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&message, fmt, ap);
	va_end(ap);
	xasprintf(&p->cause, "offset %zu: %s", offset, message);
	free(message);
}

/* Skip the four whitespace characters RFC 8259 allows between tokens. */
static void
json_skip_space(struct json_parser *p)
{
	while (p->pos < p->len) {
		switch (p->text[p->pos]) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			p->pos++;
			break;
		default:
			return;
		}
	}
}

/* Return the next byte after whitespace, or -1 at the end of the input. */
static int
json_peek(struct json_parser *p)
{
	json_skip_space(p);
	if (p->pos == p->len)
		return -1;
	return (unsigned char)p->text[p->pos];
}

/* Allocate an empty value of type. */
static struct json *
json_new(enum json_type type)
{
	struct json	*j;

	j = xcalloc(1, sizeof *j);
	j->type = type;
	return j;
}

/* Return the length of the valid UTF-8 sequence at s, or 0 if invalid. */
static size_t
json_utf8_length(const unsigned char *s, size_t avail)
{
	size_t		need, i;
	unsigned char	low = 0x80, high = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		if (s[0] == 0xe0)
			low = 0xa0;		/* overlong */
		else if (s[0] == 0xed)
			high = 0x9f;		/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		if (s[0] == 0xf0)
			low = 0x90;		/* overlong */
		else if (s[0] == 0xf4)
			high = 0x8f;		/* above U+10FFFF */
	} else
		return 0;
	if (avail < need)
		return 0;
	if (s[1] < low || s[1] > high)
		return 0;
	for (i = 2; i < need; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return need;
}

/* Append code point cp to out as UTF-8 and return the bytes written. */
static size_t
json_utf8_encode(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* Read the four hex digits of a \u escape starting at pos; -1 if invalid. */
static long
json_parse_hex4(struct json_parser *p, size_t pos)
{
	long	value = 0;
	int	c, i;

	if (p->len - pos < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = (unsigned char)p->text[pos + i];
		value <<= 4;
		if (c >= '0' && c <= '9')
			value |= c - '0';
		else if (c >= 'a' && c <= 'f')
			value |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			value |= c - 'A' + 10;
		else
			return -1;
	}
	return value;
}

/*
 * Decode the \u escape at pos (pointing at the backslash), pairing
 * surrogates; return the code point and advance *next, or -1 on error.
 */
static long
json_parse_unicode(struct json_parser *p, size_t pos, size_t *next)
{
	long	high, low;

	if ((high = json_parse_hex4(p, pos + 2)) == -1) {
		json_error(p, pos, "invalid \\u escape");
		return -1;
	}
	*next = pos + 6;
	if (high == 0) {
		json_error(p, pos, "\\u0000 in string");
		return -1;
	}
	if (high >= 0xdc00 && high <= 0xdfff) {
		json_error(p, pos, "unpaired surrogate");
		return -1;
	}
	if (high < 0xd800 || high > 0xdbff)
		return high;

	if (p->len - *next < 6 || p->text[*next] != '\\' ||
	    p->text[*next + 1] != 'u' ||
	    (low = json_parse_hex4(p, *next + 2)) == -1 ||
	    low < 0xdc00 || low > 0xdfff) {
		json_error(p, pos, "unpaired surrogate");
		return -1;
	}
	*next += 6;
	return 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
}

/* Decode the escape at the backslash under p->pos into out; bytes or -1. */
static int
json_parse_escape(struct json_parser *p, char *out)
{
	size_t	pos = p->pos, next;
	long	cp;

	if (pos + 1 == p->len) {
		json_error(p, p->len, "unexpected end of input");
		return -1;
	}
	p->pos += 2;
	switch (p->text[pos + 1]) {
	case '"':
		*out = '"';
		return 1;
	case '\\':
		*out = '\\';
		return 1;
	case '/':
		*out = '/';
		return 1;
	case 'b':
		*out = '\b';
		return 1;
	case 'f':
		*out = '\f';
		return 1;
	case 'n':
		*out = '\n';
		return 1;
	case 'r':
		*out = '\r';
		return 1;
	case 't':
		*out = '\t';
		return 1;
	case 'u':
		if ((cp = json_parse_unicode(p, pos, &next)) == -1)
			return -1;
		p->pos = next;
		return json_utf8_encode(out, cp);
	}
	json_error(p, pos, "invalid escape");
	return -1;
}

/* Parse the string whose opening quote is at p->pos into a new C string. */
static char *
json_parse_string(struct json_parser *p)
{
	const unsigned char	*s = (const unsigned char *)p->text;
	char			*out;
	size_t			 end, used = 0, n;
	int			 written;

	/* Decoding never grows a string, so the raw span bounds the copy. */
	for (end = p->pos + 1; end < p->len && s[end] != '"'; end++) {
		if (s[end] == '\\')
			end++;
	}
	out = xmalloc(end - p->pos);

	p->pos++;
	for (;;) {
		if (p->pos == p->len) {
			json_error(p, p->len, "unexpected end of input");
			break;
		}
		if (s[p->pos] == '"') {
			p->pos++;
			out[used] = '\0';
			return out;
		}
		if (s[p->pos] < 0x20) {
			json_error(p, p->pos, "control character in string");
			break;
		}
		if (s[p->pos] == '\\') {
			if ((written = json_parse_escape(p, out + used)) == -1)
				break;
			used += written;
			continue;
		}
		if ((n = json_utf8_length(s + p->pos, p->len - p->pos)) == 0) {
			json_error(p, p->pos, "invalid UTF-8");
			break;
		}
		memcpy(out + used, s + p->pos, n);
		used += n;
		p->pos += n;
	}
	free(out);
	return NULL;
}

/* Skip a run of digits and return how many there were. */
static size_t
json_skip_digits(struct json_parser *p)
{
	size_t	start = p->pos;

	while (p->pos < p->len && p->text[p->pos] >= '0' &&
	    p->text[p->pos] <= '9')
		p->pos++;
	return p->pos - start;
}

/* Parse a number, checking the RFC's grammar before strtod sees it. */
static struct json *
json_parse_number(struct json_parser *p)
{
	struct json	*j;
	size_t		 start = p->pos;
	char		*token;
	double		 value;

	if (p->text[p->pos] == '-')
		p->pos++;
	if (p->pos < p->len && p->text[p->pos] == '0')
		p->pos++;
	else if (json_skip_digits(p) == 0)
		goto invalid;
	if (p->pos < p->len && p->text[p->pos] == '.') {
		p->pos++;
		if (json_skip_digits(p) == 0)
			goto invalid;
	}
	if (p->pos < p->len &&
	    (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len &&
		    (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
			p->pos++;
		if (json_skip_digits(p) == 0)
			goto invalid;
	}

	token = xstrndup(p->text + start, p->pos - start);
	value = strtod(token, NULL);
	free(token);
	if (isinf(value)) {
		json_error(p, start, "number out of range");
		return NULL;
	}
	j = json_new(JSON_NUMBER);
	j->number = value;
	return j;

invalid:
	json_error(p, start, "invalid number");
	return NULL;
}

/* Parse true, false or null. */
static struct json *
json_parse_literal(struct json_parser *p)
{
	static const struct {
		const char	*word;
		enum json_type	 type;
		int		 boolean;
	} literals[] = {
		{ "true", JSON_BOOL, 1 },
		{ "false", JSON_BOOL, 0 },
		{ "null", JSON_NULL, 0 }
	};
	struct json	*j;
	size_t		 i, n;

	for (i = 0; i < sizeof literals / sizeof literals[0]; i++) {
		n = strlen(literals[i].word);
		if (p->len - p->pos >= n &&
		    memcmp(p->text + p->pos, literals[i].word, n) == 0) {
			p->pos += n;
			j = json_new(literals[i].type);
			j->boolean = literals[i].boolean;
			return j;
		}
	}
	json_error(p, p->pos, "expected a value");
	return NULL;
}

/* Append item (and key, for objects) to container j. */
static void
json_append(struct json *j, char *key, struct json *item)
{
	size_t	size;

	/* Grow by powers of two so long arrays stay linear. */
	if ((j->count & (j->count - 1)) == 0) {
		size = j->count == 0 ? 1 : j->count * 2;
		j->items = xreallocarray(j->items, size, sizeof *j->items);
		if (j->type == JSON_OBJECT)
			j->keys = xreallocarray(j->keys, size, sizeof *j->keys);
	}
	if (j->type == JSON_OBJECT)
		j->keys[j->count] = key;
	j->items[j->count++] = item;
}

/* Enter a container at pos, refusing nesting past JSON_MAX_DEPTH. */
static int
json_enter(struct json_parser *p)
{
	if (p->depth == JSON_MAX_DEPTH) {
		json_error(p, p->pos, "nesting deeper than %d", JSON_MAX_DEPTH);
		return -1;
	}
	p->depth++;
	p->pos++;
	return 0;
}

/* Parse an array, starting on its '['. */
static struct json *
json_parse_array(struct json_parser *p)
{
	struct json	*j, *item;

	if (json_enter(p) != 0)
		return NULL;
	j = json_new(JSON_ARRAY);
	if (json_peek(p) == ']')
		goto done;
	for (;;) {
		if ((item = json_parse_value(p)) == NULL)
			goto fail;
		json_append(j, NULL, item);
		switch (json_peek(p)) {
		case ',':
			p->pos++;
			continue;
		case ']':
			goto done;
		case -1:
			json_error(p, p->pos, "unexpected end of input");
			goto fail;
		default:
			json_error(p, p->pos, "expected ',' or ']'");
			goto fail;
		}
	}

done:
	p->pos++;
	p->depth--;
	return j;

fail:
	json_free(j);
	return NULL;
}

/* Parse one "key": value member of an object into j. */
static int
json_parse_member(struct json_parser *p, struct json *j)
{
	struct json	*item;
	char		*key;

	switch (json_peek(p)) {
	case '"':
		break;
	case -1:
		json_error(p, p->pos, "unexpected end of input");
		return -1;
	default:
		json_error(p, p->pos, "expected a string key");
		return -1;
	}
	if ((key = json_parse_string(p)) == NULL)
		return -1;
	switch (json_peek(p)) {
	case ':':
		break;
	case -1:
		json_error(p, p->pos, "unexpected end of input");
		free(key);
		return -1;
	default:
		json_error(p, p->pos, "expected ':'");
		free(key);
		return -1;
	}
	p->pos++;
	if ((item = json_parse_value(p)) == NULL) {
		free(key);
		return -1;
	}
	json_append(j, key, item);
	return 0;
}

/* Parse an object, starting on its '{'; members keep their order. */
static struct json *
json_parse_object(struct json_parser *p)
{
	struct json	*j;

	if (json_enter(p) != 0)
		return NULL;
	j = json_new(JSON_OBJECT);
	if (json_peek(p) == '}')
		goto done;
	for (;;) {
		if (json_parse_member(p, j) != 0)
			goto fail;
		switch (json_peek(p)) {
		case ',':
			p->pos++;
			continue;
		case '}':
			goto done;
		case -1:
			json_error(p, p->pos, "unexpected end of input");
			goto fail;
		default:
			json_error(p, p->pos, "expected ',' or '}'");
			goto fail;
		}
	}

done:
	p->pos++;
	p->depth--;
	return j;

fail:
	json_free(j);
	return NULL;
}

/* Parse any value after optional whitespace. */
static struct json *
json_parse_value(struct json_parser *p)
{
	struct json	*j;
	char		*s;
	int		 c;

	switch (c = json_peek(p)) {
	case -1:
		json_error(p, p->pos, "unexpected end of input");
		return NULL;
	case '{':
		return json_parse_object(p);
	case '[':
		return json_parse_array(p);
	case '"':
		if ((s = json_parse_string(p)) == NULL)
			return NULL;
		j = json_new(JSON_STRING);
		j->string = s;
		return j;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return json_parse_number(p);
	return json_parse_literal(p);
}

/*
 * Parse the whole of text as one JSON document; NULL with *cause set (to a
 * message naming the byte offset) if it is not exactly one valid value.
 */
struct json *
json_parse(const char *text, size_t len, char **cause)
{
	struct json_parser	 p = { .text = text, .len = len };
	struct json		*j;

	if ((j = json_parse_value(&p)) != NULL && json_peek(&p) != -1) {
		json_error(&p, p.pos, "unexpected data after the value");
		json_free(j);
		j = NULL;
	}
	if (j == NULL) {
		if (cause != NULL)
			*cause = p.cause;
		else
			free(p.cause);
	}
	return j;
}

/* Free j and everything it holds; NULL is ignored. */
void
json_free(struct json *j)
{
	size_t	i;

	if (j == NULL)
		return;
	for (i = 0; i < j->count; i++) {
		json_free(j->items[i]);
		if (j->keys != NULL)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->string);
	free(j);
}

/* Return the first member of object named key, or NULL. */
const struct json *
json_get(const struct json *object, const char *key)
{
	size_t	i;

	if (object == NULL || object->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < object->count; i++) {
		if (strcmp(object->keys[i], key) == 0)
			return object->items[i];
	}
	return NULL;
}

/* Write s to f as a quoted JSON string; UTF-8 passes through unchanged. */
void
json_write_string(FILE *f, const char *s)
{
	const unsigned char	*u;

	fputc('"', f);
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		switch (*u) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*u < 0x20)
				fprintf(f, "\\u%04x", *u);
			else
				fputc(*u, f);
			break;
		}
	}
	fputc('"', f);
}
