/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_relay.c - push targets on the relay (a stream's destination is
 * added when it starts and removed when it ends, retried with backoff), and
 * the engine's /metrics and /readyz answers.
 *
 * The target ids live in memory (e->targets), so every RECONCILE_MS the
 * leader reconciles them with one GET of the relay's /v1/streams:
 *  - an active stream whose target the relay no longer has (the relay
 *    restarted) gets it added again (event "relay-target-readded");
 *  - an active stream whose target id we do not know (this scaler
 *    restarted, or the stream was started by another scaler) gets the
 *    idempotent POST: the relay answers the id it has, or makes the target
 *    again if it had lost it too.
 * A removal whose id is unknown (the stream ended before a reconciliation
 * learned it: just after a scaler restart, or while the relay was down)
 * learns it with the same idempotent POST, then DELETEs it; unless a queued
 * add of the same name and URL, or a known target with the learned id, shows
 * that another stream (a takeover) uses that target, or the relay has no
 * runtime target for the name at all (nothing to remove, nothing to POST).
 * Streams asked to stop are not added again (a takeover removes the old
 * stream's target while it is still stopping).
 *
 * When the list fails the relay counts as down: one failed GET per pass,
 * queued changes wait for the next list that works (no blocking call per
 * stream), and the outage is logged once when it starts and once when it
 * ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "log.h"
#include "metrics.h"
#include "relay_target.h"

#define RECONCILE_MS 5000

/* ---- relay push targets */

static relay_job *job_new(sc_engine *e, const char *stream, const char *name)
{
	if (e->n_jobs >= RELAY_JOBS_MAX) {
		eng_event(e, "relay-error", stream, "too many relay changes queued; dropped one");
		return NULL;
	}
	relay_job *j = &e->jobs[e->n_jobs++];
	memset(j, 0, sizeof(*j));
	snprintf(j->stream, sizeof(j->stream), "%s", stream);
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->next_ms = eng_now_ms();
	return j;
}

static void wipe(char *url)
{
	if (url) {
		explicit_bzero(url, strlen(url));
		free(url);
	}
}

/* Keeps the queue's order: a stream's remove must not overtake an add
 * queued before it (a takeover's add of the same target). */
static void job_drop(sc_engine *e, size_t i)
{
	wipe(e->jobs[i].url);
	memmove(&e->jobs[i], &e->jobs[i + 1], (e->n_jobs - i - 1) * sizeof(e->jobs[0]));
	e->n_jobs--;
}

static void queue_add(sc_engine *e, const char *stream, const char *name, char *url,
		      relay_add_why why)
{
	relay_job *j = job_new(e, stream, name);
	if (!j) {
		wipe(url);
		return;
	}
	j->url = url;
	j->why = why;
}

static relay_target *target_find(sc_engine *e, const char *stream)
{
	for (size_t i = 0; i < e->n_targets; i++)
		if (!strcmp(e->targets[i].stream, stream))
			return &e->targets[i];
	return NULL;
}

static void target_set(sc_engine *e, const char *stream, const char *name, const char *id,
		       bool done)
{
	relay_target *t = target_find(e, stream);
	if (!t) {
		if (e->n_targets >= RELAY_TARGETS_MAX)
			return;
		t = &e->targets[e->n_targets++];
	}
	snprintf(t->stream, sizeof(t->stream), "%s", stream);
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->target, sizeof(t->target), "%s", id);
	t->done = done;
}

/* Another stream's known target with this name and id (a takeover to the
 * same destination shares one). */
static bool target_shared(sc_engine *e, const char *stream, const char *name, const char *id)
{
	for (size_t k = 0; k < e->n_targets; k++) {
		const relay_target *t = &e->targets[k];
		if (!t->done && strcmp(t->stream, stream) && !strcmp(t->name, name) &&
		    !strcmp(t->target, id))
			return true;
	}
	return false;
}

/* A queued add of this name and URL by another stream: it adopts the target. */
static bool add_queued(sc_engine *e, const relay_job *r)
{
	for (size_t k = 0; k < e->n_jobs; k++) {
		const relay_job *j = &e->jobs[k];
		if (j != r && !j->remove && j->url && strcmp(j->stream, r->stream) &&
		    !strcmp(j->name, r->name) && !strcmp(j->url, r->url))
			return true;
	}
	return false;
}

