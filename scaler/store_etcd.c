/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_etcd.c - the etcd v3 backend of store.h (etcd.h does the talking).
 *
 * Location: "HOST:PORT[,HOST:PORT...][/NAMESPACE]"; keys live under
 * /NAMESPACE/ ("/stagecast/" by default; tests give each run its own):
 *   locks/<keyhex>      the holding stream id
 *   holds/<id>/<keyhex> keyhex, for each key the stream <id> holds
 *   fences/<keyhex>     the last holder; its mod revision is the key's last
 *                       fence. A fence is the revision of the transaction
 *                       that took or refenced the lock: the cluster revision
 *                       only goes up, so fences only go up.
 *   streams/<id>        JSON, with hist_n: the number of history entries
 *   active/<id>         a copy of streams/<id> while the stream is active
 *                       (not stopped/failed), written and deleted in the
 *                       same txn as the record: the active listing reads
 *                       only these
 *   layout              "2" once active/ is complete (scalers before it
 *                       did not write active/: open builds it once from
 *                       streams/, see sc_es_migrate; every scaler sharing
 *                       the namespace must be of a version that writes it)
 *   history/<id>/<seq>  JSON {at, state, reason}; seq counts from 0, the
 *                       newest SC_STORE_HISTORY_MAX are kept
 *   instances/<id>, pool: JSON
 *   events/<ms>-<seq>-<rand>  JSON, in the order added (the wall clock
 *                       then a counter); the newest SC_STORE_EVENTS_MAX
 *                       are listed, at most SC_ES_TRIM_EVERY more kept
 *   idem/<key>          JSON, bound to a lease of a day and an hour
 *   leader              the leading scaler's name, bound to its lease
 * Numbers in keys are zero-padded so that keys sort by them.
 * Stream writes are compare-and-swap on the mod revision read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_etcd.h"

#define MAX_KEYS	    16 /* lock keys per call */
#define IDEM_LEASE_S	    (SC_STORE_IDEM_TTL_MS / 1000 + 3600)
#define IDEM_LEASE_REUSE_MS (3600 * 1000LL)

int64_t sc_es_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ns + a + b, or NULL. */
char *sc_es_key(const sc_es *st, const char *a, const char *b)
{
	char *k;

	return asprintf(&k, "%s%s%s", st->ns, a, b ? b : "") < 0 ? NULL : k;
}

/* A key part from outside (stream id, lock key): printable, no '/', < max. */
bool sc_es_part_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '/' || s[i] == 0x7f)
			return false;
	return true;
}

int sc_es_get_str(const json_t *o, const char *name, char *dst, size_t size)
{
	const char *s = json_string_value(json_object_get(o, name));
	size_t n = s ? strlen(s) : size;

	if (n >= size)
		return -EBADMSG;
	memcpy(dst, s, n + 1);
	return 0;
}

int sc_es_get_int(const json_t *o, const char *name, int64_t min, int64_t max, int64_t *ret)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -EBADMSG;
	*ret = json_integer_value(v);
	return 0;
}

int sc_es_get_bool(const json_t *o, const char *name, bool *ret)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_boolean(v))
		return -EBADMSG;
	*ret = json_is_true(v);
	return 0;
}

/* A record's JSON, checked to be an object. */
int sc_es_parse_obj(const char *s, json_t **ret)
{
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		return -EBADMSG;
	}
	*ret = j;
	return 0;
}

/* Read one key: 0 with *ret (JSON object, may be NULL) and *ret_mod (0 and
 * NULL if absent). */
int sc_es_read_obj(sc_es *st, const char *key, json_t **ret, int64_t *ret_mod)
{
	sc_etcd_kv *kv;
	size_t n;
	json_t *j = NULL;
	int r = sc_etcd_range(st->etcd, key, false, 1, false, &kv, &n);

	if (r < 0)
		return r;
	if (n > 1 || (n == 1 && strcmp(kv[0].key, key)))
		r = -EBADMSG;
	else if (n == 1)
		r = sc_es_parse_obj(kv[0].value, &j);
	if (r == 0) {
		*ret = j;
		*ret_mod = n ? kv[0].mod_rev : 0;
	}
	sc_etcd_kvs_free(kv, n);
	return r;
}

