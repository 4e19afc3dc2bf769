/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.c - the engine thread: its request queue, the tick (lease expiry
 * and failover, assignment, instance states), and autoscaling through the
 * provider. See engine.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autoscale.h"
#include "engine_priv.h"
#include "log.h"
#include "url.h"

int64_t eng_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void eng_event(sc_engine *e, const char *kind, const char *subject, const char *fmt, ...)
{
	sc_event_rec ev = {.at_ms = eng_now_ms()};
	va_list ap;

	snprintf(ev.kind, sizeof(ev.kind), "%s", kind);
	snprintf(ev.subject, sizeof(ev.subject), "%s", subject ? subject : "");
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	int rc = e->ops->event_add(e->sp, &ev);
	if (rc < 0)
		sc_log_warn(NULL, "store: cannot record event %s: %s", kind, strerror(-rc));
	sc_log_info(NULL, "%s %s: %s", kind, ev.subject, ev.detail);
}

bool eng_reply_get_error(sc_engine_req *r, int rc, const char *what)
{
	if (rc == -ENOENT)
		eng_reply_error(r, 404, "no %s \"%s\"", what, r->id);
	else if (rc < 0)
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
	return rc < 0;
}

void eng_reply_error(sc_engine_req *r, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->reply = json_pack("{s:s}", "error", msg);
}

/* ---- streams and instances */

bool eng_stream_active(const sc_stream_rec *s)
{
	return s->state != SC_ST_STOPPED && s->state != SC_ST_FAILED;
}

int eng_stream_set(sc_engine *e, sc_stream_rec *s, sc_stream_state st, const char *fmt, ...)
{
	va_list ap;

	s->state = st;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	s->updated_ms = eng_now_ms();
	int rc = e->ops->stream_put(e->sp, s);
	if (rc < 0)
		sc_log_error(s->name, "store: cannot write stream %s: %s", s->id, strerror(-rc));
	return rc;
}

void eng_stream_finish(sc_engine *e, sc_stream_rec *s, sc_stream_state st, const char *reason)
{
	s->instance[0] = 0;
	if (eng_stream_set(e, s, st, "%s", reason) < 0)
		return;
	int rc = e->ops->unlock(e->sp, s->id);
	if (rc < 0)
		sc_log_error(s->name, "store: cannot release the locks of %s: %s", s->id,
			     strerror(-rc));
	eng_event(e, st == SC_ST_STOPPED ? "stopped" : "failed", s->id,
		  "stream %s: %s; locks released", s->name, reason);
	eng_relay_remove(e, s->id);
}

int eng_destination(sc_engine *e, const sc_stream_rec *s, char **ret)
{
	if (!s->destination_sealed)
		return -EBADMSG;
	return sc_secretbox_open(&e->key, s->destination_sealed, ret);
}

int eng_stream_keys(sc_engine *e, const sc_stream_rec *s, char keys[2][SC_KEY_HEX])
{
	char *dest = NULL, norm[SC_URL_MAX];
	int rc = eng_destination(e, s, &dest);

	if (rc < 0)
		return rc;
	rc = sc_url_normalize(dest, norm, sizeof(norm));
	explicit_bzero(dest, strlen(dest));
	free(dest);
	if (rc < 0)
		return rc;
	sc_lock_key_destination(norm, keys[0]);
	sc_lock_key_name(s->name, keys[1]);
	explicit_bzero(norm, sizeof(norm));
	return 0;
}

static bool inst_alive(const sc_inst_rec *i)
{
	return i->state == SC_INST_IDLE || i->state == SC_INST_BUSY || i->state == SC_INST_DRAINING;
}

static bool stream_on_instance(const sc_stream_rec *s)
{
	return s->instance[0] && s->state >= SC_ST_ASSIGNED && s->state <= SC_ST_STOPPING;
}

