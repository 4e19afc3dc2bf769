/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_etcd_records.c - streams (and their history), instances and events
 * in etcd: one JSON record per key; see store_etcd.c for the layout.
 * While a stream is active, active/<id> holds a copy of its record (written
 * and deleted in the txn that writes the record): the active listing reads
 * active/ only, whatever the number of finished streams.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_etcd.h"

/* --------------------------------------------------------------- streams */

static json_t *stream_json(const sc_stream_rec *s, int64_t hist_n)
{
	json_t *j =
		json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:I}", "id", s->id,
			  "name", s->name, "conference", s->conference, "destination_redacted",
			  s->destination_redacted, "profile", s->profile, "layout", s->layout,
			  "state", sc_stream_state_name(s->state), "reason", s->reason, "instance",
			  s->instance, "fence", (json_int_t)s->fence, "created_ms",
			  (json_int_t)s->created_ms, "updated_ms", (json_int_t)s->updated_ms,
			  "stop_requested", s->stop_requested, "hist_n", (json_int_t)hist_n);

	if (j && s->destination_sealed)
		json_object_set_new(j, "destination_sealed", json_string(s->destination_sealed));
	return j;
}

static int stream_parse(const json_t *j, sc_stream_rec *ret, int64_t *ret_hist_n)
{
	sc_stream_rec s = {0};
	json_t *sealed = json_object_get(j, "destination_sealed");
	int64_t fence, hist_n;
	int r = 0;

	r |= sc_es_get_str(j, "id", s.id, sizeof(s.id));
	r |= sc_es_get_str(j, "name", s.name, sizeof(s.name));
	r |= sc_es_get_str(j, "conference", s.conference, sizeof(s.conference));
	r |= sc_es_get_str(j, "destination_redacted", s.destination_redacted,
			   sizeof(s.destination_redacted));
	r |= sc_es_get_str(j, "profile", s.profile, sizeof(s.profile));
	r |= sc_es_get_str(j, "layout", s.layout, sizeof(s.layout));
	r |= sc_es_get_str(j, "reason", s.reason, sizeof(s.reason));
	r |= sc_es_get_str(j, "instance", s.instance, sizeof(s.instance));
	r |= sc_stream_state_parse(json_string_value(json_object_get(j, "state")), &s.state);
	r |= sc_es_get_int(j, "fence", 0, INT64_MAX, &fence);
	r |= sc_es_get_int(j, "created_ms", INT64_MIN, INT64_MAX, &s.created_ms);
	r |= sc_es_get_int(j, "updated_ms", INT64_MIN, INT64_MAX, &s.updated_ms);
	r |= sc_es_get_bool(j, "stop_requested", &s.stop_requested);
	r |= sc_es_get_int(j, "hist_n", 0, INT64_MAX, &hist_n);
	if (r || (sealed && !json_is_string(sealed)))
		return -EBADMSG;
	if (sealed) {
		s.destination_sealed = strdup(json_string_value(sealed));
		if (!s.destination_sealed)
			return -ENOMEM;
	}
	s.fence = (uint64_t)fence;
	*ret = s;
	if (ret_hist_n)
		*ret_hist_n = hist_n;
	return 0;
}

/* history/<id>/<seq, 20 digits> */
static char *hist_key(const sc_es *st, const char *id, int64_t seq)
{
	char *k;

	return asprintf(&k, "%shistory/%s/%020" PRId64, st->ns, id, seq) < 0 ? NULL : k;
}

static bool is_active(sc_stream_state s)
{
	return s != SC_ST_STOPPED && s != SC_ST_FAILED;
}

/* Read the record, then write it (and a history entry if the state
 * changed, dropping the one SC_STORE_HISTORY_MAX older) if nobody wrote it
 * in between. The record counts its history entries in hist_n. */
