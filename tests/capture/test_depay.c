/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for capture/depay*.c with RTP payloads written by hand after
 * RFC 7741 (VP8), RFC 6184 (H.264) and RFC 7587 (Opus). Frames are built
 * here (no jitter buffer, no RTP parser): sc_rtp is a plain view.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "depay.h"

#define MAXPKT 16

/* A frame of up to MAXPKT packets given as (pointer, length) pairs. */
typedef struct {
	sc_rtp pkts[MAXPKT];
	sc_jb_frame f;
} frame;

static const sc_jb_frame *mkframe(frame *fr, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_true(n <= MAXPKT);
	memset(fr, 0, sizeof(*fr));
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		fr->pkts[i].payload = va_arg(ap, const uint8_t *);
		fr->pkts[i].payload_len = va_arg(ap, size_t);
		fr->pkts[i].seq = (uint16_t)(1000 + i);
		fr->pkts[i].ts = 90000;
		fr->pkts[i].marker = i + 1 == n;
	}
	va_end(ap);
	fr->f.ts = 90000;
	fr->f.first_seq = 1000;
	fr->f.complete = true;
	fr->f.n = n;
	fr->f.pkts = fr->pkts;
	return &fr->f;
}

#define P(a) (const uint8_t *)(a), (size_t)(sizeof(a) - 1)

/* Runs one frame into a buffer that already holds "xy": checks that the
 * frame is appended, or that nothing changes on error. */
static int run(sc_depay *d, const sc_jb_frame *f, const void *want, size_t want_len, bool *ret_key)
{
	sc_buf out;
	bool key = (bool)0x55;
	int r;

	sc_buf_init(&out, SC_DEPAY_MAX_FRAME + 16);
	assert_int_equal(sc_buf_append(&out, "xy", 2), 0);
	r = sc_depay_frame(d, f, &out, &key);
	if (r == 0) {
		assert_true(out.len >= 2);
		assert_memory_equal(out.data, "xy", 2);
		if (want) {
			assert_int_equal(out.len - 2, want_len);
			assert_memory_equal(out.data + 2, want, want_len);
		}
		assert_true(key == true || key == false);
		if (ret_key)
			*ret_key = key;
	} else {
		assert_int_equal(out.len, 2);
		assert_true(key == (bool)0x55);
	}
	sc_buf_free(&out);
	return r;
}

/* ---- table */

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(sc_depay_find("vp8"), &sc_depay_vp8);
	assert_ptr_equal(sc_depay_find("VP8"), &sc_depay_vp8);
	assert_ptr_equal(sc_depay_find("H264"), &sc_depay_h264);
	assert_ptr_equal(sc_depay_find("opus"), &sc_depay_opus);
	assert_ptr_equal(sc_depay_find("OPUS"), &sc_depay_opus);
	assert_null(sc_depay_find("vp9"));
	assert_null(sc_depay_find("h26"));
	assert_null(sc_depay_find(""));
	assert_null(sc_depay_find(NULL));
	assert_null(sc_depay_new(NULL));
	sc_depay_free(NULL);
	assert_null(sc_depay_name(NULL));

	sc_depay *d = sc_depay_new(&sc_depay_h264);
	assert_non_null(d);
	assert_string_equal(sc_depay_name(d), "h264");
	sc_depay_free(d);
}

static void test_bad_args(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_opus);
	frame fr;
	const sc_jb_frame *f = mkframe(&fr, 1, P("\x78\x01\x02"));
	sc_jb_frame g;
	sc_buf out;
	bool key;

	(void)state;
	sc_buf_init(&out, 1024);
	g = *f;
	g.complete = false;
	assert_int_equal(sc_depay_frame(d, &g, &out, &key), -EINVAL);
	g = *f;
	g.n = 0;
	assert_int_equal(sc_depay_frame(d, &g, &out, &key), -EINVAL);
	assert_int_equal(sc_depay_frame(NULL, f, &out, &key), -EINVAL);
	assert_int_equal(sc_depay_frame(d, f, NULL, &key), -EINVAL);
	assert_int_equal(sc_depay_frame(d, f, &out, NULL), -EINVAL);
	/* the caller's buffer bound is kept */
	sc_buf_free(&out);
	sc_buf_init(&out, 2);
	assert_int_equal(sc_depay_frame(d, f, &out, &key), -ENOBUFS);
	assert_int_equal(out.len, 0);
	sc_buf_free(&out);
	sc_depay_free(d);
}

