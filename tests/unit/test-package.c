/*
 * Package lists: a copy owns its strings, so the original can go first;
 * versions are ordered exactly as Nix orders them.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "profiled.h"

TestSuite(package);

Test(package, copy_owns_its_strings)
{
	struct package	 list[2] = {
		{ "hello", "2.12", "/nix/store/a-hello-2.12" },
		{ "cowsay", "3.7", "/nix/store/b-cowsay-3.7" },
	};
	struct package	*original, *copy;
	size_t		 i;

	original = package_list_copy(list, 2);
	copy = package_list_copy(original, 2);
	for (i = 0; i < 2; i++) {
		cr_assert_neq(copy[i].name, original[i].name);
		cr_assert_neq(copy[i].version, original[i].version);
		cr_assert_neq(copy[i].path, original[i].path);
	}
	/* Freed first, the original must leave the copy whole. */
	package_list_free(original, 2);
	for (i = 0; i < 2; i++) {
		cr_assert_str_eq(copy[i].name, list[i].name);
		cr_assert_str_eq(copy[i].version, list[i].version);
		cr_assert_str_eq(copy[i].path, list[i].path);
	}
	package_list_free(copy, 2);
}

Test(package, empty_list)
{
	struct package	*copy;

	copy = package_list_copy(NULL, 0);
	cr_assert_not_null(copy, "an empty list is still an array to free");
	package_list_free(copy, 0);
	package_list_free(NULL, 0);
}

/* Arrays, not pointers: Criterion copies parameters into another process. */
struct version_case {
	char	a[32];
	char	b[32];
	int	sign;	/* of compareVersions a b */
};

/*
 * Every sign here was produced by Nix 2.8.0 itself, one pair at a time:
 *	nix-instantiate --eval --argstr a A --argstr b B \
 *	    --expr '{ a, b }: builtins.compareVersions a b'
 * and each pair reversed gave the opposite sign.
 */
ParameterizedTestParameters(package, version_compare)
{
	static struct version_case cases[] = {
		{ "1.0pre1", "1.0", -1 },
		{ "1.9a", "1.10a", -1 },
		{ "2.3a", "2.3.1", -1 },
		{ "pre", "pre", 0 },
		{ "", "", 0 },
		{ "1", "", 1 },
		{ "a", "", 1 },
		{ "pre", "", -1 },
		{ "1.0", "1.0.0", -1 },
		{ "1.0", "1.0", 0 },
		{ "1.0", "1-0", 0 },
		{ "1.0", "1.00", 0 },
		{ "1", "01", 0 },
		{ "1.0.", "1.0", 0 },
		{ ".1.0", "1.0", 0 },
		{ "-1", "1", 0 },
		{ "1..0", "1.0", 0 },
		{ "2.10", "2.12", -1 },
		{ "2.12", "2.10", 1 },
		{ "1.9", "1.10", -1 },
		{ "a", "b", -1 },
		{ "abc", "abd", -1 },
		{ "abc", "ab", 1 },
		{ "beta", "alpha", 1 },
		{ "1.0a", "1.0b", -1 },
		{ "1.0a", "1.0", 1 },
		{ "1.0rc1", "1.0", 1 },
		{ "1.0pre", "1.0rc1", -1 },
		{ "1.0pre1", "1.0pre2", -1 },
		{ "pre1", "1", -1 },
		{ "1pre", "1", -1 },
		{ "1.0-pre", "1.0", -1 },
		{ "2.0alpha", "2.0", 1 },
		{ "2147483647", "2147483646", 1 },
		{ "2147483648", "2147483647", -1 },
		{ "99999999999", "1", -1 },
		{ "99999999999", "99999999998", 1 },
		{ "1.99999999999", "1.2", -1 },
		{ "00000000000000000001", "1", 0 },
		{ "00000000000000000002", "1", 1 },
		{ "2147483648", "a", -1 },
		{ "2147483648", "pre", 1 },
		{ "1.2.3", "1.2.3.4", -1 },
		{ "3.7", "3.6", 1 },
		{ "0.1", "0.01", 0 },
		{ "1_2", "1_3", -1 },
		{ "unstable-2020-01-01", "unstable-2021-01-01", -1 },
		{ "2020-01-01", "2019-12-31", 1 },
		{ "1.0+git", "1.0", 1 },
		{ "1.0", "1.0+git", -1 },
		{ "1.0.1a", "1.0.1", 1 },
		{ "hello", "1", -1 },
		{ "r10", "r9", 1 },
		{ "1", "1.99999999999", -1 },
		{ "pre", "a", -1 },
		{ "a", "pre", 1 },
		{ "1.0-", "1.0", 0 },
		{ "1.0", "", 1 },
		{ "4294967296", "0", -1 },
		{ "1.0.0", "1.0", 1 },
	};

	return cr_make_param_array(struct version_case, cases,
	    sizeof cases / sizeof cases[0]);
}

static int
sign(int n)
{
	return (n > 0) - (n < 0);
}

ParameterizedTest(struct version_case *c, package, version_compare)
{
	cr_assert_eq(sign(package_version_compare(c->a, c->b)), c->sign,
	    "\"%s\" vs \"%s\"", c->a, c->b);
	cr_assert_eq(sign(package_version_compare(c->b, c->a)), -c->sign,
	    "\"%s\" vs \"%s\"", c->b, c->a);
}
