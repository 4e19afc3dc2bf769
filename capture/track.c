/* SPDX-License-Identifier: Apache-2.0 */
/*
 * track.c - one received RTP stream: jitter buffer, depacketizer, sender
 * clock, RTCP feedback. See track.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "depay.h"
#include "track.h"

#define PLI_MIN_GAP_US	300000
#define MAX_FRAME_BYTES (4u << 20)
#define NACK_BATCH	64
/* A track whose sender clock disagrees with its participant's other
 * tracks by more than this keeps an offset of its own (see frame_pts). */
#define SYNC_MAX_SKEW_US 1000000

struct sc_track {
	sc_track_config cfg;
	sc_source *src;
	sc_sync *sync;
	sc_sync own; /* this track's offset alone */
	sc_jitterbuf *jb;
	sc_depay *dp;
	sc_buf frame;

	/* The last sender report: RTP time sr_rtp was sr_unix_us on the
	 * sender's wall clock; it arrived at sr_arrival_us (ours). */
	bool have_sr;
	uint64_t sr_unix_us;
	uint32_t sr_rtp;
	uint32_t sr_ntp_mid; /* middle 32 bits, for LSR */
	uint64_t sr_arrival_us;

	/* Until then: placed by arrival, from the first frame. */
	bool have_base;
	uint32_t base_rtp;
	uint64_t base_arrival_us;

	bool want_pli;
	uint64_t last_pli_us;

	int64_t lead_us;
	uint64_t frames, bad_frames, plis, nacked, bytes;
	uint64_t bytes_mark, mark_us;
	double kbps;
};

sc_track *sc_track_new(const sc_track_config *cfg, sc_source *source, sc_sync *sync, char *err,
		       size_t errlen)
{
	const sc_depay_ops *ops = sc_depay_find(cfg->codec);
	if (!ops) {
		snprintf(err, errlen, "codec %s is not supported", cfg->codec);
		return NULL;
	}
	sc_track *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	bool video = !strcmp(cfg->kind, "video");
	sc_jitterbuf_config jc = {
		.video = video,
		.clock_rate = cfg->clock ? cfg->clock : (video ? 90000 : 48000),
		.cap = video ? 1024 : 256,
		.max_wait_ms = video ? 300 : 80,
		.nack_delay_ms = 10,
		.nack_retry_ms = 40,
		.nack_max = 5,
	};
	t->cfg = *cfg;
	t->cfg.clock = jc.clock_rate;
	t->sync = sync;
	t->src = sc_source_ref(source);
	t->jb = sc_jitterbuf_new(&jc);
	t->dp = sc_depay_new(ops);
	sc_buf_init(&t->frame, MAX_FRAME_BYTES);
	t->want_pli = video; /* start decoding at a key frame */
	if (!t->jb || !t->dp) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return t;
fail:
	sc_track_free(t);
	return NULL;
}

void sc_track_free(sc_track *t)
{
	if (!t)
		return;
	sc_jitterbuf_free(t->jb);
	sc_depay_free(t->dp);
	sc_buf_free(&t->frame);
	if (t->src)
		sc_source_unref(t->src);
	free(t);
}

void sc_track_set_sync(sc_track *t, sc_sync *sync)
{
	t->sync = sync;
}

const sc_track_config *sc_track_config_of(const sc_track *t)
{
	return &t->cfg;
}

bool sc_track_matches(const sc_track *t, const sc_rtp *pkt, const char *mid)
{
	if (t->cfg.ssrc && (pkt->ssrc == t->cfg.ssrc || pkt->ssrc == t->cfg.rtx_ssrc))
		return true;
	/* Not announced (or not yet seen): the mid extension decides. */
	return mid && !strcmp(mid, t->cfg.mid) &&
	       (pkt->pt == t->cfg.pt || (t->cfg.rtx_pt >= 0 && pkt->pt == t->cfg.rtx_pt));
}