/* ---- Opus */

static void test_opus(void **state)
{
	sc_depay *d = sc_depay_new(sc_depay_find("opus"));
	frame fr;
	bool key = false;

	(void)state;
	assert_int_equal(
		run(d, mkframe(&fr, 1, P("\x78\x01\x02\x03")), "\x78\x01\x02\x03", 4, &key), 0);
	assert_true(key);
	assert_int_equal(run(d, mkframe(&fr, 1, P("")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 2, P("\x78"), P("\x78")), NULL, 0, NULL), -EBADMSG);
	sc_depay_free(d);
}

/* ---- VP8 */

/* A 40-byte key frame: tag (P=0, version 0, shown, first partition 20
 * bytes), start code, 320x240, then 30 bytes of "partitions". */
static const uint8_t vp8_key[40] = {
	0x90, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 1,	2,  3,	4,
	5,    6,    7,	  8,	9,    10,   11,	  12,	13,   14,   15, 16, 17, 18,
	19,   20,   21,	  22,	23,   24,   25,	  26,	27,   28,   29, 30,
};
/* A 12-byte delta frame: P=1, first partition 5 bytes. */
static const uint8_t vp8_delta[12] = {0xb1, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* Packet i of a frame: descriptor desc (dl bytes, S bit set by caller)
 * then body. */
static size_t vp8_pkt(uint8_t *dst, const uint8_t *desc, size_t dl, const uint8_t *body, size_t n)
{
	memcpy(dst, desc, dl);
	memcpy(dst + dl, body, n);
	return dl + n;
}

static void test_vp8_key_plain(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_vp8);
	uint8_t a[64], b[64], c[64];
	size_t la, lb, lc;
	frame fr;
	bool key = false;

	(void)state;
	la = vp8_pkt(a, (const uint8_t *)"\x10", 1, vp8_key, 15);
	lb = vp8_pkt(b, (const uint8_t *)"\x00", 1, vp8_key + 15, 15);
	lc = vp8_pkt(c, (const uint8_t *)"\x00", 1, vp8_key + 30, 10);
	assert_int_equal(
		run(d, mkframe(&fr, 3, a, la, b, lb, c, lc), vp8_key, sizeof(vp8_key), &key), 0);
	assert_true(key);

	/* the start code split over packets: the header is checked after
	 * joining */
	la = vp8_pkt(a, (const uint8_t *)"\x10", 1, vp8_key, 4);
	lb = vp8_pkt(b, (const uint8_t *)"\x20", 1, vp8_key + 4, 36);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), vp8_key, sizeof(vp8_key), &key), 0);
	assert_true(key);

	/* partition starts (S=1, PID>0) in later packets are fine */
	lb = vp8_pkt(b, (const uint8_t *)"\x11", 1, vp8_key + 4, 36);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), vp8_key, sizeof(vp8_key), &key), 0);
	sc_depay_free(d);
}

