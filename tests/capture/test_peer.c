/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for capture/peer.c and its parts: fingerprint parsing, a DTLS
 * handshake between two sc_dtls in memory (mirrored SRTP keys, a wrong
 * fingerprint refused), SRTP/SRTCP with those keys (libsrtp2 protects RTP
 * here as a sender would), and two whole sc_peer on 127.0.0.1 in one
 * GMainContext (ICE, DTLS, SRTCP both ways, errors, free from a callback).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <srtp2/srtp.h>

#include "dtls.h"
#include "peer.h"
#include "srtp.h"

/* ---- fingerprints */

static void test_fingerprint_parse(void **state)
{
	(void)state;
	uint8_t md[SC_DTLS_FP_LEN];
	char text[SC_DTLS_FP_TEXT_MAX] = "sha-256 ";
	for (int i = 0; i < SC_DTLS_FP_LEN; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), i ? ":%02x" : "%02x",
			 i * 7 + 1);
	assert_int_equal(sc_dtls_parse_fingerprint(text, md), 0);
	for (int i = 0; i < SC_DTLS_FP_LEN; i++)
		assert_int_equal(md[i], i * 7 + 1);
	text[0] = 'S', text[1] = 'H', text[2] = 'A';
	assert_int_equal(sc_dtls_parse_fingerprint(text, md), 0);
	char sha1[] = "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";
	assert_int_equal(sc_dtls_parse_fingerprint(sha1, md), -ENOTSUP);
	assert_int_equal(sc_dtls_parse_fingerprint("sha-256 AB:CD", md), -EINVAL);
	assert_int_equal(sc_dtls_parse_fingerprint("", md), -EINVAL);
	char bad[SC_DTLS_FP_TEXT_MAX + 8];
	snprintf(bad, sizeof(bad), "%s", text);
	bad[10] = 'g';
	assert_int_equal(sc_dtls_parse_fingerprint(bad, md), -EINVAL);
	snprintf(bad, sizeof(bad), "%s:00", text);
	assert_int_equal(sc_dtls_parse_fingerprint(bad, md), -EINVAL);
}

/* ---- two sc_dtls talking through queues */

#define QMAX 64
typedef struct side side;
struct side {
	sc_dtls *d;
	side *other;
	uint8_t q[QMAX][1500];
	size_t qlen[QMAX], n;
	bool done, failed;
	char why[256];
	sc_srtp_keys keys;
	size_t max_datagram;
};

static int q_send(void *ud, const uint8_t *buf, size_t len)
{
	side *s = ud;
	side *o = s->other;
	assert_true(len <= SC_DTLS_MTU);
	assert_true(o->n < QMAX);
	if (len > s->max_datagram)
		s->max_datagram = len;
	memcpy(o->q[o->n], buf, len);
	o->qlen[o->n++] = len;
	return 0;
}

static void q_done(void *ud, const sc_srtp_keys *k)
{
	side *s = ud;
	s->done = true;
	s->keys = *k;
}