/* The sender's wall-clock time of RTP time ts, in Unix microseconds. */
static int64_t sender_us(const sc_track *t, uint32_t ts)
{
	int64_t d = (int32_t)(ts - t->sr_rtp);
	return (int64_t)t->sr_unix_us + d * 1000000 / (int64_t)t->cfg.clock;
}

/* The fastest path seen so far, creeping up slowly so that a drifting
 * sender clock is followed. */
static void sync_follow(sc_sync *s, int64_t seen)
{
	if (!s->valid || seen < s->offset_us) {
		s->offset_us = seen;
		s->valid = true;
	} else {
		s->offset_us += (seen - s->offset_us) / 1000;
	}
}

static int64_t frame_pts(sc_track *t, const sc_jb_frame *f)
{
	if (t->have_sr) {
		int64_t sender = sender_us(t, f->ts);
		int64_t seen = (int64_t)f->arrival_us - sender;
		sc_sync *s = t->sync;
		sync_follow(&t->own, seen);
		/*
		 * The participant's offset only while this track agrees with
		 * it. A sender report that maps this track seconds away from
		 * its siblings (an SFU's report for a stream it handed to a
		 * new publisher) must neither drag their offset nor be placed
		 * by it: through the min and the creep it would turn their
		 * times into raw arrival times (jittery, chopped audio) or put
		 * this track's frames in the past. Such a track keeps its own
		 * offset: in sync with itself, not with the others.
		 */
		if (s->valid && llabs(t->own.offset_us - s->offset_us) > SYNC_MAX_SKEW_US)
			return sender + t->own.offset_us;
		sync_follow(s, seen);
		return sender + s->offset_us;
	}
	if (!t->have_base) {
		t->have_base = true;
		t->base_rtp = f->ts;
		t->base_arrival_us = f->arrival_us;
	}
	int64_t d = (int32_t)(f->ts - t->base_rtp);
	return (int64_t)t->base_arrival_us + d * 1000000 / (int64_t)t->cfg.clock;
}

static void deliver(sc_track *t, const sc_jb_frame *f)
{
	bool key = false;
	if (!f->complete)
		return;
	sc_buf_reset(&t->frame);
	if (sc_depay_frame(t->dp, f, &t->frame, &key) < 0 || !t->frame.len) {
		t->bad_frames++;
		t->want_pli = true;
		return;
	}
	t->frames++;
	int64_t pts = frame_pts(t, f);
	t->lead_us = pts - (int64_t)f->arrival_us;
	int rc;
	if (!strcmp(t->cfg.kind, "video"))
		rc = sc_source_push_video(t->src, t->cfg.codec, t->frame.data, t->frame.len, key,
					  pts);
	else
		rc = sc_source_push_audio(t->src, t->cfg.codec, t->frame.data, t->frame.len, pts);
	if (rc < 0 && !strcmp(t->cfg.kind, "video"))
		t->want_pli = true;
}

void sc_track_poll(sc_track *t, uint64_t now_us)
{
	sc_jb_frame f;
	while (sc_jitterbuf_pop(t->jb, now_us, &f) == 1)
		deliver(t, &f);
	if (now_us - t->mark_us >= 1000000) {
		if (t->mark_us)
			t->kbps = (double)(t->bytes - t->bytes_mark) * 8 / 1000 * 1e6 /
				  (double)(now_us - t->mark_us);
		t->mark_us = now_us;
		t->bytes_mark = t->bytes;
	}
}

