/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sdp.c - SDP parsing, and our answers to real offers captured
 * from the test rig (tests/capture/data, found through SC_TEST_DATA):
 *
 *   janus_subscriber_offer.sdp  Janus 1.1.2 VideoRoom multistream subscriber
 *                               offer for two feeds (VP8 + Opus, H.264 + Opus)
 *   webrtcbin_offer.sdp         GStreamer 1.22 webrtcbin sendonly offer with
 *                               Opus, VP8, H.264, PCMU (all with RTX) and a
 *                               data channel, max-bundle (bundle-only)
 *
 * Both answers built here were accepted by the real peers when the
 * offers were captured (Janus "started": "ok"; webrtcbin
 * set-remote-description to the stable state).
 *
 * Answers to synthetic offers and our recvonly offer: test_sdp_write.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"
#include "sdp_fixture.h"

static char *read_data(const char *name, size_t *ret_len)
{
	const char *dir = getenv("SC_TEST_DATA");
	char path[1024], *text;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/capture/data", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s (set SC_TEST_DATA)", path);
	text = malloc(SC_SDP_MAX_TEXT + 1);
	assert_non_null(text);
	n = fread(text, 1, SC_SDP_MAX_TEXT, f);
	fclose(f);
	text[n] = '\0';
	*ret_len = n;
	return text;
}

/* Checks every accepted section of our answer as parsed back. */
static void check_answer_media(const sc_sdp *a, size_t i, const sc_sdp_choice *c, bool first)
{
	const sc_sdp_media *m = &a->media[i];

	assert_true(c->accepted);
	assert_int_equal(m->port, 9);
	assert_int_equal(m->dir, SC_SDP_RECVONLY);
	assert_true(m->rtcp_mux);
	assert_int_equal(m->n_fmts, c->rtx_pt >= 0 ? 2 : 1);
	assert_int_equal(m->fmts[0].pt, c->pt);
	assert_int_equal(m->fmts[0].clock, c->clock);
	if (c->rtx_pt >= 0) {
		assert_int_equal(m->fmts[1].pt, c->rtx_pt);
		assert_string_equal(m->fmts[1].codec, "rtx");
		assert_int_equal(m->fmts[1].apt, c->pt);
	}
	assert_string_equal(sc_sdp_ice_ufrag(a, i), "sc01");
	assert_string_equal(sc_sdp_ice_pwd(a, i), "0123456789abcdefghijklmn");
	assert_string_equal(sc_sdp_fingerprint(a, i), FP_OURS);
	assert_string_equal(m->fingerprint, FP_OURS); /* media level */
	assert_string_equal(sc_sdp_setup(a, i), "active");
	assert_int_equal(m->n_candidates, first ? 2 : 0);
	if (first)
		assert_string_equal(m->candidates[0], CAND_OURS);
	assert_false(m->fmts[0].fb_transport_cc);
	assert_int_equal(m->ssrc, 0);
}

