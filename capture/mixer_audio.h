/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer_audio.h - internal to the mixer: summing participants' audio
 * (48 kHz interleaved stereo float) and a soft limiter that keeps the sum
 * within [-1, 1] without hard clipping. Mixer thread only.
 */
#ifndef SC_MIXER_AUDIO_H
#define SC_MIXER_AUDIO_H

#include <stddef.h>

#define SC_LIMIT_THRESHOLD 0.9f
#define SC_LIMIT_LOOKAHEAD 96 /* frames: 2 ms at 48 kHz, also its delay */

/* acc[i] += in[i] for the n stereo frames (2n floats). */
void sc_mixaud_add(float *acc, const float *in, size_t n);

typedef struct {
	float release;			     /* per-frame recovery */
	float delay[2 * SC_LIMIT_LOOKAHEAD]; /* input frames not yet out */
	float need[SC_LIMIT_LOOKAHEAD];	     /* the gain each of them needs */
	unsigned n_limited;		     /* how many of need[] are below 1 */
	float held[SC_LIMIT_LOOKAHEAD];	     /* window minima, with release */
	double held_sum;
	float last;
	size_t pos;
} sc_limiter;

/* rate: sample rate (48000). */
void sc_limiter_init(sc_limiter *l, int rate);
/*
 * In place on n stereo frames, delayed by SC_LIMIT_LOOKAHEAD - 1 frames: a
 * look-ahead gain limiter. Each frame needs gain min(1, threshold / peak);
 * the gain applied is the mean over the look-ahead of the running minimum
 * of those needs (which recovers slowly, 300 ms), so it is smooth and
 * already low when a loud frame comes out: no overshoot, no flat tops. A
 * tanh knee above the threshold is a safety net: |output| < 1.0 always.
 */
void sc_limiter_run(sc_limiter *l, float *buf, size_t n);

#endif
