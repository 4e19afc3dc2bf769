/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for relay/media.c: classification, refcounts, the wire form. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "media.h"
#include "rtmp_chunk.h"

static sc_media *mk(uint8_t type, const char *p, size_t n)
{
	sc_media *m = sc_media_new(type, 1234, (const uint8_t *)p, n);

	assert_non_null(m);
	assert_int_equal(m->refs, 1);
	assert_int_equal(m->ts, 1234);
	assert_int_equal(m->len, n);
	if (n)
		assert_memory_equal(m->data, p, n);
	return m;
}

static void test_video(void **state)
{
	static const struct {
		const char *p;
		size_t n;
		unsigned flags;
		int32_t cts;
	} cases[] = {
		/* AVC sequence header on a key frame */
		{"\x17\x00\x00\x00\x00\x01\x64", 7,
		 SC_MEDIA_KEYFRAME | SC_MEDIA_H264 | SC_MEDIA_SEQHDR, 0},
		/* key frame NALUs, composition time 80 */
		{"\x17\x01\x00\x00\x50\x00\x00", 7, SC_MEDIA_KEYFRAME | SC_MEDIA_H264, 80},
		/* inter frame, composition time -40 */
		{"\x27\x01\xff\xff\xd8\x00", 6, SC_MEDIA_H264, -40},
		/* largest positive and negative 24-bit values */
		{"\x27\x01\x7f\xff\xff", 5, SC_MEDIA_H264, 0x7fffff},
		{"\x27\x01\x80\x00\x00", 5, SC_MEDIA_H264, -0x800000},
		/* AVC end of sequence */
		{"\x17\x02\x00\x00\x00", 5, SC_MEDIA_KEYFRAME | SC_MEDIA_H264, 0},
		/* too short for a composition time */
		{"\x27\x01\x00", 3, SC_MEDIA_H264, 0},
		{"\x17", 1, SC_MEDIA_KEYFRAME | SC_MEDIA_H264, 0},
		/* VP6 key frame: not H.264, no cts read */
		{"\x14\x00\x00\x00\x50", 5, SC_MEDIA_KEYFRAME, 0},
		/* Sorenson inter frame */
		{"\x22\x00", 2, 0, 0},
		{"", 0, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sc_media *m = mk(SC_RTMP_MSG_VIDEO, cases[i].p, cases[i].n);

		assert_int_equal(m->flags, cases[i].flags);
		assert_int_equal(m->cts, cases[i].cts);
		assert_true(sc_media_is_video(m));
		assert_false(sc_media_is_audio(m));
		sc_media_unref(m);
	}
}

static void test_audio(void **state)
{
	static const struct {
		const char *p;
		size_t n;
		unsigned flags;
	} cases[] = {
		{"\xaf\x00\x11\x90", 4, SC_MEDIA_KEYFRAME | SC_MEDIA_AAC | SC_MEDIA_SEQHDR},
		{"\xaf\x01\x21\x00", 4, SC_MEDIA_KEYFRAME | SC_MEDIA_AAC},
		{"\xaf", 1, SC_MEDIA_KEYFRAME | SC_MEDIA_AAC},
		{"\x2f\x00\xff", 3, SC_MEDIA_KEYFRAME}, /* MP3 */
		{"", 0, SC_MEDIA_KEYFRAME},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sc_media *m = mk(SC_RTMP_MSG_AUDIO, cases[i].p, cases[i].n);

		assert_int_equal(m->flags, cases[i].flags);
		assert_int_equal(m->cts, 0);
		assert_true(sc_media_is_audio(m));
		sc_media_unref(m);
	}
}

static void test_data(void **state)
{
	sc_media *m = mk(SC_RTMP_MSG_DATA_AMF0, "\x17\x00\x02", 3);

	assert_int_equal(m->flags, 0);
	sc_media_unref(m);
}

static void test_arrival_and_refs(void **state)
{
	struct timespec ts;
	uint64_t before, after;
	sc_media *m;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	before = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	m = mk(SC_RTMP_MSG_AUDIO, "\xaf\x01", 2);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	after = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	assert_true(m->arrival_us >= before && m->arrival_us <= after);

	assert_ptr_equal(sc_media_ref(m), m);
	assert_int_equal(m->refs, 2);
	sc_media_unref(m);
	assert_int_equal(m->refs, 1);
	sc_media_unref(m); /* freed; ASan checks */
	assert_null(sc_media_ref(NULL));
	sc_media_unref(NULL);
}

typedef struct {
	int n;
	sc_rtmp_msg last;
	uint8_t *data;
} one_msg;

static int grab(void *ud, const sc_rtmp_msg *msg)
{
	one_msg *o = ud;

	o->n++;
	o->last = *msg;
	free(o->data);
	o->data = malloc(msg->len + 1);
	memcpy(o->data, msg->payload, msg->len);
	return 0;
}

static void check_wire(uint8_t type, uint32_t ts, size_t len, uint32_t csid)
{
	uint8_t *p = malloc(len);
	const uint8_t *w, *w2;
	size_t wl, wl2;
	one_msg o = {0};
	sc_rtmp_chunk_reader *r;
	sc_buf b;
	sc_media *m;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	p[0] = 0x17;
	m = sc_media_new(type, ts, p, len);
	assert_non_null(m);
	assert_int_equal(sc_media_wire(m, &w, &wl), 0);
	assert_int_equal(wl, sc_rtmp_chunk_wire_size(SC_PLAY_CHUNK_SIZE, csid, ts, len));
	/* Cached. */
	assert_int_equal(sc_media_wire(m, &w2, &wl2), 0);
	assert_ptr_equal(w, w2);
	assert_int_equal(wl, wl2);

	/* A reader at the play chunk size gets the message back. */
	r = sc_rtmp_chunk_reader_new(1 << 20, grab, &o);
	sc_buf_init(&b, 64);
	sc_rtmp_write_set_chunk_size(&b, SC_PLAY_CHUNK_SIZE);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, w, wl), 0);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.last.csid, csid);
	assert_int_equal(o.last.msid, 1);
	assert_int_equal(o.last.type, type);
	assert_int_equal(o.last.timestamp, ts);
	assert_int_equal(o.last.len, len);
	assert_memory_equal(o.data, p, len);

	free(o.data);
	sc_buf_free(&b);
	sc_rtmp_chunk_reader_free(r);
	sc_media_unref(m); /* frees the wire form too */
	free(p);
}

static void test_wire(void **state)
{
	check_wire(SC_RTMP_MSG_VIDEO, 40, 10000, SC_RTMP_CSID_VIDEO);
	check_wire(SC_RTMP_MSG_AUDIO, 0x1000000, 300, SC_RTMP_CSID_AUDIO);
	check_wire(SC_RTMP_MSG_DATA_AMF0, 0, 4096, SC_RTMP_CSID_DATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_video), cmocka_unit_test(test_audio),
		cmocka_unit_test(test_data),  cmocka_unit_test(test_arrival_and_refs),
		cmocka_unit_test(test_wire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