void sc_track_rtp(sc_track *t, const sc_rtp *pkt, uint64_t now_us)
{
	sc_rtp p = *pkt;
	if (t->cfg.rtx_pt >= 0 && pkt->pt == t->cfg.rtx_pt) {
		uint16_t osn;
		if (sc_rtp_rtx_unwrap(pkt, &osn, &p.payload, &p.payload_len) < 0)
			return;
		if (!t->cfg.rtx_ssrc)
			t->cfg.rtx_ssrc = pkt->ssrc;
		if (!p.payload_len)
			return; /* RTX padding probe */
		p.seq = osn;
		p.pt = (uint8_t)t->cfg.pt;
		p.ssrc = t->cfg.ssrc ? t->cfg.ssrc : pkt->ssrc;
	} else if (pkt->pt != t->cfg.pt) {
		return;
	} else if (!t->cfg.ssrc) {
		t->cfg.ssrc = pkt->ssrc;
	}
	t->bytes += pkt->payload_len;
	sc_jitterbuf_push(t->jb, &p, now_us);
	sc_track_poll(t, now_us);
}

void sc_track_sr(sc_track *t, const sc_rtcp_sr *sr, uint64_t now_us)
{
	t->have_sr = true;
	t->sr_unix_us = sc_ntp_to_unix_us(sr->ntp);
	t->sr_rtp = sr->rtp_ts;
	t->sr_ntp_mid = (uint32_t)(sr->ntp >> 16);
	t->sr_arrival_us = now_us;
}

size_t sc_track_feedback(sc_track *t, uint64_t now_us, uint32_t our_ssrc, uint8_t *out, size_t cap)
{
	uint16_t seqs[NACK_BATCH];
	sc_rtcp_report rep;
	bool pli = false;
	int n;

	/* Feedback rides behind an RR carrying this track's report block
	 * (RFC 3550 6.1): that block is how Janus tells which of the bundled
	 * streams the NACK or PLI is about. */
	if (!t->cfg.ssrc || !sc_track_report(t, now_us, &rep))
		return 0;
	n = sc_rtcp_build_rr(out, cap, our_ssrc, &rep, 1);
	if (n <= 0)
		return 0;
	size_t rr_len = (size_t)n, len = rr_len;

	size_t k = sc_jitterbuf_nacks(t->jb, now_us, seqs, NACK_BATCH, &pli);
	if (k > 0 && t->cfg.nack) {
		n = sc_rtcp_build_nack(out + len, cap - len, our_ssrc, t->cfg.ssrc, seqs, k);
		if (n > 0) {
			len += (size_t)n;
			t->nacked += k;
		}
	}
	if (!strcmp(t->cfg.kind, "video")) {
		pli |= t->want_pli | sc_source_take_keyframe_request(t->src);
		if (pli && now_us - t->last_pli_us >= PLI_MIN_GAP_US) {
			n = sc_rtcp_build_pli(out + len, cap - len, our_ssrc, t->cfg.ssrc);
			if (n > 0) {
				len += (size_t)n;
				t->plis++;
				t->last_pli_us = now_us;
				t->want_pli = false;
			}
		} else if (pli) {
			t->want_pli = true; /* too soon: at the next chance */
		}
	}
	return len > rr_len ? len : 0; /* a lone RR waits for the periodic report */
}

bool sc_track_report(sc_track *t, uint64_t now_us, sc_rtcp_report *ret)
{
	if (!t->cfg.ssrc)
		return false;
	sc_jitterbuf_report(t->jb, ret);
	ret->ssrc = t->cfg.ssrc;
	if (t->have_sr && now_us >= t->sr_arrival_us) {
		ret->lsr = t->sr_ntp_mid;
		/* DLSR: time since that SR, in 1/65536 s (RFC 3550 6.4.1). */
		ret->dlsr = (uint32_t)((now_us - t->sr_arrival_us) * 65536 / 1000000);
	}
	return true;
}

void sc_track_get_stats(sc_track *t, sc_track_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	sc_jitterbuf_get_stats(t->jb, &ret->jb);
	ret->frames = t->frames;
	ret->bad_frames = t->bad_frames;
	ret->plis = t->plis;
	ret->nacked = t->nacked;
	ret->kbps = t->kbps;
	ret->ssrc = t->cfg.ssrc;
	ret->have_sr = t->have_sr;
	ret->lead_us = t->lead_us;
}
