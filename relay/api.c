/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - the relay's /v1 API:
 *
 *   GET    /v1/streams                      every stream the relay knows
 *   GET    /v1/streams/NAME                 one stream
 *   POST   /v1/streams/NAME/targets         {"url": "rtmp://..."}  -> 201 {"id": ...}
 *   DELETE /v1/streams/NAME/targets/ID      -> 204
 *
 * Reads are open (the widget asks whether its stream is live). Changes need
 * the bearer token from --api-token-file, or, without one, a loopback
 * client. Every bad request gets a 4xx with a message and changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "relay.h"
#include "url.h"

static bool may_change(sc_relay *r, sc_http_request *req)
{
	if (r->api_token) {
		if (sc_http_bearer_ok(req, r->api_token))
			return true;
		sc_http_add_header(req, "WWW-Authenticate", "Bearer");
		sc_http_reply_error(req, 401, "missing or wrong bearer token");
		return false;
	}
	if (sc_http_peer_is_loopback(req))
		return true;
	sc_http_reply_error(
		req, 403, "changes are allowed from loopback only unless --api-token-file is set");
	return false;
}

static void list_streams(sc_relay *r, sc_http_request *req)
{
	json_t *a = json_array();
	for (sc_stream *s = r->streams; s; s = sc_stream_next(s))
		json_array_append_new(a, sc_stream_to_json(s));
	sc_http_reply_json(req, 200, json_pack("{s:o}", "streams", a));
}

static void add_target(sc_relay *r, sc_http_request *req, const char *name)
{
	char err[256], id[16], msg[256];
	size_t len;
	const char *body = sc_http_body(req, &len);
	const char *url;
	static const char *const fields[] = {"url", NULL};

	json_t *o = sc_json_parse_object(body, len, err, sizeof(err));
	if (!o) {
		sc_http_reply_error(req, 400, "%s", err);
		return;
	}
	if (sc_json_check_fields(o, fields, err, sizeof(err)) < 0 ||
	    sc_json_get_string(o, "url", true, &url, err, sizeof(err)) < 0) {
		json_decref(o);
		sc_http_reply_error(req, 400, "%s", err);
		return;
	}
	/* Check everything before the stream is created: a bad request
	 * changes nothing. */
	if (sc_push_url_check(url, msg, sizeof(msg)) < 0) {
		json_decref(o);
		sc_http_reply_error(req, 400, "%s", msg);
		return;
	}
	sc_stream *s = sc_stream_get(r, name);
	if (!s) {
		json_decref(o);
		if (errno == ENOSPC)
			sc_http_reply_error(req, 503,
					    "the relay has too many streams (--max-streams)");
		else
			sc_http_reply_error(req, 500, "out of memory");
		return;
	}
	int rc = sc_stream_add_target(s, url, false, id, sizeof(id), msg, sizeof(msg));
	json_decref(o);
	if (rc < 0) {
		sc_http_reply_error(req, rc == -ENOSPC || rc == -EEXIST ? 409 : 400, "%s", msg);
		return;
	}
	char location[256];
	snprintf(location, sizeof(location), "/v1/streams/%s/targets/%s", name, id);
	sc_http_add_header(req, "Location", location);
	json_t *t = NULL;
	json_t *js = sc_stream_to_json(s);
	json_t *targets = json_object_get(js, "targets");
	size_t i;
	json_t *v;
	json_array_foreach(targets, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "id")), id))
			t = json_incref(v);
	}
	json_decref(js);
	sc_http_reply_json(req, 201, t ? t : json_pack("{s:s}", "id", id));
}

void sc_relay_api(sc_relay *r, sc_http_request *req, const char *path)
{
	const char *method = sc_http_method(req);
	char name[160], id[32];
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	sc_http_add_header(req, "Access-Control-Allow-Origin", "*");
	sc_http_add_header(req, "Cache-Control", "no-store");
	if (!strcmp(path, "/streams")) {
		if (!get) {
			sc_http_reply_error(req, 405, "only GET here");
			return;
		}
		list_streams(r, req);
		return;
	}
	if (strncmp(path, "/streams/", 9) != 0) {
		sc_http_reply_error(req, 404, "no such API path");
		return;
	}
	const char *rest = path + 9;
	size_t n = strcspn(rest, "/");
	if (n == 0 || n >= sizeof(name)) {
		sc_http_reply_error(req, 400, "bad stream name");
		return;
	}
	memcpy(name, rest, n);
	name[n] = 0;
	if (!sc_stream_name_valid(name)) {
		sc_http_reply_error(req, 400, "bad stream name: use 1-128 of A-Z a-z 0-9 . _ -");
		return;
	}
	rest += n;

	if (!*rest) {
		if (!get) {
			sc_http_reply_error(req, 405, "only GET here");
			return;
		}
		sc_stream *s = sc_stream_find(r, name);
		if (!s)
			sc_http_reply_error(req, 404, "no stream \"%s\"", name);
		else
			sc_http_reply_json(req, 200, sc_stream_to_json(s));
		return;
	}
	if (!strcmp(rest, "/targets")) {
		if (!strcmp(method, "POST")) {
			if (may_change(r, req))
				add_target(r, req, name);
		} else {
			sc_http_reply_error(req, 405, "POST a {\"url\": ...} here");
		}
		return;
	}
	if (!strncmp(rest, "/targets/", 9)) {
		const char *tid = rest + 9;
		if (strlen(tid) == 0 || strlen(tid) >= sizeof(id) || strchr(tid, '/')) {
			sc_http_reply_error(req, 400, "bad target id");
			return;
		}
		if (strcmp(method, "DELETE")) {
			sc_http_reply_error(req, 405, "only DELETE here");
			return;
		}
		if (!may_change(r, req))
			return;
		sc_stream *s = sc_stream_find(r, name);
		if (!s || sc_stream_remove_target(s, tid) < 0) {
			sc_http_reply_error(req, 404, "no target \"%s\" on stream \"%s\"", tid,
					    name);
			return;
		}
		sc_http_reply(req, 204, NULL, "", 0);
		return;
	}
	sc_http_reply_error(req, 404, "no such API path");
}
