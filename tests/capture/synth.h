/* SPDX-License-Identifier: Apache-2.0 */
/*
 * synth.h - test media: solid-colour video encoded with libavcodec (VP8
 * with libvpx, H.264 Annex B with libx264) and a sine tone encoded with
 * libopus, as a WebRTC sender would send them. Tests only.
 */
#ifndef SC_TEST_SYNTH_H
#define SC_TEST_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_synth sc_synth;

/* vcodec: "vp8" or "h264" (NULL: no video); yuv: the colour; tone_hz: 0
 * for no audio. NULL on failure. */
sc_synth *sc_synth_new(const char *vcodec, int w, int h, int fps, const uint8_t yuv[3],
		       double tone_hz);
void sc_synth_free(sc_synth *s);

/* From now on, a textured bar moves across the picture (load tests). */
void sc_synth_set_motion(sc_synth *s, bool on);

/* The next video frame, encoded: *data valid until the next call. */
int sc_synth_video(sc_synth *s, bool force_key, const uint8_t **data, size_t *len, bool *key);
/* The next 20 ms of the tone as one Opus packet. */
int sc_synth_audio(sc_synth *s, const uint8_t **data, size_t *len);

#endif
