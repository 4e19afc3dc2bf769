/* SPDX-License-Identifier: Apache-2.0 */
/*
 * janus.c - Janus 1.x VideoRoom over the Janus HTTP API (libcurl, jansson).
 *
 * One session, two handles on janus.plugin.videoroom: "pub" joins the room
 * as a publisher that never publishes (it gets the publishers / unpublished
 * / leaving events), "sub" is one multistream subscriber to every
 * publisher. Janus offers (join "attached", later "updated"), we answer
 * with {"request":"start"} + jsep. Janus renegotiates by itself when a
 * publisher leaves (its sections become inactive); new publishers are added
 * with "subscribe". One renegotiation at a time: nothing is requested while
 * an offer waits for its answer. (janus_room.c has that logic.)
 *
 * Threads: the "brain" thread owns every piece of session state and makes
 * all the POSTs (requests, keepalives, answers); the "poll" thread only
 * long-polls GET /janus/SESSION and queues what it gets. answer() and
 * candidate() queue too, so they never block their caller. stop() sets a
 * flag that aborts any transfer (CURLOPT_XFERINFOFUNCTION), then leaves
 * and destroys the session within a fixed budget and joins the threads.
 *
 * A lost session (Janus restarted: the long poll fails, or 458) after the
 * first join is reported with a non-fatal on_error, and the brain rejoins
 * with backoff (0.5 s doubling to 10 s, forever); a fresh offer follows.
 * Before the first join every failure is fatal.
 */
#include "janus_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

/* ------------------------------------------------------------ HTTP */

static int jn_http_send(janus *j, uint64_t handle, json_t *msg, json_t **ret_reply)
{
	sc_sig_http_req req = {.method = "POST", .content_type = "application/json"};
	sc_sig_http_resp resp;
	char url[600], err[160];
	json_t *reply;
	size_t len;
	char *body;
	int r;

	if (handle)
		snprintf(url, sizeof(url), "%s/%" PRIu64 "/%" PRIu64, j->base, j->session, handle);
	else if (j->session)
		snprintf(url, sizeof(url), "%s/%" PRIu64, j->base, j->session);
	else
		snprintf(url, sizeof(url), "%s", j->base);
	if (!(body = sc_json_dump(msg, &len)))
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	req.url = url;
	req.body = body;
	req.body_len = len;
	req.timeout_ms = j->req_timeout_ms;
	req.connect_timeout_ms = j->connect_timeout_ms;
	req.abort = j->req_abort;
	sc_sig_http_resp_init(&resp);
	r = sc_sig_http(j->curl, &req, &resp);
	free(body);
	if (r < 0) {
		r = sc_janus_fail(j, r == -EMSGSIZE ? SC_SIG_ERR_PROTOCOL : SC_SIG_ERR_UNREACHABLE,
				  "janus at %s: %s", j->base, resp.error);
	} else if (resp.status != 200) {
		r = sc_janus_fail(j,
				  resp.status == 404 ? SC_SIG_ERR_NOT_FOUND : SC_SIG_ERR_PROTOCOL,
				  "janus at %s: HTTP %ld", j->base, resp.status);
	} else if (!(reply = sc_json_parse_object((char *)resp.body.data, resp.body.len, err,
						  sizeof(err)))) {
		r = sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "janus reply: %s", err);
	} else {
		*ret_reply = reply;
	}
	sc_sig_http_resp_free(&resp);
	return r;
}

/* ------------------------------------------------------------ queue */

static void jn_item_free(jn_item *it)
{
	if (!it)
		return;
	json_decref(it->ev);
	free(it->text);
	free(it);
}

/* Called with the lock held. */
static void jn_push_locked(janus *j, jn_item *it)
{
	it->next = NULL;
	if (j->tail)
		j->tail->next = it;
	else
		j->head = it;
	j->tail = it;
	j->n_items++;
	pthread_cond_broadcast(&j->cond);
}

