/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture.c - one capture session: signalling events in, a WebRTC
 * transport, a track per received m-section, a source per participant,
 * the mixer out. See capture.h.
 *
 * Janus offers and re-offers as people join and leave: the transport
 * stays (BUNDLE, one ICE/DTLS session) and only the tracks change. WHEP:
 * we offer once. If signalling loses the server (Janus restarting), the
 * transport and the participants go, the mixer shows the slate, and a
 * fresh offer starts again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "capture_priv.h"
#include "log.h"
#include "loop.h"
#include "peer.h"
#include "rtp.h"
#include "sdp.h"
#include "signaling.h"
#include "source.h"
#include "track.h"

#define POLL_MS	       SC_LOOP_BATCH_MS
#define RTCP_REPORT_MS 1000

static uint64_t now_us(void)
{
	return (uint64_t)g_get_monotonic_time();
}

static void finish(sc_capture *c, int code, const char *why)
{
	if (c->done)
		return;
	c->done = true;
	if (c->on_done)
		c->on_done(c->done_ud, code, why);
}

/* ---- participants and tracks */

static size_t participant_get(sc_capture *c, const char *feed, const char *display)
{
	for (size_t i = 0; i < c->n_parts; i++)
		if (!strcmp(c->parts[i].feed, feed))
			return i;
	if (c->n_parts >= MAX_PARTICIPANTS)
		return SIZE_MAX;
	participant *p = &c->parts[c->n_parts];
	memset(p, 0, sizeof(*p));
	snprintf(p->feed, sizeof(p->feed), "%s", feed);
	snprintf(p->display, sizeof(p->display), "%s", display && *display ? display : feed);
	p->src = sc_source_new(p->feed, p->display);
	if (!p->src)
		return SIZE_MAX;
	if (sc_mixer_add_source(c->mixer, p->src) == 0)
		p->in_mixer = true;
	sc_log_info(NULL, "participant %s (%s) joined the mix", p->display, p->feed);
	return c->n_parts++;
}

static void participants_gc(sc_capture *c)
{
	for (size_t i = 0; i < c->n_parts;) {
		bool used = false;
		for (size_t k = 0; k < c->n_tracks; k++)
			used |= c->tracks[k].t && c->tracks[k].part == i;
		if (used) {
			i++;
			continue;
		}
		participant *p = &c->parts[i];
		sc_log_info(NULL, "participant %s (%s) left the mix", p->display, p->feed);
		if (p->in_mixer)
			sc_mixer_remove_source(c->mixer, p->src);
		sc_source_unref(p->src);
		/* Keep indices of the others stable for their tracks. */
		size_t last = --c->n_parts;
		if (i != last) {
			c->parts[i] = c->parts[last];
			/* The tracks point at the participant's sync: it moved. */
			for (size_t k = 0; k < c->n_tracks; k++)
				if (c->tracks[k].part == last) {
					c->tracks[k].part = i;
					sc_track_set_sync(c->tracks[k].t, &c->parts[i].sync);
				}
		}
	}
	if (c->n_parts == 0 && !c->empty_since_us)
		c->empty_since_us = now_us();
	else if (c->n_parts > 0)
		c->empty_since_us = 0;
}

static void tracks_clear(sc_capture *c)
{
	for (size_t i = 0; i < c->n_tracks; i++)
		sc_track_free(c->tracks[i].t);
	c->n_tracks = 0;
	participants_gc(c);
}

static const sc_sig_stream *stream_for(const sc_sig_stream *streams, size_t n, const char *mid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(streams[i].mid, mid))
			return &streams[i];
	return NULL;
}

