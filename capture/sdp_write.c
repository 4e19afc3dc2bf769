/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdp_write.c - our side of JSEP (RFC 8829): the answer to a receive-only
 * offer (Janus) and a receive-only offer (WHEP). Every value we write is
 * checked the way the parser checks what it reads. Any thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sdp.h"
#include "sdp_priv.h"

typedef struct {
	sc_buf b;
	int rc; /* sticky: the first error */
} writer;

static void __attribute__((format(printf, 2, 3))) put(writer *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (w->rc)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2) {
		w->rc = -ENOBUFS;
		return;
	}
	memcpy(line + n, "\r\n", 2);
	w->rc = sc_buf_append(&w->b, line, (size_t)n + 2);
}

static char *finish(writer *w)
{
	if (!w->rc)
		w->rc = sc_buf_append_u8(&w->b, 0);
	if (!w->rc)
		return (char *)sc_buf_steal(&w->b, NULL);
	sc_buf_free(&w->b);
	return NULL;
}

/* RFC 8829 5.2.1: a random 64-bit session id with the top bit clear. */
static uint64_t session_id(void)
{
	uint64_t v = 0;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 32;
	}
	v &= INT64_MAX;
	return v ? v : 1;
}

static void put_session(writer *w)
{
	put(w, "v=0");
	put(w, "o=- %llu 2 IN IP4 127.0.0.1", (unsigned long long)session_id());
	put(w, "s=-");
	put(w, "t=0 0");
}

static const char *cand_value(const char *c)
{
	return strncmp(c, "candidate:", 10) ? c : c + 10;
}

static int check_local(const sc_sdp_local *l, char *err, size_t errlen)
{
	if (!l || !l->ice_ufrag || strlen(l->ice_ufrag) > 255 || !sdp_is_ice_chars(l->ice_ufrag) ||
	    !l->ice_pwd || strlen(l->ice_pwd) > 255 || !sdp_is_ice_chars(l->ice_pwd)) {
		sdp_set_err(err, errlen, "bad local ICE credentials");
		return -EINVAL;
	}
	if (!l->fingerprint || strlen(l->fingerprint) >= 160 ||
	    !sdp_is_fingerprint(l->fingerprint)) {
		sdp_set_err(err, errlen, "bad local fingerprint");
		return -EINVAL;
	}
	if (l->setup && !sdp_is_setup(l->setup)) {
		sdp_set_err(err, errlen, "bad local setup");
		return -EINVAL;
	}
	if (l->n_candidates > SC_SDP_MAX_CANDS || (l->n_candidates && !l->candidates)) {
		sdp_set_err(err, errlen, "bad local candidates");
		return -EINVAL;
	}
	for (size_t i = 0; i < l->n_candidates; i++) {
		const char *c = l->candidates[i] ? cand_value(l->candidates[i]) : NULL;

		if (!c || !*c || strlen(c) > 255 || !sdp_is_text(c)) {
			sdp_set_err(err, errlen, "bad local candidate %zu", i);
			return -EINVAL;
		}
	}
	return 0;
}

static void put_transport(writer *w, const sc_sdp_local *l, const char *setup, bool cands)
{
	put(w, "a=ice-ufrag:%s", l->ice_ufrag);
	put(w, "a=ice-pwd:%s", l->ice_pwd);
	put(w, "a=fingerprint:%s", l->fingerprint);
	put(w, "a=setup:%s", setup);
	if (!cands || !l->n_candidates)
		return;
	for (size_t i = 0; i < l->n_candidates; i++)
		put(w, "a=candidate:%s", cand_value(l->candidates[i]));
	put(w, "a=end-of-candidates");
}

/* H.264 packetization-mode of a format (absent: 0). */
static int h264_mode(const sc_sdp_fmt *f)
{
	char v[8];
	uint32_t mode;

	if (!sdp_fmtp_get(f->fmtp, "packetization-mode", v, sizeof(v)))
		return 0;
	return sdp_parse_uint(v, strlen(v), 9, &mode) ? -1 : (int)mode;
}

/*
 * Can we receive f? Pass 0 takes VP8, Opus and H.264 in packetization
 * mode 1; pass 1 also H.264 mode 0 (single NAL units, a subset of what
 * the depacketizer reads), used only when pass 0 finds nothing.
 */
static bool usable(const sc_sdp_media *m, const sc_sdp_fmt *f, int pass)
{
	if (!strcmp(m->kind, "audio"))
		return !strcasecmp(f->codec, "opus") && f->clock == 48000;
	if (strcmp(m->kind, "video") || f->clock != 90000)
		return false;
	if (!strcasecmp(f->codec, "VP8"))
		return true;
	if (!strcasecmp(f->codec, "H264"))
		return h264_mode(f) == (pass ? 0 : 1);
	return false;
}

static bool in_bundle(const sc_sdp *s, const char *mid)
{
	for (size_t i = 0; i < s->n_bundle; i++)
		if (!strcmp(s->bundle[i], mid))
			return true;
	return false;
}