/* Put key = v (consumed) unconditionally. */
int sc_es_put_obj(sc_es *st, const char *key, json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_t *req = sc_etcd_txn_new();
	bool ok;
	int64_t rev;
	int r = -ENOMEM;

	json_decref(v);
	if (s && req && key) {
		sc_etcd_txn_add(req, "success", sc_etcd_op_put(key, s, 0));
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
		req = NULL;
	}
	json_decref(req);
	free(s);
	return r;
}

/* ------------------------------------------------------------ open, close */

static int etcd_open(void *priv, const char *location, char *err, size_t errlen)
{
	sc_es *st = priv;
	const char *slash = strchr(location, '/');
	char eps[1024];
	size_t n = slash ? (size_t)(slash - location) : strlen(location);
	sc_etcd_kv *kv;
	size_t nkv;
	int r;

	snprintf(st->ns, sizeof(st->ns), "/stagecast/");
	if (slash) {
		if (!sc_es_part_ok(slash + 1, 64)) {
			snprintf(err, errlen,
				 "etcd namespace must be 1-63 printable characters, no '/'");
			return -EINVAL;
		}
		snprintf(st->ns, sizeof(st->ns), "/%s/", slash + 1);
	}
	if (n >= sizeof(eps)) {
		snprintf(err, errlen, "too many etcd endpoints");
		return -EINVAL;
	}
	memcpy(eps, location, n);
	eps[n] = '\0';
	st->etcd = sc_etcd_new(eps, err, errlen);
	if (!st->etcd)
		return -EINVAL;
	/* One read: is anyone there, and which gateway prefix is served. */
	{
		char *k = sc_es_key(st, "pool", NULL);

		r = k ? sc_etcd_range(st->etcd, k, false, 1, false, &kv, &nkv) : -ENOMEM;
		free(k);
	}
	if (r < 0) {
		snprintf(err, errlen, "etcd at %s: %s", eps,
			 r == -ETIMEDOUT ? "no endpoint answers" : strerror(-r));
		return r;
	}
	sc_etcd_kvs_free(kv, nkv);
	r = sc_es_migrate(st);
	if (r < 0)
		snprintf(err, errlen, "etcd at %s: cannot index the active streams: %s", eps,
			 strerror(-r));
	return r;
}

static void etcd_close(void *priv)
{
	sc_es *st = priv;

	if (st->etcd && st->lease_id) /* hand leadership over at once */
		sc_etcd_lease_revoke(st->etcd, st->lease_id);
	sc_etcd_free(st->etcd);
	st->etcd = NULL;
}

/* ------------------------------------------------------------------ locks */

static int lock_keys(sc_es *st, const char *dir, const char *const *keys, size_t n, char **out)
{
	if (n == 0 || n > MAX_KEYS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!sc_es_part_ok(keys[i], SC_KEY_HEX))
			return -EINVAL;
		out[i] = sc_es_key(st, dir, keys[i]);
		if (!out[i])
			return -ENOMEM;
	}
	return 0;
}

static void keys_free(char **k, size_t n)
{
	for (size_t i = 0; i < n && i < MAX_KEYS; i++)
		free(k[i]);
}