int sc_es_stream_put(void *priv, const sc_stream_rec *s)
{
	sc_es *st = priv;
	char *key = sc_es_part_ok(s->id, SC_ID_MAX) ? sc_es_key(st, "streams/", s->id) : NULL;
	char *akey = key ? sc_es_key(st, "active/", s->id) : NULL;
	int r = sc_es_part_ok(s->id, SC_ID_MAX) ? (akey ? 0 : -ENOMEM) : -EINVAL;

	for (int round = 0; r == 0; round++) {
		json_t *old, *req, *hist;
		int64_t mod, rev, hist_n = 0;
		sc_stream_rec prev;
		bool changed = true, ok;
		char *sv, *hv, *hk;

		if (round == SC_ES_TXN_TRIES) {
			r = -EAGAIN;
			break;
		}
		r = sc_es_read_obj(st, key, &old, &mod);
		if (r < 0)
			break;
		if (old) {
			r = stream_parse(old, &prev, &hist_n);
			json_decref(old);
			if (r < 0)
				break;
			changed = prev.state != s->state;
			free(prev.destination_sealed);
		}
		req = sc_etcd_txn_new();
		sc_etcd_txn_add(req, "compare", sc_etcd_cmp_rev(key, mod));
		if (changed) {
			hist = json_pack("{s:I,s:s,s:s}", "at", (json_int_t)s->updated_ms, "state",
					 sc_stream_state_name(s->state), "reason", s->reason);
			hv = hist ? json_dumps(hist, JSON_COMPACT) : NULL;
			hk = hist_key(st, s->id, hist_n);
			json_decref(hist);
			sc_etcd_txn_add(req, "success",
					hk && hv ? sc_etcd_op_put(hk, hv, 0) : NULL);
			free(hk);
			free(hv);
			if (hist_n >= SC_STORE_HISTORY_MAX) {
				hk = hist_key(st, s->id, hist_n - SC_STORE_HISTORY_MAX);
				sc_etcd_txn_add(req, "success",
						hk ? sc_etcd_op_delete(hk, false) : NULL);
				free(hk);
			}
			hist_n++;
		}
		hist = stream_json(s, hist_n);
		sv = hist ? json_dumps(hist, JSON_COMPACT) : NULL;
		json_decref(hist);
		sc_etcd_txn_add(req, "success", sv ? sc_etcd_op_put(key, sv, 0) : NULL);
		/* The copy under active/ follows the record in the same txn. */
		if (is_active(s->state))
			sc_etcd_txn_add(req, "success",
					sv && akey ? sc_etcd_op_put(akey, sv, 0) : NULL);
		else
			sc_etcd_txn_add(req, "success",
					akey ? sc_etcd_op_delete(akey, false) : NULL);
		free(sv);
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
		if (r == 0 && ok)
			break;
	}
	free(akey);
	free(key);
	return r;
}

/* The record PREFIX+id: 0 and *ret (json_decref), -ENOENT (also for an id
 * that cannot be a key), or the store's error. */
static int read_rec(sc_es *st, const char *prefix, const char *id, json_t **ret)
{
	char *key = sc_es_part_ok(id, SC_ID_MAX) ? sc_es_key(st, prefix, id) : NULL;
	json_t *j = NULL;
	int64_t mod;
	int r = key ? sc_es_read_obj(st, key, &j, &mod) : -ENOENT;

	free(key);
	if (r == 0 && !j)
		r = -ENOENT;
	if (r == 0)
		*ret = j;
	return r;
}

int sc_es_stream_get(void *priv, const char *id, sc_stream_rec *ret)
{
	json_t *j = NULL;
	int r = read_rec(priv, "streams/", id, &j);

	if (r == 0)
		r = stream_parse(j, ret, NULL);
	json_decref(j);
	return r;
}

static int stream_cmp(const void *a, const void *b)
{
	const sc_stream_rec *x = a, *y = b;

	if (x->created_ms != y->created_ms)
		return x->created_ms > y->created_ms ? -1 : 1;
	return -strcmp(x->id, y->id);
}