static void test_janus_offer(void **state)
{
	size_t len;
	char *text = read_data("janus_subscriber_offer.sdp", &len), err[256] = "";
	sc_sdp *s = sc_sdp_parse(text, len, err, sizeof(err)), *a;
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	const sc_sdp_fmt *f;
	char *ans;
	static const char *const kinds[] = {"video", "audio", "video", "audio"};

	(void)state;
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(s->n_media, 4);
	assert_int_equal(s->n_bundle, 4);
	assert_string_equal(s->fingerprint,
			    "sha-256 CC:54:75:83:EC:4A:C1:A1:E5:83:DE:61:51:0B:30:98:"
			    "0A:D3:2C:01:4F:BA:A2:1C:C0:D7:5B:12:91:12:2D:36");
	assert_string_equal(s->ice_ufrag, "");
	for (size_t i = 0; i < 4; i++) {
		const sc_sdp_media *m = &s->media[i];
		char mid[4];

		snprintf(mid, sizeof(mid), "%zu", i);
		assert_string_equal(s->bundle[i], mid);
		assert_string_equal(m->mid, mid);
		assert_string_equal(m->kind, kinds[i]);
		assert_string_equal(m->proto, "UDP/TLS/RTP/SAVPF");
		assert_int_equal(m->port, 9);
		assert_int_equal(m->dir, SC_SDP_SENDONLY);
		assert_true(m->rtcp_mux);
		assert_int_equal(m->ext_mid, 4);
		assert_string_equal(m->ice_ufrag, "pzoE");
		assert_string_equal(sc_sdp_ice_pwd(s, i), "koQnodbeD66zJbD3fjTaEh");
		assert_string_equal(sc_sdp_fingerprint(s, i), s->fingerprint);
		assert_string_equal(sc_sdp_setup(s, i), "actpass");
		assert_int_equal(m->n_candidates, 1);
		assert_string_equal(m->candidates[0],
				    "1 1 udp 2015363327 127.0.0.2 39224 typ host");
	}
	/* VP8 + RTX */
	assert_int_equal(s->media[0].n_fmts, 2);
	f = fmt(&s->media[0], 96);
	assert_string_equal(f->codec, "VP8");
	assert_int_equal(f->clock, 90000);
	assert_int_equal(f->apt, -1);
	assert_true(f->fb_nack && f->fb_pli && f->fb_fir && f->fb_transport_cc);
	f = fmt(&s->media[0], 97);
	assert_string_equal(f->codec, "rtx");
	assert_int_equal(f->apt, 96);
	assert_false(f->fb_nack);
	assert_int_equal(s->media[0].ssrc, 3390724324u);
	assert_int_equal(s->media[0].rtx_ssrc, 4057912524u);
	assert_string_equal(s->media[0].msid, "janus janus0");
	/* Opus, no RTX */
	f = fmt(&s->media[1], 111);
	assert_string_equal(f->codec, "opus");
	assert_int_equal(f->clock, 48000);
	assert_int_equal(f->channels, 2);
	assert_true(f->fb_transport_cc);
	assert_false(f->fb_nack);
	assert_int_equal(s->media[1].ssrc, 3779256696u);
	assert_int_equal(s->media[1].rtx_ssrc, 0);
	/* H.264 + RTX */
	f = fmt(&s->media[2], 107);
	assert_string_equal(f->codec, "H264");
	assert_string_equal(f->fmtp, "profile-level-id=42e01f;packetization-mode=1");
	assert_int_equal(fmt(&s->media[2], 108)->apt, 107);
	assert_int_equal(s->media[2].ssrc, 23137874u);
	assert_int_equal(s->media[2].rtx_ssrc, 356376560u);
	assert_int_equal(s->media[3].ssrc, 551862380u);

	ans = sc_sdp_answer(s, &ours, ch, err, sizeof(err));
	if (!ans)
		fail_msg("%s", err);
	assert_non_null(strstr(ans, "\r\na=group:BUNDLE 0 1 2 3\r\n"));
	assert_non_null(strstr(ans, "\r\na=msid-semantic: WMS\r\n"));
	assert_non_null(
		strstr(ans, "\r\na=fmtp:107 profile-level-id=42e01f;packetization-mode=1\r\n"));
	assert_int_equal(count(ans, "a=end-of-candidates"), 1);
	assert_int_equal(count(ans, "\n"), count(ans, "\r\n"));
	assert_int_equal(strncmp(ans, "v=0\r\no=- ", 9), 0);
	assert_string_equal(ch[0].codec, "vp8");
	assert_int_equal(ch[0].pt, 96);
	assert_int_equal(ch[0].rtx_pt, 97);
	assert_string_equal(ch[1].codec, "opus");
	assert_int_equal(ch[1].pt, 111);
	assert_int_equal(ch[1].rtx_pt, -1);
	assert_int_equal(ch[1].clock, 48000);
	assert_string_equal(ch[2].codec, "h264");
	assert_int_equal(ch[2].pt, 107);
	assert_int_equal(ch[2].rtx_pt, 108);
	assert_string_equal(ch[3].codec, "opus");

	a = parse_ok(ans);
	assert_int_equal(a->n_media, 4);
	assert_int_equal(a->n_bundle, 4);
	for (size_t i = 0; i < 4; i++) {
		check_answer_media(a, i, &ch[i], i == 0);
		assert_string_equal(a->media[i].mid, s->media[i].mid);
		assert_string_equal(a->media[i].kind, s->media[i].kind);
		assert_int_equal(a->media[i].ext_mid, 4);
	}
	f = &a->media[0].fmts[0];
	assert_true(f->fb_nack && f->fb_pli && f->fb_fir);
	f = &a->media[1].fmts[0];
	assert_string_equal(f->codec, "opus");
	assert_int_equal(f->channels, 2);
	assert_false(f->fb_nack || f->fb_pli || f->fb_fir);
	free(a);
	free(ans);
	free(s);
	free(text);
}

