/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peer.c - one receive-only WebRTC transport: ICE (ice.c), DTLS (dtls.c),
 * SRTP (srtp.c) and the RFC 7983 demultiplexer that joins them. See peer.h.
 */
#include "peer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtls.h"
#include "ice.h"
#include "srtp.h"

#define MAX_PKT		   2048 /* larger datagrams are not RTP we want */
#define CONNECT_TIMEOUT_MS 30000

struct sc_peer {
	sc_peer_config cfg;
	sc_ice *ice;
	sc_dtls *dtls;
	sc_srtp *srtp;
	sc_peer_state state;
	bool constructing, gathered, remote_set, ice_connected, up, failed;
	/* Deferred work: a state update after the constructor, and free()
	 * requested from inside one of our own callbacks. */
	GSource *kick, *deadline;
	int busy;
	bool doomed, free_scheduled;
	uint32_t ssrc;
	char why[256];
	sc_peer_stats st;
	uint8_t rx[MAX_PKT];
	uint8_t tx[MAX_PKT + SC_SRTP_MAX_TRAILER];
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

const char *sc_peer_state_name(sc_peer_state st)
{
	switch (st) {
	case SC_PEER_GATHERING:
		return "gathering";
	case SC_PEER_GATHERED:
		return "gathered";
	case SC_PEER_CHECKING:
		return "checking";
	case SC_PEER_CONNECTED:
		return "connected";
	case SC_PEER_UP:
		return "up";
	case SC_PEER_FAILED:
		return "failed";
	}
	return "?";
}

static void destroy_source(GSource **s)
{
	if (*s) {
		g_source_destroy(*s);
		g_source_unref(*s);
		*s = NULL;
	}
}

static void real_free(sc_peer *p)
{
	destroy_source(&p->kick);
	destroy_source(&p->deadline);
	sc_ice_free(p->ice);
	sc_dtls_free(p->dtls);
	sc_srtp_free(p->srtp);
	free(p);
}

static gboolean on_deferred_free(gpointer ud)
{
	real_free(ud);
	return G_SOURCE_REMOVE;
}

static void enter(sc_peer *p)
{
	p->busy++;
}

/* Leaving the outermost callback of a peer freed meanwhile: free it from
 * the main loop, outside libnice's and OpenSSL's stacks. */
static void leave(sc_peer *p)
{
	if (--p->busy == 0 && p->doomed && !p->free_scheduled) {
		p->free_scheduled = true;
		GSource *s = g_idle_source_new();
		g_source_set_callback(s, on_deferred_free, p, NULL);
		g_source_attach(s, p->cfg.ctx);
		g_source_unref(s);
	}
}

static void notify(sc_peer *p, sc_peer_state st, const char *why)
{
	p->state = st;
	if (p->cfg.on_state && !p->doomed)
		p->cfg.on_state(p->cfg.ud, st, why);
}

/* Step through every state up to the one the flags say, so that the
 * owner sees GATHERED (its cue to send an SDP) before anything later. */
static void update(sc_peer *p)
{
	if (p->constructing || p->doomed || p->state == SC_PEER_FAILED)
		return;
	if (p->failed) {
		destroy_source(&p->deadline);
		notify(p, SC_PEER_FAILED, p->why);
		return;
	}
	for (;;) {
		sc_peer_state target = SC_PEER_GATHERING;
		if (p->gathered) {
			target = p->up		    ? SC_PEER_UP
				 : p->ice_connected ? SC_PEER_CONNECTED
				 : p->remote_set    ? SC_PEER_CHECKING
						    : SC_PEER_GATHERED;
		}
		if (p->state >= target || p->doomed || p->failed || p->state == SC_PEER_FAILED)
			break;
		sc_peer_state next = p->state + 1;
		char why[64];
		switch (next) {
		case SC_PEER_GATHERED: {
			const char *const *c;
			snprintf(why, sizeof(why), "%zu local candidates",
				 sc_ice_candidates(p->ice, &c));
			break;
		}
		case SC_PEER_CHECKING:
			snprintf(why, sizeof(why), "ICE checks running");
			break;
		case SC_PEER_CONNECTED:
			snprintf(why, sizeof(why), "ICE connected, DTLS handshake running");
			break;
		default:
			snprintf(why, sizeof(why), "SRTP keyed");
			break;
		}
		if (next == SC_PEER_UP)
			destroy_source(&p->deadline);
		notify(p, next, why);
	}
}

static void peer_fail(sc_peer *p, const char *why)
{
	if (p->failed)
		return;
	p->failed = true;
	snprintf(p->why, sizeof(p->why), "%s", why);
	update(p);
}

/* ---- callbacks from ice.c and dtls.c */

static void on_ice_gathered(void *ud)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	p->gathered = true;
	update(p);
	leave(p);
}

