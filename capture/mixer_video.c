/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer_video.c - layouts and composition of the participants' pictures
 * onto the output canvas (YUV420P) with libswscale.
 */
#include "mixer_video.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

/* BT.601 limited range: black, dark grey, dark blue RGB(20,40,110), RGB(200,200,220). */
const uint8_t sc_mixvid_black[3] = {16, 128, 128};
const uint8_t sc_mixvid_placeholder[3] = {60, 128, 128};
const uint8_t sc_mixvid_slate[3] = {52, 162, 114};
const uint8_t sc_mixvid_slate_bar[3] = {190, 137, 127};

/* What a tile of the canvas shows, to skip drawing it again unchanged. */
typedef struct {
	sc_rect cell, fit; /* fit: where the picture is, or the cell */
	const void *key;
	uint64_t serial;
	bool pic; /* false: the placeholder */
} tile_shown;

struct sc_mixvid {
	int w, h;
	sc_layout layout;
	struct SwsContext *sws[SC_MIXVID_MAX_TILES];
	const void *speaker, *candidate;
	int64_t candidate_since;
	bool speaker_valid;

	/* the last composition, valid while canvas_data is the canvas drawn on */
	const uint8_t *canvas_data;
	bool slate; /* the slate is on it; else ntiles tiles */
	int ntiles;
	tile_shown shown[SC_MIXVID_MAX_TILES];
};

static int even(int v)
{
	return v & ~1;
}

sc_rect sc_rect_fit(sc_rect cell, int pw, int ph)
{
	sc_rect r = cell;
	if (pw <= 0 || ph <= 0 || cell.w <= 0 || cell.h <= 0)
		return r;
	/* width-limited or height-limited */
	if ((int64_t)cell.w * ph <= (int64_t)cell.h * pw) {
		r.w = even(cell.w);
		r.h = even((int)((int64_t)cell.w * ph / pw));
	} else {
		r.h = even(cell.h);
		r.w = even((int)((int64_t)cell.h * pw / ph));
	}
	if (r.w < 2)
		r.w = 2;
	if (r.h < 2)
		r.h = 2;
	r.x = even(cell.x + (cell.w - r.w) / 2);
	r.y = even(cell.y + (cell.h - r.h) / 2);
	return r;
}

/* A tile of the canvas's aspect, as wide as possible but <= cw x ch. */
static void tile_size(int w, int h, int cw, int ch, int *ret_w, int *ret_h)
{
	int tw = cw;
	if ((int64_t)ch * w / h < tw)
		tw = (int)((int64_t)ch * w / h);
	tw = even(tw);
	int th = even((int)((int64_t)tw * h / w));
	*ret_w = tw < 2 ? 2 : tw;
	*ret_h = th < 2 ? 2 : th;
}

int sc_layout_grid(size_t n, int w, int h, sc_rect *out)
{
	if (w <= 0 || h <= 0)
		return -EINVAL;
	if (n > SC_MIXVID_MAX_TILES)
		n = SC_MIXVID_MAX_TILES;
	if (!n)
		return 0;
	int best_cols = 1, best_tw = -1;
	for (int cols = 1; cols <= (int)n; cols++) {
		int rows = ((int)n + cols - 1) / cols;
		int tw, th;
		tile_size(w, h, w / cols, h / rows, &tw, &th);
		if (tw >= best_tw) { /* ties: more columns (side by side) */
			best_tw = tw;
			best_cols = cols;
		}
	}
	int cols = best_cols, rows = ((int)n + cols - 1) / cols;
	int tw, th;
	tile_size(w, h, w / cols, h / rows, &tw, &th);
	int y0 = even((h - rows * th) / 2);
	for (size_t i = 0; i < n; i++) {
		int r = (int)i / cols, c = (int)i % cols;
		int in_row = r == rows - 1 ? (int)n - r * cols : cols;
		int x0 = even((w - in_row * tw) / 2);
		out[i] = (sc_rect){x0 + c * tw, y0 + r * th, tw, th};
	}
	return (int)n;
}

int sc_layout_speaker(size_t n, size_t main, int w, int h, sc_rect *out)
{
	if (w <= 0 || h <= 0 || (n && main >= n))
		return -EINVAL;
	if (n > SC_MIXVID_MAX_TILES)
		n = SC_MIXVID_MAX_TILES;
	if (main >= n)
		main = 0;
	if (n <= 1)
		return sc_layout_grid(n, w, h, out);
	int sh = even(h / 4);
	int others = (int)n - 1;
	int tw, th;
	tile_size(w, h, w / others, sh, &tw, &th);
	int x0 = even((w - others * tw) / 2);
	int y = even(h - sh + (sh - th) / 2);
	out[main] = sc_rect_fit((sc_rect){0, 0, w, h - sh}, w, h);
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == main)
			continue;
		out[i] = (sc_rect){x0 + k * tw, y, tw, th};
		k++;
	}
	return (int)n;
}

