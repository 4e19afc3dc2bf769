/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_priv.h - shared by engine.c (thread, queue, tick, autoscaling),
 * engine_streams.c (the operator's requests) and engine_agent.c
 * (heartbeats). Everything here runs on the engine thread.
 */
#ifndef SC_ENGINE_PRIV_H
#define SC_ENGINE_PRIV_H

#include <pthread.h>

#include "engine.h"
#include "provider.h"
#include "secretbox.h"
#include "token.h"

#define RELAY_JOBS_MAX	  1024
#define RELAY_TARGETS_MAX 4096
#define TARGET_ID_MAX	  32

/* Why an add was queued (engine_relay.c). */
typedef enum {
	RELAY_ADD_START,   /* the stream started */
	RELAY_ADD_LOST,	   /* the relay no longer has our target (it restarted) */
	RELAY_ADD_UNKNOWN, /* we do not know the id (this scaler restarted) */
} relay_add_why;

/* A push target to add to or remove from the relay, retried with backoff. */
typedef struct {
	char stream[SC_ID_MAX];
	char name[130];
	char *url; /* add, and a remove by URL: the plaintext destination (wiped) */
	/* remove: this target; empty: learn its id first (idempotent POST of url) */
	char target[TARGET_ID_MAX];
	bool remove;
	relay_add_why why;
	int attempts;
	int64_t next_ms;
} relay_job;

/* A stream's target on the relay, so that it can be removed when the stream
 * ends. done: nothing of it is left to remove (removed, or the relay refused
 * the add); kept while the stream is active so that a second removal (a
 * takeover, then the capture's stop) does nothing. */
typedef struct {
	char stream[SC_ID_MAX];
	char name[130];
	char target[TARGET_ID_MAX];
	bool done;
} relay_target;

struct sc_engine {
	sc_engine_config cfg; /* strings point at the copies below */
	char *relay_base, *relay_api, *relay_token, *node_id, *store_spec;
	unsigned char secret[SC_SECRET_MAX];
	size_t secret_len;
	sc_secretbox_key key;

	sc_store *store;
	const sc_store_ops *ops;
	void *sp;
	sc_provider *prov;
	const sc_provider_ops *pops;
	void *pp;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv, cv_done;
	sc_engine_req *head, *tail;
	size_t qlen;
	bool stopping;

	int lead; /* 1 leading, 0 another scaler leads, <0 unknown */
	/* Until then no instance is declared lost: a scaler that has just
	 * started or taken over gives agents one lease to find it. */
	int64_t lease_grace_until_ms;
	sc_pool_rec pool;
	int64_t next_tick_ms, next_scale_ms, last_scale_down_ms;
	int64_t next_purge_ms; /* next purge of old finished streams (leader) */
	int periods_above, last_desired, target;

	uint64_t lock_conflicts, heartbeats, starts, takeovers, failovers;

	relay_job jobs[RELAY_JOBS_MAX];
	size_t n_jobs;
	relay_target *targets;
	size_t n_targets;
	int64_t relay_check_ms; /* next reconciliation with the relay's list */
	bool relay_down;	/* the last list failed: jobs wait, warned once */
	bool relay_checked;	/* a list has worked since this scaler started */
	bool relay_swept;	/* finished streams' targets swept since leading */
	uint64_t relay_readded; /* targets the relay had lost, added again */
};

int64_t eng_now_ms(void);

/* Audit trail; detail never carries a stream key. */
void eng_event(sc_engine *e, const char *kind, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Set state and reason, stamp updated_ms, write the stream. */
int eng_stream_set(sc_engine *e, sc_stream_rec *s, sc_stream_state st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A stream is over: STOPPED or FAILED, locks released, relay target removed. */
void eng_stream_finish(sc_engine *e, sc_stream_rec *s, sc_stream_state st, const char *reason);
/* The stream's destination in the clear (malloc'd; explicit_bzero and free
 * it): 0, -EBADMSG without one, or the secretbox's error. */
int eng_destination(sc_engine *e, const sc_stream_rec *s, char **ret);
/* The two lock keys of a stream (its destination is opened to hash it). */
int eng_stream_keys(sc_engine *e, const sc_stream_rec *s, char keys[2][SC_KEY_HEX]);
bool eng_stream_active(const sc_stream_rec *s);

json_t *eng_stream_json(sc_engine *e, const sc_stream_rec *s);
json_t *eng_inst_json(const sc_inst_rec *i);

/* Relay push targets (engine_relay.c). */
void eng_relay_add(sc_engine *e, const sc_stream_rec *s, const char *url);
void eng_relay_remove(sc_engine *e, const char *stream);
void eng_relay_run(sc_engine *e);

void eng_req_metrics(sc_engine *e, sc_engine_req *r);
void eng_req_ready(sc_engine *e, sc_engine_req *r);

/* Recount every instance's streams; set busy/idle and protection. */
void eng_refresh_instances(sc_engine *e, const sc_stream_rec *streams, size_t n_streams);
/* Assign pending streams to instances with free slots. */
void eng_assign(sc_engine *e);

/* Requests (engine_streams.c, engine_agent.c). */
void eng_req_start(sc_engine *e, sc_engine_req *r);
void eng_req_list(sc_engine *e, sc_engine_req *r);
void eng_req_get(sc_engine *e, sc_engine_req *r);
void eng_req_stop(sc_engine *e, sc_engine_req *r);
void eng_req_instances(sc_engine *e, sc_engine_req *r);
void eng_req_drain(sc_engine *e, sc_engine_req *r);
void eng_req_pool(sc_engine *e, sc_engine_req *r);
void eng_req_events(sc_engine *e, sc_engine_req *r);
void eng_req_heartbeat(sc_engine *e, sc_engine_req *r);

/* For a store read of r->id that failed: 404 naming what, else 503. True
 * if rc was an error and r is answered. */
bool eng_reply_get_error(sc_engine_req *r, int rc, const char *what);
void eng_reply_error(sc_engine_req *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