static void on_ice_connected(void *ud)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	p->ice_connected = true;
	if (p->remote_set && !p->doomed)
		sc_dtls_start(p->dtls);
	update(p);
	leave(p);
}

static void on_ice_failed(void *ud, const char *why)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	peer_fail(p, why);
	leave(p);
}

static void deliver_srtp(sc_peer *p, const uint8_t *buf, size_t len)
{
	if (!p->srtp || p->failed || len > sizeof(p->rx)) {
		p->st.dropped_srtp++;
		return;
	}
	memcpy(p->rx, buf, len);
	size_t n = len;
	/* RFC 5761: RTCP packet types 192..223 sit where RTP has M+PT. */
	if (len >= 2 && buf[1] >= 192 && buf[1] <= 223) {
		if (sc_srtp_unprotect_rtcp(p->srtp, p->rx, &n) < 0 || (p->rx[0] >> 6) != 2) {
			p->st.dropped_srtp++;
			return;
		}
		p->st.rtcp++;
		if (p->cfg.on_rtcp && !p->doomed)
			p->cfg.on_rtcp(p->cfg.ud, p->rx, n);
		return;
	}
	if (sc_srtp_unprotect_rtp(p->srtp, p->rx, &n) < 0 || (p->rx[0] >> 6) != 2) {
		p->st.dropped_srtp++;
		return;
	}
	p->st.rtp++;
	if (p->cfg.on_rtp && !p->doomed)
		p->cfg.on_rtp(p->cfg.ud, p->rx, n);
}

static void on_ice_recv(void *ud, const uint8_t *buf, size_t len)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	p->st.rx_packets++;
	p->st.rx_bytes += len;
	uint8_t b = len ? buf[0] : 0;
	if (len >= 13 && b >= 20 && b <= 63 && p->remote_set) {
		/* RFC 7983: DTLS */
		p->st.dtls++;
		sc_dtls_recv(p->dtls, buf, len);
	} else if (len >= 12 && b >= 128 && b <= 191) {
		deliver_srtp(p, buf, len); /* RTP or RTCP, version 2 */
	} else {
		p->st.dropped_unknown++;
	}
	leave(p);
}

static int on_dtls_send(void *ud, const uint8_t *buf, size_t len)
{
	sc_peer *p = ud;
	return sc_ice_send(p->ice, buf, len);
}

static void on_dtls_done(void *ud, const sc_srtp_keys *keys)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	char err[160];
	p->srtp = sc_srtp_new(keys, err, sizeof(err));
	if (!p->srtp) {
		peer_fail(p, err);
	} else {
		p->up = true;
		p->st.up_us = g_get_monotonic_time();
		update(p);
	}
	leave(p);
}

static void on_dtls_failed(void *ud, const char *why)
{
	sc_peer *p = ud;
	if (p->doomed)
		return;
	enter(p);
	peer_fail(p, why);
	leave(p);
}