static jn_item *jn_item_new(int kind, const char *text)
{
	jn_item *it = calloc(1, sizeof(*it));

	if (!it)
		return NULL;
	it->kind = kind;
	if (text && !(it->text = strdup(text))) {
		free(it);
		return NULL;
	}
	return it;
}

/* Queue from the API side: bounded, never waits. */
static int jn_push_api(janus *j, jn_item *it)
{
	int r = 0;

	pthread_mutex_lock(&j->lock);
	if (j->n_items >= JN_QUEUE_MAX || atomic_load(&j->stopping)) {
		r = j->n_items >= JN_QUEUE_MAX ? -ENOBUFS : -ESHUTDOWN;
	} else {
		it->gen = j->gen;
		jn_push_locked(j, it);
	}
	pthread_mutex_unlock(&j->lock);
	if (r < 0)
		jn_item_free(it);
	return r;
}

/* ------------------------------------------------------------ long poll */

typedef struct {
	janus *j;
	unsigned gen;
	uint64_t session;
} jn_poll_args;

/* Queue from the poll thread: waits while the queue is full. */
static bool jn_push_poll(janus *j, jn_item *it, unsigned gen)
{
	pthread_mutex_lock(&j->lock);
	while (j->n_items >= JN_QUEUE_MAX && !atomic_load(&j->poll_abort))
		pthread_cond_wait(&j->cond, &j->lock);
	if (atomic_load(&j->poll_abort)) {
		pthread_mutex_unlock(&j->lock);
		jn_item_free(it);
		return false;
	}
	it->gen = gen;
	jn_push_locked(j, it);
	pthread_mutex_unlock(&j->lock);
	return true;
}

static void jn_poll_failed(janus *j, unsigned gen, sc_sig_error e, const char *msg)
{
	jn_item *it = jn_item_new(IT_POLL_FAILED, msg);

	if (it) {
		it->err = (int)e;
		jn_push_poll(j, it, gen);
	}
}

static void *jn_poll_main(void *arg)
{
	jn_poll_args a = *(jn_poll_args *)arg;
	pthread_setname_np(pthread_self(), "sc-janus-poll");
	sc_sig_http_req req = {.method = "GET", .timeout_ms = JN_POLL_TIMEOUT_MS};
	janus *j = a.j;
	sc_sig_http_resp resp;
	char url[600], msg[400];
	unsigned long long rid = 0;

	free(arg);
	sc_sig_http_resp_init(&resp);
	req.url = url;
	req.connect_timeout_ms = j->connect_timeout_ms;
	req.abort = &j->poll_abort;
	while (!atomic_load(&j->poll_abort)) {
		json_error_t jerr;
		json_t *v, *e;
		size_t i;
		int r;

		snprintf(url, sizeof(url), "%s/%" PRIu64 "?maxev=10&rid=%llu", j->base, a.session,
			 ++rid);
		r = sc_sig_http(j->poll_curl, &req, &resp);
		if (r == -ECANCELED)
			break;
		if (r < 0 || resp.status != 200) {
			if (r < 0)
				snprintf(msg, sizeof(msg), "janus long poll: %s", resp.error);
			else
				snprintf(msg, sizeof(msg), "janus long poll: HTTP %ld",
					 resp.status);
			jn_poll_failed(j, a.gen, SC_SIG_ERR_UNREACHABLE, msg);
			break;
		}
		v = json_loadb((char *)resp.body.data, resp.body.len, JSON_REJECT_DUPLICATES,
			       &jerr);
		if (!v || (!json_is_array(v) && !json_is_object(v))) {
			json_decref(v);
			jn_poll_failed(j, a.gen, SC_SIG_ERR_PROTOCOL, "janus long poll: not JSON");
			break;
		}
		if (json_is_object(v)) {
			json_t *arr = json_array();

			json_array_append_new(arr, v);
			v = arr;
		}
		json_array_foreach(v, i, e)
		{
			jn_item *it;

			if (!json_is_object(e))
				continue;
			if (json_is_string(json_object_get(e, "janus")) &&
			    strcmp(json_string_value(json_object_get(e, "janus")), "keepalive") ==
				    0)
				continue;
			if (!(it = jn_item_new(IT_EVENT, NULL)))
				break;
			it->ev = json_incref(e);
			if (!jn_push_poll(j, it, a.gen))
				break;
		}
		json_decref(v);
	}
	sc_sig_http_resp_free(&resp);
	return NULL;
}

