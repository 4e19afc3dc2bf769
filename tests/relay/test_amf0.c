/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for relay/amf0.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "amf0.h"

/* What ffmpeg (Lavf 59) sends to publish: "connect", written out by hand. */
static const uint8_t connect_cmd[] = "\x02\x00\x07"
				     "connect"
				     "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00" /* transaction id 1 */
				     "\x03"				    /* command object */
				     "\x00\x03"
				     "app"
				     "\x02\x00\x04"
				     "live"
				     "\x00\x04"
				     "type"
				     "\x02\x00\x0a"
				     "nonprivate"
				     "\x00\x08"
				     "flashVer"
				     "\x02\x00\x24"
				     "FMLE/3.0 (compatible; Lavf59.27.100)"
				     "\x00\x05"
				     "tcUrl"
				     "\x02\x00\x1a"
				     "rtmp://127.0.0.1:1935/live"
				     "\x00\x00\x09";

/* ...and the metadata it sends before the first frame. */
static const uint8_t metadata[] = "\x02\x00\x0d"
				  "@setDataFrame"
				  "\x02\x00\x0a"
				  "onMetaData"
				  "\x08\x00\x00\x00\x0d" /* ECMA array, 13 entries */
				  "\x00\x08"
				  "duration"
				  "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
				  "\x00\x05"
				  "width"
				  "\x00\x40\x94\x00\x00\x00\x00\x00\x00"
				  "\x00\x06"
				  "height"
				  "\x00\x40\x86\x80\x00\x00\x00\x00\x00"
				  "\x00\x0d"
				  "videodatarate"
				  "\x00\x40\xa3\x88\x00\x00\x00\x00\x00"
				  "\x00\x09"
				  "framerate"
				  "\x00\x40\x3e\x00\x00\x00\x00\x00\x00"
				  "\x00\x0c"
				  "videocodecid"
				  "\x00\x40\x1c\x00\x00\x00\x00\x00\x00"
				  "\x00\x0d"
				  "audiodatarate"
				  "\x00\x40\x60\x00\x00\x00\x00\x00\x00"
				  "\x00\x0f"
				  "audiosamplerate"
				  "\x00\x40\xe7\x70\x00\x00\x00\x00\x00"
				  "\x00\x0f"
				  "audiosamplesize"
				  "\x00\x40\x30\x00\x00\x00\x00\x00\x00"
				  "\x00\x06"
				  "stereo"
				  "\x01\x01"
				  "\x00\x0c"
				  "audiocodecid"
				  "\x00\x40\x24\x00\x00\x00\x00\x00\x00"
				  "\x00\x07"
				  "encoder"
				  "\x02\x00\x0d"
				  "Lavf59.27.100"
				  "\x00\x08"
				  "filesize"
				  "\x00\x00\x00\x00\x00\x00\x00\x00\x00"
				  "\x00\x00\x09";

/*
 * Live allocation count, to show that failed decodes free what they built.
 * glibc's mallinfo counts its caches as in use, so count calls instead by
 * interposing malloc over glibc's own. Sanitizer builds have their own
 * allocator and LeakSanitizer: there the count stays 0.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SC_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_TEST_SANITIZED 1
#endif
#endif

static long live_allocs;

#ifndef SC_TEST_SANITIZED
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);

	if (p)
		live_allocs++;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);

	if (p)
		live_allocs++;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p = __libc_realloc(old, n);

	if (!old && p)
		live_allocs++;
	else if (old && n == 0)
		live_allocs--;
	return p;
}

void free(void *p)
{
	if (p)
		live_allocs--;
	__libc_free(p);
}
#endif

static long heap_in_use(void)
{
	return live_allocs;
}

/* Decode, re-encode each value, and expect the same bytes. */
static void check_reencode(const uint8_t *p, size_t n)
{
	sc_amf0_value **v;
	size_t nv;
	sc_buf b;

	assert_int_equal(sc_amf0_decode_all(p, n, &v, &nv), 0);
	sc_buf_init(&b, 1 << 22);
	for (size_t i = 0; i < nv; i++)
		assert_int_equal(sc_amf0_put_value(&b, v[i]), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, p, n);
	sc_buf_free(&b);
	sc_amf0_free_all(v, nv);
}