static void set_protection(sc_engine *e, sc_inst_rec *i, bool on)
{
	char err[512];

	if (i->protected_ == on)
		return;
	int rc = e->pops->protect(e->pp, i->id, on, err, sizeof(err));
	if (rc < 0) {
		eng_event(e, "provider-error", i->id, "%s: %s", on ? "protect" : "unprotect", err);
		return;
	}
	i->protected_ = on;
	if (strcmp(e->pops->name, "none") && strcmp(e->pops->name, "local"))
		eng_event(e, on ? "protect" : "unprotect", i->id, "scale-in protection %s",
			  on ? "on (busy)" : "off (idle)");
}

void eng_refresh_instances(sc_engine *e, const sc_stream_rec *streams, size_t n_streams)
{
	sc_inst_rec *v = NULL;
	size_t n = 0;

	if (e->ops->inst_list(e->sp, &v, &n) < 0)
		return;
	for (size_t k = 0; k < n; k++) {
		sc_inst_rec *i = &v[k], before = *i;
		if (i->state == SC_INST_GONE)
			continue;
		i->used = 0;
		for (size_t s = 0; s < n_streams; s++)
			if (stream_on_instance(&streams[s]) && !strcmp(streams[s].instance, i->id))
				i->used++;
		if (i->state == SC_INST_IDLE && i->used)
			i->state = SC_INST_BUSY;
		else if (i->state == SC_INST_BUSY && !i->used)
			i->state = SC_INST_IDLE;
		if (inst_alive(i))
			set_protection(e, i, i->used > 0);
		if (memcmp(&before, i, sizeof(*i)))
			e->ops->inst_put(e->sp, i);
	}
	free(v);
}

static int cmp_created(const void *a, const void *b)
{
	const sc_stream_rec *x = a, *y = b;
	return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
}

void eng_assign(sc_engine *e)
{
	sc_stream_rec *s = NULL;
	sc_inst_rec *v = NULL;
	size_t ns = 0, ni = 0;

	if (e->ops->stream_list(e->sp, true, &s, &ns) < 0)
		return;
	if (e->ops->inst_list(e->sp, &v, &ni) < 0)
		goto out;
	if (ns > 1)
		qsort(s, ns, sizeof(*s), cmp_created); /* oldest first */
	for (size_t k = 0; k < ni; k++) {
		v[k].used = 0;
		for (size_t j = 0; j < ns; j++)
			if (stream_on_instance(&s[j]) && !strcmp(s[j].instance, v[k].id))
				v[k].used++;
	}
	for (size_t j = 0; j < ns; j++) {
		if (s[j].state != SC_ST_PENDING || s[j].stop_requested)
			continue;
		sc_inst_rec *best = NULL;
		for (size_t k = 0; k < ni; k++) {
			sc_inst_rec *i = &v[k];
			if ((i->state != SC_INST_IDLE && i->state != SC_INST_BUSY) ||
			    i->used >= i->slots)
				continue;
			if (!best || i->slots - i->used > best->slots - best->used ||
			    (i->slots - i->used == best->slots - best->used &&
			     i->created_ms < best->created_ms))
				best = i;
		}
		if (!best)
			break;
		snprintf(s[j].instance, sizeof(s[j].instance), "%s", best->id);
		if (eng_stream_set(e, &s[j], SC_ST_ASSIGNED, "assigned to %s", best->id) < 0)
			continue;
		best->used++;
		eng_event(e, "assign", s[j].id, "stream %s to instance %s, fence %llu", s[j].name,
			  best->id, (unsigned long long)s[j].fence);
	}
	eng_refresh_instances(e, s, ns);
out:
	sc_stream_recs_free(s, ns);
	free(v);
}

/* ---- lease expiry and failover */

