/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp.h - the SDP (RFC 8866) that WebRTC signalling carries, as far as a
 * receive-only peer needs it (JSEP, RFC 8829): parse an offer or answer
 * into a model, and write our answer (Janus offers) or our offer (WHEP).
 *
 * The parser is strict about structure and bounds (lines, m-sections,
 * formats, candidates, attribute lengths) and lenient about attributes it
 * does not know (ignored). Malformed input: NULL with a message naming the
 * line. Any thread; no state.
 */
#ifndef SC_SDP_H
#define SC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_SDP_MAX_TEXT	 (256 * 1024)
#define SC_SDP_MAX_MEDIA 32
#define SC_SDP_MAX_FMTS	 16
#define SC_SDP_MAX_CANDS 16

typedef enum { SC_SDP_SENDRECV, SC_SDP_SENDONLY, SC_SDP_RECVONLY, SC_SDP_INACTIVE } sc_sdp_dir;

typedef struct {
	uint8_t pt;
	char codec[16]; /* "VP8", "H264", "opus", "rtx", ... as written */
	uint32_t clock;
	uint8_t channels;
	char fmtp[256];
	int apt; /* rtx: the payload type it repairs; else -1 */
	bool fb_nack, fb_pli, fb_fir, fb_transport_cc;
} sc_sdp_fmt;

typedef struct {
	char kind[16];	  /* "audio", "video", "application" */
	uint16_t port;	  /* 0: rejected / removed, unless bundle_only */
	bool bundle_only; /* a=bundle-only: port 0 in an offer, yet bundled */
	char proto[32];
	char fmt0[32]; /* first format token as written ("webrtc-datachannel") */
	char mid[32];
	sc_sdp_dir dir;
	bool rtcp_mux;
	sc_sdp_fmt fmts[SC_SDP_MAX_FMTS];
	size_t n_fmts;
	uint8_t ext_mid;   /* extmap id of urn:ietf:params:rtp-hdrext:sdes:mid, 0 if none */
	uint32_t ssrc;	   /* first a=ssrc of the media, 0 if none */
	uint32_t rtx_ssrc; /* from a=ssrc-group:FID, 0 if none */
	char msid[128];
	/* Media-level values; empty means "see the session level". */
	char ice_ufrag[256], ice_pwd[256];
	char fingerprint[160];			/* "sha-256 AB:CD:..." */
	char setup[10];				/* actpass, active, passive */
	char candidates[SC_SDP_MAX_CANDS][256]; /* values of a=candidate: */
	size_t n_candidates;
} sc_sdp_media;

typedef struct {
	char ice_ufrag[256], ice_pwd[256];
	char fingerprint[160];
	char setup[10];
	char bundle[SC_SDP_MAX_MEDIA][32]; /* a=group:BUNDLE mids */
	size_t n_bundle;
	sc_sdp_media media[SC_SDP_MAX_MEDIA];
	size_t n_media;
} sc_sdp;

/* NULL with a message in err ("line 12: bad m= line"). Free with free(). */
sc_sdp *sc_sdp_parse(const char *text, size_t len, char *err, size_t errlen);

/* Effective ICE credentials / fingerprint / setup of media i (media level,
 * else session level). Empty string if neither has it. */
const char *sc_sdp_ice_ufrag(const sc_sdp *s, size_t i);
const char *sc_sdp_ice_pwd(const sc_sdp *s, size_t i);
const char *sc_sdp_fingerprint(const sc_sdp *s, size_t i);
const char *sc_sdp_setup(const sc_sdp *s, size_t i);

/* What we say about ourselves in an answer or offer. */
typedef struct {
	const char *ice_ufrag, *ice_pwd;
	const char *fingerprint;       /* "sha-256 AB:CD:..." of our DTLS certificate */
	const char *setup;	       /* answer: "active"; offer: "actpass" */
	const char *const *candidates; /* values for a=candidate: lines */
	size_t n_candidates;
	uint32_t ssrc; /* our RTCP sender SSRC */
} sc_sdp_local;

/* For each m-section of an offer we answer: which format we take. */
typedef struct {
	bool accepted;	/* false: answered with port 0 */
	int pt;		/* chosen payload type */
	int rtx_pt;	/* its RTX, or -1 */
	char codec[16]; /* lowercased: "vp8", "h264", "opus" */
	uint32_t clock;
} sc_sdp_choice;

/*
 * Answer a receive-only offer (Janus): for each sendonly/sendrecv audio or
 * video section, the first format we can depacketize (VP8, H.264 with
 * packetization-mode=1, Opus; H.264 mode 0 only when nothing else fits)
 * and its RTX; direction recvonly; feedback
 * nack, nack pli, ccm fir; the mid extension kept; everything else (data
 * channels, unknown codecs, inactive sections) rejected with port 0. All
 * accepted sections in one BUNDLE group. With nothing receivable (the
 * last publisher left) every section is rejected: still an answer. Returns malloc'd text and fills
 * choices[0..offer->n_media) ; NULL with err.
 */
char *sc_sdp_answer(const sc_sdp *offer, const sc_sdp_local *local, sc_sdp_choice *choices,
		    char *err, size_t errlen);

/* An offer to receive n_audio Opus and n_video VP8/H.264 sections (WHEP),
 * bundled, rtcp-mux. malloc'd text or NULL. */
char *sc_sdp_offer_recvonly(const sc_sdp_local *local, unsigned n_audio, unsigned n_video);

#endif
