/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for relay/rtmp_chunk.c: the chunk stream reader and writer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtmp_chunk.h"

#define MAX_MSG (8u << 20)

typedef struct {
	uint32_t csid, msid, ts;
	uint8_t type;
	uint8_t *data;
	size_t len;
} got_msg;

typedef struct {
	got_msg m[128];
	size_t n;
	int fail_with; /* callback result */
} collector;

static int collect(void *ud, const sc_rtmp_msg *msg)
{
	collector *c = ud;
	got_msg *g;

	assert_true(c->n < 128);
	g = &c->m[c->n++];
	g->csid = msg->csid;
	g->msid = msg->msid;
	g->ts = msg->timestamp;
	g->type = msg->type;
	g->len = msg->len;
	g->data = malloc(msg->len ? msg->len : 1);
	assert_non_null(g->data);
	if (msg->len)
		memcpy(g->data, msg->payload, msg->len);
	return c->fail_with;
}

static void collector_clear(collector *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->m[i].data);
	memset(c, 0, sizeof(*c));
}

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
	return p;
}

static void check_msg(const got_msg *g, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts,
		      const uint8_t *data, size_t len)
{
	assert_int_equal(g->csid, csid);
	assert_int_equal(g->type, type);
	assert_int_equal(g->msid, msid);
	assert_int_equal(g->ts, ts);
	assert_int_equal(g->len, len);
	if (len)
		assert_memory_equal(g->data, data, len);
}

/* Feed b in pieces of at most step bytes (0: all at once). */
static int feed_steps(sc_rtmp_chunk_reader *r, const uint8_t *b, size_t n, size_t step)
{
	size_t off = 0;

	if (step == 0)
		return sc_rtmp_chunk_reader_feed(r, b, n);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		int ret = sc_rtmp_chunk_reader_feed(r, b + off, k);

		if (ret < 0)
			return ret;
		off += k;
	}
	return 0;
}

static void test_roundtrip_chunk_sizes(void **state)
{
	static const uint32_t sizes[] = {1, 2, 127, 128, 129, 4096, 60000};
	static const size_t lens[] = {0, 1, 127, 128, 129, 300, 70000};
	static const uint32_t csids[] = {3, 4, 63, 64, 319, 320, 65599};
	static const uint32_t stamps[] = {0, 40, 0xFFFFFE, 0xFFFFFF, 0x1000000, 0xFFFFFFFF, 7};

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		collector c = {0};
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
		uint8_t *pay[7];
		sc_buf b;

		assert_non_null(r);
		sc_buf_init(&b, 64u << 20);
		assert_int_equal(sc_rtmp_write_set_chunk_size(&b, sizes[s]), 0);
		for (size_t i = 0; i < 7; i++) {
			size_t before = b.len;

			pay[i] = pattern(lens[i], (unsigned)i);
			assert_int_equal(sc_rtmp_chunk_write(&b, sizes[s], csids[i], 9, 1,
							     stamps[i], pay[i], lens[i]),
					 0);
			assert_int_equal(
				b.len - before,
				sc_rtmp_chunk_wire_size(sizes[s], csids[i], stamps[i], lens[i]));
		}
		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
		assert_int_equal(sc_rtmp_chunk_reader_chunk_size(r), sizes[s]);
		assert_int_equal(c.n, 7);
		for (size_t i = 0; i < 7; i++)
			check_msg(&c.m[i], csids[i], 9, 1, stamps[i], pay[i], lens[i]);
		/* Again, in pieces of 1 and 1000 bytes. */
		for (size_t step = 1; step <= 1000; step += 999) {
			collector_clear(&c);
			sc_rtmp_chunk_reader_free(r);
			r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
			assert_int_equal(feed_steps(r, b.data, b.len, step), 0);
			assert_int_equal(c.n, 7);
			for (size_t i = 0; i < 7; i++)
				check_msg(&c.m[i], csids[i], 9, 1, stamps[i], pay[i], lens[i]);
		}
		for (size_t i = 0; i < 7; i++)
			free(pay[i]);
		collector_clear(&c);
		sc_rtmp_chunk_reader_free(r);
		sc_buf_free(&b);
	}
}

