/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer_video.h - internal to the mixer: layouts (where each participant
 * goes on the canvas) and composition of the pictures onto a YUV420P
 * canvas with libswscale. Mixer thread only; no locking.
 */
#ifndef SC_MIXER_VIDEO_H
#define SC_MIXER_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mixer.h"

struct AVFrame;

#define SC_MIXVID_MAX_TILES 25	    /* more participants than this are not shown */
#define SC_MIXVID_STALE_US  2000000 /* older pictures become a placeholder */
#define SC_MIXVID_SWITCH_US 1500000 /* active speaker hysteresis */

typedef struct {
	int x, y, w, h;
} sc_rect;

/*
 * Tiles for n participants on a w x h canvas; every tile has the canvas's
 * aspect ratio, even coordinates, and none overlap. Grid: the layout of
 * columns and rows that gives the largest tiles, centred. Speaker: tile
 * `main` large on top, the others in a strip below. Returns the number of
 * tiles written (min(n, SC_MIXVID_MAX_TILES)), or a negative errno.
 */
int sc_layout_grid(size_t n, int w, int h, sc_rect *out);
int sc_layout_speaker(size_t n, size_t main, int w, int h, sc_rect *out);
/* The largest rectangle of aspect pw:ph that fits centred in cell. */
sc_rect sc_rect_fit(sc_rect cell, int pw, int ph);

typedef struct {
	const struct AVFrame *pic; /* NULL: nothing decoded yet */
	uint64_t serial;	   /* another picture of this participant: another serial */
	int64_t age_us;		   /* how old pic is */
	const char *display;
	double level;	 /* sc_source_audio_level */
	const void *key; /* identifies the participant across frames */
} sc_mixvid_input;

typedef struct sc_mixvid sc_mixvid;

sc_mixvid *sc_mixvid_new(int w, int h, const sc_layout *layout);
void sc_mixvid_free(sc_mixvid *v);
/*
 * Draws the inputs onto canvas (YUV420P, w x h, writable) at time now_us
 * (used for the speaker hysteresis). 0 or a negative errno. A tile that
 * would show the same picture (same key and serial, same place) as on the
 * previous call is not drawn again if canvas->data[0] is the one drawn on
 * then: the canvas must keep its content between calls. Any other buffer
 * is drawn whole.
 */
int sc_mixvid_compose(sc_mixvid *v, const sc_mixvid_input *in, size_t n, int64_t now_us,
		      struct AVFrame *canvas);
/* The key of the participant shown large (speaker layout), or NULL. */
const void *sc_mixvid_speaker(const sc_mixvid *v);

/* Colours of the canvas, as Y, U, V (BT.601 limited range). */
extern const uint8_t sc_mixvid_black[3], sc_mixvid_placeholder[3], sc_mixvid_slate[3],
	sc_mixvid_slate_bar[3];

#endif