static int etcd_lock(void *priv, const char *stream_id, const char *const *keys, size_t n,
		     uint64_t *ret_fence, char *ret_holder, size_t holder_len)
{
	sc_es *st = priv;
	char *lk[MAX_KEYS] = {0}, *fk[MAX_KEYS] = {0}, *hk[MAX_KEYS] = {0}, *holds = NULL;
	bool ours[MAX_KEYS] = {0}; /* what we believe: held by us, or free */
	int r = sc_es_part_ok(stream_id, SC_ID_MAX) ? 0 : -EINVAL;

	if (r == 0 && asprintf(&holds, "holds/%s/", stream_id) < 0) {
		holds = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = lock_keys(st, "locks/", keys, n, lk);
	if (r == 0)
		r = lock_keys(st, "fences/", keys, n, fk);
	if (r == 0)
		r = lock_keys(st, holds, keys, n, hk);
	for (int round = 0; r == 0; round++) {
		json_t *req = sc_etcd_txn_new(), *resp;
		bool ok;
		int64_t rev;
		bool busy = false;

		if (round == SC_ES_TXN_TRIES) {
			r = -EAGAIN;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			sc_etcd_txn_add(req, "compare",
					sc_etcd_cmp(lk[i], ours[i] ? stream_id : NULL));
			sc_etcd_txn_add(req, "success", sc_etcd_op_put(lk[i], stream_id, 0));
			sc_etcd_txn_add(req, "success", sc_etcd_op_put(fk[i], stream_id, 0));
			sc_etcd_txn_add(req, "success", sc_etcd_op_put(hk[i], keys[i], 0));
			sc_etcd_txn_add(req, "failure", sc_etcd_op_range(lk[i], false));
		}
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, &resp);
		if (r < 0)
			break;
		if (ok) {
			json_decref(resp);
			*ret_fence = (uint64_t)rev;
			break;
		}
		/* Someone holds a key, or we hold one we thought free. */
		for (size_t i = 0; r == 0 && i < n && !busy; i++) {
			sc_etcd_kv *kv;
			size_t m;

			r = sc_etcd_txn_kvs(resp, i, &kv, &m);
			if (r < 0)
				break;
			if (m > 1 || (m == 1 && strcmp(kv[0].key, lk[i])))
				r = -EBADMSG;
			else if (m == 1 && strcmp(kv[0].value, stream_id)) {
				busy = true;
				if (!sc_es_part_ok(kv[0].value, SC_ID_MAX))
					r = -EBADMSG;
				else if (ret_holder && holder_len) /* cut if short */
					snprintf(ret_holder, holder_len, "%s", kv[0].value);
			}
			ours[i] = m == 1;
			sc_etcd_kvs_free(kv, m);
		}
		json_decref(resp);
		if (r == 0 && busy)
			r = -EBUSY;
	}
	keys_free(lk, n);
	keys_free(fk, n);
	keys_free(hk, n);
	free(holds);
	return r;
}

static int etcd_refence(void *priv, const char *stream_id, const char *const *keys, size_t n,
			uint64_t *ret_fence)
{
	sc_es *st = priv;
	char *lk[MAX_KEYS] = {0}, *fk[MAX_KEYS] = {0};
	json_t *req;
	bool ok;
	int64_t rev;
	int r = sc_es_part_ok(stream_id, SC_ID_MAX) ? 0 : -EINVAL;

	if (r == 0)
		r = lock_keys(st, "locks/", keys, n, lk);
	if (r == 0)
		r = lock_keys(st, "fences/", keys, n, fk);
	if (r == 0) {
		req = sc_etcd_txn_new();
		for (size_t i = 0; i < n; i++) {
			sc_etcd_txn_add(req, "compare", sc_etcd_cmp(lk[i], stream_id));
			sc_etcd_txn_add(req, "success", sc_etcd_op_put(fk[i], stream_id, 0));
		}
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
	}
	if (r == 0 && !ok)
		r = -ESTALE;
	if (r == 0)
		*ret_fence = (uint64_t)rev;
	keys_free(lk, n);
	keys_free(fk, n);
	return r;
}

/*
 * holds/<stream id>/<keyhex> lists the keys a stream locked (written in the
 * lock txn): one txn deletes each listed locks/ key that still names the
 * stream (a nested txn per key) and the list.
 */
