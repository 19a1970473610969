/*
 * Editing package files for profilectl add and remove: every byte outside
 * the edited element stays as it was, and files of other shapes are
 * refused with a message saying where and why.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "profiled.h"

TestSuite(package_edit);

/*
 * Criterion runs each parameter in a new process, where pointers made in
 * the parent mean nothing: the parameters are indexes into the tables.
 */
struct edit_case {
	const char	*what;
	int		 add;
	const char	*attr;
	const char	*before;
	const char	*after;
	enum package_edit_result result;
	unsigned	 line;
};

static const struct edit_case edit_cases[] = {
	{ "add under with, one a line, sorted: where it sorts", 1, "jq",
	  "{ pkgs ? import <nixpkgs> { } }:\n"
	  "with pkgs; [\n"
	  "  hello\n"
	  "  ripgrep # search\n"
	  "]\n",
	  "{ pkgs ? import <nixpkgs> { } }:\n"
	  "with pkgs; [\n"
	  "  hello\n"
	  "  jq\n"
	  "  ripgrep # search\n"
	  "]\n", PACKAGE_EDIT_CHANGED, 0 },
	{ "add last in sort order: after the last line", 1, "zsh",
	  "with import <nixpkgs> { }; [\n    cowsay\n    hello\n]\n",
	  "with import <nixpkgs> { }; [\n    cowsay\n    hello\n    zsh\n]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add to an unsorted list: at the end, its comment kept", 1, "jq",
	  "with pkgs; [\n\thello\n\tcowsay # moo\n]\n",
	  "with pkgs; [\n\thello\n\tcowsay # moo\n\tjq\n]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add on one line", 1, "jq",
	  "{ pkgs }: with pkgs; [ hello cowsay ]\n",
	  "{ pkgs }: with pkgs; [ hello cowsay jq ]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add to an empty list", 1, "hello",
	  "{ pkgs }: with pkgs; [ ]\n",
	  "{ pkgs }: with pkgs; [ hello ]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add to an empty list over lines", 1, "hello",
	  "{ pkgs }: with pkgs; [\n  # nothing yet\n]\n",
	  "{ pkgs }: with pkgs; [\n  # nothing yet\n  hello\n]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add without with: named as the others are", 1, "jq",
	  "{ pkgs ? import <nixpkgs> { } }:\n[\n  pkgs.hello\n]\n",
	  "{ pkgs ? import <nixpkgs> { } }:\n[\n  pkgs.hello\n  pkgs.jq\n]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add without with to an empty list: in pkgs", 1, "jq",
	  "{ pkgs ? import <nixpkgs> { } }: [ ]\n",
	  "{ pkgs ? import <nixpkgs> { } }: [ pkgs.jq ]\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add a nested attribute", 1, "python3Packages.requests",
	  "with pkgs; [ hello ]",
	  "with pkgs; [ hello python3Packages.requests ]",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "add one already there", 1, "hello",
	  "with pkgs; [\n  cowsay\n  hello\n]\n",
	  "with pkgs; [\n  cowsay\n  hello\n]\n", PACKAGE_EDIT_ALREADY, 3 },
	{ "add one already there as pkgs.hello", 1, "hello",
	  "{ pkgs }: [ pkgs.hello ]\n",
	  "{ pkgs }: [ pkgs.hello ]\n", PACKAGE_EDIT_ALREADY, 1 },
	{ "add one there inside an expression", 1, "htop",
	  "{ pkgs, lib }: with pkgs; [\n  hello\n  (lib.hiPrio htop)\n]\n",
	  "{ pkgs, lib }: with pkgs; [\n  hello\n  (lib.hiPrio htop)\n]\n",
	  PACKAGE_EDIT_WRAPPED, 3 },
	{ "remove a line, its comment with it", 0, "ripgrep",
	  "with pkgs; [\n  hello\n  ripgrep # search\n  # keep me\n  jq\n]\n",
	  "with pkgs; [\n  hello\n  # keep me\n  jq\n]\n",
	  PACKAGE_EDIT_CHANGED, 3 },
	{ "remove the last line", 0, "jq",
	  "with pkgs; [\n  hello\n  jq\n]\n",
	  "with pkgs; [\n  hello\n]\n", PACKAGE_EDIT_CHANGED, 3 },
	{ "remove from one line", 0, "cowsay",
	  "with pkgs; [ hello cowsay jq ]\n",
	  "with pkgs; [ hello jq ]\n", PACKAGE_EDIT_CHANGED, 1 },
	{ "remove the first of one line", 0, "hello",
	  "with pkgs; [ hello cowsay ]\n",
	  "with pkgs; [ cowsay ]\n", PACKAGE_EDIT_CHANGED, 1 },
	{ "remove the first of a line with two", 0, "hello",
	  "with pkgs; [\n  hello cowsay\n]\n",
	  "with pkgs; [\n  cowsay\n]\n", PACKAGE_EDIT_CHANGED, 2 },
	{ "remove pkgs.hello by its name", 0, "hello",
	  "{ pkgs }:\n[\n  pkgs.hello\n  pkgs.jq\n]\n",
	  "{ pkgs }:\n[\n  pkgs.jq\n]\n", PACKAGE_EDIT_CHANGED, 3 },
	{ "remove from a line the bracket closes", 0, "jq",
	  "with pkgs;[hello\n\t\tjq   ]",
	  "with pkgs;[hello\n\t\t]", PACKAGE_EDIT_CHANGED, 2 },
	{ "remove one not there", 0, "jq",
	  "with pkgs; [ hello ]\n", "with pkgs; [ hello ]\n",
	  PACKAGE_EDIT_ABSENT, 0 },
	{ "remove one only inside an expression", 0, "htop",
	  "with pkgs; [ (lib.hiPrio htop) ]\n",
	  "with pkgs; [ (lib.hiPrio htop) ]\n", PACKAGE_EDIT_WRAPPED, 1 },
	{ "a let and strings with brackets are skipped", 1, "jq",
	  "# packages ]\n"
	  "{ pkgs ? import <nixpkgs> { config = { }; }, ... }:\n"
	  "let\n"
	  "  x = \"[ ${toString [ 1 ]} ]\";\n"
	  "  y = ''\n    ]'' ${\"}\"} ''$ [\n  '';\n"
	  "  z = let q = 1; in q;\n"
	  "in\n"
	  "with pkgs; [\n"
	  "  /* a ] comment */ hello\n"
	  "  (writeShellScriptBin \"x\" y)\n"
	  "]\n",
	  "# packages ]\n"
	  "{ pkgs ? import <nixpkgs> { config = { }; }, ... }:\n"
	  "let\n"
	  "  x = \"[ ${toString [ 1 ]} ]\";\n"
	  "  y = ''\n    ]'' ${\"}\"} ''$ [\n  '';\n"
	  "  z = let q = 1; in q;\n"
	  "in\n"
	  "with pkgs; [\n"
	  "  /* a ] comment */ hello\n"
	  "  (writeShellScriptBin \"x\" y)\n"
	  "  jq\n"
	  "]\n", PACKAGE_EDIT_CHANGED, 0 },
	{ "args@ patterns", 0, "hello",
	  "args@{ pkgs, ... }: with args.pkgs; [ hello ]",
	  "args@{ pkgs, ... }: with args.pkgs; [ ]", PACKAGE_EDIT_CHANGED, 1 },
	{ "add to a file with CRLF line ends", 1, "jq",
	  "with pkgs; [\r\n  hello\r\n]\r\n",
	  "with pkgs; [\r\n  hello\r\n  jq\r\n]\r\n",
	  PACKAGE_EDIT_CHANGED, 0 },
	{ "remove from a file with CRLF line ends", 0, "hello",
	  "with pkgs; [\r\n  hello\r\n  jq\r\n]\r\n",
	  "with pkgs; [\r\n  jq\r\n]\r\n", PACKAGE_EDIT_CHANGED, 2 },
	{ "a plain list", 1, "b",
	  "[ a ]", "[ a b ]", PACKAGE_EDIT_CHANGED, 0 },
};

