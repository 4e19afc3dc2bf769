/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_handshake.h - the RTMP handshake (C0/C1/C2, S0/S1/S2) as a byte-fed
 * state machine, for either side. The plain handshake: S1 carries zero in
 * its version field, so ffmpeg, librtmp (OBS) and GStreamer's rtmp2 do not
 * ask for the digest variant.
 *
 * Server: feed bytes as they arrive; output (S0S1S2) is appended to out.
 * Client: call sc_rtmp_handshake_start() to get C0C1, then feed S0S1S2;
 * C2 is appended to out. Feed returns 1 when the handshake is complete;
 * bytes after it (the first chunks) are not consumed: *ret_consumed tells
 * how many were.
 */
#ifndef SC_RTMP_HANDSHAKE_H
#define SC_RTMP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define SC_RTMP_HANDSHAKE_SIZE 1536

typedef enum { SC_RTMP_HS_SERVER, SC_RTMP_HS_CLIENT } sc_rtmp_hs_role;

typedef struct sc_rtmp_handshake sc_rtmp_handshake;

sc_rtmp_handshake *sc_rtmp_handshake_new(sc_rtmp_hs_role role);
void sc_rtmp_handshake_free(sc_rtmp_handshake *hs);

/* Client only: append C0C1 to out. 0 or sc_buf error. */
int sc_rtmp_handshake_start(sc_rtmp_handshake *hs, sc_buf *out);

/*
 * Returns 1 when complete, 0 when more input is needed, -EPROTO for a
 * version byte other than 3 (the message in sc_rtmp_handshake_error()).
 */
int sc_rtmp_handshake_feed(sc_rtmp_handshake *hs, const uint8_t *in, size_t len,
			   size_t *ret_consumed, sc_buf *out);
const char *sc_rtmp_handshake_error(const sc_rtmp_handshake *hs);

#endif