static void choose(const sc_sdp *offer, const sc_sdp_media *m, sc_sdp_choice *c)
{
	const sc_sdp_fmt *f = NULL;

	memset(c, 0, sizeof(*c));
	c->pt = c->rtx_pt = -1;
	if (strcmp(m->kind, "audio") && strcmp(m->kind, "video"))
		return;
	if ((!m->port && !m->bundle_only) || !m->n_fmts || !strstr(m->proto, "SAVP"))
		return;
	if ((m->dir != SC_SDP_SENDONLY && m->dir != SC_SDP_SENDRECV) || !m->rtcp_mux)
		return;
	if (offer->n_bundle && (!m->mid[0] || !in_bundle(offer, m->mid)))
		return;
	for (int pass = 0; pass < 2 && !f; pass++)
		for (size_t i = 0; i < m->n_fmts && !f; i++)
			if (usable(m, &m->fmts[i], pass))
				f = &m->fmts[i];
	if (!f)
		return;
	c->accepted = true;
	c->pt = f->pt;
	c->clock = f->clock;
	for (size_t i = 0; f->codec[i] && i < sizeof(c->codec) - 1; i++)
		c->codec[i] = (char)(f->codec[i] >= 'A' && f->codec[i] <= 'Z' ? f->codec[i] + 32
									      : f->codec[i]);
	for (size_t i = 0; i < m->n_fmts; i++) {
		if (!strcasecmp(m->fmts[i].codec, "rtx") && m->fmts[i].apt == f->pt) {
			c->rtx_pt = m->fmts[i].pt;
			break;
		}
	}
}

/* Our setup given the offerer's: the complement, or ours when it is actpass. */
static const char *answer_setup(const char *theirs, const char *ours)
{
	if (!strcmp(theirs, "active"))
		return "passive";
	if (!strcmp(theirs, "passive"))
		return "active";
	return ours && strcmp(ours, "actpass") ? ours : "active";
}

static void put_accepted(writer *w, const sc_sdp *offer, size_t i, const sc_sdp_choice *c,
			 const sc_sdp_local *l, bool first)
{
	const sc_sdp_media *m = &offer->media[i];
	const sc_sdp_fmt *f = sdp_find_fmt((sc_sdp_media *)m, (uint32_t)c->pt);
	char plid[32];

	if (c->rtx_pt >= 0)
		put(w, "m=%s 9 %s %d %d", m->kind, m->proto, c->pt, c->rtx_pt);
	else
		put(w, "m=%s 9 %s %d", m->kind, m->proto, c->pt);
	put(w, "c=IN IP4 0.0.0.0");
	if (m->mid[0])
		put(w, "a=mid:%s", m->mid);
	put(w, "a=recvonly");
	put(w, "a=rtcp-mux");
	put_transport(w, l, answer_setup(sc_sdp_setup(offer, i), l->setup), first);
	if (f->channels)
		put(w, "a=rtpmap:%d %s/%u/%u", c->pt, f->codec, (unsigned)f->clock,
		    (unsigned)f->channels);
	else
		put(w, "a=rtpmap:%d %s/%u", c->pt, f->codec, (unsigned)f->clock);
	if (!strcmp(c->codec, "h264")) {
		bool have_plid = sdp_fmtp_get(f->fmtp, "profile-level-id", plid, sizeof(plid)) &&
				 sdp_is_ice_chars(plid);

		if (h264_mode(f) == 1)
			put(w, "a=fmtp:%d %s%s%spacketization-mode=1", c->pt,
			    have_plid ? "profile-level-id=" : "", have_plid ? plid : "",
			    have_plid ? ";" : "");
		else if (have_plid)
			put(w, "a=fmtp:%d profile-level-id=%s", c->pt, plid);
	}
	if (f->fb_nack)
		put(w, "a=rtcp-fb:%d nack", c->pt);
	if (f->fb_pli && !strcmp(m->kind, "video"))
		put(w, "a=rtcp-fb:%d nack pli", c->pt);
	if (f->fb_fir && !strcmp(m->kind, "video"))
		put(w, "a=rtcp-fb:%d ccm fir", c->pt);
	if (c->rtx_pt >= 0) {
		put(w, "a=rtpmap:%d rtx/%u", c->rtx_pt, (unsigned)c->clock);
		put(w, "a=fmtp:%d apt=%d", c->rtx_pt, c->pt);
	}
	if (m->ext_mid)
		put(w, "a=extmap:%u %s", (unsigned)m->ext_mid, SDP_MID_URI);
}