/* active_only reads the copies under active/: only the active streams. */
int sc_es_stream_list(void *priv, bool active_only, sc_stream_rec **ret, size_t *ret_n)
{
	sc_es *st = priv;
	char *dir = sc_es_key(st, active_only ? "active/" : "streams/", NULL);
	sc_etcd_kv *kv = NULL;
	sc_stream_rec *out = NULL;
	size_t n = 0, m = 0;
	int r = dir ? sc_etcd_range(st->etcd, dir, true, 0, false, &kv, &n) : -ENOMEM;

	if (r == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		r = out ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *j;

		r = sc_es_parse_obj(kv[i].value, &j);
		if (r == 0) {
			r = stream_parse(j, &out[m], NULL);
			json_decref(j);
		}
		if (r == 0 && active_only && !is_active(out[m].state))
			free(out[m].destination_sealed);
		else if (r == 0)
			m++;
	}
	if (r == 0) {
		qsort(out, m, sizeof(*out), stream_cmp);
		*ret = out;
		*ret_n = m;
	} else {
		sc_stream_recs_free(out, m);
	}
	sc_etcd_kvs_free(kv, n);
	free(dir);
	return r;
}

/* The id part of a key under dir (ns + "streams/"), or NULL. */
static const char *key_id(const char *key, const char *dir)
{
	size_t n = strlen(dir);

	if (strncmp(key, dir, n) || !sc_es_part_ok(key + n, SC_ID_MAX))
		return NULL;
	return key + n;
}

/* The state and updated_ms of a stored record; -EBADMSG if it does not
 * parse. */
static int peek_stream(const char *value, sc_stream_state *ret_state, int64_t *ret_updated)
{
	sc_stream_rec rec;
	json_t *j;
	int r = sc_es_parse_obj(value, &j);

	if (r == 0) {
		r = stream_parse(j, &rec, NULL);
		json_decref(j);
	}
	if (r == 0) {
		free(rec.destination_sealed);
		*ret_state = rec.state;
		*ret_updated = rec.updated_ms;
	}
	return r;
}

/* Delete streams/<id> (if still at mod), its history and its active/ copy
 * into req; NULL members make the txn fail with -ENOMEM. */
static void purge_ops(sc_es *st, json_t *req, const char *id, int64_t mod)
{
	char *k = sc_es_key(st, "streams/", id), *h = NULL, *a = sc_es_key(st, "active/", id);

	if (asprintf(&h, "%shistory/%s/", st->ns, id) < 0)
		h = NULL;
	sc_etcd_txn_add(req, "compare", k ? sc_etcd_cmp_rev(k, mod) : NULL);
	sc_etcd_txn_add(req, "success", k ? sc_etcd_op_delete(k, false) : NULL);
	sc_etcd_txn_add(req, "success", h ? sc_etcd_op_delete(h, true) : NULL);
	sc_etcd_txn_add(req, "success", a ? sc_etcd_op_delete(a, false) : NULL);
	free(a);
	free(h);
	free(k);
}

/* Up to PURGE_BATCH streams per txn; if one of them changed since it was
 * read (the txn's compares fail), the batch again one by one. */
#define PURGE_BATCH 32 /* 3 ops each: under etcd's default --max-txn-ops 128 */

static int purge_batch(sc_es *st, const sc_etcd_kv *const *v, const char *const *ids, size_t n,
		       size_t *ret_n)
{
	json_t *req = sc_etcd_txn_new();
	bool ok;
	int64_t rev;
	size_t done = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		purge_ops(st, req, ids[i], v[i]->mod_rev);
	r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
	if (r == 0 && ok)
		done = n;
	for (size_t i = 0; r == 0 && !ok && n > 1 && i < n; i++) {
		bool one_ok;

		req = sc_etcd_txn_new();
		purge_ops(st, req, ids[i], v[i]->mod_rev);
		r = sc_etcd_txn(st->etcd, req, &one_ok, &rev, NULL);
		done += r == 0 && one_ok;
	}
	*ret_n += done;
	return r;
}

/* Reads every stream (the one call whose cost grows with the finished
 * streams: housekeeping, once a minute at most). Records that do not
 * parse are left alone. */
