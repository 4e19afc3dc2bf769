/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_streams.c - the operator's requests: start (locks, fences,
 * idempotency, takeover), stop, the listings, drain and the pool.
 *
 * Idempotency with a put-if-absent store: a start first claims its key
 * ("c:" + KEY, with the request's hash), acts, then stores the response
 * under "r:" + KEY. A replay finds the claim (another hash: 422), then the
 * response. Everything runs on the engine thread, so nothing happens
 * between the claim and the response but this request.
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "log.h"
#include "url.h"

static void base_url(const sc_engine *e, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", e->relay_api ? e->relay_api : "http://127.0.0.1:8080");
}

json_t *eng_stream_json(sc_engine *e, const sc_stream_rec *s)
{
	char base[512], hls[1024], watch[1024];

	base_url(e, base, sizeof(base));
	snprintf(hls, sizeof(hls), "%s/hls/%s/index.m3u8", base, s->name);
	snprintf(watch, sizeof(watch), "%s/watch/%s", base, s->name);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:b, "
			 "s:s, s:s}",
			 "id", s->id, "name", s->name, "state", sc_stream_state_name(s->state),
			 "reason", s->reason, "conference", s->conference, "destination",
			 s->destination_redacted, "profile", s->profile, "layout", s->layout,
			 "instance", s->instance[0] ? s->instance : NULL, "fence",
			 (json_int_t)s->fence, "created_ms", (json_int_t)s->created_ms,
			 "updated_ms", (json_int_t)s->updated_ms, "stop_requested",
			 s->stop_requested, "hls_url", hls, "watch_url", watch);
}

json_t *eng_inst_json(const sc_inst_rec *i)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:I, s:I, s:I, s:b, s:s}", "id", i->id, "state",
			 sc_inst_state_name(i->state), "slots", i->slots, "used", i->used,
			 "last_heartbeat_ms", (json_int_t)i->last_heartbeat_ms, "lease_until_ms",
			 (json_int_t)i->lease_until_ms, "created_ms", (json_int_t)i->created_ms,
			 "protected", i->protected_, "provider_ref", i->provider_ref);
}

static void new_id(char out[SC_ID_MAX])
{
	unsigned char b[8];
	static const char hex[] = "0123456789abcdef";

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort(); /* no randomness: ids could collide */
	memcpy(out, "st-", 3);
	for (size_t i = 0; i < sizeof(b); i++) {
		out[3 + 2 * i] = hex[b[i] >> 4];
		out[4 + 2 * i] = hex[b[i] & 15];
	}
	out[3 + 2 * sizeof(b)] = 0;
}

/* ---- idempotency */

/* Stored responses are {"status": N, "body": {...}}. */
static int replay(sc_engine_req *r, const char *stored)
{
	json_t *o = json_loads(stored, 0, NULL);
	json_t *st = json_object_get(o, "status"), *body = json_object_get(o, "body");
	if (!json_is_integer(st) || !json_is_object(body)) {
		json_decref(o);
		return -EBADMSG;
	}
	r->status = (unsigned)json_integer_value(st);
	r->reply = json_incref(body);
	json_decref(o);
	return 0;
}

/* 1 if r was answered from the key's history, 0 if the key is ours now. */
static int idem_claim(sc_engine *e, sc_engine_req *r)
{
	char key[300], *hash = NULL, *resp = NULL;
	int rc;

	snprintf(key, sizeof(key), "c:%s", r->start.idem_key);
	rc = e->ops->idem_put(e->sp, key, r->start.body_hash, "{}", &hash, &resp);
	if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return 1;
	}
	if (rc == 0)
		return 0;
	bool same = hash && !strcmp(hash, r->start.body_hash);
	free(hash);
	free(resp);
	hash = resp = NULL;
	if (!same) {
		eng_reply_error(r, 422,
				"Idempotency-Key \"%s\" was used with another request body; use a "
				"new key for a new request",
				r->start.idem_key);
		return 1;
	}
	snprintf(key, sizeof(key), "r:%s", r->start.idem_key);
	rc = e->ops->idem_put(e->sp, key, r->start.body_hash,
			      "{\"status\":500,\"body\":{\"error\":\"an earlier request with this "
			      "Idempotency-Key did not finish; check GET /v1/streams and retry "
			      "with a new key\"}}",
			      &hash, &resp);
	if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
	} else if (rc == 1 && resp && replay(r, resp) == 0) {
		sc_log_debug(NULL, "replayed the response for an Idempotency-Key");
	} else {
		eng_reply_error(r, 500,
				"an earlier request with this Idempotency-Key did not finish; "
				"check GET /v1/streams and retry with a new key");
	}
	free(hash);
	free(resp);
	return 1;
}

