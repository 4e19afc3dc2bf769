/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_etcd.h - private to the etcd store backend (store_etcd.c: open,
 * locks, idempotency, pool, leadership; store_etcd_records.c: streams and
 * their history, instances, events). The key layout is described in
 * store_etcd.c. Everything runs on the engine thread.
 */
#ifndef SC_STORE_ETCD_H
#define SC_STORE_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "store.h"

#define SC_ES_TXN_TRIES	 8  /* compare-and-swap rounds before -EAGAIN */
#define SC_ES_TRIM_EVERY 64 /* event_add calls between trims of events/ */

typedef struct {
	sc_etcd *etcd;
	char ns[80];	  /* "/stagecast/" */
	int64_t lease_id; /* lead()'s, 0 if none */
	int lease_ttl_s;
	int64_t idem_lease, idem_lease_at;
	unsigned events_added;
	int64_t event_last_ms; /* the key of the last event added */
	uint32_t event_seq;
} sc_es;

int64_t sc_es_wall_ms(void);
/* ns + a + b (b may be NULL); NULL on OOM. */
char *sc_es_key(const sc_es *st, const char *a, const char *b);
/* A key part from outside (stream id, lock key): 1..max-1 printable
 * characters, no '/'. */
bool sc_es_part_ok(const char *s, size_t max);

/* Record fields: -EBADMSG if missing, of another type, too long or out of
 * [min, max]; dst/ret untouched then. */
int sc_es_get_str(const json_t *o, const char *name, char *dst, size_t size);
int sc_es_get_int(const json_t *o, const char *name, int64_t min, int64_t max, int64_t *ret);
int sc_es_get_bool(const json_t *o, const char *name, bool *ret);
/* Parse a stored record: a JSON object, else -EBADMSG. */
int sc_es_parse_obj(const char *s, json_t **ret);
/* Read one key's record: 0 with *ret (NULL if the key is absent) and
 * *ret_mod (its mod revision, 0 if absent). */
int sc_es_read_obj(sc_es *st, const char *key, json_t **ret, int64_t *ret_mod);
/* key = v (consumed; NULL means OOM), unconditionally. */
int sc_es_put_obj(sc_es *st, const char *key, json_t *v);

/* store_etcd_records.c: the sc_store_ops of the same names. */
int sc_es_stream_put(void *priv, const sc_stream_rec *s);
int sc_es_stream_get(void *priv, const char *id, sc_stream_rec *ret);
int sc_es_stream_list(void *priv, bool active_only, sc_stream_rec **ret, size_t *ret_n);
int sc_es_stream_history(void *priv, const char *id, sc_stream_hist_rec **ret, size_t *ret_n);
int sc_es_stream_purge(void *priv, int64_t before_ms, size_t *ret_n);
/* At open: build active/ for a namespace an older scaler wrote. */
int sc_es_migrate(sc_es *st);
int sc_es_inst_put(void *priv, const sc_inst_rec *i);
int sc_es_inst_get(void *priv, const char *id, sc_inst_rec *ret);
int sc_es_inst_list(void *priv, sc_inst_rec **ret, size_t *ret_n);
int sc_es_event_add(void *priv, const sc_event_rec *e);
int sc_es_event_list(void *priv, size_t max, sc_event_rec **ret, size_t *ret_n);

#endif