sc_mixvid *sc_mixvid_new(int w, int h, const sc_layout *layout)
{
	if (w <= 0 || h <= 0 || (w & 1) || (h & 1) || !layout)
		return NULL;
	sc_mixvid *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->w = w;
	v->h = h;
	v->layout = *layout;
	return v;
}

void sc_mixvid_free(sc_mixvid *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < SC_MIXVID_MAX_TILES; i++)
		sws_freeContext(v->sws[i]);
	free(v);
}

const void *sc_mixvid_speaker(const sc_mixvid *v)
{
	return v->speaker_valid ? v->speaker : NULL;
}

static void fill_rect(struct AVFrame *f, sc_rect r, const uint8_t yuv[3])
{
	if (r.x < 0 || r.y < 0 || r.w <= 0 || r.h <= 0 || r.x + r.w > f->width ||
	    r.y + r.h > f->height)
		return;
	for (int y = r.y; y < r.y + r.h; y++)
		memset(f->data[0] + (size_t)y * f->linesize[0] + r.x, yuv[0], (size_t)r.w);
	for (int p = 1; p < 3; p++)
		for (int y = r.y / 2; y < (r.y + r.h) / 2; y++)
			memset(f->data[p] + (size_t)y * f->linesize[p] + r.x / 2, yuv[p],
			       (size_t)r.w / 2);
}

static void draw_slate(sc_mixvid *v, struct AVFrame *canvas)
{
	fill_rect(canvas, (sc_rect){0, 0, v->w, v->h}, sc_mixvid_slate);
	int bw = even(v->w * 3 / 5), bh = even(v->h / 12);
	if (bh < 2)
		bh = 2;
	fill_rect(canvas, (sc_rect){even((v->w - bw) / 2), even((v->h - bh) / 2), bw, bh},
		  sc_mixvid_slate_bar);
}

static bool is_placeholder(const sc_mixvid_input *in)
{
	const struct AVFrame *p = in->pic;
	return !p || in->age_us > SC_MIXVID_STALE_US || p->width <= 0 || p->height <= 0;
}

/* What drawing in into cell puts on the canvas. */
static tile_shown shown_of(sc_rect cell, const sc_mixvid_input *in)
{
	tile_shown t = {.cell = cell, .fit = cell, .key = in->key};
	if (is_placeholder(in))
		return t;
	const struct AVFrame *p = in->pic;
	int64_t pw = p->width, ph = p->height;
	if (p->sample_aspect_ratio.num > 0 && p->sample_aspect_ratio.den > 0) {
		pw *= p->sample_aspect_ratio.num;
		ph *= p->sample_aspect_ratio.den;
	}
	while (pw > 1000000 || ph > 1000000) {
		pw /= 2;
		ph /= 2;
	}
	t.fit = sc_rect_fit(cell, (int)pw, (int)ph);
	t.serial = in->serial;
	t.pic = true;
	return t;
}

static bool same_rect(sc_rect a, sc_rect b)
{
	return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h;
}

static bool same_shown(const tile_shown *a, const tile_shown *b)
{
	return same_rect(a->cell, b->cell) && same_rect(a->fit, b->fit) && a->key == b->key &&
	       a->serial == b->serial && a->pic == b->pic;
}

/*
 * Draws t's picture (in->pic) scaled into t->fit, or a placeholder over the
 * cell. Returns false if it drew the placeholder.
 */
