/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer.h - the back end of a capture: every source composed onto one
 * canvas and summed into one sound, encoded (H.264 with libx264, AAC) and
 * published as FLV over RTMP.
 *
 * Two threads of its own: the mixer/encoder thread, clocked by the output
 * frame rate (it never waits for a source: a source without a new picture
 * keeps its last one for a while, then shows a placeholder; an empty room
 * shows a slate), and the output thread, which writes to RTMP and
 * reconnects with backoff when the relay goes away, while the mixer goes on
 * (packets in between are dropped; the first after a reconnect is a key
 * frame). Functions: any thread, except where noted.
 */
#ifndef SC_MIXER_H
#define SC_MIXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source.h"

typedef struct {
	char name[16]; /* "360p15", "720p30", "1080p30" */
	int width, height, fps;
	int video_kbps, audio_kbps;
} sc_profile;

/* 0 or -EINVAL. */
int sc_profile_parse(const char *name, sc_profile *ret);

typedef enum { SC_LAYOUT_GRID, SC_LAYOUT_SPEAKER, SC_LAYOUT_SINGLE } sc_layout_kind;

typedef struct {
	sc_layout_kind kind;
	char single[128]; /* display name for SC_LAYOUT_SINGLE */
} sc_layout;

/* "grid", "speaker", "single:NAME". 0 or -EINVAL. */
int sc_layout_parse(const char *s, sc_layout *ret);

typedef struct {
	sc_profile profile;
	sc_layout layout;
	const char *output_url;	  /* rtmp://HOST/live/NAME?token=... */
	int64_t playout_delay_us; /* how far behind "now" the mixer renders (200 ms) */
} sc_mixer_config;

typedef struct sc_mixer sc_mixer;

/* Starts both threads; the output connects in the background. NULL with
 * a message in err (bad profile, encoder missing). */
sc_mixer *sc_mixer_new(const sc_mixer_config *cfg, char *err, size_t errlen);
/* Flushes the encoder, writes the trailer, closes RTMP, joins threads. */
void sc_mixer_free(sc_mixer *m);

/* Sources join and leave the canvas (re-laid at the next frame). */
int sc_mixer_add_source(sc_mixer *m, sc_source *s);
void sc_mixer_remove_source(sc_mixer *m, sc_source *s);

typedef struct {
	uint64_t frames_out, audio_frames_out;
	double fps_out;	       /* over the last seconds */
	double video_kbps_out; /* bytes handed to RTMP */
	double encode_speed;   /* encoded frame time / wall time spent encoding */
	bool output_connected;
	bool output_refused; /* for good (see sc_output_stats) */
	uint64_t output_reconnects, output_dropped;
	char output_error[256];
	size_t sources;
	char speaker[128];		     /* current active speaker (speaker layout) */
	int64_t started_us, first_packet_us; /* first packet written to RTMP */
} sc_mixer_stats;
void sc_mixer_get_stats(sc_mixer *m, sc_mixer_stats *ret);

#endif