static void q_failed(void *ud, const char *why)
{
	side *s = ud;
	s->failed = true;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static void pump(side *a, side *b)
{
	for (int round = 0; round < 50 && (a->n || b->n); round++) {
		side *sides[2] = {a, b};
		for (int k = 0; k < 2; k++) {
			side *s = sides[k];
			size_t n = s->n;
			uint8_t(*copy)[1500] = malloc(sizeof(s->q));
			size_t lens[QMAX];
			memcpy(copy, s->q, sizeof(s->q));
			memcpy(lens, s->qlen, sizeof(lens));
			s->n = 0;
			for (size_t i = 0; i < n; i++)
				sc_dtls_recv(s->d, copy[i], lens[i]);
			free(copy);
		}
	}
}

static void handshake(side *a, side *b, bool tamper)
{
	char err[256];
	sc_dtls_config ca = {.ctx = NULL, .send = q_send, .on_done = q_done, .on_failed = q_failed};
	sc_dtls_config cb = ca;
	ca.ud = a, cb.ud = b;
	a->other = b, b->other = a;
	a->d = sc_dtls_new(&ca, err, sizeof(err));
	b->d = sc_dtls_new(&cb, err, sizeof(err));
	assert_non_null(a->d);
	assert_non_null(b->d);
	assert_string_not_equal(sc_dtls_fingerprint(a->d), sc_dtls_fingerprint(b->d));
	uint8_t fa[SC_DTLS_FP_LEN], fb[SC_DTLS_FP_LEN];
	assert_int_equal(sc_dtls_parse_fingerprint(sc_dtls_fingerprint(a->d), fa), 0);
	assert_int_equal(sc_dtls_parse_fingerprint(sc_dtls_fingerprint(b->d), fb), 0);
	if (tamper)
		fb[5] ^= 1;
	assert_int_equal(sc_dtls_set_remote(a->d, true, fb, err, sizeof(err)), 0);
	assert_int_equal(sc_dtls_set_remote(b->d, false, fa, err, sizeof(err)), 0);
	assert_int_equal(sc_dtls_set_remote(a->d, true, fb, err, sizeof(err)), -EALREADY);
	sc_dtls_start(a->d);
	sc_dtls_start(b->d);
	pump(a, b);
}

static void test_dtls_handshake(void **state)
{
	(void)state;
	side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	handshake(a, b, false);
	assert_true(a->done);
	assert_true(b->done);
	assert_false(a->failed || b->failed);
	assert_true(sc_dtls_done(a->d) && sc_dtls_done(b->d));
	assert_int_equal(a->keys.profile, b->keys.profile);
	assert_true(a->keys.profile == SC_SRTP_AEAD_AES_128_GCM ||
		    a->keys.profile == SC_SRTP_AES128_CM_SHA1_80);
	if (sc_srtp_gcm_supported())
		assert_int_equal(a->keys.profile, SC_SRTP_AEAD_AES_128_GCM);
	size_t kl, sl;
	assert_int_equal(sc_srtp_profile_lengths(a->keys.profile, &kl, &sl), 0);
	assert_memory_equal(a->keys.tx_key, b->keys.rx_key, kl);
	assert_memory_equal(a->keys.rx_key, b->keys.tx_key, kl);
	assert_memory_equal(a->keys.tx_salt, b->keys.rx_salt, sl);
	assert_memory_equal(a->keys.rx_salt, b->keys.tx_salt, sl);
	assert_memory_not_equal(a->keys.tx_key, a->keys.rx_key, kl);
	assert_true(a->max_datagram > 0 && b->max_datagram > 0);

	/* SRTCP from a to b, and an RTP packet a sender would protect. */
	char err[256];
	sc_srtp *sa = sc_srtp_new(&a->keys, err, sizeof(err));
	sc_srtp *sb = sc_srtp_new(&b->keys, err, sizeof(err));
	assert_non_null(sa);
	assert_non_null(sb);
	static const uint8_t pli[12] = {0x81, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t buf[12 + SC_SRTP_MAX_TRAILER];
	memcpy(buf, pli, sizeof(pli));
	size_t n = sizeof(pli);
	assert_int_equal(sc_srtp_protect_rtcp(sa, buf, &n, sizeof(buf)), 0);
	assert_true(n > sizeof(pli));
	uint8_t copy[sizeof(buf)];
	memcpy(copy, buf, n);
	size_t m = n;
	assert_int_equal(sc_srtp_unprotect_rtcp(sb, buf, &n), 0);
	assert_int_equal(n, sizeof(pli));
	assert_memory_equal(buf, pli, sizeof(pli));
	assert_int_equal(sc_srtp_unprotect_rtcp(sb, copy, &m), -EBADMSG); /* replay */
	n = sizeof(pli);
	assert_int_equal(sc_srtp_protect_rtcp(sa, buf, &n, sizeof(pli) + 4), -ENOBUFS);

	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	if (a->keys.profile == SC_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&pol.rtp);
		srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	}
	uint8_t key[SC_SRTP_MAX_KEY + SC_SRTP_MAX_SALT];
	memcpy(key, b->keys.tx_key, kl);
	memcpy(key + kl, b->keys.tx_salt, sl);
	pol.key = key;
	pol.ssrc.type = ssrc_any_outbound;
	srtp_t sender;
	assert_int_equal(srtp_create(&sender, &pol), srtp_err_status_ok);
	uint8_t rtp[64 + SRTP_MAX_TRAILER_LEN] = {0x80, 96, 0x12, 0x34, 0, 0, 0, 1, 9, 9, 9, 9};
	for (int i = 12; i < 64; i++)
		rtp[i] = (uint8_t)i;
	uint8_t plain[64];
	memcpy(plain, rtp, 64);
	int len = 64;
	assert_int_equal(srtp_protect(sender, rtp, &len), srtp_err_status_ok);
	memcpy(copy, rtp, 40);
	n = (size_t)len;
	uint8_t bad[sizeof(rtp)];
	memcpy(bad, rtp, n);
	bad[20] ^= 0x40;
	m = n;
	assert_int_equal(sc_srtp_unprotect_rtp(sa, bad, &m), -EBADMSG);
	assert_int_equal(sc_srtp_unprotect_rtp(sa, rtp, &n), 0);
	assert_int_equal(n, 64);
	assert_memory_equal(rtp, plain, 64);
	srtp_dealloc(sender);
	sc_srtp_free(sa);
	sc_srtp_free(sb);
	sc_dtls_free(a->d);
	sc_dtls_free(b->d);
	free(a);
	free(b);
}

static void test_dtls_wrong_fingerprint(void **state)
{
	(void)state;
	side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	handshake(a, b, true);
	assert_true(a->failed);
	assert_false(a->done);
	assert_non_null(strstr(a->why, "fingerprint"));
	sc_dtls_free(a->d);
	sc_dtls_free(b->d);
	free(a);
	free(b);
}

/* ---- two peers on 127.0.0.1 */

typedef struct {
	sc_peer *p;
	sc_peer_state last;
	int states;
	size_t rtcp_in;
	uint8_t rtcp[64];
	size_t rtcp_len;
	bool free_on_up;
} pside;

static void p_state(void *ud, sc_peer_state st, const char *why)
{
	pside *s = ud;
	assert_non_null(why);
	/* States only move forward, one at a time, or to FAILED. */
	assert_true(st == s->last + 1 || st == SC_PEER_FAILED);
	s->last = st;
	s->states++;
	if (st == SC_PEER_UP && s->free_on_up) {
		sc_peer_free(s->p);
		s->p = NULL;
	}
}

static void p_rtcp(void *ud, const uint8_t *pkt, size_t len)
{
	pside *s = ud;
	s->rtcp_in++;
	if (len <= sizeof(s->rtcp)) {
		memcpy(s->rtcp, pkt, len);
		s->rtcp_len = len;
	}
}

static sc_peer *mkpeer(GMainContext *ctx, pside *s, bool controlling)
{
	char err[256];
	sc_peer_config cfg = {.ctx = ctx,
			      .controlling = controlling,
			      .bind_address = "127.0.0.1",
			      .on_state = p_state,
			      .on_rtcp = p_rtcp,
			      .ud = s};
	s->last = SC_PEER_GATHERING;
	s->p = sc_peer_new(&cfg, err, sizeof(err));
	assert_non_null(s->p);
	return s->p;
}

static void describe(sc_peer *p, bool answering, sc_sdp *ret)
{
	sc_sdp_local l;
	sc_peer_local(p, answering, &l);
	memset(ret, 0, sizeof(*ret));
	ret->n_media = 1;
	sc_sdp_media *m = &ret->media[0];
	snprintf(m->kind, sizeof(m->kind), "video");
	m->port = 9;
	snprintf(m->ice_ufrag, sizeof(m->ice_ufrag), "%s", l.ice_ufrag);
	snprintf(ret->ice_pwd, sizeof(ret->ice_pwd), "%s", l.ice_pwd); /* session level */
	snprintf(m->fingerprint, sizeof(m->fingerprint), "%s", l.fingerprint);
	snprintf(m->setup, sizeof(m->setup), "%s", l.setup);
	for (size_t i = 0; i < l.n_candidates && i < SC_SDP_MAX_CANDS; i++)
		snprintf(m->candidates[m->n_candidates++], 256, "%s", l.candidates[i]);
}

static void run_until(GMainContext *ctx, bool (*cond)(void *), void *ud, int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	while (!cond(ud) && g_get_monotonic_time() < end)
		if (!g_main_context_iteration(ctx, FALSE))
			g_usleep(1000);
}

static bool both_gathered(void *ud)
{
	pside *s = ud;
	return s[0].last >= SC_PEER_GATHERED && s[1].last >= SC_PEER_GATHERED;
}

static bool both_up(void *ud)
{
	pside *s = ud;
	return (s[0].last == SC_PEER_UP || s[0].last == SC_PEER_FAILED) &&
	       (s[1].last == SC_PEER_UP || s[1].last == SC_PEER_FAILED);
}

static bool got_rtcp(void *ud)
{
	pside *s = ud;
	return s[0].rtcp_in > 0 && s[1].rtcp_in > 0;
}

static void test_peer_pair(void **state)
{
	(void)state;
	GMainContext *ctx = g_main_context_new();
	pside *s = calloc(2, sizeof(*s));
	mkpeer(ctx, &s[0], true);	  /* offers, like WHEP */
	mkpeer(ctx, &s[1], false);	  /* answers, like Janus */
	assert_int_equal(s[0].states, 0); /* nothing from inside sc_peer_new */
	run_until(ctx, both_gathered, s, 5000);
	assert_int_equal(s[0].last, SC_PEER_GATHERED);
	assert_int_equal(s[1].last, SC_PEER_GATHERED);

	sc_sdp_local l;
	sc_peer_local(s[0].p, false, &l);
	assert_string_equal(l.setup, "actpass");
	assert_true(l.n_candidates >= 1);
	assert_non_null(strstr(l.candidates[0], "127.0.0.1"));
	assert_true(strncmp(l.fingerprint, "sha-256 ", 8) == 0);
	assert_int_not_equal(l.ssrc, 0);
	uint8_t pli[12] = {0x81, 206, 0, 2};
	assert_int_equal(sc_peer_send_rtcp(s[0].p, pli, sizeof(pli)), -ENOTCONN);

	sc_sdp *offer = calloc(1, sizeof(*offer)), *answer = calloc(1, sizeof(*answer));
	describe(s[0].p, false, offer);
	describe(s[1].p, true, answer);
	char err[256];
	/* Malformed remote descriptions are refused before anything starts. */
	sc_sdp *bad = calloc(1, sizeof(*bad));
	*bad = *offer;
	snprintf(bad->media[0].fingerprint, sizeof(bad->media[0].fingerprint),
		 "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
	assert_int_equal(sc_peer_set_remote(s[1].p, bad, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sha-256"));
	*bad = *offer;
	bad->ice_pwd[0] = 0;
	assert_int_equal(sc_peer_set_remote(s[1].p, bad, 0, err, sizeof(err)), -EINVAL);
	assert_int_equal(sc_peer_set_remote(s[1].p, offer, 1, err, sizeof(err)), -EINVAL);
	free(bad);

	assert_int_equal(sc_peer_set_remote(s[1].p, offer, 0, err, sizeof(err)), 0);
	assert_int_equal(sc_peer_set_remote(s[0].p, answer, 0, err, sizeof(err)), 0);
	assert_int_equal(sc_peer_set_remote(s[0].p, answer, 0, err, sizeof(err)), -EALREADY);
	assert_int_equal(sc_peer_add_remote_candidate(s[0].p, "candidate:1 1 TCP 1 1.2.3.4 9 typ "
							      "host tcptype active"),
			 0);
	run_until(ctx, both_up, s, 10000);
	assert_int_equal(s[0].last, SC_PEER_UP);
	assert_int_equal(s[1].last, SC_PEER_UP);
	assert_int_equal(s[0].states, 4); /* gathered, checking, connected, up */

	/* SRTCP both ways, byte for byte. */
	pli[4] = 0xaa;
	assert_int_equal(sc_peer_send_rtcp(s[0].p, pli, sizeof(pli)), 0);
	pli[4] = 0xbb;
	assert_int_equal(sc_peer_send_rtcp(s[1].p, pli, sizeof(pli)), 0);
	assert_int_equal(sc_peer_send_rtcp(s[1].p, pli, 4), -EINVAL);
	run_until(ctx, got_rtcp, s, 3000);
	assert_int_equal(s[1].rtcp_in, 1);
	assert_int_equal(s[1].rtcp_len, 12);
	assert_int_equal(s[1].rtcp[4], 0xaa);
	assert_int_equal(s[0].rtcp_in, 1);
	assert_int_equal(s[0].rtcp[4], 0xbb);
	sc_peer_stats st;
	sc_peer_get_stats(s[0].p, &st);
	assert_int_equal(st.tx_rtcp, 1);
	assert_int_equal(st.rtcp, 1);
	assert_true(st.dtls >= 1);
	assert_true(st.up_us > 0);
	assert_int_equal(st.dropped_srtp + st.dropped_unknown, 0);

	sc_peer_free(s[0].p);
	sc_peer_free(s[1].p);
	sc_peer_free(NULL);
	for (int i = 0; i < 20; i++)
		g_main_context_iteration(ctx, FALSE);
	free(offer);
	free(answer);
	free(s);
	g_main_context_unref(ctx);
}

/* The owner frees a peer from its own on_state: deferred, no crash. */
static void test_peer_free_in_callback(void **state)
{
	(void)state;
	GMainContext *ctx = g_main_context_new();
	pside *s = calloc(2, sizeof(*s));
	mkpeer(ctx, &s[0], true);
	mkpeer(ctx, &s[1], false);
	s[1].free_on_up = true;
	run_until(ctx, both_gathered, s, 5000);
	sc_sdp *offer = calloc(1, sizeof(*offer)), *answer = calloc(1, sizeof(*answer));
	describe(s[0].p, false, offer);
	describe(s[1].p, true, answer);
	char err[256];
	assert_int_equal(sc_peer_set_remote(s[1].p, offer, 0, err, sizeof(err)), 0);
	assert_int_equal(sc_peer_set_remote(s[0].p, answer, 0, err, sizeof(err)), 0);
	run_until(ctx, both_up, s, 10000);
	assert_null(s[1].p);
	assert_int_equal(s[1].last, SC_PEER_UP);
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(ctx, FALSE);
	sc_peer_free(s[0].p);
	for (int i = 0; i < 20; i++)
		g_main_context_iteration(ctx, FALSE);
	free(offer);
	free(answer);
	free(s);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fingerprint_parse),
		cmocka_unit_test(test_dtls_handshake),
		cmocka_unit_test(test_dtls_wrong_fingerprint),
		cmocka_unit_test(test_peer_pair),
		cmocka_unit_test(test_peer_free_in_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
