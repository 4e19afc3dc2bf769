/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp_priv.h - what the SDP parser (sdp.c) and writer (sdp_write.c) share:
 * the value checks both apply, so that nothing we read or write can
 * smuggle in a line. Internal to the SDP module.
 */
#ifndef SC_SDP_PRIV_H
#define SC_SDP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdp.h"

#define SDP_MID_URI "urn:ietf:params:rtp-hdrext:sdes:mid"

void sdp_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Decimal n bytes of s, at most max. 0 or -EINVAL. */
int sdp_parse_uint(const char *s, size_t n, uint32_t max, uint32_t *ret);
bool sdp_is_text(const char *s);	/* printable, no CR/LF */
bool sdp_is_ice_chars(const char *s);	/* ice-char (RFC 8839) */
bool sdp_is_fingerprint(const char *s); /* "sha-256 AB:CD:..." */
bool sdp_is_setup(const char *s);	/* actpass, active, passive */
/* The format with payload type pt, or NULL. */
sc_sdp_fmt *sdp_find_fmt(sc_sdp_media *m, uint32_t pt);
/* Value of key in an fmtp "a=1;b=2" list. */
bool sdp_fmtp_get(const char *fmtp, const char *key, char *out, size_t outlen);

#endif
