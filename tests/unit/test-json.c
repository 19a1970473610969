/*
 * Unit tests for json.c.  Valid documents are checked by writing the parsed
 * tree back out in one canonical form, so each table row states exactly
 * what the reader understood; invalid documents by the exact message and
 * offset a user would see.  Then the depth limit, json_get, the Nix output
 * profiled really reads, and json_write_string through json_parse.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

TestSuite(json);

/* Write j to f compactly: numbers as %.15g, strings via json_write_string. */
static void
dump_value(FILE *f, const struct json *j)
{
	size_t	i;

	switch (j->type) {
	case JSON_NULL:
		fputs("null", f);
		break;
	case JSON_BOOL:
		fputs(j->boolean ? "true" : "false", f);
		break;
	case JSON_NUMBER:
		fprintf(f, "%.15g", j->number);
		break;
	case JSON_STRING:
		json_write_string(f, j->string);
		break;
	case JSON_ARRAY:
		cr_assert_null(j->keys, "array with keys");
		fputc('[', f);
		for (i = 0; i < j->count; i++) {
			if (i != 0)
				fputc(',', f);
			dump_value(f, j->items[i]);
		}
		fputc(']', f);
		break;
	case JSON_OBJECT:
		fputc('{', f);
		for (i = 0; i < j->count; i++) {
			if (i != 0)
				fputc(',', f);
			json_write_string(f, j->keys[i]);
			fputc(':', f);
			dump_value(f, j->items[i]);
		}
		fputc('}', f);
		break;
	}
}

/* Return j in canonical form as a new string. */
static char *
dump(const struct json *j)
{
	char	*buf = NULL;
	size_t	 size = 0;
	FILE	*f;

	f = open_memstream(&buf, &size);
	cr_assert_not_null(f);
	dump_value(f, j);
	fclose(f);
	return buf;
}

/* Return what json_write_string writes for s, as a new string. */
static char *
write_string(const char *s)
{
	char	*buf = NULL;
	size_t	 size = 0;
	FILE	*f;

	f = open_memstream(&buf, &size);
	cr_assert_not_null(f);
	json_write_string(f, s);
	fclose(f);
	return buf;
}

/* Parse text, which must be valid, failing the test with the cause if not. */
static struct json *
parse_ok(const char *text, size_t len)
{
	struct json	*j;
	char		*cause = NULL;

	j = json_parse(text, len, &cause);
	cr_assert_not_null(j, "parse failed: %s", cause);
	cr_assert_null(cause);
	return j;
}

/*
 * A table row: len 0 means strlen(text); set it for embedded NULs.  Arrays,
 * not pointers, because Criterion copies parameters into another process
 * where pointers into this one's data are not valid (Criterion issue 208).
 */
struct json_case {
	char	text[80];
	size_t	len;
	char	expected[80];	/* canonical dump, or the cause */
};

/* Return the document's length, failing the row if a field lost its NUL. */
static size_t
case_length(const struct json_case *c)
{
	cr_assert_not_null(memchr(c->text, '\0', sizeof c->text));
	cr_assert_not_null(memchr(c->expected, '\0', sizeof c->expected));
	return c->len != 0 ? c->len : strlen(c->text);
}