/* The stream's destination in the clear (malloc'd; wipe it), or NULL. */
static char *destination(sc_engine *e, const sc_stream_rec *s)
{
	char *url = NULL;
	return eng_destination(e, s, &url) < 0 ? NULL : url;
}

void eng_relay_add(sc_engine *e, const sc_stream_rec *s, const char *url)
{
	if (!e->relay_api)
		return;
	char *copy = strdup(url);
	if (copy)
		queue_add(e, s->id, s->name, copy, RELAY_ADD_START);
}

/* The stream's target is unknown: learn its id, then delete it. */
static void queue_remove_unknown(sc_engine *e, const char *stream)
{
	sc_stream_rec s;
	if (e->ops->stream_get(e->sp, stream, &s) < 0)
		return;
	char *url = destination(e, &s);
	if (url) {
		relay_job *j = job_new(e, s.id, s.name);
		if (j) {
			j->remove = true;
			j->url = url;
		} else {
			wipe(url);
		}
	}
	free(s.destination_sealed);
}

void eng_relay_remove(sc_engine *e, const char *stream)
{
	if (!e->relay_api)
		return;
	relay_target *t = target_find(e, stream);
	if (t && t->done)
		return; /* removed already (a takeover, then the stop) */
	for (size_t i = 0; i < e->n_jobs; i++) {
		relay_job *j = &e->jobs[i];
		if (strcmp(j->stream, stream))
			continue;
		if (j->remove)
			return;
		if (j->why == RELAY_ADD_UNKNOWN || j->attempts > 0) {
			/* The relay may well have it (an add that timed out may
			 * have reached it): remove by URL. */
			j->remove = true;
			j->target[0] = 0;
		} else {
			/* Not added yet (or lost by the relay): forget the add. */
			job_drop(e, i);
		}
		target_set(e, stream, "", "", true);
		return;
	}
	if (!t) {
		/* Started before this scaler (or its id was never learned). */
		queue_remove_unknown(e, stream);
		target_set(e, stream, "", "", true);
		return;
	}
	relay_target gone = *t;
	t->done = true;
	if (!gone.target[0] || target_shared(e, stream, gone.name, gone.target))
		return;
	relay_job *j = job_new(e, gone.stream, gone.name);
	if (j) {
		j->remove = true;
		snprintf(j->target, sizeof(j->target), "%s", gone.target);
	}
}

static bool job_queued(sc_engine *e, const char *stream)
{
	for (size_t i = 0; i < e->n_jobs; i++)
		if (!strcmp(e->jobs[i].stream, stream))
			return true;
	return false;
}

static bool relay_has(const sc_relay_target_ref *v, size_t n, const char *name, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name) && !strcmp(v[i].id, id))
			return true;
	return false;
}

static bool wants_target(const sc_stream_rec *s)
{
	return s->state <= SC_ST_LIVE && !s->stop_requested && s->destination_sealed;
}

#define SWEEP_MS (3600 * 1000LL)

/*
 * Once per leadership: a stream that ended shortly before (within SWEEP_MS)
 * may have had its target's removal queued in the memory of a scaler that
 * then died. Remove those by URL, unless an active stream has the same name
 * (its target might be the same one, with an id not learned yet).
 */
static void sweep_finished(sc_engine *e, const sc_relay_target_ref *v, size_t nv)
{
	sc_stream_rec *s = NULL, *a = NULL;
	size_t ns = 0, na = 0;
	int64_t since = eng_now_ms() - SWEEP_MS;

	if (e->ops->stream_list(e->sp, false, &s, &ns) < 0)
		return;
	if (e->ops->stream_list(e->sp, true, &a, &na) < 0) {
		sc_stream_recs_free(s, ns);
		return;
	}
	for (size_t k = 0; k < ns; k++) {
		bool held = false, at_relay = false;
		if (s[k].state < SC_ST_STOPPED || s[k].updated_ms < since ||
		    target_find(e, s[k].id) || job_queued(e, s[k].id))
			continue;
		for (size_t i = 0; i < na && !held; i++)
			held = !strcmp(a[i].name, s[k].name);
		for (size_t i = 0; i < nv && !at_relay; i++)
			at_relay = !strcmp(v[i].name, s[k].name);
		if (held || !at_relay)
			continue;
		queue_remove_unknown(e, s[k].id);
		target_set(e, s[k].id, "", "", true);
	}
	sc_stream_recs_free(a, na);
	sc_stream_recs_free(s, ns);
}

