/*
 * The framing both binaries speak: header round trips, the 1 MiB limit in
 * both directions, and a packed frame that unpacks to the same request.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "frame.h"
#include "profiled.pb-c.h"

TestSuite(frame);

struct frame_length {
	uint32_t	len;
	unsigned char	bytes[4];
	int		ok;
};

ParameterizedTestParameters(frame, header)
{
	static struct frame_length cases[] = {
		{ 0, { 0, 0, 0, 0 }, 1 },
		{ 1, { 0, 0, 0, 1 }, 1 },
		{ 258, { 0, 0, 1, 2 }, 1 },
		{ FRAME_MAX, { 0, 0x10, 0, 0 }, 1 },
		{ FRAME_MAX + 1, { 0, 0x10, 0, 1 }, 0 },
		{ 0xffffffff, { 0xff, 0xff, 0xff, 0xff }, 0 },
	};

	return cr_make_param_array(struct frame_length, cases,
	    sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct frame_length *c, frame, header)
{
	unsigned char	header[FRAME_HEADER_SIZE];
	uint32_t	len;

	frame_header_encode(header, c->len);
	cr_assert_arr_eq(header, c->bytes, 4);
	cr_assert_eq(frame_header_decode(c->bytes, &len), c->ok ? 0 : -1);
	cr_assert_eq(len, c->len);
}

Test(frame, pack_round_trip)
{
	Profiled__Request	 request = PROFILED__REQUEST__INIT;
	Profiled__SwitchRequest	 sw = PROFILED__SWITCH_REQUEST__INIT;
	Profiled__Request	*back;
	unsigned char		*buf;
	size_t			 size;
	uint32_t		 len;

	sw.has_generation = 1;
	sw.generation = 42;
	request.call_case = PROFILED__REQUEST__CALL_SWITCH_TO;
	request.switch_to = &sw;
	buf = frame_pack(&request.base, &size);
	cr_assert_not_null(buf);
	cr_assert_eq(frame_header_decode(buf, &len), 0);
	cr_assert_eq(size, FRAME_HEADER_SIZE + len);
	back = profiled__request__unpack(NULL, len, buf + FRAME_HEADER_SIZE);
	cr_assert_not_null(back);
	cr_assert_eq(back->call_case, PROFILED__REQUEST__CALL_SWITCH_TO);
	cr_assert(back->switch_to->has_generation);
	cr_assert_eq(back->switch_to->generation, 42);
	profiled__request__free_unpacked(back, NULL);
	free(buf);
}

Test(frame, pack_refuses_oversized_message)
{
	Profiled__Response	response = PROFILED__RESPONSE__INIT;
	Profiled__Error		error = PROFILED__ERROR__INIT;
	size_t			size;
	char			*big;

	big = malloc(FRAME_MAX + 1);
	memset(big, 'x', FRAME_MAX);
	big[FRAME_MAX] = '\0';
	error.message = big;
	response.result_case = PROFILED__RESPONSE__RESULT_ERROR;
	response.error = &error;
	cr_assert_null(frame_pack(&response.base, &size));
	free(big);
}
