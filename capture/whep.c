/* SPDX-License-Identifier: Apache-2.0 */
/*
 * whep.c - a WHEP client (RFC 9725) over libcurl.
 *
 *   offer(sdp)   POST URL, Content-Type/Accept application/sdp (Bearer
 *                token when given) -> 201 Created, Location, SDP answer
 *                -> on_answer with a map of the answer's m-sections
 *                (feed "whep", display: the last segment of the URL path)
 *   candidate()  PATCH Location, application/trickle-ice-sdpfrag (RFC
 *                8840); a server that answers 405/501 gets no more
 *   stop         DELETE Location
 *
 * whep+http://... and whep+https://... name the endpoint; the "whep+" goes.
 * Errors are fatal: 401/403 DENIED, 404 NOT_FOUND, no connection
 * UNREACHABLE, anything else PROTOCOL. The requests run on a thread of
 * its own, so offer() and candidate() only queue; stop() returns within
 * about 2 s even when the server hangs.
 */
#include "signaling.h"
#include "signaling_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define WH_MAX_URL	  2048
#define WH_MAX_SDP	  (256 * 1024)
#define WH_MAX_STREAMS	  32
#define WH_MAX_CANDS	  64
#define WH_REQ_TIMEOUT_MS 10000
#define WH_STOP_BUDGET_MS 1500

typedef struct wh_cand {
	struct wh_cand *next;
	char mid[32];
	char *cand; /* NULL: end of candidates */
} wh_cand;

typedef struct {
	char url[WH_MAX_URL];
	char display[128];
	char *bearer;
	long connect_timeout_ms;
	sc_sig_callbacks cb;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sync_init, started;
	pthread_t thread;
	atomic_bool stopping;
	char *offer; /* queued by offer(), taken by the thread */
	bool offered;
	wh_cand *cands, *cands_tail;
	size_t n_cands;

	/* thread only */
	CURL *curl;
	char *our_sdp;
	char location[WH_MAX_URL];
	bool no_trickle;
} whep;

/* whep+http(s)://HOST/PATH -> http(s)://HOST/PATH; display from the path. */
static int wh_parse_url(whep *w, const char *url, char *err, size_t errlen)
{
	const char *p, *host, *last;
	size_t n;

	if (strncasecmp(url, "whep+", 5) != 0)
		goto bad;
	p = url + 5;
	if (strncasecmp(p, "http://", 7) == 0)
		host = p + 7;
	else if (strncasecmp(p, "https://", 8) == 0)
		host = p + 8;
	else
		goto bad;
	if (strlen(p) >= sizeof(w->url) || !*host || *host == '/' || *host == ':')
		goto bad;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '#' || *q == '\\')
			goto bad;
	n = strcspn(host, "/?");
	if (memchr(host, '@', n)) /* no credentials in the URL: use the token */
		goto bad;
	strcpy(w->url, p);
	/* The endpoint's last non-empty path segment names the participant. */
	last = host + n;
	{
		const char *end = last + strcspn(last, "?");
		const char *seg = end;

		while (seg > last && seg[-1] == '/')
			seg--;
		end = seg;
		while (seg > last && seg[-1] != '/')
			seg--;
		n = (size_t)(end - seg);
		if (n == 0) {
			seg = host;
			n = strcspn(host, "/?:");
		}
		if (n >= sizeof(w->display))
			n = sizeof(w->display) - 1;
		memcpy(w->display, seg, n);
		w->display[n] = '\0';
	}
	return 0;
bad:
	snprintf(err, errlen, "bad WHEP URL (want whep+http(s)://HOST/PATH)");
	return -EINVAL;
}

