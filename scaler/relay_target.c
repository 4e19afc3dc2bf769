/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay_target.c - see relay_target.h.
 */
#include "relay_target.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define BODY_MAX	  (64 * 1024)
#define LIST_BODY_MAX	  (4 * 1024 * 1024) /* a relay's --max-streams worth of JSON */
#define CHANGE_TIMEOUT_MS 2000L
#define LIST_TIMEOUT_MS	  1500L

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	sc_buf *b = cls;
	size_t len = size * n;
	return sc_buf_append(b, p, len) < 0 ? 0 : len;
}

/* One call; 0 with the HTTP status in *ret_status, body in b. */
static int call(const char *method, const char *url, const char *token, const char *body,
		long timeout_ms, long *ret_status, sc_buf *b, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char auth[1100];
	int rc = 0;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	if (token && token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "relay API: %s", curl_easy_strerror(cc));
		rc = -EIO;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

static void error_of(const sc_buf *b, long status, char *err, size_t errlen)
{
	json_t *o = json_loadb((const char *)b->data, b->len, 0, NULL);
	const char *msg = json_string_value(json_object_get(o, "error"));
	snprintf(err, errlen, "relay API: HTTP %ld%s%s", status, msg ? ": " : "", msg ? msg : "");
	json_decref(o);
}

int sc_relay_target_add(const char *api, const char *token, const char *name, const char *url,
			char *ret_id, size_t idlen, bool *ret_created, char *err, size_t errlen)
{
	char u[1024];
	long status = 0;
	sc_buf b;
	int rc;

	snprintf(u, sizeof(u), "%s/v1/streams/%s/targets", api, name);
	json_t *req = json_pack("{s:s}", "url", url);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sc_buf_init(&b, BODY_MAX);
	rc = call("POST", u, token, body, CHANGE_TIMEOUT_MS, &status, &b, err, errlen);
	free(body);
	if (rc < 0)
		goto out;
	if (status == 201) {
		json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
		const char *id = json_string_value(json_object_get(o, "id"));
		if (id && strlen(id) < idlen) {
			snprintf(ret_id, idlen, "%s", id);
			if (ret_created)
				*ret_created = true;
		} else
			rc = -EBADMSG;
		if (rc < 0)
			snprintf(err, errlen, "relay API: a 201 without a target id");
		json_decref(o);
		goto out;
	}
	if (status == 409) {
		/* "already a target of this stream (t3)": adopt it. */
		json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
		const char *msg = json_string_value(json_object_get(o, "error"));
		const char *p = msg ? strstr(msg, "already a target of this stream (") : NULL;
		char id[32];
		if (p && sscanf(p + 33, "%31[A-Za-z0-9_-])", id) == 1 && strlen(id) < idlen) {
			snprintf(ret_id, idlen, "%s", id);
			if (ret_created)
				*ret_created = false;
			json_decref(o);
			goto out;
		}
		json_decref(o);
	}
	error_of(&b, status, err, errlen);
	rc = status >= 400 && status < 500 ? -EINVAL : -EIO;
out:
	sc_buf_free(&b);
	return rc;
}

int sc_relay_target_del(const char *api, const char *token, const char *name, const char *id,
			char *err, size_t errlen)
{
	char u[1024];
	long status = 0;
	sc_buf b;

	snprintf(u, sizeof(u), "%s/v1/streams/%s/targets/%s", api, name, id);
	sc_buf_init(&b, BODY_MAX);
	int rc = call("DELETE", u, token, NULL, CHANGE_TIMEOUT_MS, &status, &b, err, errlen);
	if (rc == 0 && status != 204 && status != 200 && status != 404) {
		error_of(&b, status, err, errlen);
		rc = status >= 400 && status < 500 ? -EINVAL : -EIO;
	}
	sc_buf_free(&b);
	return rc;
}

/* The runtime targets of one stream object of the list, appended to *v. */
static int collect(json_t *stream, sc_relay_target_ref **v, size_t *n, size_t *cap)
{
	const char *name = json_string_value(json_object_get(stream, "name"));
	json_t *targets = json_object_get(stream, "targets");
	size_t i;
	json_t *t;

	if (!name || strlen(name) >= sizeof((*v)->name) || !json_is_array(targets))
		return -EBADMSG;
	json_array_foreach(targets, i, t)
	{
		const char *id = json_string_value(json_object_get(t, "id"));
		if (!id || strlen(id) >= sizeof((*v)->id))
			return -EBADMSG;
		if (json_is_true(json_object_get(t, "template")))
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 16;
			sc_relay_target_ref *nv = reallocarray(*v, ncap, sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = ncap;
		}
		snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
		snprintf((*v)[*n].id, sizeof((*v)[*n].id), "%s", id);
		(*n)++;
	}
	return 0;
}

int sc_relay_targets_list(const char *api, const char *token, sc_relay_target_ref **ret,
			  size_t *ret_n, char *err, size_t errlen)
{
	char u[1024];
	long status = 0;
	sc_buf b;
	sc_relay_target_ref *v = NULL;
	size_t n = 0, cap = 0;
	json_t *o = NULL;

	snprintf(u, sizeof(u), "%s/v1/streams", api);
	sc_buf_init(&b, LIST_BODY_MAX);
	int rc = call("GET", u, token, NULL, LIST_TIMEOUT_MS, &status, &b, err, errlen);
	if (rc < 0)
		goto out;
	if (status != 200) {
		error_of(&b, status, err, errlen);
		rc = -EIO;
		goto out;
	}
	o = json_loadb((const char *)b.data, b.len, 0, NULL);
	json_t *streams = json_object_get(o, "streams");
	size_t i;
	json_t *s;
	if (!json_is_array(streams)) {
		rc = -EBADMSG;
		goto bad;
	}
	json_array_foreach(streams, i, s)
	{
		rc = collect(s, &v, &n, &cap);
		if (rc < 0)
			goto bad;
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
	goto out;
bad:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else
		snprintf(err, errlen, "relay API: GET /v1/streams: not a stream list");
out:
	json_decref(o);
	free(v);
	sc_buf_free(&b);
	return rc;
}
