/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.c - the relay's HTTP side, run on the event loop: libmicrohttpd in
 * external mode, its epoll fd watched by a uv_poll, its timeouts by a
 * uv_timer. Serves HLS from memory, or a segment whose parts are gone from
 * its file by sendfile (the loop opens files, never reads them), the
 * widget page, /metrics, /healthz, and hands /v1 to api.c.
 *
 * LL-HLS: a playlist request with _HLS_msn (and _HLS_part) is held until
 * the playlist has that part, a request for the part named in the preload
 * hint until it exists; both at most three target durations.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay.h"
#include "url.h"
#include "www.h"

#define CORS "Access-Control-Allow-Origin"

static void on_http_timer(uv_timer_t *t);

static void rearm(sc_relay *r)
{
	int64_t ms = sc_http_timeout_ms(r->http);
	if (ms < 0 || ms > 1000)
		ms = 1000;
	uv_timer_start(&r->http_timer, on_http_timer, (uint64_t)ms, 0);
}

static void on_http_timer(uv_timer_t *t)
{
	sc_relay *r = t->data;
	sc_http_run(r->http);
	rearm(r);
}

static void on_http_poll(uv_poll_t *p, int status, int events)
{
	sc_relay *r = p->data;
	sc_http_run(r->http);
	rearm(r);
}

/* ---- HLS */

static void body_release(void *cls)
{
	sc_hls_body_free(cls);
}

/* Sends body (and lets it go): from memory, or an fd from its file. */
static void reply_body(sc_http_request *req, sc_hls_body *b)
{
	if (b->fd >= 0) {
		int fd = b->fd;

		b->fd = -1;
		sc_http_reply_fd(req, 200, b->mime, fd, b->len);
		sc_hls_body_free(b);
		return;
	}
	if (b->nblobs == 1) {
		sc_http_reply_static(req, 200, b->mime, b->blobs[0]->data, b->blobs[0]->len,
				     body_release, b);
		return;
	}
	struct iovec *iov = calloc(b->nblobs ? b->nblobs : 1, sizeof(*iov));
	if (!iov) {
		sc_hls_body_free(b);
		sc_http_reply_error(req, 500, "out of memory");
		return;
	}
	for (size_t i = 0; i < b->nblobs; i++)
		iov[i] = (struct iovec){.iov_base = b->blobs[i]->data, .iov_len = b->blobs[i]->len};
	sc_http_reply_iov(req, 200, b->mime, iov, b->nblobs, body_release, b);
	free(iov);
}