/* A command, an audio frame and a video frame with an extended timestamp. */
static void build_stream(sc_buf *b, uint8_t **pay, size_t *lens)
{
	lens[0] = 300;
	lens[1] = 20;
	lens[2] = 260;
	for (int i = 0; i < 3; i++)
		pay[i] = pattern(lens[i], 100 + (unsigned)i);
	sc_buf_init(b, 1 << 20);
	assert_int_equal(sc_rtmp_chunk_write(b, 128, 3, 20, 0, 0, pay[0], lens[0]), 0);
	assert_int_equal(sc_rtmp_chunk_write(b, 128, 4, 8, 1, 1000, pay[1], lens[1]), 0);
	assert_int_equal(sc_rtmp_chunk_write(b, 128, 6, 9, 1, 0x1234567, pay[2], lens[2]), 0);
}

static void test_split_everywhere(void **state)
{
	uint8_t *pay[3];
	size_t lens[3];
	sc_buf b;

	build_stream(&b, pay, lens);
	for (size_t split = 0; split <= b.len; split++) {
		collector c = {0};
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);

		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, split), 0);
		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data + split, b.len - split), 0);
		assert_int_equal(c.n, 3);
		check_msg(&c.m[0], 3, 20, 0, 0, pay[0], lens[0]);
		check_msg(&c.m[1], 4, 8, 1, 1000, pay[1], lens[1]);
		check_msg(&c.m[2], 6, 9, 1, 0x1234567, pay[2], lens[2]);
		collector_clear(&c);
		sc_rtmp_chunk_reader_free(r);
	}
	for (int i = 0; i < 3; i++)
		free(pay[i]);
	sc_buf_free(&b);
}

/* Hand-made chunks: appends a basic header and message header. */
static void put_hdr(sc_buf *b, unsigned fmt, uint32_t csid, uint32_t ts_field, uint32_t len,
		    uint8_t type, uint32_t msid)
{
	assert_true(csid >= 2 && csid < 64);
	sc_buf_append_u8(b, (uint8_t)(fmt << 6 | csid));
	if (fmt <= 2)
		sc_buf_append_be24(b, ts_field);
	if (fmt <= 1) {
		sc_buf_append_be24(b, len);
		sc_buf_append_u8(b, type);
	}
	if (fmt == 0)
		sc_buf_append_le32(b, msid);
}

static void run_all_ways(const sc_buf *b, collector *c, size_t expect_n)
{
	for (size_t step = 0; step <= 3; step++) {
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, c);

		collector_clear(c);
		assert_int_equal(feed_steps(r, b->data, b->len, step), 0);
		assert_int_equal(c->n, expect_n);
		sc_rtmp_chunk_reader_free(r);
	}
}

