/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd.h - a small etcd v3 client over etcd's JSON gRPC gateway (libcurl,
 * jansson), what store_etcd.c needs and no more. Keys and values travel
 * base64 encoded; 64-bit integers arrive as decimal strings; proto3 leaves
 * out fields that are zero, false or empty. Every field read is checked.
 *
 * Endpoints "HOST:PORT[,HOST:PORT...]" are tried in order: a connection
 * error, a timeout (connect 1 s, request 3 s) or an "unavailable" answer
 * (no leader, leader changed) moves on to the next one, which then stays
 * current. etcd 3.4 serves /v3 and /v3beta, 3.3 only /v3beta: a plain-text
 * 404 switches an endpoint's prefix.
 *
 * Not thread-safe: one caller at a time (the scaler's engine thread).
 */
#ifndef SC_ETCD_H
#define SC_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_etcd sc_etcd;

/* A key-value of a range response, decoded. Keys and values with a NUL byte
 * are refused (nothing here writes them). */
typedef struct {
	char *key, *value; /* NUL-terminated, owned */
	int64_t create_rev, mod_rev, lease;
} sc_etcd_kv;

void sc_etcd_kvs_free(sc_etcd_kv *v, size_t n);

/* NULL with a message in err if endpoints does not parse. Does no I/O. */
sc_etcd *sc_etcd_new(const char *endpoints, char *err, size_t errlen);
void sc_etcd_free(sc_etcd *e);

/*
 * POST req (consumed, may be NULL after an allocation failure) to PATH
 * ("/kv/range") under the gateway prefix. 0 with *ret (a JSON object);
 * -ETIMEDOUT if no endpoint answered, -ENOENT/-EINVAL/-EIO for a gRPC
 * error (not found, invalid argument, other), -EBADMSG for garbage.
 */
int sc_etcd_call(sc_etcd *e, const char *path, json_t *req, json_t **ret);

/* Request pieces; NULL on OOM (every builder accepts NULL members). */
json_t *sc_etcd_key(const char *key, bool prefix); /* {key, range_end?} */
json_t *sc_etcd_op_put(const char *key, const char *value, int64_t lease);
json_t *sc_etcd_op_range(const char *key, bool prefix);
json_t *sc_etcd_op_delete(const char *key, bool prefix);
json_t *sc_etcd_op_txn(json_t *txn); /* a nested txn (consumed); etcd >= 3.3 */
/* A txn compare: value NULL = the key does not exist (create_revision 0),
 * else the key's value equals value. */
json_t *sc_etcd_cmp(const char *key, const char *value);
/* A txn compare: the key's mod revision is mod_rev (0: it does not exist). */
json_t *sc_etcd_cmp_rev(const char *key, int64_t mod_rev);
json_t *sc_etcd_txn_new(void); /* {compare: [], success: [], failure: []} */
/* Append to req[field]; a NULL item makes sc_etcd_txn fail with -ENOMEM. */
void sc_etcd_txn_add(json_t *req, const char *field, json_t *item);

/* Run a txn (consumed). 0 with *ret_ok (the compares held), *ret_rev (the
 * store's revision after it) and, if ret, the response. */
int sc_etcd_txn(sc_etcd *e, json_t *req, bool *ret_ok, int64_t *ret_rev, json_t **ret);
/* The kvs of the i-th response of a txn response, a response_range. */
int sc_etcd_txn_kvs(const json_t *resp, size_t i, sc_etcd_kv **ret, size_t *ret_n);

/* Range over key (or all keys under the prefix key, which ends in '/');
 * limit 0 = all; desc: by key, descending. */
int sc_etcd_range(sc_etcd *e, const char *key, bool prefix, int64_t limit, bool desc,
		  sc_etcd_kv **ret, size_t *ret_n);
/* Number of keys under prefix. */
int sc_etcd_count(sc_etcd *e, const char *prefix, int64_t *ret);
/* Delete [from, to] (both inclusive). */
int sc_etcd_delete_span(sc_etcd *e, const char *from, const char *to);

/* Leases: grant (TTL in s), keep alive (*ret_ttl 0: the lease is gone),
 * revoke. */
int sc_etcd_lease_grant(sc_etcd *e, int ttl_s, int64_t *ret_id);
int sc_etcd_lease_keepalive(sc_etcd *e, int64_t id, int64_t *ret_ttl);
int sc_etcd_lease_revoke(sc_etcd *e, int64_t id);

#endif