static void jn_poll_stop(janus *j)
{
	if (!j->poll_started)
		return;
	pthread_mutex_lock(&j->lock);
	atomic_store(&j->poll_abort, true);
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->poller, NULL);
	j->poll_started = false;
}

/* ------------------------------------------------------------ the brain */

static uint64_t jn_created_id(json_t *reply)
{
	json_t *id = json_object_get(json_object_get(reply, "data"), "id");

	return json_is_integer(id) && json_integer_value(id) > 0 ? (uint64_t)json_integer_value(id)
								 : 0;
}

static int jn_create(janus *j, uint64_t handle_of_session, const char *what, uint64_t *ret)
{
	json_t *msg = handle_of_session ? json_pack("{s:s, s:s}", "janus", "attach", "plugin",
						    "janus.plugin.videoroom")
					: json_pack("{s:s}", "janus", "create");
	json_t *reply = NULL;
	uint64_t id;
	int r;

	if (!msg)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	r = sc_janus_request(j, 0, msg, &reply, NULL);
	json_decref(msg);
	if (r < 0)
		return r;
	id = jn_created_id(reply);
	json_decref(reply);
	if (!id)
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "janus %s: no id in the reply", what);
	*ret = id;
	return 0;
}

/* Session, two handles, the poll thread, the join. */
static int jn_open(janus *j)
{
	jn_poll_args *a;
	int r;

	pthread_mutex_lock(&j->lock);
	j->gen++;
	pthread_mutex_unlock(&j->lock);
	sc_janus_reset(j);
	j->req_timeout_ms = JN_REQ_TIMEOUT_MS;
	j->req_abort = &j->stopping;
	if ((r = jn_create(j, 0, "create", &j->session)) < 0 ||
	    (r = jn_create(j, j->session, "attach", &j->h_pub)) < 0 ||
	    (r = jn_create(j, j->session, "attach", &j->h_sub)) < 0)
		return r;
	if (!(a = malloc(sizeof(*a))))
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "out of memory");
	*a = (jn_poll_args){.j = j, .gen = j->gen, .session = j->session};
	atomic_store(&j->poll_abort, false);
	if (pthread_create(&j->poller, NULL, jn_poll_main, a) != 0) {
		free(a);
		return sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "cannot start the poll thread");
	}
	j->poll_started = true;
	j->join_deadline = sc_sig_now_ms() + JN_JOIN_TIMEOUT_MS;
	return sc_janus_join(j);
}

/* Leave and destroy within the stop budget, or just drop the session. */
static void jn_close(janus *j, bool polite)
{
	long long deadline = sc_sig_now_ms() + JN_STOP_BUDGET_MS;
	uint64_t handles[2] = {j->h_pub, j->h_sub};
	json_t *m;

	jn_poll_stop(j);
	if (!polite || !j->session)
		return;
	j->req_abort = NULL; /* the stop flag is set: these must still go out */
	for (int i = 0; i < 3; i++) {
		long left = (long)(deadline - sc_sig_now_ms());

		if (left < 50)
			break;
		j->req_timeout_ms = left;
		if (i < 2 && !handles[i])
			continue;
		if (i < 2)
			m = json_pack("{s:s, s:{s:s}}", "janus", "message", "body", "request",
				      "leave");
		else
			m = json_pack("{s:s}", "janus", "destroy");
		if (!m)
			break;
		if (sc_janus_request(j, i < 2 ? handles[i] : 0, m, NULL, NULL) < 0 &&
		    j->fail_err == SC_SIG_ERR_UNREACHABLE && strstr(j->fail_msg, "janus at")) {
			json_decref(m);
			break; /* Janus is gone or hangs: nothing more to say */
		}
		json_decref(m);
	}
}

