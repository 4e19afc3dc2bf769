/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.c - routes, authentication and input validation for the scaler's
 * HTTP API. Nothing here decides anything: a request that passes every
 * check goes to the engine thread (engine.h) and its answer comes back.
 *
 *   POST   /v1/streams               operator   start (Idempotency-Key)
 *   GET    /v1/streams               operator
 *   GET    /v1/streams/ID            operator   with history
 *   DELETE /v1/streams/ID            operator   stop (idempotent)
 *   GET    /v1/instances             operator
 *   POST   /v1/instances/ID/drain    operator
 *   GET    /v1/pool, PUT /v1/pool    operator
 *   GET    /v1/events                operator   the audit trail
 *   POST   /v1/agent/heartbeat       agent
 *   GET    /metrics, /healthz, /readyz          open (loopback only in dev mode)
 */
#include "api.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "url.h"

#define MAX_TOKENS    64
#define TOKEN_LEN_MAX 512

typedef enum { ROLE_OPERATOR, ROLE_AGENT } role;

struct sc_api {
	sc_engine *engine;
	sc_http_server *http;
	struct {
		role role;
		char *token;
	} tokens[MAX_TOKENS];
	size_t n_tokens;
	bool dev; /* no tokens file */
};

/* ---- tokens */

static int load_tokens(sc_api *a, const char *path, char *err, size_t errlen)
{
	char line[TOKEN_LEN_MAX + 64];
	int lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		int e = errno;
		snprintf(err, errlen, "--tokens-file %s: %s", path, strerror(e));
		return -e;
	}
	while (fgets(line, sizeof(line), f)) {
		char r[16], tok[TOKEN_LEN_MAX + 2], extra[2];
		lineno++;
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		int n = sscanf(p, "%15s %513s %1s", r, tok, extra);
		role ro;
		if (n == 2 && !strcmp(r, "operator"))
			ro = ROLE_OPERATOR;
		else if (n == 2 && !strcmp(r, "agent"))
			ro = ROLE_AGENT;
		else
			goto bad;
		if (strlen(tok) < 16 || strlen(tok) > TOKEN_LEN_MAX) {
			snprintf(err, errlen, "%s:%d: tokens must be 16 to %d characters", path,
				 lineno, TOKEN_LEN_MAX);
			fclose(f);
			return -EINVAL;
		}
		if (a->n_tokens >= MAX_TOKENS) {
			snprintf(err, errlen, "%s: at most %d tokens", path, MAX_TOKENS);
			fclose(f);
			return -EINVAL;
		}
		a->tokens[a->n_tokens].role = ro;
		a->tokens[a->n_tokens].token = strdup(tok);
		if (!a->tokens[a->n_tokens].token) {
			fclose(f);
			return -ENOMEM;
		}
		a->n_tokens++;
		continue;
	bad:
		snprintf(err, errlen, "%s:%d: want \"operator TOKEN\" or \"agent TOKEN\"", path,
			 lineno);
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	if (!a->n_tokens) {
		snprintf(err, errlen, "%s: no tokens in it", path);
		return -EINVAL;
	}
	return 0;
}

const char *sc_api_agent_token(const sc_api *a)
{
	for (size_t i = 0; i < a->n_tokens; i++)
		if (a->tokens[i].role == ROLE_AGENT)
			return a->tokens[i].token;
	return NULL;
}

/* True if the request may go on; otherwise it has been answered. */
static bool authorized(sc_api *a, sc_http_request *req, int need)
{
	if (a->dev) {
		if (sc_http_peer_is_loopback(req))
			return true;
		sc_http_reply_error(req, 403,
				    "development mode (no --tokens-file): loopback clients only");
		return false;
	}
	if (need < 0)
		return true; /* open: /metrics, /healthz, /readyz */
	if (!sc_http_header(req, "Authorization")) {
		sc_http_add_header(req, "WWW-Authenticate", "Bearer");
		sc_http_reply_error(req, 401, "missing bearer token (Authorization: Bearer TOKEN)");
		return false;
	}
	int found = -1;
	for (size_t i = 0; i < a->n_tokens; i++)
		if (sc_http_bearer_ok(req, a->tokens[i].token) && found < 0)
			found = (int)a->tokens[i].role;
	if (found < 0) {
		sc_http_add_header(req, "WWW-Authenticate", "Bearer");
		sc_http_reply_error(req, 401, "wrong bearer token");
		return false;
	}
	if (found != need) {
		sc_http_reply_error(req, 403, "this route needs an %s token, not an %s token",
				    need == ROLE_AGENT ? "agent" : "operator",
				    found == ROLE_AGENT ? "agent" : "operator");
		return false;
	}
	return true;
}