static void test_connect(void **state)
{
	const size_t n = sizeof(connect_cmd) - 1;
	const sc_amf0_value *o;
	sc_amf0_value **v;
	size_t nv;

	assert_int_equal(sc_amf0_decode_all(connect_cmd, n, &v, &nv), 0);
	assert_int_equal(nv, 3);
	assert_string_equal(sc_amf0_str(v[0]), "connect");
	assert_true(sc_amf0_num(v[1], -1) == 1.0);
	o = v[2];
	assert_int_equal(o->type, SC_AMF0_OBJECT);
	assert_int_equal(o->n_props, 4);
	assert_string_equal(sc_amf0_str(sc_amf0_get(o, "app")), "live");
	assert_string_equal(sc_amf0_str(sc_amf0_get(o, "type")), "nonprivate");
	assert_string_equal(sc_amf0_str(sc_amf0_get(o, "flashVer")),
			    "FMLE/3.0 (compatible; Lavf59.27.100)");
	assert_string_equal(sc_amf0_str(sc_amf0_get(o, "tcUrl")), "rtmp://127.0.0.1:1935/live");
	assert_null(sc_amf0_get(o, "nope"));
	/* Lookups tolerate NULL and the wrong type. */
	assert_null(sc_amf0_get(v[0], "app"));
	assert_null(sc_amf0_get(NULL, "app"));
	assert_null(sc_amf0_str(v[1]));
	assert_null(sc_amf0_str(NULL));
	assert_true(sc_amf0_num(v[0], 42) == 42);
	assert_true(sc_amf0_num(NULL, 7) == 7);
	sc_amf0_free_all(v, nv);
	check_reencode(connect_cmd, n);
}

static void test_metadata(void **state)
{
	const size_t n = sizeof(metadata) - 1;
	const sc_amf0_value *m;
	sc_amf0_value **v;
	size_t nv;

	assert_int_equal(sc_amf0_decode_all(metadata, n, &v, &nv), 0);
	assert_int_equal(nv, 3);
	assert_string_equal(sc_amf0_str(v[0]), "@setDataFrame");
	assert_string_equal(sc_amf0_str(v[1]), "onMetaData");
	m = v[2];
	assert_int_equal(m->type, SC_AMF0_ECMA_ARRAY);
	assert_int_equal(m->n_props, 13);
	assert_true(sc_amf0_num(sc_amf0_get(m, "width"), 0) == 1280);
	assert_true(sc_amf0_num(sc_amf0_get(m, "height"), 0) == 720);
	assert_true(sc_amf0_num(sc_amf0_get(m, "framerate"), 0) == 30);
	assert_true(sc_amf0_num(sc_amf0_get(m, "videocodecid"), 0) == 7);
	assert_true(sc_amf0_num(sc_amf0_get(m, "audiosamplerate"), 0) == 48000);
	assert_true(sc_amf0_num(sc_amf0_get(m, "audiocodecid"), 0) == 10);
	assert_true(sc_amf0_get(m, "stereo")->boolean);
	assert_string_equal(sc_amf0_str(sc_amf0_get(m, "encoder")), "Lavf59.27.100");
	sc_amf0_free_all(v, nv);
	check_reencode(metadata, n);
}