ParameterizedTestParameters(package_edit, edits)
{
	static size_t	index[sizeof edit_cases / sizeof edit_cases[0]];
	size_t		i;

	for (i = 0; i < sizeof index / sizeof index[0]; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index,
	    sizeof index / sizeof index[0]);
}

ParameterizedTest(size_t *i, package_edit, edits)
{
	const struct edit_case	*c = &edit_cases[*i];
	struct package_edit	 edit = { c->attr, 0, 0 };
	char			*out, *cause = NULL;

	out = package_edit_apply("packages.nix", c->before, strlen(c->before),
	    c->add, &edit, 1, &cause);
	cr_assert_not_null(out, "%s: %s", c->what, cause);
	cr_expect_str_eq(out, c->after, "%s: got\n%s", c->what, out);
	cr_expect_eq(edit.result, c->result, "%s: result %d", c->what,
	    edit.result);
	cr_expect_eq(edit.line, c->line, "%s: line %u", c->what, edit.line);
	free(out);
}

struct shape_case {
	const char	*text;
	const char	*message;	/* a part of the error */
};


static const struct shape_case shape_cases[] = {
	{ "{ pkgs }: { hello = pkgs.hello; }\n",
	  "packages.nix: line 1: found an attribute set" },
	{ "with pkgs; [ hello ] ++ [ jq ]\n",
	  "packages.nix: line 1: found more after the list" },
	{ "{ pkgs }:\n\nbuiltins.attrValues { }\n",
	  "packages.nix: line 3: found an expression" },
	{ "# nothing\n", "found the file holds no list" },
	{ "with pkgs; [ hello\n", "packages.nix: line 1: a bracket is not "
	  "closed" },
	{ "[ \"hello ]\n", "packages.nix: line 1: a string is not closed" },
	{ "[ hello ) ]", "brackets do not match" },
	{ "/* [", "a comment is not closed" },
};

