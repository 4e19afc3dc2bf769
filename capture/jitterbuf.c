/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jitterbuf.c - reorder, NACK and frame assembly for one RTP stream.
 *
 * The window [base, hi] of unwrapped sequence numbers lives in a ring of
 * cap slots indexed by seq % cap: base is the release point (the next
 * sequence number to hand out), hi the highest received. Every slot in the
 * window is either a held packet or a hole (with its NACK state); the
 * window never spans more than cap, so slots never collide.
 *
 * Unwrapped numbers start in cycle 1 (the first packet's seq + 65536), so a
 * packet reordered before the very first one stays positive.
 *
 * Video frame boundaries: seq s starts a frame when the packet before it
 * ended one (marker bit) or carries another timestamp. The first frame is
 * assumed to start at the first packet (moved back if an earlier packet
 * of it arrives before anything was released). After frames are dropped
 * (given up, overflow) the buffer skips to the next known frame start.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jitterbuf.h"

#define MAX_PKT 65536 /* payload + extension bytes kept per packet */

typedef struct {
	uint64_t seq;  /* unwrapped; the slot is in use if seq is in the window */
	uint64_t t_us; /* arrival (held) or when first seen missing (hole) */
	uint64_t last_nack_us;
	uint8_t nacks;
	bool have;
	uint8_t *buf; /* kept across uses: a per-slot pool */
	size_t buf_cap;
	sc_rtp pkt; /* points into buf */
} jb_slot;

struct sc_jitterbuf {
	sc_jitterbuf_config cfg;
	jb_slot *slots;
	sc_rtp *out; /* frame output, cap entries */

	bool started;
	bool fresh; /* nothing released or dropped yet */
	uint64_t base, hi;
	unsigned missing; /* holes in the window */

	/* The packet at base - 1 (released or dropped): frame boundaries. */
	bool prev_valid, prev_marker;
	uint32_t prev_ts;

	bool bad_seq_valid; /* RFC 3550 A.1: a big jump needs two in a row */
	uint16_t bad_seq;
	bool pli;
	uint32_t ssrc; /* of the latest packet */

	/* Receiver report (A.3, A.8). */
	uint64_t first_seq, rr_received, expected_prior, received_prior;
	bool transit_valid;
	uint32_t transit;
	uint32_t jitter_q4; /* jitter * 16, in clock units */

	sc_jitterbuf_stats st;
};

static jb_slot *slot_of(sc_jitterbuf *jb, uint64_t seq)
{
	return &jb->slots[seq % jb->cfg.cap];
}

static const sc_rtp *held(sc_jitterbuf *jb, uint64_t seq)
{
	jb_slot *s;

	if (!jb->started || seq < jb->base || seq > jb->hi)
		return NULL;
	s = slot_of(jb, seq);
	return s->have && s->seq == seq ? &s->pkt : NULL;
}

sc_jitterbuf *sc_jitterbuf_new(const sc_jitterbuf_config *cfg)
{
	sc_jitterbuf *jb = NULL;

	if (!cfg || cfg->clock_rate == 0 || cfg->cap < 2 || cfg->cap > 16384 || cfg->nack_max > 255)
		goto fail;
	jb = calloc(1, sizeof(*jb));
	if (!jb)
		goto fail;
	jb->cfg = *cfg;
	jb->slots = calloc(cfg->cap, sizeof(*jb->slots));
	jb->out = calloc(cfg->cap, sizeof(*jb->out));
	if (!jb->slots || !jb->out)
		goto fail;
	return jb;
fail:
	sc_jitterbuf_free(jb);
	return NULL;
}

void sc_jitterbuf_free(sc_jitterbuf *jb)
{
	unsigned i;

	if (!jb)
		return;
	if (jb->slots)
		for (i = 0; i < jb->cfg.cap; i++)
			free(jb->slots[i].buf);
	free(jb->slots);
	free(jb->out);
	free(jb);
}

static void mark_hole(sc_jitterbuf *jb, uint64_t seq, uint64_t now_us)
{
	jb_slot *s = slot_of(jb, seq);

	s->seq = seq;
	s->have = false;
	s->t_us = now_us;
	s->nacks = 0;
	s->last_nack_us = 0;
	jb->missing++;
}

/*
 * Drop [base, to): count what was lost, remember the last packet as the
 * boundary reference, move base.
 */
static void drop_until(sc_jitterbuf *jb, uint64_t to)
{
	bool any = false, have_ts = jb->prev_valid;
	uint32_t last_ts = jb->prev_ts;
	uint64_t seq;

	for (seq = jb->base; seq < to && seq <= jb->hi; seq++) {
		jb_slot *s = slot_of(jb, seq);

		if (s->have && s->seq == seq) {
			if (!jb->cfg.video || !have_ts || s->pkt.ts != last_ts)
				jb->st.frames_dropped++;
			last_ts = s->pkt.ts;
			have_ts = true;
			any = true;
			jb->prev_valid = true;
			jb->prev_marker = s->pkt.marker;
			jb->prev_ts = s->pkt.ts;
			s->have = false;
		} else {
			jb->missing--;
			jb->st.lost++;
			jb->prev_valid = false;
		}
	}
	if (!any && to > jb->base)
		jb->st.frames_dropped++; /* a frame lost whole */
	jb->base = to;
	jb->fresh = false;
}

/* Take a copy of pkt into its slot. */
static int store(sc_jitterbuf *jb, uint64_t seq, const sc_rtp *pkt, uint64_t now_us)
{
	jb_slot *s = slot_of(jb, seq);
	size_t need = pkt->ext_len + pkt->payload_len;

	if (need > s->buf_cap) {
		size_t c = need < 256 ? 256 : need;
		uint8_t *nb = realloc(s->buf, c);

		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->buf_cap = c;
	}
	s->pkt = *pkt;
	s->pkt.ext = NULL;
	if (pkt->ext_len) {
		memcpy(s->buf, pkt->ext, pkt->ext_len);
		s->pkt.ext = s->buf;
	}
	if (pkt->payload_len)
		memcpy(s->buf + pkt->ext_len, pkt->payload, pkt->payload_len);
	s->pkt.payload = s->buf + pkt->ext_len;
	s->seq = seq;
	s->have = true;
	s->t_us = now_us;
	return 0;
}

static uint32_t rtp_clock(const sc_jitterbuf *jb, uint64_t now_us)
{
	uint64_t r = jb->cfg.clock_rate;

	return (uint32_t)((now_us / 1000000) * r + (now_us % 1000000) * r / 1000000);
}

/* RFC 3550 A.8, for packets that advance the highest sequence number. */
static void update_jitter(sc_jitterbuf *jb, const sc_rtp *pkt, uint64_t now_us)
{
	uint32_t transit = rtp_clock(jb, now_us) - pkt->ts;
	int32_t d;

	if (jb->transit_valid) {
		d = (int32_t)(transit - jb->transit);
		if (d < 0)
			d = d == INT32_MIN ? INT32_MAX : -d;
		jb->jitter_q4 += (uint32_t)d - ((jb->jitter_q4 + 8) >> 4);
	}
	jb->transit = transit;
	jb->transit_valid = true;
}

/* Forget everything held and start over at seq (a sender restart). */
static void restart(sc_jitterbuf *jb, uint64_t seq)
{
	if (jb->started && jb->hi >= jb->base) {
		drop_until(jb, jb->hi + 1);
		jb->st.overflows++;
		if (jb->cfg.video)
			jb->pli = true;
	}
	jb->started = true;
	jb->fresh = true;
	jb->base = seq;
	jb->hi = seq - 1;
	jb->missing = 0;
	jb->prev_valid = false;
	jb->first_seq = seq;
	jb->rr_received = 0;
	jb->expected_prior = jb->received_prior = 0;
	jb->transit_valid = false;
}

int sc_jitterbuf_push(sc_jitterbuf *jb, const sc_rtp *pkt, uint64_t now_us)
{
	uint64_t seq, s;
	int16_t delta;
	int r;

	if (!jb || !pkt || (pkt->ext_len && !pkt->ext) || (pkt->payload_len && !pkt->payload) ||
	    pkt->ext_len + pkt->payload_len > MAX_PKT)
		return -EINVAL;
	if (!jb->started) {
		restart(jb, 65536 + (uint64_t)pkt->seq);
		seq = jb->base;
	} else {
		int far_back = jb->cfg.cap * 4 < 16384 ? (int)jb->cfg.cap * 4 : 16384;

		delta = (int16_t)(pkt->seq - (uint16_t)jb->hi);
		if (delta >= (int)jb->cfg.cap || delta < -far_back) {
			/* A jump (sender restart?): believe it when the next packet follows. */
			if (!jb->bad_seq_valid || pkt->seq != jb->bad_seq) {
				jb->bad_seq = (uint16_t)(pkt->seq + 1);
				jb->bad_seq_valid = true;
				jb->st.late++;
				return 1;
			}
			restart(jb, jb->hi + 65536 + (uint16_t)(pkt->seq - (uint16_t)jb->hi));
			seq = jb->base;
		} else {
			seq = jb->hi + (uint64_t)(int64_t)delta;
		}
	}
	jb->bad_seq_valid = false;
	jb->ssrc = pkt->ssrc;
	jb->st.received++;
	jb->rr_received++;

	if (seq < jb->base) {
		/* Before anything went out, an earlier packet moves the start back. */
		if (!jb->fresh || jb->hi - seq >= jb->cfg.cap) {
			jb->st.late++;
			return 1;
		}
		for (s = seq + 1; s < jb->base; s++)
			mark_hole(jb, s, now_us);
		jb->base = seq;
		jb->first_seq = seq;
		r = store(jb, seq, pkt, now_us);
		if (r < 0) {
			mark_hole(jb, seq, now_us);
			return r;
		}
		return 0;
	}
	if (seq <= jb->hi) {
		jb_slot *sl = slot_of(jb, seq);

		if (sl->have) {
			jb->st.duplicates++;
			return 1;
		}
		r = store(jb, seq, pkt, now_us);
		if (r < 0)
			return r;
		jb->missing--;
		return 0;
	}
	/* New highest: make room, then the seqs skipped become holes. */
	if (seq - jb->base >= jb->cfg.cap) {
		drop_until(jb, seq - jb->cfg.cap + 1);
		jb->st.overflows++;
		if (jb->cfg.video)
			jb->pli = true;
	}
	for (s = jb->hi + 1; s < seq; s++)
		mark_hole(jb, s, now_us);
	r = store(jb, seq, pkt, now_us);
	if (r < 0) {
		mark_hole(jb, seq, now_us);
		jb->hi = seq;
		return r;
	}
	jb->hi = seq;
	update_jitter(jb, pkt, now_us);
	return 0;
}

/* Whether seq is known to start a frame (seq >= base). */
static bool frame_start(sc_jitterbuf *jb, uint64_t seq)
{
	const sc_rtp *p = held(jb, seq), *q;

	if (!jb->cfg.video)
		return true;
	if (seq == jb->base) {
		if (jb->fresh)
			return true;
		if (!jb->prev_valid)
			return false;
		return jb->prev_marker || (p && p->ts != jb->prev_ts);
	}
	q = held(jb, seq - 1);
	return q && (q->marker || (p && p->ts != q->ts));
}

/*
 * The frame starting at start: 1 and its end (exclusive) if complete,
 * else 0 and the first hole (hi + 1 if it just has not ended yet).
 */
static int frame_end(sc_jitterbuf *jb, uint64_t start, uint64_t *end, uint64_t *hole)
{
	const sc_rtp *first = held(jb, start);
	uint64_t s;

	if (!first) {
		*hole = start;
		return 0;
	}
	if (!jb->cfg.video) {
		*end = start + 1;
		return 1;
	}
	for (s = start; s <= jb->hi; s++) {
		const sc_rtp *p = held(jb, s);

		if (!p) {
			*hole = s;
			return 0;
		}
		if (p->ts != first->ts) { /* the marker was never set */
			*end = s;
			return 1;
		}
		if (p->marker) {
			*end = s + 1;
			return 1;
		}
	}
	*hole = jb->hi + 1;
	return 0;
}

/* Where to resume after giving up on the hole at h. */
static uint64_t resume_point(sc_jitterbuf *jb, uint64_t h)
{
	uint64_t s = h + 1, first = 0, end, hole;
	bool have_first = false;

	while (s <= jb->hi) {
		if (!frame_start(jb, s)) {
			s++;
			continue;
		}
		if (!have_first) {
			first = s;
			have_first = true;
		}
		if (frame_end(jb, s, &end, &hole))
			return s;
		s = hole > s ? hole + 1 : s + 1;
	}
	return have_first ? first : jb->hi + 1;
}

int sc_jitterbuf_pop(sc_jitterbuf *jb, uint64_t now_us, sc_jb_frame *ret)
{
	uint64_t end, hole, s;

	if (!jb || !ret || !jb->started)
		return 0;
	while (jb->base <= jb->hi) {
		if (!frame_start(jb, jb->base)) {
			/* Mid-frame after a drop: skip to the next frame start. */
			for (s = jb->base + 1; s <= jb->hi && !frame_start(jb, s); s++)
				;
			if (s > jb->hi)
				return 0;
			drop_until(jb, s);
			continue;
		}
		if (frame_end(jb, jb->base, &end, &hole)) {
			size_t n = 0;
			uint64_t arrival = 0;

			for (s = jb->base; s < end; s++) {
				jb_slot *sl = slot_of(jb, s);

				jb->out[n++] = sl->pkt;
				if (sl->t_us > arrival)
					arrival = sl->t_us;
				sl->have = false;
			}
			ret->ts = jb->out[0].ts;
			ret->first_seq = jb->base;
			ret->complete = true;
			ret->n = n;
			ret->pkts = jb->out;
			ret->arrival_us = arrival;
			jb->prev_valid = true;
			jb->prev_marker = jb->out[n - 1].marker;
			jb->prev_ts = jb->out[n - 1].ts;
			jb->base = end;
			jb->fresh = false;
			jb->st.frames++;
			return 1;
		}
		if (hole > jb->hi)
			return 0; /* not finished yet, nothing missing */
		if (now_us < slot_of(jb, hole)->t_us + (uint64_t)jb->cfg.max_wait_ms * 1000)
			return 0;
		drop_until(jb, resume_point(jb, hole));
		if (jb->cfg.video)
			jb->pli = true;
	}
	return 0;
}

size_t sc_jitterbuf_nacks(sc_jitterbuf *jb, uint64_t now_us, uint16_t *out, size_t max,
			  bool *ret_pli)
{
	uint64_t delay, retry, s;
	size_t n = 0;

	if (!jb)
		return 0;
	if (ret_pli) {
		*ret_pli = jb->pli;
		jb->pli = false;
	}
	if (!jb->started || jb->missing == 0 || !out)
		return 0;
	delay = (uint64_t)jb->cfg.nack_delay_ms * 1000;
	retry = (uint64_t)jb->cfg.nack_retry_ms * 1000;
	for (s = jb->base; s <= jb->hi && n < max; s++) {
		jb_slot *sl = slot_of(jb, s);

		if (sl->have || sl->nacks >= jb->cfg.nack_max || now_us < sl->t_us + delay)
			continue;
		if (sl->nacks && now_us < sl->last_nack_us + retry)
			continue;
		sl->nacks++;
		sl->last_nack_us = now_us;
		out[n++] = (uint16_t)s;
	}
	jb->st.nacks_sent += n;
	return n;
}

void sc_jitterbuf_report(sc_jitterbuf *jb, sc_rtcp_report *ret)
{
	uint64_t expected, exp_int, rec_int;
	int64_t lost, lost_int;

	if (!jb || !ret)
		return;
	memset(ret, 0, sizeof(*ret));
	if (!jb->started || jb->hi < jb->first_seq)
		return;
	ret->ssrc = jb->ssrc;
	expected = jb->hi - jb->first_seq + 1;
	lost = (int64_t)expected - (int64_t)jb->rr_received;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (lost < -0x800000)
		lost = -0x800000;
	ret->cumulative_lost = (int32_t)lost;
	exp_int = expected - jb->expected_prior;
	rec_int = jb->rr_received - jb->received_prior;
	jb->expected_prior = expected;
	jb->received_prior = jb->rr_received;
	lost_int = (int64_t)exp_int - (int64_t)rec_int;
	if (exp_int && lost_int > 0)
		ret->fraction_lost = (uint8_t)(((uint64_t)lost_int << 8) / exp_int);
	ret->highest_seq = (uint32_t)(jb->hi - 65536);
	ret->jitter = jb->jitter_q4 >> 4;
}

void sc_jitterbuf_get_stats(const sc_jitterbuf *jb, sc_jitterbuf_stats *ret)
{
	if (!jb || !ret)
		return;
	*ret = jb->st;
	ret->jitter_ms = (double)(jb->jitter_q4 >> 4) * 1000.0 / jb->cfg.clock_rate;
}

unsigned sc_jitterbuf_held(const sc_jitterbuf *jb)
{
	unsigned n = 0, i;

	if (!jb || !jb->started)
		return 0;
	for (i = 0; i < jb->cfg.cap; i++) {
		const jb_slot *s = &jb->slots[i];

		n += s->have && s->seq >= jb->base && s->seq <= jb->hi;
	}
	return n;
}