/* ---- handing over to the engine */

static void call_engine(sc_api *a, sc_http_request *req, sc_engine_req *r)
{
	int rc = sc_engine_call(a->engine, r);

	if (rc == -EAGAIN) {
		sc_http_add_header(req, "Retry-After", "1");
		sc_http_reply_error(req, 503, "the scaler is busy; retry");
		return;
	}
	if (rc < 0) {
		sc_http_reply_error(req, 503, "the scaler is shutting down");
		return;
	}
	if (r->text) {
		sc_http_reply_static(req, r->status, "text/plain; version=0.0.4", r->text,
				     r->text_len, free, r->text);
		return;
	}
	sc_http_reply_json(req, r->status, r->reply);
}

/* ---- validation */

static bool id_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n >= max || s[0] == '.')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* janus://HOST:PORT/ROOM or whep+http(s)://HOST/PATH. */
static int check_conference(const char *c, char *err, size_t errlen)
{
	char http[1100], norm[1200];

	if (strlen(c) > 1000 || !printable(c)) {
		snprintf(err, errlen, "conference: at most 1000 printable characters, no spaces");
		return -EINVAL;
	}
	if (!strncmp(c, "janus://", 8)) {
		snprintf(http, sizeof(http), "http://%s", c + 8);
		const char *path = strchr(c + 8, '/');
		if (!path || !path[1] || strchr(path + 1, '/') || strchr(path, '?')) {
			snprintf(err, errlen, "conference: want janus://HOST:PORT/ROOM");
			return -EINVAL;
		}
	} else if (!strncmp(c, "whep+http://", 12) || !strncmp(c, "whep+https://", 13)) {
		snprintf(http, sizeof(http), "%s", c + 5);
	} else {
		snprintf(err, errlen,
			 "conference: want janus://HOST:PORT/ROOM or whep+http(s)://HOST/PATH");
		return -EINVAL;
	}
	const char *host = strstr(http, "://") + 3;
	if (!*host || *host == '/' || *host == ':' ||
	    sc_url_normalize(http, norm, sizeof(norm)) < 0) {
		snprintf(err, errlen, "conference: not a well-formed URL");
		return -EINVAL;
	}
	return 0;
}

static int check_destination(const char *d, char *err, size_t errlen)
{
	sc_rtmp_url u;
	char norm[SC_URL_MAX];

	if (strlen(d) > 1000 || !printable(d) || sc_rtmp_url_parse(d, &u) < 0 ||
	    sc_url_normalize(d, norm, sizeof(norm)) < 0) {
		snprintf(err, errlen, "destination: want rtmp(s)://HOST[:PORT]/APP/KEY");
		return -EINVAL;
	}
	explicit_bzero(norm, sizeof(norm));
	if (!u.app[0] || !u.name[0]) {
		snprintf(err, errlen,
			 "destination: the URL needs an application and a stream "
			 "key (rtmp://HOST/APP/KEY)");
		explicit_bzero(&u, sizeof(u));
		return -EINVAL;
	}
	explicit_bzero(&u, sizeof(u));
	return 0;
}