static void test_header_compression(void **state)
{
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 4096);
	put_hdr(&b, 0, 4, 1000, 3, 8, 1);
	sc_buf_append(&b, "abc", 3);
	put_hdr(&b, 1, 4, 20, 2, 8, 0); /* delta 20, new length */
	sc_buf_append(&b, "de", 2);
	put_hdr(&b, 2, 4, 23, 0, 0, 0); /* delta 23 */
	sc_buf_append(&b, "fg", 2);
	put_hdr(&b, 3, 4, 0, 0, 0, 0); /* same delta again */
	sc_buf_append(&b, "hi", 2);
	put_hdr(&b, 3, 4, 0, 0, 0, 0);
	sc_buf_append(&b, "jk", 2);
	/* fmt 3 right after fmt 0: the delta is the fmt 0 timestamp */
	put_hdr(&b, 0, 5, 40, 1, 18, 1);
	sc_buf_append(&b, "x", 1);
	put_hdr(&b, 3, 5, 0, 0, 0, 0);
	sc_buf_append(&b, "y", 1);
	/* fmt 1 may change the type */
	put_hdr(&b, 1, 4, 1, 1, 9, 0);
	sc_buf_append(&b, "z", 1);

	run_all_ways(&b, &c, 8);
	check_msg(&c.m[0], 4, 8, 1, 1000, (const uint8_t *)"abc", 3);
	check_msg(&c.m[1], 4, 8, 1, 1020, (const uint8_t *)"de", 2);
	check_msg(&c.m[2], 4, 8, 1, 1043, (const uint8_t *)"fg", 2);
	check_msg(&c.m[3], 4, 8, 1, 1066, (const uint8_t *)"hi", 2);
	check_msg(&c.m[4], 4, 8, 1, 1089, (const uint8_t *)"jk", 2);
	check_msg(&c.m[5], 5, 18, 1, 40, (const uint8_t *)"x", 1);
	check_msg(&c.m[6], 5, 18, 1, 80, (const uint8_t *)"y", 1);
	check_msg(&c.m[7], 4, 9, 1, 1090, (const uint8_t *)"z", 1);
	collector_clear(&c);
	sc_buf_free(&b);
}

static void test_extended_timestamps(void **state)
{
	uint8_t *pay = pattern(200, 9);
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 4096);
	/* fmt 0, extended, 200 bytes at chunk size 128: the continuation
	 * chunk repeats the extended timestamp. */
	put_hdr(&b, 0, 6, 0xFFFFFF, 200, 9, 1);
	sc_buf_append_be32(&b, 0x12345678);
	sc_buf_append(&b, pay, 128);
	put_hdr(&b, 3, 6, 0, 0, 0, 0);
	sc_buf_append_be32(&b, 0x12345678);
	sc_buf_append(&b, pay + 128, 72);
	/* fmt 3 starting a new message after an extended header: the field
	 * is there too; the delta is the fmt 0 timestamp. */
	put_hdr(&b, 3, 6, 0, 0, 0, 0);
	sc_buf_append_be32(&b, 0x12345678);
	sc_buf_append(&b, pay, 128);
	put_hdr(&b, 3, 6, 0, 0, 0, 0);
	sc_buf_append_be32(&b, 0x12345678);
	sc_buf_append(&b, pay + 128, 72);
	/* fmt 1 with an extended delta */
	put_hdr(&b, 1, 6, 0xFFFFFF, 4, 9, 0);
	sc_buf_append_be32(&b, 0x01000000);
	sc_buf_append(&b, "abcd", 4);
	/* fmt 2 with a small delta: no extended field from now on */
	put_hdr(&b, 2, 6, 5, 0, 0, 0);
	sc_buf_append(&b, "efgh", 4);
	put_hdr(&b, 3, 6, 0, 0, 0, 0);
	sc_buf_append(&b, "ijkl", 4);

	run_all_ways(&b, &c, 5);
	check_msg(&c.m[0], 6, 9, 1, 0x12345678, pay, 200);
	check_msg(&c.m[1], 6, 9, 1, 0x2468ACF0, pay, 200);
	check_msg(&c.m[2], 6, 9, 1, 0x2568ACF0, (const uint8_t *)"abcd", 4);
	check_msg(&c.m[3], 6, 9, 1, 0x2568ACF5, (const uint8_t *)"efgh", 4);
	check_msg(&c.m[4], 6, 9, 1, 0x2568ACFA, (const uint8_t *)"ijkl", 4);
	collector_clear(&c);

	/* The writer repeats the extended field on every chunk. */
	sc_buf_reset(&b);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 6, 9, 1, 0xFFFFFF, pay, 200), 0);
	assert_int_equal(b.len, 12 + 4 + 128 + 1 + 4 + 72);
	assert_memory_equal(b.data + 1, "\xff\xff\xff", 3);
	assert_memory_equal(b.data + 12, "\x00\xff\xff\xff", 4);
	assert_int_equal(b.data[12 + 4 + 128], 0xC6);
	assert_memory_equal(b.data + 12 + 4 + 128 + 1, "\x00\xff\xff\xff", 4);
	run_all_ways(&b, &c, 1);
	check_msg(&c.m[0], 6, 9, 1, 0xFFFFFF, pay, 200);
	collector_clear(&c);
	free(pay);
	sc_buf_free(&b);
}