/* "12", "12.3" etc: a file name inside a stream folder, nothing else. */
static bool safe_file_name(const char *f)
{
	size_t n = strlen(f);
	if (n == 0 || n > 64 || f[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(f[i] >= 'a' && f[i] <= 'z') && !(f[i] >= 'A' && f[i] <= 'Z') &&
		    !(f[i] >= '0' && f[i] <= '9') && f[i] != '.' && f[i] != '-' && f[i] != '_')
			return false;
	return !strstr(f, "..");
}

static int64_t query_int(const sc_http_request *req, const char *key)
{
	const char *v = sc_http_query(req, key);
	if (!v || !*v)
		return -1;
	char *end;
	long long x = strtoll(v, &end, 10);
	return *end || x < 0 ? -2 : x;
}

static bool serve_hls_file(sc_stream *s, sc_http_request *req, bool timed_out);

/*
 * retry() for waiters. A request answered outside sc_http_run() was
 * resumed; libmicrohttpd sends it on its next run, so run it right away
 * rather than at its next timeout.
 */
static bool serve_hls_retry(sc_stream *s, sc_http_request *req, bool timed_out)
{
	if (!serve_hls_file(s, req, timed_out))
		return false;
	sc_relay *r = sc_stream_relay(s);
	if (r->http && !uv_is_closing((uv_handle_t *)&r->http_timer))
		uv_timer_start(&r->http_timer, on_http_timer, 0, 0);
	return true;
}

/* Answer, or wait for the next playlist change. Returns true if answered. */
static bool serve_hls_file(sc_stream *s, sc_http_request *req, bool timed_out)
{
	const char *file = strrchr(sc_http_path(req), '/') + 1;
	sc_hls *h = sc_stream_hls(s);
	bool playlist = !strcmp(file, "index.m3u8");

	sc_http_add_header(req, CORS, "*");
	if (!h) {
		sc_http_reply_error(req, 404, "no HLS for this stream");
		return true;
	}
	if (playlist) {
		int64_t msn = query_int(req, "_HLS_msn");
		int64_t part = query_int(req, "_HLS_part");
		if (msn == -2 || part == -2 || (part >= 0 && msn < 0)) {
			sc_http_reply_error(req, 400, "bad _HLS_msn/_HLS_part");
			return true;
		}
		if (msn >= 0) {
			int ready = sc_hls_ready(h, msn, part);
			if (ready == -ERANGE) {
				sc_http_reply_error(req, 400, "_HLS_msn is too far ahead");
				return true;
			}
			if (ready == 0 && !timed_out)
				return false;
		}
	}
	sc_hls_body *b;
	int rc = sc_hls_open(h, file, &b);
	if (rc == -EAGAIN && !timed_out)
		return false;
	if (rc < 0) {
		if (timed_out && rc == -EAGAIN)
			sc_http_reply_error(req, 503, "part not ready yet");
		else
			sc_http_reply_error(req, rc == -ENOMEM ? 500 : 404,
					    rc == -ENOMEM ? "out of memory" : "no such file");
		return true;
	}
	sc_http_add_header(req, "Cache-Control",
			   playlist ? "no-cache, no-store" : "public, max-age=60, immutable");
	reply_body(req, b);
	return true;
}

static void route_hls(sc_relay *r, sc_http_request *req, const char *rest)
{
	char name[160];
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : 0;
	if (!slash || n == 0 || n >= sizeof(name) || !safe_file_name(slash + 1)) {
		sc_http_add_header(req, CORS, "*");
		sc_http_reply_error(req, 400, "bad HLS path: want /hls/NAME/FILE");
		return;
	}
	memcpy(name, rest, n);
	name[n] = 0;
	sc_stream *s = sc_stream_name_valid(name) ? sc_stream_find(r, name) : NULL;
	if (!s) {
		sc_http_add_header(req, CORS, "*");
		sc_http_reply_error(req, 404, "no stream \"%s\"", name);
		return;
	}
	if (serve_hls_file(s, req, false))
		return;
	uint64_t wait_us = 3 * (uint64_t)r->cfg.hls_segment_ms * 1000;
	if (sc_stream_wait_hls(s, req, sc_now_us() + wait_us, serve_hls_retry) < 0) {
		sc_http_reply_error(req, 503, "too many waiting requests");
		return;
	}
	sc_http_suspend(req);
}

/* ---- widget and assets */

static const sc_www_file *www_find(const char *name)
{
	for (size_t i = 0; i < sc_www_n_files; i++)
		if (!strcmp(sc_www_files[i].name, name))
			return &sc_www_files[i];
	return NULL;
}

static void reply_www(sc_http_request *req, const char *name)
{
	const sc_www_file *f = www_find(name);
	if (!f) {
		sc_http_reply_error(req, 404, "no such file");
		return;
	}
	sc_http_add_header(req, "Cache-Control", "public, max-age=300");
	sc_http_reply_static(req, 200, f->mime, f->data, f->len, NULL, NULL);
}

/* ---- the rest */

static void reply_metrics(sc_relay *r, sc_http_request *req)
{
	sc_metrics m;
	sc_metrics_init(&m);
	sc_stream_metrics(r, &m);
	sc_metrics_family(&m, "stagecast_relay_publish_refused_total", "counter",
			  "Publishes refused, by reason.");
	for (int i = 0; i < SC_REFUSE_N; i++)
		sc_metrics_sample(&m, "stagecast_relay_publish_refused_total",
				  (const char *[]){"reason", sc_refuse_reason[i], NULL},
				  (double)r->refused[i]);
	sc_metrics_family(&m, "stagecast_relay_connections_total", "counter",
			  "RTMP connections accepted.");
	sc_metrics_sample(&m, "stagecast_relay_connections_total", NULL, (double)r->conns_accepted);
	sc_metrics_family(&m, "stagecast_relay_protocol_errors_total", "counter",
			  "RTMP connections closed for malformed input.");
	sc_metrics_sample(&m, "stagecast_relay_protocol_errors_total", NULL,
			  (double)r->conns_rejected_proto);
	size_t len;
	char *text = sc_metrics_steal(&m, &len);
	if (!text) {
		sc_http_reply_error(req, 500, "out of memory");
		return;
	}
	sc_http_reply_static(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, free,
			     text);
}

static void on_request(sc_http_request *req, void *ud)
{
	sc_relay *r = ud;
	const char *path = sc_http_path(req);
	const char *method = sc_http_method(req);

	if (r->stopping) {
		sc_http_reply_error(req, 503, "shutting down");
		return;
	}
	if (!strncmp(path, "/v1/", 4)) {
		sc_relay_api(r, req, path + 3);
		return;
	}
	if (!strcmp(method, "OPTIONS")) {
		sc_http_add_header(req, CORS, "*");
		sc_http_add_header(req, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
		sc_http_add_header(req, "Access-Control-Max-Age", "86400");
		sc_http_reply(req, 204, NULL, "", 0);
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		sc_http_add_header(req, "Allow", "GET, HEAD, OPTIONS");
		sc_http_reply_error(req, 405, "method not allowed");
		return;
	}
	if (!strncmp(path, "/hls/", 5))
		route_hls(r, req, path + 5);
	else if (!strncmp(path, "/watch/", 7) && sc_stream_name_valid(path + 7))
		reply_www(req, "watch.html");
	else if (!strncmp(path, "/assets/", 8) && safe_file_name(path + 8))
		reply_www(req, path + 8);
	else if (!strcmp(path, "/metrics"))
		reply_metrics(r, req);
	else if (!strcmp(path, "/healthz"))
		sc_http_reply(req, 200, "text/plain", "ok\n", 3);
	else if (!strcmp(path, "/"))
		sc_http_reply(req, 200, "text/plain",
			      "stagecast-relay: /watch/NAME, /hls/NAME/index.m3u8, /v1/streams, "
			      "/metrics\n",
			      77);
	else
		sc_http_reply_error(req, 404, "not found");
}

int sc_relay_http_start(sc_relay *r, char *err, size_t errlen)
{
	sc_http_config hc = {
		.addr = r->cfg.http_addr,
		.external = true,
		.max_body = 64 * 1024,
		.max_conns = 4096,
		.timeout_s = 60,
		.handler = on_request,
		.userdata = r,
	};
	char e[256];
	r->http = sc_http_new(&hc, e, sizeof(e));
	if (!r->http) {
		snprintf(err, errlen, "http: %s", e);
		return -EADDRINUSE;
	}
	uv_poll_init(r->loop, &r->http_poll, sc_http_fd(r->http));
	r->http_poll.data = r;
	uv_poll_start(&r->http_poll, UV_READABLE, on_http_poll);
	uv_timer_init(r->loop, &r->http_timer);
	r->http_timer.data = r;
	rearm(r);
	sc_log_info(NULL, "http listening on %s, watch at http://%s/watch/NAME", r->cfg.http_addr,
		    r->cfg.http_addr);
	return 0;
}

static void on_poll_closed(uv_handle_t *h)
{
	sc_relay *r = h->data;
	/* Every suspended request was answered by sc_stream_free_all(). */
	sc_http_run(r->http);
	sc_http_free(r->http);
	r->http = NULL;
}

void sc_relay_http_stop(sc_relay *r)
{
	if (!r->http)
		return;
	uv_close((uv_handle_t *)&r->http_timer, NULL);
	uv_close((uv_handle_t *)&r->http_poll, on_poll_closed);
}
