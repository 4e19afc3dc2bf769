/* SPDX-License-Identifier: Apache-2.0 */
/*
 * etcd.c - an etcd v3 client over the JSON gRPC gateway; see etcd.h.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "etcd.h"

#define ETCD_MAX_EPS	    16
#define ETCD_RESP_MAX	    (32u << 20) /* one response body */
#define ETCD_CONNECT_MS	    1000L
#define ETCD_TOTAL_MS	    3000L
#define ETCD_CALL_BUDGET_MS 6000 /* all the attempts of one call */

struct sc_etcd {
	CURL *curl;
	struct curl_slist *headers;
	char eps[ETCD_MAX_EPS][272];
	bool beta[ETCD_MAX_EPS]; /* the endpoint serves /v3beta only */
	size_t n_eps, cur;
	sc_buf resp;
};

void sc_etcd_kvs_free(sc_etcd_kv *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

/* ---------------------------------------------------------------- codecs */

static char *b64_encode(const void *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* Strict: the padded standard alphabet only; no NUL bytes in the result. */
static int b64_decode(const char *s, char **ret)
{
	size_t n = strlen(s), pad = 0;
	char *out;
	int len = 0;

	if (n % 4 || n > ETCD_RESP_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=' && i + 2 >= n && (i + 1 == n || s[i + 1] == '='))
			pad++;
		else if (!isalnum(c) && c != '+' && c != '/')
			return -EBADMSG;
	}
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	if (n)
		len = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	if (len < 0 || (size_t)len < pad) {
		free(out);
		return -EBADMSG;
	}
	len -= (int)pad;
	out[len] = '\0';
	if (strlen(out) != (size_t)len) {
		free(out);
		return -EBADMSG;
	}
	*ret = out;
	return 0;
}

/* An int64 member: a decimal string or a JSON integer; absent means 0. */
static int get_i64(const json_t *obj, const char *name, int64_t *ret)
{
	json_t *v = json_object_get(obj, name);
	const char *s;
	char *end;
	long long x;

	if (!v) {
		*ret = 0;
		return 0;
	}
	if (json_is_integer(v)) {
		*ret = json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s || !*s || strlen(s) > 20)
		return -EBADMSG;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*ret = x;
	return 0;
}

/* ------------------------------------------------------------------ HTTP */

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	return sc_buf_append(user, p, size * n) == 0 ? size * n : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool endpoint_ok(const char *s, size_t n)
{
	const char *colon = memrchr(s, ':', n);
	size_t digits;
	long port;

	if (!colon || colon == s || n >= sizeof(((sc_etcd *)0)->eps[0]))
		return false;
	for (const char *c = s; c < colon; c++)
		if (!isalnum((unsigned char)*c) && !strchr(".-_[]:", *c))
			return false;
	digits = n - (size_t)(colon + 1 - s);
	if (digits < 1 || digits > 5)
		return false;
	port = 0;
	for (const char *c = colon + 1; c < s + n; c++) {
		if (!isdigit((unsigned char)*c))
			return false;
		port = port * 10 + (*c - '0');
	}
	return port >= 1 && port <= 65535;
}

sc_etcd *sc_etcd_new(const char *endpoints, char *err, size_t errlen)
{
	sc_etcd *e = calloc(1, sizeof(*e));
	const char *s = endpoints;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sc_buf_init(&e->resp, ETCD_RESP_MAX);
	while (s && *s) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);

		if (!endpoint_ok(s, n) || e->n_eps == ETCD_MAX_EPS) {
			snprintf(err, errlen,
				 "etcd endpoints must be HOST:PORT[,HOST:PORT...] (at most %d)",
				 ETCD_MAX_EPS);
			goto fail;
		}
		memcpy(e->eps[e->n_eps++], s, n);
		s = comma ? comma + 1 : NULL;
	}
	if (!e->n_eps) {
		snprintf(err, errlen, "no etcd endpoint given");
		goto fail;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e->curl = curl_easy_init();
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (e->headers) /* no "Expect: 100-continue" round trip */
		e->headers = curl_slist_append(e->headers, "Expect:");
	if (!e->curl || !e->headers) {
		snprintf(err, errlen, "cannot set up libcurl");
		goto fail;
	}
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->curl, CURLOPT_PROXY, "");
	curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, ETCD_CONNECT_MS);
	curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, ETCD_TOTAL_MS);
	curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &e->resp);
	curl_easy_setopt(e->curl, CURLOPT_TCP_NODELAY, 1L);
	return e;