/* Make the tracks match the m-sections we accepted. */
static void tracks_update(sc_capture *c, const sc_sdp *remote, const sc_sdp_choice *choices,
			  const sc_sig_stream *streams, size_t n_streams)
{
	track_slot next[SC_SDP_MAX_MEDIA];
	size_t n_next = 0;

	for (size_t i = 0; i < remote->n_media; i++) {
		const sc_sdp_media *m = &remote->media[i];
		const sc_sig_stream *st = stream_for(streams, n_streams, m->mid);
		if (m->ext_mid)
			c->ext_mid = m->ext_mid;
		if (!choices[i].accepted || m->port == 0 || (st && !st->active))
			continue;
		/* Keep a track that is unchanged. */
		track_slot kept = {0};
		for (size_t k = 0; k < c->n_tracks; k++) {
			if (!c->tracks[k].t) /* already kept for another section */
				continue;
			const sc_track_config *tc = sc_track_config_of(c->tracks[k].t);
			if (!strcmp(tc->mid, m->mid) && tc->pt == choices[i].pt &&
			    (!m->ssrc || !tc->ssrc || tc->ssrc == m->ssrc)) {
				kept = c->tracks[k];
				c->tracks[k].t = NULL;
				break;
			}
		}
		if (!kept.t) {
			sc_track_config tc = {
				.clock = choices[i].clock,
				.pt = choices[i].pt,
				.rtx_pt = choices[i].rtx_pt,
				.ssrc = m->ssrc,
				.rtx_ssrc = m->rtx_ssrc,
			};
			for (size_t f = 0; f < m->n_fmts; f++)
				if (m->fmts[f].pt == choices[i].pt)
					tc.nack = m->fmts[f].fb_nack;
			snprintf(tc.mid, sizeof(tc.mid), "%s", m->mid);
			snprintf(tc.kind, sizeof(tc.kind), "%s", m->kind);
			snprintf(tc.codec, sizeof(tc.codec), "%s", choices[i].codec);
			size_t part =
				participant_get(c, st ? st->feed : m->mid, st ? st->display : NULL);
			if (part == SIZE_MAX) {
				sc_log_warn(NULL, "too many participants: m-section %s ignored",
					    m->mid);
				continue;
			}
			char err[128];
			kept.t = sc_track_new(&tc, c->parts[part].src, &c->parts[part].sync, err,
					      sizeof(err));
			kept.part = part;
			if (!kept.t) {
				sc_log_warn(NULL, "m-section %s ignored: %s", m->mid, err);
				continue;
			}
		}
		next[n_next++] = kept;
	}
	/* Whatever was not kept is gone. */
	for (size_t k = 0; k < c->n_tracks; k++)
		sc_track_free(c->tracks[k].t);
	memcpy(c->tracks, next, n_next * sizeof(next[0]));
	c->n_tracks = n_next;
	participants_gc(c);
}

/* ---- media from the transport */

static sc_track *track_for(sc_capture *c, const sc_rtp *pkt)
{
	char mid[32] = "";
	const uint8_t *v;
	size_t n;
	if (c->ext_mid && sc_rtp_ext_find(pkt, c->ext_mid, &v, &n) == 0 && n < sizeof(mid)) {
		memcpy(mid, v, n);
		mid[n] = 0;
	}
	for (size_t i = 0; i < c->n_tracks; i++)
		if (sc_track_matches(c->tracks[i].t, pkt, mid[0] ? mid : NULL))
			return c->tracks[i].t;
	return NULL;
}

static void on_rtp(void *ud, const uint8_t *p, size_t len)
{
	sc_capture *c = ud;
	sc_rtp pkt;
	if (sc_rtp_parse(p, len, &pkt) < 0) {
		c->rtp_bad++;
		return;
	}
	sc_track *t = track_for(c, &pkt);
	if (!t) {
		c->rtp_unknown++;
		return;
	}
	sc_track_rtp(t, &pkt, now_us());
}

static void on_rtcp_item(void *ud, const sc_rtcp_item *it)
{
	sc_capture *c = ud;
	sc_rtcp_sr sr;
	if (it->pt != 200 || sc_rtcp_sr_parse(it, &sr) < 0)
		return;
	for (size_t i = 0; i < c->n_tracks; i++)
		if (sc_track_config_of(c->tracks[i].t)->ssrc == sr.ssrc)
			sc_track_sr(c->tracks[i].t, &sr, now_us());
}

static void on_rtcp(void *ud, const uint8_t *p, size_t len)
{
	sc_capture *c = ud;
	if (sc_rtcp_walk(p, len, on_rtcp_item, c) < 0)
		c->rtcp_bad++;
}

