/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp_fixture.h - what the SDP tests share: test_sdp.c (parsing, real
 * offers) and test_sdp_write.c (our answers to synthetic offers, our
 * recvonly offer). Our side of the transport, a synthetic session head,
 * and helpers that fail the running cmocka test.
 */
#ifndef SC_TEST_SDP_FIXTURE_H
#define SC_TEST_SDP_FIXTURE_H

#include <stddef.h>

#include "sdp.h"

#define FP_OURS                                                    \
	"sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:" \
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"
#define CAND_OURS "1 1 udp 2130706431 127.0.0.2 40000 typ host"

/* The session part of a synthetic offer, and session-level transport. */
#define HEAD "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define TRANSPORT                                                  \
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" \
	"a=fingerprint:sha-256 AB:CD\r\na=setup:actpass\r\n"

/* Our local values: ufrag "sc01", FP_OURS, setup active, CAND_OURS + one srflx. */
extern const sc_sdp_local ours;

/* Parses text or fails the test; the caller frees the result. */
sc_sdp *parse_ok(const char *text);
/* The format with payload type pt in m, or fails the test. */
const sc_sdp_fmt *fmt(const sc_sdp_media *m, int pt);
/* How many times needle occurs in hay. */
size_t count(const char *hay, const char *needle);

#endif
