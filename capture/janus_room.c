/* SPDX-License-Identifier: Apache-2.0 */
/*
 * janus_room.c - the Janus VideoRoom side of capture/janus.c: the URL, the
 * requests (join, subscribe, unsubscribe, start, trickle) and every event
 * Janus sends, checked field by field. Brain thread only (see janus.c).
 */
#include "janus_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"

int sc_janus_fail(janus *j, sc_sig_error e, const char *fmt, ...)
{
	va_list ap;

	j->fail_err = e;
	va_start(ap, fmt);
	vsnprintf(j->fail_msg, sizeof(j->fail_msg), fmt, ap);
	va_end(ap);
	return -EPROTO;
}

/* ------------------------------------------------------------ URL */

static bool host_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* janus://HOST[:PORT]/ROOM[?pin=PIN] -> base URL, room, pin. */
int sc_janus_parse_url(janus *j, const char *url, char *err, size_t errlen)
{
	const char *p = url + strlen("janus://"), *h, *q;
	char host[256], room[65], query[512];
	size_t n;
	long port = JN_DEFAULT_PORT;

	if (strncasecmp(url, "janus://", 8) != 0 || strlen(url) > 1024)
		goto bad;
	for (q = url; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '#')
			goto bad;
	if (*p == '[') { /* IPv6 literal */
		h = ++p;
		while (*p && (isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
			p++;
		if (*p != ']' || p == h)
			goto bad;
		n = (size_t)(p - h);
		p++;
	} else {
		h = p;
		while (host_char(*p))
			p++;
		n = (size_t)(p - h);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, h, n);
	host[n] = '\0';
	if (*p == ':') {
		char *end;

		if (!isdigit((unsigned char)p[1]))
			goto bad;
		port = strtol(p + 1, &end, 10);
		if (port < 1 || port > 65535 || end - p > 6)
			goto bad;
		p = end;
	}
	if (*p != '/')
		goto bad;
	h = ++p;
	while (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_')
		p++;
	n = (size_t)(p - h);
	if (n == 0 || n >= sizeof(room) || (*p && *p != '?'))
		goto bad;
	memcpy(room, h, n);
	room[n] = '\0';
	if (strspn(room, "0123456789") == n) {
		if (n > 15 || (n > 1 && room[0] == '0'))
			goto bad; /* Janus ids are below 2^53 */
		j->room = json_integer(strtoll(room, NULL, 10));
	} else {
		j->room = json_string(room);
	}
	if (!j->room) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (*p == '?') {
		if (strlen(p + 1) >= sizeof(query))
			goto bad;
		strcpy(query, p + 1);
		for (q = query; *q;) { /* only "pin" is known */
			n = strcspn(q, "&");
			if (!((n >= 4 && strncmp(q, "pin=", 4) == 0))) {
				snprintf(err, errlen, "janus URL: unknown parameter (only pin=)");
				return -EINVAL;
			}
			q += n + (q[n] == '&');
		}
		if (sc_query_get(query, "pin", j->pin, sizeof(j->pin)) < 0 || !j->pin[0]) {
			snprintf(err, errlen, "janus URL: bad pin");
			return -EINVAL;
		}
	}
	snprintf(j->base, sizeof(j->base),
		 strchr(host, ':') ? "http://[%s]:%ld/janus" : "http://%s:%ld/janus", host, port);
	return 0;
bad:
	snprintf(err, errlen, "bad janus URL (want janus://HOST:PORT/ROOM[?pin=PIN])");
	return -EINVAL;
}

/* ------------------------------------------------------------ JSON checks */

/* A string member: NULL if absent, not a string, empty, too long (>= max)
 * or holding control characters. */
static const char *jn_str(json_t *obj, const char *key, size_t max)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t i, n;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= max)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return NULL;
	return s;
}

/* A Janus id (integer >= 0 or a short string) as text. */
static int jn_id(json_t *v, char *out, size_t outlen)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < outlen &&
	    json_string_length(v) == strlen(json_string_value(v))) {
		for (const char *s = json_string_value(v); *s; s++)
			if ((unsigned char)*s < 0x20)
				return -EINVAL;
		strcpy(out, json_string_value(v));
		return 0;
	}
	return -EINVAL;
}