/* The m-sections of an SDP: kind, mid, port 0 = inactive. */
static size_t wh_stream_map(const whep *w, const char *sdp, sc_sig_stream *out, size_t max)
{
	size_t n = 0;
	const char *l = sdp;

	while (*l) {
		size_t len = strcspn(l, "\r\n");

		if (len > 2 && l[0] == 'm' && l[1] == '=') {
			sc_sig_stream *s = &out[n];
			size_t k = strcspn(l + 2, " ");

			if (n == max)
				break;
			memset(s, 0, sizeof(*s));
			if (k < sizeof(s->kind) && k + 2 < len)
				memcpy(s->kind, l + 2, k);
			s->active = !(len > k + 4 && l[k + 3] == '0' && l[k + 4] == ' ');
			strcpy(s->feed, "whep");
			strcpy(s->display, w->display);
			n++;
		} else if (n && len > 6 && strncmp(l, "a=mid:", 6) == 0 && len - 6 < 32) {
			memcpy(out[n - 1].mid, l + 6, len - 6);
			out[n - 1].mid[len - 6] = '\0';
		} else if (n && len == 10 && strncmp(l, "a=inactive", 10) == 0) {
			out[n - 1].active = false;
		}
		l += len;
		l += strspn(l, "\r\n");
	}
	/* Only audio and video, as the header promises. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].kind, "audio") == 0 || strcmp(out[i].kind, "video") == 0)
			out[m++] = out[i];
	return m;
}

static void wh_error(whep *w, sc_sig_error e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void wh_error(whep *w, sc_sig_error e, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->cb.on_error)
		w->cb.on_error(w->cb.ud, e, true, msg);
}

static int wh_resolve(const char *base, const char *loc, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *s = NULL;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK && strlen(s) < outlen &&
	    (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0)) {
		strcpy(out, s);
		r = 0;
	}
	curl_free(s);
	curl_url_cleanup(u);
	return r;
}

/* POST the offer; on_answer or a fatal on_error. */
static int wh_post_offer(whep *w)
{
	sc_sig_http_req req = {.method = "POST", .url = w->url};
	sc_sig_stream streams[WH_MAX_STREAMS];
	sc_sig_http_resp resp;
	const char *body;
	int r;

	req.content_type = req.accept = "application/sdp";
	req.bearer = w->bearer;
	req.body = w->our_sdp;
	req.body_len = strlen(w->our_sdp);
	req.timeout_ms = WH_REQ_TIMEOUT_MS;
	req.connect_timeout_ms = w->connect_timeout_ms;
	req.abort = &w->stopping;
	sc_sig_http_resp_init(&resp);
	r = sc_sig_http(w->curl, &req, &resp);
	body = resp.body.len ? (const char *)resp.body.data : "";
	if (r == -ECANCELED) {
		/* stop() */
	} else if (r < 0) {
		wh_error(w, r == -EMSGSIZE ? SC_SIG_ERR_PROTOCOL : SC_SIG_ERR_UNREACHABLE,
			 "whep: %s", resp.error);
	} else if (resp.status == 401 || resp.status == 403) {
		wh_error(w, SC_SIG_ERR_DENIED, "whep: HTTP %ld (check the token)", resp.status);
	} else if (resp.status == 404) {
		wh_error(w, SC_SIG_ERR_NOT_FOUND, "whep: HTTP 404, no such endpoint");
	} else if (resp.status != 201 && resp.status != 200) {
		wh_error(w, SC_SIG_ERR_PROTOCOL, "whep: HTTP %ld", resp.status);
	} else if (!resp.location[0] ||
		   wh_resolve(w->url, resp.location, w->location, sizeof(w->location)) < 0) {
		wh_error(w, SC_SIG_ERR_PROTOCOL, "whep: no usable Location in the reply");
	} else if (strncmp(body, "v=0", 3) != 0 || resp.body.len > WH_MAX_SDP ||
		   strlen(body) != resp.body.len) {
		wh_error(w, SC_SIG_ERR_PROTOCOL, "whep: the reply is not an SDP answer");
	} else {
		size_t n = wh_stream_map(w, body, streams, WH_MAX_STREAMS);

		if (w->cb.on_answer)
			w->cb.on_answer(w->cb.ud, body, streams, n);
		r = 1;
	}
	sc_sig_http_resp_free(&resp);
	return r == 1 ? 0 : -EPROTO;
}

/* Our ufrag, pwd and the m= line of mid, from our offer. */
static int wh_frag(const whep *w, const wh_cand *c, char *out, size_t outlen)
{
	const char *l = w->our_sdp, *ufrag = NULL, *pwd = NULL, *mline = NULL, *cur = NULL;
	size_t lu = 0, lp = 0, lm = 0, lc = 0;
	int n;

	for (; *l; l += strspn(l, "\r\n")) {
		size_t len = strcspn(l, "\r\n");

		if (strncmp(l, "m=", 2) == 0) {
			cur = l;
			lc = len;
		} else if (!ufrag && strncmp(l, "a=ice-ufrag:", 12) == 0) {
			ufrag = l + 12;
			lu = len - 12;
		} else if (!pwd && strncmp(l, "a=ice-pwd:", 10) == 0) {
			pwd = l + 10;
			lp = len - 10;
		} else if (cur && !mline && strncmp(l, "a=mid:", 6) == 0 &&
			   len - 6 == strlen(c->mid) && strncmp(l + 6, c->mid, len - 6) == 0) {
			mline = cur;
			lm = lc;
		}
		l += len;
	}
	if (!ufrag || !pwd || !mline)
		return -ENOENT;
	n = snprintf(out, outlen,
		     "a=ice-ufrag:%.*s\r\na=ice-pwd:%.*s\r\n%.*s\r\na=mid:%s\r\n%s%s\r\n", (int)lu,
		     ufrag, (int)lp, pwd, (int)lm, mline, c->mid,
		     c->cand ? "a=candidate:" : "a=end-of-candidates",
		     c->cand ? c->cand + (strncmp(c->cand, "candidate:", 10) == 0 ? 10 : 0) : "");
	return n < 0 || (size_t)n >= outlen ? -ENOBUFS : 0;
}

static void wh_patch(whep *w, const wh_cand *c)
{
	sc_sig_http_req req = {.method = "PATCH", .url = w->location};
	sc_sig_http_resp resp;
	char frag[2048];

	if (w->no_trickle || wh_frag(w, c, frag, sizeof(frag)) < 0)
		return;
	req.content_type = "application/trickle-ice-sdpfrag";
	req.bearer = w->bearer;
	req.body = frag;
	req.body_len = strlen(frag);
	req.timeout_ms = WH_REQ_TIMEOUT_MS;
	req.connect_timeout_ms = w->connect_timeout_ms;
	req.abort = &w->stopping;
	sc_sig_http_resp_init(&resp);
	/* Trickle is optional for the server: 405/501 mean "not here". */
	if (sc_sig_http(w->curl, &req, &resp) == 0 &&
	    (resp.status == 405 || resp.status == 501 || resp.status == 415))
		w->no_trickle = true;
	sc_sig_http_resp_free(&resp);
}

static void wh_delete(whep *w)
{
	sc_sig_http_req req = {.method = "DELETE", .url = w->location};
	sc_sig_http_resp resp;

	req.bearer = w->bearer;
	req.timeout_ms = WH_STOP_BUDGET_MS;
	req.connect_timeout_ms = w->connect_timeout_ms < WH_STOP_BUDGET_MS ? w->connect_timeout_ms
									   : WH_STOP_BUDGET_MS;
	sc_sig_http_resp_init(&resp);
	sc_sig_http(w->curl, &req, &resp);
	sc_sig_http_resp_free(&resp);
}

static void *wh_main(void *arg)
{
	whep *w = arg;
	pthread_setname_np(pthread_self(), "sc-whep");
	bool failed = false;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!atomic_load(&w->stopping) && !w->offer && (!w->location[0] || !w->cands))
			pthread_cond_wait(&w->cond, &w->lock);
		if (atomic_load(&w->stopping))
			break;
		if (w->offer) {
			w->our_sdp = w->offer;
			w->offer = NULL;
			pthread_mutex_unlock(&w->lock);
			failed = wh_post_offer(w) < 0;
			pthread_mutex_lock(&w->lock);
			if (failed)
				break;
			continue;
		}
		{
			wh_cand *c = w->cands;

			w->cands = c->next;
			if (!w->cands)
				w->cands_tail = NULL;
			w->n_cands--;
			pthread_mutex_unlock(&w->lock);
			wh_patch(w, c);
			free(c->cand);
			free(c);
			pthread_mutex_lock(&w->lock);
		}
	}
	pthread_mutex_unlock(&w->lock);
	if (w->location[0]) /* the server keeps a session: end it */
		wh_delete(w);
	return NULL;
}

