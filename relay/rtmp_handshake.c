/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_handshake.c - the plain RTMP handshake (Adobe RTMP 1.0, 5.2).
 *
 *   server: C0 C1 -> S0 S1 S2, C2 -> done
 *   client: start -> C0 C1, S0 S1 -> C2, S2 -> done
 *
 * C1/S1: 4 bytes time, 4 zero bytes, 1528 random bytes. C2/S2 echo the
 * peer's C1/S1 with the second time field set to when we read it. The
 * contents of the echo we receive are not checked: real clients differ.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "rtmp_handshake.h"

#define HS	     SC_RTMP_HANDSHAKE_SIZE
#define RTMP_VERSION 3

typedef enum {
	ST_START,   /* client: start() not called yet */
	ST_VERSION, /* waiting for C0 / S0 */
	ST_PEER1,   /* collecting C1 / S1 */
	ST_PEER2,   /* skipping C2 / S2 */
	ST_DONE,
	ST_FAILED,
} hs_state;

struct sc_rtmp_handshake {
	sc_rtmp_hs_role role;
	hs_state state;
	size_t got; /* bytes of the current packet so far */
	uint8_t peer1[HS];
	char err[96];
};

static uint32_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The random part is not a secret: any bytes that vary will do. */
static void fill_random(uint8_t *p, size_t n)
{
	ssize_t got = getrandom(p, n, GRND_NONBLOCK);
	uint64_t x;

	if (got == (ssize_t)n)
		return;
	x = (uint64_t)now_ms() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)p;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

sc_rtmp_handshake *sc_rtmp_handshake_new(sc_rtmp_hs_role role)
{
	sc_rtmp_handshake *hs = calloc(1, sizeof(*hs));

	if (!hs)
		return NULL;
	hs->role = role;
	hs->state = role == SC_RTMP_HS_SERVER ? ST_VERSION : ST_START;
	return hs;
}

void sc_rtmp_handshake_free(sc_rtmp_handshake *hs)
{
	free(hs);
}

/* Append version byte (if with_version) and a fresh C1/S1. */
static int write_first(sc_buf *out, bool with_version)
{
	uint8_t *p;
	int r;

	r = sc_buf_reserve(out, HS + 1);
	if (r < 0)
		return r;
	p = out->data + out->len;
	if (with_version)
		*p++ = RTMP_VERSION;
	sc_wr_be32(p, now_ms());
	memset(p + 4, 0, 4);
	fill_random(p + 8, HS - 8);
	out->len += HS + (with_version ? 1 : 0);
	return 0;
}

/* Append the echo of the peer's first packet. */
static int write_echo(sc_buf *out, const uint8_t *peer1)
{
	uint8_t *p;
	int r;

	r = sc_buf_reserve(out, HS);
	if (r < 0)
		return r;
	p = out->data + out->len;
	memcpy(p, peer1, HS);
	sc_wr_be32(p + 4, now_ms());
	out->len += HS;
	return 0;
}

int sc_rtmp_handshake_start(sc_rtmp_handshake *hs, sc_buf *out)
{
	int r;

	if (hs->role != SC_RTMP_HS_CLIENT || hs->state != ST_START)
		return -EINVAL;
	r = write_first(out, true);
	if (r < 0)
		return r;
	hs->state = ST_VERSION;
	return 0;
}

/* The server's reply to C0C1: S0 S1 S2 in one go, or nothing. */
static int server_reply(sc_rtmp_handshake *hs, sc_buf *out)
{
	size_t len0 = out->len;
	int r;

	r = sc_buf_reserve(out, 1 + 2 * HS);
	if (r < 0)
		return r;
	r = write_first(out, true);
	if (r == 0)
		r = write_echo(out, hs->peer1);
	if (r < 0)
		out->len = len0;
	return r;
}

int sc_rtmp_handshake_feed(sc_rtmp_handshake *hs, const uint8_t *in, size_t len,
			   size_t *ret_consumed, sc_buf *out)
{
	size_t used = 0;
	int r;

	if (hs->state == ST_FAILED)
		return -EPROTO; /* sticky: the connection is to be closed */
	if (hs->state == ST_START)
		return -EINVAL;
	while (hs->state != ST_DONE && used < len) {
		size_t take;

		switch (hs->state) {
		case ST_VERSION:
			if (in[used] != RTMP_VERSION) {
				snprintf(hs->err, sizeof(hs->err),
					 "unsupported RTMP version %u (only 3 is)", in[used]);
				hs->state = ST_FAILED;
				return -EPROTO;
			}
			used++;
			hs->state = ST_PEER1;
			hs->got = 0;
			break;
		case ST_PEER1:
			take = len - used < HS - hs->got ? len - used : HS - hs->got;
			memcpy(hs->peer1 + hs->got, in + used, take);
			hs->got += take;
			used += take;
			if (hs->got < HS)
				break;
			r = hs->role == SC_RTMP_HS_SERVER ? server_reply(hs, out)
							  : write_echo(out, hs->peer1);
			if (r < 0) {
				snprintf(hs->err, sizeof(hs->err), "cannot queue the reply (%d)",
					 r);
				hs->state = ST_FAILED;
				return r;
			}
			hs->state = ST_PEER2;
			hs->got = 0;
			break;
		case ST_PEER2:
			take = len - used < HS - hs->got ? len - used : HS - hs->got;
			hs->got += take;
			used += take;
			if (hs->got == HS)
				hs->state = ST_DONE;
			break;
		default:
			return -EINVAL;
		}
	}
	*ret_consumed = used;
	return hs->state == ST_DONE ? 1 : 0;
}

const char *sc_rtmp_handshake_error(const sc_rtmp_handshake *hs)
{
	return hs->err[0] ? hs->err : "no error";
}