/* One pass: the relay's targets against the active streams. */
static void reconcile(sc_engine *e)
{
	char err[512];
	sc_relay_target_ref *v = NULL;
	size_t nv = 0, ns = 0;
	sc_stream_rec *s = NULL;

	int rc = sc_relay_targets_list(e->relay_api, e->relay_token, &v, &nv, err, sizeof(err));
	if (rc < 0) {
		if (!e->relay_down)
			sc_log_warn(NULL,
				    "relay: cannot list its push targets (%s); relay changes wait "
				    "until it answers",
				    err);
		e->relay_down = true;
		return;
	}
	if (e->relay_down)
		sc_log_info(NULL, "relay: answers again; checking its push targets");
	e->relay_down = false;
	e->relay_checked = true;
	if (!e->relay_swept) {
		sweep_finished(e, v, nv);
		e->relay_swept = true;
	}
	if (e->ops->stream_list(e->sp, true, &s, &ns) < 0)
		goto out;

	/* Forget what belongs to streams that are over. */
	for (size_t i = 0; i < e->n_targets;) {
		bool active = false;
		for (size_t k = 0; k < ns && !active; k++)
			active = !strcmp(s[k].id, e->targets[i].stream);
		if (active || job_queued(e, e->targets[i].stream))
			i++;
		else
			e->targets[i] = e->targets[--e->n_targets];
	}
	for (size_t k = 0; k < ns; k++) {
		if (!wants_target(&s[k]) || job_queued(e, s[k].id))
			continue;
		relay_target *t = target_find(e, s[k].id);
		if (t && (t->done || relay_has(v, nv, t->name, t->target)))
			continue;
		char *url = destination(e, &s[k]);
		if (!url) {
			sc_log_warn(s[k].name, "relay: cannot open the destination of %s", s[k].id);
			continue;
		}
		if (t) {
			sc_log_warn(s[k].name, "relay: push target %s is gone; adding it again",
				    t->target);
			*t = e->targets[--e->n_targets]; /* the add puts it back */
		}
		queue_add(e, s[k].id, s[k].name, url, t ? RELAY_ADD_LOST : RELAY_ADD_UNKNOWN);
	}
out:
	sc_stream_recs_free(s, ns);
	free(v);
}

/* A removal by URL: learn the id with the idempotent POST. 0 and the id in
 * j->target; 1: nothing to remove (the relay has no runtime target for the
 * name, or another stream uses this one); or an error. The list first keeps
 * the POST from making a target that was not there; if the relay had lost
 * this one but has another for the name, the POST makes it and the DELETE
 * that follows at once takes it away. */
static int learn(sc_engine *e, relay_job *j, char *err, size_t errlen)
{
	char id[TARGET_ID_MAX];
	sc_relay_target_ref *v = NULL;
	size_t nv = 0;

	if (add_queued(e, j))
		return 1;
	int rc = sc_relay_targets_list(e->relay_api, e->relay_token, &v, &nv, err, errlen);
	if (rc < 0)
		return rc;
	bool any = false;
	for (size_t i = 0; i < nv && !any; i++)
		any = !strcmp(v[i].name, j->name);
	free(v);
	if (!any)
		return 1;
	rc = sc_relay_target_add(e->relay_api, e->relay_token, j->name, j->url, id, sizeof(id),
				 NULL, err, errlen);
	if (rc < 0)
		return rc;
	if (target_shared(e, j->stream, j->name, id))
		return 1;
	snprintf(j->target, sizeof(j->target), "%s", id);
	return 0;
}