static int etcd_unlock(void *priv, const char *stream_id)
{
	sc_es *st = priv;
	char *dir = sc_es_part_ok(stream_id, SC_ID_MAX) ? sc_es_key(st, "holds/", stream_id) : NULL;
	char *sub = NULL;
	sc_etcd_kv *kv = NULL;
	size_t n = 0;
	json_t *req;
	bool ok;
	int64_t rev;
	int r = dir ? 0 : sc_es_part_ok(stream_id, SC_ID_MAX) ? -ENOMEM : -EINVAL;

	if (r == 0 && asprintf(&sub, "%s/", dir) < 0) {
		sub = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = sc_etcd_range(st->etcd, sub, true, 0, false, &kv, &n);
	if (r == 0 && n) {
		req = sc_etcd_txn_new();
		for (size_t i = 0; i < n; i++) {
			char *lk = sc_es_part_ok(kv[i].value, SC_KEY_HEX)
					   ? sc_es_key(st, "locks/", kv[i].value)
					   : NULL;
			json_t *one = lk ? sc_etcd_txn_new() : NULL;

			if (one) {
				sc_etcd_txn_add(one, "compare", sc_etcd_cmp(lk, stream_id));
				sc_etcd_txn_add(one, "success", sc_etcd_op_delete(lk, false));
			}
			sc_etcd_txn_add(req, "success", one ? sc_etcd_op_txn(one) : NULL);
			free(lk);
		}
		sc_etcd_txn_add(req, "success", sc_etcd_op_delete(sub, true));
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
	}
	sc_etcd_kvs_free(kv, n);
	free(sub);
	free(dir);
	return r;
}

/* ------------------------------------------------------------ idempotency */

/* The lease idempotency entries are bound to: one a day and an hour long,
 * a new one every hour, so an entry lives between one and 25 hours... at
 * least SC_STORE_IDEM_TTL_MS. */
static int idem_lease(sc_es *st, int64_t *ret)
{
	int64_t now = sc_es_wall_ms(), id;
	int r;

	if (!st->idem_lease || now - st->idem_lease_at > IDEM_LEASE_REUSE_MS) {
		r = sc_etcd_lease_grant(st->etcd, (int)IDEM_LEASE_S, &id);
		if (r < 0)
			return r;
		st->idem_lease = id;
		st->idem_lease_at = now;
	}
	*ret = st->idem_lease;
	return 0;
}

static int etcd_idem_put(void *priv, const char *key, const char *request_hash,
			 const char *response, char **ret_request_hash, char **ret_response)
{
	sc_es *st = priv;
	char *k = sc_es_key(st, "idem/", key), *v = NULL;
	json_t *val = json_pack("{s:s,s:s,s:I}", "hash", request_hash, "response", response, "at",
				(json_int_t)sc_es_wall_ms());
	int64_t lease = 0;
	int r = k && val ? 0 : -ENOMEM;

	if (!key || !*key || strlen(key) > 1024)
		r = -EINVAL;
	if (r == 0)
		r = idem_lease(st, &lease);
	if (r == 0 && !(v = json_dumps(val, JSON_COMPACT)))
		r = -ENOMEM;
	for (int round = 0; r == 0; round++) {
		json_t *req = sc_etcd_txn_new(), *resp, *j;
		sc_etcd_kv *kv;
		size_t n;
		bool ok;
		int64_t rev;

		if (round == SC_ES_TXN_TRIES) {
			r = -EAGAIN;
			break;
		}
		sc_etcd_txn_add(req, "compare", sc_etcd_cmp(k, NULL));
		sc_etcd_txn_add(req, "success", sc_etcd_op_put(k, v, lease));
		sc_etcd_txn_add(req, "failure", sc_etcd_op_range(k, false));
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, &resp);
		if (r < 0)
			break;
		if (ok) {
			json_decref(resp);
			break;
		}
		r = sc_etcd_txn_kvs(resp, 0, &kv, &n);
		json_decref(resp);
		if (r < 0)
			break;
		if (n == 0) { /* expired in between: try again */
			sc_etcd_kvs_free(kv, n);
			continue;
		}
		r = sc_es_parse_obj(kv[0].value, &j);
		sc_etcd_kvs_free(kv, n);
		if (r < 0)
			break;
		if (!json_is_string(json_object_get(j, "hash")) ||
		    !json_is_string(json_object_get(j, "response"))) {
			r = -EBADMSG;
		} else {
			char *h = strdup(json_string_value(json_object_get(j, "hash")));
			char *resp_s = strdup(json_string_value(json_object_get(j, "response")));

			if (h && resp_s) {
				*ret_request_hash = h;
				*ret_response = resp_s;
				r = 1;
			} else {
				free(h);
				free(resp_s);
				r = -ENOMEM;
			}
		}
		json_decref(j);
		break;
	}
	json_decref(val);
	free(v);
	free(k);
	return r;
}

/* ------------------------------------------------------------------- pool */