static jn_item *jn_wait_item(janus *j, long long until)
{
	struct timespec ts;
	jn_item *it = NULL;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&j->lock);
	while (!j->head && !atomic_load(&j->stopping)) {
		long long now = sc_sig_now_ms();

		if (now >= until)
			break;
		ts.tv_sec = (until / 1000);
		ts.tv_nsec = (until % 1000) * 1000000L;
		pthread_cond_timedwait(&j->cond, &j->lock, &ts);
	}
	if (j->head && !atomic_load(&j->stopping)) {
		it = j->head;
		j->head = it->next;
		if (!j->head)
			j->tail = NULL;
		j->n_items--;
		pthread_cond_broadcast(&j->cond); /* room for the poller */
	}
	pthread_mutex_unlock(&j->lock);
	return it;
}

/* Events, answers, keepalives until the session is over or stop(). */
static int jn_run(janus *j)
{
	long long next_keepalive = sc_sig_now_ms() + JN_KEEPALIVE_MS;

	while (!atomic_load(&j->stopping)) {
		long long until = next_keepalive;
		jn_item *it;
		int r = 0;

		if (!j->joined && j->join_deadline < until)
			until = j->join_deadline;
		it = jn_wait_item(j, until);
		if (it && it->gen == j->gen) {
			switch (it->kind) {
			case IT_EVENT:
				r = sc_janus_event(j, it->ev);
				break;
			case IT_POLL_FAILED:
				r = sc_janus_fail(j, (sc_sig_error)it->err, "%s", it->text);
				break;
			case IT_ANSWER:
				r = sc_janus_send_answer(j, it->text);
				break;
			case IT_CANDIDATE:
				r = sc_janus_send_candidate(j, it->mid, it->text);
				break;
			}
		}
		jn_item_free(it);
		if (r < 0)
			return r;
		if (!j->joined && sc_sig_now_ms() >= j->join_deadline)
			return sc_janus_fail(j, SC_SIG_ERR_UNREACHABLE,
					     "janus did not answer the join");
		if (sc_sig_now_ms() >= next_keepalive) {
			json_t *m = json_pack("{s:s}", "janus", "keepalive");

			r = m ? sc_janus_request(j, 0, m, NULL, NULL) : 0;
			json_decref(m);
			if (r < 0)
				return r;
			next_keepalive = sc_sig_now_ms() + JN_KEEPALIVE_MS;
		}
	}
	return 0;
}

static void jn_sleep(janus *j, long ms)
{
	long long until = sc_sig_now_ms() + ms;
	jn_item *it;

	/* Whatever arrives meanwhile belongs to the dead session. */
	while (!atomic_load(&j->stopping) && sc_sig_now_ms() < until)
		if ((it = jn_wait_item(j, until)))
			jn_item_free(it);
}

static void *jn_brain_main(void *arg)
{
	janus *j = arg;
	pthread_setname_np(pthread_self(), "sc-janus");
	long backoff = JN_BACKOFF_FIRST_MS;

	while (!atomic_load(&j->stopping)) {
		int r = jn_open(j);

		if (r == 0)
			r = jn_run(j);
		/* A session Janus still knows (hangup, detach) is destroyed. */
		jn_close(j, atomic_load(&j->stopping) ||
				    (r < 0 && j->fail_err != SC_SIG_ERR_UNREACHABLE));
		if (atomic_load(&j->stopping))
			break;
		if (r == 0)
			sc_janus_fail(j, SC_SIG_ERR_PROTOCOL, "session ended");
		if (!j->ever_joined) {
			if (j->cb.on_error)
				j->cb.on_error(j->cb.ud, j->fail_err, true, j->fail_msg);
			break;
		}
		if (j->joined)
			backoff = JN_BACKOFF_FIRST_MS; /* it worked for a while */
		if (j->cb.on_error)
			j->cb.on_error(j->cb.ud, j->fail_err, false, j->fail_msg);
		jn_sleep(j, backoff);
		backoff = backoff * 2 > JN_BACKOFF_MAX_MS ? JN_BACKOFF_MAX_MS : backoff * 2;
	}
	sc_janus_reset(j);
	return NULL;
}