static void test_vp8_extensions(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_vp8);
	/* X, I with 15-bit picture id 0x1234, L, T and K */
	static const uint8_t d15s[] = {0x90, 0xf0, 0x92, 0x34, 0x05, 0xe3};
	static const uint8_t d15[] = {0x80, 0xf0, 0x92, 0x34, 0x05, 0xe3};
	/* X, I with 7-bit picture id */
	static const uint8_t d7s[] = {0x90, 0x80, 0x12};
	static const uint8_t d7[] = {0x80, 0x80, 0x12};
	/* X with only K; X with nothing */
	static const uint8_t dks[] = {0x90, 0x10, 0x1f};
	static const uint8_t d0[] = {0x80, 0x00};
	uint8_t a[64], b[64], c[64];
	size_t la, lb, lc;
	frame fr;
	bool key = true;

	(void)state;
	la = vp8_pkt(a, d15s, sizeof(d15s), vp8_delta, 5);
	lb = vp8_pkt(b, d15, sizeof(d15), vp8_delta + 5, 5);
	lc = vp8_pkt(c, d15, sizeof(d15), vp8_delta + 10, 2);
	assert_int_equal(
		run(d, mkframe(&fr, 3, a, la, b, lb, c, lc), vp8_delta, sizeof(vp8_delta), &key),
		0);
	assert_false(key);

	la = vp8_pkt(a, d7s, sizeof(d7s), vp8_key, 20);
	lb = vp8_pkt(b, d7, sizeof(d7), vp8_key + 20, 20);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), vp8_key, sizeof(vp8_key), &key), 0);
	assert_true(key);

	la = vp8_pkt(a, dks, sizeof(dks), vp8_delta, 1);
	lb = vp8_pkt(b, d0, sizeof(d0), vp8_delta + 1, 11);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), vp8_delta, sizeof(vp8_delta), &key),
			 0);
	assert_false(key);

	/* one packet; an empty middle packet is harmless */
	la = vp8_pkt(a, d15s, sizeof(d15s), vp8_delta, sizeof(vp8_delta));
	assert_int_equal(run(d, mkframe(&fr, 1, a, la), vp8_delta, sizeof(vp8_delta), NULL), 0);
	lc = vp8_pkt(c, (const uint8_t *)"\x00", 1, vp8_delta + 1, sizeof(vp8_delta) - 1);
	la = vp8_pkt(a, (const uint8_t *)"\x10", 1, vp8_delta, 1);
	assert_int_equal(run(d, mkframe(&fr, 3, a, la, d0, sizeof(d0), c, lc), vp8_delta,
			     sizeof(vp8_delta), NULL),
			 0);
	sc_depay_free(d);
}

static void test_vp8_bad(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_vp8);
	uint8_t a[64], b[64];
	size_t la, lb;
	frame fr;
	uint8_t k[40];

	(void)state;
	lb = vp8_pkt(b, (const uint8_t *)"\x00", 1, vp8_key + 20, 20);
	/* first packet without S, or with PID != 0 */
	la = vp8_pkt(a, (const uint8_t *)"\x00", 1, vp8_key, 20);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), NULL, 0, NULL), -EBADMSG);
	la = vp8_pkt(a, (const uint8_t *)"\x11", 1, vp8_key, 20);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), NULL, 0, NULL), -EBADMSG);
	/* a second frame start in the middle */
	la = vp8_pkt(a, (const uint8_t *)"\x10", 1, vp8_key, 20);
	lb = vp8_pkt(b, (const uint8_t *)"\x10", 1, vp8_key + 20, 20);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, b, lb), NULL, 0, NULL), -EBADMSG);
	/* descriptors that do not fit */
	lb = vp8_pkt(b, (const uint8_t *)"\x00", 1, vp8_key + 20, 20);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, P("")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x90")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x90\x80")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x90\x80\x81")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x90\x40")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x90\x20")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 2, a, la, P("\x80\xc0\x01")), NULL, 0, NULL),
			 -EBADMSG);
	/* frames too short for their header */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x10\x01\x00")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x10\x00\x00\x00\x9d\x01\x2a\x40\x01\xf0")),
			     NULL, 0, NULL),
			 -EBADMSG);
	/* a delta frame whose first partition is longer than the frame */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x10\x41\x00\x00\x01")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x10\x41\x00\x00\x01\x02")),
			     "\x41\x00\x00\x01\x02", 5, NULL),
			 0);
	/* key frames: start code, width, height, first partition */
	for (int i = 0; i < 4; i++) {
		memcpy(k, vp8_key, sizeof(k));
		if (i == 0)
			k[4] = 0x02;
		else if (i == 1)
			k[6] = 0, k[7] = 0xc0; /* width 0, scaling 3 */
		else if (i == 2)
			k[8] = 0, k[9] = 0;
		else
			k[1] = 0x04; /* first partition 32 > 30 */
		la = vp8_pkt(a, (const uint8_t *)"\x10", 1, k, sizeof(k));
		assert_int_equal(run(d, mkframe(&fr, 1, a, la), NULL, 0, NULL), -EBADMSG);
	}
	sc_depay_free(d);
}