static gboolean on_poll(gpointer ud)
{
	sc_capture *c = ud;
	uint64_t now = now_us();
	uint8_t buf[1200];
	for (size_t i = 0; i < c->n_tracks; i++) {
		sc_track_poll(c->tracks[i].t, now);
		size_t n = sc_track_feedback(c->tracks[i].t, now, c->our_ssrc, buf, sizeof(buf));
		if (n && c->peer)
			sc_peer_send_rtcp(c->peer, buf, n);
	}
	if (c->peer && now - c->last_rtcp_us >= RTCP_REPORT_MS * 1000) {
		sc_rtcp_report rep[31];
		size_t k = 0;
		c->last_rtcp_us = now;
		for (size_t i = 0; i < c->n_tracks && k < 31; i++)
			if (sc_track_report(c->tracks[i].t, now, &rep[k]))
				k++;
		int n = sc_rtcp_build_rr(buf, sizeof(buf), c->our_ssrc, rep, k);
		if (n > 0)
			sc_peer_send_rtcp(c->peer, buf, (size_t)n);
	}
	return G_SOURCE_CONTINUE;
}

/* ---- the transport */

static void answer_offer(sc_capture *c);
static void send_whep_offer(sc_capture *c);

static void on_peer_state(void *ud, sc_peer_state st, const char *why)
{
	sc_capture *c = ud;
	sc_log_info(NULL, "webrtc: %s%s%s", sc_peer_state_name(st), why ? ": " : "",
		    why ? why : "");
	if (st == SC_PEER_GATHERED) {
		if (c->whep)
			send_whep_offer(c);
		else if (c->pending_sdp)
			answer_offer(c);
	} else if (st == SC_PEER_FAILED) {
		snprintf(c->last_error, sizeof(c->last_error), "webrtc failed: %s",
			 why ? why : "?");
		/* Janus will offer again after a re-join; WHEP cannot recover. */
		if (c->whep)
			finish(c, SC_EXIT_PROTOCOL, c->last_error);
	}
}

static int peer_start(sc_capture *c)
{
	char err[256];
	sc_peer_config pc = {
		.ctx = c->ctx,
		.controlling = c->whep,
		.bind_address = c->cfg.bind_address,
		.stun_server = c->cfg.stun_server,
		.turn_server = c->cfg.turn_server,
		.turn_user = c->cfg.turn_user,
		.turn_password = c->cfg.turn_password,
		.on_state = on_peer_state,
		.on_rtp = on_rtp,
		.on_rtcp = on_rtcp,
		.ud = c,
	};
	c->remote_set = false;
	c->peer = sc_peer_new(&pc, err, sizeof(err));
	if (!c->peer) {
		sc_log_error(NULL, "webrtc: %s", err);
		return -EIO;
	}
	return 0;
}

static void peer_stop(sc_capture *c)
{
	tracks_clear(c);
	sc_peer_free(c->peer);
	c->peer = NULL;
	c->remote_set = false;
}

static size_t first_accepted(const sc_sdp *s, const sc_sdp_choice *ch)
{
	for (size_t i = 0; i < s->n_media; i++)
		if ((!ch || ch[i].accepted) && s->media[i].port)
			return i;
	return SIZE_MAX;
}

static void answer_offer(sc_capture *c)
{
	char err[256];
	sc_sdp_local local;
	sc_sdp_choice choices[SC_SDP_MAX_MEDIA];

	/* Take the offer first: the peer may report states from inside the
	 * calls below, and they must not answer it a second time. */
	char *text = c->pending_sdp;
	sc_sig_stream *streams = c->pending_streams;
	size_t n_streams = c->pending_n;
	c->pending_sdp = NULL;
	c->pending_streams = NULL;
	c->pending_n = 0;

	sc_sdp *offer = sc_sdp_parse(text, strlen(text), err, sizeof(err));
	if (!offer) {
		sc_log_error(NULL, "janus: unusable offer: %s", err);
		goto out;
	}
	sc_peer_local(c->peer, true, &local);
	local.ssrc = c->our_ssrc;
	char *answer = sc_sdp_answer(offer, &local, choices, err, sizeof(err));
	if (!answer) {
		sc_log_error(NULL, "janus: cannot answer: %s", err);
		free(offer);
		goto out;
	}
	tracks_update(c, offer, choices, streams, n_streams);
	if (sc_signaling_answer(c->sig, answer) < 0)
		sc_log_error(NULL, "janus: sending the answer failed");
	size_t first = first_accepted(offer, choices);
	if (!c->remote_set && first != SIZE_MAX) {
		c->remote_set = true;
		if (sc_peer_set_remote(c->peer, offer, first, err, sizeof(err)) < 0)
			sc_log_error(NULL, "webrtc: remote description refused: %s", err);
	}
	free(answer);
	free(offer);
out:
	free(text);
	free(streams);
}

