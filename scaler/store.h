/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h - where the scaler keeps streams, locks, fences, instances and
 * its audit trail. An ops table with two backends that pass one test suite:
 *
 *   sqlite   one file in WAL mode (the default); a second scaler on the
 *            same file is refused (an exclusive lock on FILE.lock)
 *   etcd     etcd v3 through its JSON gateway (libcurl): compare-and-swap
 *            transactions, leases; the key's mod revision is the fence
 *
 * The rules every backend keeps (tests/scaler/test_store.c checks them):
 *  - Locks: acquiring a set of keys is all or nothing. A key is held by one
 *    stream at a time; a stream may re-acquire its own keys.
 *  - Fences only ever go up for a lock key, across releases, restarts and
 *    takeovers; each acquisition gets a fence above every earlier one.
 *  - Idempotency: the first response stored under a key is the one every
 *    replay gets.
 *  - Lock keys are SHA-256 hex of what they lock (a normalized destination
 *    URL, "name:" + stream name): stream keys never reach the store. Stored
 *    destinations are encrypted (see sc_secretbox).
 *
 * Calls block (disk, network) and are made from the scaler's engine thread
 * only; implementations need no locking of their own beyond that.
 */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_ID_MAX  64
#define SC_KEY_HEX 65 /* SHA-256 hex + NUL */

typedef enum {
	SC_ST_PENDING,	/* accepted, waiting for an instance */
	SC_ST_ASSIGNED, /* an instance has it in its next heartbeat reply */
	SC_ST_STARTING, /* the agent started the capture */
	SC_ST_LIVE,	/* the capture publishes */
	SC_ST_STOPPING, /* stop requested; locks still held */
	SC_ST_STOPPED,	/* the capture confirmed it stopped; locks released */
	SC_ST_FAILED,	/* gave up; locks released */
} sc_stream_state;

const char *sc_stream_state_name(sc_stream_state s);
int sc_stream_state_parse(const char *s, sc_stream_state *ret);

typedef struct {
	char id[SC_ID_MAX]; /* "st-" + 16 hex */
	char name[130];	    /* relay stream name */
	char conference[1024];
	char destination_redacted[1024]; /* for display; the secret part is *** */
	char *destination_sealed;	 /* encrypted destination (base64), owned */
	char profile[16], layout[160];
	sc_stream_state state;
	char reason[256];		/* why the last state change happened */
	char instance[SC_ID_MAX];	/* assigned instance, "" if none */
	uint64_t fence;			/* of the current assignment */
	int64_t created_ms, updated_ms; /* Unix ms */
	bool stop_requested;
} sc_stream_rec;

typedef enum {
	SC_INST_STARTING, /* asked of the provider, no heartbeat yet */
	SC_INST_IDLE,
	SC_INST_BUSY,
	SC_INST_DRAINING, /* finishes its streams, gets no new ones */
	SC_INST_LOST,	  /* missed heartbeats for longer than the lease */
	SC_INST_GONE,	  /* terminated */
} sc_inst_state;

const char *sc_inst_state_name(sc_inst_state s);
int sc_inst_state_parse(const char *s, sc_inst_state *ret);

typedef struct {
	char id[SC_ID_MAX];
	sc_inst_state state;
	int slots, used;
	int64_t last_heartbeat_ms, lease_until_ms, created_ms;
	bool protected_;	/* scale-in protection (busy instances) */
	char provider_ref[128]; /* what the provider calls it */
} sc_inst_rec;

typedef struct {
	int64_t at_ms;
	char kind[32];		 /* "start", "assign", "lost", "scale-up", ... */
	char subject[SC_ID_MAX]; /* stream or instance id */
	char detail[512];
} sc_event_rec;

typedef struct {
	int min, max, spare;
} sc_pool_rec;

/* One state change of a stream (GET /v1/streams/ID "history"). */
typedef struct {
	int64_t at_ms; /* the record's updated_ms */
	sc_stream_state state;
	char reason[256];
} sc_stream_hist_rec;

/* Bounds every backend keeps. */
#define SC_STORE_EVENTS_MAX  10000		  /* newest events kept */
#define SC_STORE_HISTORY_MAX 100		  /* newest history entries kept per stream */
#define SC_STORE_IDEM_TTL_MS (24 * 3600 * 1000LL) /* older idempotency entries are purged */

/*
 * Tests only: with this set to "1" in the environment, the sqlite backend
 * skips its FILE.lock so several sc_store (one per thread) can share a file.
 */
#define SC_STORE_SQLITE_NO_FLOCK_ENV "SC_STORE_SQLITE_NO_FLOCK"

typedef struct sc_store sc_store;

