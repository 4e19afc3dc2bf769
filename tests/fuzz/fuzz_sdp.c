/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_sdp.c - SDP parsing on arbitrary input, then our answer to whatever
 * parsed. Checks the model's bounds (counts, NUL-terminated fields, payload
 * types), that the answer always parses back with the same m-sections,
 * and that each accepted section comes back as we chose it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(a) (strnlen((a), sizeof(a)) < sizeof(a))

static const char *const cands[] = {"1 1 udp 2130706431 127.0.0.2 40000 typ host"};
static const sc_sdp_local local = {
	.ice_ufrag = "fuzz",
	.ice_pwd = "0123456789abcdefghijklmn",
	.fingerprint = "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		       "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",
	.setup = "active",
	.candidates = cands,
	.n_candidates = 1,
	.ssrc = 1,
};

static void check_model(const sc_sdp *s)
{
	if (s->n_media < 1 || s->n_media > SC_SDP_MAX_MEDIA || s->n_bundle > SC_SDP_MAX_MEDIA)
		abort();
	if (!TERMINATED(s->ice_ufrag) || !TERMINATED(s->ice_pwd) || !TERMINATED(s->fingerprint) ||
	    !TERMINATED(s->setup))
		abort();
	for (size_t i = 0; i < s->n_bundle; i++)
		if (!TERMINATED(s->bundle[i]))
			abort();
	for (size_t i = 0; i < s->n_media; i++) {
		const sc_sdp_media *m = &s->media[i];

		if (m->n_fmts > SC_SDP_MAX_FMTS || m->n_candidates > SC_SDP_MAX_CANDS)
			abort();
		if (!TERMINATED(m->kind) || !TERMINATED(m->proto) || !TERMINATED(m->mid) ||
		    !TERMINATED(m->msid) || !TERMINATED(m->fmt0) || !TERMINATED(m->ice_ufrag) ||
		    !TERMINATED(m->ice_pwd) || !TERMINATED(m->fingerprint) || !TERMINATED(m->setup))
			abort();
		for (size_t j = 0; j < m->n_fmts; j++) {
			const sc_sdp_fmt *f = &m->fmts[j];

			if (f->pt > 127 || f->apt > 127 || f->apt < -1 || !TERMINATED(f->codec) ||
			    !TERMINATED(f->fmtp))
				abort();
		}
		for (size_t j = 0; j < m->n_candidates; j++)
			if (!TERMINATED(m->candidates[j]))
				abort();
		(void)sc_sdp_ice_ufrag(s, i);
		(void)sc_sdp_ice_pwd(s, i);
		(void)sc_sdp_fingerprint(s, i);
		(void)sc_sdp_setup(s, i);
	}
}

static void check_answer(const sc_sdp *offer, const char *ans, const sc_sdp_choice *ch)
{
	char err[256];
	size_t len = strlen(ans), accepted = 0;
	sc_sdp *a = sc_sdp_parse(ans, len, err, sizeof(err));

	if (!a) {
		fprintf(stderr, "our answer does not parse: %s\n%s", err, ans);
		abort();
	}
	check_model(a);
	if (a->n_media != offer->n_media)
		abort();
	for (size_t i = 0; i < a->n_media; i++) {
		const sc_sdp_media *m = &a->media[i];

		if (strcmp(m->kind, offer->media[i].kind) || strcmp(m->mid, offer->media[i].mid))
			abort();
		if (!ch[i].accepted) {
			if (m->port != 0 || m->dir != SC_SDP_INACTIVE)
				abort();
			continue;
		}
		accepted++;
		if (m->port != 9 || m->dir != SC_SDP_RECVONLY || !m->rtcp_mux || !m->n_fmts ||
		    m->fmts[0].pt != ch[i].pt || strcmp(sc_sdp_ice_ufrag(a, i), "fuzz"))
			abort();
		if (ch[i].rtx_pt >= 0 && (m->n_fmts != 2 || m->fmts[1].apt != ch[i].pt))
			abort();
	}
	/* Nothing receivable is answered with every section rejected and no
	 * BUNDLE group; otherwise the group holds exactly the accepted ones. */
	if (offer->n_bundle && a->n_bundle != accepted)
		abort();
	if (!accepted && a->n_bundle)
		abort();
	free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	char err[256];
	sc_sdp *s;
	char *ans;

	s = sc_sdp_parse((const char *)data, size, err, sizeof(err));
	if (!s) {
		if (strnlen(err, sizeof(err)) >= sizeof(err) || !err[0])
			abort();
		return 0;
	}
	check_model(s);
	ans = sc_sdp_answer(s, &local, ch, err, sizeof(err));
	if (ans) {
		check_answer(s, ans, ch);
		free(ans);
	}
	free(s);
	return 0;
}
