/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for relay/rtmp_handshake.c: client and server talk to each other. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtmp_handshake.h"

#define HS SC_RTMP_HANDSHAKE_SIZE

/*
 * Feed in[0..n) in pieces of step bytes (0: all at once). Returns the
 * last result; *consumed is the total taken.
 */
static int feed(sc_rtmp_handshake *hs, const uint8_t *in, size_t n, size_t step, size_t *consumed,
		sc_buf *out)
{
	size_t off = 0;
	int r = 0;

	*consumed = 0;
	do {
		size_t k = step == 0 || n - off < step ? n - off : step, used = 99999;

		r = sc_rtmp_handshake_feed(hs, in + off, k, &used, out);
		if (r < 0)
			return r;
		assert_true(used <= k);
		*consumed += used;
		off += k;
		if (r == 1)
			return 1;
		assert_int_equal(used, k); /* not done: everything is taken */
	} while (off < n);
	return r;
}

static void run_pair(size_t step)
{
	sc_rtmp_handshake *c = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	sc_rtmp_handshake *s = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	sc_buf c_out, s_out;
	size_t used;

	assert_non_null(c);
	assert_non_null(s);
	sc_buf_init(&c_out, 1 << 16);
	sc_buf_init(&s_out, 1 << 16);

	assert_int_equal(sc_rtmp_handshake_start(c, &c_out), 0);
	assert_int_equal(c_out.len, 1 + HS);
	assert_int_equal(c_out.data[0], 3);
	assert_memory_equal(c_out.data + 5, "\0\0\0\0", 4);

	/* The server gets C0C1 and answers S0S1S2 at once. */
	assert_int_equal(feed(s, c_out.data, c_out.len, step, &used, &s_out), 0);
	assert_int_equal(used, 1 + HS);
	assert_int_equal(s_out.len, 1 + 2 * HS);
	assert_int_equal(s_out.data[0], 3);
	assert_memory_equal(s_out.data + 5, "\0\0\0\0", 4); /* S1: plain handshake */
	/* S2 echoes C1's time and random bytes. */
	assert_memory_equal(s_out.data + 1 + HS, c_out.data + 1, 4);
	assert_memory_equal(s_out.data + 1 + HS + 8, c_out.data + 1 + 8, HS - 8);
	sc_buf_consume(&c_out, c_out.len);

	/* The client gets S0S1S2, sends C2 and is done. */
	assert_int_equal(feed(c, s_out.data, s_out.len, step, &used, &c_out), 1);
	assert_int_equal(used, 1 + 2 * HS);
	assert_int_equal(c_out.len, HS);
	assert_memory_equal(c_out.data, s_out.data + 1, 4);
	assert_memory_equal(c_out.data + 8, s_out.data + 1 + 8, HS - 8);

	/* The server gets C2 and is done. */
	sc_buf_reset(&s_out);
	assert_int_equal(feed(s, c_out.data, c_out.len, step, &used, &s_out), 1);
	assert_int_equal(used, HS);
	assert_int_equal(s_out.len, 0);

	/* Done is done: nothing more is taken. */
	used = 1;
	assert_int_equal(sc_rtmp_handshake_feed(s, (const uint8_t *)"x", 1, &used, &s_out), 1);
	assert_int_equal(used, 0);

	sc_buf_free(&c_out);
	sc_buf_free(&s_out);
	sc_rtmp_handshake_free(c);
	sc_rtmp_handshake_free(s);
}

static void test_all_at_once(void **state)
{
	run_pair(0);
}

static void test_byte_by_byte(void **state)
{
	run_pair(1);
}

static void test_odd_pieces(void **state)
{
	run_pair(1000);
	run_pair(1537);
}

static void test_bad_version(void **state)
{
	sc_rtmp_handshake *s = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	sc_rtmp_handshake *c = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	uint8_t in[1 + HS] = {6};
	sc_buf out;
	size_t used = 12345;

	sc_buf_init(&out, 1 << 16);
	assert_int_equal(sc_rtmp_handshake_feed(s, in, sizeof(in), &used, &out), -EPROTO);
	assert_int_equal(used, 12345); /* untouched on error */
	assert_int_equal(out.len, 0);
	assert_non_null(strstr(sc_rtmp_handshake_error(s), "version 6"));
	in[0] = 3;
	assert_int_equal(sc_rtmp_handshake_feed(s, in, sizeof(in), &used, &out), -EPROTO);

	/* Client: S0 of 0x0f (the RTMPE variant) is refused too. */
	assert_int_equal(sc_rtmp_handshake_feed(c, in, 1, &used, &out), -EINVAL); /* no start */
	assert_int_equal(sc_rtmp_handshake_start(c, &out), 0);
	assert_int_equal(sc_rtmp_handshake_start(c, &out), -EINVAL);
	in[0] = 0x0f;
	assert_int_equal(sc_rtmp_handshake_feed(c, in, 1, &used, &out), -EPROTO);
	assert_int_equal(sc_rtmp_handshake_start(s, &out), -EINVAL);

	sc_buf_free(&out);
	sc_rtmp_handshake_free(s);
	sc_rtmp_handshake_free(c);
	sc_rtmp_handshake_free(NULL);
}

static void test_trailing_bytes_not_consumed(void **state)
{
	sc_rtmp_handshake *s = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	sc_rtmp_handshake *c = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	size_t n = 1 + 2 * HS + 7, used;
	uint8_t *in = calloc(1, n);
	sc_buf out;

	sc_buf_init(&out, 1 << 16);
	/* Server: C0 C1 C2 and the first chunk bytes in one read. */
	in[0] = 3;
	memcpy(in + 1 + 2 * HS, "\x03\x00\x00\x00\x00\x00\x20", 7);
	assert_int_equal(sc_rtmp_handshake_feed(s, in, n, &used, &out), 1);
	assert_int_equal(used, 1 + 2 * HS);
	assert_int_equal(out.len, 1 + 2 * HS);

	/* Client: S0 S1 S2 and the server's first chunks in one read. */
	sc_buf_reset(&out);
	assert_int_equal(sc_rtmp_handshake_start(c, &out), 0);
	sc_buf_reset(&out);
	assert_int_equal(sc_rtmp_handshake_feed(c, in, n, &used, &out), 1);
	assert_int_equal(used, 1 + 2 * HS);
	assert_int_equal(out.len, HS);

	free(in);
	sc_buf_free(&out);
	sc_rtmp_handshake_free(s);
	sc_rtmp_handshake_free(c);
}

static void test_output_full(void **state)
{
	sc_rtmp_handshake *s = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	uint8_t in[1 + HS] = {3};
	sc_buf out;
	size_t used;

	sc_buf_init(&out, 100);
	assert_int_equal(sc_rtmp_handshake_feed(s, in, sizeof(in), &used, &out), -ENOBUFS);
	assert_int_equal(out.len, 0);
	sc_buf_free(&out);
	sc_rtmp_handshake_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_at_once),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_odd_pieces),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_trailing_bytes_not_consumed),
		cmocka_unit_test(test_output_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