/* ------------------------------------------------------------ ops */

static int jn_init(void *priv, const char *url, const sc_sig_options *opt,
		   const sc_sig_callbacks *cb, char *err, size_t errlen)
{
	janus *j = priv;
	int r;

	j->send = jn_http_send;
	j->cb = *cb;
	j->connect_timeout_ms = opt && opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : 5000;
	snprintf(j->display, sizeof(j->display), "%s",
		 opt && opt->display && opt->display[0] ? opt->display : "stagecast");
	if ((r = sc_janus_parse_url(j, url, err, errlen)) < 0)
		return r;
	if (pthread_mutex_init(&j->lock, NULL) != 0)
		return -ENOMEM;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		r = pthread_cond_init(&j->cond, &ca);
		pthread_condattr_destroy(&ca);
		if (r != 0) {
			pthread_mutex_destroy(&j->lock);
			return -ENOMEM;
		}
	}
	j->sync_init = true;
	j->curl = curl_easy_init();
	j->poll_curl = curl_easy_init();
	if (!j->curl || !j->poll_curl) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int jn_start(void *priv)
{
	janus *j = priv;

	if (j->brain_started)
		return -EALREADY;
	if (pthread_create(&j->brain, NULL, jn_brain_main, j) != 0)
		return -EAGAIN;
	j->brain_started = true;
	return 0;
}

static int jn_answer(void *priv, const char *sdp)
{
	jn_item *it;

	if (!sdp || strlen(sdp) > JN_MAX_SDP)
		return -EINVAL;
	if (!(it = jn_item_new(IT_ANSWER, sdp)))
		return -ENOMEM;
	return jn_push_api(priv, it);
}

static int jn_candidate(void *priv, const char *mid, const char *cand)
{
	jn_item *it;

	if (!mid || strlen(mid) >= sizeof(it->mid) || (cand && strlen(cand) > 512))
		return -EINVAL;
	if (!(it = jn_item_new(IT_CANDIDATE, cand)))
		return -ENOMEM;
	strcpy(it->mid, mid);
	return jn_push_api(priv, it);
}

static void jn_stop(void *priv)
{
	janus *j = priv;

	if (!j->brain_started)
		return;
	pthread_mutex_lock(&j->lock);
	atomic_store(&j->stopping, true);
	atomic_store(&j->poll_abort, true);
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->brain, NULL);
	j->brain_started = false;
}

static void jn_deinit(void *priv)
{
	janus *j = priv;

	jn_stop(j);
	sc_janus_reset(j);
	while (j->head) {
		jn_item *it = j->head;

		j->head = it->next;
		jn_item_free(it);
	}
	json_decref(j->room);
	if (j->curl)
		curl_easy_cleanup(j->curl);
	if (j->poll_curl)
		curl_easy_cleanup(j->poll_curl);
	if (j->sync_init) {
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->lock);
	}
}

const sc_signaling_ops sc_signaling_janus = {
	.name = "janus",
	.scheme = "janus://",
	.priv_size = sizeof(janus),
	.init = jn_init,
	.start = jn_start,
	.answer = jn_answer,
	.offer = NULL,
	.candidate = jn_candidate,
	.stop = jn_stop,
	.deinit = jn_deinit,
};
