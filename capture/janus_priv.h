/* SPDX-License-Identifier: Apache-2.0 */
/*
 * janus_priv.h - private to capture/janus.c (HTTP, threads, ops table) and
 * capture/janus_room.c (URL, VideoRoom state and events). The room part
 * runs on the brain thread only and talks to Janus through j->send, so the
 * unit test drives it with recorded events and a fake send.
 */
#ifndef SC_JANUS_PRIV_H
#define SC_JANUS_PRIV_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "signaling.h"
#include "signaling_http.h"

#define JN_DEFAULT_PORT 8088
#define JN_MAX_PUBS	64
#define JN_MAX_STREAMS	64
/* Feeds subscribed at most: two sections each must fit the capture's
 * SDP model (SC_SDP_MAX_MEDIA 32). Later publishers wait for a slot. */
#define JN_MAX_FEEDS	    16
#define JN_MAX_SDP	    (256 * 1024)
#define JN_QUEUE_MAX	    256
#define JN_KEEPALIVE_MS	    25000
#define JN_REQ_TIMEOUT_MS   10000
#define JN_POLL_TIMEOUT_MS  40000 /* Janus answers a long poll within 30 s */
#define JN_JOIN_TIMEOUT_MS  10000
#define JN_STOP_BUDGET_MS   1500
#define JN_BACKOFF_FIRST_MS 500
#define JN_BACKOFF_MAX_MS   10000

typedef struct {
	char id[64];
	json_t *idv; /* the id as Janus sent it (integer or string) */
	char display[128];
	bool pending; /* asked for in a join/subscribe, not in an offer yet */
	bool failed;  /* Janus refused it; not asked again until re-announced */
} jn_pub;

enum { IT_EVENT, IT_POLL_FAILED, IT_ANSWER, IT_CANDIDATE };

typedef struct jn_item {
	struct jn_item *next;
	int kind;
	unsigned gen; /* session generation it belongs to */
	json_t *ev;
	char *text; /* answer SDP, candidate, or failure message */
	char mid[32];
	int err;
} jn_item;

enum { SUB_NONE, SUB_JOINING, SUB_JOINED };

typedef struct janus janus;
typedef int (*jn_send_fn)(janus *j, uint64_t handle, json_t *msg, json_t **ret_reply);

struct janus {
	/* configuration (read-only once started) */
	char base[512]; /* http://HOST:PORT/janus */
	json_t *room;
	char pin[128];
	char display[128];
	long connect_timeout_ms;
	sc_sig_callbacks cb;
	jn_send_fn send; /* the HTTP POST; unit tests replace it */

	/* threads and the queue into the brain */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sync_init, brain_started, poll_started;
	pthread_t brain, poller;
	jn_item *head, *tail;
	size_t n_items;
	unsigned gen; /* written by the brain under lock */
	atomic_bool stopping, poll_abort;
	CURL *curl, *poll_curl;
	long req_timeout_ms;
	const atomic_bool *req_abort;

	/* session state: brain thread only */
	uint64_t session, h_pub, h_sub;
	json_t *private_id;
	bool joined, ever_joined, offer_pending, starting;
	int sub_state;
	char req_tid[32]; /* subscriber request waiting for its result */
	unsigned long long tid;
	long long join_deadline;
	jn_pub pubs[JN_MAX_PUBS];
	size_t n_pubs;
	sc_sig_stream streams[JN_MAX_STREAMS];
	size_t n_streams;
	/* why the session ended */
	sc_sig_error fail_err;
	char fail_msg[256];
};

/* 0, or -EINVAL with a message: janus://HOST[:PORT]/ROOM[?pin=PIN]. */
int sc_janus_parse_url(janus *j, const char *url, char *err, size_t errlen);
/* Record why the session ended; returns -EPROTO. */
int sc_janus_fail(janus *j, sc_sig_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Brain thread. Each returns 0, or a negative errno when the session is
 * over (fail_err / fail_msg say why); the caller then reconnects or, before
 * the first join, gives up.
 */
int sc_janus_event(janus *j, json_t *ev);
int sc_janus_send_answer(janus *j, const char *sdp);
int sc_janus_send_candidate(janus *j, const char *mid, const char *cand);
/* The join as a publisher-that-does-not-publish (async: "joined" follows). */
int sc_janus_join(janus *j);
/* Forget the room state of a session (before a new one). */
void sc_janus_reset(janus *j);
/* A session-level or handle-level request (transaction added). */
int sc_janus_request(janus *j, uint64_t handle, json_t *msg, json_t **ret_reply, char *ret_tid);

#endif