static void idem_record(sc_engine *e, sc_engine_req *r)
{
	char key[300], *hash = NULL, *resp = NULL;
	json_t *o = json_pack("{s:i, s:O}", "status", (int)r->status, "body", r->reply);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	snprintf(key, sizeof(key), "r:%s", r->start.idem_key);
	if (!text || e->ops->idem_put(e->sp, key, r->start.body_hash, text, &hash, &resp) < 0)
		sc_log_warn(NULL, "store: cannot keep the response for an Idempotency-Key");
	free(text);
	free(hash);
	free(resp);
}

/* ---- start */

/* The holder of a key gives way to a takeover (or held it by mistake). */
static int release_holder(sc_engine *e, const char *holder, const char *taker, bool takeover)
{
	sc_stream_rec h;
	int rc = e->ops->stream_get(e->sp, holder, &h);

	if (rc == -ENOENT || (rc == 0 && !eng_stream_active(&h))) {
		/* A lock without a live stream: left over from a crash. */
		if (rc == 0)
			free(h.destination_sealed);
		eng_event(e, "stale-lock", holder, "released a lock its stream no longer needs");
		return e->ops->unlock(e->sp, holder);
	}
	if (rc < 0)
		return rc;
	if (!takeover) {
		free(h.destination_sealed);
		return -EBUSY;
	}
	h.stop_requested = true;
	if (h.state == SC_ST_PENDING) {
		eng_stream_finish(e, &h, SC_ST_STOPPED, "taken over before it was assigned");
	} else {
		eng_stream_set(e, &h, SC_ST_STOPPING, "taken over by %s", taker);
		rc = e->ops->unlock(e->sp, holder);
		eng_relay_remove(e, holder);
	}
	e->takeovers++;
	eng_event(e, "takeover", holder, "stream %s gives its locks to %s", h.name, taker);
	free(h.destination_sealed);
	return rc;
}

void eng_req_start(sc_engine *e, sc_engine_req *r)
{
	char norm[SC_URL_MAX], keys[2][SC_KEY_HEX], holder[SC_ID_MAX] = "";
	const char *kp[2] = {keys[0], keys[1]};
	sc_stream_rec s = {0};
	uint64_t fence = 0;
	int rc = -EBUSY;

	if (idem_claim(e, r))
		return;
	if (sc_url_normalize(r->start.destination, norm, sizeof(norm)) < 0) {
		eng_reply_error(r, 400, "destination does not parse");
		goto record;
	}
	sc_lock_key_destination(norm, keys[0]);
	sc_lock_key_name(r->start.name, keys[1]);
	explicit_bzero(norm, sizeof(norm));
	new_id(s.id);

	for (int attempt = 0; attempt < 4; attempt++) {
		holder[0] = 0;
		rc = e->ops->lock(e->sp, s.id, kp, 2, &fence, holder, sizeof(holder));
		if (rc != -EBUSY)
			break;
		if (release_holder(e, holder, s.id, r->start.takeover) < 0)
			break;
	}
	explicit_bzero(keys, sizeof(keys));
	if (rc == -EBUSY) {
		e->lock_conflicts++;
		r->status = 409;
		r->reply = json_pack("{s:s, s:s}", "error",
				     "the destination or the name is held by a live stream (send "
				     "\"takeover\": true to move it to this start)",
				     "holder", holder);
		goto record;
	}
	if (rc < 0) {
		eng_reply_error(r, 503, "store: cannot take the locks: %s", strerror(-rc));
		return; /* not recorded: a retry may succeed */
	}

	snprintf(s.name, sizeof(s.name), "%s", r->start.name);
	snprintf(s.conference, sizeof(s.conference), "%s", r->start.conference);
	sc_url_redact(r->start.destination, s.destination_redacted, sizeof(s.destination_redacted));
	snprintf(s.profile, sizeof(s.profile), "%s", r->start.profile ? r->start.profile : "");
	snprintf(s.layout, sizeof(s.layout), "%s", r->start.layout ? r->start.layout : "");
	s.fence = fence;
	s.created_ms = eng_now_ms();
	rc = sc_secretbox_seal(&e->key, r->start.destination, &s.destination_sealed);
	if (rc == 0)
		rc = eng_stream_set(e, &s, SC_ST_PENDING, "accepted");
	if (rc < 0) {
		e->ops->unlock(e->sp, s.id);
		free(s.destination_sealed);
		eng_reply_error(r, 503, "store: cannot record the stream: %s", strerror(-rc));
		return;
	}
	e->starts++;
	eng_event(e, "start", s.id, "stream %s to %s, fence %llu%s", s.name, s.destination_redacted,
		  (unsigned long long)fence, r->start.takeover ? " (takeover allowed)" : "");
	eng_relay_add(e, &s, r->start.destination);
	r->status = 201;
	json_t *full = eng_stream_json(e, &s);
	r->reply = json_pack("{s:s, s:s, s:s, s:I, s:O, s:O}", "id", s.id, "name", s.name, "state",
			     "pending", "fence", (json_int_t)fence, "hls_url",
			     json_object_get(full, "hls_url"), "watch_url",
			     json_object_get(full, "watch_url"));
	json_decref(full);
	free(s.destination_sealed);
	eng_assign(e); /* a warm spare takes it in its next heartbeat */
record:
	if (r->reply)
		idem_record(e, r);
}