static void test_vp8_too_big(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_vp8);
	size_t chunk = 1u << 20;
	uint8_t *p = calloc(1, chunk + 1), *q = calloc(1, chunk + 1);
	frame fr;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	p[0] = 0x10;
	memcpy(p + 1, vp8_delta, 3);
	/* 4 MB is fine, one byte more is not */
	assert_int_equal(
		run(d, mkframe(&fr, 4, p, chunk + 1, q, chunk + 1, q, chunk + 1, q, chunk + 1),
		    NULL, 0, NULL),
		0);
	assert_int_equal(run(d,
			     mkframe(&fr, 5, p, chunk + 1, q, chunk + 1, q, chunk + 1, q, chunk + 1,
				     q, (size_t)2),
			     NULL, 0, NULL),
			 -EMSGSIZE);
	free(p);
	free(q);
	sc_depay_free(d);
}

/* ---- H.264 */

#define SC   "\x00\x00\x00\x01"
#define SPS  "\x67\x42\xc0\x1e\xda\x02\x80\xbf\xe5"
#define PPS  "\x68\xce\x3c\x80"
#define SPS2 "\x67\x42\xc0\x1f\xaa"
#define PPS2 "\x68\xce\x3c\x81"

static void test_h264_single(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	frame fr;
	bool key = true;

	(void)state;
	assert_int_equal(
		run(d, mkframe(&fr, 1, P("\x41\x9a\x01\x02")), SC "\x41\x9a\x01\x02", 8, &key), 0);
	assert_false(key);
	/* several single NAL packets; an IDR without SPS/PPS known is no key */
	assert_int_equal(
		run(d, mkframe(&fr, 3, P("\x09\xf0"), P("\x06\x05\x01\x80"), P("\x65\x88\x84")),
		    SC "\x09\xf0" SC "\x06\x05\x01\x80" SC "\x65\x88\x84", 21, &key),
		0);
	assert_false(key);
	/* SPS and PPS each alone, then the IDR: key */
	assert_int_equal(run(d, mkframe(&fr, 3, P(SPS), P(PPS), P("\x65\x88\x84")),
			     SC SPS SC PPS SC "\x65\x88\x84", 28, &key),
			 0);
	assert_true(key);
	/* the forbidden bit is passed on; the decoder judges */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\xc1\x01")), SC "\xc1\x01", 6, NULL), 0);
	sc_depay_free(d);
}

static void test_h264_stap_a(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	frame fr;
	bool key = false;

	(void)state;
	assert_int_equal(run(d,
			     mkframe(&fr, 1,
				     P("\x78"
				       "\x00\x09" SPS "\x00\x04" PPS "\x00\x03\x65\x88\x84")),
			     SC SPS SC PPS SC "\x65\x88\x84", 28, &key),
			 0);
	assert_true(key);
	/* STAP-A then a single NAL */
	assert_int_equal(run(d, mkframe(&fr, 2, P("\x78\x00\x02\x09\xf0"), P("\x41\x01")),
			     SC "\x09\xf0" SC "\x41\x01", 12, &key),
			 0);
	assert_false(key);
	/* truncated: size past the end, half a size, zero size, empty */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x09\x67\x42")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x02\x09\xf0\x00")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x00\x00\x02\x09\xf0")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78")), NULL, 0, NULL), -EBADMSG);
	/* aggregation inside aggregation, or type 0 */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x02\x78\x00")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x02\x00\x00")), NULL, 0, NULL),
			 -EBADMSG);
	/* a good STAP-A after a bad packet still fails the frame */
	assert_int_equal(
		run(d, mkframe(&fr, 2, P("\x78\x00\x02\x09\xf0"), P("\x00\x01")), NULL, 0, NULL),
		-EBADMSG);
	sc_depay_free(d);
}

