/* SPDX-License-Identifier: Apache-2.0 */
/*
 * track.h - one received RTP stream (one m-section of the conference's
 * SDP): its jitter buffer, depacketizer and sender clock, feeding the
 * participant's sc_source.
 *
 * Presentation times: RTP time is mapped to the sender's wall clock through
 * its RTCP sender reports (RFC 3550 6.4.1), and the sender's wall clock to
 * ours through one offset per participant (the smallest "arrival minus
 * sender time" seen on any of its tracks), so a participant's audio and
 * video land on one timeline and stay in sync. A track whose sender report
 * puts it more than a second away from its siblings keeps an offset of
 * its own instead. Until a track has had a sender report it is placed by
 * arrival time.
 *
 * Network thread only.
 */
#ifndef SC_TRACK_H
#define SC_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jitterbuf.h"
#include "rtp.h"
#include "source.h"

/* The clock offset shared by the tracks of one participant. */
typedef struct {
	bool valid;
	int64_t offset_us; /* local monotonic = sender wall clock + offset */
} sc_sync;

typedef struct {
	char mid[32];
	char kind[8];  /* "audio" / "video" */
	char codec[8]; /* "vp8", "h264", "opus" */
	uint32_t clock;
	int pt, rtx_pt; /* rtx_pt -1 if none */
	uint32_t ssrc;	/* 0: learn it from the first packet of this mid/pt */
	bool nack;	/* the sender takes generic NACKs (a=rtcp-fb:PT nack) */
	uint32_t rtx_ssrc;
} sc_track_config;

typedef struct sc_track sc_track;

/* source and sync belong to the participant; the track holds a source
 * reference. NULL on failure (unsupported codec: message in err). */
sc_track *sc_track_new(const sc_track_config *cfg, sc_source *source, sc_sync *sync, char *err,
		       size_t errlen);
void sc_track_free(sc_track *t);
/* The participant's sync moved (its owner compacted an array). */
void sc_track_set_sync(sc_track *t, sc_sync *sync);

const sc_track_config *sc_track_config_of(const sc_track *t);
bool sc_track_matches(const sc_track *t, const sc_rtp *pkt, const char *mid);
/* A packet for this track (RTX included). now_us is CLOCK_MONOTONIC. */
void sc_track_rtp(sc_track *t, const sc_rtp *pkt, uint64_t now_us);
/* A sender report for this track's SSRC. */
void sc_track_sr(sc_track *t, const sc_rtcp_sr *sr, uint64_t now_us);
/* Release what is due (call on a short timer). */
void sc_track_poll(sc_track *t, uint64_t now_us);

/*
 * Feedback to send now, as one compound RTCP packet in out[0..cap): an RR
 * with this track's report block first (RFC 3550 6.1; it also tells a
 * server like Janus which stream the feedback is about), then NACKs (when
 * negotiated) and a PLI when the jitter buffer gave up on a frame or the
 * decoder asks for a key frame (at most one per 300 ms). Returns the bytes
 * written, 0 when there is no feedback to send.
 */
size_t sc_track_feedback(sc_track *t, uint64_t now_us, uint32_t our_ssrc, uint8_t *out, size_t cap);
/* This track's receiver report block; false before its SSRC is known. */
bool sc_track_report(sc_track *t, uint64_t now_us, sc_rtcp_report *ret);

typedef struct {
	sc_jitterbuf_stats jb;
	uint64_t frames, bad_frames, plis, nacked;
	double kbps;
	uint32_t ssrc;
	bool have_sr;	 /* placed by sender reports (else by arrival) */
	int64_t lead_us; /* the last frame's pts minus its arrival */
} sc_track_stats;
void sc_track_get_stats(sc_track *t, sc_track_stats *ret);

#endif