static void fail_over(sc_engine *e, sc_stream_rec *s, const char *inst, const char *why)
{
	char keys[2][SC_KEY_HEX];
	const char *kp[2] = {keys[0], keys[1]};
	uint64_t fence;

	if (s->state == SC_ST_STOPPING || s->stop_requested) {
		eng_stream_finish(e, s, SC_ST_STOPPED, why);
		return;
	}
	int rc = eng_stream_keys(e, s, keys);
	if (rc == 0)
		rc = e->ops->refence(e->sp, s->id, kp, 2, &fence);
	explicit_bzero(keys, sizeof(keys));
	if (rc < 0) {
		eng_stream_finish(e, s, SC_ST_FAILED,
				  rc == -ESTALE ? "lost its locks during failover"
						: "cannot read its destination for failover");
		return;
	}
	uint64_t old = s->fence;
	s->fence = fence;
	s->instance[0] = 0;
	if (eng_stream_set(e, s, SC_ST_PENDING, "%s; waiting for another instance", why) < 0)
		return;
	e->failovers++;
	eng_event(e, "failover", s->id, "stream %s left %s (%s); fence %llu -> %llu", s->name, inst,
		  why, (unsigned long long)old, (unsigned long long)fence);
}

static void terminate_instance(sc_engine *e, sc_inst_rec *i, const char *kind, const char *why)
{
	char err[512];

	if (e->pops->names_instances && strncmp(i->id, "local-", 6) != 0) {
		/* Not ours to end (an agent someone else runs). */
		return;
	}
	if (!strcmp(e->pops->name, "none"))
		return;
	int rc = e->pops->terminate(e->pp, i->id, err, sizeof(err));
	if (rc < 0 && rc != -ENOENT) {
		eng_event(e, "provider-error", i->id, "terminate: %s", err);
		return;
	}
	i->state = SC_INST_GONE;
	i->used = 0;
	e->ops->inst_put(e->sp, i);
	eng_event(e, kind, i->id, "instance terminated: %s", why);
}

static void expire(sc_engine *e, int64_t now)
{
	sc_inst_rec *v = NULL;
	size_t ni = 0;
	sc_stream_rec *s = NULL;
	size_t ns = 0;
	bool changed = false;

	if (now < e->lease_grace_until_ms)
		return;
	if (e->ops->inst_list(e->sp, &v, &ni) < 0)
		return;
	for (size_t k = 0; k < ni; k++) {
		sc_inst_rec *i = &v[k];
		bool alive = inst_alive(i);
		if (!(alive || i->state == SC_INST_STARTING) || now <= i->lease_until_ms)
			continue;
		const char *why = alive ? "missed heartbeats for longer than the lease"
					: "never sent a heartbeat";
		i->state = SC_INST_LOST;
		e->ops->inst_put(e->sp, i);
		eng_event(e, "lost", i->id, "instance lost: %s", why);
		changed = true;
		if (!s && e->ops->stream_list(e->sp, true, &s, &ns) < 0)
			break;
		for (size_t j = 0; j < ns; j++)
			if (stream_on_instance(&s[j]) && !strcmp(s[j].instance, i->id))
				fail_over(e, &s[j], i->id, "its instance was lost");
		terminate_instance(e, i, "retire", "lost");
	}
	sc_stream_recs_free(s, ns);
	free(v);
	if (changed)
		eng_assign(e);
}

/* Local agents that died: lost at once, no need to wait for the lease. */
static void provider_poll(sc_engine *e)
{
	char ended[16][SC_ID_MAX];
	size_t n = 0;
	sc_inst_rec i;

	if (!e->pops->poll)
		return;
	e->pops->poll(e->pp, ended, 16, &n);
	for (size_t k = 0; k < n; k++) {
		if (e->ops->inst_get(e->sp, ended[k], &i) < 0 || i.state == SC_INST_GONE)
			continue;
		if (i.state != SC_INST_LOST) {
			i.lease_until_ms = 0; /* expire() takes it from here */
			e->ops->inst_put(e->sp, &i);
			sc_log_warn(NULL, "agent %s exited", i.id);
		}
	}
}

/* ---- autoscaling */

static int cmp_inst_created(const void *a, const void *b)
{
	const sc_inst_rec *x = a, *y = b;
	return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
}

