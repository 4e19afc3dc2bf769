/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_relay.c - push targets on the relay (a stream's destination is
 * added when it starts and removed when it ends, retried with backoff), and
 * the engine's /metrics and /readyz answers.
 *
 * Targets live in memory: after a scaler restart, targets added before it
 * are not removed by this scaler, and a relay restart loses the targets (the
 * scaler does not add them again). Both are known gaps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "log.h"
#include "metrics.h"
#include "relay_target.h"

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

static void job_drop(sc_engine *e, size_t i)
{
	relay_job *j = &e->jobs[i];
	if (j->url) {
		explicit_bzero(j->url, strlen(j->url));
		free(j->url);
	}
	e->jobs[i] = e->jobs[--e->n_jobs];
}

void eng_relay_add(sc_engine *e, const sc_stream_rec *s, const char *url)
{
	if (!e->relay_api)
		return;
	relay_job *j = job_new(e, s->id, s->name);
	if (j && !(j->url = strdup(url)))
		e->n_jobs--;
}

void eng_relay_remove(sc_engine *e, const char *stream)
{
	/* Not added yet: forget the add. */
	for (size_t i = 0; i < e->n_jobs; i++)
		if (!e->jobs[i].remove && !strcmp(e->jobs[i].stream, stream)) {
			job_drop(e, i);
			return;
		}
	for (size_t i = 0; i < e->n_targets; i++) {
		relay_target *t = &e->targets[i];
		if (strcmp(t->stream, stream))
			continue;
		relay_target gone = *t;
		e->targets[i] = e->targets[--e->n_targets];
		/* A takeover may share the target (same name, same URL). */
		for (size_t k = 0; k < e->n_targets; k++)
			if (!strcmp(e->targets[k].name, gone.name) &&
			    !strcmp(e->targets[k].target, gone.target))
				return;
		relay_job *j = job_new(e, gone.stream, gone.name);
		if (j) {
			j->remove = true;
			snprintf(j->target, sizeof(j->target), "%s", gone.target);
		}
		return;
	}
}

void eng_relay_run(sc_engine *e)
{
	int64_t now = eng_now_ms();
	char err[512], id[TARGET_ID_MAX];

	for (size_t i = 0; i < e->n_jobs;) {
		relay_job *j = &e->jobs[i];
		if (j->next_ms > now) {
			i++;
			continue;
		}
		int rc;
		if (j->remove)
			rc = sc_relay_target_del(e->relay_api, e->relay_token, j->name, j->target,
						 err, sizeof(err));
		else
			rc = sc_relay_target_add(e->relay_api, e->relay_token, j->name, j->url, id,
						 sizeof(id), err, sizeof(err));
		if (rc == 0) {
			if (!j->remove && e->n_targets < RELAY_TARGETS_MAX) {
				relay_target *t = &e->targets[e->n_targets++];
				snprintf(t->stream, sizeof(t->stream), "%s", j->stream);
				snprintf(t->name, sizeof(t->name), "%s", j->name);
				snprintf(t->target, sizeof(t->target), "%s", id);
			}
			eng_event(e, j->remove ? "relay-target-removed" : "relay-target-added",
				  j->stream, "stream %s, relay target %s", j->name,
				  j->remove ? j->target : id);
			job_drop(e, i);
			continue;
		}
		j->attempts++;
		if (j->attempts >= 8 || rc == -EINVAL) {
			eng_event(e, "relay-error", j->stream,
				  "stream %s: gave up %s the push target: %s", j->name,
				  j->remove ? "removing" : "adding", err);
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