static int wh_init(void *priv, const char *url, const sc_sig_options *opt,
		   const sc_sig_callbacks *cb, char *err, size_t errlen)
{
	whep *w = priv;
	pthread_condattr_t ca;
	int r;

	w->cb = *cb;
	w->connect_timeout_ms = opt && opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 5000;
	if ((r = wh_parse_url(w, url, err, errlen)) < 0)
		return r;
	if (opt && opt->bearer_token) {
		for (const char *q = opt->bearer_token; *q; q++)
			if ((unsigned char)*q <= 0x20 || *q == 0x7f) {
				snprintf(err, errlen, "bad bearer token");
				return -EINVAL;
			}
		if (strlen(opt->bearer_token) > 1024 || !(w->bearer = strdup(opt->bearer_token))) {
			snprintf(err, errlen, "bad bearer token");
			return -EINVAL;
		}
	}
	if (pthread_mutex_init(&w->lock, NULL) != 0)
		return -ENOMEM;
	pthread_condattr_init(&ca);
	r = pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0) {
		pthread_mutex_destroy(&w->lock);
		return -ENOMEM;
	}
	w->sync_init = true;
	if (!(w->curl = curl_easy_init())) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int wh_start(void *priv)
{
	whep *w = priv;

	if (w->started)
		return -EALREADY;
	if (pthread_create(&w->thread, NULL, wh_main, w) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

static int wh_offer(void *priv, const char *sdp)
{
	whep *w = priv;
	char *copy;
	int r = 0;

	if (!sdp || strncmp(sdp, "v=0", 3) != 0 || strlen(sdp) > WH_MAX_SDP)
		return -EINVAL;
	if (!(copy = strdup(sdp)))
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	if (w->offered) {
		r = -EALREADY; /* one session per client; no ICE restart here */
	} else {
		w->offer = copy;
		w->offered = true;
		copy = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	free(copy);
	return r;
}

static int wh_candidate(void *priv, const char *mid, const char *cand)
{
	whep *w = priv;
	wh_cand *c;
	int r = 0;

	if (!mid || strlen(mid) >= sizeof(c->mid) || (cand && strlen(cand) > 512))
		return -EINVAL;
	if (!(c = calloc(1, sizeof(*c))) || (cand && !(c->cand = strdup(cand)))) {
		free(c);
		return -ENOMEM;
	}
	strcpy(c->mid, mid);
	pthread_mutex_lock(&w->lock);
	if (w->n_cands >= WH_MAX_CANDS) {
		r = -ENOBUFS;
	} else {
		if (w->cands_tail)
			w->cands_tail->next = c;
		else
			w->cands = c;
		w->cands_tail = c;
		w->n_cands++;
		c = NULL;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (c) {
		free(c->cand);
		free(c);
	}
	return r;
}

static void wh_stop(void *priv)
{
	whep *w = priv;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	w->started = false;
}

static void wh_deinit(void *priv)
{
	whep *w = priv;

	wh_stop(w);
	while (w->cands) {
		wh_cand *c = w->cands;

		w->cands = c->next;
		free(c->cand);
		free(c);
	}
	free(w->offer);
	free(w->our_sdp);
	free(w->bearer);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	if (w->sync_init) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
	}
}

const sc_signaling_ops sc_signaling_whep = {
	.name = "whep",
	.scheme = "whep+",
	.priv_size = sizeof(whep),
	.init = wh_init,
	.start = wh_start,
	.answer = NULL,
	.offer = wh_offer,
	.candidate = wh_candidate,
	.stop = wh_stop,
	.deinit = wh_deinit,
};