static void autoscale(sc_engine *e, int64_t now)
{
	sc_stream_rec *s = NULL;
	sc_inst_rec *v = NULL;
	size_t ns = 0, ni = 0;
	char err[512], started[SC_PROVIDER_MAX_STARTED][SC_ID_MAX];

	if (!strcmp(e->pops->name, "none"))
		return;
	if (e->ops->stream_list(e->sp, true, &s, &ns) < 0)
		return;
	if (e->ops->inst_list(e->sp, &v, &ni) < 0)
		goto out;
	if (ni > 1)
		qsort(v, ni, sizeof(*v), cmp_inst_created);

	sc_autoscale_in in = {
		.min = e->pool.min,
		.max = e->pool.max,
		.spare = e->pool.spare,
		.periods_above = e->periods_above,
		.down_periods = e->cfg.scale_down_periods,
		.cooldown_ms = e->cfg.scale_down_cooldown_ms,
		.last_scale_down_ms = e->last_scale_down_ms,
		.now_ms = now,
	};
	int alive = 0;
	for (size_t j = 0; j < ns; j++)
		in.pending += s[j].state == SC_ST_PENDING && !s[j].stop_requested;
	for (size_t k = 0; k < ni; k++) {
		if (v[k].state == SC_INST_IDLE)
			in.idle++;
		else if (v[k].state == SC_INST_BUSY ||
			 (v[k].state == SC_INST_DRAINING && v[k].used))
			in.busy++;
		else if (v[k].state == SC_INST_STARTING)
			in.starting++;
		alive += inst_alive(&v[k]);
	}
	if (!e->pops->names_instances && e->last_desired > alive)
		in.starting = e->last_desired - alive; /* asked for, not heartbeating yet */

	sc_autoscale_out out;
	sc_autoscale(&in, &out);
	e->periods_above = out.periods_above;
	e->last_scale_down_ms = out.last_scale_down_ms;
	e->target = out.target;

	int retired = 0;
	for (size_t k = 0; k < ni && retired < out.n_retire; k++) {
		if (v[k].state != SC_INST_IDLE || v[k].used)
			continue;
		terminate_instance(e, &v[k], "scale-down", "idle above the target");
		retired += v[k].state == SC_INST_GONE;
	}
	if (out.n_retire) {
		e->last_desired = out.desired + (out.n_retire - retired);
		goto out;
	}
	if (out.desired == e->last_desired && !e->pops->converges)
		goto out;
	size_t n_started = 0;
	int rc = e->pops->set_desired(e->pp, out.desired, started, SC_PROVIDER_MAX_STARTED,
				      &n_started, err, sizeof(err));
	if (rc < 0) {
		eng_event(e, "provider-error", "pool", "set-desired %d: %s", out.desired, err);
		goto out;
	}
	if (out.desired != e->last_desired)
		eng_event(e, out.desired > e->last_desired ? "scale-up" : "scale", "pool",
			  "desired instances %d (busy %d, pending %d, spare %d)", out.desired,
			  in.busy, in.pending, e->pool.spare);
	e->last_desired = out.desired;
	for (size_t k = 0; k < n_started; k++) {
		sc_inst_rec i = {
			.state = SC_INST_STARTING,
			.slots = e->cfg.slots > 0 ? e->cfg.slots : 1,
			.created_ms = now,
			.lease_until_ms = now + e->cfg.boot_timeout_ms,
		};
		snprintf(i.id, sizeof(i.id), "%s", started[k]);
		snprintf(i.provider_ref, sizeof(i.provider_ref), "%s", started[k]);
		e->ops->inst_put(e->sp, &i);
		eng_event(e, "launch", i.id, "%s provider started an instance", e->pops->name);
	}
out:
	sc_stream_recs_free(s, ns);
	free(v);
}

/* Draining instances with nothing left are retired. */
static void retire_drained(sc_engine *e)
{
	sc_inst_rec *v = NULL;
	size_t ni = 0;

	if (e->ops->inst_list(e->sp, &v, &ni) < 0)
		return;
	for (size_t k = 0; k < ni; k++)
		if (v[k].state == SC_INST_DRAINING && !v[k].used)
			terminate_instance(e, &v[k], "retire", "drained");
	free(v);
}

