/*
 * Unit tests for sha256.c: the NIST FIPS 180-4 examples, and lengths on
 * each side of the padding boundaries, where a digest written from the
 * spec is most likely to go wrong.  A wrong digest would make profiled
 * rebuild on every save or, worse, skip a save that changed the file.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "profiled.h"

TestSuite(sha256);

/*
 * Arrays, not pointers, because Criterion copies parameters into another
 * process where pointers into this one's data are not valid (Criterion
 * issue 208).
 */
struct sha256_vector {
	char	input[128];
	char	digest[SHA256_HEX_SIZE];
};

/* The examples of the NIST "SHA-256" example document and FIPS 180-2. */
ParameterizedTestParameters(sha256, nist)
{
	static struct sha256_vector vectors[] = {
		{ "",
		  "e3b0c44298fc1c149afbf4c8996fb924"
		  "27ae41e4649b934ca495991b7852b855" },
		{ "abc",
		  "ba7816bf8f01cfea414140de5dae2223"
		  "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039"
		  "a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b049237"
		  "0b249b11e8f07a51afac45037afee9d1" },
	};

	return cr_make_param_array(struct sha256_vector, vectors,
	    sizeof vectors / sizeof vectors[0]);
}

ParameterizedTest(struct sha256_vector *v, sha256, nist)
{
	char	out[SHA256_HEX_SIZE];

	cr_assert_not_null(memchr(v->input, '\0', sizeof v->input));
	sha256_hex(v->input, strlen(v->input), out);
	cr_assert_str_eq(out, v->digest, "input \"%s\"", v->input);
}

struct sha256_length {
	size_t	length;
	char	digest[SHA256_HEX_SIZE];
};

/*
 * n bytes of 'a'.  55 is the longest message whose padding fits one block,
 * 56 the shortest that needs a second; 63, 64 and 65 straddle a full
 * block; 119 and 120 repeat the 55/56 boundary in the second block.
 * Expected values computed with coreutils:
 *	head -c N /dev/zero | tr '\0' a | sha256sum
 */
ParameterizedTestParameters(sha256, padding)
{
	static struct sha256_length lengths[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9a"
		  "e9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f"
		  "590ce20f1bde7090ef7970686ec6738a" },
		{ 57, "f13b2d724659eb3bf47f2dd6af1accc8"
		  "7b81f09f59f2b75e5c0bed6589dfe8c6" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98"
		  "e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209"
		  "f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a"
		  "41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cf"
		  "dfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c"
		  "020d683aa5f73aaaedfdc55af904c21c" },
	};

	return cr_make_param_array(struct sha256_length, lengths,
	    sizeof lengths / sizeof lengths[0]);
}

ParameterizedTest(struct sha256_length *l, sha256, padding)
{
	char	in[128], out[SHA256_HEX_SIZE];

	cr_assert_leq(l->length, sizeof in);
	memset(in, 'a', l->length);
	sha256_hex(in, l->length, out);
	cr_assert_str_eq(out, l->digest, "%zu bytes of 'a'", l->length);
}

/* NIST's long message: one million 'a', many blocks through one call. */
Test(sha256, million_a)
{
	char	*in, out[SHA256_HEX_SIZE];
	size_t	 len = 1000000;

	in = malloc(len);
	cr_assert_not_null(in);
	memset(in, 'a', len);
	sha256_hex(in, len, out);
	free(in);
	cr_assert_str_eq(out,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/*
 * Every byte value, NULs and high bytes included: the file is hashed as
 * bytes, not as a C string.  Computed with
 *	python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' |
 *	    sha256sum
 */
Test(sha256, all_bytes)
{
	unsigned char	in[256];
	char		out[SHA256_HEX_SIZE];
	int		i;

	for (i = 0; i < 256; i++)
		in[i] = i;
	sha256_hex(in, sizeof in, out);
	cr_assert_str_eq(out,
	    "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880");
}

/* The hex is 64 lowercase digits and terminated, whatever was in out. */
Test(sha256, output_is_terminated_lowercase_hex)
{
	char	out[SHA256_HEX_SIZE];
	size_t	i;

	memset(out, 'X', sizeof out);
	sha256_hex("abc", 3, out);
	cr_assert_eq(out[SHA256_HEX_SIZE - 1], '\0');
	cr_assert_eq(strlen(out), SHA256_HEX_SIZE - 1);
	for (i = 0; i < SHA256_HEX_SIZE - 1; i++) {
		cr_assert(strchr("0123456789abcdef", out[i]) != NULL,
		    "character %zu is '%c'", i, out[i]);
	}
}

/* A one-character edit to a package file changes its hash. */
Test(sha256, edit_changes_hash)
{
	const char	*before = "with pkgs; [ hello ]\n";
	const char	*after = "with pkgs; [ hellp ]\n";
	char		 a[SHA256_HEX_SIZE], b[SHA256_HEX_SIZE];

	sha256_hex(before, strlen(before), a);
	sha256_hex(after, strlen(after), b);
	cr_assert_str_eq(a,
	    "9f4ad168a9496b4c5eaf992a2ab0e75fe930d8b8f1dcd49d3267ff943b68c1df");
	cr_assert_str_eq(b,
	    "11b6f01e35ac07f9a6a2137e1bb65516174b7aa915dd0578a4157cb012f10cf4");
}