static uint64_t jn_u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

static void jn_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* ------------------------------------------------------------ requests */

/* POST msg (borrowed; a transaction is added) to the session or a handle.
 * *ret_reply: a new reference to the "ack" / "success" reply. */
int sc_janus_request(janus *j, uint64_t handle, json_t *msg, json_t **ret_reply, char *ret_tid)
{
	json_t *reply = NULL, *e;
	char tid[32];
	const char *kind;
	int r;

	snprintf(tid, sizeof(tid), "sc%llu", ++j->tid);
	if (json_object_set_new(msg, "transaction", json_string(tid)) < 0)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	r = j->send(j, handle, msg, &reply);
	if (r < 0)
		return r; /* send set fail_* */
	kind = jn_str(reply, "janus", 32);
	if (kind && strcmp(kind, "error") == 0) {
		long long code;

		e = json_object_get(reply, "error");
		code = json_integer_value(json_object_get(e, "code"));
		r = sc_janus_fail(j,
				  code == 458 || code == 459 ? SC_SIG_ERR_UNREACHABLE
							     : SC_SIG_ERR_PROTOCOL,
				  "janus error %lld: %s", code, jn_str(e, "reason", 200) ?: "?");
		json_decref(reply);
		return r;
	}
	if (!kind || (strcmp(kind, "ack") != 0 && strcmp(kind, "success") != 0)) {
		json_decref(reply);
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "unexpected janus reply");
	}
	if (ret_tid)
		strcpy(ret_tid, tid);
	if (ret_reply)
		*ret_reply = reply;
	else
		json_decref(reply);
	return 0;
}

/* A plugin message on a handle; body stolen. A synchronous plugin reply
 * ("success" + plugindata) is handled like the event it stands for. */
static int jn_message(janus *j, uint64_t handle, json_t *body, json_t *jsep, char *ret_tid)
{
	json_t *msg = json_pack("{s:s, s:o}", "janus", "message", "body", body), *reply = NULL;
	int r;

	if (!msg)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	if (jsep && json_object_set(msg, "jsep", jsep) < 0) {
		json_decref(msg);
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	}
	r = sc_janus_request(j, handle, msg, &reply, ret_tid);
	json_decref(msg);
	if (r < 0)
		return r;
	if (json_object_get(reply, "plugindata")) {
		json_object_set_new(reply, "janus", json_string("event"));
		json_object_set_new(reply, "sender", json_integer((json_int_t)handle));
		r = sc_janus_event(j, reply);
	}
	json_decref(reply);
	return r;
}

/* ------------------------------------------------------------ room state */

static jn_pub *jn_find_pub(janus *j, const char *id)
{
	for (size_t i = 0; i < j->n_pubs; i++)
		if (strcmp(j->pubs[i].id, id) == 0)
			return &j->pubs[i];
	return NULL;
}

static void jn_clear_pubs(janus *j)
{
	for (size_t i = 0; i < j->n_pubs; i++)
		json_decref(j->pubs[i].idv);
	j->n_pubs = 0;
}

/* true if it was there */
static bool jn_remove_pub(janus *j, json_t *idv)
{
	char id[64];
	jn_pub *p;

	if (jn_id(idv, id, sizeof(id)) < 0 || !(p = jn_find_pub(j, id)))
		return false;
	json_decref(p->idv);
	*p = j->pubs[--j->n_pubs];
	return true;
}

/* "publishers": [{id, display, ...}] adds or refreshes; bad entries are
 * skipped, and at most JN_MAX_PUBS are followed. true if anything changed. */
