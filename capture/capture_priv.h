/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture_priv.h - the capture session's state, shared by the session
 * (capture.c) and its reporting (capture_report.c). Network thread only.
 */
#ifndef SC_CAPTURE_PRIV_H
#define SC_CAPTURE_PRIV_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "peer.h"
#include "sdp.h"
#include "signaling.h"
#include "source.h"
#include "track.h"

#define MAX_PARTICIPANTS 64

typedef struct {
	char feed[64];
	char display[128];
	sc_source *src;
	sc_sync sync;
	bool in_mixer;
} participant;

typedef struct {
	sc_track *t;
	size_t part; /* index in participants */
} track_slot;

struct sc_capture {
	GMainContext *ctx;
	sc_capture_config cfg;
	sc_signaling *sig;
	sc_peer *peer;
	sc_mixer *mixer;
	bool whep;
	uint32_t our_ssrc;

	/* The last offer waiting for our candidates to be gathered. */
	char *pending_sdp;
	sc_sig_stream *pending_streams;
	size_t pending_n;
	bool remote_set;

	track_slot tracks[SC_SDP_MAX_MEDIA];
	size_t n_tracks;
	uint8_t ext_mid;
	participant parts[MAX_PARTICIPANTS];
	size_t n_parts;

	GSource *poll_timer, *life_timer;
	GPollFunc saved_poll; /* ctx's poll function before sc_loop_batch */
	uint64_t started_us, empty_since_us, last_rtcp_us;
	bool done;
	void (*on_done)(void *ud, int exit_code, const char *why);
	void *done_ud;
	uint64_t rtp_unknown, rtcp_bad, rtp_bad;
	char last_error[320];
};

#endif