int sc_es_stream_purge(void *priv, int64_t before_ms, size_t *ret_n)
{
	sc_es *st = priv;
	char *dir = sc_es_key(st, "streams/", NULL);
	const sc_etcd_kv *batch[PURGE_BATCH];
	const char *ids[PURGE_BATCH];
	sc_etcd_kv *kv = NULL;
	size_t n = 0, nb = 0, done = 0;
	int r = dir ? sc_etcd_range(st->etcd, dir, true, 0, false, &kv, &n) : -ENOMEM;

	for (size_t i = 0; r == 0 && i <= n; i++) {
		sc_stream_state state;
		int64_t updated;
		const char *id = i < n ? key_id(kv[i].key, dir) : NULL;

		if (id && peek_stream(kv[i].value, &state, &updated) == 0 && !is_active(state) &&
		    updated < before_ms) {
			batch[nb] = &kv[i];
			ids[nb++] = id;
		}
		if (nb && (nb == PURGE_BATCH || i == n)) {
			r = purge_batch(st, batch, ids, nb, &done);
			nb = 0;
		}
	}
	if (r == 0)
		*ret_n = done;
	sc_etcd_kvs_free(kv, n);
	free(dir);
	return r;
}

/*
 * Before the layout key said LAYOUT_ACTIVE, active/ did not exist: copy
 * each active stream there (compare-and-swap on the record, so a scaler
 * writing at the same time wins: it writes active/ itself), then set the
 * key. Idempotent; a no-op (one read) once done.
 */
#define LAYOUT_ACTIVE "2"

int sc_es_migrate(sc_es *st)
{
	char *lk = sc_es_key(st, "layout", NULL), *dir = sc_es_key(st, "streams/", NULL);
	sc_etcd_kv *kv = NULL;
	size_t n = 0;
	bool done = false;
	int r = lk && dir ? sc_etcd_range(st->etcd, lk, false, 1, false, &kv, &n) : -ENOMEM;

	if (r == 0)
		done = n == 1 && !strcmp(kv[0].value, LAYOUT_ACTIVE);
	sc_etcd_kvs_free(kv, n);
	kv = NULL;
	n = 0;
	if (r == 0 && !done)
		r = sc_etcd_range(st->etcd, dir, true, 0, false, &kv, &n);
	for (size_t i = 0; r == 0 && !done && i < n; i++) {
		const char *id = key_id(kv[i].key, dir);
		sc_stream_state state;
		int64_t updated, rev;
		char *ak;
		json_t *req;
		bool ok;

		if (!id || peek_stream(kv[i].value, &state, &updated) < 0 || !is_active(state))
			continue;
		ak = sc_es_key(st, "active/", id);
		req = sc_etcd_txn_new();
		sc_etcd_txn_add(req, "compare", sc_etcd_cmp_rev(kv[i].key, kv[i].mod_rev));
		sc_etcd_txn_add(req, "success", ak ? sc_etcd_op_put(ak, kv[i].value, 0) : NULL);
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
		free(ak);
	}
	if (r == 0 && !done) {
		json_t *req = sc_etcd_txn_new();
		bool ok;
		int64_t rev;

		sc_etcd_txn_add(req, "success", sc_etcd_op_put(lk, LAYOUT_ACTIVE, 0));
		r = sc_etcd_txn(st->etcd, req, &ok, &rev, NULL);
	}
	sc_etcd_kvs_free(kv, n);
	free(dir);
	free(lk);
	return r;
}

