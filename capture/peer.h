/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peer.h - one WebRTC transport, receive side: ICE with libnice (full ICE,
 * either role), DTLS 1.2 with OpenSSL (a fresh ECDSA P-256 certificate, the
 * peer's certificate checked against the SDP fingerprint, our role from
 * a=setup), SRTP/SRTCP with libsrtp2 keyed from the DTLS exporter, RFC 7983
 * demultiplexing on one BUNDLEd, rtcp-mux component.
 *
 * Everything runs on the GMainContext given in the config (the capture's
 * network thread), callbacks included. Packets that fail DTLS, SRTP
 * authentication or demultiplexing are dropped and counted, never passed
 * on. Functions: that thread only.
 */
#ifndef SC_PEER_H
#define SC_PEER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdp.h"

typedef enum {
	SC_PEER_GATHERING,
	SC_PEER_GATHERED,  /* local candidates known: sc_peer_local() is complete */
	SC_PEER_CHECKING,  /* remote description set, ICE checks running */
	SC_PEER_CONNECTED, /* ICE selected a pair, DTLS handshake running */
	SC_PEER_UP,	   /* DTLS done, SRTP keyed: media flows */
	SC_PEER_FAILED,	   /* ICE or DTLS failed, or the fingerprint did not match */
} sc_peer_state;

typedef struct {
	GMainContext *ctx;
	bool controlling;	  /* ICE role: true when we send the offer (WHEP) */
	const char *bind_address; /* gather on this local IP only (NULL: all) */
	const char *stun_server;  /* "host:port" or NULL */
	const char *turn_server;  /* "host:port" or NULL */
	const char *turn_user, *turn_password;
	void (*on_state)(void *ud, sc_peer_state st, const char *why);
	/* Decrypted packets. Valid during the call only. */
	void (*on_rtp)(void *ud, const uint8_t *pkt, size_t len);
	void (*on_rtcp)(void *ud, const uint8_t *pkt, size_t len);
	void *ud;
} sc_peer_config;

typedef struct sc_peer sc_peer;

/* Starts gathering. NULL with a message in err. */
sc_peer *sc_peer_new(const sc_peer_config *cfg, char *err, size_t errlen);
void sc_peer_free(sc_peer *p);

/* Our ICE credentials, fingerprint and candidates (setup is "active" for
 * an answer, "actpass" for an offer). Pointers stay valid while p lives. */
void sc_peer_local(sc_peer *p, bool answering, sc_sdp_local *ret);

/*
 * The remote side, from its SDP (the first bundled m-section). Starts ICE
 * checks. -EINVAL with a message for missing or malformed credentials or
 * fingerprint (only sha-256 is accepted).
 */
int sc_peer_set_remote(sc_peer *p, const sc_sdp *remote, size_t media_index, char *err,
		       size_t errlen);
/* A trickled remote candidate ("candidate:..." or its value). */
int sc_peer_add_remote_candidate(sc_peer *p, const char *cand);

/* Protect and send one RTCP packet (compound allowed). 0, -ENOTCONN before
 * SC_PEER_UP, or a negative errno. */
int sc_peer_send_rtcp(sc_peer *p, const uint8_t *pkt, size_t len);

typedef struct {
	uint64_t rx_packets, rx_bytes, rtp, rtcp, dtls, dropped_unknown, dropped_srtp, tx_rtcp;
	int64_t up_us; /* when it became SC_PEER_UP (CLOCK_MONOTONIC), 0 before */
} sc_peer_stats;
void sc_peer_get_stats(const sc_peer *p, sc_peer_stats *ret);
const char *sc_peer_state_name(sc_peer_state st);

#endif
