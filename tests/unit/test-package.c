/*
 * Package lists: a copy owns its strings, so the original can go first.
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
