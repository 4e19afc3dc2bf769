/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fmp4.h - fragmented MP4 (ISO/IEC 14496-12) boxes for HLS:
 * the init segment (ftyp + moov) of H.264 and AAC tracks, and one fragment
 * (moof + mdat) of samples the caller keeps. Only what HLS players need:
 * no sample tables in the moov, every fragment self-contained (tfdt, data
 * offsets from the moof). Pure functions of their arguments; any thread.
 */
#ifndef SC_FMP4_H
#define SC_FMP4_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"

typedef struct {
	int video;	    /* 1: H.264 (avc1), 0: AAC (mp4a) */
	uint32_t timescale; /* units per second */
	const uint8_t *config;
	size_t config_len; /* AVCDecoderConfigurationRecord / AudioSpecificConfig */
	int width, height; /* video */
	int sample_rate;   /* audio */
	int channels;	   /* audio */
} sc_fmp4_track;

/* The init segment of tracks[0..n), track_ID i + 1. 0, -EINVAL or -ENOMEM. */
int sc_fmp4_init(const sc_fmp4_track *tracks, size_t n, sc_blob **ret);

typedef struct {
	const uint8_t *data;
	size_t len;
	uint32_t duration; /* timescale units */
	int32_t cto;	   /* pts - dts, timescale units */
	int key;	   /* a sync sample */
} sc_fmp4_sample;

/* One track's samples in a fragment, in decode order. */
typedef struct {
	uint32_t track_id;
	uint64_t base_dts; /* decode time of the first sample, timescale units */
	const sc_fmp4_sample *samples;
	size_t n;
} sc_fmp4_run;

/*
 * A fragment with sequence number seq: a moof with one traf per run that
 * has samples, then one mdat with the runs' bytes back to back, in order.
 * *ret_mdat_at (if not NULL) is where the first run's bytes start in it.
 * 0, -EINVAL (no sample, or more than max_bytes of them) or -ENOMEM.
 */
int sc_fmp4_fragment(uint32_t seq, const sc_fmp4_run *runs, size_t nruns, size_t max_bytes,
		     sc_blob **ret, size_t *ret_mdat_at);
/* The same fragment's first bytes only: the moof and the mdat's 8-byte
 * header (the samples' data is not read). Followed by the runs' bytes back
 * to back, it is the fragment. */
int sc_fmp4_header(uint32_t seq, const sc_fmp4_run *runs, size_t nruns, size_t max_bytes,
		   sc_blob **ret);

#endif