/* Cut a message written by sc_rtmp_chunk_write (csid < 64, no extended
 * timestamp, chunk size 128) into its chunks. */
static size_t cut_chunks(const sc_buf *w, const uint8_t **ch, size_t *chl, size_t max)
{
	size_t off = 0, n = 0;

	while (off < w->len) {
		size_t hl = n == 0 ? 12 : 1;
		size_t pl = w->len - off - hl < 128 ? w->len - off - hl : 128;

		assert_true(n < max);
		ch[n] = w->data + off;
		chl[n++] = hl + pl;
		off += hl + pl;
	}
	return n;
}

static void test_interleaved(void **state)
{
	uint8_t *a = pattern(500, 1), *v = pattern(700, 2);
	const uint8_t *ach[8], *vch[8];
	size_t achl[8], vchl[8], na, nv;
	collector c = {0};
	sc_buf wa, wv, b;

	sc_buf_init(&wa, 4096);
	sc_buf_init(&wv, 4096);
	sc_buf_init(&b, 8192);
	assert_int_equal(sc_rtmp_chunk_write(&wa, 128, 4, 8, 1, 100, a, 500), 0);
	assert_int_equal(sc_rtmp_chunk_write(&wv, 128, 6, 9, 1, 90, v, 700), 0);
	na = cut_chunks(&wa, ach, achl, 8);
	nv = cut_chunks(&wv, vch, vchl, 8);
	assert_int_equal(na, 4);
	assert_int_equal(nv, 6);
	for (size_t i = 0; i < 6; i++) {
		if (i < na)
			sc_buf_append(&b, ach[i], achl[i]);
		sc_buf_append(&b, vch[i], vchl[i]);
	}
	run_all_ways(&b, &c, 2);
	check_msg(&c.m[0], 4, 8, 1, 100, a, 500);
	check_msg(&c.m[1], 6, 9, 1, 90, v, 700);
	collector_clear(&c);
	free(a);
	free(v);
	sc_buf_free(&wa);
	sc_buf_free(&wv);
	sc_buf_free(&b);
}

static void test_set_chunk_size_mid_stream(void **state)
{
	uint8_t *p1 = pattern(300, 3), *p2 = pattern(9000, 4);
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 1 << 16);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 6, 9, 1, 0, p1, 300), 0);
	assert_int_equal(sc_rtmp_write_set_chunk_size(&b, 4096), 0);
	assert_int_equal(sc_rtmp_chunk_write(&b, 4096, 6, 9, 1, 33, p2, 9000), 0);
	assert_int_equal(sc_rtmp_write_set_chunk_size(&b, 1), 0);
	assert_int_equal(sc_rtmp_chunk_write(&b, 1, 4, 8, 1, 34, p1, 10), 0);
	run_all_ways(&b, &c, 3);
	check_msg(&c.m[0], 6, 9, 1, 0, p1, 300);
	check_msg(&c.m[1], 6, 9, 1, 33, p2, 9000);
	check_msg(&c.m[2], 4, 8, 1, 34, p1, 10);
	collector_clear(&c);
	free(p1);
	free(p2);
	sc_buf_free(&b);
}

