/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/frame.h>
#include <libavutil/log.h>

#include "source.h"
#include "synth.h"

#define T0 1000000000LL /* pts base: 1000 s on the capture clock */

static const uint8_t red[3] = {81, 90, 240}, blue[3] = {41, 240, 110};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void wait_video_frames(sc_source *s, uint64_t video)
{
	sc_source_stats st;
	for (int i = 0; i < 500; i++) {
		sc_source_get_stats(s, &st);
		if (st.video_frames >= video)
			return;
		sleep_ms(10);
	}
	fail_msg("decoder: %llu/%llu video frames", (unsigned long long)st.video_frames,
		 (unsigned long long)video);
}

/* Audio is decoded by sc_source_audio_pull, on the caller's thread. */
static void assert_audio_frames(sc_source *s, uint64_t audio)
{
	sc_source_stats st;
	sc_source_get_stats(s, &st);
	assert_int_equal(st.audio_frames, audio);
}

/* The next frame of syn, a key frame or not, pushed with pts: accepted. */
static void push_frame(sc_source *s, sc_synth *syn, const char *codec, bool key, int64_t pts)
{
	const uint8_t *d;
	size_t len;
	bool is_key;
	assert_int_equal(sc_synth_video(syn, key, &d, &len, &is_key), 0);
	assert_int_equal(is_key, key);
	assert_int_equal(sc_source_push_video(s, codec, d, len, key, pts), 0);
}

static void assert_pixel(const AVFrame *f, const uint8_t want[3])
{
	int x = f->width / 2, y = f->height / 2;
	int got[3] = {f->data[0][y * f->linesize[0] + x],
		      f->data[1][(y / 2) * f->linesize[1] + x / 2],
		      f->data[2][(y / 2) * f->linesize[2] + x / 2]};
	for (int i = 0; i < 3; i++)
		if (abs(got[i] - want[i]) > 8)
			fail_msg("got %d,%d,%d want %d,%d,%d", got[0], got[1], got[2], want[0],
				 want[1], want[2]);
}

/*
 * Ten frames through a source. threaded: whether its video should decode
 * on the source's own thread (large VP8, H.264) or on the caller's, in
 * sc_source_video_at.
 */
static void video_roundtrip(const char *codec, const uint8_t yuv[3], int w, int h, bool threaded)
{
	sc_source *s = sc_source_new("feed1", "Alice");
	assert_non_null(s);
	assert_string_equal(sc_source_id(s), "feed1");
	assert_string_equal(sc_source_display(s), "Alice");
	/* a new source wants a key frame, once */
	assert_true(sc_source_take_keyframe_request(s));
	assert_false(sc_source_take_keyframe_request(s));

	sc_synth *syn = sc_synth_new(codec, w, h, 15, yuv, 0);
	assert_non_null(syn);
	const int n = 10;
	int64_t pts[10];
	for (int i = 0; i < n; i++) {
		pts[i] = T0 + i * 66667;
		push_frame(s, syn, codec, i == 0, pts[i]);
	}
	sc_source_stats st;
	if (threaded) {
		wait_video_frames(s, (uint64_t)n);
	} else {
		sleep_ms(50); /* a decoder thread would have decoded them by now */
		sc_source_get_stats(s, &st);
		assert_int_equal(st.video_frames, 0);
	}

	int64_t age = -1, budget = 1000000;
	assert_null(sc_source_video_at(s, T0 - 1, &budget, &age));
	if (threaded)
		assert_int_equal(budget, 1000000);
	else /* the decoding was charged to the caller's budget */
		assert_true(budget < 1000000 && budget > 0);
	AVFrame *f = sc_source_video_at(s, pts[3], NULL, &age);
	assert_non_null(f);
	assert_int_equal(f->pts, pts[3]);
	assert_int_equal((uintptr_t)f->opaque, 4); /* serials count the pictures from 1 */
	assert_int_equal(age, 0);
	assert_int_equal(f->width, w);
	assert_int_equal(f->height, h);
	assert_pixel(f, yuv);
	av_frame_free(&f);
	f = sc_source_video_at(s, pts[5] + 1000, NULL, &age);
	assert_non_null(f);
	assert_int_equal(f->pts, pts[5]);
	assert_int_equal((uintptr_t)f->opaque, 6);
	assert_int_equal(age, 1000);
	av_frame_free(&f);
	/* long after the last one: the last one, and how stale it is */
	f = sc_source_video_at(s, pts[9] + 3000000, NULL, &age);
	assert_non_null(f);
	assert_int_equal(f->pts, pts[9]);
	assert_int_equal(age, 3000000);
	av_frame_free(&f);

	sc_source_get_stats(s, &st);
	assert_string_equal(st.video_codec, codec);
	assert_int_equal(st.video_frames, n);
	assert_int_equal(st.video_threaded, threaded);
	assert_int_equal(st.width, w);
	assert_int_equal(st.decode_errors, 0);
	assert_int_equal(st.dropped, 0);
	sc_synth_free(syn);
	sc_source_unref(s);
}

