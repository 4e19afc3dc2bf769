/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "jitterbuf.h"

#define MS 1000ULL
#define T0 (1000000ULL * 1000) /* an arbitrary monotonic start */

static const sc_jitterbuf_config video_cfg = {
	.video = true,
	.clock_rate = 90000,
	.cap = 64,
	.max_wait_ms = 300,
	.nack_delay_ms = 10,
	.nack_retry_ms = 40,
	.nack_max = 3,
};

static const sc_jitterbuf_config audio_cfg = {
	.video = false,
	.clock_rate = 8000,
	.cap = 16,
	.max_wait_ms = 80,
	.nack_delay_ms = 10,
	.nack_retry_ms = 40,
	.nack_max = 3,
};

/* Push a packet whose payload is its low seq byte twice and an extension. */
static int push(sc_jitterbuf *jb, uint16_t seq, uint32_t ts, bool marker, uint64_t now)
{
	uint8_t pl[2] = {(uint8_t)seq, (uint8_t)(seq >> 8)}, ext[4] = {0x10, (uint8_t)seq, 0, 0};
	sc_rtp p;

	memset(&p, 0, sizeof(p));
	p.seq = seq;
	p.ts = ts;
	p.marker = marker;
	p.pt = 96;
	p.ssrc = 0x1234;
	p.ext_profile = 0xbede;
	p.ext = ext;
	p.ext_len = sizeof(ext);
	p.payload = pl;
	p.payload_len = sizeof(pl);
	return sc_jitterbuf_push(jb, &p, now);
}

/* Pop one frame and check it holds seqs first..first+n-1 (mod 65536). */
static void expect_frame(sc_jitterbuf *jb, uint64_t now, uint16_t first, size_t n, uint32_t ts)
{
	sc_jb_frame f;
	size_t i;

	assert_int_equal(sc_jitterbuf_pop(jb, now, &f), 1);
	assert_true(f.complete);
	assert_int_equal(f.n, n);
	assert_int_equal(f.ts, ts);
	assert_int_equal((uint16_t)f.first_seq, first);
	for (i = 0; i < n; i++) {
		uint16_t s = (uint16_t)(first + i);

		assert_int_equal(f.pkts[i].seq, s);
		assert_int_equal(f.pkts[i].payload_len, 2);
		assert_int_equal(f.pkts[i].payload[0], (uint8_t)s);
		assert_int_equal(f.pkts[i].payload[1], (uint8_t)(s >> 8));
		assert_int_equal(f.pkts[i].ext_len, 4);
		assert_int_equal(f.pkts[i].ext[1], (uint8_t)s);
		assert_int_equal(f.pkts[i].marker, i == n - 1);
	}
}

static void expect_none(sc_jitterbuf *jb, uint64_t now)
{
	sc_jb_frame f;

	assert_int_equal(sc_jitterbuf_pop(jb, now, &f), 0);
}

/* Frames of three packets: frame k is seqs 3k..3k+2, ts 3000k. */
static void push_frame(sc_jitterbuf *jb, unsigned k, uint64_t now)
{
	unsigned i;

	for (i = 0; i < 3; i++)
		assert_int_equal(push(jb, (uint16_t)(3 * k + i), 3000 * k, i == 2, now), 0);
}