static void test_abort(void **state)
{
	uint8_t *p = pattern(300, 5);
	collector c = {0};
	uint8_t ab[4];
	sc_buf w, b;

	sc_buf_init(&w, 4096);
	sc_buf_init(&b, 4096);
	assert_int_equal(sc_rtmp_chunk_write(&w, 128, 6, 9, 1, 10, p, 300), 0);
	sc_buf_append(&b, w.data, 12 + 128); /* first chunk only */
	sc_wr_be32(ab, 6);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 2, SC_RTMP_MSG_ABORT, 0, 0, ab, 4), 0);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 6, 9, 1, 20, p, 10), 0);
	run_all_ways(&b, &c, 1);
	check_msg(&c.m[0], 6, 9, 1, 20, p, 10);
	collector_clear(&c);
	free(p);
	sc_buf_free(&w);
	sc_buf_free(&b);
}

static void test_oversize_refused(void **state)
{
	collector c = {0};
	sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(1000, collect, &c);
	sc_buf b;

	sc_buf_init(&b, 4096);
	put_hdr(&b, 0, 6, 0, 1001, 9, 1);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
	assert_non_null(strstr(sc_rtmp_chunk_reader_error(r),
			       "message of 1001 bytes over the 1000-byte limit"));
	/* Sticky. */
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, 1), -EPROTO);
	assert_int_equal(c.n, 0);
	sc_rtmp_chunk_reader_free(r);

	/* Exactly at the limit is fine. */
	r = sc_rtmp_chunk_reader_new(1000, collect, &c);
	sc_buf_reset(&b);
	put_hdr(&b, 0, 6, 0, 1000, 9, 1);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
	sc_rtmp_chunk_reader_free(r);

	/* 16 MB declared with the default 8 MB limit. */
	r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
	sc_buf_reset(&b);
	put_hdr(&b, 0, 6, 0, 0xFFFFFF, 9, 1);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
	assert_non_null(strstr(sc_rtmp_chunk_reader_error(r), "over the 8388608-byte limit"));
	sc_rtmp_chunk_reader_free(r);
	sc_buf_free(&b);
}

static void test_bad_chunk_size_refused(void **state)
{
	static const uint32_t bad[] = {0, 0x80000000, 0x1000000, 0xFFFFFFFF};
	collector c = {0};
	uint8_t p[4];
	sc_buf b;

	sc_buf_init(&b, 4096);
	for (size_t i = 0; i < 4; i++) {
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);

		sc_buf_reset(&b);
		sc_wr_be32(p, bad[i]);
		sc_rtmp_chunk_write(&b, 128, 2, SC_RTMP_MSG_SET_CHUNK_SIZE, 0, 0, p, 4);
		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
		assert_int_equal(sc_rtmp_chunk_reader_chunk_size(r), 128);
		sc_rtmp_chunk_reader_free(r);
	}
	/* Too short a Set Chunk Size. */
	{
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);

		sc_buf_reset(&b);
		sc_rtmp_chunk_write(&b, 128, 2, SC_RTMP_MSG_SET_CHUNK_SIZE, 0, 0, p, 3);
		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
		sc_rtmp_chunk_reader_free(r);
	}
	/* The largest one is accepted. */
	{
		sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);

		sc_buf_reset(&b);
		assert_int_equal(sc_rtmp_write_set_chunk_size(&b, 0xFFFFFF), 0);
		assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
		assert_int_equal(sc_rtmp_chunk_reader_chunk_size(r), 0xFFFFFF);
		sc_rtmp_chunk_reader_free(r);
	}
	assert_int_equal(sc_rtmp_write_set_chunk_size(&b, 0), -EINVAL);
	assert_int_equal(c.n, 0);
	sc_buf_free(&b);
}