static void test_vp8(void **state)
{
	(void)state;
	video_roundtrip("vp8", red, 320, 240, false);
}

/* Larger than 640x480: decoded on the source's thread from the first frame. */
static void test_vp8_large(void **state)
{
	(void)state;
	video_roundtrip("vp8", blue, 1280, 720, true);
}

/* A source that starts small and sends a large key frame moves to its
 * thread there; the pictures go on, in order, without a gap. */
static void test_vp8_grows(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("f", "F");
	sc_synth *small = sc_synth_new("vp8", 320, 180, 15, red, 0);
	sc_synth *large = sc_synth_new("vp8", 1280, 720, 15, blue, 0);
	assert_non_null(small);
	assert_non_null(large);
	int64_t pts = T0;
	for (int i = 0; i < 6; i++, pts += 66667) {
		push_frame(s, i < 3 ? small : large, "vp8", i % 3 == 0, pts);
		if (i == 2) { /* the small ones, decoded here */
			AVFrame *f = sc_source_video_at(s, pts, NULL, NULL);
			assert_non_null(f);
			assert_int_equal(f->width, 320);
			assert_pixel(f, red);
			av_frame_free(&f);
		}
	}
	/* no caller asked for the large ones: their key frame alone started
	 * the thread, which decodes them as they come */
	wait_video_frames(s, 6);
	sc_source_stats st;
	sc_source_get_stats(s, &st);
	assert_true(st.video_threaded);
	assert_int_equal(st.decode_errors, 0);
	assert_int_equal(st.dropped, 0);
	AVFrame *f = sc_source_video_at(s, pts, NULL, NULL);
	assert_non_null(f);
	assert_int_equal(f->width, 1280);
	assert_int_equal((uintptr_t)f->opaque, 6);
	assert_pixel(f, blue);
	av_frame_free(&f);
	sc_synth_free(small);
	sc_synth_free(large);
	sc_source_unref(s);
}

/* A caller whose decoding budget is spent moves the source to its thread,
 * for good, and loses nothing. */
static void test_vp8_budget(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("f", "F");
	sc_synth *syn = sc_synth_new("vp8", 320, 180, 15, red, 0);
	for (int i = 0; i < 5; i++)
		push_frame(s, syn, "vp8", i == 0, T0 + i * 66667);
	int64_t budget = 0;
	/* whatever the thread it starts has decoded by the time it returns */
	AVFrame *f = sc_source_video_at(s, T0 + 4 * 66667, &budget, NULL);
	av_frame_free(&f);
	assert_int_equal(budget, 0);
	wait_video_frames(s, 5);
	sc_source_stats st;
	sc_source_get_stats(s, &st);
	assert_true(st.video_threaded);
	budget = 1000000;
	f = sc_source_video_at(s, T0 + 4 * 66667, &budget, NULL);
	assert_non_null(f);
	assert_int_equal((uintptr_t)f->opaque, 5);
	assert_int_equal(budget, 1000000); /* the thread's work is not the caller's */
	av_frame_free(&f);
	sc_synth_free(syn);
	sc_source_unref(s);
}

static void test_h264(void **state)
{
	(void)state;
	video_roundtrip("h264", blue, 640, 360, true);
}

static void test_keyframe_requests(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("f", "F");
	sc_synth *syn = sc_synth_new("vp8", 160, 120, 15, red, 0);
	const uint8_t *d;
	size_t len;
	bool key;
	assert_true(sc_source_take_keyframe_request(s));
	assert_int_equal(sc_synth_video(syn, true, &d, &len, &key), 0);
	assert_int_equal(sc_synth_video(syn, false, &d, &len, &key), 0);
	/* before any key frame: dropped */
	assert_int_equal(sc_source_push_video(s, "vp8", d, len, false, T0), -ENOSPC);
	/* garbage as a key frame: a decode error asks for a new one */
	uint8_t junk[64];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(sc_source_push_video(s, "vp8", junk, sizeof(junk), true, T0), 0);
	/* decoded by the caller: its header is not a key frame's, so no size */
	assert_null(sc_source_video_at(s, T0, NULL, NULL));
	sc_source_stats st;
	sc_source_get_stats(s, &st);
	assert_true(st.decode_errors >= 1);
	assert_true(sc_source_take_keyframe_request(s));
	assert_true(st.keyframe_requests >= 1);
	/* bad arguments */
	assert_int_equal(sc_source_push_video(s, "vp9", junk, 4, true, T0), -EINVAL);
	assert_int_equal(sc_source_push_audio(s, "pcmu", junk, 4, T0), -EINVAL);
	assert_int_equal(sc_source_push_video(s, "vp8", junk, 0, true, T0), -EINVAL);
	sc_synth_free(syn);
	sc_source_unref(s);
}

