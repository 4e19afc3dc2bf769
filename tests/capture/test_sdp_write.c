/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sdp_write.c - the SDP we write: answers to small synthetic offers
 * (codec choice, rejected sections, DTLS roles, our own values checked
 * before they reach a line) and our recvonly offer for WHEP. Every text
 * built here is parsed back with sc_sdp_parse. Answers to the real offers
 * of the test rig are checked in test_sdp.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"
#include "sdp_fixture.h"

/* Answers a synthetic offer; the choices, or accepted=false for all on failure. */
static char *answer_of(const char *offer, sc_sdp_choice *ch, size_t n)
{
	sc_sdp *s = parse_ok(offer);
	char err[256] = "", *ans;

	assert_int_equal(s->n_media, n);
	ans = sc_sdp_answer(s, &ours, ch, err, sizeof(err));
	if (ans) {
		sc_sdp *back = parse_ok(ans);

		assert_int_equal(back->n_media, n);
		free(back);
	}
	free(s);
	return ans;
}

static void test_answer_codec_choice(void **state)
{
	sc_sdp_choice ch[4];
	char *a;

	(void)state;
	/* The offerer's order: H.264 (mode 1) first wins over VP8. */
	a = answer_of(HEAD "a=group:BUNDLE v\r\n" TRANSPORT
			   "m=video 9 UDP/TLS/RTP/SAVPF 102 96 97\r\na=mid:v\r\na=sendrecv\r\n"
			   "a=rtcp-mux\r\na=rtpmap:102 h264/90000\r\n"
			   "a=fmtp:102 packetization-mode=1\r\na=rtpmap:96 VP8/90000\r\n"
			   "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtcp-fb:* nack\r\n",
		      ch, 1);
	assert_non_null(a);
	assert_string_equal(ch[0].codec, "h264");
	assert_int_equal(ch[0].pt, 102);
	assert_int_equal(ch[0].rtx_pt, -1); /* 97 repairs VP8 */
	assert_non_null(strstr(a, "a=fmtp:102 packetization-mode=1\r\n"));
	assert_non_null(strstr(a, "a=rtcp-fb:102 nack\r\n"));
	assert_null(strstr(a, "nack pli")); /* not offered: not answered */
	free(a);

	/* H.264 mode 0 listed first: VP8 (pass 0) is preferred to it. */
	a = answer_of(HEAD "a=group:BUNDLE v\r\n" TRANSPORT
			   "m=video 9 UDP/TLS/RTP/SAVPF 100 96\r\na=mid:v\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:100 H264/90000\r\na=rtpmap:96 VP8/90000\r\n",
		      ch, 1);
	assert_string_equal(ch[0].codec, "vp8");
	free(a);

	/* Only H.264 mode 0 (fmtp absent): taken as a fallback. Mode 2: never. */
	a = answer_of(HEAD "a=group:BUNDLE v w\r\n" TRANSPORT
			   "m=video 9 UDP/TLS/RTP/SAVPF 101 100\r\na=mid:v\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:101 H264/90000\r\n"
			   "a=fmtp:101 packetization-mode=2\r\na=rtpmap:100 H264/90000\r\n"
			   "a=fmtp:100 profile-level-id=42e01f\r\n"
			   "m=video 9 UDP/TLS/RTP/SAVPF 101\r\na=mid:w\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:101 H264/90000\r\n"
			   "a=fmtp:101 packetization-mode=2\r\n",
		      ch, 2);
	assert_true(ch[0].accepted);
	assert_int_equal(ch[0].pt, 100);
	assert_false(ch[1].accepted);
	assert_non_null(strstr(a, "a=fmtp:100 profile-level-id=42e01f\r\n"));
	assert_non_null(strstr(a, "a=group:BUNDLE v\r\n"));
	free(a);

	/* Audio needs opus/48000; video codecs in an audio section do not count. */
	a = answer_of(HEAD "a=group:BUNDLE a b\r\n" TRANSPORT
			   "m=audio 9 UDP/TLS/RTP/SAVPF 0 8 96\r\na=mid:a\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=audio 9 UDP/TLS/RTP/SAVPF 0 109\r\na=mid:b\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:109 OPUS/48000/2\r\n",
		      ch, 2);
	assert_false(ch[0].accepted);
	assert_true(ch[1].accepted);
	assert_string_equal(ch[1].codec, "opus");
	assert_non_null(strstr(a, "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(a, "a=rtpmap:109 OPUS/48000/2\r\n"));
	free(a);
}

static void test_answer_rejections(void **state)
{
	sc_sdp_choice ch[8];
	char *a;

	(void)state;
	/* recvonly, inactive, no rtcp-mux, not bundled, port 0, plain RTP/AVP */
	a = answer_of(HEAD "a=group:BUNDLE 0 1 2 4 5 6\r\n" TRANSPORT
			   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=sendonly\r\n"
			   "a=rtpmap:96 VP8/90000\r\n"
			   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:4\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=video 9 RTP/AVP 96\r\na=mid:5\r\na=sendonly\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
			   "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:6\r\n"
			   "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n",
		      ch, 7);
	assert_non_null(a);
	for (size_t i = 0; i < 6; i++)
		assert_false(ch[i].accepted);
	assert_true(ch[6].accepted); /* no direction attribute: sendrecv */
	assert_int_equal(count(a, "a=inactive"), 6);
	assert_non_null(strstr(a, "a=group:BUNDLE 6\r\n"));
	assert_int_equal(count(a, "a=candidate:"), 2);
	assert_non_null(strstr(a, "a=mid:6\r\na=recvonly\r\n"));
	free(a);

	/* Nothing receivable (the last publisher left): every section is
	 * rejected, no BUNDLE group, and that is still an answer. */
	memset(ch, 0x5a, sizeof(ch));
	a = answer_of(HEAD TRANSPORT "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", ch, 1);
	assert_non_null(a);
	assert_false(ch[0].accepted);
	assert_null(strstr(a, "a=group"));
	assert_non_null(strstr(a, "m=application 0 "));
	free(a);

	/* No BUNDLE offered: one transport, so one section, and no group. */
	a = answer_of(HEAD TRANSPORT "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtcp-mux\r\n"
				     "a=rtpmap:111 opus/48000/2\r\n"
				     "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtcp-mux\r\n"
				     "a=rtpmap:96 VP8/90000\r\n",
		      ch, 2);
	assert_true(ch[0].accepted);
	assert_false(ch[1].accepted);
	assert_null(strstr(a, "a=group"));
	assert_null(strstr(a, "a=mid"));
	free(a);
}

static void test_answer_setup_and_local(void **state)
{
#define OFF1                                                                    \
	HEAD "a=group:BUNDLE v\r\na=ice-ufrag:abcd\r\n"                         \
	     "a=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 AB\r\n" \
	     "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=setup:"
#define OFF2 "\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
	static const char *const roles[][2] = {
		{"actpass", "active"}, {"active", "passive"}, {"passive", "active"}};
	sc_sdp_choice ch[1];
	char text[1024], err[128], *a;
	sc_sdp *s;
	sc_sdp_local l;
	const char *bad_cands[] = {"1 1 udp 1 127.0.0.1 1 typ host\r\na=inject:1"};

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		sc_sdp *back;

		snprintf(text, sizeof(text), "%s%s%s", OFF1, roles[i][0], OFF2);
		s = parse_ok(text);
		a = sc_sdp_answer(s, &ours, ch, err, sizeof(err));
		assert_non_null(a);
		back = parse_ok(a);
		assert_string_equal(sc_sdp_setup(back, 0), roles[i][1]);
		free(back);
		free(a);
		free(s);
	}
	snprintf(text, sizeof(text), "%s%s%s", OFF1, "actpass", OFF2);
	s = parse_ok(text);
	/* Our own values are checked: nothing can inject lines. */
	l = ours;
	l.ice_ufrag = "ab\r\na=x";
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	assert_non_null(strstr(err, "ICE"));
	l = ours;
	l.fingerprint = "sha-256 AB:CD\r\n";
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	l = ours;
	l.fingerprint = NULL;
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	l = ours;
	l.setup = "bogus";
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	l = ours;
	l.candidates = bad_cands;
	l.n_candidates = 1;
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	l.n_candidates = SC_SDP_MAX_CANDS + 1;
	assert_null(sc_sdp_answer(s, &l, ch, err, sizeof(err)));
	assert_null(sc_sdp_answer(s, NULL, ch, err, sizeof(err)));
	assert_null(sc_sdp_answer(NULL, &ours, ch, err, sizeof(err)));
	/* No candidates yet (trickle later): no end-of-candidates either. */
	l = ours;
	l.n_candidates = 0;
	l.candidates = NULL;
	a = sc_sdp_answer(s, &l, ch, NULL, 0);
	assert_non_null(a);
	assert_null(strstr(a, "candidate"));
	free(a);
	free(s);
}

static void test_offer_recvonly(void **state)
{
	char *o = sc_sdp_offer_recvonly(&ours, 1, 2);
	sc_sdp *s;
	sc_sdp_local l = ours;

	(void)state;
	assert_non_null(o);
	s = parse_ok(o);
	assert_int_equal(s->n_media, 3);
	assert_int_equal(s->n_bundle, 3);
	for (size_t i = 0; i < 3; i++) {
		const sc_sdp_media *m = &s->media[i];
		char mid[4];

		snprintf(mid, sizeof(mid), "%zu", i);
		assert_string_equal(m->mid, mid);
		assert_string_equal(s->bundle[i], mid);
		assert_string_equal(m->kind, i == 0 ? "audio" : "video");
		assert_int_equal(m->dir, SC_SDP_RECVONLY);
		assert_true(m->rtcp_mux);
		assert_int_equal(m->ext_mid, 1);
		assert_string_equal(sc_sdp_setup(s, i), "active"); /* as given */
		assert_string_equal(sc_sdp_fingerprint(s, i), FP_OURS);
		assert_int_equal(m->n_candidates, i == 0 ? 2 : 0);
	}
	assert_string_equal(s->media[0].fmts[0].codec, "opus");
	assert_int_equal(s->media[1].n_fmts, 4);
	assert_string_equal(fmt(&s->media[1], 96)->codec, "VP8");
	assert_int_equal(fmt(&s->media[1], 97)->apt, 96);
	assert_string_equal(fmt(&s->media[1], 102)->codec, "H264");
	assert_int_equal(fmt(&s->media[1], 103)->apt, 102);
	assert_true(fmt(&s->media[1], 102)->fb_pli);
	free(s);
	free(o);

	l.setup = NULL; /* default for an offer */
	o = sc_sdp_offer_recvonly(&l, 0, 1);
	s = parse_ok(o);
	assert_string_equal(sc_sdp_setup(s, 0), "actpass");
	free(s);
	free(o);
	assert_null(sc_sdp_offer_recvonly(&ours, 0, 0));
	assert_null(sc_sdp_offer_recvonly(&ours, SC_SDP_MAX_MEDIA, 1));
	assert_null(sc_sdp_offer_recvonly(&ours, 0xffffffffu, 2)); /* no wrap-around */
	assert_null(sc_sdp_offer_recvonly(NULL, 1, 1));
	o = sc_sdp_offer_recvonly(&ours, SC_SDP_MAX_MEDIA / 2, SC_SDP_MAX_MEDIA / 2);
	s = parse_ok(o);
	assert_int_equal(s->n_media, SC_SDP_MAX_MEDIA);
	free(s);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_codec_choice),
		cmocka_unit_test(test_answer_rejections),
		cmocka_unit_test(test_answer_setup_and_local),
		cmocka_unit_test(test_offer_recvonly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
