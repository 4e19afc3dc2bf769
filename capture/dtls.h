/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dtls.h - internal to capture/peer.c: the DTLS 1.2 side of DTLS-SRTP
 * (RFC 5763, RFC 5764) with OpenSSL and memory BIOs. A fresh ECDSA P-256
 * key and self-signed certificate per peer; any certificate is accepted
 * during the handshake and then checked against the SHA-256 fingerprint
 * the remote SDP announced; the SRTP keys come from the exporter.
 *
 * Records go out through cfg.send, packed into datagrams of at most
 * SC_DTLS_MTU bytes. Retransmissions run on a timeout source on cfg.ctx.
 * Callbacks run on that context's thread, possibly inside sc_dtls_start()
 * and sc_dtls_recv(). Functions: that thread only.
 */
#ifndef SC_DTLS_H
#define SC_DTLS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srtp.h"

#define SC_DTLS_MTU	    1200
#define SC_DTLS_FP_LEN	    32	/* SHA-256 */
#define SC_DTLS_FP_TEXT_MAX 104 /* "sha-256 " + 32 hex pairs with colons + NUL */

typedef struct {
	GMainContext *ctx;
	/* One datagram to the remote side; errors are ignored (DTLS resends). */
	int (*send)(void *ud, const uint8_t *buf, size_t len);
	/* Handshake done and the fingerprint matched: the SRTP keys. */
	void (*on_done)(void *ud, const sc_srtp_keys *keys);
	/* Handshake error, timeout, wrong fingerprint, or the remote closed. */
	void (*on_failed)(void *ud, const char *why);
	void *ud;
} sc_dtls_config;

typedef struct sc_dtls sc_dtls;

/* Key, certificate and context; no handshake yet. */
sc_dtls *sc_dtls_new(const sc_dtls_config *cfg, char *err, size_t errlen);
void sc_dtls_free(sc_dtls *d);

/* "sha-256 AB:CD:..." of our certificate. */
const char *sc_dtls_fingerprint(const sc_dtls *d);

/* "sha-256 ab:cd:..." (algorithm and hex case-insensitive) to bytes.
 * -ENOTSUP for other hash functions, -EINVAL when malformed. */
int sc_dtls_parse_fingerprint(const char *text, uint8_t ret[SC_DTLS_FP_LEN]);

/* Our role and the certificate we expect. Once. 0 or -EINVAL/-EALREADY. */
int sc_dtls_set_remote(sc_dtls *d, bool client, const uint8_t fp[SC_DTLS_FP_LEN], char *err,
		       size_t errlen);
/* The path is up: a client sends its ClientHello. Idempotent. */
void sc_dtls_start(sc_dtls *d);
/* One received DTLS datagram (RFC 7983 first byte 20..63). */
void sc_dtls_recv(sc_dtls *d, const uint8_t *buf, size_t len);
bool sc_dtls_done(const sc_dtls *d);

#endif