#define PURGE_EVERY_MS 60000

/* Finished streams older than the retention go, with their history. */
static void purge(sc_engine *e, int64_t now)
{
	int64_t before = now - e->cfg.retention_ms;
	size_t n = 0;
	int rc = e->ops->stream_purge(e->sp, before, &n);
	char when[32] = "?";
	time_t t = (time_t)(before / 1000);
	struct tm tm;

	if (rc < 0) {
		sc_log_warn(NULL, "store: cannot purge finished streams: %s", strerror(-rc));
		return;
	}
	if (!n)
		return;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	eng_event(e, "purge", "store", "purged %zu finished streams older than %lld s (before %s)",
		  n, (long long)(e->cfg.retention_ms / 1000), when);
}

static void tick(sc_engine *e)
{
	int64_t now = eng_now_ms();

	int lead = e->ops->lead(e->sp, e->node_id, (int)(e->cfg.lease_ms));
	if (lead != e->lead) {
		if (lead == 1) {
			sc_log_info(NULL, "leading: this scaler makes the decisions");
			/* The takeover itself took about a lease: without a grace
			 * period every instance would look lost and every running
			 * capture would be refenced and dropped. */
			e->lease_grace_until_ms = now + e->cfg.lease_ms;
			e->relay_swept = false; /* engine_relay.c: sweep_finished */
		} else if (lead == 0)
			sc_log_info(NULL, "standing by: another scaler leads");
		else
			sc_log_warn(NULL, "store: leadership unknown: %s", strerror(-lead));
		e->lead = lead;
	}
	if (lead != 1)
		return;
	provider_poll(e);
	expire(e, now);
	eng_assign(e);
	retire_drained(e);
	/* Half a tick of slack: ticks and this deadline are taken from
	 * readings of the clock a millisecond apart, and a period that is a
	 * multiple of the tick must not slip by a whole tick. */
	if (now + e->cfg.tick_ms / 2 >= e->next_scale_ms) {
		e->next_scale_ms = now + e->cfg.scale_period_ms;
		autoscale(e, now);
	}
	eng_relay_run(e);
	if (e->cfg.retention_ms > 0 && now >= e->next_purge_ms) {
		e->next_purge_ms = now + PURGE_EVERY_MS;
		purge(e, now);
	}
}

/* ---- the thread */

static bool mutates(sc_req_kind k)
{
	return k == SC_REQ_START || k == SC_REQ_STOP || k == SC_REQ_DRAIN || k == SC_REQ_POOL_PUT ||
	       k == SC_REQ_HEARTBEAT;
}

static void dispatch(sc_engine *e, sc_engine_req *r)
{
	if (mutates(r->kind) && e->lead != 1) {
		eng_reply_error(r, 503, "this scaler is standing by (another one leads); retry");
		return;
	}
	switch (r->kind) {
	case SC_REQ_START:
		eng_req_start(e, r);
		break;
	case SC_REQ_LIST:
		eng_req_list(e, r);
		break;
	case SC_REQ_GET:
		eng_req_get(e, r);
		break;
	case SC_REQ_STOP:
		eng_req_stop(e, r);
		break;
	case SC_REQ_INSTANCES:
		eng_req_instances(e, r);
		break;
	case SC_REQ_DRAIN:
		eng_req_drain(e, r);
		break;
	case SC_REQ_POOL_GET:
	case SC_REQ_POOL_PUT:
		eng_req_pool(e, r);
		break;
	case SC_REQ_EVENTS:
		eng_req_events(e, r);
		break;
	case SC_REQ_HEARTBEAT:
		eng_req_heartbeat(e, r);
		break;
	case SC_REQ_METRICS:
		eng_req_metrics(e, r);
		break;
	case SC_REQ_READY:
		eng_req_ready(e, r);
		break;
	}
	if (!r->reply && !r->text)
		eng_reply_error(r, 500, "out of memory");
}

