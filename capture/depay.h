/* SPDX-License-Identifier: Apache-2.0 */
/*
 * depay.h - RTP depacketizers: the packets of one complete frame (from the
 * jitter buffer) in, one coded frame out, ready for libavcodec:
 *
 *   vp8   RFC 7741: payload descriptor stripped, partitions joined
 *   h264  RFC 6184 packetization-mode 0/1: single NAL, STAP-A, FU-A;
 *         output in Annex B (start codes); SPS/PPS seen in-band are kept
 *         and put in front of each IDR that lacks them
 *   opus  RFC 7587: the payload is the frame
 *
 * An ops table, like FFmpeg's parsers: one state per stream, created with
 * sc_depay_new(). Malformed input gives -EBADMSG and no frame; the stream
 * goes on with the next one. One thread.
 */
#ifndef SC_DEPAY_H
#define SC_DEPAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jitterbuf.h"

/* The largest coded frame a depacketizer outputs; bigger ones give
 * -EMSGSIZE and no frame. */
#define SC_DEPAY_MAX_FRAME (4u << 20)

typedef struct {
	const char *name; /* "vp8", "h264", "opus" (as in SDP rtpmap, lowercased) */
	size_t priv_size;
	void (*uninit)(void *priv); /* may be NULL */
	/*
	 * Append the coded frame to out (which the caller resets). *ret_key:
	 * the frame can be decoded on its own (VP8 key frame, H.264 IDR with
	 * SPS and PPS available; always true for audio).
	 */
	int (*frame)(void *priv, const sc_jb_frame *f, sc_buf *out, bool *ret_key);
} sc_depay_ops;

extern const sc_depay_ops sc_depay_vp8;
extern const sc_depay_ops sc_depay_h264;
extern const sc_depay_ops sc_depay_opus;

/* By SDP codec name, case-insensitive; NULL if unsupported. */
const sc_depay_ops *sc_depay_find(const char *codec);

typedef struct sc_depay sc_depay;
sc_depay *sc_depay_new(const sc_depay_ops *ops);
void sc_depay_free(sc_depay *d);
int sc_depay_frame(sc_depay *d, const sc_jb_frame *f, sc_buf *out, bool *ret_key);
const char *sc_depay_name(const sc_depay *d);

#endif
