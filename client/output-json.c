/*
 * profilectl's JSON writer.  Every --json value goes through it, so every
 * one parses: strings are valid UTF-8 whatever bytes Nix or a builder
 * printed (an invalid byte becomes U+FFFD, never passes through), control
 * characters are escaped, and the commas are the writer's business, not
 * each command's.  It writes on stdout as it goes: a value is given with
 * its key inside an object (NULL inside an array), objects and arrays are
 * begun and ended, and the outermost value ends its line.
 *
 * Every outermost object opens with "schema": the version of the field
 * names profilectl(1) documents, raised only when one changes meaning or
 * goes away, so scripts can tell which names they are reading.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "profiled.h"
#include "client.h"

/* Deeper than any value profilectl prints. */
#define OUTPUT_JSON_DEPTH	8

static struct {
	int	depth;				/* open objects and arrays */
	char	closer[OUTPUT_JSON_DEPTH];	/* '}' or ']' for each */
	int	members[OUTPUT_JSON_DEPTH];	/* written so far in each */
} output_json;

/* The bytes of U+FFFD, the replacement character. */
static const char output_json_replacement[] = "\xef\xbf\xbd";

/*
 * The length of the valid UTF-8 sequence at s, or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF (RFC 3629).
 */
static size_t
output_json_utf8_length(const unsigned char *s)
{
	size_t	len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	/* The NUL ending s is not a continuation byte, so this stops. */
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	if ((s[0] == 0xe0 && s[1] < 0xa0) ||	/* overlong */
	    (s[0] == 0xed && s[1] >= 0xa0) ||	/* a surrogate */
	    (s[0] == 0xf0 && s[1] < 0x90) ||	/* overlong */
	    (s[0] == 0xf4 && s[1] >= 0x90))	/* above U+10FFFF */
		return 0;
	return len;
}

/* Write s as a quoted JSON string in valid UTF-8. */
static void
output_json_quote(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 len;

	putchar('"');
	while (*u != '\0') {
		switch (*u) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*u < 0x20) {
				printf("\\u%04x", *u);
				break;
			}
			if ((len = output_json_utf8_length(u)) == 0) {
				/* Latin-1 from a builder, or worse. */
				fputs(output_json_replacement, stdout);
				break;
			}
			fwrite(u, 1, len, stdout);
			u += len;
			continue;
		}
		u++;
	}
	putchar('"');
}

/*
 * Start a value: the comma before it, and its key in an object.  A key is
 * given exactly when the value is an object's member.
 */
static void
output_json_member(const char *key)
{
	int	d = output_json.depth;

	if (d == 0) {
		assert(key == NULL);
		return;
	}
	assert((key != NULL) == (output_json.closer[d - 1] == '}'));
	if (output_json.members[d - 1]++ > 0)
		fputs(", ", stdout);
	if (key != NULL) {
		output_json_quote(key);
		fputs(": ", stdout);
	}
}

/* Open an object or array, as key's value inside an object. */
static void
output_json_open(const char *key, char opener, char closer)
{
	output_json_member(key);
	assert(output_json.depth < OUTPUT_JSON_DEPTH);
	putchar(opener);
	output_json.closer[output_json.depth] = closer;
	output_json.members[output_json.depth] = 0;
	output_json.depth++;
	if (output_json.depth == 1 && closer == '}')
		output_json_number("schema", 1, OUTPUT_JSON_SCHEMA);
}

void
output_json_object(const char *key)
{
	output_json_open(key, '{', '}');
}

void
output_json_array(const char *key)
{
	output_json_open(key, '[', ']');
}

/* Close the innermost object or array; the outermost ends its line. */
void
output_json_end(void)
{
	assert(output_json.depth > 0);
	output_json.depth--;
	putchar(output_json.closer[output_json.depth]);
	if (output_json.depth == 0)
		putchar('\n');
}

/* s as a string, or null if s is NULL. */
void
output_json_string(const char *key, const char *s)
{
	output_json_member(key);
	if (s == NULL)
		fputs("null", stdout);
	else
		output_json_quote(s);
}

/* n as a number if has is set, else null. */
void
output_json_number(const char *key, int has, uint64_t n)
{
	output_json_member(key);
	if (has)
		printf("%" PRIu64, n);
	else
		fputs("null", stdout);
}

void
output_json_bool(const char *key, int b)
{
	output_json_member(key);
	fputs(b ? "true" : "false", stdout);
}

/*
 * Unix milliseconds t as an RFC 3339 UTC string: "2026-11-23T18:30:01Z",
 * with ".123" before the Z when with_ms is set.
 */
static void
output_json_format_time(int64_t t, int with_ms)
{
	char		 buf[64];
	time_t		 when = t / 1000;
	struct tm	 tm;
	size_t		 len;

	if (gmtime_r(&when, &tm) == NULL ||
	    (len = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm)) == 0) {
		printf("%" PRId64, t / 1000);
		return;
	}
	if (with_ms) {
		snprintf(buf + len, sizeof buf - len, ".%03dZ",
		    (int)(t % 1000));
	} else
		snprintf(buf + len, sizeof buf - len, "Z");
	output_json_quote(buf);
}

/* Unix seconds t as a time, "2026-11-23T18:30:01Z". */
void
output_json_time(const char *key, int64_t t)
{
	output_json_member(key);
	output_json_format_time(t * 1000, 0);
}

/* Unix milliseconds t as a time, "2026-11-23T18:30:01.123Z". */
void
output_json_time_ms(const char *key, int64_t t)
{
	output_json_member(key);
	output_json_format_time(t, 1);
}
