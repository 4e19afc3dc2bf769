/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h - the scaler's decisions. One engine thread owns the store and
 * the provider and makes every decision; HTTP handlers hand it requests
 * through a bounded queue and wait for the reply (every decision is
 * serialized, so no two starts can race for a lock inside one scaler; the
 * store's locks and fences keep several scalers honest).
 *
 * Every 500 ms the engine also ticks: instances whose lease ran out are
 * lost and their streams move back to pending under a new fence; pending
 * streams are assigned to idle instances; stopped captures release their
 * locks; relay push targets are added and removed; the pool is resized.
 */
#ifndef SC_ENGINE_H
#define SC_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct sc_engine sc_engine;

typedef struct {
	const char *store_spec;	     /* "sqlite:PATH", "etcd://..." */
	const char *provider_spec;   /* "local", "none", "exec:PATH" */
	const char *node_id;	     /* this scaler, for leadership ("host:pid") */
	const char *relay_base;	     /* "rtmp://127.0.0.1:1935/live" */
	const char *relay_api;	     /* "http://127.0.0.1:8080", or NULL/"" for none */
	const char *relay_api_token; /* bearer for the relay's /v1, or NULL */
	const unsigned char *secret; /* publish token secret, or NULL (dev mode) */
	size_t secret_len;
	const char *secretbox_key_file; /* dev mode: where the store key lives */
	int64_t lease_ms;
	int64_t tick_ms;		/* 500 */
	int64_t scale_period_ms;	/* autoscale period (5 s) */
	int scale_down_periods;		/* 3 */
	int64_t scale_down_cooldown_ms; /* 30 s */
	int64_t boot_timeout_ms;	/* a started instance must heartbeat within this */
	int64_t retention_ms;		/* finished streams older than this are purged; 0: kept */
	sc_pool_rec pool;		/* used until the store has one */
	/* Local provider. */
	const char *agent_cmd, *capture_cmd, *scaler_url, *agent_token;
	const char *const *agent_args;
	size_t n_agent_args;
	int slots;
	int64_t exec_timeout_ms;
} sc_engine_config;

/* Opens the store and the provider; NULL with a message in err. */
sc_engine *sc_engine_new(const sc_engine_config *cfg, char *err, size_t errlen);
/* Starts the engine thread. 0 or a negative errno. */
int sc_engine_start(sc_engine *e);
/* Stops the thread (answering queued requests with 503), closes all.
 * Accepts NULL. */
void sc_engine_free(sc_engine *e);

typedef enum {
	SC_CAP_STARTING,
	SC_CAP_LIVE,
	SC_CAP_STOPPED,
	SC_CAP_FAILED,
} sc_cap_state;

int sc_cap_state_parse(const char *s, sc_cap_state *ret);

typedef struct {
	char stream[SC_ID_MAX];
	uint64_t fence;
	sc_cap_state state;
	char reason[256];
} sc_cap_report;

#define SC_HB_MAX_CAPTURES 64

typedef enum {
	SC_REQ_START,
	SC_REQ_LIST,
	SC_REQ_GET,
	SC_REQ_STOP,
	SC_REQ_INSTANCES,
	SC_REQ_DRAIN,
	SC_REQ_POOL_GET,
	SC_REQ_POOL_PUT,
	SC_REQ_EVENTS,
	SC_REQ_HEARTBEAT,
	SC_REQ_METRICS,
	SC_REQ_READY,
} sc_req_kind;

/*
 * A request, filled and validated by the caller (api.c): the engine
 * trusts its fields. The caller owns the inputs; the engine writes status
 * and reply (a JSON body, or text for metrics) that the caller then owns.
 */
typedef struct sc_engine_req {
	sc_req_kind kind;
	const char *id; /* GET/STOP: stream id; DRAIN: instance id */
	struct {
		const char *name, *conference, *destination, *profile, *layout;
		bool takeover;
		const char *idem_key;
		char body_hash[SC_KEY_HEX];
	} start;
	struct {
		const char *instance;
		int slots;
		const sc_cap_report *caps;
		size_t n_caps;
	} hb;
	sc_pool_rec pool;
	size_t limit;	  /* EVENTS */
	bool active_only; /* LIST */

	unsigned status;
	json_t *reply;
	char *text;
	size_t text_len;

	/* Engine-private. */
	struct sc_engine_req *next;
	bool done;
} sc_engine_req;

/*
 * Any thread but the engine's: queue r and wait for the engine's answer.
 * 0 (r->status and r->reply/text set), or -EAGAIN if the queue is full,
 * -ESHUTDOWN if the engine is stopping.
 */
int sc_engine_call(sc_engine *e, sc_engine_req *r);

#define SC_ENGINE_QUEUE_MAX 1024

#endif