static void test_writers_round_trip(void **state)
{
	char *longs = malloc(70001);
	const sc_amf0_value *inner;
	sc_amf0_value **v;
	size_t nv;
	sc_buf b;

	memset(longs, 'a', 70000);
	longs[70000] = 0;
	sc_buf_init(&b, 1 << 20);
	assert_int_equal(sc_amf0_put_number(&b, -2.5), 0);
	assert_int_equal(sc_amf0_put_bool(&b, true), 0);
	assert_int_equal(sc_amf0_put_bool(&b, false), 0);
	assert_int_equal(sc_amf0_put_string(&b, ""), 0);
	assert_int_equal(sc_amf0_put_string(&b, "héllo"), 0);
	assert_int_equal(sc_amf0_put_string(&b, longs), 0);
	assert_int_equal(b.data[b.len - 70000 - 5], SC_AMF0_LONG_STRING);
	assert_int_equal(sc_amf0_put_null(&b), 0);
	assert_int_equal(sc_amf0_put_object_begin(&b), 0);
	assert_int_equal(sc_amf0_put_prop_string(&b, "level", "status"), 0);
	assert_int_equal(sc_amf0_put_prop_number(&b, "code", 3), 0);
	assert_int_equal(sc_amf0_put_key(&b, "inner"), 0);
	assert_int_equal(sc_amf0_put_ecma_begin(&b, 2), 0);
	assert_int_equal(sc_amf0_put_prop_bool(&b, "x", true), 0);
	assert_int_equal(sc_amf0_put_key(&b, "deeper"), 0);
	assert_int_equal(sc_amf0_put_object_begin(&b), 0);
	assert_int_equal(sc_amf0_put_object_end(&b), 0);
	assert_int_equal(sc_amf0_put_object_end(&b), 0);
	assert_int_equal(sc_amf0_put_object_end(&b), 0);
	/* Strict array [1, "two", null], undefined, a date, a reference. */
	sc_buf_append(&b,
		      "\x0a\x00\x00\x00\x03"
		      "\x00\x3f\xf0\x00\x00\x00\x00\x00\x00"
		      "\x02\x00\x03"
		      "two"
		      "\x05"
		      "\x06"
		      "\x0b\x42\x78\x00\x00\x00\x00\x00\x00\x00\x00",
		      5 + 9 + 6 + 1 + 1 + 11);
	sc_buf_append(&b, "\x07\x00\x05", 3);
	assert_int_equal(sc_amf0_put_key(&b, ""), -EINVAL);

	assert_int_equal(sc_amf0_decode_all(b.data, b.len, &v, &nv), 0);
	assert_int_equal(nv, 12);
	assert_true(v[0]->type == SC_AMF0_NUMBER && v[0]->number == -2.5);
	assert_true(v[1]->type == SC_AMF0_BOOLEAN && v[1]->boolean);
	assert_true(v[2]->type == SC_AMF0_BOOLEAN && !v[2]->boolean);
	assert_string_equal(sc_amf0_str(v[3]), "");
	assert_string_equal(sc_amf0_str(v[4]), "héllo");
	assert_int_equal(v[5]->type, SC_AMF0_STRING);
	assert_int_equal(v[5]->str_len, 70000);
	assert_string_equal(v[5]->str, longs);
	assert_int_equal(v[6]->type, SC_AMF0_NULL);
	assert_int_equal(v[7]->type, SC_AMF0_OBJECT);
	assert_string_equal(sc_amf0_str(sc_amf0_get(v[7], "level")), "status");
	assert_true(sc_amf0_num(sc_amf0_get(v[7], "code"), 0) == 3);
	inner = sc_amf0_get(v[7], "inner");
	assert_int_equal(inner->type, SC_AMF0_ECMA_ARRAY);
	assert_true(sc_amf0_get(inner, "x")->boolean);
	assert_int_equal(sc_amf0_get(inner, "deeper")->type, SC_AMF0_OBJECT);
	assert_int_equal(sc_amf0_get(inner, "deeper")->n_props, 0);
	assert_int_equal(v[8]->type, SC_AMF0_STRICT_ARRAY);
	assert_int_equal(v[8]->n_items, 3);
	assert_true(v[8]->items[0]->number == 1);
	assert_string_equal(v[8]->items[1]->str, "two");
	assert_int_equal(v[8]->items[2]->type, SC_AMF0_NULL);
	assert_int_equal(v[9]->type, SC_AMF0_UNDEFINED);
	assert_int_equal(v[10]->type, SC_AMF0_DATE);
	assert_true(v[10]->number == 1649267441664.0);
	/* A reference decodes as a number holding its index. */
	assert_int_equal(v[11]->type, SC_AMF0_NUMBER);
	assert_true(v[11]->number == 5);
	sc_amf0_free_all(v, nv);

	/* Everything but the trailing reference re-encodes byte for byte. */
	check_reencode(b.data, b.len - 3);
	sc_buf_free(&b);
	free(longs);
}

/* Every top-level value boundary of p, found by re-encoding. */
static size_t boundaries(const uint8_t *p, size_t n, size_t *out, size_t max)
{
	sc_amf0_value **v;
	size_t nv, nb = 0;
	sc_buf b;

	sc_buf_init(&b, 1 << 20);
	assert_int_equal(sc_amf0_decode_all(p, n, &v, &nv), 0);
	out[nb++] = 0;
	for (size_t i = 0; i < nv && nb < max; i++) {
		sc_amf0_put_value(&b, v[i]);
		out[nb++] = b.len;
	}
	sc_amf0_free_all(v, nv);
	sc_buf_free(&b);
	return nb;
}

static void check_truncations(const uint8_t *p, size_t n)
{
	size_t bounds[8], nb = boundaries(p, n, bounds, 8);

	for (size_t cut = 0; cut < n; cut++) {
		long before = heap_in_use();
		size_t nv, expect_n = 0;
		sc_amf0_value **v = NULL;
		bool boundary = false;
		int r;

		for (size_t i = 0; i < nb; i++)
			if (bounds[i] == cut) {
				boundary = true;
				expect_n = i;
			}
		r = sc_amf0_decode_all(p, cut, &v, &nv);
		if (boundary) {
			assert_int_equal(r, 0);
			assert_int_equal(nv, expect_n);
			sc_amf0_free_all(v, nv);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_null(v); /* untouched */
		}
		assert_int_equal(heap_in_use(), before);
	}
}

static void test_truncation(void **state)
{
	check_truncations(connect_cmd, sizeof(connect_cmd) - 1);
	check_truncations(metadata, sizeof(metadata) - 1);
}