static void test_in_order(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	sc_jitterbuf_stats st;
	uint16_t nk[8];
	bool pli = true;
	unsigned k;

	(void)state;
	assert_non_null(jb);
	for (k = 0; k < 10; k++) {
		assert_int_equal(push(jb, (uint16_t)(3 * k), 3000 * k, false, T0 + k * 33 * MS), 0);
		expect_none(jb, T0 + k * 33 * MS);
		assert_int_equal(push(jb, (uint16_t)(3 * k + 1), 3000 * k, false, T0 + k * 33 * MS),
				 0);
		expect_none(jb, T0 + k * 33 * MS);
		assert_int_equal(push(jb, (uint16_t)(3 * k + 2), 3000 * k, true, T0 + k * 33 * MS),
				 0);
		expect_frame(jb, T0 + k * 33 * MS, (uint16_t)(3 * k), 3, 3000 * k);
		expect_none(jb, T0 + k * 33 * MS);
	}
	assert_int_equal(sc_jitterbuf_nacks(jb, T0 + 10000 * MS, nk, 8, &pli), 0);
	assert_false(pli);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.received, 30);
	assert_int_equal(st.frames, 10);
	assert_int_equal(st.frames_dropped + st.lost + st.late + st.duplicates + st.overflows, 0);
	sc_jitterbuf_free(jb);
	sc_jitterbuf_free(NULL);
}

static void test_reorder(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);

	(void)state;
	push_frame(jb, 0, T0);
	expect_frame(jb, T0, 0, 3, 0);
	/* Within a frame: 5, 3, 4. */
	assert_int_equal(push(jb, 5, 3000, true, T0 + MS), 0);
	expect_none(jb, T0 + MS);
	assert_int_equal(push(jb, 3, 3000, false, T0 + 2 * MS), 0);
	expect_none(jb, T0 + 2 * MS);
	assert_int_equal(push(jb, 4, 3000, false, T0 + 3 * MS), 0);
	expect_frame(jb, T0 + 3 * MS, 3, 3, 3000);
	/* Across frames: frame 3 whole, then frame 2 in reverse. */
	push_frame(jb, 3, T0 + 4 * MS);
	expect_none(jb, T0 + 4 * MS);
	assert_int_equal(push(jb, 8, 6000, true, T0 + 5 * MS), 0);
	assert_int_equal(push(jb, 7, 6000, false, T0 + 5 * MS), 0);
	expect_none(jb, T0 + 5 * MS);
	assert_int_equal(push(jb, 6, 6000, false, T0 + 6 * MS), 0);
	expect_frame(jb, T0 + 6 * MS, 6, 3, 6000);
	expect_frame(jb, T0 + 6 * MS, 9, 3, 9000);
	expect_none(jb, T0 + 6 * MS);
	sc_jitterbuf_free(jb);
}

static void test_start_reordered(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	sc_jitterbuf_stats st;

	(void)state;
	/* The very first packet to arrive is not the frame's first. */
	assert_int_equal(push(jb, 101, 0, false, T0), 0);
	assert_int_equal(push(jb, 100, 0, false, T0), 0);
	assert_int_equal(push(jb, 102, 0, true, T0), 0);
	expect_frame(jb, T0, 100, 3, 0);
	/* Now the start is fixed: an earlier one is late. */
	assert_int_equal(push(jb, 99, 0, false, T0), 1);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.late, 1);
	sc_jitterbuf_free(jb);
}

static void test_nack_recovered(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	uint64_t t = T0 + 100 * MS;
	sc_jitterbuf_stats st;
	uint16_t nk[8];
	bool pli;

	(void)state;
	push_frame(jb, 0, T0);
	expect_frame(jb, T0, 0, 3, 0);
	assert_int_equal(push(jb, 3, 3000, false, t), 0);
	assert_int_equal(push(jb, 5, 3000, true, t), 0); /* 4 is missing */
	expect_none(jb, t);
	assert_int_equal(sc_jitterbuf_nacks(jb, t, nk, 8, &pli), 0);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 9 * MS, nk, 8, &pli), 0);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 10 * MS, nk, 8, &pli), 1);
	assert_int_equal(nk[0], 4);
	assert_false(pli);
	/* Not again before nack_retry. */
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 30 * MS, nk, 8, &pli), 0);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 50 * MS, nk, 8, &pli), 1);
	assert_int_equal(nk[0], 4);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 89 * MS, nk, 8, &pli), 0);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 90 * MS, nk, 8, &pli), 1);
	/* nack_max (3) reached. */
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 200 * MS, nk, 8, &pli), 0);
	expect_none(jb, t + 200 * MS);
	/* The retransmission arrives in time. */
	assert_int_equal(push(jb, 4, 3000, false, t + 210 * MS), 0);
	expect_frame(jb, t + 210 * MS, 3, 3, 3000);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 400 * MS, nk, 8, &pli), 0);
	assert_false(pli);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.nacks_sent, 3);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.frames, 2);
	sc_jitterbuf_free(jb);
}