char *sc_sdp_answer(const sc_sdp *offer, const sc_sdp_local *local, sc_sdp_choice *choices,
		    char *err, size_t errlen)
{
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	writer w = {.rc = 0};
	size_t n_acc = 0, first = SIZE_MAX;
	char *out;

	if (!offer || !choices || offer->n_media > SC_SDP_MAX_MEDIA) {
		sdp_set_err(err, errlen, "no offer");
		return NULL;
	}
	if (check_local(local, err, errlen))
		return NULL;
	for (size_t i = 0; i < offer->n_media; i++) {
		choose(offer, &offer->media[i], &ch[i]);
		/* Without BUNDLE in the offer, one transport means one section. */
		if (ch[i].accepted && !offer->n_bundle && n_acc) {
			memset(&ch[i], 0, sizeof(ch[i]));
			ch[i].pt = ch[i].rtx_pt = -1;
		}
		if (ch[i].accepted && n_acc++ == 0)
			first = i;
	}
	/* Nothing receivable (a conference whose last publisher left): every
	 * section is rejected, which is still an answer. */
	sc_buf_init(&w.b, SC_SDP_MAX_TEXT);
	put_session(&w);
	if (offer->n_bundle && n_acc) {
		char group[SC_SDP_MAX_MEDIA * 33 + 16] = "a=group:BUNDLE";
		size_t gl = strlen(group);

		for (size_t i = 0; i < offer->n_media; i++) {
			if (ch[i].accepted)
				gl += (size_t)snprintf(group + gl, sizeof(group) - gl, " %s",
						       offer->media[i].mid);
		}
		put(&w, "%s", group);
	}
	put(&w, "a=msid-semantic: WMS");
	for (size_t i = 0; i < offer->n_media; i++) {
		const sc_sdp_media *m = &offer->media[i];

		if (ch[i].accepted) {
			put_accepted(&w, offer, i, &ch[i], local, i == first);
			continue;
		}
		/* RFC 8829 5.3.1: rejected, port 0, the mid kept. */
		put(&w, "m=%s 0 %s %s", m->kind, m->proto, m->fmt0);
		put(&w, "c=IN IP4 0.0.0.0");
		if (m->mid[0])
			put(&w, "a=mid:%s", m->mid);
		put(&w, "a=inactive");
		/* Not required by JSEP, but webrtcbin 1.22 rejects an answer
		 * with an m-section lacking them (Chrome writes them too). */
		put_transport(&w, local, answer_setup(sc_sdp_setup(offer, i), local->setup), false);
	}
	out = finish(&w);
	if (!out) {
		sdp_set_err(err, errlen, "answer too large");
		return NULL;
	}
	memcpy(choices, ch, offer->n_media * sizeof(ch[0]));
	return out;
}

static const char offer_audio[] = "a=rtpmap:111 opus/48000/2\r\n"
				  "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
				  "a=rtcp-fb:111 nack\r\n";
static const char offer_video[] = "a=rtpmap:96 VP8/90000\r\n"
				  "a=rtcp-fb:96 nack\r\n"
				  "a=rtcp-fb:96 nack pli\r\n"
				  "a=rtcp-fb:96 ccm fir\r\n"
				  "a=rtpmap:97 rtx/90000\r\n"
				  "a=fmtp:97 apt=96\r\n"
				  "a=rtpmap:102 H264/90000\r\n"
				  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
				  "profile-level-id=42e01f\r\n"
				  "a=rtcp-fb:102 nack\r\n"
				  "a=rtcp-fb:102 nack pli\r\n"
				  "a=rtcp-fb:102 ccm fir\r\n"
				  "a=rtpmap:103 rtx/90000\r\n"
				  "a=fmtp:103 apt=102\r\n";

static void put_offer_media(writer *w, const sc_sdp_local *l, bool video, unsigned mid, bool first)
{
	put(w, "m=%s",
	    video ? "video 9 UDP/TLS/RTP/SAVPF 96 97 102 103" : "audio 9 UDP/TLS/RTP/SAVPF 111");
	put(w, "c=IN IP4 0.0.0.0");
	put(w, "a=mid:%u", mid);
	put(w, "a=recvonly");
	put(w, "a=rtcp-mux");
	put_transport(w, l, l->setup ? l->setup : "actpass", first);
	put(w, "a=extmap:1 %s", SDP_MID_URI);
	if (!w->rc)
		w->rc = video ? sc_buf_append(&w->b, offer_video, sizeof(offer_video) - 1)
			      : sc_buf_append(&w->b, offer_audio, sizeof(offer_audio) - 1);
}

char *sc_sdp_offer_recvonly(const sc_sdp_local *local, unsigned n_audio, unsigned n_video)
{
	writer w = {.rc = 0};
	char group[SC_SDP_MAX_MEDIA * 4 + 16] = "a=group:BUNDLE";
	unsigned n = n_audio + n_video;

	if (check_local(local, NULL, 0) || n == 0 || n_audio > SC_SDP_MAX_MEDIA ||
	    n_video > SC_SDP_MAX_MEDIA || n > SC_SDP_MAX_MEDIA)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		size_t gl = strlen(group);

		snprintf(group + gl, sizeof(group) - gl, " %u", i);
	}
	sc_buf_init(&w.b, SC_SDP_MAX_TEXT);
	put_session(&w);
	put(&w, "%s", group);
	put(&w, "a=msid-semantic: WMS");
	for (unsigned i = 0; i < n; i++)
		put_offer_media(&w, local, i >= n_audio, i, i == 0);
	return finish(&w);
}