static void job_done(sc_engine *e, relay_job *j, const char *id, bool created, bool learned)
{
	if (j->remove) {
		eng_event(e, "relay-target-removed", j->stream, "stream %s, relay target %s%s",
			  j->name, j->target,
			  learned ? " (id learned from the relay: the stream started before this "
				    "scaler knew it)"
				  : "");
		return;
	}
	target_set(e, j->stream, j->name, id, false);
	if (j->why != RELAY_ADD_START && created) {
		e->relay_readded++;
		eng_event(e, "relay-target-readded", j->stream,
			  "stream %s, relay target %s (the relay had lost it)", j->name, id);
	} else if (j->why == RELAY_ADD_START) {
		eng_event(e, "relay-target-added", j->stream, "stream %s, relay target %s", j->name,
			  id);
	} else {
		sc_log_info(j->name, "relay: push target %s of %s learned", id, j->stream);
	}
}

void eng_relay_run(sc_engine *e)
{
	int64_t now = eng_now_ms();
	char err[512], id[TARGET_ID_MAX];

	if (!e->relay_api)
		return;
	if (now >= e->relay_check_ms) {
		reconcile(e);
		now = eng_now_ms();
		e->relay_check_ms = now + RECONCILE_MS;
	}
	if (e->relay_down)
		return;
	for (size_t i = 0; i < e->n_jobs;) {
		relay_job *j = &e->jobs[i];
		bool created = false, learned = j->remove && j->url;
		if (j->next_ms > now) {
			i++;
			continue;
		}
		int rc;
		if (j->remove && !j->target[0]) {
			rc = learn(e, j, err, sizeof(err));
			if (rc == 1) {
				sc_log_info(j->name,
					    "relay: nothing of %s to remove (no such target, or "
					    "another stream's)",
					    j->stream);
				job_drop(e, i);
				continue;
			}
		} else if (j->remove && target_shared(e, j->stream, j->name, j->target)) {
			/* A takeover to the same destination adopted it since. */
			job_drop(e, i);
			continue;
		} else {
			rc = 0;
		}
		if (rc == 0 && j->remove)
			rc = sc_relay_target_del(e->relay_api, e->relay_token, j->name, j->target,
						 err, sizeof(err));
		else if (rc == 0)
			rc = sc_relay_target_add(e->relay_api, e->relay_token, j->name, j->url, id,
						 sizeof(id), &created, err, sizeof(err));
		if (rc == 0) {
			job_done(e, j, id, created, learned);
			job_drop(e, i);
			continue;
		}
		j->attempts++;
		if (rc == -EIO && j->attempts < 8) {
			/* Down or hung: the rest of the queue would block the
			 * engine thread (heartbeats) as long again. Wait for the
			 * next reconciliation to see the relay answer. */
			sc_log_warn(j->name, "relay: %s; relay changes wait until it answers", err);
			j->next_ms = now + 1000;
			e->relay_down = true;
			return;
		}
		if (j->attempts >= 8 || rc == -EINVAL) {
			eng_event(e, "relay-error", j->stream,
				  "stream %s: gave up %s the push target: %s", j->name,
				  j->remove ? "removing" : "adding", err);
			if (!j->remove && rc == -EINVAL)
				target_set(e, j->stream, j->name, "", true); /* refused */
			job_drop(e, i);
			continue;
		}
		int64_t backoff = 1000LL << (j->attempts < 5 ? j->attempts : 5);
		sc_log_warn(j->name, "%s the relay push target failed (%s); retry in %llds",
			    j->remove ? "removing" : "adding", err, (long long)backoff / 1000);
		j->next_ms = now + backoff;
		i++;
	}
}

/* ---- metrics, readiness */