static void test_lost_given_up(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	uint64_t t = T0 + 100 * MS;
	sc_jitterbuf_stats st;
	uint16_t nk[8];
	bool pli;

	(void)state;
	push_frame(jb, 0, T0);
	expect_frame(jb, T0, 0, 3, 0);
	assert_int_equal(push(jb, 3, 3000, false, t), 0);
	assert_int_equal(push(jb, 5, 3000, true, t), 0); /* 4 never comes */
	push_frame(jb, 2, t + 33 * MS);
	expect_none(jb, t + 33 * MS);
	expect_none(jb, t + 299 * MS);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 299 * MS, nk, 8, &pli), 1);
	assert_false(pli);
	expect_frame(jb, t + 300 * MS, 6, 3, 6000);
	expect_none(jb, t + 300 * MS);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 300 * MS, nk, 8, &pli), 0);
	assert_true(pli);
	assert_int_equal(sc_jitterbuf_nacks(jb, t + 301 * MS, nk, 8, &pli), 0);
	assert_false(pli); /* reported once */
	/* Too late now. */
	assert_int_equal(push(jb, 4, 3000, false, t + 310 * MS), 1);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.frames_dropped, 1);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.late, 1);
	sc_jitterbuf_free(jb);
}

static void test_lost_marker_skips_to_next_start(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	uint64_t t = T0 + 100 * MS;

	(void)state;
	push_frame(jb, 0, T0);
	expect_frame(jb, T0, 0, 3, 0);
	/* Frame 1 loses 4; frame 2 loses 7; frame 3 whole. */
	assert_int_equal(push(jb, 3, 3000, false, t), 0);
	assert_int_equal(push(jb, 5, 3000, true, t), 0);
	assert_int_equal(push(jb, 6, 6000, false, t), 0);
	assert_int_equal(push(jb, 8, 6000, true, t), 0);
	push_frame(jb, 3, t);
	/* Giving up on 4 drops frames 1 and 2: 3 is the next complete one. */
	expect_frame(jb, t + 300 * MS, 9, 3, 9000);
	expect_none(jb, t + 300 * MS);
	sc_jitterbuf_free(jb);
}

static void test_wraparound(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	sc_rtcp_report rr;
	sc_jb_frame f;

	(void)state;
	assert_int_equal(push(jb, 65533, 100, false, T0), 0);
	assert_int_equal(push(jb, 65535, 100, false, T0), 0);
	assert_int_equal(push(jb, 0, 100, true, T0), 0);
	expect_none(jb, T0);
	assert_int_equal(push(jb, 65534, 100, false, T0), 0);
	assert_int_equal(sc_jitterbuf_pop(jb, T0, &f), 1);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.pkts[0].seq, 65533);
	assert_int_equal(f.pkts[3].seq, 0);
	assert_true(f.first_seq == 65536 + 65533);
	assert_int_equal(push(jb, 2, 200, true, T0), 0);
	assert_int_equal(push(jb, 1, 200, false, T0), 0);
	assert_int_equal(sc_jitterbuf_pop(jb, T0, &f), 1);
	assert_true(f.first_seq == 2 * 65536 + 1);
	assert_int_equal(f.n, 2);
	sc_jitterbuf_report(jb, &rr);
	assert_int_equal(rr.highest_seq, 0x00010002);
	assert_int_equal(rr.cumulative_lost, 0);
	assert_int_equal(rr.ssrc, 0x1234);
	sc_jitterbuf_free(jb);
}