static void test_csid_forms(void **state)
{
	static const uint32_t ids[] = {2, 63, 64, 319, 320, 65599};
	static const size_t basic[] = {1, 1, 2, 2, 3, 3};
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 4096);
	for (size_t i = 0; i < 6; i++) {
		sc_buf_reset(&b);
		assert_int_equal(
			sc_rtmp_chunk_write(&b, 128, ids[i], 20, 0, 5, (const uint8_t *)"hello", 5),
			0);
		assert_int_equal(b.len, basic[i] + 11 + 5);
		run_all_ways(&b, &c, 1);
		check_msg(&c.m[0], ids[i], 20, 0, 5, (const uint8_t *)"hello", 5);
		collector_clear(&c);
	}
	/* 65599 is 0x01 0xFF 0xFF on the wire. */
	sc_buf_reset(&b);
	sc_rtmp_chunk_write(&b, 128, 65599, 20, 0, 5, (const uint8_t *)"x", 1);
	assert_memory_equal(b.data, "\x01\xff\xff", 3);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 65600, 20, 0, 5, NULL, 0), -EINVAL);
	assert_int_equal(sc_rtmp_chunk_write(&b, 128, 1, 20, 0, 5, NULL, 0), -EINVAL);
	sc_buf_free(&b);
}

static void test_too_many_chunk_streams(void **state)
{
	collector c = {0};
	sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
	sc_buf b;

	sc_buf_init(&b, 1 << 16);
	for (uint32_t i = 0; i < SC_RTMP_MAX_CSIDS; i++)
		sc_rtmp_chunk_write(&b, 128, 100 + i, 9, 1, 0, NULL, 0);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
	assert_int_equal(c.n, SC_RTMP_MAX_CSIDS);
	/* Known ones still work; a new one is refused. */
	sc_buf_reset(&b);
	sc_rtmp_chunk_write(&b, 128, 100, 9, 1, 0, NULL, 0);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), 0);
	sc_buf_reset(&b);
	sc_rtmp_chunk_write(&b, 128, 99, 9, 1, 0, NULL, 0);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
	collector_clear(&c);
	sc_rtmp_chunk_reader_free(r);
	sc_buf_free(&b);
}

static void test_new_header_mid_message(void **state)
{
	collector c = {0};
	sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
	uint8_t *p = pattern(200, 1);
	sc_buf b;

	sc_buf_init(&b, 4096);
	put_hdr(&b, 0, 6, 0, 200, 9, 1);
	sc_buf_append(&b, p, 128);
	put_hdr(&b, 1, 6, 0, 10, 9, 1);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -EPROTO);
	sc_rtmp_chunk_reader_free(r);
	free(p);
	sc_buf_free(&b);
}

static void test_callback_error(void **state)
{
	collector c = {.fail_with = -ECANCELED};
	sc_rtmp_chunk_reader *r = sc_rtmp_chunk_reader_new(MAX_MSG, collect, &c);
	sc_buf b;

	sc_buf_init(&b, 4096);
	sc_rtmp_chunk_write(&b, 128, 3, 20, 0, 0, (const uint8_t *)"a", 1);
	sc_rtmp_chunk_write(&b, 128, 3, 20, 0, 0, (const uint8_t *)"b", 1);
	assert_int_equal(sc_rtmp_chunk_reader_feed(r, b.data, b.len), -ECANCELED);
	assert_int_equal(c.n, 1);
	collector_clear(&c);
	sc_rtmp_chunk_reader_free(r);
	sc_buf_free(&b);
}

static void test_control_writers(void **state)
{
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 4096);
	assert_int_equal(sc_rtmp_write_window_ack_size(&b, 2500000), 0);
	assert_int_equal(sc_rtmp_write_set_peer_bw(&b, 2500000, 2), 0);
	assert_int_equal(sc_rtmp_write_user_control(&b, SC_RTMP_UC_STREAM_BEGIN, 1), 0);
	assert_int_equal(sc_rtmp_write_ack(&b, 123456), 0);
	assert_int_equal(sc_rtmp_write_set_chunk_size(&b, 4096), 0);
	/* Window Ack Size as the spec shows it on the wire. */
	assert_memory_equal(b.data,
			    "\x02\x00\x00\x00\x00\x00\x04\x05\x00\x00\x00\x00\x00\x26\x25\xa0", 16);
	run_all_ways(&b, &c, 4);
	check_msg(&c.m[0], 2, SC_RTMP_MSG_WINDOW_ACK_SIZE, 0, 0,
		  (const uint8_t *)"\x00\x26\x25\xa0", 4);
	check_msg(&c.m[1], 2, SC_RTMP_MSG_SET_PEER_BW, 0, 0,
		  (const uint8_t *)"\x00\x26\x25\xa0\x02", 5);
	check_msg(&c.m[2], 2, SC_RTMP_MSG_USER_CONTROL, 0, 0,
		  (const uint8_t *)"\x00\x00\x00\x00\x00\x01", 6);
	check_msg(&c.m[3], 2, SC_RTMP_MSG_ACK, 0, 0, (const uint8_t *)"\x00\x01\xe2\x40", 4);
	collector_clear(&c);
	sc_buf_free(&b);
}