static void test_webrtcbin_offer(void **state)
{
	size_t len;
	char *text = read_data("webrtcbin_offer.sdp", &len), err[256] = "";
	sc_sdp *s = sc_sdp_parse(text, len, err, sizeof(err)), *a;
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	const sc_sdp_fmt *f;
	char *ans;
	static const char *const mids[] = {"audio0", "video1", "video2", "audio3", "application4"};
	const char *fp = "sha-256 E2:3C:A4:AF:4A:C1:CF:02:3C:3A:BF:1C:58:B4:BA:12:D9:30:AA:68:E3:"
			 "21:34:7B:1E:23:46:C0:74:E4:25:BF";

	(void)state;
	if (!s)
		fail_msg("%s", err);
	assert_int_equal(s->n_media, 5);
	assert_int_equal(s->n_bundle, 5);
	assert_string_equal(s->fingerprint, "");
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(s->bundle[i], mids[i]);
		assert_string_equal(s->media[i].mid, mids[i]);
		assert_string_equal(sc_sdp_fingerprint(s, i), fp);
		assert_string_equal(sc_sdp_ice_ufrag(s, i), "ifrJCKXsegeqrTsX6Haz/iNqQBKWIDIk");
		assert_string_equal(sc_sdp_ice_pwd(s, i), "6AjInWZJd6nkpFPWmBfhepmY2pFM7fRn");
		assert_string_equal(sc_sdp_setup(s, i), "actpass");
		assert_int_equal(s->media[i].port, i == 0 ? 9 : 0);
		assert_int_equal(s->media[i].bundle_only, i != 0);
		assert_int_equal(s->media[i].n_candidates, i == 0 ? 1 : 0);
	}
	assert_string_equal(s->media[0].candidates[0],
			    "1 1 UDP 2015363327 127.0.0.2 51106 typ host");
	f = fmt(&s->media[0], 111);
	assert_string_equal(f->codec, "OPUS");
	assert_string_equal(f->fmtp, "sprop-stereo=0;sprop-maxcapturerate=48000");
	assert_true(f->fb_nack && f->fb_transport_cc);
	assert_int_equal(fmt(&s->media[0], 97)->apt, 111);
	assert_int_equal(fmt(&s->media[0], 97)->clock, 48000);
	assert_int_equal(s->media[0].ssrc, 2509815799u);
	assert_int_equal(s->media[0].rtx_ssrc, 2970160935u);
	/* msid from the old a=ssrc:N msid: form */
	assert_string_equal(s->media[0].msid, "user4166687719@host-9b0ac7ab webrtctransceiver0");
	assert_int_equal(s->media[0].ext_mid, 0);
	f = fmt(&s->media[2], 102);
	assert_non_null(strstr(f->fmtp, "sprop-parameter-sets="));
	assert_int_equal(s->media[2].ssrc, 3965182067u);
	assert_int_equal(s->media[2].rtx_ssrc, 663442654u);
	assert_string_equal(fmt(&s->media[3], 0)->codec, "PCMU");
	assert_string_equal(s->media[4].kind, "application");
	assert_string_equal(s->media[4].proto, "UDP/DTLS/SCTP");
	assert_string_equal(s->media[4].fmt0, "webrtc-datachannel");
	assert_int_equal(s->media[4].n_fmts, 0);
	assert_false(s->media[4].rtcp_mux);

	ans = sc_sdp_answer(s, &ours, ch, err, sizeof(err));
	if (!ans)
		fail_msg("%s", err);
	assert_non_null(strstr(ans, "\r\na=group:BUNDLE audio0 video1 video2\r\n"));
	/* our own fmtp for H.264: no sprop-parameter-sets echoed */
	assert_non_null(
		strstr(ans, "\r\na=fmtp:102 profile-level-id=42c015;packetization-mode=1\r\n"));
	assert_null(strstr(ans, "sprop"));
	assert_non_null(strstr(ans, "\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"));
	assert_non_null(strstr(ans, "\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
	assert_string_equal(ch[0].codec, "opus");
	assert_int_equal(ch[0].rtx_pt, 97);
	assert_string_equal(ch[1].codec, "vp8");
	assert_int_equal(ch[1].rtx_pt, 98);
	assert_string_equal(ch[2].codec, "h264");
	assert_int_equal(ch[2].pt, 102);
	assert_int_equal(ch[2].rtx_pt, 99);
	assert_false(ch[3].accepted);
	assert_false(ch[4].accepted);
	assert_int_equal(ch[3].pt, -1);

	a = parse_ok(ans);
	assert_int_equal(a->n_media, 5);
	assert_int_equal(a->n_bundle, 3);
	for (size_t i = 0; i < 3; i++)
		check_answer_media(a, i, &ch[i], i == 0);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(a->media[i].mid, mids[i]);
	assert_true(a->media[0].fmts[0].fb_nack);
	assert_false(a->media[0].fmts[0].fb_pli); /* audio: no PLI/FIR */
	assert_true(a->media[2].fmts[0].fb_pli && a->media[2].fmts[0].fb_fir);
	assert_int_equal(a->media[3].port, 0);
	assert_int_equal(a->media[3].dir, SC_SDP_INACTIVE);
	assert_false(a->media[3].bundle_only);
	assert_string_equal(a->media[3].fmt0, "0");
	assert_int_equal(a->media[4].port, 0);
	assert_string_equal(a->media[4].kind, "application");
	assert_int_equal(a->media[4].dir, SC_SDP_INACTIVE);
	/* webrtcbin 1.22 wants ICE and DTLS attributes on every section */
	assert_string_equal(a->media[4].ice_ufrag, "sc01");
	assert_string_equal(a->media[4].fingerprint, FP_OURS);
	free(a);
	free(ans);
	free(s);
	free(text);
}

/* ---------------------------------------------------------------- malformed input */

#define M_VP8 "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n"

static void expect_bad(const char *text, size_t len, const char *msg)
{
	char err[256] = "";
	sc_sdp *s = sc_sdp_parse(text, len, err, sizeof(err));

	if (s)
		fail_msg("accepted: %.*s", (int)(len > 200 ? 200 : len), text);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
}

static void bad_str(const char *text, const char *msg)
{
	expect_bad(text, strlen(text), msg);
}

static void test_malformed(void **state)
{
	char *big;
	size_t n;

	(void)state;
	bad_str("", "empty");
	bad_str("\r\n\r\n", "empty");
	bad_str("v=0\r\n", "no m= line");
	bad_str(HEAD TRANSPORT, "no m= line");
	bad_str("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", "line 1: the first line is not v=0");
	bad_str("v=1\r\n", "line 1");
	bad_str(HEAD "v=0\r\n" M_VP8, "line 5: second v=");
	bad_str(HEAD "garbage\r\n", "line 5: not a type=value");
	bad_str(HEAD "=x\r\n", "line 5");
	bad_str(HEAD "A=x\r\n", "line 5");
	/* truncated lines */
	bad_str(HEAD "m=audio", "line 5: bad m= line");
	bad_str(HEAD "m=audio 9", "bad m= line");
	bad_str(HEAD "m=audio 9 UDP/TLS/RTP/SAVPF", "no format");
	bad_str(HEAD "m=", "bad m= line");
	bad_str(HEAD M_VP8 "a=rtpmap:96", "bad a=rtpmap");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8", "bad a=rtpmap");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/", "clock rate");
	bad_str(HEAD M_VP8 "a=fmtp:", "bad a=fmtp");
	/* numbers */
	bad_str(HEAD "m=video x UDP/TLS/RTP/SAVPF 96\r\n", "port");
	bad_str(HEAD "m=video 65536 UDP/TLS/RTP/SAVPF 96\r\n", "port");
	bad_str(HEAD "m=video -1 UDP/TLS/RTP/SAVPF 96\r\n", "port");
	bad_str(HEAD "m=video 9/x UDP/TLS/RTP/SAVPF 96\r\n", "port");
	bad_str(HEAD "m=video 99999999999999999999 UDP/TLS/RTP/SAVPF 96\r\n", "port");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF 128\r\n", "payload type");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF vp8\r\n", "payload type");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF 96 +97\r\n", "payload type");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF 96 96\r\n", "duplicate");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n",
		"too many formats");
	bad_str(HEAD "m=verylongmediakind 9 UDP/TLS/RTP/SAVPF 96\r\n", "media");
	bad_str(HEAD "m=video 9 UDP/TLS/RTP/SAVPF/AND/A/VERY/LONG/SUFFIX 96\r\n", "proto");
	/* bad rtpmap */
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/abc\r\n", "clock rate");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/0\r\n", "clock rate");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/90000/0\r\n", "channels");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/90000/256\r\n", "channels");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/90000/2/1\r\n", "channels");
	bad_str(HEAD M_VP8 "a=rtpmap:96 /90000\r\n", "encoding");
	bad_str(HEAD M_VP8 "a=rtpmap:96 VP8/90000 extra\r\n", "bad a=rtpmap");
	bad_str(HEAD M_VP8 "a=rtpmap:x VP8/90000\r\n", "payload type");
	bad_str(HEAD M_VP8 "a=rtpmap:300 VP8/90000\r\n", "payload type");
	bad_str(HEAD M_VP8 "a=rtpmap:96 ABCDEFGHIJKLMNOPQRSTUVWXYZ/90000\r\n", "too long");
	/* other attributes */
	bad_str(HEAD M_VP8 "a=fmtp:96 apt=300\r\n", "apt");
	bad_str(HEAD M_VP8 "a=fmtp:96 apt=x\r\n", "apt");
	bad_str(HEAD M_VP8 "a=rtcp-fb:abc nack\r\n", "bad a=rtcp-fb");
	bad_str(HEAD M_VP8 "a=rtcp-fb:96\r\n", "bad a=rtcp-fb");
	bad_str(HEAD M_VP8 "a=extmap:0 urn:x\r\n", "bad a=extmap");
	bad_str(HEAD M_VP8 "a=extmap:256 urn:x\r\n", "bad a=extmap");
	bad_str(HEAD M_VP8 "a=extmap:4\r\n", "bad a=extmap");
	bad_str(HEAD M_VP8 "a=ssrc:x cname:a\r\n", "bad a=ssrc");
	bad_str(HEAD M_VP8 "a=ssrc:4294967296 cname:a\r\n", "bad a=ssrc");
	bad_str(HEAD M_VP8 "a=ssrc-group:FID 1\r\n", "FID");
	bad_str(HEAD M_VP8 "a=ssrc-group:FID 1 x\r\n", "FID");
	bad_str(HEAD M_VP8 "a=mid:0123456789012345678901234567890123\r\n", "bad a=mid");
	bad_str(HEAD M_VP8 "a=mid:\r\n", "bad a=mid");
	bad_str(HEAD M_VP8 "a=mid:a b\r\n", "bad a=mid");
	bad_str(HEAD M_VP8 "a=mid:0\r\n" M_VP8 "a=mid:0\r\n", "line 8: bad a=mid: duplicate");
	bad_str(HEAD "a=group:BUNDLE 0123456789012345678901234567890123\r\n" M_VP8, "mid too long");
	bad_str(HEAD M_VP8 "a=ice-ufrag:ab:cd\r\n", "ice-ufrag");
	bad_str(HEAD "a=ice-pwd\r\n" M_VP8, "ice-pwd");
	bad_str(HEAD "a=fingerprint:sha-256\r\n" M_VP8, "fingerprint");
	bad_str(HEAD "a=fingerprint:sha-256 XY:ZZ\r\n" M_VP8, "fingerprint");
	bad_str(HEAD M_VP8 "a=setup:maybe\r\n", "setup");
	bad_str(HEAD M_VP8 "a=candidate:1 1 udp\r\n", "bad a=candidate");
	bad_str(HEAD M_VP8 "a=candidate:1 1 udp 1 127.0.0.1 9 host x\r\n", "bad a=candidate");
	bad_str(HEAD M_VP8 "a=candidate:1 1 udp 1 127.0.0.1 9 typ\r\n", "bad a=candidate");
	/* NUL and CR inside a line */
	expect_bad(HEAD M_VP8 "a=mid:a\0b\r\n", sizeof(HEAD M_VP8 "a=mid:a\0b\r\n") - 1,
		   "line 6: NUL");
	expect_bad("v=0\0\r\n" M_VP8, 6 + strlen(M_VP8), "line 1: NUL");
	bad_str(HEAD M_VP8 "a=mid:a\rb\r\n", "line 6: NUL or CR");
	/* huge counts: lines, sections, bundle mids, text */
	big = malloc(SC_SDP_MAX_TEXT + 64);
	assert_non_null(big);
	n = (size_t)sprintf(big, HEAD "a=x:");
	memset(big + n, 'a', 4097);
	strcpy(big + n + 4097, "\r\n" M_VP8);
	bad_str(big, "line 5: line too long");
	n = (size_t)sprintf(big, HEAD);
	for (int i = 0; i <= SC_SDP_MAX_MEDIA; i++)
		n += (size_t)sprintf(big + n, M_VP8);
	bad_str(big, "line 37: too many m= lines");
	n = (size_t)sprintf(big, HEAD "a=group:BUNDLE");
	for (int i = 0; i <= SC_SDP_MAX_MEDIA; i++)
		n += (size_t)sprintf(big + n, " m%d", i);
	strcpy(big + n, "\r\n" M_VP8);
	bad_str(big, "too many mids");
	n = (size_t)sprintf(big, HEAD M_VP8);
	while (n < SC_SDP_MAX_TEXT)
		n += (size_t)sprintf(big + n, "a=x\r\n");
	expect_bad(big, n, "longer than");
	assert_null(sc_sdp_parse(NULL, 0, NULL, 0));
	assert_null(sc_sdp_parse("", 0, NULL, 0)); /* err may be NULL */
	free(big);
}