/* ---- stop */

void eng_req_stop(sc_engine *e, sc_engine_req *r)
{
	sc_stream_rec s;
	int rc = e->ops->stream_get(e->sp, r->id, &s);

	if (eng_reply_get_error(r, rc, "stream"))
		return;
	if (s.state == SC_ST_PENDING) {
		s.stop_requested = true;
		eng_stream_finish(e, &s, SC_ST_STOPPED, "stopped before it was assigned");
	} else if (eng_stream_active(&s) && s.state != SC_ST_STOPPING) {
		s.stop_requested = true;
		if (eng_stream_set(e, &s, SC_ST_STOPPING, "stop requested") == 0)
			eng_event(e, "stop", s.id,
				  "stream %s: stop requested; locks held until "
				  "the capture confirms",
				  s.name);
	}
	r->status = eng_stream_active(&s) ? 202 : 200;
	r->reply = json_pack("{s:s, s:s, s:s}", "id", s.id, "name", s.name, "state",
			     sc_stream_state_name(s.state));
	free(s.destination_sealed);
}

/* ---- reads */

void eng_req_list(sc_engine *e, sc_engine_req *r)
{
	sc_stream_rec *v = NULL;
	size_t n = 0;
	int rc = e->ops->stream_list(e->sp, r->active_only, &v, &n);

	if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, eng_stream_json(e, &v[i]));
	sc_stream_recs_free(v, n);
	r->status = 200;
	r->reply = json_pack("{s:o}", "streams", a);
}

void eng_req_get(sc_engine *e, sc_engine_req *r)
{
	sc_stream_rec s;
	sc_stream_hist_rec *h = NULL;
	size_t n = 0;
	int rc = e->ops->stream_get(e->sp, r->id, &s);

	if (eng_reply_get_error(r, rc, "stream"))
		return;
	json_t *o = eng_stream_json(e, &s);
	json_t *hist = json_array();
	if (e->ops->stream_history(e->sp, s.id, &h, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			json_array_append_new(hist, json_pack("{s:s, s:I, s:s}", "state",
							      sc_stream_state_name(h[i].state),
							      "at_ms", (json_int_t)h[i].at_ms,
							      "reason", h[i].reason));
		free(h);
	}
	json_object_set_new(o, "history", hist);
	free(s.destination_sealed);
	r->status = 200;
	r->reply = o;
}

void eng_req_instances(sc_engine *e, sc_engine_req *r)
{
	sc_inst_rec *v = NULL;
	size_t n = 0;
	int rc = e->ops->inst_list(e->sp, &v, &n);

	if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, eng_inst_json(&v[i]));
	free(v);
	r->status = 200;
	r->reply = json_pack("{s:o}", "instances", a);
}

void eng_req_drain(sc_engine *e, sc_engine_req *r)
{
	sc_inst_rec i;
	int rc = e->ops->inst_get(e->sp, r->id, &i);

	if (eng_reply_get_error(r, rc, "instance"))
		return;
	if (i.state == SC_INST_IDLE || i.state == SC_INST_BUSY || i.state == SC_INST_STARTING) {
		i.state = SC_INST_DRAINING;
		rc = e->ops->inst_put(e->sp, &i);
		if (rc < 0) {
			eng_reply_error(r, 503, "store: %s", strerror(-rc));
			return;
		}
		eng_event(e, "drain", i.id,
			  "instance draining: no new streams, retired when empty");
	}
	r->status = 202;
	r->reply = eng_inst_json(&i);
}

void eng_req_pool(sc_engine *e, sc_engine_req *r)
{
	if (r->kind == SC_REQ_POOL_PUT) {
		int rc = e->ops->pool_put(e->sp, &r->pool);
		if (rc < 0) {
			eng_reply_error(r, 503, "store: %s", strerror(-rc));
			return;
		}
		e->pool = r->pool;
		e->next_scale_ms = 0; /* act on it now */
		e->periods_above = 0;
		eng_event(e, "pool", "", "min %d, max %d, spare %d", e->pool.min, e->pool.max,
			  e->pool.spare);
	}
	r->status = 200;
	r->reply = json_pack("{s:i, s:i, s:i, s:i, s:s}", "min", e->pool.min, "max", e->pool.max,
			     "spare", e->pool.spare, "desired", e->last_desired, "provider",
			     e->pops->name);
}

void eng_req_events(sc_engine *e, sc_engine_req *r)
{
	sc_event_rec *v = NULL;
	size_t n = 0;
	int rc = e->ops->event_list(e->sp, r->limit ? r->limit : 100, &v, &n);

	if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:s, s:s}", "at_ms",
						   (json_int_t)v[i].at_ms, "kind", v[i].kind,
						   "subject", v[i].subject, "detail", v[i].detail));
	free(v);
	r->status = 200;
	r->reply = json_pack("{s:o}", "events", a);
}