static void *engine_main(void *arg)
{
	sc_engine *e = arg;

	pthread_mutex_lock(&e->mu);
	while (!e->stopping) {
		int64_t now = eng_now_ms();
		if (now >= e->next_tick_ms) {
			e->next_tick_ms = now + e->cfg.tick_ms;
			pthread_mutex_unlock(&e->mu);
			tick(e);
			pthread_mutex_lock(&e->mu);
			continue;
		}
		if (!e->head) {
			struct timespec ts;
			int64_t until = e->next_tick_ms;
			ts.tv_sec = until / 1000;
			ts.tv_nsec = (until % 1000) * 1000000;
			pthread_cond_timedwait(&e->cv, &e->mu, &ts);
			continue;
		}
		sc_engine_req *r = e->head;
		e->head = r->next;
		if (!e->head)
			e->tail = NULL;
		e->qlen--;
		pthread_mutex_unlock(&e->mu);
		dispatch(e, r);
		pthread_mutex_lock(&e->mu);
		r->done = true;
		pthread_cond_broadcast(&e->cv_done);
	}
	/* Whoever still waits gets an answer. */
	while (e->head) {
		sc_engine_req *r = e->head;
		e->head = r->next;
		eng_reply_error(r, 503, "the scaler is shutting down");
		r->done = true;
	}
	e->tail = NULL;
	e->qlen = 0;
	pthread_cond_broadcast(&e->cv_done);
	pthread_mutex_unlock(&e->mu);
	return NULL;
}