static void test_depth_bomb(void **state)
{
	uint8_t buf[8192];
	sc_amf0_value **v;
	size_t n = 0, nv;

	/* 16 nested objects are fine. */
	buf[n++] = SC_AMF0_OBJECT;
	for (int i = 1; i < SC_AMF0_MAX_DEPTH; i++) {
		memcpy(buf + n, "\x00\x01k\x03", 4);
		n += 4;
	}
	for (int i = 0; i < SC_AMF0_MAX_DEPTH; i++) {
		memcpy(buf + n, "\x00\x00\x09", 3);
		n += 3;
	}
	assert_int_equal(sc_amf0_decode_all(buf, n, &v, &nv), 0);
	sc_amf0_free_all(v, nv);

	/* 17 are not; neither is a deep strict-array bomb. */
	n = 0;
	buf[n++] = SC_AMF0_OBJECT;
	for (int i = 1; i <= SC_AMF0_MAX_DEPTH; i++) {
		memcpy(buf + n, "\x00\x01k\x03", 4);
		n += 4;
	}
	for (int i = 0; i <= SC_AMF0_MAX_DEPTH; i++) {
		memcpy(buf + n, "\x00\x00\x09", 3);
		n += 3;
	}
	assert_int_equal(sc_amf0_decode_all(buf, n, &v, &nv), -EBADMSG);
	n = 0;
	for (int i = 0; i < 1000; i++) {
		memcpy(buf + n, "\x0a\x00\x00\x00\x01", 5);
		n += 5;
	}
	buf[n++] = SC_AMF0_NULL;
	assert_int_equal(sc_amf0_decode_all(buf, n, &v, &nv), -EBADMSG);
}

static void test_bounds_and_garbage(void **state)
{
	static const struct {
		const char *p;
		size_t n;
	} bad[] = {
		{"\x0a\xff\xff\xff\xff\x05", 6}, /* strict array claiming 4G items */
		{"\x02\x00\x03"
		 "a\0b",
		 6}, /* embedded NUL */
		{"\x03\x00\x02"
		 "a\0\x05\x00\x00\x09",
		 9},				  /* key with NUL */
		{"\x03\x00\x00\x05", 4},	  /* empty key without the end marker */
		{"\x09", 1},			  /* object end at the top */
		{"\x04", 1},			  /* movie clip: reserved */
		{"\x0d", 1},			  /* unsupported */
		{"\x10\x00\x01x\x00\x00\x09", 7}, /* typed object */
		{"\x11\x01", 2},		  /* AMF3 switch */
		{"\x0c\x00\x10\x00\x01"
		 "aaaa",
		 9},				     /* long string over 1 MiB */
		{"\x0c\xff\xff\xff\xff", 5},	     /* long string over the input */
		{"\x08\x00\x00\x00\x00\x00\x00", 7}, /* ECMA array without its end */
	};
	uint8_t *many;
	sc_amf0_value **v = NULL;
	size_t nv;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sc_amf0_decode_all((const uint8_t *)bad[i].p, bad[i].n, &v, &nv),
				 -EBADMSG);
		assert_null(v);
	}
	/* Empty input: no values. */
	assert_int_equal(sc_amf0_decode_all((const uint8_t *)"", 0, &v, &nv), 0);
	assert_int_equal(nv, 0);
	sc_amf0_free_all(v, nv);

	/* More than SC_AMF0_MAX_VALUES values. */
	many = malloc(SC_AMF0_MAX_VALUES + 1);
	memset(many, SC_AMF0_NULL, SC_AMF0_MAX_VALUES + 1);
	v = NULL;
	assert_int_equal(sc_amf0_decode_all(many, SC_AMF0_MAX_VALUES + 1, &v, &nv), -EBADMSG);
	assert_null(v);
	assert_int_equal(sc_amf0_decode_all(many, SC_AMF0_MAX_VALUES, &v, &nv), 0);
	assert_int_equal(nv, SC_AMF0_MAX_VALUES);
	sc_amf0_free_all(v, nv);
	free(many);
}

static void test_writer_bounded(void **state)
{
	sc_buf b;

	sc_buf_init(&b, 8);
	assert_int_equal(sc_amf0_put_string(&b, "abcdefghij"), -ENOBUFS);
	assert_int_equal(b.len, 0);
	assert_int_equal(sc_amf0_put_number(&b, 1), -ENOBUFS);
	assert_int_equal(b.len, 0);
	assert_int_equal(sc_amf0_put_prop_string(&b, "ab", "c"), 0);
	assert_int_equal(b.len, 8);
	sc_buf_free(&b);
	sc_amf0_free(NULL);
	sc_amf0_free_all(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_writers_round_trip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_depth_bomb),
		cmocka_unit_test(test_bounds_and_garbage),
		cmocka_unit_test(test_writer_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