static void test_lenient(void **state)
{
	char text[8192];
	size_t n;
	sc_sdp *s;

	(void)state;
	/* LF only, blank lines, no final newline, unknown types and attributes */
	s = parse_ok("v=0\no=- 1 1 IN IP4 0.0.0.0\n\nx=whatever\na=foo:bar\na=sendonly\n"
		     "a=extmap:7 urn:ietf:params:rtp-hdrext:sdes:mid\n"
		     "m=video 9/2 UDP/TLS/RTP/SAVPF 96 97\na=unknown\na=rtpmap:98 VP9/90000\n"
		     "a=fmtp:98 apt=1000\na=rtcp-fb:99 nack\na=rtcp-fb:* nack\n"
		     "a=rtcp-fb:96 goog-remb\na=ssrc:5 cname:x\na=ssrc:6 cname:y\n"
		     "a=ssrc-group:SIM 5 6\na=msid:s t\na=ssrc:5 msid:other t\n"
		     "a=group:BUNDLE 1\na=rtpmap:96 VP8/90000");
	assert_int_equal(s->n_media, 1);
	assert_int_equal(s->n_bundle, 0); /* group at media level: ignored */
	assert_int_equal(s->media[0].port, 9);
	assert_int_equal(s->media[0].dir, SC_SDP_SENDONLY); /* session default */
	assert_int_equal(s->media[0].ext_mid, 7);	    /* session-level extmap */
	assert_string_equal(s->media[0].fmts[0].codec, "VP8");
	assert_string_equal(s->media[0].fmts[1].codec, "");
	assert_true(s->media[0].fmts[0].fb_nack && s->media[0].fmts[1].fb_nack);
	assert_int_equal(s->media[0].ssrc, 5);
	assert_int_equal(s->media[0].rtx_ssrc, 0);
	assert_string_equal(s->media[0].msid, "s t"); /* a=msid wins */
	free(s);

	/* More candidates than fit: the first SC_SDP_MAX_CANDS are kept. */
	n = (size_t)sprintf(text, HEAD M_VP8);
	for (int i = 0; i < 40; i++)
		n += (size_t)sprintf(text + n, "a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\r\n",
				     i, 1000 + i);
	s = parse_ok(text);
	assert_int_equal(s->media[0].n_candidates, SC_SDP_MAX_CANDS);
	assert_string_equal(s->media[0].candidates[15], "15 1 udp 1 127.0.0.1 1015 typ host");
	free(s);

	/* Exactly the limits: 32 sections, 16 formats, a 4096-byte line. */
	n = (size_t)sprintf(text, HEAD "a=x:");
	memset(text + n, 'a', 4096 - 4);
	n += 4096 - 4;
	n += (size_t)sprintf(text + n, "\r\n");
	for (int i = 0; i < SC_SDP_MAX_MEDIA; i++)
		n += (size_t)sprintf(text + n, "m=video 9 UDP/TLS/RTP/SAVPF 0 1 2 3 4 5 6 7 8 9 10 "
					       "11 12 13 14 127\r\n");
	s = parse_ok(text);
	assert_int_equal(s->n_media, SC_SDP_MAX_MEDIA);
	assert_int_equal(s->media[31].n_fmts, SC_SDP_MAX_FMTS);
	assert_int_equal(s->media[31].fmts[15].pt, 127);
	free(s);
}