static void send_whep_offer(sc_capture *c)
{
	sc_sdp_local local;
	sc_peer_local(c->peer, false, &local);
	local.ssrc = c->our_ssrc;
	char *offer = sc_sdp_offer_recvonly(&local, 1, 1);
	if (!offer || sc_signaling_offer(c->sig, offer) < 0) {
		snprintf(c->last_error, sizeof(c->last_error), "whep: cannot send the offer");
		finish(c, SC_EXIT_RUNTIME, c->last_error);
	}
	free(offer);
}

/* WHEP: the answer decides the tracks; each accepted section's first
 * format is what the server will send. */
static void take_answer(sc_capture *c, const char *sdp, const sc_sig_stream *streams, size_t n)
{
	char err[160];
	sc_sdp *ans = sc_sdp_parse(sdp, strlen(sdp), err, sizeof(err));
	if (!ans) {
		snprintf(c->last_error, sizeof(c->last_error), "whep: unusable answer: %s", err);
		finish(c, SC_EXIT_PROTOCOL, c->last_error);
		return;
	}
	sc_sdp_choice ch[SC_SDP_MAX_MEDIA];
	memset(ch, 0, sizeof(ch));
	for (size_t i = 0; i < ans->n_media; i++) {
		const sc_sdp_media *m = &ans->media[i];
		ch[i].rtx_pt = -1;
		if (!m->port || !m->n_fmts)
			continue;
		ch[i].accepted = true;
		ch[i].pt = m->fmts[0].pt;
		ch[i].clock = m->fmts[0].clock;
		for (size_t k = 0; k < sizeof(ch[i].codec) - 1 && m->fmts[0].codec[k]; k++)
			ch[i].codec[k] = (char)g_ascii_tolower(m->fmts[0].codec[k]);
		for (size_t f = 1; f < m->n_fmts; f++)
			if (m->fmts[f].apt == m->fmts[0].pt)
				ch[i].rtx_pt = m->fmts[f].pt;
	}
	size_t first = first_accepted(ans, ch);
	sc_log_debug(NULL, "whep: answer has %zu m-sections, setup \"%s\"", ans->n_media,
		     first == SIZE_MAX ? "" : sc_sdp_setup(ans, first));
	if (first == SIZE_MAX || sc_peer_set_remote(c->peer, ans, first, err, sizeof(err)) < 0) {
		snprintf(c->last_error, sizeof(c->last_error), "whep: answer refused: %s",
			 first == SIZE_MAX ? "no media" : err);
		free(ans);
		finish(c, SC_EXIT_PROTOCOL, c->last_error);
		return;
	}
	c->remote_set = true;
	tracks_update(c, ans, ch, streams, n);
	free(ans);
}

/* ---- signalling events, moved onto the network thread */

typedef enum { EV_OFFER, EV_ANSWER, EV_CANDIDATE, EV_ERROR } ev_kind;

typedef struct {
	sc_capture *c;
	ev_kind kind;
	char *text, *mid;
	sc_sig_stream *streams;
	size_t n;
	sc_sig_error err;
	bool fatal;
} sig_event;

static void sig_event_free(gpointer p)
{
	sig_event *e = p;
	free(e->text);
	free(e->mid);
	free(e->streams);
	free(e);
}

static int exit_for(sc_sig_error e)
{
	switch (e) {
	case SC_SIG_ERR_NOT_FOUND:
		return SC_EXIT_NOT_FOUND;
	case SC_SIG_ERR_DENIED:
		return SC_EXIT_DENIED;
	case SC_SIG_ERR_UNREACHABLE:
		return SC_EXIT_UNREACHABLE;
	default:
		return SC_EXIT_PROTOCOL;
	}
}