int sc_engine_call(sc_engine *e, sc_engine_req *r)
{
	r->next = NULL;
	r->done = false;
	r->reply = NULL;
	r->text = NULL;
	r->status = 0;
	pthread_mutex_lock(&e->mu);
	if (e->stopping) {
		pthread_mutex_unlock(&e->mu);
		return -ESHUTDOWN;
	}
	if (e->qlen >= SC_ENGINE_QUEUE_MAX) {
		pthread_mutex_unlock(&e->mu);
		return -EAGAIN;
	}
	if (e->tail)
		e->tail->next = r;
	else
		e->head = r;
	e->tail = r;
	e->qlen++;
	pthread_cond_signal(&e->cv);
	while (!r->done)
		pthread_cond_wait(&e->cv_done, &e->mu);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

/* ---- lifecycle */

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

sc_engine *sc_engine_new(const sc_engine_config *cfg, char *err, size_t errlen)
{
	sc_engine *e = calloc(1, sizeof(*e));
	sc_inst_rec *v = NULL;
	size_t ni = 0;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	pthread_cond_init(&e->cv_done, NULL);
	e->cfg = *cfg;
	e->lead = -1;
	e->last_desired = -1;
	e->relay_base = strdup(cfg->relay_base ? cfg->relay_base : "rtmp://127.0.0.1:1935/live");
	e->relay_api = dup_or_null(cfg->relay_api);
	e->relay_token = dup_or_null(cfg->relay_api_token);
	e->node_id = strdup(cfg->node_id ? cfg->node_id : "scaler");
	e->targets = calloc(RELAY_TARGETS_MAX, sizeof(*e->targets));
	if (!e->relay_base || !e->node_id || !e->targets ||
	    (cfg->relay_api && cfg->relay_api[0] && !e->relay_api)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Trailing slashes would double up in URLs we build. */
	for (char *p = e->relay_base + strlen(e->relay_base); p > e->relay_base && p[-1] == '/';)
		*--p = 0;
	if (e->relay_api)
		for (char *p = e->relay_api + strlen(e->relay_api);
		     p > e->relay_api && p[-1] == '/';)
			*--p = 0;
	e->cfg.relay_base = e->relay_base;
	e->cfg.relay_api = e->relay_api;
	e->cfg.relay_api_token = e->relay_token;
	e->cfg.node_id = e->node_id;
	if (cfg->secret && cfg->secret_len) {
		if (cfg->secret_len > sizeof(e->secret)) {
			snprintf(err, errlen, "secret too long");
			goto fail;
		}
		memcpy(e->secret, cfg->secret, cfg->secret_len);
		e->secret_len = cfg->secret_len;
		if (sc_secretbox_key_derive(e->secret, e->secret_len, &e->key) < 0) {
			snprintf(err, errlen, "cannot derive the store key from the secret");
			goto fail;
		}
	} else if (!cfg->secretbox_key_file ||
		   sc_secretbox_key_file(cfg->secretbox_key_file, &e->key) < 0) {
		snprintf(err, errlen, "cannot read or create the store key file %s",
			 cfg->secretbox_key_file ? cfg->secretbox_key_file : "(none)");
		goto fail;
	}
	e->cfg.secret = NULL;
	if (e->cfg.tick_ms <= 0)
		e->cfg.tick_ms = 500;
	if (e->cfg.lease_ms <= 0)
		e->cfg.lease_ms = 10000;
	if (e->cfg.scale_period_ms <= 0)
		e->cfg.scale_period_ms = 5000;
	if (e->cfg.boot_timeout_ms <= 0)
		e->cfg.boot_timeout_ms = 120000;

	e->store = sc_store_open(cfg->store_spec, err, errlen);
	if (!e->store)
		goto fail;
	e->ops = sc_store_ops_of(e->store);
	e->sp = sc_store_priv(e->store);
	if (e->ops->pool_get(e->sp, &e->pool) < 0)
		e->pool = cfg->pool;

	sc_provider_env env = {
		.agent_cmd = cfg->agent_cmd,
		.scaler_url = cfg->scaler_url,
		.capture_cmd = cfg->capture_cmd,
		.agent_token = cfg->agent_token,
		.agent_args = cfg->agent_args,
		.n_agent_args = cfg->n_agent_args,
		.slots = cfg->slots,
		.exec_timeout_ms = cfg->exec_timeout_ms,
	};
	e->prov = sc_provider_new(cfg->provider_spec, &env, err, errlen);
	if (!e->prov)
		goto fail;
	e->pops = sc_provider_ops_of(e->prov);
	e->pp = sc_provider_priv(e->prov);
	if (e->ops->inst_list(e->sp, &v, &ni) == 0) {
		for (size_t k = 0; k < ni; k++) {
			if (e->pops->seen)
				e->pops->seen(e->pp, v[k].id);
			/* Local agents of an earlier run died with it. */
			if (e->pops->names_instances && !strncmp(v[k].id, "local-", 6) &&
			    v[k].state == SC_INST_STARTING) {
				v[k].state = SC_INST_GONE;
				e->ops->inst_put(e->sp, &v[k]);
			}
		}
		free(v);
	}
	return e;
fail:
	sc_engine_free(e);
	return NULL;
}

int sc_engine_start(sc_engine *e)
{
	int rc = pthread_create(&e->thread, NULL, engine_main, e);
	if (rc)
		return -rc;
	e->thread_started = true;
	return 0;
}

void sc_engine_free(sc_engine *e)
{
	if (!e)
		return;
	if (e->thread_started) {
		pthread_mutex_lock(&e->mu);
		e->stopping = true;
		pthread_cond_broadcast(&e->cv);
		pthread_mutex_unlock(&e->mu);
		pthread_join(e->thread, NULL);
	}
	sc_provider_free(e->prov);
	sc_store_close(e->store);
	for (size_t i = 0; i < e->n_jobs; i++)
		if (e->jobs[i].url) {
			explicit_bzero(e->jobs[i].url, strlen(e->jobs[i].url));
			free(e->jobs[i].url);
		}
	free(e->targets);
	free(e->relay_base);
	free(e->relay_api);
	free(e->relay_token);
	free(e->node_id);
	explicit_bzero(e->secret, sizeof(e->secret));
	sc_secretbox_key_wipe(&e->key);
	pthread_cond_destroy(&e->cv);
	pthread_cond_destroy(&e->cv_done);
	pthread_mutex_destroy(&e->mu);
	free(e);
}