static void test_accessors(void **state)
{
	sc_sdp *s = parse_ok(HEAD TRANSPORT M_VP8 "a=ice-ufrag:mine\r\na=setup:passive\r\n" M_VP8);

	(void)state;
	assert_string_equal(sc_sdp_ice_ufrag(s, 0), "mine");
	assert_string_equal(sc_sdp_ice_ufrag(s, 1), "abcd");
	assert_string_equal(sc_sdp_ice_ufrag(s, 99), "abcd");
	assert_string_equal(sc_sdp_setup(s, 0), "passive");
	assert_string_equal(sc_sdp_setup(s, 1), "actpass");
	assert_string_equal(sc_sdp_ice_pwd(s, 1), "abcdefghijklmnopqrstuv");
	assert_string_equal(sc_sdp_fingerprint(s, 1), "sha-256 AB:CD");
	assert_string_equal(sc_sdp_ice_ufrag(NULL, 0), "");
	free(s);
	s = parse_ok(HEAD M_VP8);
	assert_string_equal(sc_sdp_fingerprint(s, 0), "");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_janus_offer), cmocka_unit_test(test_webrtcbin_offer),
		cmocka_unit_test(test_malformed),   cmocka_unit_test(test_lenient),
		cmocka_unit_test(test_accessors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