static bool jn_add_pubs(janus *j, json_t *arr)
{
	bool changed = false;
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		char id[64];
		jn_pub *p;

		if (!json_is_object(o) || jn_id(json_object_get(o, "id"), id, sizeof(id)) < 0)
			continue;
		if (json_is_true(json_object_get(o, "dummy")))
			continue;
		if (!(p = jn_find_pub(j, id))) {
			if (j->n_pubs == JN_MAX_PUBS)
				continue;
			p = &j->pubs[j->n_pubs++];
			memset(p, 0, sizeof(*p));
			strcpy(p->id, id);
			p->idv = json_incref(json_object_get(o, "id"));
			changed = true;
		}
		p->failed = false;
		if (strcmp(p->display, jn_str(o, "display", sizeof(p->display)) ?: "") != 0) {
			jn_copy(p->display, sizeof(p->display),
				jn_str(o, "display", sizeof(p->display)));
			changed = true;
		}
	}
	return changed;
}

static void jn_report_participants(janus *j)
{
	sc_sig_stream people[JN_MAX_PUBS];

	memset(people, 0, sizeof(people));
	for (size_t i = 0; i < j->n_pubs; i++) {
		strcpy(people[i].feed, j->pubs[i].id);
		strcpy(people[i].display, j->pubs[i].display);
		people[i].active = true;
	}
	if (j->cb.on_participants)
		j->cb.on_participants(j->cb.ud, people, j->n_pubs);
}

static bool jn_subscribed(const janus *j, const char *feed)
{
	for (size_t i = 0; i < j->n_streams; i++)
		if (j->streams[i].active && strcmp(j->streams[i].feed, feed) == 0)
			return true;
	return false;
}

/* Bring the subscription in line with the publishers, one request at a time. */
static int jn_update_subscription(janus *j)
{
	json_t *body, *streams;
	const char *req = NULL;
	size_t i, n;
	int r;

	if (!j->joined || j->sub_state == SUB_JOINING || j->offer_pending || j->starting ||
	    j->req_tid[0])
		return 0;
	if (!(streams = json_array()))
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	for (i = 0, n = 0; i < j->n_pubs; i++)
		n += j->pubs[i].pending || jn_subscribed(j, j->pubs[i].id);
	for (i = 0; i < j->n_pubs && n < JN_MAX_FEEDS; i++) {
		jn_pub *p = &j->pubs[i];

		if (p->failed || p->pending ||
		    (j->sub_state == SUB_JOINED && jn_subscribed(j, p->id)))
			continue;
		json_array_append_new(streams, json_pack("{s:O}", "feed", p->idv));
		p->pending = true;
		n++;
	}
	if (json_array_size(streams) > 0) {
		req = j->sub_state == SUB_NONE ? "join" : "subscribe";
	} else if (j->sub_state == SUB_JOINED) {
		/* Sections of feeds that are gone but still active (Janus
		 * normally drops them by itself). */
		for (i = 0; i < j->n_streams; i++) {
			sc_sig_stream *s = &j->streams[i];

			if (s->active && s->feed[0] && !jn_find_pub(j, s->feed)) {
				json_t *idv = strspn(s->feed, "0123456789") == strlen(s->feed)
						      ? json_integer(strtoll(s->feed, NULL, 10))
						      : json_string(s->feed);
				json_array_append_new(streams, json_pack("{s:o}", "feed", idv));
				s->active = false; /* asked once */
			}
		}
		if (json_array_size(streams) > 0)
			req = "unsubscribe";
	}
	if (!req) {
		json_decref(streams);
		return 0;
	}
	body = json_pack("{s:s, s:o}", "request", req, "streams", streams);
	if (body && strcmp(req, "join") == 0) {
		json_object_set_new(body, "ptype", json_string("subscriber"));
		json_object_set(body, "room", j->room);
		if (j->private_id)
			json_object_set(body, "private_id", j->private_id);
		if (j->pin[0])
			json_object_set_new(body, "pin", json_string(j->pin));
		j->sub_state = SUB_JOINING;
	}
	if (!body)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	r = jn_message(j, j->h_sub, body, NULL, j->req_tid);
	return r;
}