int sc_es_stream_history(void *priv, const char *id, sc_stream_hist_rec **ret, size_t *ret_n)
{
	sc_es *st = priv;
	char *dir = NULL, *sub = NULL;
	sc_stream_hist_rec *out = NULL;
	sc_etcd_kv *kv = NULL;
	json_t *j = NULL;
	size_t n = 0;
	int r = read_rec(st, "streams/", id, &j); /* -ENOENT for an unknown stream */

	if (r == 0 && !(dir = sc_es_key(st, "history/", id)))
		r = -ENOMEM;
	if (r == 0 && asprintf(&sub, "%s/", dir) < 0) {
		sub = NULL;
		r = -ENOMEM;
	}
	/* Oldest first; a put that lost a race may leave one extra. */
	if (r == 0)
		r = sc_etcd_range(st->etcd, sub, true, 0, false, &kv, &n);
	if (r == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		r = out ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *h;

		r = sc_es_parse_obj(kv[i].value, &h);
		if (r == 0) {
			r |= sc_es_get_int(h, "at", INT64_MIN, INT64_MAX, &out[i].at_ms);
			r |= sc_es_get_str(h, "reason", out[i].reason, sizeof(out[i].reason));
			r |= sc_stream_state_parse(json_string_value(json_object_get(h, "state")),
						   &out[i].state);
			r = r ? -EBADMSG : 0;
			json_decref(h);
		}
	}
	if (r == 0) {
		size_t skip = n > SC_STORE_HISTORY_MAX ? n - SC_STORE_HISTORY_MAX : 0;

		memmove(out, out + skip, (n - skip) * sizeof(*out));
		*ret = out;
		*ret_n = n - skip;
		out = NULL;
	}
	free(out);
	sc_etcd_kvs_free(kv, n);
	json_decref(j);
	free(sub);
	free(dir);
	return r;
}

/* -------------------------------------------------------------- instances */

static int inst_parse(const json_t *j, sc_inst_rec *ret)
{
	sc_inst_rec i;
	int64_t slots, used;
	int r = 0;

	memset(&i, 0, sizeof(i)); /* callers may compare whole records */
	r |= sc_es_get_str(j, "id", i.id, sizeof(i.id));
	r |= sc_inst_state_parse(json_string_value(json_object_get(j, "state")), &i.state);
	r |= sc_es_get_int(j, "slots", 0, INT32_MAX, &slots);
	r |= sc_es_get_int(j, "used", 0, INT32_MAX, &used);
	r |= sc_es_get_int(j, "last_heartbeat_ms", INT64_MIN, INT64_MAX, &i.last_heartbeat_ms);
	r |= sc_es_get_int(j, "lease_until_ms", INT64_MIN, INT64_MAX, &i.lease_until_ms);
	r |= sc_es_get_int(j, "created_ms", INT64_MIN, INT64_MAX, &i.created_ms);
	r |= sc_es_get_bool(j, "protected", &i.protected_);
	r |= sc_es_get_str(j, "provider_ref", i.provider_ref, sizeof(i.provider_ref));
	if (r)
		return -EBADMSG;
	i.slots = (int)slots;
	i.used = (int)used;
	*ret = i;
	return 0;
}

int sc_es_inst_put(void *priv, const sc_inst_rec *i)
{
	sc_es *st = priv;
	char *key;
	int r;

	if (!sc_es_part_ok(i->id, SC_ID_MAX) || i->slots < 0 || i->used < 0)
		return -EINVAL;
	key = sc_es_key(st, "instances/", i->id);
	r = sc_es_put_obj(st, key,
			  json_pack("{s:s,s:s,s:i,s:i,s:I,s:I,s:I,s:b,s:s}", "id", i->id, "state",
				    sc_inst_state_name(i->state), "slots", i->slots, "used",
				    i->used, "last_heartbeat_ms", (json_int_t)i->last_heartbeat_ms,
				    "lease_until_ms", (json_int_t)i->lease_until_ms, "created_ms",
				    (json_int_t)i->created_ms, "protected", i->protected_,
				    "provider_ref", i->provider_ref));
	free(key);
	return r;
}

int sc_es_inst_get(void *priv, const char *id, sc_inst_rec *ret)
{
	json_t *j = NULL;
	int r = read_rec(priv, "instances/", id, &j);

	if (r == 0)
		r = inst_parse(j, ret);
	json_decref(j);
	return r;
}

int sc_es_inst_list(void *priv, sc_inst_rec **ret, size_t *ret_n)
{
	sc_es *st = priv;
	char *dir = sc_es_key(st, "instances/", NULL);
	sc_etcd_kv *kv = NULL;
	sc_inst_rec *out = NULL;
	size_t n = 0;
	int r = dir ? sc_etcd_range(st->etcd, dir, true, 0, false, &kv, &n) : -ENOMEM;

	if (r == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		r = out ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *j;

		r = sc_es_parse_obj(kv[i].value, &j);
		if (r == 0)
			r = inst_parse(j, &out[i]);
		json_decref(r == 0 ? j : NULL);
	}
	if (r == 0) {
		*ret = out;
		*ret_n = n;
	} else {
		free(out);
	}
	sc_etcd_kvs_free(kv, n);
	free(dir);
	return r;
}

