/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_track.c - sc_track presentation times: the participant's clock
 * offset shared by its tracks, and a track whose sender reports disagree
 * with its siblings' (an SFU handing a stream to a new publisher).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "source.h"
#include "track.h"

#define NTP_UNIX_S 2208988800ull

static sc_track *opus_track(const char *mid, uint32_t ssrc, sc_source *src, sc_sync *sync)
{
	sc_track_config tc = {.clock = 48000, .pt = 111, .rtx_pt = -1, .ssrc = ssrc};
	snprintf(tc.mid, sizeof(tc.mid), "%s", mid);
	snprintf(tc.kind, sizeof(tc.kind), "audio");
	snprintf(tc.codec, sizeof(tc.codec), "opus");
	char err[64];
	sc_track *t = sc_track_new(&tc, src, sync, err, sizeof(err));
	assert_non_null(t);
	return t;
}

/* An SR saying RTP time rtp_ts was unix_us on the sender's clock. */
static void send_sr(sc_track *t, uint32_t ssrc, uint32_t rtp_ts, uint64_t unix_us, uint64_t now)
{
	uint64_t s = unix_us / 1000000 + NTP_UNIX_S;
	uint64_t frac = ((unix_us % 1000000) << 32) / 1000000;
	sc_rtcp_sr sr = {.ssrc = ssrc, .ntp = (s << 32) | frac, .rtp_ts = rtp_ts};
	sc_track_sr(t, &sr, now);
}

static void send_packet(sc_track *t, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now)
{
	static const uint8_t payload[] = {0xfc, 0xff, 0xfe}; /* an Opus TOC, no matter */
	sc_rtp p = {.pt = 111,
		    .seq = seq,
		    .ts = ts,
		    .ssrc = ssrc,
		    .payload = payload,
		    .payload_len = sizeof(payload)};
	sc_track_rtp(t, &p, now);
}

/* Where the track placed its last frame (CLOCK_MONOTONIC us). */
static int64_t last_pts(sc_track *t, uint64_t arrival)
{
	sc_track_stats st;
	sc_track_get_stats(t, &st);
	return (int64_t)arrival + st.lead_us;
}

/* Arrival jitter as an overloaded machine makes it: the network thread
 * stalls, then takes a burst of packets at once. */
static uint64_t jitter_us(unsigned i)
{
	return (uint64_t)((i * 7919u) % 9u) * 15000; /* 0..120 ms */
}

/*
 * Two tracks of one participant; B's sender reports put it 20 s away from
 * A (a reused stream). A keeps even times (20 ms a frame) however jittery
 * arrivals are, and so does B; before the fix, B's reports dragged the
 * shared offset up and every frame of A that arrived was placed at its
 * arrival time.
 */
static void test_skewed_sibling_keeps_times_smooth(void **state)
{
	(void)state;
	sc_source *src = sc_source_new("p", "p");
	assert_non_null(src);
	sc_sync sync = {0};
	sc_track *a = opus_track("0", 1111, src, &sync);
	sc_track *b = opus_track("1", 2222, src, &sync);

	const uint64_t wall0 = 1700000000000000ull, mono0 = 5000000000ull;
	send_sr(a, 1111, 0, wall0, mono0);
	send_sr(b, 2222, 0, wall0 - 20000000, mono0); /* 20 s off */

	int64_t prev_a = 0, prev_b = 0;
	for (unsigned i = 0; i < 300; i++) {
		uint64_t sent = mono0 + (uint64_t)i * 20000;
		uint64_t arr = sent + 5000 + jitter_us(i);
		send_packet(a, 1111, (uint16_t)i, i * 960, arr);
		int64_t pa = last_pts(a, arr);
		send_packet(b, 2222, (uint16_t)i, i * 960, arr + 100);
		int64_t pb = last_pts(b, arr + 100);
		if (i >= 10) { /* the fastest path has been seen */
			assert_in_range(pa - prev_a, 19000, 21000);
			assert_in_range(pb - prev_b, 19000, 21000);
			/* A is placed by the participant's offset: on time */
			assert_in_range(pa - (int64_t)sent, 0, 6000);
		}
		prev_a = pa;
		prev_b = pb;
	}
	sc_track_free(a);
	sc_track_free(b);
	sc_source_unref(src);
}

/* Tracks that agree share one offset: B's faster path sets A's times. */
static void test_agreeing_tracks_share_offset(void **state)
{
	(void)state;
	sc_source *src = sc_source_new("p", "p");
	sc_sync sync = {0};
	sc_track *a = opus_track("0", 1111, src, &sync);
	sc_track *b = opus_track("1", 2222, src, &sync);
	const uint64_t wall0 = 1700000000000000ull, mono0 = 5000000000ull;
	send_sr(a, 1111, 0, wall0, mono0);
	send_sr(b, 2222, 0, wall0, mono0);
	send_packet(a, 1111, 0, 0, mono0 + 50000); /* A's path: 50 ms */
	send_packet(b, 2222, 0, 0, mono0 + 10000); /* B's path: 10 ms */
	send_packet(a, 1111, 1, 960, mono0 + 20000 + 50000);
	/* on B's path (plus A's creep of 1/1000 of its 40 ms surplus) */
	int64_t want = (int64_t)mono0 + 20000 + 10000;
	assert_in_range(last_pts(a, mono0 + 70000), want, want + 40);
	assert_true(sync.valid);
	int64_t off = (int64_t)mono0 + 10000 - (int64_t)wall0;
	assert_in_range(sync.offset_us, off, off + 40);
	sc_track_free(a);
	sc_track_free(b);
	sc_source_unref(src);
}

/* sc_track_set_sync: later frames follow the new sync, not the old one. */
static void test_set_sync_moves_the_offset(void **state)
{
	(void)state;
	sc_source *src = sc_source_new("p", "p");
	sc_sync old = {0}, moved = {0};
	sc_track *a = opus_track("0", 1111, src, &old);
	const uint64_t wall0 = 1700000000000000ull, mono0 = 5000000000ull;
	send_sr(a, 1111, 0, wall0, mono0);
	send_packet(a, 1111, 0, 0, mono0 + 30000);
	assert_true(old.valid);
	moved = old;
	old = (sc_sync){0}; /* the slot is handed to someone else */
	sc_track_set_sync(a, &moved);
	send_packet(a, 1111, 1, 960, mono0 + 20000 + 10000);
	assert_false(old.valid);
	assert_int_equal(moved.offset_us, (int64_t)mono0 + 10000 - (int64_t)wall0);
	sc_track_free(a);
	sc_source_unref(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skewed_sibling_keeps_times_smooth),
		cmocka_unit_test(test_agreeing_tracks_share_offset),
		cmocka_unit_test(test_set_sync_moves_the_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