static int etcd_pool_get(void *priv, sc_pool_rec *ret)
{
	sc_es *st = priv;
	char *key = sc_es_key(st, "pool", NULL);
	json_t *j = NULL;
	int64_t mod, min, max, spare;
	int r = key ? sc_es_read_obj(st, key, &j, &mod) : -ENOMEM;

	if (r == 0 && !j)
		r = -ENOENT;
	if (r == 0 && (sc_es_get_int(j, "min", 0, INT32_MAX, &min) ||
		       sc_es_get_int(j, "max", 0, INT32_MAX, &max) ||
		       sc_es_get_int(j, "spare", 0, INT32_MAX, &spare)))
		r = -EBADMSG;
	if (r == 0)
		*ret = (sc_pool_rec){.min = (int)min, .max = (int)max, .spare = (int)spare};
	json_decref(j);
	free(key);
	return r;
}

static int etcd_pool_put(void *priv, const sc_pool_rec *p)
{
	sc_es *st = priv;
	char *key = sc_es_key(st, "pool", NULL);
	int r;

	if (p->min < 0 || p->max < 0 || p->spare < 0) {
		free(key);
		return -EINVAL;
	}
	r = sc_es_put_obj(
		st, key,
		json_pack("{s:i,s:i,s:i}", "min", p->min, "max", p->max, "spare", p->spare));
	free(key);
	return r;
}

/* ----------------------------------------------------------------- leader */

/*
 * A lease of ttl (granted once, renewed on every call, granted anew if it
 * ran out); leader = me bound to it if nobody holds leader. We lead while
 * leader holds our name under our lease.
 */
static int etcd_lead(void *priv, const char *me, int ttl_ms)
{
	sc_es *st = priv;
	int ttl_s = ttl_ms <= 1000 ? 1 : (ttl_ms + 999) / 1000;
	char *key = sc_es_key(st, "leader", NULL);
	json_t *req, *resp = NULL;
	sc_etcd_kv *kv;
	size_t n;
	bool ok;
	int64_t rev, left = 0;
	int r = key ? 0 : -ENOMEM;

	if (!sc_es_part_ok(me, 256))
		r = -EINVAL;
	if (r == 0 && st->lease_id && st->lease_ttl_s == ttl_s)
		r = sc_etcd_lease_keepalive(st->etcd, st->lease_id, &left);
	if (r == 0 && left <= 0) {
		if (st->lease_id) /* another ttl, or it ran out */
			sc_etcd_lease_revoke(st->etcd, st->lease_id);
		st->lease_id = 0;
		r = sc_etcd_lease_grant(st->etcd, ttl_s, &st->lease_id);
		st->lease_ttl_s = ttl_s;
	}
	if (r == 0) {
		req = sc_etcd_txn_new();
		sc_etcd_txn_add(req, "compare", sc_etcd_cmp(key, NULL));
		sc_etcd_txn_add(req, "success", sc_etcd_op_put(key, me, st->lease_id));
		sc_etcd_txn_add(req, "failure", sc_etcd_op_range(key, false));
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, &resp);
	}
	if (r == 0 && ok) {
		r = 1;
	} else if (r == 0) {
		r = sc_etcd_txn_kvs(resp, 0, &kv, &n);
		if (r == 0) {
			r = n == 1 && !strcmp(kv[0].value, me) && kv[0].lease == st->lease_id;
			sc_etcd_kvs_free(kv, n);
		}
	}
	json_decref(resp);
	free(key);
	return r;
}

const sc_store_ops sc_store_etcd = {
	.name = "etcd",
	.priv_size = sizeof(sc_es),
	.open = etcd_open,
	.close = etcd_close,
	.lock = etcd_lock,
	.refence = etcd_refence,
	.unlock = etcd_unlock,
	.stream_put = sc_es_stream_put,
	.stream_get = sc_es_stream_get,
	.stream_list = sc_es_stream_list,
	.stream_history = sc_es_stream_history,
	.stream_purge = sc_es_stream_purge,
	.inst_put = sc_es_inst_put,
	.inst_get = sc_es_inst_get,
	.inst_list = sc_es_inst_list,
	.event_add = sc_es_event_add,
	.event_list = sc_es_event_list,
	.idem_put = etcd_idem_put,
	.pool_get = etcd_pool_get,
	.pool_put = etcd_pool_put,
	.lead = etcd_lead,
};