static gboolean on_sig_event(gpointer p)
{
	sig_event *e = p;
	sc_capture *c = e->c;
	if (c->done)
		return G_SOURCE_REMOVE;
	switch (e->kind) {
	case EV_OFFER:
		free(c->pending_sdp);
		free(c->pending_streams);
		c->pending_sdp = e->text;
		c->pending_streams = e->streams;
		c->pending_n = e->n;
		e->text = NULL;
		e->streams = NULL;
		if (!c->peer && peer_start(c) < 0) {
			finish(c, SC_EXIT_RUNTIME, "cannot start WebRTC");
			break;
		}
		/* Answered now if our candidates are in, else once they are. */
		if (c->peer) {
			sc_sdp_local l;
			sc_peer_local(c->peer, true, &l);
			if (l.n_candidates > 0)
				answer_offer(c);
		}
		break;
	case EV_ANSWER:
		take_answer(c, e->text, e->streams, e->n);
		break;
	case EV_CANDIDATE:
		if (c->peer && e->text)
			sc_peer_add_remote_candidate(c->peer, e->text);
		break;
	case EV_ERROR:
		snprintf(c->last_error, sizeof(c->last_error), "%s", e->text ? e->text : "?");
		if (e->fatal) {
			sc_log_error(NULL, "conference: %s", c->last_error);
			finish(c, exit_for(e->err), c->last_error);
		} else {
			/* The server went away: start over when it offers again. */
			sc_log_warn(NULL, "conference: %s; the output keeps running",
				    c->last_error);
			if (!c->whep)
				peer_stop(c);
		}
		break;
	}
	return G_SOURCE_REMOVE;
}

/* Always through the loop, never run in place: before the loop runs,
 * g_main_context_invoke() would call on_sig_event on the signalling thread
 * (and an early "connection refused" would race the start-up). */
static void post(sc_capture *c, sig_event *e)
{
	e->c = c;
	GSource *s = g_idle_source_new();
	g_source_set_callback(s, on_sig_event, e, sig_event_free);
	g_source_attach(s, c->ctx);
	g_source_unref(s);
}

static sc_sig_stream *copy_streams(const sc_sig_stream *s, size_t n)
{
	sc_sig_stream *d = n ? malloc(n * sizeof(*d)) : NULL;
	if (d)
		memcpy(d, s, n * sizeof(*d));
	return d;
}

static void sig_on_offer(void *ud, const char *sdp, const sc_sig_stream *s, size_t n)
{
	sig_event *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->kind = EV_OFFER;
	e->text = strdup(sdp);
	e->streams = copy_streams(s, n);
	e->n = e->streams ? n : 0;
	post(ud, e);
}

static void sig_on_answer(void *ud, const char *sdp, const sc_sig_stream *s, size_t n)
{
	sig_event *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->kind = EV_ANSWER;
	e->text = strdup(sdp);
	e->streams = copy_streams(s, n);
	e->n = e->streams ? n : 0;
	post(ud, e);
}

static void sig_on_candidate(void *ud, const char *mid, const char *cand)
{
	sig_event *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->kind = EV_CANDIDATE;
	e->text = cand ? strdup(cand) : NULL;
	e->mid = mid ? strdup(mid) : NULL;
	post(ud, e);
}

static void sig_on_participants(void *ud, const sc_sig_stream *people, size_t n)
{
	/* Joins and leaves arrive as new offers; names come with them. */
	(void)ud;
	(void)people;
	(void)n;
}

static void sig_on_error(void *ud, sc_sig_error err, bool fatal, const char *msg)
{
	sig_event *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->kind = EV_ERROR;
	e->err = err;
	e->fatal = fatal;
	e->text = strdup(msg ? msg : "");
	post(ud, e);
}

/* ---- lifecycle */

