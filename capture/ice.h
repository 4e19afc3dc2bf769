/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ice.h - internal to capture/peer.c: one libnice agent (RFC 5245 full
 * ICE, either role) with one stream of one UDP component, host candidates
 * on one address or all, optional STUN and TURN/UDP.
 *
 * Everything runs on the GMainContext of the config; callbacks too, and
 * they may come from inside sc_ice_gather(). Functions: that thread only.
 */
#ifndef SC_ICE_H
#define SC_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_ICE_MAX_CANDS 16

typedef struct {
	GMainContext *ctx;
	bool controlling;
	const char *bind_address; /* NULL: every interface */
	const char *stun_server;  /* "host:port" or NULL */
	const char *turn_server;  /* "host:port" or NULL */
	const char *turn_user, *turn_password;
	void (*on_gathered)(void *ud);
	void (*on_connected)(void *ud); /* a pair is selected: data can flow */
	void (*on_failed)(void *ud, const char *why);
	void (*on_recv)(void *ud, const uint8_t *buf, size_t len);
	void *ud;
} sc_ice_config;

typedef struct sc_ice sc_ice;

/* The agent and its stream; no network activity yet. */
sc_ice *sc_ice_new(const sc_ice_config *cfg, char *err, size_t errlen);
void sc_ice_free(sc_ice *ice);
/* Starts gathering; on_gathered follows (maybe before this returns). */
int sc_ice_gather(sc_ice *ice, char *err, size_t errlen);

const char *sc_ice_ufrag(const sc_ice *ice);
const char *sc_ice_pwd(const sc_ice *ice);
/* Local candidates gathered so far, as a=candidate: values. */
size_t sc_ice_candidates(const sc_ice *ice, const char *const **ret);

/* Remote credentials and candidates (values of a=candidate:, with or
 * without the "candidate:" prefix); starts the checks. Candidates that are
 * not UDP component 1 or that libnice cannot parse are skipped. */
int sc_ice_set_remote(sc_ice *ice, const char *ufrag, const char *pwd, const char *const *cands,
		      size_t n, char *err, size_t errlen);
/* 0, 1 when skipped (TCP, other component), or -EINVAL. */
int sc_ice_add_remote_candidate(sc_ice *ice, const char *cand);

/* One datagram on the selected pair. 0 or -EIO / -ENOTCONN. */
int sc_ice_send(sc_ice *ice, const uint8_t *buf, size_t len);

#endif