/* The stream map of an "attached"/"updated" event. */
static int jn_parse_streams(janus *j, json_t *arr, sc_sig_stream *out, size_t *ret_n)
{
	size_t i, n = 0;
	json_t *o;

	if (!json_is_array(arr) || json_array_size(arr) > JN_MAX_STREAMS)
		return -EINVAL;
	json_array_foreach(arr, i, o)
	{
		const char *type = jn_str(o, "type", 8), *mid = jn_str(o, "mid", 32);
		json_t *act = json_object_get(o, "active");
		sc_sig_stream *s = &out[n];

		if (!json_is_object(o) || !type)
			return -EINVAL;
		if (strcmp(type, "audio") != 0 && strcmp(type, "video") != 0)
			continue; /* data channels: the answer rejects them */
		if (!mid || (act && !json_is_boolean(act)))
			return -EINVAL;
		memset(s, 0, sizeof(*s));
		strcpy(s->mid, mid);
		strcpy(s->kind, type);
		s->active = !act || json_is_true(act);
		if (json_object_get(o, "feed_id") &&
		    jn_id(json_object_get(o, "feed_id"), s->feed, sizeof(s->feed)) < 0)
			return -EINVAL;
		jn_copy(s->display, sizeof(s->display),
			jn_str(o, "feed_display", sizeof(s->display)));
		if (!s->feed[0]) { /* a dead section: say whose it was */
			for (size_t k = 0; k < j->n_streams; k++)
				if (strcmp(j->streams[k].mid, mid) == 0) {
					strcpy(s->feed, j->streams[k].feed);
					strcpy(s->display, j->streams[k].display);
				}
		} else if (!s->display[0]) {
			jn_pub *p = jn_find_pub(j, s->feed);

			if (p)
				strcpy(s->display, p->display);
		}
		n++;
	}
	*ret_n = n;
	return 0;
}

static int jn_sub_event(janus *j, json_t *ev, json_t *data, const char *vr)
{
	const char *tid = jn_str(ev, "transaction", 32);
	bool mine = tid && j->req_tid[0] && strcmp(tid, j->req_tid) == 0;
	json_t *jsep = json_object_get(ev, "jsep");
	sc_sig_stream streams[JN_MAX_STREAMS];
	const char *sdp;
	size_t n = 0;

	if (json_object_get(data, "error_code")) {
		/* A join/subscribe Janus refused (a feed that just left):
		 * those feeds are skipped until announced again. */
		if (!mine)
			return 0;
		for (size_t i = 0; i < j->n_pubs; i++)
			if (j->pubs[i].pending) {
				j->pubs[i].pending = false;
				j->pubs[i].failed = true;
			}
		if (j->sub_state == SUB_JOINING)
			j->sub_state = SUB_NONE;
		j->req_tid[0] = '\0';
		return 0;
	}
	if (strcmp(vr, "updating") == 0 && mine) {
		j->req_tid[0] = '\0'; /* queued behind an offer; it comes later */
		return 0;
	}
	if (strcmp(vr, "event") == 0 && json_object_get(data, "started")) {
		j->starting = false;
		return 0;
	}
	if (strcmp(vr, "attached") != 0 && strcmp(vr, "updated") != 0)
		return 0;
	if (jn_parse_streams(j, json_object_get(data, "streams"), streams, &n) < 0)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL,
				     "bad \"streams\" in a videoroom event");
	if (mine)
		j->req_tid[0] = '\0';
	if (strcmp(vr, "attached") == 0)
		j->sub_state = SUB_JOINED;
	memcpy(j->streams, streams, n * sizeof(streams[0]));
	j->n_streams = n;
	for (size_t i = 0; i < j->n_pubs; i++) {
		if (!j->pubs[i].pending)
			continue;
		if (jn_subscribed(j, j->pubs[i].id))
			j->pubs[i].pending = false;
		else if (mine) {
			j->pubs[i].pending = false;
			j->pubs[i].failed = true;
		}
	}
	if (!jsep)
		return 0;
	if (!json_is_object(jsep) || !jn_str(jsep, "type", 16) ||
	    strcmp(jn_str(jsep, "type", 16), "offer") != 0)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL,
				     "janus sent a jsep that is not an offer");
	sdp = json_string_value(json_object_get(jsep, "sdp"));
	if (!sdp || json_string_length(json_object_get(jsep, "sdp")) > JN_MAX_SDP ||
	    strncmp(sdp, "v=0", 3) != 0)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "janus sent a bad SDP offer");
	j->offer_pending = true;
	if (j->cb.on_offer)
		j->cb.on_offer(j->cb.ud, sdp, j->streams, j->n_streams);
	return 0;
}