static gboolean on_life(gpointer ud)
{
	sc_capture *c = ud;
	uint64_t now = now_us();
	if (c->cfg.max_duration_ms &&
	    now - c->started_us >= (uint64_t)c->cfg.max_duration_ms * 1000)
		finish(c, SC_EXIT_OK, "--max-duration reached");
	else if (c->cfg.empty_timeout_ms && c->empty_since_us &&
		 now - c->empty_since_us >= (uint64_t)c->cfg.empty_timeout_ms * 1000)
		finish(c, SC_EXIT_OK, "the room stayed empty for --empty-timeout");
	if (!c->done) {
		sc_mixer_stats ms;
		sc_mixer_get_stats(c->mixer, &ms);
		if (ms.output_refused)
			finish(c, SC_EXIT_REFUSED, ms.output_error);
	}
	return G_SOURCE_CONTINUE;
}

static GSource *add_timer(sc_capture *c, unsigned ms, GSourceFunc fn)
{
	GSource *s = g_timeout_source_new(ms);
	g_source_set_callback(s, fn, c, NULL);
	g_source_attach(s, c->ctx);
	return s;
}

sc_capture *sc_capture_new(GMainContext *ctx, const sc_capture_config *cfg, int *ret_exit,
			   char *err, size_t errlen)
{
	char e[256];
	sc_capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		*ret_exit = SC_EXIT_RUNTIME;
		return NULL;
	}
	c->ctx = ctx;
	c->cfg = *cfg;
	c->started_us = c->empty_since_us = now_us();
	c->our_ssrc = g_random_int() | 1;
	c->whep = !strncmp(cfg->conference, "whep+", 5);

	sc_mixer_config mc = {
		.profile = cfg->profile,
		.layout = cfg->layout,
		.output_url = cfg->output,
		.playout_delay_us = cfg->playout_delay_ms * 1000,
	};
	c->mixer = sc_mixer_new(&mc, e, sizeof(e));
	if (!c->mixer) {
		snprintf(err, errlen, "output: %s", e);
		*ret_exit = SC_EXIT_RUNTIME;
		goto fail;
	}
	sc_sig_options so = {
		.bearer_token = cfg->bearer_token,
		.display = cfg->display,
		.connect_timeout_ms = 5000,
	};
	sc_sig_callbacks cb = {
		.on_offer = sig_on_offer,
		.on_answer = sig_on_answer,
		.on_candidate = sig_on_candidate,
		.on_participants = sig_on_participants,
		.on_error = sig_on_error,
		.ud = c,
	};
	c->sig = sc_signaling_new(cfg->conference, &so, &cb, e, sizeof(e));
	if (!c->sig) {
		snprintf(err, errlen, "--conference: %s", e);
		*ret_exit = SC_EXIT_CONFIG;
		goto fail;
	}
	c->poll_timer = add_timer(c, POLL_MS, on_poll);
	c->life_timer = add_timer(c, 500, on_life);
	c->saved_poll = sc_loop_batch(ctx); /* on_poll's rate: see loop.h */
	if (c->whep && peer_start(c) < 0) {
		snprintf(err, errlen, "cannot start WebRTC");
		*ret_exit = SC_EXIT_RUNTIME;
		goto fail;
	}
	if (sc_signaling_start(c->sig) < 0) {
		snprintf(err, errlen, "cannot start signalling");
		*ret_exit = SC_EXIT_RUNTIME;
		goto fail;
	}
	return c;
fail:
	sc_capture_free(c);
	return NULL;
}

void sc_capture_free(sc_capture *c)
{
	if (!c)
		return;
	c->done = true;
	if (c->saved_poll)
		sc_loop_unbatch(c->ctx, c->saved_poll);
	/* Leave the room first, so nobody sends to a closing transport. */
	sc_signaling_free(c->sig);
	c->sig = NULL;
	GSource *timers[] = {c->poll_timer, c->life_timer};
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
		if (timers[i]) {
			g_source_destroy(timers[i]);
			g_source_unref(timers[i]);
		}
	peer_stop(c);
	sc_mixer_free(c->mixer);
	free(c->pending_sdp);
	free(c->pending_streams);
	free(c);
}

void sc_capture_stop(sc_capture *c, const char *why)
{
	finish(c, SC_EXIT_OK, why);
}

void sc_capture_on_done(sc_capture *c, void (*fn)(void *ud, int exit_code, const char *why),
			void *ud)
{
	c->on_done = fn;
	c->done_ud = ud;
}