static void test_duplicates_late(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);
	sc_jitterbuf_stats st;

	(void)state;
	assert_int_equal(push(jb, 10, 0, false, T0), 0);
	assert_int_equal(push(jb, 10, 0, false, T0), 1);
	assert_int_equal(push(jb, 11, 0, true, T0), 0);
	expect_frame(jb, T0, 10, 2, 0);
	assert_int_equal(push(jb, 11, 0, true, T0), 1); /* released: late */
	assert_int_equal(push(jb, 13, 3000, true, T0), 0);
	assert_int_equal(push(jb, 13, 3000, true, T0), 1);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.duplicates, 2);
	assert_int_equal(st.late, 1);
	assert_int_equal(st.received, 6);
	sc_jitterbuf_free(jb);
}

static void test_overflow(void **state)
{
	sc_jitterbuf_config cfg = video_cfg;
	sc_jitterbuf_stats st;
	sc_jitterbuf *jb;
	uint16_t nk[8];
	bool pli;
	uint16_t s;

	(void)state;
	cfg.cap = 8;
	jb = sc_jitterbuf_new(&cfg);
	/* Frame A: seqs 0..7 at ts 1000; 7 (its marker) is late. */
	for (s = 0; s < 7; s++)
		assert_int_equal(push(jb, s, 1000, false, T0), 0);
	expect_none(jb, T0);
	/* Frame B starts at 8: 8 packets would span 9, drop the oldest. */
	assert_int_equal(push(jb, 8, 2000, false, T0), 0);
	assert_int_equal(sc_jitterbuf_nacks(jb, T0, nk, 8, &pli), 0);
	assert_true(pli);
	/* A's marker comes: A is incomplete (0 dropped), never released. */
	assert_int_equal(push(jb, 7, 1000, true, T0), 0);
	expect_none(jb, T0);
	assert_int_equal(push(jb, 9, 2000, true, T0), 0);
	expect_frame(jb, T0, 8, 2, 2000);
	expect_none(jb, T0);
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.overflows, 1);
	assert_int_equal(st.frames_dropped, 1);
	assert_int_equal(st.frames, 1);
	sc_jitterbuf_free(jb);
}

static void test_jump(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&video_cfg);

	(void)state;
	assert_int_equal(push(jb, 10, 0, true, T0), 0);
	expect_frame(jb, T0, 10, 1, 0);
	/* One stray far packet is ignored... */
	assert_int_equal(push(jb, 30000, 5, true, T0), 1);
	assert_int_equal(push(jb, 11, 3000, true, T0), 0);
	expect_frame(jb, T0, 11, 1, 3000);
	/* ...two in a row are a new start. */
	assert_int_equal(push(jb, 40000, 7, false, T0), 1);
	assert_int_equal(push(jb, 40001, 7, true, T0), 0);
	expect_frame(jb, T0, 40001, 1, 7);
	assert_int_equal(push(jb, 40002, 8, true, T0), 0);
	expect_frame(jb, T0, 40002, 1, 8);
	sc_jitterbuf_free(jb);
}