static gboolean on_kick(gpointer ud)
{
	sc_peer *p = ud;
	g_source_unref(p->kick);
	p->kick = NULL;
	enter(p);
	update(p);
	leave(p);
	return G_SOURCE_REMOVE;
}

static gboolean on_deadline(gpointer ud)
{
	sc_peer *p = ud;
	g_source_unref(p->deadline);
	p->deadline = NULL;
	enter(p);
	if (!p->up)
		peer_fail(p, p->ice_connected ? "timed out: DTLS handshake did not complete"
					      : "timed out: ICE did not connect");
	leave(p);
	return G_SOURCE_REMOVE;
}

/* ---- API */

sc_peer *sc_peer_new(const sc_peer_config *cfg, char *err, size_t errlen)
{
	sc_peer *p = calloc(1, sizeof(*p));
	if (!p) {
		set_err(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = *cfg;
	p->state = SC_PEER_GATHERING;
	p->constructing = true;
	if (!cfg->ctx) {
		set_err(err, errlen, "no GMainContext");
		goto fail;
	}
	do
		p->ssrc = g_random_int();
	while (p->ssrc == 0);
	sc_dtls_config dc = {.ctx = cfg->ctx,
			     .send = on_dtls_send,
			     .on_done = on_dtls_done,
			     .on_failed = on_dtls_failed,
			     .ud = p};
	p->dtls = sc_dtls_new(&dc, err, errlen);
	if (!p->dtls)
		goto fail;
	sc_ice_config ic = {.ctx = cfg->ctx,
			    .controlling = cfg->controlling,
			    .bind_address = cfg->bind_address,
			    .stun_server = cfg->stun_server,
			    .turn_server = cfg->turn_server,
			    .turn_user = cfg->turn_user,
			    .turn_password = cfg->turn_password,
			    .on_gathered = on_ice_gathered,
			    .on_connected = on_ice_connected,
			    .on_failed = on_ice_failed,
			    .on_recv = on_ice_recv,
			    .ud = p};
	p->ice = sc_ice_new(&ic, err, errlen);
	if (!p->ice || sc_ice_gather(p->ice, err, errlen) < 0)
		goto fail;
	p->constructing = false;
	/* Gathering may have finished (or failed) inside sc_ice_gather():
	 * report it from the loop, once the owner holds the pointer. */
	if (p->gathered || p->failed) {
		p->kick = g_idle_source_new();
		g_source_set_callback(p->kick, on_kick, p, NULL);
		g_source_attach(p->kick, cfg->ctx);
	}
	return p;
fail:
	real_free(p);
	return NULL;
}

void sc_peer_free(sc_peer *p)
{
	if (!p)
		return;
	if (p->busy > 0) {
		p->doomed = true; /* leave() frees it */
		destroy_source(&p->kick);
		destroy_source(&p->deadline);
		return;
	}
	real_free(p);
}

void sc_peer_local(sc_peer *p, bool answering, sc_sdp_local *ret)
{
	const char *const *cands;
	size_t n = sc_ice_candidates(p->ice, &cands);
	*ret = (sc_sdp_local){.ice_ufrag = sc_ice_ufrag(p->ice),
			      .ice_pwd = sc_ice_pwd(p->ice),
			      .fingerprint = sc_dtls_fingerprint(p->dtls),
			      .setup = answering ? "active" : "actpass",
			      .candidates = cands,
			      .n_candidates = n,
			      .ssrc = p->ssrc};
}

static bool ice_chars(const char *s, size_t min)
{
	size_t n = strlen(s);
	if (n < min || n > 256)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/'))
			return false;
	}
	return true;
}

int sc_peer_set_remote(sc_peer *p, const sc_sdp *remote, size_t media_index, char *err,
		       size_t errlen)
{
	if (p->remote_set) {
		set_err(err, errlen, "remote description already set");
		return -EALREADY;
	}
	if (p->failed) {
		set_err(err, errlen, "peer failed");
		return -ENOTCONN;
	}
	if (!remote || media_index >= remote->n_media) {
		set_err(err, errlen, "no such m-section");
		return -EINVAL;
	}
	const char *ufrag = sc_sdp_ice_ufrag(remote, media_index);
	const char *pwd = sc_sdp_ice_pwd(remote, media_index);
	const char *fp = sc_sdp_fingerprint(remote, media_index);
	const char *setup = sc_sdp_setup(remote, media_index);
	if (!ice_chars(ufrag, 4) || !ice_chars(pwd, 22)) {
		set_err(err, errlen, "missing or malformed a=ice-ufrag / a=ice-pwd");
		return -EINVAL;
	}
	uint8_t md[SC_DTLS_FP_LEN];
	int r = sc_dtls_parse_fingerprint(fp, md);
	if (r == -ENOTSUP) {
		set_err(err, errlen, "a=fingerprint: only sha-256 is accepted");
		return -EINVAL;
	} else if (r < 0) {
		set_err(err, errlen, "missing or malformed a=fingerprint");
		return -EINVAL;
	}
	/*
	 * RFC 5763 5: the offerer says actpass, the answerer picks active or
	 * passive. When we answered, the remote's actpass leaves the client
	 * role to us. When we offered, an answer may still say actpass (Janus
	 * does, behind WHEP servers) and then acts as the client: take it as
	 * active.
	 */
	bool client;
	if (!*setup || !strcmp(setup, "passive")) {
		client = true;
	} else if (!strcmp(setup, "actpass")) {
		client = !p->cfg.controlling; /* controlling: we sent the offer */
	} else if (!strcmp(setup, "active")) {
		client = false;
	} else {
		set_err(err, errlen, "bad a=setup");
		return -EINVAL;
	}
	const sc_sdp_media *m = &remote->media[media_index];
	const char *cands[SC_SDP_MAX_CANDS];
	size_t n = m->n_candidates < SC_SDP_MAX_CANDS ? m->n_candidates : SC_SDP_MAX_CANDS;
	for (size_t i = 0; i < n; i++)
		cands[i] = m->candidates[i];

	r = sc_dtls_set_remote(p->dtls, client, md, err, errlen);
	if (r < 0)
		return r;
	r = sc_ice_set_remote(p->ice, ufrag, pwd, cands, n, err, errlen);
	if (r < 0)
		return r;
	p->remote_set = true;
	p->deadline = g_timeout_source_new(CONNECT_TIMEOUT_MS);
	g_source_set_callback(p->deadline, on_deadline, p, NULL);
	g_source_attach(p->deadline, p->cfg.ctx);
	enter(p);
	if (p->ice_connected)
		sc_dtls_start(p->dtls);
	update(p);
	leave(p);
	return 0;
}

int sc_peer_add_remote_candidate(sc_peer *p, const char *cand)
{
	if (!cand)
		return -EINVAL;
	if (!p->remote_set)
		return -EAGAIN; /* libnice needs the credentials first */
	int r = sc_ice_add_remote_candidate(p->ice, cand);
	return r < 0 ? r : 0;
}

int sc_peer_send_rtcp(sc_peer *p, const uint8_t *pkt, size_t len)
{
	if (!p->up || p->failed || !p->srtp)
		return -ENOTCONN;
	if (len < 8)
		return -EINVAL;
	if (len > MAX_PKT)
		return -EMSGSIZE;
	memcpy(p->tx, pkt, len);
	size_t n = len;
	int r = sc_srtp_protect_rtcp(p->srtp, p->tx, &n, sizeof(p->tx));
	if (r < 0)
		return r;
	r = sc_ice_send(p->ice, p->tx, n);
	if (r < 0)
		return r;
	p->st.tx_rtcp++;
	return 0;
}

void sc_peer_get_stats(const sc_peer *p, sc_peer_stats *ret)
{
	*ret = p->st;
}