/* What ffmpeg 5.1 (Lavf59.27.100) sent after the handshake, captured from a
 * real publish to rtmp://127.0.0.1:19350/live/test: "connect", 140 bytes,
 * cut at the default chunk size of 128 (the 0xc3 byte is the type-3 header). */
static const uint8_t ffmpeg_connect[] = "\x03\x00\x00\x00\x00\x00\x8c\x14\x00\x00\x00\x00"
					"\x02\x00\x07\x63\x6f\x6e\x6e\x65\x63\x74\x00\x3f"
					"\xf0\x00\x00\x00\x00\x00\x00\x03\x00\x03\x61\x70"
					"\x70\x02\x00\x04\x6c\x69\x76\x65\x00\x04\x74\x79"
					"\x70\x65\x02\x00\x0a\x6e\x6f\x6e\x70\x72\x69\x76"
					"\x61\x74\x65\x00\x08\x66\x6c\x61\x73\x68\x56\x65"
					"\x72\x02\x00\x24\x46\x4d\x4c\x45\x2f\x33\x2e\x30"
					"\x20\x28\x63\x6f\x6d\x70\x61\x74\x69\x62\x6c\x65"
					"\x3b\x20\x4c\x61\x76\x66\x35\x39\x2e\x32\x37\x2e"
					"\x31\x30\x30\x29\x00\x05\x74\x63\x55\x72\x6c\x02"
					"\x00\x1b\x72\x74\x6d\x70\x3a\x2f\x2f\x31\x32\x37"
					"\x2e\x30\x2e\x30\x2e\x31\x3a\x31\xc3\x39\x33\x35"
					"\x30\x2f\x6c\x69\x76\x65\x00\x00\x09";

static void test_ffmpeg_connect_capture(void **state)
{
	collector c = {0};
	sc_buf b;

	sc_buf_init(&b, 4096);
	sc_buf_append(&b, ffmpeg_connect, sizeof(ffmpeg_connect) - 1);
	run_all_ways(&b, &c, 1);
	assert_int_equal(c.m[0].csid, 3);
	assert_int_equal(c.m[0].type, SC_RTMP_MSG_COMMAND_AMF0);
	assert_int_equal(c.m[0].msid, 0);
	assert_int_equal(c.m[0].ts, 0);
	assert_int_equal(c.m[0].len, 140);
	assert_memory_equal(c.m[0].data,
			    "\x02\x00\x07"
			    "connect",
			    10);
	assert_memory_equal(c.m[0].data + 128, "9350/live\x00\x00\x09", 12);
	collector_clear(&c);
	sc_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_chunk_sizes),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_header_compression),
		cmocka_unit_test(test_extended_timestamps),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_set_chunk_size_mid_stream),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_oversize_refused),
		cmocka_unit_test(test_bad_chunk_size_refused),
		cmocka_unit_test(test_csid_forms),
		cmocka_unit_test(test_too_many_chunk_streams),
		cmocka_unit_test(test_new_header_mid_message),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_control_writers),
		cmocka_unit_test(test_ffmpeg_connect_capture),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
