/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signaling.h - how a capture gets into its conference. An ops table, one
 * per kind of server (like FFmpeg's protocols):
 *
 *   janus   janus://HOST:PORT/ROOM[?pin=PIN]   Janus 1.x VideoRoom over its
 *           HTTP API: a session, a "publisher" handle that joins the room
 *           without publishing (to follow joins and leaves) and a
 *           multistream subscriber handle for every publisher's streams;
 *           long-polled events; keepalives. Janus offers, we answer.
 *   whep    whep+http(s)://HOST/PATH   RFC 9725 (WHEP): we offer, the
 *           server answers (201 + Location); DELETE on stop.
 *
 * Each runs a thread of its own (blocking libcurl, long polls) and reports
 * through the callbacks below, from that thread: the capture moves the
 * work onto its network thread. The calls into it (answer, offer,
 * candidate, stop) may come from any thread.
 */
#ifndef SC_SIGNALING_H
#define SC_SIGNALING_H

#include <stdbool.h>
#include <stddef.h>

/* One m-section of the server's SDP and whose media it carries. */
typedef struct {
	char mid[32];
	char kind[8];	   /* "audio", "video" */
	char feed[64];	   /* participant id (Janus feed id; WHEP: "whep") */
	char display[128]; /* participant name */
	bool active;	   /* false: the participant left; the section is dead */
} sc_sig_stream;

/* Why signalling failed; the capture maps these to exit codes. */
typedef enum {
	SC_SIG_ERR_UNREACHABLE = 1, /* connection refused, timeout, DNS */
	SC_SIG_ERR_NOT_FOUND,	    /* no such room / WHEP endpoint 404 */
	SC_SIG_ERR_DENIED,	    /* wrong pin, 401/403 */
	SC_SIG_ERR_PROTOCOL,	    /* the server said something we cannot use */
} sc_sig_error;

typedef struct {
	/* Janus: an offer (first, or renegotiation after joins/leaves) with
	 * the stream map; answer it with ops->answer(). */
	void (*on_offer)(void *ud, const char *sdp, const sc_sig_stream *streams, size_t n);
	/* WHEP: the answer to our offer, with the stream map. */
	void (*on_answer)(void *ud, const char *sdp, const sc_sig_stream *streams, size_t n);
	/* A trickled remote candidate (value of a=candidate:), or NULL at the end. */
	void (*on_candidate)(void *ud, const char *mid, const char *candidate);
	/* Participants now in the room (ids and names), on every change. */
	void (*on_participants)(void *ud, const sc_sig_stream *people, size_t n);
	/* fatal: signalling gave up (the capture exits with the error's code);
	 * otherwise it is reconnecting (Janus restarted) and will offer again. */
	void (*on_error)(void *ud, sc_sig_error err, bool fatal, const char *msg);
	void *ud;
} sc_sig_callbacks;

typedef struct {
	const char *bearer_token; /* WHEP Authorization: Bearer; NULL none */
	const char *display;	  /* our name in the room ("stagecast") */
	int connect_timeout_ms;	  /* per HTTP request to connect (5000) */
} sc_sig_options;

typedef struct {
	const char *name;   /* "janus", "whep" */
	const char *scheme; /* URL prefix it handles: "janus://", "whep+" */
	size_t priv_size;
	/* Parse the URL and check options; no network yet. */
	int (*init)(void *priv, const char *url, const sc_sig_options *opt,
		    const sc_sig_callbacks *cb, char *err, size_t errlen);
	/* Start the thread: Janus joins and waits for an offer; WHEP waits for
	 * offer(). Errors from here on come through on_error. */
	int (*start)(void *priv);
	int (*answer)(void *priv, const char *sdp); /* Janus */
	int (*offer)(void *priv, const char *sdp);  /* WHEP */
	int (*candidate)(void *priv, const char *mid, const char *candidate); /* may be NULL */
	/* Leave the room / DELETE the WHEP session, stop the thread. */
	void (*stop)(void *priv);
	/* Always called, also after a failed init (like FFmpeg's deinit). */
	void (*deinit)(void *priv);
} sc_signaling_ops;

extern const sc_signaling_ops sc_signaling_janus;
extern const sc_signaling_ops sc_signaling_whep;

/* By URL scheme; NULL if none handles it. */
const sc_signaling_ops *sc_signaling_find(const char *url);

typedef struct sc_signaling sc_signaling;
sc_signaling *sc_signaling_new(const char *url, const sc_sig_options *opt,
			       const sc_sig_callbacks *cb, char *err, size_t errlen);
int sc_signaling_start(sc_signaling *s);
int sc_signaling_answer(sc_signaling *s, const char *sdp);
int sc_signaling_offer(sc_signaling *s, const char *sdp);
int sc_signaling_candidate(sc_signaling *s, const char *mid, const char *candidate);
void sc_signaling_free(sc_signaling *s); /* stop + deinit */
const char *sc_signaling_name(const sc_signaling *s);

#endif