static void body_hash(json_t *o, char out[SC_KEY_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	memset(out, 0, SC_KEY_HEX);
	if (!s || EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1) {
		free(s);
		return;
	}
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
}

static json_t *parse_body(sc_http_request *req, const char *const *fields)
{
	char err[300];
	size_t len;
	const char *body = sc_http_body(req, &len);
	json_t *o = sc_json_parse_object(body, len, err, sizeof(err));

	if (!o) {
		sc_http_reply_error(req, 400, "%s", err);
		return NULL;
	}
	if (sc_json_check_fields(o, fields, err, sizeof(err)) < 0) {
		json_decref(o);
		sc_http_reply_error(req, 400, "%s", err);
		return NULL;
	}
	return o;
}

/* ---- handlers */

static void start_stream(sc_api *a, sc_http_request *req)
{
	static const char *const fields[] = {"name",   "conference", "destination", "profile",
					     "layout", "takeover",   NULL};
	char err[300];
	sc_engine_req r = {.kind = SC_REQ_START};
	const char *key = sc_http_header(req, "Idempotency-Key");

	if (!key || !key[0]) {
		sc_http_reply_error(req, 400,
				    "missing Idempotency-Key header (any unique string "
				    "per start, reused on retries)");
		return;
	}
	if (strlen(key) > 200 || !printable(key)) {
		sc_http_reply_error(req, 400, "Idempotency-Key: 1 to 200 printable characters");
		return;
	}
	json_t *o = parse_body(req, fields);
	if (!o)
		return;
	int rc = 0;
	rc = rc ?: sc_json_get_string(o, "name", true, &r.start.name, err, sizeof(err));
	rc = rc ?: sc_json_get_string(o, "conference", true, &r.start.conference, err, sizeof(err));
	rc = rc
		     ?: sc_json_get_string(o, "destination", true, &r.start.destination, err,
					   sizeof(err));
	if (rc == 0 &&
	    sc_json_get_string(o, "profile", false, &r.start.profile, err, sizeof(err)) == -EINVAL)
		rc = -EINVAL;
	if (rc == 0 &&
	    sc_json_get_string(o, "layout", false, &r.start.layout, err, sizeof(err)) == -EINVAL)
		rc = -EINVAL;
	if (rc == 0 &&
	    sc_json_get_bool(o, "takeover", false, &r.start.takeover, err, sizeof(err)) == -EINVAL)
		rc = -EINVAL;
	if (rc == 0 && !sc_stream_name_valid(r.start.name)) {
		snprintf(err, sizeof(err),
			 "name: 1 to 128 of A-Z a-z 0-9 . _ - (not starting with '.')");
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = check_conference(r.start.conference, err, sizeof(err));
	if (rc == 0)
		rc = check_destination(r.start.destination, err, sizeof(err));
	if (rc == 0 && r.start.profile && (!id_ok(r.start.profile, 16))) {
		snprintf(err, sizeof(err), "profile: 1 to 15 of A-Z a-z 0-9 . _ -");
		rc = -EINVAL;
	}
	if (rc == 0 && r.start.layout &&
	    (!r.start.layout[0] || strlen(r.start.layout) >= 160 || !printable(r.start.layout))) {
		snprintf(err, sizeof(err), "layout: 1 to 159 printable characters, no spaces");
		rc = -EINVAL;
	}
	if (rc < 0) {
		json_decref(o);
		sc_http_reply_error(req, 400, "%s", err);
		return;
	}
	r.start.idem_key = key;
	body_hash(o, r.start.body_hash);
	if (!r.start.body_hash[0]) {
		json_decref(o);
		sc_http_reply_error(req, 500, "out of memory");
		return;
	}
	call_engine(a, req, &r);
	json_decref(o);
}

static void heartbeat(sc_api *a, sc_http_request *req)
{
	static const char *const fields[] = {"instance", "slots", "captures", NULL};
	static const char *const cap_fields[] = {"stream", "fence", "state", "reason", NULL};
	sc_cap_report caps[SC_HB_MAX_CAPTURES];
	sc_engine_req r = {.kind = SC_REQ_HEARTBEAT};
	char err[300];
	long long slots = 1;
	json_t *list = NULL;

	json_t *o = parse_body(req, fields);
	if (!o)
		return;
	int rc = sc_json_get_string(o, "instance", true, &r.hb.instance, err, sizeof(err));
	if (rc == 0 && !id_ok(r.hb.instance, SC_ID_MAX)) {
		snprintf(err, sizeof(err), "instance: 1 to 63 of A-Z a-z 0-9 . _ -");
		rc = -EINVAL;
	}
	if (rc == 0 && sc_json_get_int(o, "slots", false, &slots, err, sizeof(err)) == -EINVAL)
		rc = -EINVAL;
	if (rc == 0 && (slots < 0 || slots > 64)) {
		snprintf(err, sizeof(err), "slots: 0 to 64");
		rc = -EINVAL;
	}
	list = json_object_get(o, "captures");
	if (rc == 0 && list && !json_is_array(list)) {
		snprintf(err, sizeof(err), "field \"captures\" must be an array");
		rc = -EINVAL;
	}
	if (rc == 0 && json_array_size(list) > SC_HB_MAX_CAPTURES) {
		snprintf(err, sizeof(err), "captures: at most %d", SC_HB_MAX_CAPTURES);
		rc = -EINVAL;
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i);
		sc_cap_report *cr = &caps[i];
		const char *stream, *state, *reason = "";
		long long fence;
		memset(cr, 0, sizeof(*cr));
		if (!json_is_object(c)) {
			snprintf(err, sizeof(err), "captures[%zu] must be an object", i);
			rc = -EINVAL;
			break;
		}
		rc = rc ?: sc_json_check_fields(c, cap_fields, err, sizeof(err));
		rc = rc ?: sc_json_get_string(c, "stream", true, &stream, err, sizeof(err));
		rc = rc ?: sc_json_get_int(c, "fence", true, &fence, err, sizeof(err));
		rc = rc ?: sc_json_get_string(c, "state", true, &state, err, sizeof(err));
		if (rc == 0 &&
		    sc_json_get_string(c, "reason", false, &reason, err, sizeof(err)) == -EINVAL)
			rc = -EINVAL;
		if (rc == 0 && !id_ok(stream, SC_ID_MAX)) {
			snprintf(err, sizeof(err), "captures[%zu].stream: not a stream id", i);
			rc = -EINVAL;
		}
		if (rc == 0 && fence < 0) {
			snprintf(err, sizeof(err), "captures[%zu].fence: must not be negative", i);
			rc = -EINVAL;
		}
		if (rc == 0 && sc_cap_state_parse(state, &cr->state) < 0) {
			snprintf(err, sizeof(err),
				 "captures[%zu].state: one of starting, live, stopped, failed", i);
			rc = -EINVAL;
		}
		if (rc == 0) {
			snprintf(cr->stream, sizeof(cr->stream), "%s", stream);
			cr->fence = (uint64_t)fence;
			/* Reasons are free text: kept short and printable. */
			size_t k = 0;
			for (; reason[k] && k < sizeof(cr->reason) - 1; k++)
				cr->reason[k] = (unsigned char)reason[k] < 0x20 ? ' ' : reason[k];
			cr->reason[k] = 0;
		}
	}
	if (rc < 0) {
		json_decref(o);
		sc_http_reply_error(req, 400, "%s", err);
		return;
	}
	r.hb.slots = (int)slots;
	r.hb.caps = caps;
	r.hb.n_caps = json_array_size(list);
	call_engine(a, req, &r);
	json_decref(o);
}

static void put_pool(sc_api *a, sc_http_request *req)
{
	static const char *const fields[] = {"min", "max", "spare", NULL};
	static const char *const names[] = {"min", "max", "spare"};
	sc_engine_req r = {.kind = SC_REQ_POOL_GET};
	long long v[3];
	char err[300];

	json_t *o = parse_body(req, fields);
	if (!o)
		return;
	/* Missing fields keep their value: read the pool first. */
	if (sc_engine_call(a->engine, &r) < 0 || r.status != 200) {
		json_decref(o);
		json_decref(r.reply);
		sc_http_reply_error(req, 503, "the scaler is busy; retry");
		return;
	}
	v[0] = json_integer_value(json_object_get(r.reply, "min"));
	v[1] = json_integer_value(json_object_get(r.reply, "max"));
	v[2] = json_integer_value(json_object_get(r.reply, "spare"));
	json_decref(r.reply);
	for (int i = 0; i < 3; i++) {
		int rc = sc_json_get_int(o, names[i], false, &v[i], err, sizeof(err));
		if (rc == -EINVAL || v[i] < 0 || v[i] > 10000) {
			json_decref(o);
			if (rc != -EINVAL)
				snprintf(err, sizeof(err), "%s: 0 to 10000", names[i]);
			sc_http_reply_error(req, 400, "%s", err);
			return;
		}
	}
	json_decref(o);
	if (v[0] > v[1]) {
		sc_http_reply_error(req, 400, "min (%lld) is above max (%lld)", v[0], v[1]);
		return;
	}
	sc_engine_req w = {.kind = SC_REQ_POOL_PUT,
			   .pool = {.min = (int)v[0], .max = (int)v[1], .spare = (int)v[2]}};
	call_engine(a, req, &w);
}

static bool no_body(sc_http_request *req)
{
	size_t len;
	sc_http_body(req, &len);
	if (len == 0)
		return true;
	sc_http_reply_error(req, 400, "this request takes no body");
	return false;
}

static void method_not_allowed(sc_http_request *req, const char *allow)
{
	sc_http_add_header(req, "Allow", allow);
	sc_http_reply_error(req, 405, "use %s here", allow);
}

static void route_v1(sc_api *a, sc_http_request *req, const char *path, const char *method)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	sc_engine_req r = {0};

	if (!strcmp(path, "/v1/agent/heartbeat")) {
		if (!post) {
			method_not_allowed(req, "POST");
			return;
		}
		if (authorized(a, req, ROLE_AGENT))
			heartbeat(a, req);
		return;
	}
	if (!authorized(a, req, ROLE_OPERATOR))
		return;
	if (!strcmp(path, "/v1/streams")) {
		if (post) {
			start_stream(a, req);
			return;
		}
		if (!get) {
			method_not_allowed(req, "GET, POST");
			return;
		}
		const char *act = sc_http_query(req, "active");
		r.kind = SC_REQ_LIST;
		r.active_only = act && (!strcmp(act, "1") || !strcmp(act, "true"));
		call_engine(a, req, &r);
		return;
	}
	if (!strncmp(path, "/v1/streams/", 12)) {
		r.id = path + 12;
		if (!id_ok(r.id, SC_ID_MAX)) {
			sc_http_reply_error(req, 400, "bad stream id");
			return;
		}
		if (get)
			r.kind = SC_REQ_GET;
		else if (!strcmp(method, "DELETE"))
			r.kind = SC_REQ_STOP;
		else {
			method_not_allowed(req, "GET, DELETE");
			return;
		}
		if (r.kind == SC_REQ_STOP && !no_body(req))
			return;
		call_engine(a, req, &r);
		return;
	}
	if (!strcmp(path, "/v1/instances")) {
		if (!get) {
			method_not_allowed(req, "GET");
			return;
		}
		r.kind = SC_REQ_INSTANCES;
		call_engine(a, req, &r);
		return;
	}
	if (!strncmp(path, "/v1/instances/", 14)) {
		char id[SC_ID_MAX + 1];
		const char *rest = path + 14;
		size_t n = strcspn(rest, "/");
		if (n >= sizeof(id) || strcmp(rest + n, "/drain")) {
			sc_http_reply_error(req, 404, "no such API path");
			return;
		}
		memcpy(id, rest, n);
		id[n] = 0;
		if (!id_ok(id, SC_ID_MAX)) {
			sc_http_reply_error(req, 400, "bad instance id");
			return;
		}
		if (!post) {
			method_not_allowed(req, "POST");
			return;
		}
		r.kind = SC_REQ_DRAIN;
		r.id = id;
		call_engine(a, req, &r);
		return;
	}
	if (!strcmp(path, "/v1/pool")) {
		if (!strcmp(method, "PUT")) {
			put_pool(a, req);
			return;
		}
		if (!get) {
			method_not_allowed(req, "GET, PUT");
			return;
		}
		r.kind = SC_REQ_POOL_GET;
		call_engine(a, req, &r);
		return;
	}
	if (!strcmp(path, "/v1/events")) {
		if (!get) {
			method_not_allowed(req, "GET");
			return;
		}
		const char *lim = sc_http_query(req, "limit");
		r.kind = SC_REQ_EVENTS;
		r.limit = 100;
		if (lim) {
			char *end;
			long v = strtol(lim, &end, 10);
			if (!*lim || *end || v < 1 || v > 1000) {
				sc_http_reply_error(req, 400, "limit: 1 to 1000");
				return;
			}
			r.limit = (size_t)v;
		}
		call_engine(a, req, &r);
		return;
	}
	sc_http_reply_error(req, 404, "no such API path (see scaler/openapi.yaml)");
}

