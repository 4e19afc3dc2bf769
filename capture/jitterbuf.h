/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jitterbuf.h - the receive buffer of one RTP stream (one SSRC): puts
 * packets back in order, asks for lost ones (NACK), gives up on them after
 * a while, and hands complete frames, in order, to the depacketizer.
 *
 * A video frame is the run of packets with one RTP timestamp that ends
 * with the marker bit; an audio frame is one packet. A frame is released
 * when it is complete and every earlier frame was released or given up
 * on; a frame with a hole still open after max_wait_ms is given up on
 * (dropped, counted, and the caller asked for a key frame: PLI).
 *
 * Bounds: at most cap packets held (older ones are dropped, counted, and
 * trigger a PLI), sequence numbers unwrapped to 64 bits, duplicates and
 * packets older than the last released frame dropped.
 *
 * One thread (the network thread). The buffer copies what it keeps.
 */
#ifndef SC_JITTERBUF_H
#define SC_JITTERBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp.h"

typedef struct {
	bool video;		/* frames end at the marker bit (else: one packet each) */
	uint32_t clock_rate;	/* 90000, 48000 */
	unsigned cap;		/* packets held at most (512) */
	unsigned max_wait_ms;	/* give up on a hole after this (video 300, audio 80) */
	unsigned nack_delay_ms; /* ask for a missing packet after this (10) */
	unsigned nack_retry_ms; /* ask again at most every (rtt or 40 ms) */
	unsigned nack_max;	/* times one packet is asked for (5) */
} sc_jitterbuf_config;

typedef struct sc_jitterbuf sc_jitterbuf;

/* The packets of one frame, in order, valid until the next call into the
 * buffer. */
typedef struct {
	uint32_t ts;
	uint64_t first_seq; /* unwrapped */
	bool complete;	    /* false never reaches the depacketizer */
	size_t n;
	const sc_rtp *pkts;
	uint64_t arrival_us; /* of the last packet */
} sc_jb_frame;

sc_jitterbuf *sc_jitterbuf_new(const sc_jitterbuf_config *cfg);
void sc_jitterbuf_free(sc_jitterbuf *jb);

/* Insert a parsed packet (copied). now_us is CLOCK_MONOTONIC. Returns 0,
 * 1 if it was a duplicate or too late (dropped), -ENOMEM. */
int sc_jitterbuf_push(sc_jitterbuf *jb, const sc_rtp *pkt, uint64_t now_us);

/*
 * Release the next frame if there is one to release now: 1 and *ret, 0 if
 * none. Call until it returns 0 after each push and on a timer.
 */
int sc_jitterbuf_pop(sc_jitterbuf *jb, uint64_t now_us, sc_jb_frame *ret);

/*
 * Sequence numbers to NACK now (at most max): writes them to out and
 * returns how many. Also returns through *ret_pli whether a key frame
 * should be requested (a frame was given up on, or overflow).
 */
size_t sc_jitterbuf_nacks(sc_jitterbuf *jb, uint64_t now_us, uint16_t *out, size_t max,
			  bool *ret_pli);

/* For receiver reports (RFC 3550 A.3 and A.8). */
void sc_jitterbuf_report(sc_jitterbuf *jb, sc_rtcp_report *ret);

typedef struct {
	uint64_t received, duplicates, late, lost, nacks_sent, frames, frames_dropped, overflows;
	double jitter_ms;
} sc_jitterbuf_stats;
void sc_jitterbuf_get_stats(const sc_jitterbuf *jb, sc_jitterbuf_stats *ret);
/* Packets held now (at most cfg.cap), counted slot by slot. */
unsigned sc_jitterbuf_held(const sc_jitterbuf *jb);

#endif