ParameterizedTestParameters(json, valid)
{
	static struct json_case cases[] = {
		{ "null", 0, "null" },
		{ " true ", 0, "true" },
		{ "false\n", 0, "false" },
		{ " \t\r\n[ 1 ,\t2 ]\r\n ", 0, "[1,2]" },
		{ "0", 0, "0" },
		{ "-0", 0, "-0" },
		{ "123", 0, "123" },
		{ "-12.5e3", 0, "-12500" },
		{ "1E+2", 0, "100" },
		{ "2e-1", 0, "0.2" },
		{ "0.5", 0, "0.5" },
		{ "1e-400", 0, "0" },
		{ "18446744073709551616", 0, "1.84467440737096e+19" },
		{ "\"\"", 0, "\"\"" },
		{ "\"hello\"", 0, "\"hello\"" },
		{ "\"a\\\"b\\\\c\\/d\"", 0, "\"a\\\"b\\\\c/d\"" },
		{ "\"\\b\\f\\n\\r\\t\"", 0, "\"\\b\\f\\n\\r\\t\"" },
		{ "\"\\u0041\\u00e9\\u20AC\"", 0, "\"A\xc3\xa9\xe2\x82\xac\"" },
		{ "\"\\u001f\\u007f\"", 0, "\"\\u001f\x7f\"" },
		{ "\"\\ud83d\\ude00\"", 0, "\"\xf0\x9f\x98\x80\"" },
		{ "\"\\uD834\\uDD1E\"", 0, "\"\xf0\x9d\x84\x9e\"" },
		{ "\"\\udbff\\udfff\"", 0, "\"\xf4\x8f\xbf\xbf\"" },
		{ "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", 0,
		  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "[]", 0, "[]" },
		{ "{}", 0, "{}" },
		{ "[ ]", 0, "[]" },
		{ "{ }", 0, "{}" },
		{ "[[]]", 0, "[[]]" },
		{ "[1,[2,[3,{}]],\"x\"]", 0, "[1,[2,[3,{}]],\"x\"]" },
		{ "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}", 0,
		  "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}" },
		{ "{\"z\":1,\"a\":2,\"m\":3}", 0, "{\"z\":1,\"a\":2,\"m\":3}" },
		{ "{\"a\":1,\"a\":2}", 0, "{\"a\":1,\"a\":2}" },
		{ "{\"\\u00e9\\n\":\"\"}", 0, "{\"\xc3\xa9\\n\":\"\"}" },
		{ "{ \"a\" : [ { } , [ ] ] }", 0, "{\"a\":[{},[]]}" },
		/* len bounds the document: what follows is never read. */
		{ "[1]garbage", 3, "[1]" },
		{ "12345", 2, "12" },
	};

	return cr_make_param_array(struct json_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct json_case *c, json, valid)
{
	struct json	*j;
	char		*out;

	j = parse_ok(c->text, case_length(c));
	out = dump(j);
	cr_expect_str_eq(out, c->expected, "document '%s'", c->text);
	free(out);
	json_free(j);
}

ParameterizedTestParameters(json, invalid)
{
	static struct json_case cases[] = {
		{ "", 0, "offset 0: unexpected end of input" },
		{ "   ", 0, "offset 3: unexpected end of input" },
		{ "[1", 0, "offset 2: unexpected end of input" },
		{ "[1,", 0, "offset 3: unexpected end of input" },
		{ "{", 0, "offset 1: unexpected end of input" },
		{ "{\"a\"", 0, "offset 4: unexpected end of input" },
		{ "{\"a\":", 0, "offset 5: unexpected end of input" },
		{ "{\"a\":1", 0, "offset 6: unexpected end of input" },
		{ "\"abc", 0, "offset 4: unexpected end of input" },
		{ "\"a\\", 0, "offset 3: unexpected end of input" },
		{ "{\"a\" 1}", 0, "offset 5: expected ':'" },
		{ "{\"a\":1,}", 0, "offset 7: expected a string key" },
		{ "{1:2}", 0, "offset 1: expected a string key" },
		{ "{'a':2}", 0, "offset 1: expected a string key" },
		{ "[1,]", 0, "offset 3: expected a value" },
		{ "[,1]", 0, "offset 1: expected a value" },
		{ "[1 2]", 0, "offset 3: expected ',' or ']'" },
		{ "[1:2]", 0, "offset 2: expected ',' or ']'" },
		{ "{\"a\":1 \"b\":2}", 0, "offset 7: expected ',' or '}'" },
		{ "{\"a\":1]", 0, "offset 6: expected ',' or '}'" },
		{ "1 2", 0, "offset 2: unexpected data after the value" },
		{ "{} x", 0, "offset 3: unexpected data after the value" },
		{ "[1,2]]", 0, "offset 5: unexpected data after the value" },
		{ "truex", 0, "offset 4: unexpected data after the value" },
		{ "01", 0, "offset 1: unexpected data after the value" },
		{ "1\0", 2, "offset 1: unexpected data after the value" },
		{ "-", 0, "offset 0: invalid number" },
		{ "-a", 0, "offset 0: invalid number" },
		{ "[1.]", 0, "offset 1: invalid number" },
		{ "1.e5", 0, "offset 0: invalid number" },
		{ "1e", 0, "offset 0: invalid number" },
		{ "1e+", 0, "offset 0: invalid number" },
		{ ".5", 0, "offset 0: expected a value" },
		{ "+1", 0, "offset 0: expected a value" },
		{ "0x10", 0, "offset 1: unexpected data after the value" },
		{ "1e999", 0, "offset 0: number out of range" },
		{ "[-1e999]", 0, "offset 1: number out of range" },
		{ "NaN", 0, "offset 0: expected a value" },
		{ "Infinity", 0, "offset 0: expected a value" },
		{ "tru", 0, "offset 0: expected a value" },
		{ "nul", 0, "offset 0: expected a value" },
		{ "True", 0, "offset 0: expected a value" },
		{ "'a'", 0, "offset 0: expected a value" },
		{ "// comment\n1", 0, "offset 0: expected a value" },
		{ "\xef\xbb\xbf{}", 0, "offset 0: expected a value" },
		{ "\"a\\x\"", 0, "offset 2: invalid escape" },
		{ "\"\\'\"", 0, "offset 1: invalid escape" },
		{ "\"\\u12\"", 0, "offset 1: invalid \\u escape" },
		{ "\"\\u12G4\"", 0, "offset 1: invalid \\u escape" },
		{ "\"\\u0000\"", 0, "offset 1: \\u0000 in string" },
		{ "{\"a\\u0000b\":1}", 0, "offset 3: \\u0000 in string" },
		{ "\"\\ud83d\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ud83dx\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ud83d\\n\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ud83d\\u0041\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ud83d\\ud83d\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ud83d\\ue000\"", 0, "offset 1: unpaired surrogate" },
		{ "\"\\ude00\"", 0, "offset 1: unpaired surrogate" },
		{ "\"x\\ude00\\ud83d\"", 0, "offset 2: unpaired surrogate" },
		{ "\"a\nb\"", 0, "offset 2: control character in string" },
		{ "\"a\tb\"", 0, "offset 2: control character in string" },
		{ "\"a\x1f\"", 0, "offset 2: control character in string" },
		{ "\"a\0b\"", 5, "offset 2: control character in string" },
		{ "\"\xff\"", 0, "offset 1: invalid UTF-8" },
		{ "\"\x80\"", 0, "offset 1: invalid UTF-8" },
		{ "\"\xc0\xaf\"", 0, "offset 1: invalid UTF-8" },
		{ "\"\xe0\x80\xaf\"", 0, "offset 1: invalid UTF-8" },
		{ "\"\xed\xa0\x80\"", 0, "offset 1: invalid UTF-8" },
		{ "\"\xf4\x90\x80\x80\"", 0, "offset 1: invalid UTF-8" },
		{ "\"ab\xe2\x82\"", 0, "offset 3: invalid UTF-8" },
		{ "\"\xe2\x82", 0, "offset 1: invalid UTF-8" },
		/* Cut short by len: nothing past it may complete the value. */
		{ "\"\xe2\x82\xac\"", 3, "offset 1: invalid UTF-8" },
		{ "\"\\ud83d\\ude00\"", 9, "offset 1: unpaired surrogate" },
		{ "\"\\ud83d\\ude00\"", 8, "offset 1: unpaired surrogate" },
		{ "\"\\u0041\"", 5, "offset 1: invalid \\u escape" },
		{ "\"ab\"", 3, "offset 3: unexpected end of input" },
		{ "truex", 3, "offset 0: expected a value" },
	};

	return cr_make_param_array(struct json_case, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct json_case *c, json, invalid)
{
	struct json	*j;
	char		*cause = NULL;

	j = json_parse(c->text, case_length(c), &cause);
	cr_expect_null(j, "document '%s' was accepted", c->text);
	cr_assert_not_null(cause, "no cause for '%s'", c->text);
	cr_expect_str_eq(cause, c->expected, "document '%s'", c->text);
	free(cause);
	json_free(j);
}

/* Return depth arrays nested around a number, e.g. [[1]] for depth 2. */
static char *
nested_arrays(size_t depth)
{
	char	*text;

	text = malloc(depth * 2 + 2);
	cr_assert_not_null(text);
	memset(text, '[', depth);
	text[depth] = '1';
	memset(text + depth + 1, ']', depth);
	text[depth * 2 + 1] = '\0';
	return text;
}

Test(json, depth_512_is_accepted)
{
	const struct json	*item;
	struct json		*j;
	char			*text;
	int			 depth;

	text = nested_arrays(512);
	j = parse_ok(text, strlen(text));
	for (item = j, depth = 0; item->type == JSON_ARRAY; depth++) {
		cr_assert_eq(item->count, 1);
		item = item->items[0];
	}
	cr_assert_eq(depth, 512);
	cr_assert_eq(item->type, JSON_NUMBER);
	cr_assert_eq(item->number, 1);
	json_free(j);
	free(text);
}

Test(json, depth_513_is_refused)
{
	struct json	*j;
	char		*text, *cause = NULL;

	text = nested_arrays(513);
	j = json_parse(text, strlen(text), &cause);
	cr_assert_null(j);
	cr_assert_str_eq(cause, "offset 512: nesting deeper than 512");
	free(cause);
	free(text);
}

/* The limit is on nesting: many shallow siblings are fine. */
Test(json, depth_is_not_sibling_count)
{
	struct json	*j;
	char		*text;
	size_t		 i, n = 1000;

	text = malloc(n * 5 + 3);
	cr_assert_not_null(text);
	text[0] = '[';
	for (i = 0; i < n; i++)
		memcpy(text + 1 + i * 5, "[{}],", 5);
	text[n * 5] = ']';
	text[n * 5 + 1] = '\0';
	j = parse_ok(text, strlen(text));
	cr_assert_eq(j->count, n);
	json_free(j);
	free(text);
}

/* Objects count toward the same limit as arrays. */
Test(json, depth_counts_objects)
{
	struct json	*j;
	char		*text, *cause = NULL;
	size_t		 i, n = 513;

	text = malloc(n * 5 + 1);
	cr_assert_not_null(text);
	for (i = 0; i < n; i++)
		memcpy(text + i * 5, "{\"a\":", 5);
	text[n * 5] = '\0';
	j = json_parse(text, n * 5, &cause);
	cr_assert_null(j);
	cr_assert_str_eq(cause, "offset 2560: nesting deeper than 512");
	free(cause);
	free(text);
}

/* Far deeper than any stack would survive by recursion: still an error. */
Test(json, deep_garbage_does_not_overflow)
{
	struct json	*j;
	char		*text, *cause = NULL;
	size_t		 n = 10 * 1000 * 1000;

	text = malloc(n);
	cr_assert_not_null(text);
	memset(text, '[', n);
	j = json_parse(text, n, &cause);
	cr_assert_null(j);
	cr_assert_str_eq(cause, "offset 512: nesting deeper than 512");
	free(cause);
	free(text);
}

/* Long arrays keep every item, in order. */
Test(json, long_array)
{
	struct json	*j;
	char		*text = NULL;
	size_t		 size = 0, i, n = 10000;
	FILE		*f;

	f = open_memstream(&text, &size);
	cr_assert_not_null(f);
	fputc('[', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%zu", i == 0 ? "" : ",", i);
	fputc(']', f);
	fclose(f);

	j = parse_ok(text, size);
	cr_assert_eq(j->type, JSON_ARRAY);
	cr_assert_eq(j->count, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(j->items[i]->number, (double)i, "item %zu", i);
	json_free(j);
	free(text);
}

Test(json, types_and_fields)
{
	struct json	*j;
	const char	*text;

	text = "[null,true,false,-2.5,\"s\",[1],{\"k\":0}]";
	j = parse_ok(text, strlen(text));
	cr_assert_eq(j->type, JSON_ARRAY);
	cr_assert_eq(j->count, 7);
	cr_assert_eq(j->items[0]->type, JSON_NULL);
	cr_assert_eq(j->items[1]->type, JSON_BOOL);
	cr_assert_eq(j->items[1]->boolean, 1);
	cr_assert_eq(j->items[2]->type, JSON_BOOL);
	cr_assert_eq(j->items[2]->boolean, 0);
	cr_assert_eq(j->items[3]->type, JSON_NUMBER);
	cr_assert_eq(j->items[3]->number, -2.5);
	cr_assert_eq(j->items[4]->type, JSON_STRING);
	cr_assert_str_eq(j->items[4]->string, "s");
	cr_assert_eq(j->items[5]->type, JSON_ARRAY);
	cr_assert_eq(j->items[5]->count, 1);
	cr_assert_eq(j->items[6]->type, JSON_OBJECT);
	cr_assert_eq(j->items[6]->count, 1);
	cr_assert_str_eq(j->items[6]->keys[0], "k");
	json_free(j);
}

/* What profiled reads from Nix; the strings outlive the input buffer. */
Test(json, nix_output)
{
	static const char	 sample[] =
	    "{\"drvPath\":\"/nix/store/abc-user-environment.drv\","
	    "\"packages\":[{\"name\":\"hello\","
	    "\"path\":\"/nix/store/x-hello-2.12\",\"version\":\"2.12\"},"
	    "{\"name\":\"ripgrep\",\"path\":\"/nix/store/y-ripgrep-14.1.0\","
	    "\"version\":\"14.1.0\"}]}\n";
	const struct json	*packages, *package;
	struct json		*j;
	char			*text;

	text = strdup(sample);
	cr_assert_not_null(text);
	j = parse_ok(text, strlen(text));
	memset(text, 'X', strlen(text));
	free(text);

	cr_assert_eq(j->type, JSON_OBJECT);
	cr_assert_eq(j->count, 2);
	cr_assert_str_eq(j->keys[0], "drvPath");
	cr_assert_str_eq(j->keys[1], "packages");
	cr_assert_str_eq(json_get(j, "drvPath")->string,
	    "/nix/store/abc-user-environment.drv");

	packages = json_get(j, "packages");
	cr_assert_not_null(packages);
	cr_assert_eq(packages->type, JSON_ARRAY);
	cr_assert_eq(packages->count, 2);

	package = packages->items[0];
	cr_assert_str_eq(json_get(package, "name")->string, "hello");
	cr_assert_str_eq(json_get(package, "path")->string,
	    "/nix/store/x-hello-2.12");
	cr_assert_str_eq(json_get(package, "version")->string, "2.12");
	package = packages->items[1];
	cr_assert_str_eq(json_get(package, "name")->string, "ripgrep");
	cr_assert_str_eq(json_get(package, "version")->string, "14.1.0");
	cr_assert_null(json_get(package, "outputs"));
	json_free(j);
}

Test(json, get)
{
	struct json	*j;
	const char	*text;

	text = "{\"a\":1,\"b\":2,\"a\":3,\"\":4}";
	j = parse_ok(text, strlen(text));
	cr_assert_eq(json_get(j, "a")->number, 1, "first match wins");
	cr_assert_eq(json_get(j, "b")->number, 2);
	cr_assert_eq(json_get(j, "")->number, 4);
	cr_assert_null(json_get(j, "c"));
	cr_assert_null(json_get(j, "A"));
	cr_assert_null(json_get(j->items[0], "a"), "number is no object");
	cr_assert_null(json_get(NULL, "a"));
	json_free(j);

	text = "[\"a\",1]";
	j = parse_ok(text, strlen(text));
	cr_assert_null(json_get(j, "a"), "array is no object");
	json_free(j);
}

/* Without a place for the cause, a bad document is still refused. */
Test(json, cause_may_be_null)
{
	cr_assert_null(json_parse("[1,", 3, NULL));
	json_free(NULL);
}

ParameterizedTestParameters(json, write_string)
{
	static struct json_case cases[] = {
		{ "", 0, "\"\"" },
		{ "hello", 0, "\"hello\"" },
		{ "say \"hi\"", 0, "\"say \\\"hi\\\"\"" },
		{ "C:\\nix", 0, "\"C:\\\\nix\"" },
		{ "a/b", 0, "\"a/b\"" },
		{ "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\"" },
		{ "\x01\x1f\x1b[0m", 0, "\"\\u0001\\u001f\\u001b[0m\"" },
		{ "\x7f", 0, "\"\x7f\"" },
		{ "caf\xc3\xa9 \xf0\x9f\x98\x80", 0,
		  "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
	};

	return cr_make_param_array(struct json_case, cases,
	    sizeof cases / sizeof cases[0]);
}

/* The exact text written, then the same string back through the reader. */
ParameterizedTest(struct json_case *c, json, write_string)
{
	struct json	*j;
	char		*out;

	cr_assert_eq(case_length(c), strlen(c->text));
	out = write_string(c->text);
	cr_expect_str_eq(out, c->expected, "string '%s'", c->text);
	j = parse_ok(out, strlen(out));
	cr_assert_eq(j->type, JSON_STRING);
	cr_expect_str_eq(j->string, c->text, "round trip of '%s'", out);
	json_free(j);
	free(out);
}

/* Every byte from 1 to 0x7f survives json_write_string then json_parse. */
Test(json, write_string_round_trip_all_ascii)
{
	struct json	*j;
	char		 in[128], *out;
	int		 i;

	for (i = 1; i < 128; i++)
		in[i - 1] = i;
	in[127] = '\0';
	out = write_string(in);
	j = parse_ok(out, strlen(out));
	cr_assert_eq(j->type, JSON_STRING);
	cr_assert_str_eq(j->string, in);
	json_free(j);
	free(out);
}
