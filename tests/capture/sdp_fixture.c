/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp_fixture.c - shared values and helpers of the SDP tests (sdp_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sdp_fixture.h"

static const char *const our_cands[] = {CAND_OURS, "2 1 udp 1694498815 192.0.2.1 40000 typ srflx "
						   "raddr 127.0.0.2 rport 40000"};

const sc_sdp_local ours = {
	.ice_ufrag = "sc01",
	.ice_pwd = "0123456789abcdefghijklmn",
	.fingerprint = FP_OURS,
	.setup = "active",
	.candidates = our_cands,
	.n_candidates = 2,
	.ssrc = 1234,
};

sc_sdp *parse_ok(const char *text)
{
	char err[256] = "";
	sc_sdp *s = sc_sdp_parse(text, strlen(text), err, sizeof(err));

	if (!s)
		fail_msg("parse failed: %s", err);
	return s;
}

const sc_sdp_fmt *fmt(const sc_sdp_media *m, int pt)
{
	for (size_t i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == pt)
			return &m->fmts[i];
	fail_msg("no payload type %d", pt);
	return NULL;
}

size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}