/* A frame that fails to decode while a key frame is already queued behind
 * it: that key frame is the recovery, so nothing after it is dropped. */
static void test_error_before_queued_key(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("f", "F");
	sc_synth *syn = sc_synth_new("vp8", 160, 120, 15, red, 0);
	uint8_t junk[64];
	memset(junk, 0x5b, sizeof(junk)); /* bit 0 set: an inter frame */
	push_frame(s, syn, "vp8", true, T0);
	assert_int_equal(sc_source_push_video(s, "vp8", junk, sizeof(junk), false, T0 + 1), 0);
	push_frame(s, syn, "vp8", true, T0 + 2);
	assert_true(sc_source_take_keyframe_request(s)); /* the new source's */
	AVFrame *f = sc_source_video_at(s, T0 + 2, NULL, NULL);
	assert_non_null(f);
	av_frame_free(&f);
	sc_source_stats st;
	sc_source_get_stats(s, &st);
	assert_true(st.decode_errors >= 1);
	assert_int_equal(st.video_frames, 2);
	assert_false(sc_source_take_keyframe_request(s));
	push_frame(s, syn, "vp8", false, T0 + 3); /* not dropped */
	sc_synth_free(syn);
	sc_source_unref(s);
}

/* Amplitude of frequency f in the left channel of n stereo frames. */
static double tone_amp(const float *b, size_t n, double f)
{
	double re = 0, im = 0;
	for (size_t i = 0; i < n; i++) {
		re += b[2 * i] * cos(2 * M_PI * f * (double)i / 48000);
		im += b[2 * i] * sin(2 * M_PI * f * (double)i / 48000);
	}
	return 2 * sqrt(re * re + im * im) / (double)n;
}

static void push_tone(sc_source *s, sc_synth *syn, int packets, int64_t pts0)
{
	for (int i = 0; i < packets; i++) {
		const uint8_t *d;
		size_t len;
		assert_int_equal(sc_synth_audio(syn, &d, &len), 0);
		assert_int_equal(sc_source_push_audio(s, "opus", d, len, pts0 + i * 20000), 0);
	}
}

static void test_opus(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("a", "A");
	sc_synth *syn = sc_synth_new(NULL, 0, 0, 0, NULL, 440);
	assert_non_null(syn);
	push_tone(s, syn, 40, T0); /* 800 ms */

	float *buf = calloc(2 * 48000, sizeof(float));
	/* 100 ms before the first packet: silence, then sound */
	size_t got = sc_source_audio_pull(s, T0 - 100000, buf, 4800);
	assert_int_equal(got, 0);
	assert_audio_frames(s, 40); /* the pull decoded what was queued */
	for (size_t i = 0; i < 9600; i++)
		assert_true(buf[i] == 0);
	/* contiguous pulls of 1024 over 600 ms: all sound, 440 Hz */
	size_t total = 0;
	for (int k = 0; k < 28; k++) {
		int64_t t = T0 + (int64_t)k * 1024 * 1000000 / 48000;
		total += sc_source_audio_pull(s, t, buf + 2 * 1024 * k, 1024);
	}
	assert_int_equal(total, 28 * 1024);
	double a440 = tone_amp(buf + 2 * 2048, 24000, 440);
	double a880 = tone_amp(buf + 2 * 2048, 24000, 880);
	assert_true(a440 > 0.2 && a440 < 0.4);
	assert_true(a880 < 0.02);
	assert_true(sc_source_audio_level(s) > 0.1);
	/* no phase jump at the pull boundaries: a smooth sine */
	for (size_t i = 2049; i < 28 * 1024; i++)
		assert_true(fabsf(buf[2 * i] - buf[2 * i - 2]) < 0.05f);
	/* past the end: silence, and the level decays */
	got = sc_source_audio_pull(s, T0 + 900000, buf, 1024);
	assert_int_equal(got, 0);
	for (int k = 0; k < 100; k++)
		sc_source_audio_pull(s, T0 + 1000000 + k * 21333, buf, 1024);
	assert_true(sc_source_audio_level(s) < 0.01);
	free(buf);
	sc_synth_free(syn);
	sc_source_unref(s);
}

