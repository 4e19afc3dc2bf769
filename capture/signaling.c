/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signaling.c - the generic signalling object over the ops tables (janus,
 * whep), and the blocking libcurl request both of them use.
 */
#include "signaling.h"
#include "signaling_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct sc_signaling {
	const sc_signaling_ops *ops;
	void *priv;
	bool started, stopped;
};

static const sc_signaling_ops *const all_ops[] = {&sc_signaling_janus, &sc_signaling_whep};

const sc_signaling_ops *sc_signaling_find(const char *url)
{
	size_t i;

	if (!url)
		return NULL;
	for (i = 0; i < sizeof(all_ops) / sizeof(all_ops[0]); i++)
		if (strncasecmp(url, all_ops[i]->scheme, strlen(all_ops[i]->scheme)) == 0)
			return all_ops[i];
	return NULL;
}

sc_signaling *sc_signaling_new(const char *url, const sc_sig_options *opt,
			       const sc_sig_callbacks *cb, char *err, size_t errlen)
{
	const sc_signaling_ops *ops = sc_signaling_find(url);
	sc_signaling *s = NULL;
	char dummy[1];

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (!ops) {
		snprintf(err, errlen,
			 "unsupported conference URL (want janus:// or whep+http(s)://)");
		return NULL;
	}
	if (!cb) {
		snprintf(err, errlen, "no callbacks");
		return NULL;
	}
	if (sc_sig_http_global_init() < 0) {
		snprintf(err, errlen, "libcurl initialisation failed");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->ops = ops;
	s->priv = calloc(1, ops->priv_size);
	if (!s->priv)
		goto fail;
	if (ops->init(s->priv, url, opt, cb, err, errlen) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: bad URL or options", ops->name);
		goto fail;
	}
	return s;
fail:
	if (!err[0])
		snprintf(err, errlen, "out of memory");
	if (s && s->priv)
		ops->deinit(s->priv); /* always, also after a failed init */
	if (s)
		free(s->priv);
	free(s);
	return NULL;
}

int sc_signaling_start(sc_signaling *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->started)
		return -EALREADY;
	r = s->ops->start(s->priv);
	if (r == 0)
		s->started = true;
	return r;
}

int sc_signaling_answer(sc_signaling *s, const char *sdp)
{
	if (!s || !sdp)
		return -EINVAL;
	if (!s->ops->answer)
		return -ENOTSUP;
	return s->ops->answer(s->priv, sdp);
}

int sc_signaling_offer(sc_signaling *s, const char *sdp)
{
	if (!s || !sdp)
		return -EINVAL;
	if (!s->ops->offer)
		return -ENOTSUP;
	return s->ops->offer(s->priv, sdp);
}

int sc_signaling_candidate(sc_signaling *s, const char *mid, const char *candidate)
{
	if (!s)
		return -EINVAL;
	if (!s->ops->candidate)
		return -ENOTSUP;
	return s->ops->candidate(s->priv, mid, candidate);
}

void sc_signaling_free(sc_signaling *s)
{
	if (!s)
		return;
	if (s->started && !s->stopped)
		s->ops->stop(s->priv);
	s->stopped = true;
	s->ops->deinit(s->priv);
	free(s->priv);
	free(s);
}

const char *sc_signaling_name(const sc_signaling *s)
{
	return s ? s->ops->name : NULL;
}

/* ------------------------------------------------------------ HTTP */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

int sc_sig_http_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return curl_init_result;
}

long long sc_sig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sc_sig_http_resp_init(sc_sig_http_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	sc_buf_init(&resp->body, SC_SIG_HTTP_MAX_BODY);
}

void sc_sig_http_resp_free(sc_sig_http_resp *resp)
{
	if (resp)
		sc_buf_free(&resp->body);
}

typedef struct {
	sc_sig_http_resp *resp;
	bool too_big;
} http_ctx;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	http_ctx *ctx = ud;

	/* Room for the NUL added at the end. */
	if (n && sc_buf_append(&ctx->resp->body, p, size * n) < 0) {
		ctx->too_big = true;
		return 0;
	}
	return size * n;
}

/* Copy a header value, trimmed; control characters end it. */
static void header_value(const char *p, size_t n, char *out, size_t outlen)
{
	size_t i = 0;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= outlen) {
		out[0] = '\0'; /* too long: treated as absent */
		return;
	}
	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
			out[0] = '\0';
			return;
		}
		out[i] = p[i];
	}
	out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	http_ctx *ctx = ud;
	size_t len = size * n;

	/* A new status line (redirects are off, but 100 Continue): reset. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		ctx->resp->location[0] = '\0';
		ctx->resp->content_type[0] = '\0';
	} else if (len > 9 && strncasecmp(p, "location:", 9) == 0) {
		header_value(p + 9, len - 9, ctx->resp->location, sizeof(ctx->resp->location));
	} else if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
		header_value(p + 13, len - 13, ctx->resp->content_type,
			     sizeof(ctx->resp->content_type));
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_bool *abort_flag = ud;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return abort_flag && atomic_load(abort_flag) ? 1 : 0;
}

static int map_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

int sc_sig_http(CURL *c, const sc_sig_http_req *req, sc_sig_http_resp *resp)
{
	struct curl_slist *hdrs = NULL, *t;
	http_ctx ctx = {.resp = resp};
	char line[2200];
	CURLcode rc;
	int r = 0;

	sc_buf_reset(&resp->body);
	resp->status = 0;
	resp->location[0] = resp->content_type[0] = resp->error[0] = '\0';
	curl_easy_reset(c);
	if (req->content_type) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
		if (!(t = curl_slist_append(hdrs, line)))
			goto oom;
		hdrs = t;
	}
	if (req->accept) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		if (!(t = curl_slist_append(hdrs, line)))
			goto oom;
		hdrs = t;
	}
	if (req->bearer) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->bearer);
		if (!(t = curl_slist_append(hdrs, line)))
			goto oom;
		hdrs = t;
	}
	/* No "Expect: 100-continue" round trip for SDP bodies. */
	if (!(t = curl_slist_append(hdrs, "Expect:")))
		goto oom;
	hdrs = t;

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &ctx);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, resp->error);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)req->abort);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "stagecast-capture");
	if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(req->body ? req->body_len : 0));
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		} else if (strcmp(req->method, "DELETE") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
		}
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		if (ctx.too_big) {
			r = -EMSGSIZE;
			snprintf(resp->error, sizeof(resp->error), "response over %d bytes",
				 SC_SIG_HTTP_MAX_BODY);
		} else {
			r = map_curl_error(rc);
			if (!resp->error[0])
				snprintf(resp->error, sizeof(resp->error), "%s",
					 curl_easy_strerror(rc));
		}
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (resp->body.len && sc_buf_append_u8(&resp->body, 0) == 0)
			resp->body.len--; /* NUL-terminated, not counted */
		else if (resp->body.len) {
			r = -EMSGSIZE;
			snprintf(resp->error, sizeof(resp->error), "response too large");
		}
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return r;
oom:
	curl_slist_free_all(hdrs);
	snprintf(resp->error, sizeof(resp->error), "out of memory");
	return -ENOMEM;
}