static bool draw_tile(sc_mixvid *v, size_t slot, const tile_shown *t, const sc_mixvid_input *in,
		      struct AVFrame *canvas)
{
	const struct AVFrame *p = in->pic;
	sc_rect r = t->fit;
	if (t->pic)
		v->sws[slot] =
			sws_getCachedContext(v->sws[slot], p->width, p->height, p->format, r.w, r.h,
					     AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
	if (!t->pic || !v->sws[slot]) {
		fill_rect(canvas, t->cell, sc_mixvid_placeholder);
		return false;
	}
	uint8_t *dst[4] = {
		canvas->data[0] + (size_t)r.y * canvas->linesize[0] + r.x,
		canvas->data[1] + (size_t)(r.y / 2) * canvas->linesize[1] + r.x / 2,
		canvas->data[2] + (size_t)(r.y / 2) * canvas->linesize[2] + r.x / 2,
		NULL,
	};
	int dst_ls[4] = {canvas->linesize[0], canvas->linesize[1], canvas->linesize[2], 0};
	sws_scale(v->sws[slot], (const uint8_t *const *)p->data, p->linesize, 0, p->height, dst,
		  dst_ls);
	return true;
}

/* The active speaker: the loudest, once it has been for SC_MIXVID_SWITCH_US. */
static size_t choose_speaker(sc_mixvid *v, const sc_mixvid_input *in, size_t n, int64_t now)
{
	size_t loud = 0, cur = n;
	for (size_t i = 0; i < n; i++) {
		if (in[i].level > in[loud].level)
			loud = i;
		if (v->speaker_valid && in[i].key == v->speaker)
			cur = i;
	}
	if (cur == n) { /* none yet, or the speaker left */
		v->speaker = in[loud].key;
		v->speaker_valid = true;
		v->candidate = NULL;
		return loud;
	}
	if (loud != cur && in[loud].level > 0.003 && in[loud].level > in[cur].level * 1.2) {
		if (v->candidate != in[loud].key) {
			v->candidate = in[loud].key;
			v->candidate_since = now;
		} else if (now - v->candidate_since >= SC_MIXVID_SWITCH_US) {
			v->speaker = in[loud].key;
			v->candidate = NULL;
			return loud;
		}
	} else {
		v->candidate = NULL;
	}
	return cur;
}

/*
 * Draws k tiles, each only if it shows something else than on the last
 * call: most participants send fewer frames than the canvas's rate, and
 * scaling a picture again costs as much as the first time. A different
 * canvas, layout or slate before redraws all of it.
 */
static void draw_tiles(sc_mixvid *v, const sc_rect *rects, const sc_mixvid_input *in, int k,
		       struct AVFrame *canvas)
{
	bool all = v->canvas_data != canvas->data[0] || v->slate || v->ntiles != k;
	for (int i = 0; !all && i < k; i++)
		all = !same_rect(v->shown[i].cell, rects[i]);
	if (all)
		fill_rect(canvas, (sc_rect){0, 0, v->w, v->h}, sc_mixvid_black);
	for (int i = 0; i < k; i++) {
		tile_shown t = shown_of(rects[i], &in[i]);
		if (!all && same_shown(&v->shown[i], &t))
			continue;
		/* a picture placed elsewhere in the cell does not cover the old one */
		if (!all && t.pic && !same_rect(v->shown[i].fit, t.fit))
			fill_rect(canvas, t.cell, sc_mixvid_black);
		if (!draw_tile(v, (size_t)i, &t, &in[i], canvas)) {
			t.pic = false;
			t.fit = t.cell;
		}
		v->shown[i] = t;
	}
	v->canvas_data = canvas->data[0];
	v->slate = false;
	v->ntiles = k;
}

static void show_slate(sc_mixvid *v, struct AVFrame *canvas)
{
	v->speaker_valid = false;
	if (v->canvas_data == canvas->data[0] && v->slate)
		return;
	draw_slate(v, canvas);
	v->canvas_data = canvas->data[0];
	v->slate = true;
	v->ntiles = 0;
}

int sc_mixvid_compose(sc_mixvid *v, const sc_mixvid_input *in, size_t n, int64_t now_us,
		      struct AVFrame *canvas)
{
	if (!v || !canvas || canvas->format != AV_PIX_FMT_YUV420P || canvas->width != v->w ||
	    canvas->height != v->h || (n && !in))
		return -EINVAL;
	if (n > SC_MIXVID_MAX_TILES)
		n = SC_MIXVID_MAX_TILES;
	sc_rect rects[SC_MIXVID_MAX_TILES];
	if (v->layout.kind == SC_LAYOUT_SINGLE) {
		for (size_t i = 0; i < n; i++) {
			if (in[i].display && !strcmp(in[i].display, v->layout.single)) {
				rects[0] = (sc_rect){0, 0, v->w, v->h};
				draw_tiles(v, rects, &in[i], 1, canvas);
				v->speaker = in[i].key;
				v->speaker_valid = true;
				return 0;
			}
		}
		show_slate(v, canvas);
		return 0;
	}
	if (!n) {
		show_slate(v, canvas);
		return 0;
	}
	int k;
	if (v->layout.kind == SC_LAYOUT_SPEAKER)
		k = sc_layout_speaker(n, choose_speaker(v, in, n, now_us), v->w, v->h, rects);
	else
		k = sc_layout_grid(n, v->w, v->h, rects);
	if (k < 0)
		return k;
	draw_tiles(v, rects, in, k, canvas);
	return 0;
}
