/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

#include "mixer_video.h"

static bool overlap(sc_rect a, sc_rect b)
{
	return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static void check_tiles(const sc_rect *r, int k, int w, int h)
{
	double want = (double)w / h;
	for (int i = 0; i < k; i++) {
		assert_true(r[i].x >= 0 && r[i].y >= 0);
		assert_true(r[i].x + r[i].w <= w && r[i].y + r[i].h <= h);
		assert_true(r[i].w >= 2 && r[i].h >= 2);
		assert_int_equal(r[i].x % 2, 0);
		assert_int_equal(r[i].y % 2, 0);
		assert_int_equal(r[i].w % 2, 0);
		assert_int_equal(r[i].h % 2, 0);
		double got = (double)r[i].w / r[i].h;
		assert_true(got > want * 0.97 && got < want * 1.03);
		for (int j = 0; j < i; j++)
			assert_false(overlap(r[i], r[j]));
	}
}

static void test_grid_layouts(void **state)
{
	(void)state;
	static const int sizes[][2] = {{640, 360}, {1280, 720}, {1920, 1080}};
	sc_rect r[SC_MIXVID_MAX_TILES];
	for (size_t s = 0; s < 3; s++) {
		int w = sizes[s][0], h = sizes[s][1];
		for (size_t n = 1; n <= 9; n++) {
			int k = sc_layout_grid(n, w, h, r);
			assert_int_equal(k, (int)n);
			check_tiles(r, k, w, h);
		}
		/* 1: the whole canvas; 2: side by side; 4: 2x2; 9: 3x3 */
		sc_layout_grid(1, w, h, r);
		assert_int_equal(r[0].w, w);
		assert_int_equal(r[0].h, h);
		sc_layout_grid(2, w, h, r);
		assert_int_equal(r[0].y, r[1].y);
		assert_true(r[0].x < r[1].x);
		assert_int_equal(r[0].w, w / 2);
		sc_layout_grid(4, w, h, r);
		assert_int_equal(r[0].w, w / 2);
		assert_int_equal(r[3].x, w / 2);
		assert_int_equal(r[3].y, h / 2);
		sc_layout_grid(9, w, h, r);
		assert_true(r[8].y > r[5].y && r[5].y > r[2].y);
		assert_int_equal(r[3].x, r[0].x);
	}
	assert_int_equal(sc_layout_grid(0, 640, 360, r), 0);
	assert_int_equal(sc_layout_grid(40, 640, 360, r), SC_MIXVID_MAX_TILES);
	check_tiles(r, SC_MIXVID_MAX_TILES, 640, 360);
}

static void test_speaker_layouts(void **state)
{
	(void)state;
	sc_rect r[SC_MIXVID_MAX_TILES];
	for (size_t n = 1; n <= 9; n++) {
		for (size_t main = 0; main < n; main++) {
			int k = sc_layout_speaker(n, main, 1280, 720, r);
			assert_int_equal(k, (int)n);
			check_tiles(r, k, 1280, 720);
			for (int i = 0; i < k; i++)
				if ((size_t)i != main)
					assert_true(r[main].w > r[i].w);
		}
	}
	assert_true(sc_layout_speaker(3, 3, 1280, 720, r) < 0);
}

static AVFrame *solid(int w, int h, const uint8_t yuv[3])
{
	AVFrame *f = av_frame_alloc();
	assert_non_null(f);
	f->format = AV_PIX_FMT_YUV420P;
	f->width = w;
	f->height = h;
	assert_int_equal(av_frame_get_buffer(f, 0), 0);
	for (int y = 0; y < h; y++)
		memset(f->data[0] + y * f->linesize[0], yuv[0], (size_t)w);
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < h / 2; y++)
			memset(f->data[p] + y * f->linesize[p], yuv[p], (size_t)w / 2);
	return f;
}

/* Y, U, V of the canvas at pixel (x, y). */
static void at(const AVFrame *f, int x, int y, int out[3])
{
	out[0] = f->data[0][y * f->linesize[0] + x];
	out[1] = f->data[1][(y / 2) * f->linesize[1] + x / 2];
	out[2] = f->data[2][(y / 2) * f->linesize[2] + x / 2];
}

static void assert_colour(const AVFrame *f, int x, int y, const uint8_t want[3])
{
	int got[3];
	at(f, x, y, got);
	for (int i = 0; i < 3; i++) {
		if (abs(got[i] - want[i]) > 3)
			fail_msg("pixel (%d,%d): got %d,%d,%d want %d,%d,%d", x, y, got[0], got[1],
				 got[2], want[0], want[1], want[2]);
	}
}

static const uint8_t colours[9][3] = {
	{81, 90, 240},	/* red */
	{41, 240, 110}, /* blue */
	{145, 54, 34},	/* green */
	{210, 16, 146}, /* yellow */
	{170, 166, 16}, /* cyan */
	{106, 202, 222}, {120, 100, 180}, {200, 128, 128}, {90, 150, 100},
};