fail:
	sc_etcd_free(e);
	return NULL;
}

void sc_etcd_free(sc_etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->headers);
	sc_buf_free(&e->resp);
	free(e);
}

static bool curl_transient(CURLcode c)
{
	return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT ||
	       c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
	       c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE;
}

/* One POST to the current endpoint: 0 with *ret, 1 to try the next
 * endpoint, 2 to retry this one under the other prefix, or -errno. */
static int post_once(sc_etcd *e, const char *path, const char *body, json_t **ret)
{
	char url[400];
	long status = 0;
	CURLcode c;
	json_t *j;
	json_int_t code;

	snprintf(url, sizeof(url), "http://%s%s%s", e->eps[e->cur],
		 e->beta[e->cur] ? "/v3beta" : "/v3", path);
	sc_buf_reset(&e->resp);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
	c = curl_easy_perform(e->curl);
	if (c != CURLE_OK)
		return curl_transient(c) ? 1 : c == CURLE_WRITE_ERROR ? -EMSGSIZE : -EIO;
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	j = json_loadb((const char *)e->resp.data, e->resp.len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		if (status == 404)
			return 2; /* the gateway's router: no such prefix */
		return status >= 500 ? 1 : -EBADMSG;
	}
	if (status == 200 && !json_object_get(j, "error") && !json_object_get(j, "code")) {
		*ret = j;
		return 0;
	}
	/* A gRPC status: 14 unavailable (no leader, leader changed, request
	 * timed out), 4 deadline exceeded: another member may do better. */
	code = json_integer_value(json_object_get(j, "code"));
	if (json_is_object(json_object_get(j, "error"))) /* a streaming call's error */
		code = json_integer_value(
			json_object_get(json_object_get(j, "error"), "grpc_code"));
	json_decref(j);
	if (code == 14 || code == 4 || status >= 500)
		return 1;
	return code == 5 ? -ENOENT : code == 3 ? -EINVAL : -EIO;
}