static int jn_pub_event(janus *j, json_t *data, const char *vr)
{
	json_t *v, *code = json_object_get(data, "error_code");
	const char *why = jn_str(data, "error", 200) ?: "?";
	bool changed = false;
	char id[64];

	if (code) {
		long long c = json_integer_value(code);

		if (j->joined)
			return 0; /* a request of ours went wrong; not fatal */
		if (c == 426)
			return sc_janus_fail(j, SC_SIG_ERR_NOT_FOUND, "no such room: %s", why);
		if (c == 433 || (c == 429 && strstr(why, "pin")))
			return sc_janus_fail(j, SC_SIG_ERR_DENIED, "not allowed in: %s", why);
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "join refused (%lld): %s", c, why);
	}
	if (strcmp(vr, "joined") == 0) {
		j->joined = j->ever_joined = true;
		json_decref(j->private_id);
		j->private_id = json_incref(json_object_get(data, "private_id"));
		jn_clear_pubs(j);
		jn_add_pubs(j, json_object_get(data, "publishers"));
		jn_report_participants(j);
		return 0;
	}
	if (strcmp(vr, "destroyed") == 0)
		return sc_janus_fail(j, SC_SIG_ERR_NOT_FOUND, "the room was destroyed");
	if (strcmp(vr, "event") != 0)
		return 0; /* talking, stopped-talking, ... */
	v = json_object_get(data, "leaving");
	if (json_is_string(v) && strcmp(json_string_value(v), "ok") == 0)
		return 0; /* our own leave */
	if (json_is_array(json_object_get(data, "publishers"))) {
		changed = jn_add_pubs(j, json_object_get(data, "publishers"));
	} else if ((v = json_object_get(data, "unpublished")) ||
		   (v = json_object_get(data, "leaving")) ||
		   (v = json_object_get(data, "kicked"))) {
		changed = jn_remove_pub(j, v);
	} else if (jn_id(json_object_get(data, "id"), id, sizeof(id)) == 0 &&
		   jn_str(data, "display", 128) && jn_find_pub(j, id)) {
		/* A display name change (also sent right after a join). */
		jn_pub *p = jn_find_pub(j, id);

		changed = strcmp(p->display, jn_str(data, "display", 128)) != 0;
		jn_copy(p->display, sizeof(p->display), jn_str(data, "display", 128));
	}
	if (!changed)
		return 0;
	jn_report_participants(j);
	return 0;
}

static void jn_trickle(janus *j, json_t *cand)
{
	const char *c;

	if (!json_is_object(cand) || !j->cb.on_candidate)
		return;
	if (json_is_true(json_object_get(cand, "completed"))) {
		j->cb.on_candidate(j->cb.ud, NULL, NULL);
		return;
	}
	c = jn_str(cand, "candidate", 512);
	if (!c)
		return;
	if (strncmp(c, "candidate:", 10) == 0)
		c += 10;
	j->cb.on_candidate(j->cb.ud, jn_str(cand, "sdpMid", 32) ?: "", c);
}

