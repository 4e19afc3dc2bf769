/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_mux.h - fragmented MP4 (CMAF) writer for the HLS module: checks the
 * codec configurations from the publisher, then collects frames (as
 * references to the stream's messages) into fragments (moof+mdat, fmp4.h),
 * one per flush. Internal to the HLS module. Loop thread only (it holds
 * sc_media references).
 */
#ifndef SC_HLS_MUX_H
#define SC_HLS_MUX_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"
#include "media.h"

enum { SC_HLS_VIDEO = 0, SC_HLS_AUDIO = 1, SC_HLS_TRACKS = 2 };

/* One track's configuration, checked. */
typedef struct {
	int present;
	uint8_t *extradata; /* AVCDecoderConfigurationRecord / AudioSpecificConfig */
	size_t extradata_len;
	int width, height;   /* video */
	int nal_length_size; /* video: 1, 2 or 4 */
	int sample_rate;     /* audio */
	int channels;	     /* audio */
} sc_hls_track_cfg;

/* Parse and check an AVCDecoderConfigurationRecord (with the size of its
 * first SPS) or an AudioSpecificConfig into cfg (extradata copied).
 * 0, -EINVAL (malformed or unsupported, message in err) or -ENOMEM. */
int sc_hls_parse_avcc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err,
		      size_t errlen);
int sc_hls_parse_asc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err, size_t errlen);
void sc_hls_track_cfg_clear(sc_hls_track_cfg *cfg);
/* 1 if both describe the same configuration bytes. */
int sc_hls_track_cfg_same(const sc_hls_track_cfg *a, const sc_hls_track_cfg *b);

/* Checks that an AVCC access unit is a whole number of length-prefixed NAL
 * units. 0 or -EINVAL. */
int sc_hls_check_avcc(const uint8_t *p, size_t len, int nal_length_size);

typedef struct sc_hls_mux sc_hls_mux;

/* Opens a muxer with the present tracks of cfg[SC_HLS_TRACKS] and writes
 * its header: *ret_init is the init segment (ftyp + moov). */
int sc_hls_mux_new(const sc_hls_track_cfg cfg[SC_HLS_TRACKS], sc_hls_mux **ret, sc_blob **ret_init,
		   char *err, size_t errlen);
void sc_hls_mux_free(sc_hls_mux *mx);

/*
 * Queues one frame, the bytes of m from off on (timestamps in ms, dts >= 0;
 * takes a reference to m until the frame's fragment is cut). Each track
 * holds back its latest frame until the next one gives its exact duration,
 * so this adds the previous frame of the same track to the fragment. A dts
 * that does not grow is nudged forward by 1 ms.
 */
int sc_hls_mux_write(sc_hls_mux *mx, int track, int64_t dts, int64_t pts, int key, sc_media *m,
		     size_t off, char *err, size_t errlen);
/* Duration estimate of the next frame of a track (last dts step), ms. */
int64_t sc_hls_mux_frame_ms(const sc_hls_mux *mx, int track);
/* Frames in the open fragment (held-back ones not counted). */
size_t sc_hls_mux_pending(const sc_hls_mux *mx);
/*
 * Spooling: a frame's bytes are handed to fn the moment the frame joins the
 * open fragment (at: where they start among its track's bytes in the
 * fragment; fn takes its own reference to m if it needs one), and the
 * muxer lets go of it. A flush then gives only the fragment's header.
 */
typedef void (*sc_hls_spool_fn)(void *ud, int track, sc_media *m, size_t off, uint32_t at);
void sc_hls_mux_spool(sc_hls_mux *mx, sc_hls_spool_fn fn, void *ud);
/* Spooling: the held frame of track goes to the spool now, not when the
 * next frame of its track comes. Only for a track before whose frames
 * alone the caller cuts fragments (the driving one): then the held frame
 * is sure to join the open fragment. */
void sc_hls_mux_spool_held(sc_hls_mux *mx, int track);

/* Where a fragment's bytes are: hdr bytes of moof and mdat header, then
 * each track's frames back to back, video first. */
typedef struct {
	uint32_t hdr;
	uint32_t bytes[SC_HLS_TRACKS];
	/* Not the muxer's, hls.c's: the number of the spools that made it,
	 * when its last frame came (monotonic us), and where its frames are
	 * in the spool files (which ones, and from where per track). */
	uint32_t tag;
	uint64_t arrival_us;
	uint32_t spool_gen;
	uint64_t spool_base[SC_HLS_TRACKS];
} sc_hls_layout;

typedef struct {
	sc_blob *blob;	 /* the fragment (spooling: its header); NULL if nothing was written */
	int64_t end_dts; /* final: the end of the last frame; else INT64_MIN */
	sc_hls_layout layout;
	/* Not spooling, if asked: the frames, each with where it is among its
	 * track's bytes (the references moved here; sc_hls_frames_free). */
	sc_hls_frame_at *frames;
	size_t nframes;
} sc_hls_fragment;

/*
 * Ends the current fragment into *ret. final: also writes the held-back
 * frames (their duration estimated) first. Without want_frames the
 * references to the frames are dropped. 0, or a negative errno with a
 * message in err.
 */
int sc_hls_mux_flush(sc_hls_mux *mx, int final, int want_frames, sc_hls_fragment *ret, char *err,
		     size_t errlen);

#endif