/* ----------------------------------------------------------------- events */

/* Keep the newest SC_STORE_EVENTS_MAX: delete the oldest beyond. */
static int events_trim(sc_es *st, const char *dir)
{
	sc_etcd_kv *kv;
	size_t n;
	int64_t count;
	int r = sc_etcd_count(st->etcd, dir, &count);

	if (r < 0 || count <= SC_STORE_EVENTS_MAX)
		return r;
	r = sc_etcd_range(st->etcd, dir, true, count - SC_STORE_EVENTS_MAX, false, &kv, &n);
	if (r < 0)
		return r;
	if (n)
		r = sc_etcd_delete_span(st->etcd, kv[0].key, kv[n - 1].key);
	sc_etcd_kvs_free(kv, n);
	return r;
}

/* Keys sort in the order of adding: the wall clock (never going back in
 * this process) and a counter, then a random part for other writers. */
int sc_es_event_add(void *priv, const sc_event_rec *e)
{
	sc_es *st = priv;
	char *dir = sc_es_key(st, "events/", NULL), *key = NULL;
	int64_t now = sc_es_wall_ms();
	uint32_t rnd = 0;
	int r = dir ? 0 : -ENOMEM;

	if (now > st->event_last_ms) {
		st->event_last_ms = now;
		st->event_seq = 0;
	}
	if (r == 0 && RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		r = -EIO;
	if (r == 0 && asprintf(&key, "%s%020" PRId64 "-%010" PRIu32 "-%08" PRIx32, dir,
			       st->event_last_ms, st->event_seq++, rnd) < 0) {
		key = NULL;
		r = -ENOMEM;
	}
	if (r == 0)
		r = sc_es_put_obj(st, key,
				  json_pack("{s:I,s:s,s:s,s:s}", "at", (json_int_t)e->at_ms, "kind",
					    e->kind, "subject", e->subject, "detail", e->detail));
	/* Trimming is housekeeping: a failure here does not fail the add. */
	if (r == 0 && st->events_added++ % SC_ES_TRIM_EVERY == 0)
		events_trim(st, dir);
	free(key);
	free(dir);
	return r;
}

int sc_es_event_list(void *priv, size_t max, sc_event_rec **ret, size_t *ret_n)
{
	sc_es *st = priv;
	char *dir = sc_es_key(st, "events/", NULL);
	sc_etcd_kv *kv = NULL;
	sc_event_rec *out = NULL;
	size_t n = 0;
	int r = dir ? 0 : -ENOMEM;

	/* Trimming lags by up to SC_ES_TRIM_EVERY: never show more than kept. */
	if (max > SC_STORE_EVENTS_MAX)
		max = SC_STORE_EVENTS_MAX;
	if (r == 0 && max)
		r = sc_etcd_range(st->etcd, dir, true, (int64_t)max, true, &kv, &n);
	if (r == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		r = out ? 0 : -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		sc_event_rec *ev = &out[n - 1 - i]; /* newest first -> oldest first */
		json_t *j;

		r = sc_es_parse_obj(kv[i].value, &j);
		if (r < 0)
			break;
		r |= sc_es_get_int(j, "at", INT64_MIN, INT64_MAX, &ev->at_ms);
		r |= sc_es_get_str(j, "kind", ev->kind, sizeof(ev->kind));
		r |= sc_es_get_str(j, "subject", ev->subject, sizeof(ev->subject));
		r |= sc_es_get_str(j, "detail", ev->detail, sizeof(ev->detail));
		r = r ? -EBADMSG : 0;
		json_decref(j);
	}
	if (r == 0) {
		*ret = out;
		*ret_n = n;
	} else {
		free(out);
	}
	sc_etcd_kvs_free(kv, n);
	free(dir);
	return r;
}