/* One event from the long poll (or a synchronous plugin reply). */
int sc_janus_event(janus *j, json_t *ev)
{
	const char *kind = jn_str(ev, "janus", 32), *vr;
	uint64_t sender = jn_u64(ev, "sender");
	json_t *data;
	int r;

	if (!json_is_object(ev) || !kind)
		return 0;
	if (strcmp(kind, "timeout") == 0)
		return sc_janus_fail(j, SC_SIG_ERR_UNREACHABLE, "janus timed the session out");
	if (strcmp(kind, "error") == 0) {
		json_t *e = json_object_get(ev, "error");

		if (json_integer_value(json_object_get(e, "code")) == 458)
			return sc_janus_fail(j, SC_SIG_ERR_UNREACHABLE, "janus lost the session");
		return 0;
	}
	if (sender != j->h_pub && sender != j->h_sub)
		return 0;
	if (strcmp(kind, "trickle") == 0) {
		if (sender == j->h_sub)
			jn_trickle(j, json_object_get(ev, "candidate"));
		return 0;
	}
	if (strcmp(kind, "hangup") == 0 && sender == j->h_sub && j->sub_state == SUB_JOINED)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "janus hung up the subscription: %s",
				     jn_str(ev, "reason", 128) ?: "?");
	if (strcmp(kind, "detached") == 0)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "janus detached a handle");
	if (strcmp(kind, "event") != 0)
		return 0; /* webrtcup, media, slowlink, ... */
	data = json_object_get(json_object_get(ev, "plugindata"), "data");
	if (!json_is_object(data) || !(vr = jn_str(data, "videoroom", 32)))
		return 0;
	r = sender == j->h_pub ? jn_pub_event(j, data, vr) : jn_sub_event(j, ev, data, vr);
	if (r < 0)
		return r;
	return jn_update_subscription(j);
}

/* Our answer to the pending offer. */
int sc_janus_send_answer(janus *j, const char *sdp)
{
	json_t *jsep, *body;
	int r;

	if (!j->offer_pending)
		return 0; /* stale: that offer belonged to another session */
	jsep = json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp);
	body = json_pack("{s:s}", "request", "start");
	if (!jsep || !body) {
		json_decref(jsep);
		json_decref(body);
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	}
	j->offer_pending = false;
	j->starting = true;
	r = jn_message(j, j->h_sub, body, jsep, NULL);
	json_decref(jsep);
	return r < 0 ? r : jn_update_subscription(j);
}

int sc_janus_send_candidate(janus *j, const char *mid, const char *cand)
{
	json_t *msg, *c;
	int r;

	if (!j->h_sub)
		return 0;
	if (cand)
		c = json_pack("{s:s, s:s+}", "sdpMid", mid, "candidate",
			      strncmp(cand, "candidate:", 10) == 0 ? "" : "candidate:", cand);
	else
		c = json_pack("{s:b}", "completed", 1);
	msg = c ? json_pack("{s:s, s:o}", "janus", "trickle", "candidate", c) : NULL;
	if (!msg)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	r = sc_janus_request(j, j->h_sub, msg, NULL, NULL);
	json_decref(msg);
	return r;
}

int sc_janus_join(janus *j)
{
	json_t *body = json_pack("{s:s, s:s, s:O, s:s}", "request", "join", "ptype", "publisher",
				 "room", j->room, "display", j->display);

	if (!body)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	if (j->pin[0])
		json_object_set_new(body, "pin", json_string(j->pin));
	return jn_message(j, j->h_pub, body, NULL, NULL);
}

void sc_janus_reset(janus *j)
{
	jn_clear_pubs(j);
	json_decref(j->private_id);
	j->private_id = NULL;
	j->session = j->h_pub = j->h_sub = 0;
	j->joined = j->offer_pending = j->starting = false;
	j->sub_state = SUB_NONE;
	j->req_tid[0] = '\0';
	j->n_streams = 0;
}
