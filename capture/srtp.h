/* SPDX-License-Identifier: Apache-2.0 */
/*
 * srtp.h - internal to capture/peer.c: the SRTP/SRTCP contexts of one peer
 * (libsrtp2), keyed from DTLS-SRTP (RFC 5764): an inbound session for any
 * SSRC the remote side sends (its key) and an outbound one for the RTCP we
 * send (our key). Packets are transformed in place.
 *
 * An sc_srtp belongs to one thread at a time; sc_srtp_global_init() is
 * thread-safe and idempotent.
 */
#ifndef SC_SRTP_H
#define SC_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* DTLS-SRTP protection profile ids (RFC 5764, RFC 7714). */
#define SC_SRTP_AES128_CM_SHA1_80 0x0001
#define SC_SRTP_AEAD_AES_128_GCM  0x0007

#define SC_SRTP_MAX_KEY	    16
#define SC_SRTP_MAX_SALT    14
#define SC_SRTP_MAX_TRAILER 160 /* room protect needs: SRTCP index, tag, MKI */

typedef struct {
	uint16_t profile;
	uint8_t rx_key[SC_SRTP_MAX_KEY], rx_salt[SC_SRTP_MAX_SALT]; /* the remote side's */
	uint8_t tx_key[SC_SRTP_MAX_KEY], tx_salt[SC_SRTP_MAX_SALT]; /* ours */
} sc_srtp_keys;

/* srtp_init() once per process. 0 or -EIO. */
int sc_srtp_global_init(void);
/* Whether this libsrtp2 does AES-GCM (built with a crypto library). */
bool sc_srtp_gcm_supported(void);
/* Key and salt lengths of a profile; -ENOTSUP for others. */
int sc_srtp_profile_lengths(uint16_t profile, size_t *ret_key, size_t *ret_salt);
/* The profile list for SSL_CTX_set_tlsext_use_srtp(), best first. */
const char *sc_srtp_openssl_profiles(void);

typedef struct sc_srtp sc_srtp;

sc_srtp *sc_srtp_new(const sc_srtp_keys *keys, char *err, size_t errlen);
void sc_srtp_free(sc_srtp *s);

/* In place; *len shrinks. 0, or -EBADMSG (authentication, replay, format). */
int sc_srtp_unprotect_rtp(sc_srtp *s, uint8_t *pkt, size_t *len);
int sc_srtp_unprotect_rtcp(sc_srtp *s, uint8_t *pkt, size_t *len);
/* In place; pkt has cap bytes (len + SC_SRTP_MAX_TRAILER is enough). 0,
 * -ENOBUFS or -EIO. */
int sc_srtp_protect_rtcp(sc_srtp *s, uint8_t *pkt, size_t *len, size_t cap);

#endif