void eng_req_metrics(sc_engine *e, sc_engine_req *r)
{
	sc_metrics m;
	sc_stream_rec *s = NULL;
	sc_inst_rec *v = NULL;
	size_t ns = 0, ni = 0;
	double by_state[SC_ST_FAILED + 1] = {0}, inst_by[SC_INST_GONE + 1] = {0};

	if (e->ops->stream_list(e->sp, false, &s, &ns) == 0)
		for (size_t k = 0; k < ns; k++)
			if ((unsigned)s[k].state <= SC_ST_FAILED)
				by_state[s[k].state]++;
	if (e->ops->inst_list(e->sp, &v, &ni) == 0)
		for (size_t k = 0; k < ni; k++)
			if ((unsigned)v[k].state <= SC_INST_GONE)
				inst_by[v[k].state]++;
	sc_stream_recs_free(s, ns);
	free(v);

	sc_metrics_init(&m);
	sc_metrics_family(&m, "stagecast_scaler_streams", "gauge", "Streams by state.");
	for (int k = 0; k <= SC_ST_FAILED; k++)
		sc_metrics_sample(&m, "stagecast_scaler_streams",
				  (const char *[]){"state", sc_stream_state_name(k), NULL},
				  by_state[k]);
	sc_metrics_family(&m, "stagecast_scaler_instances", "gauge", "Instances by state.");
	for (int k = 0; k <= SC_INST_GONE; k++)
		sc_metrics_sample(&m, "stagecast_scaler_instances",
				  (const char *[]){"state", sc_inst_state_name(k), NULL},
				  inst_by[k]);
	sc_metrics_family(&m, "stagecast_scaler_desired_instances", "gauge",
			  "Instances the pool should have (-1: not autoscaling).");
	sc_metrics_sample(&m, "stagecast_scaler_desired_instances", NULL,
			  strcmp(e->pops->name, "none") ? e->last_desired : -1);
	sc_metrics_family(&m, "stagecast_scaler_lock_conflicts_total", "counter",
			  "Starts refused because the destination or name was held.");
	sc_metrics_sample(&m, "stagecast_scaler_lock_conflicts_total", NULL,
			  (double)e->lock_conflicts);
	sc_metrics_family(&m, "stagecast_scaler_heartbeats_total", "counter",
			  "Agent heartbeats answered.");
	sc_metrics_sample(&m, "stagecast_scaler_heartbeats_total", NULL, (double)e->heartbeats);
	sc_metrics_family(&m, "stagecast_scaler_starts_total", "counter", "Streams started.");
	sc_metrics_sample(&m, "stagecast_scaler_starts_total", NULL, (double)e->starts);
	sc_metrics_family(&m, "stagecast_scaler_takeovers_total", "counter",
			  "Streams taken over by a start with takeover.");
	sc_metrics_sample(&m, "stagecast_scaler_takeovers_total", NULL, (double)e->takeovers);
	sc_metrics_family(&m, "stagecast_scaler_failovers_total", "counter",
			  "Streams moved off a lost instance.");
	sc_metrics_sample(&m, "stagecast_scaler_failovers_total", NULL, (double)e->failovers);
	sc_metrics_family(&m, "stagecast_scaler_relay_targets_readded_total", "counter",
			  "Push targets the relay had lost (it restarted), added again.");
	sc_metrics_sample(&m, "stagecast_scaler_relay_targets_readded_total", NULL,
			  (double)e->relay_readded);
	sc_metrics_family(
		&m, "stagecast_scaler_relay_up", "gauge",
		"1 if the relay's API answered the last reconciliation (-1: no relay API, "
		"not leading, or not checked yet).");
	sc_metrics_sample(&m, "stagecast_scaler_relay_up", NULL,
			  !e->relay_api || e->lead != 1 || !e->relay_checked ? -1 : !e->relay_down);
	sc_metrics_family(&m, "stagecast_scaler_leader", "gauge",
			  "1 if this scaler makes the decisions.");
	sc_metrics_sample(&m, "stagecast_scaler_leader", NULL, e->lead == 1);
	r->status = m.oom ? 500 : 200;
	r->text = sc_metrics_steal(&m, &r->text_len);
}

void eng_req_ready(sc_engine *e, sc_engine_req *r)
{
	if (e->lead < 0) {
		eng_reply_error(r, 503, "not ready: the store's leadership is unknown");
		return;
	}
	r->status = 200;
	r->reply = json_pack("{s:b, s:b}", "ready", 1, "leader", e->lead == 1);
}