ParameterizedTestParameters(package_edit, shapes_refused)
{
	static size_t	index[sizeof shape_cases / sizeof shape_cases[0]];
	size_t		i;

	for (i = 0; i < sizeof index / sizeof index[0]; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index,
	    sizeof index / sizeof index[0]);
}

ParameterizedTest(size_t *i, package_edit, shapes_refused)
{
	const struct shape_case	*c = &shape_cases[*i];
	struct package_edit	 edit = { "jq", 0, 0 };
	char			*out, *cause = NULL;

	out = package_edit_apply("packages.nix", c->text, strlen(c->text), 1,
	    &edit, 1, &cause);
	cr_assert_null(out, "accepted %s", c->text);
	cr_expect(strstr(cause, c->message) != NULL, "%s: %s", c->message,
	    cause);
	free(cause);
}

Test(package_edit, several_at_once)
{
	struct package_edit	 edits[] = {
		{ "jq", 0, 0 }, { "hello", 0, 0 }, { "cowsay", 0, 0 },
	};
	const char		*before = "with pkgs; [\n  cowsay\n  zsh\n]\n";
	char			*out, *cause = NULL;

	out = package_edit_apply("p.nix", before, strlen(before), 1, edits, 3,
	    &cause);
	cr_assert_not_null(out, "%s", cause);
	cr_expect_str_eq(out,
	    "with pkgs; [\n  cowsay\n  hello\n  jq\n  zsh\n]\n");
	cr_expect_eq(edits[0].result, PACKAGE_EDIT_CHANGED);
	cr_expect_eq(edits[1].result, PACKAGE_EDIT_CHANGED);
	cr_expect_eq(edits[2].result, PACKAGE_EDIT_ALREADY);
	free(out);
}

Test(package_edit, attribute_names)
{
	cr_expect(package_edit_valid_attr("hello"));
	cr_expect(package_edit_valid_attr("python3Packages.requests"));
	cr_expect(package_edit_valid_attr("nodePackages_latest.npm-check'"));
	cr_expect(!package_edit_valid_attr(""));
	cr_expect(!package_edit_valid_attr("a..b"));
	cr_expect(!package_edit_valid_attr("a."));
	cr_expect(!package_edit_valid_attr("1password"));
	cr_expect(!package_edit_valid_attr("hello; rm"));
	cr_expect(!package_edit_valid_attr("-hello"));
}