static void test_opus_gap_and_drift(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("a", "A");
	sc_synth *syn = sc_synth_new(NULL, 0, 0, 0, NULL, 440);
	/* 200 ms, a 200 ms gap, 200 ms */
	push_tone(s, syn, 10, T0);
	push_tone(s, syn, 10, T0 + 400000);
	float *buf = calloc(2 * 48000, sizeof(float));
	size_t got = sc_source_audio_pull(s, T0, buf, 28800); /* 600 ms */
	assert_true(got >= 19000 && got <= 19300);
	/* silence in the gap (from ~210 ms to ~400 ms) */
	for (size_t i = 10500; i < 19000; i++)
		assert_true(buf[2 * i] == 0);
	assert_true(fabsf(buf[2 * 20000]) > 0 || fabsf(buf[2 * 20001]) > 0);

	/* a clock 10 ms off each packet is followed (re-anchored), not
	 * stretched: with pulls far from where the samples would have been
	 * queued, the stream still comes out in whole, without overlap */
	sc_source_unref(s);
	s = sc_source_new("b", "B");
	for (int i = 0; i < 10; i++) {
		const uint8_t *d;
		size_t len;
		assert_int_equal(sc_synth_audio(syn, &d, &len), 0);
		/* the sender's clock runs 1 % slow: within tolerance, appended */
		sc_source_push_audio(s, "opus", d, len, T0 + i * 19800);
	}
	got = sc_source_audio_pull(s, T0, buf, 9600);
	assert_true(got >= 9500);
	/* a jump of 100 ms: placed at its pts */
	push_tone(s, syn, 5, T0 + 300000);
	got = sc_source_audio_pull(s, T0 + 200000, buf, 9600);
	assert_true(got >= 4700 && got <= 4900);
	for (size_t i = 0; i < 4700; i++)
		assert_true(buf[2 * i] == 0);
	free(buf);
	sc_synth_free(syn);
	sc_source_unref(s);
}

/*
 * 5 s of a sine, pushed 300 ms ahead of the pulls so that the ring never
 * runs empty and its head goes round the 2 s ring twice. The pulls are the
 * mixer's 1024 frames and a 50.5 ms gap at 1 s shifts the packets' 960
 * frames off the ring's end, so reads and writes both cross it. Every
 * sample comes out, none lost or repeated at a wrap or a pull: a sine's
 * second difference stays about 0.001 here, one sample off makes it 0.017.
 */
static void test_opus_long(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("a", "A");
	sc_synth *syn = sc_synth_new(NULL, 0, 0, 0, NULL, 440);
	float buf[2 * 1024];
	float x1 = 0, x2 = 0; /* the two samples before buf[0] */
	const int64_t gap = T0 + 1000000, gap_us = 50500;
	int64_t next = T0, total = 0, silent = 0;
	for (int k = 0; k < 234; k++) { /* 234 x 1024 frames: 4.99 s */
		int64_t t = T0 + (int64_t)k * 1024 * 1000000 / 48000;
		for (; next < t + 300000; next += 20000) {
			push_tone(s, syn, 1, next);
			if (next == gap)
				next += gap_us;
		}
		size_t got = sc_source_audio_pull(s, t, buf, 1024);
		total += (int64_t)got;
		silent += 1024 - (int64_t)got;
		for (size_t i = 0; i < 1024; i++) {
			float x = buf[2 * i];
			int64_t at = t + (int64_t)i * 1000000 / 48000;
			/* not the decoder's first 10 ms, nor next to the gap */
			if (at >= T0 + 10000 && (at < gap || at > gap + 20000 + gap_us + 10000))
				assert_true(fabsf(x - 2 * x1 + x2) < 0.005f);
			x2 = x1;
			x1 = x;
		}
	}
	/* the gap's 50.5 ms (2424 frames), give or take a frame, is the only silence */
	assert_true(silent >= 2423 && silent <= 2425);
	assert_int_equal(total + silent, 234 * 1024);
	sc_synth_free(syn);
	sc_source_unref(s);
}

static void test_refs(void **state)
{
	(void)state;
	sc_source *s = sc_source_new("x", NULL);
	assert_non_null(s);
	assert_string_equal(sc_source_display(s), "");
	assert_ptr_equal(sc_source_ref(s), s);
	sc_source_unref(s);
	sc_source_unref(s);
	sc_source_unref(NULL);
}

int main(void)
{
	av_log_set_level(AV_LOG_QUIET);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vp8),
		cmocka_unit_test(test_vp8_large),
		cmocka_unit_test(test_vp8_grows),
		cmocka_unit_test(test_vp8_budget),
		cmocka_unit_test(test_h264),
		cmocka_unit_test(test_keyframe_requests),
		cmocka_unit_test(test_error_before_queued_key),
		cmocka_unit_test(test_opus),
		cmocka_unit_test(test_opus_gap_and_drift),
		cmocka_unit_test(test_opus_long),
		cmocka_unit_test(test_refs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