static void compose_grid(int n, int w, int h)
{
	sc_layout layout = {.kind = SC_LAYOUT_GRID};
	sc_mixvid *v = sc_mixvid_new(w, h, &layout);
	assert_non_null(v);
	AVFrame *canvas = solid(w, h, sc_mixvid_black);
	AVFrame *pics[9];
	sc_mixvid_input in[9];
	for (int i = 0; i < n; i++) {
		/* different sizes and aspects: 16:9, 4:3, 1:1 */
		int pw = i % 3 == 0 ? 320 : i % 3 == 1 ? 240 : 200;
		int ph = i % 3 == 0 ? 180 : 180;
		pics[i] = solid(pw, ph, colours[i]);
		in[i] = (sc_mixvid_input){
			.pic = pics[i], .age_us = 40000, .display = "x", .key = pics[i]};
	}
	assert_int_equal(sc_mixvid_compose(v, in, (size_t)n, 0, canvas), 0);
	sc_rect r[9];
	sc_layout_grid((size_t)n, w, h, r);
	for (int i = 0; i < n; i++) {
		/* the centre of each tile has its colour */
		assert_colour(canvas, r[i].x + r[i].w / 2, r[i].y + r[i].h / 2, colours[i]);
		/* a 4:3 or 1:1 picture is letterboxed: black at the tile's sides */
		if (i % 3)
			assert_colour(canvas, r[i].x + 1, r[i].y + r[i].h / 2, sc_mixvid_black);
	}
	for (int i = 0; i < n; i++)
		av_frame_free(&pics[i]);
	av_frame_free(&canvas);
	sc_mixvid_free(v);
}

static void test_compose_grid(void **state)
{
	(void)state;
	for (int n = 1; n <= 9; n++)
		compose_grid(n, 640, 360);
	compose_grid(4, 1280, 720);
}

static void test_placeholder_and_slate(void **state)
{
	(void)state;
	sc_layout layout = {.kind = SC_LAYOUT_GRID};
	sc_mixvid *v = sc_mixvid_new(640, 360, &layout);
	AVFrame *canvas = solid(640, 360, sc_mixvid_black);
	AVFrame *red = solid(320, 180, colours[0]);
	sc_mixvid_input in[2] = {
		{.pic = red, .age_us = SC_MIXVID_STALE_US + 1, .display = "a", .key = "a"},
		{.pic = NULL, .age_us = 0, .display = "b", .key = "b"},
	};
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	/* stale and missing pictures: placeholder tiles */
	assert_colour(canvas, 160, 180, sc_mixvid_placeholder);
	assert_colour(canvas, 480, 180, sc_mixvid_placeholder);
	in[0].age_us = 0;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, 160, 180, colours[0]);

	/* empty room: a slate, not black, with a light bar in the middle */
	assert_int_equal(sc_mixvid_compose(v, NULL, 0, 0, canvas), 0);
	assert_colour(canvas, 10, 10, sc_mixvid_slate);
	assert_colour(canvas, 320, 180, sc_mixvid_slate_bar);
	assert_true(sc_mixvid_slate[0] > 30 && sc_mixvid_slate[1] > 140);
	sc_mixvid_free(v);

	/* single:NAME: the named one full size, a slate when absent */
	sc_layout single = {.kind = SC_LAYOUT_SINGLE};
	strcpy(single.single, "b");
	v = sc_mixvid_new(640, 360, &single);
	assert_int_equal(sc_mixvid_compose(v, in, 1, 0, canvas), 0);
	assert_colour(canvas, 10, 10, sc_mixvid_slate);
	in[1].pic = red;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, 10, 10, colours[0]);
	assert_colour(canvas, 630, 350, colours[0]);
	assert_ptr_equal(sc_mixvid_speaker(v), "b");
	sc_mixvid_free(v);
	av_frame_free(&red);
	av_frame_free(&canvas);
}

/* Scribbles on the canvas at (x, y), a 4x4 block of colour c. */
static void scribble(AVFrame *f, int x, int y, const uint8_t c[3])
{
	for (int j = 0; j < 4; j++)
		memset(f->data[0] + (y + j) * f->linesize[0] + x, c[0], 4);
	for (int p = 1; p < 3; p++)
		for (int j = 0; j < 2; j++)
			memset(f->data[p] + (y / 2 + j) * f->linesize[p] + x / 2, c[p], 2);
}