static void test_h264_fu_a(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	frame fr;
	bool key = true;

	(void)state;
	/* An IDR (header 0x65: NRI 3, type 5) in three FU-A packets; no
	 * SPS/PPS yet: passed on as it is, not a key frame. */
	assert_int_equal(run(d,
			     mkframe(&fr, 3, P("\x7c\x85\x88\x84\x01"), P("\x7c\x05\x02\x03"),
				     P("\x7c\x45\x04")),
			     SC "\x65\x88\x84\x01\x02\x03\x04", 11, &key),
			 0);
	assert_false(key);
	/* with NRI 2 in the indicator */
	assert_int_equal(run(d, mkframe(&fr, 2, P("\x5c\x81\xaa"), P("\x5c\x41\xbb")),
			     SC "\x41\xaa\xbb", 7, &key),
			 0);
	/* learn SPS and PPS (not an IDR frame) */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x78\x00\x09" SPS "\x00\x04" PPS)),
			     SC SPS SC PPS, 21, &key),
			 0);
	assert_false(key);
	/* now the same IDR gets them in front */
	assert_int_equal(run(d,
			     mkframe(&fr, 3, P("\x7c\x85\x88\x84\x01"), P("\x7c\x05\x02\x03"),
				     P("\x7c\x45\x04")),
			     SC SPS SC PPS SC "\x65\x88\x84\x01\x02\x03\x04", 32, &key),
			 0);
	assert_true(key);
	/* after an AUD: inserted before the IDR slice, not before the AUD */
	assert_int_equal(run(d, mkframe(&fr, 2, P("\x09\x10"), P("\x65\x01")),
			     SC "\x09\x10" SC SPS SC PPS SC "\x65\x01", 33, &key),
			 0);
	assert_true(key);
	/* in-band PPS only: the stored SPS goes before it */
	assert_int_equal(run(d, mkframe(&fr, 2, P(PPS2), P("\x65\x01")),
			     SC SPS SC PPS2 SC "\x65\x01", 27, &key),
			 0);
	assert_true(key);
	/* in-band SPS only: the latest PPS (PPS2) goes after it */
	assert_int_equal(run(d, mkframe(&fr, 2, P(SPS2), P("\x65\x01")),
			     SC SPS2 SC PPS2 SC "\x65\x01", 23, &key),
			 0);
	assert_true(key);
	/* the SPS came in a FU-A: it is stored too */
	assert_int_equal(run(d, mkframe(&fr, 2, P("\x7c\x87\x42\xc0"), P("\x7c\x47\x1e")),
			     SC "\x67\x42\xc0\x1e", 8, &key),
			 0);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x65\x01")),
			     SC "\x67\x42\xc0\x1e" SC PPS2 SC "\x65\x01", 22, &key),
			 0);
	assert_true(key);
	/* S and E together: tolerated, a whole NAL unit */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c\xc1\x09")), SC "\x61\x09", 6, NULL), 0);
	sc_depay_free(d);
}