static void on_request(sc_http_request *req, void *userdata)
{
	sc_api *a = userdata;
	const char *path = sc_http_path(req), *method = sc_http_method(req);
	sc_engine_req r = {0};

	sc_http_add_header(req, "Cache-Control", "no-store");
	if (!strncmp(path, "/v1/", 4)) {
		route_v1(a, req, path, method);
		return;
	}
	if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics")) {
		if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
			method_not_allowed(req, "GET");
			return;
		}
		if (!authorized(a, req, -1))
			return;
		if (!strcmp(path, "/healthz")) {
			sc_http_reply(req, 200, "text/plain", "ok\n", 3);
			return;
		}
		r.kind = !strcmp(path, "/readyz") ? SC_REQ_READY : SC_REQ_METRICS;
		call_engine(a, req, &r);
		return;
	}
	sc_http_reply_error(req, 404, "no such path");
}

sc_api *sc_api_new(const char *tokens_file, char *err, size_t errlen)
{
	sc_api *a = calloc(1, sizeof(*a));

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->dev = !tokens_file;
	if (tokens_file && load_tokens(a, tokens_file, err, errlen) < 0)
		goto fail;
	return a;
fail:
	sc_api_free(a);
	return NULL;
}

int sc_api_listen(sc_api *a, sc_engine *e, const char *addr, char *err, size_t errlen)
{
	sc_http_config hc = {
		.addr = addr,
		.external = false,
		.max_body = SC_API_BODY_MAX,
		.timeout_s = 30,
		.handler = on_request,
		.userdata = a,
	};

	a->engine = e;
	a->http = sc_http_new(&hc, err, errlen);
	return a->http ? 0 : -EADDRNOTAVAIL;
}

void sc_api_free(sc_api *a)
{
	if (!a)
		return;
	sc_http_free(a->http);
	for (size_t i = 0; i < a->n_tokens; i++) {
		OPENSSL_cleanse(a->tokens[i].token, strlen(a->tokens[i].token));
		free(a->tokens[i].token);
	}
	free(a);
}