static void test_unchanged_tiles_not_redrawn(void **state)
{
	(void)state;
	sc_layout layout = {.kind = SC_LAYOUT_GRID};
	sc_mixvid *v = sc_mixvid_new(640, 360, &layout);
	AVFrame *canvas = solid(640, 360, sc_mixvid_black);
	AVFrame *a = solid(320, 180, colours[0]), *b = solid(320, 180, colours[1]);
	sc_mixvid_input in[2] = {
		{.pic = a, .serial = 1, .display = "a", .key = "a"},
		{.pic = b, .serial = 1, .display = "b", .key = "b"},
	};
	sc_rect r[2];
	sc_layout_grid(2, 640, 360, r);
	int ax = r[0].x + r[0].w / 2, ay = r[0].y + r[0].h / 2;
	int bx = r[1].x + r[1].w / 2, by = r[1].y + r[1].h / 2;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, ax, ay, colours[0]);
	assert_colour(canvas, bx, by, colours[1]);

	/* the same frames again: neither tile is drawn, the marks stay */
	scribble(canvas, ax, ay, colours[4]);
	scribble(canvas, bx, by, colours[4]);
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, ax, ay, colours[4]);
	assert_colour(canvas, bx, by, colours[4]);

	/* a new picture of a (the same buffer, reused): only a's tile is drawn */
	in[0].serial = 2;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, ax, ay, colours[0]);
	assert_colour(canvas, bx, by, colours[4]);

	/* b's picture turns 4:3: its tile is cleared, the sides are black again */
	AVFrame *b43 = solid(240, 180, colours[2]);
	in[1].pic = b43;
	in[1].serial = 2;
	scribble(canvas, r[1].x + 2, by, colours[4]);
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, bx, by, colours[2]);
	assert_colour(canvas, r[1].x + 2, by, sc_mixvid_black);

	/* b goes stale: a placeholder; back to a picture: its sides are black */
	in[1].age_us = SC_MIXVID_STALE_US + 1;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, r[1].x + 2, by, sc_mixvid_placeholder);
	in[1].age_us = 0;
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, canvas), 0);
	assert_colour(canvas, r[1].x + 2, by, sc_mixvid_black);
	assert_colour(canvas, bx, by, colours[2]);

	/* another canvas is drawn whole */
	AVFrame *other = solid(640, 360, colours[4]);
	assert_int_equal(sc_mixvid_compose(v, in, 2, 0, other), 0);
	assert_colour(other, ax, ay, colours[0]);
	assert_colour(other, bx, by, colours[2]);
	assert_colour(other, 2, 2, sc_mixvid_black);

	/* a third participant re-lays the canvas: all drawn again */
	scribble(other, 2, 350, colours[4]); /* left of the third tile, on the bottom row */
	sc_mixvid_input in3[3] = {
		in[0], in[1], {.pic = a, .serial = 1, .display = "c", .key = "c"}};
	assert_int_equal(sc_mixvid_compose(v, in3, 3, 0, other), 0);
	assert_colour(other, 2, 350, sc_mixvid_black);
	av_frame_free(&a);
	av_frame_free(&b);
	av_frame_free(&b43);
	av_frame_free(&other);
	av_frame_free(&canvas);
	sc_mixvid_free(v);
}

static void test_speaker_hysteresis(void **state)
{
	(void)state;
	sc_layout layout = {.kind = SC_LAYOUT_SPEAKER};
	sc_mixvid *v = sc_mixvid_new(640, 360, &layout);
	AVFrame *canvas = solid(640, 360, sc_mixvid_black);
	AVFrame *a = solid(320, 180, colours[0]), *b = solid(320, 180, colours[1]);
	sc_mixvid_input in[2] = {
		{.pic = a, .display = "a", .level = 0.3, .key = "a"},
		{.pic = b, .display = "b", .level = 0.01, .key = "b"},
	};
	int64_t t = 1000000;
	assert_int_equal(sc_mixvid_compose(v, in, 2, t, canvas), 0);
	assert_ptr_equal(sc_mixvid_speaker(v), "a");
	assert_colour(canvas, 320, 100, colours[0]);
	/* b gets loud: no switch before 1.5 s */
	in[0].level = 0.01;
	in[1].level = 0.3;
	for (int i = 0; i <= 14; i++) {
		sc_mixvid_compose(v, in, 2, t + i * 100000, canvas);
		assert_ptr_equal(sc_mixvid_speaker(v), "a");
	}
	/* after 1.5 s of b being the loudest: b */
	sc_mixvid_compose(v, in, 2, t + 1600000, canvas);
	assert_ptr_equal(sc_mixvid_speaker(v), "b");
	assert_colour(canvas, 320, 100, colours[1]);
	/* a speaks for 1 s only: b stays */
	in[0].level = 0.3;
	in[1].level = 0.01;
	sc_mixvid_compose(v, in, 2, t + 2000000, canvas);
	sc_mixvid_compose(v, in, 2, t + 3000000, canvas);
	in[0].level = 0.01;
	sc_mixvid_compose(v, in, 2, t + 3100000, canvas);
	in[0].level = 0.3;
	sc_mixvid_compose(v, in, 2, t + 3200000, canvas);
	assert_ptr_equal(sc_mixvid_speaker(v), "b");
	av_frame_free(&a);
	av_frame_free(&b);
	av_frame_free(&canvas);
	sc_mixvid_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grid_layouts),
		cmocka_unit_test(test_speaker_layouts),
		cmocka_unit_test(test_compose_grid),
		cmocka_unit_test(test_placeholder_and_slate),
		cmocka_unit_test(test_speaker_hysteresis),
		cmocka_unit_test(test_unchanged_tiles_not_redrawn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