static void test_audio(void **state)
{
	sc_jitterbuf *jb = sc_jitterbuf_new(&audio_cfg);
	sc_jitterbuf_stats st;
	sc_rtcp_report rr;
	sc_jb_frame f;
	uint16_t nk[4];
	bool pli;

	(void)state;
	assert_int_equal(push(jb, 0, 0, false, T0), 0);
	assert_int_equal(sc_jitterbuf_pop(jb, T0, &f), 1);
	assert_int_equal(f.n, 1);
	assert_int_equal(push(jb, 1, 160, false, T0 + 20 * MS), 0);
	assert_int_equal(sc_jitterbuf_pop(jb, T0 + 20 * MS, &f), 1);
	assert_int_equal(f.pkts[0].seq, 1);
	assert_true(f.arrival_us == T0 + 20 * MS);
	assert_int_equal(push(jb, 3, 480, false, T0 + 60 * MS), 0);
	expect_none(jb, T0 + 60 * MS);
	assert_int_equal(sc_jitterbuf_nacks(jb, T0 + 70 * MS, nk, 4, &pli), 1);
	assert_int_equal(nk[0], 2);
	expect_none(jb, T0 + 139 * MS);
	assert_int_equal(sc_jitterbuf_pop(jb, T0 + 140 * MS, &f), 1);
	assert_int_equal(f.pkts[0].seq, 3);
	assert_int_equal(sc_jitterbuf_nacks(jb, T0 + 140 * MS, nk, 4, &pli), 0);
	assert_false(pli); /* no key frames in audio */
	sc_jitterbuf_get_stats(jb, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.lost, 1);
	assert_int_equal(st.frames_dropped, 1);
	/* 4 expected, 3 received: 1 lost, fraction 1/4 = 64/256. */
	sc_jitterbuf_report(jb, &rr);
	assert_int_equal(rr.cumulative_lost, 1);
	assert_int_equal(rr.fraction_lost, 64);
	assert_int_equal(rr.highest_seq, 3);
	/* Nothing new since: fraction 0, cumulative unchanged. */
	sc_jitterbuf_report(jb, &rr);
	assert_int_equal(rr.fraction_lost, 0);
	assert_int_equal(rr.cumulative_lost, 1);
	sc_jitterbuf_free(jb);
}

/*
 * RFC 3550 A.8 at 8 kHz (8 units per ms), 20 ms packets (ts step 160):
 *   arrival  0 ms ->    8000 units, ts   0: transit 8000
 *   arrival 20 ms ->    8160,       ts 160: transit 8000, D 0,  J = 0
 *   arrival 45 ms ->    8360,       ts 320: transit 8040, D 40, J = 40/16 = 2.5
 *   arrival 60 ms ->    8480,       ts 480: transit 8000, D 40,
 *                                   J = 2.5 + (40 - 2.5)/16 = 4.84 -> 4
 * (in the integer form: J16 = 40, then 40 + 40 - ((40 + 8) >> 4) = 77; 77 >> 4 = 4).
 */
static void test_jitter(void **state)
{
	static const uint64_t at_ms[] = {0, 20, 45, 60};
	sc_jitterbuf *jb = sc_jitterbuf_new(&audio_cfg);
	sc_jitterbuf_stats st;
	sc_rtcp_report rr;
	sc_jb_frame f;
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		uint64_t now = 1000000 + at_ms[i] * MS;

		assert_int_equal(push(jb, (uint16_t)(500 + i), 160 * i, false, now), 0);
		assert_int_equal(sc_jitterbuf_pop(jb, now, &f), 1);
	}
	sc_jitterbuf_report(jb, &rr);
	assert_int_equal(rr.jitter, 4);
	assert_int_equal(rr.highest_seq, 503);
	assert_int_equal(rr.fraction_lost, 0);
	sc_jitterbuf_get_stats(jb, &st);
	assert_true(st.jitter_ms > 0.49 && st.jitter_ms < 0.51); /* 4 units at 8 kHz */
	sc_jitterbuf_free(jb);
}

static void test_bad_config(void **state)
{
	sc_jitterbuf_config cfg = video_cfg;

	(void)state;
	cfg.cap = 1;
	assert_null(sc_jitterbuf_new(&cfg));
	cfg = video_cfg;
	cfg.clock_rate = 0;
	assert_null(sc_jitterbuf_new(&cfg));
	assert_null(sc_jitterbuf_new(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_start_reordered),
		cmocka_unit_test(test_nack_recovered),
		cmocka_unit_test(test_lost_given_up),
		cmocka_unit_test(test_lost_marker_skips_to_next_start),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_duplicates_late),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_audio),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