int sc_etcd_call(sc_etcd *e, const char *path, json_t *req, json_t **ret)
{
	int64_t start = now_ms();
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t tries = 0, max_tries = 2 * e->n_eps + 2;
	int r = -ETIMEDOUT;

	json_decref(req);
	if (!body)
		return -ENOMEM;
	while (tries < max_tries) {
		r = post_once(e, path, body, ret);
		if (r == 2) {
			e->beta[e->cur] = !e->beta[e->cur];
			r = post_once(e, path, body, ret);
			if (r == 2)
				r = -EPROTO;
		}
		if (r != 1)
			break;
		r = -ETIMEDOUT;
		tries++;
		e->cur = (e->cur + 1) % e->n_eps;
		if (tries >= e->n_eps && now_ms() - start > ETCD_CALL_BUDGET_MS)
			break;
		if (tries % e->n_eps == 0) { /* all failed: an election? */
			struct timespec ts = {0, 300 * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	free(body);
	return r;
}

/* ------------------------------------------------------------- requests */

/* o[field] = base64 of s and, with nul, its terminating NUL. */
static int set_b64(json_t *o, const char *field, const char *s, bool nul)
{
	char *b = b64_encode(s, strlen(s) + nul);

	if (!b)
		return -ENOMEM;
	json_object_set_new(o, field, json_string(b));
	free(b);
	return 0;
}

json_t *sc_etcd_key(const char *key, bool prefix)
{
	json_t *o = json_object();
	size_t n = strlen(key);
	char *end = NULL;

	if (!o || !n || set_b64(o, "key", key, false) < 0)
		goto fail;
	if (prefix) {
		end = strdup(key);
		if (!end)
			goto fail;
		end[n - 1]++; /* the first key after every key under the prefix */
		if (set_b64(o, "range_end", end, false) < 0)
			goto fail;
		free(end);
	}
	return o;
fail:
	free(end);
	json_decref(o);
	return NULL;
}

json_t *sc_etcd_op_put(const char *key, const char *value, int64_t lease)
{
	json_t *o = sc_etcd_key(key, false);

	if (!o || set_b64(o, "value", value, false) < 0) {
		json_decref(o);
		return NULL;
	}
	if (lease)
		json_object_set_new(o, "lease", json_sprintf("%" PRId64, lease));
	return json_pack("{s:o}", "request_put", o);
}

json_t *sc_etcd_op_range(const char *key, bool prefix)
{
	return json_pack("{s:o?}", "request_range", sc_etcd_key(key, prefix));
}

json_t *sc_etcd_op_delete(const char *key, bool prefix)
{
	return json_pack("{s:o?}", "request_delete_range", sc_etcd_key(key, prefix));
}

json_t *sc_etcd_op_txn(json_t *txn)
{
	return json_pack("{s:o?}", "request_txn", txn);
}

json_t *sc_etcd_cmp(const char *key, const char *value)
{
	json_t *o = sc_etcd_key(key, false);

	if (!o)
		return NULL;
	json_object_set_new(o, "result", json_string("EQUAL"));
	if (!value) {
		json_object_set_new(o, "target", json_string("CREATE"));
		json_object_set_new(o, "create_revision", json_string("0"));
	} else {
		json_object_set_new(o, "target", json_string("VALUE"));
		if (set_b64(o, "value", value, false) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *sc_etcd_cmp_rev(const char *key, int64_t mod_rev)
{
	json_t *o = sc_etcd_key(key, false);
	char buf[24];

	if (!o)
		return NULL;
	snprintf(buf, sizeof(buf), "%" PRId64, mod_rev);
	json_object_set_new(o, "result", json_string("EQUAL"));
	json_object_set_new(o, "target", json_string(mod_rev ? "MOD" : "CREATE"));
	json_object_set_new(o, mod_rev ? "mod_revision" : "create_revision", json_string(buf));
	return o;
}

json_t *sc_etcd_txn_new(void)
{
	return json_pack("{s:[],s:[],s:[]}", "compare", "success", "failure");
}

void sc_etcd_txn_add(json_t *req, const char *field, json_t *item)
{
	json_array_append_new(json_object_get(req, field), item ? item : json_null());
}

static int header_rev(const json_t *resp, int64_t *ret)
{
	int64_t rev;

	if (get_i64(json_object_get(resp, "header"), "revision", &rev) < 0 || rev <= 0)
		return -EBADMSG;
	*ret = rev;
	return 0;
}

int sc_etcd_txn(sc_etcd *e, json_t *req, bool *ret_ok, int64_t *ret_rev, json_t **ret)
{
	static const char *const fields[] = {"compare", "success", "failure"};
	json_t *resp, *ok, *v;
	int64_t rev;
	size_t i;
	int r;

	for (size_t k = 0; req && k < 3; k++) {
		json_array_foreach(json_object_get(req, fields[k]), i, v)
		{
			if (!json_is_object(v)) { /* an item failed to build */
				json_decref(req);
				return -ENOMEM;
			}
		}
	}
	r = sc_etcd_call(e, "/kv/txn", req, &resp);
	if (r < 0)
		return r;
	ok = json_object_get(resp, "succeeded");
	v = json_object_get(resp, "responses");
	if ((ok && !json_is_boolean(ok)) || (v && !json_is_array(v)) ||
	    header_rev(resp, &rev) < 0) {
		json_decref(resp);
		return -EBADMSG;
	}
	*ret_ok = json_is_true(ok);
	*ret_rev = rev;
	if (ret)
		*ret = resp;
	else
		json_decref(resp);
	return 0;
}

static int parse_kvs(const json_t *rr, sc_etcd_kv **ret, size_t *ret_n)
{
	json_t *kvs = json_object_get(rr, "kvs"), *v;
	size_t n = json_array_size(kvs), i;
	sc_etcd_kv *out;
	int r = 0;

	if (kvs && !json_is_array(kvs))
		return -EBADMSG;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	json_array_foreach(kvs, i, v)
	{
		sc_etcd_kv *kv = &out[i];
		const char *k = json_string_value(json_object_get(v, "key"));
		json_t *val = json_object_get(v, "value");

		if (!json_is_object(v) || !k || (val && !json_is_string(val)))
			r = -EBADMSG;
		if (r >= 0)
			r = b64_decode(k, &kv->key);
		if (r >= 0)
			r = b64_decode(val ? json_string_value(val) : "", &kv->value);
		if (r >= 0)
			r = get_i64(v, "create_revision", &kv->create_rev);
		if (r >= 0)
			r = get_i64(v, "mod_revision", &kv->mod_rev);
		if (r >= 0)
			r = get_i64(v, "lease", &kv->lease);
		if (r >= 0 && (!*kv->key || kv->create_rev <= 0 || kv->mod_rev < kv->create_rev))
			r = -EBADMSG;
		if (r < 0)
			break;
	}
	if (r < 0) {
		sc_etcd_kvs_free(out, n);
		return r;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

int sc_etcd_txn_kvs(const json_t *resp, size_t i, sc_etcd_kv **ret, size_t *ret_n)
{
	json_t *rr = json_object_get(json_array_get(json_object_get(resp, "responses"), i),
				     "response_range");

	if (!json_is_object(rr))
		return -EBADMSG;
	return parse_kvs(rr, ret, ret_n);
}

int sc_etcd_range(sc_etcd *e, const char *key, bool prefix, int64_t limit, bool desc,
		  sc_etcd_kv **ret, size_t *ret_n)
{
	json_t *req = sc_etcd_key(key, prefix), *resp;
	int r;

	if (req && limit)
		json_object_set_new(req, "limit", json_sprintf("%" PRId64, limit));
	if (req && desc) {
		json_object_set_new(req, "sort_order", json_string("DESCEND"));
		json_object_set_new(req, "sort_target", json_string("KEY"));
	}
	r = sc_etcd_call(e, "/kv/range", req, &resp);
	if (r < 0)
		return r;
	r = parse_kvs(resp, ret, ret_n);
	json_decref(resp);
	return r;
}

int sc_etcd_count(sc_etcd *e, const char *prefix, int64_t *ret)
{
	json_t *req = sc_etcd_key(prefix, true), *resp;
	int64_t n;
	int r;

	if (req)
		json_object_set_new(req, "count_only", json_true());
	r = sc_etcd_call(e, "/kv/range", req, &resp);
	if (r < 0)
		return r;
	r = get_i64(resp, "count", &n);
	json_decref(resp);
	if (r < 0 || n < 0)
		return -EBADMSG;
	*ret = n;
	return 0;
}

int sc_etcd_delete_span(sc_etcd *e, const char *from, const char *to)
{
	json_t *req = sc_etcd_key(from, false), *resp;
	int r;

	/* range_end is exclusive: to + "\0" is the key right after to. */
	if (req && set_b64(req, "range_end", to, true) < 0) {
		json_decref(req);
		req = NULL;
	}
	r = sc_etcd_call(e, "/kv/deleterange", req, &resp);
	if (r < 0)
		return r;
	json_decref(resp);
	return 0;
}

/* ---------------------------------------------------------------- leases */

int sc_etcd_lease_grant(sc_etcd *e, int ttl_s, int64_t *ret_id)
{
	json_t *resp;
	int64_t id, ttl;
	int r = sc_etcd_call(e, "/lease/grant", json_pack("{s:I}", "TTL", (json_int_t)ttl_s),
			     &resp);

	if (r < 0)
		return r;
	if (get_i64(resp, "ID", &id) < 0 || get_i64(resp, "TTL", &ttl) < 0 || id <= 0 || ttl <= 0) {
		json_decref(resp);
		return -EBADMSG;
	}
	json_decref(resp);
	*ret_id = id;
	return 0;
}

static json_t *lease_req(int64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, id);
	return json_pack("{s:s}", "ID", buf);
}

int sc_etcd_lease_keepalive(sc_etcd *e, int64_t id, int64_t *ret_ttl)
{
	json_t *resp, *res;
	int64_t got, ttl;
	int r = sc_etcd_call(e, "/lease/keepalive", lease_req(id), &resp);

	if (r < 0)
		return r;
	/* A streaming call: one message, {"result": {ID, TTL}}; TTL left out
	 * (0) when the lease is gone. */
	res = json_object_get(resp, "result");
	r = -EBADMSG;
	if (json_is_object(res) && get_i64(res, "ID", &got) == 0 &&
	    get_i64(res, "TTL", &ttl) == 0 && (got == id || (got == 0 && ttl == 0)) && ttl >= 0) {
		*ret_ttl = ttl;
		r = 0;
	}
	json_decref(resp);
	return r;
}

int sc_etcd_lease_revoke(sc_etcd *e, int64_t id)
{
	json_t *resp;
	int r = sc_etcd_call(e, "/lease/revoke", lease_req(id), &resp);

	if (r < 0)
		return r == -ENOENT ? 0 : r; /* already gone */
	json_decref(resp);
	return 0;
}
