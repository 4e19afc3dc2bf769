/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void test_append_and_max(void **state)
{
	sc_buf b;

	(void)state;
	sc_buf_init(&b, 8);
	assert_int_equal(sc_buf_append(&b, "abcd", 4), 0);
	assert_int_equal(sc_buf_append(&b, "efgh", 4), 0);
	assert_int_equal(b.len, 8);
	/* Over the maximum: refused, buffer unchanged. */
	assert_int_equal(sc_buf_append(&b, "i", 1), -ENOBUFS);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdefgh", 8);
	assert_int_equal(sc_buf_append(&b, "", 0), 0);
	assert_int_equal(sc_buf_reserve(&b, SIZE_MAX), -ENOBUFS);
	sc_buf_free(&b);
	sc_buf_free(NULL);
}

static void test_integers(void **state)
{
	static const uint8_t want[] = {0xab, 0x12, 0x34, 0x01, 0x02, 0x03, 0xde,
				       0xad, 0xbe, 0xef, 0x78, 0x56, 0x34, 0x12};
	sc_buf b;

	(void)state;
	sc_buf_init(&b, 64);
	assert_int_equal(sc_buf_append_u8(&b, 0xab), 0);
	assert_int_equal(sc_buf_append_be16(&b, 0x1234), 0);
	assert_int_equal(sc_buf_append_be24(&b, 0x010203), 0);
	assert_int_equal(sc_buf_append_be32(&b, 0xdeadbeef), 0);
	assert_int_equal(sc_buf_append_le32(&b, 0x12345678), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_int_equal(sc_rd_be16(b.data + 1), 0x1234);
	assert_int_equal(sc_rd_be24(b.data + 3), 0x010203);
	assert_int_equal(sc_rd_be32(b.data + 6), 0xdeadbeef);
	assert_int_equal(sc_rd_le32(b.data + 10), 0x12345678);
	/* A 4-byte value does not fit in 3 bytes of room. */
	sc_buf_free(&b);
	sc_buf_init(&b, 3);
	assert_int_equal(sc_buf_append_be32(&b, 1), -ENOBUFS);
	assert_int_equal(b.len, 0);
	assert_int_equal(sc_buf_append_be24(&b, 1), 0);
	sc_buf_free(&b);
}

static void test_printf(void **state)
{
	sc_buf b;
	int i;

	(void)state;
	sc_buf_init(&b, 1000);
	assert_int_equal(sc_buf_printf(&b, "x=%d", 42), 0);
	assert_int_equal(b.len, 4);
	assert_string_equal((char *)b.data, "x=42");
	/* Grows past the first allocation. */
	for (i = 0; i < 50; i++)
		assert_int_equal(sc_buf_printf(&b, "%s", "0123456789"), 0);
	assert_int_equal(b.len, 504);
	assert_int_equal(b.data[b.len], '\0');
	/* Exactly up to max works, one more byte does not. */
	assert_int_equal(sc_buf_printf(&b, "%*s", 496, ""), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(sc_buf_printf(&b, "y"), -ENOBUFS);
	assert_int_equal(b.len, 1000);
	sc_buf_free(&b);

	sc_buf_init(&b, 5);
	assert_int_equal(sc_buf_printf(&b, "%s", "toolong"), -ENOBUFS);
	assert_int_equal(b.len, 0);
	sc_buf_free(&b);
}

static void test_consume_reset_steal(void **state)
{
	uint8_t *p;
	size_t n = 99;
	sc_buf b;

	(void)state;
	sc_buf_init(&b, 100);
	assert_int_equal(sc_buf_append(&b, "hello world", 11), 0);
	sc_buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "world", 5);
	sc_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_int_equal(sc_buf_append(&b, "abc", 3), 0);
	sc_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(sc_buf_append(&b, "xyz", 3), 0);
	p = sc_buf_steal(&b, &n);
	assert_non_null(p);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "xyz", 3);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 100);
	free(p);
	/* Still usable after stealing. */
	assert_int_equal(sc_buf_append(&b, "q", 1), 0);
	sc_buf_free(&b);
}

static void test_reserve(void **state)
{
	sc_buf b;

	(void)state;
	sc_buf_init(&b, 4096);
	assert_int_equal(sc_buf_reserve(&b, 4096), 0);
	assert_true(b.cap >= 4096);
	assert_int_equal(b.len, 0);
	assert_int_equal(sc_buf_reserve(&b, 4097), -ENOBUFS);
	sc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_max), cmocka_unit_test(test_integers),
		cmocka_unit_test(test_printf),	       cmocka_unit_test(test_consume_reset_steal),
		cmocka_unit_test(test_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