typedef struct {
	const char *name; /* "sqlite", "etcd" */
	size_t priv_size;
	/* location: a file path (sqlite) or "HOST:PORT[,HOST:PORT...]" (etcd). */
	int (*open)(void *priv, const char *location, char *err, size_t errlen);
	void (*close)(void *priv); /* always called, also after a failed open */

	/*
	 * Take every key in keys[0..n) for stream_id, all or nothing, and give
	 * the stream a new fence (above every fence any of these keys ever
	 * had). -EBUSY with *ret_holder set to the stream holding a key.
	 */
	int (*lock)(void *priv, const char *stream_id, const char *const *keys, size_t n,
		    uint64_t *ret_fence, char *ret_holder, size_t holder_len);
	/* A new, higher fence for a stream that holds its keys (reassignment,
	 * takeover). -ESTALE if it does not hold them. */
	int (*refence)(void *priv, const char *stream_id, const char *const *keys, size_t n,
		       uint64_t *ret_fence);
	/* Release the stream's keys (the fences stay). Idempotent. */
	int (*unlock)(void *priv, const char *stream_id);

	int (*stream_put)(void *priv, const sc_stream_rec *s); /* insert or update */
	/* 0 and *ret (caller frees destination_sealed), -ENOENT. */
	int (*stream_get)(void *priv, const char *id, sc_stream_rec *ret);
	/* All streams (active_only: not stopped/failed), newest first; caller
	 * frees with sc_stream_recs_free. With active_only the cost depends on
	 * the number of active streams only, not on how many finished. */
	int (*stream_list)(void *priv, bool active_only, sc_stream_rec **ret, size_t *ret_n);
	/*
	 * stream_put appends {updated_ms, state, reason} to the stream's
	 * history when the stream is new or its state changed; this returns
	 * the newest SC_STORE_HISTORY_MAX entries, older first (free()).
	 * -ENOENT for an unknown stream.
	 */
	int (*stream_history)(void *priv, const char *id, sc_stream_hist_rec **ret, size_t *ret_n);
	/*
	 * Delete the finished (stopped, failed) streams whose updated_ms is
	 * below before_ms, with their history. Never an active stream, never
	 * a lock or a fence (fences keep going up). *ret_n: how many went.
	 * Housekeeping: its cost grows with the finished streams (the active
	 * listing's does not).
	 */
	int (*stream_purge)(void *priv, int64_t before_ms, size_t *ret_n);

	int (*inst_put)(void *priv, const sc_inst_rec *i);
	int (*inst_get)(void *priv, const char *id, sc_inst_rec *ret);
	int (*inst_list)(void *priv, sc_inst_rec **ret, size_t *ret_n); /* free() */

	/* Keeps the newest SC_STORE_EVENTS_MAX events. */
	int (*event_add)(void *priv, const sc_event_rec *e);
	/* The newest max events (older first), free(). */
	int (*event_list)(void *priv, size_t max, sc_event_rec **ret, size_t *ret_n);

	/*
	 * Idempotency: store response for key if no response is stored yet.
	 * Returns 0 if stored, 1 with *ret_request_hash, *ret_response (malloc'd) of the
	 * earlier one if the key exists (compare the request hash: same body
	 * replays, another body is 422). Entries older than
	 * SC_STORE_IDEM_TTL_MS are forgotten.
	 */
	int (*idem_put)(void *priv, const char *key, const char *request_hash, const char *response,
			char **ret_request_hash, char **ret_response);

	int (*pool_get)(void *priv, sc_pool_rec *ret); /* -ENOENT if never set */
	int (*pool_put)(void *priv, const sc_pool_rec *p);

	/*
	 * Leadership among scalers sharing a store (etcd: a lease-bound key;
	 * sqlite: the file lock, so always true once open). Called every tick;
	 * returns 1 if this scaler leads now, 0 if another does.
	 */
	int (*lead)(void *priv, const char *me, int ttl_ms);
} sc_store_ops;

extern const sc_store_ops sc_store_sqlite;
extern const sc_store_ops sc_store_etcd;

/* "sqlite:PATH" or "etcd://HOST:PORT[,...]". NULL with a message in err. */
sc_store *sc_store_open(const char *spec, char *err, size_t errlen);
void sc_store_close(sc_store *s);
const sc_store_ops *sc_store_ops_of(const sc_store *s);
void *sc_store_priv(sc_store *s);
void sc_stream_recs_free(sc_stream_rec *v, size_t n);

/* SHA-256 hex lock keys. */
void sc_lock_key_destination(const char *normalized_url, char out[SC_KEY_HEX]);
void sc_lock_key_name(const char *name, char out[SC_KEY_HEX]);

#endif