static void test_h264_fu_a_bad(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	frame fr;

	(void)state;
	/* the middle is missing and the end too: no E */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c\x85\x88\x84\x01")), NULL, 0, NULL),
			 -EBADMSG);
	assert_int_equal(
		run(d, mkframe(&fr, 2, P("\x7c\x85\x88"), P("\x7c\x05\x02")), NULL, 0, NULL),
		-EBADMSG);
	/* no S at the start of the frame */
	assert_int_equal(
		run(d, mkframe(&fr, 2, P("\x7c\x05\x02\x03"), P("\x7c\x45\x04")), NULL, 0, NULL),
		-EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c\x45\x04")), NULL, 0, NULL), -EBADMSG);
	/* a new start before the end */
	assert_int_equal(
		run(d, mkframe(&fr, 2, P("\x7c\x85\x88"), P("\x7c\x85\x02")), NULL, 0, NULL),
		-EBADMSG);
	/* another packet inside a FU-A */
	assert_int_equal(run(d,
			     mkframe(&fr, 3, P("\x7c\x85\x88"), P("\x41\x01"), P("\x7c\x45\x04")),
			     NULL, 0, NULL),
			 -EBADMSG);
	/* the type changes half way */
	assert_int_equal(
		run(d, mkframe(&fr, 2, P("\x7c\x85\x88"), P("\x7c\x41\x02")), NULL, 0, NULL),
		-EBADMSG);
	/* too short, or an aggregation type inside */
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c\xd8\x01")), NULL, 0, NULL), -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x7c\xc0\x01")), NULL, 0, NULL), -EBADMSG);
	/* unsupported and undefined types */
	static const char *const unsupported[] = {"\x19\x00", "\x1a\x00", "\x1b\x00", "\x1d\x80",
						  "\x00\x00", "\x1e\x00", "\x1f\x00"};
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		assert_int_equal(run(d, mkframe(&fr, 1, (const uint8_t *)unsupported[i], (size_t)2),
				     NULL, 0, NULL),
				 -EBADMSG);
	assert_int_equal(run(d, mkframe(&fr, 1, P("")), NULL, 0, NULL), -EBADMSG);
	sc_depay_free(d);
}

static void test_h264_limits(void **state)
{
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	size_t chunk = 1u << 20;
	uint8_t *a = calloc(1, chunk), *b = calloc(1, chunk), *c = calloc(1, chunk + 16);
	uint8_t big[1100];
	frame fr;
	bool key = false;
	sc_buf out;

	(void)state;
	/* 4 MB in all: start code, header and the FU payloads */
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memcpy(a, "\x7c\x81", 2);
	memcpy(b, "\x7c\x01", 2);
	memcpy(c, "\x7c\x41", 2);
	size_t last = SC_DEPAY_MAX_FRAME - 5 - 3 * (chunk - 2) + 2;
	assert_int_equal(
		run(d, mkframe(&fr, 4, a, chunk, b, chunk, b, chunk, c, last), NULL, 0, NULL), 0);
	assert_int_equal(
		run(d, mkframe(&fr, 4, a, chunk, b, chunk, b, chunk, c, last + 1), NULL, 0, NULL),
		-EMSGSIZE);
	/* a stored parameter set that pushes the frame over the bound */
	assert_int_equal(
		run(d, mkframe(&fr, 1, P("\x78\x00\x09" SPS "\x00\x04" PPS)), NULL, 0, NULL), 0);
	memcpy(a, "\x7c\x85", 2);
	memcpy(b, "\x7c\x05", 2);
	memcpy(c, "\x7c\x45", 2);
	assert_int_equal(
		run(d, mkframe(&fr, 4, a, chunk, b, chunk, b, chunk, c, last), NULL, 0, NULL),
		-EMSGSIZE);
	/* the caller's buffer bound gives -ENOBUFS */
	sc_buf_init(&out, 10);
	assert_int_equal(sc_depay_frame(d, mkframe(&fr, 1, P("\x65\x01\x02")), &out, &key),
			 -ENOBUFS);
	assert_int_equal(out.len, 0);
	sc_buf_free(&out);

	/* an SPS over 1 KB is passed on but not kept, and forgets the old */
	memset(big, 0x11, sizeof(big));
	big[0] = 0x67;
	assert_int_equal(run(d, mkframe(&fr, 1, big, sizeof(big)), NULL, 0, NULL), 0);
	assert_int_equal(run(d, mkframe(&fr, 1, P("\x65\x01")), SC PPS SC "\x65\x01", 14, &key), 0);
	assert_false(key);
	free(a);
	free(b);
	free(c);
	sc_depay_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),	       cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_opus),	       cmocka_unit_test(test_vp8_key_plain),
		cmocka_unit_test(test_vp8_extensions), cmocka_unit_test(test_vp8_bad),
		cmocka_unit_test(test_vp8_too_big),    cmocka_unit_test(test_h264_single),
		cmocka_unit_test(test_h264_stap_a),    cmocka_unit_test(test_h264_fu_a),
		cmocka_unit_test(test_h264_fu_a_bad),  cmocka_unit_test(test_h264_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
