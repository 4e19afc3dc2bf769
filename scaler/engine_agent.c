/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_agent.c - agent heartbeats: an instance renews its lease, reports
 * its captures, and gets its assignments, stops and drain in the reply.
 *
 * The reply always carries every stream the instance should run (with its
 * fence and a fresh relay token), so an agent that restarted or lost a
 * reply catches up; the agent ignores assignments it already runs.
 * A capture report counts only for the assignment it names (stream and
 * fence): anything else the instance runs is told to stop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_priv.h"
#include "log.h"

static const char *const cap_names[] = {"starting", "live", "stopped", "failed"};

int sc_cap_state_parse(const char *s, sc_cap_state *ret)
{
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (s && !strcmp(s, cap_names[i])) {
			*ret = (sc_cap_state)i;
			return 0;
		}
	return -EINVAL;
}

static bool terminal(sc_cap_state c)
{
	return c == SC_CAP_STOPPED || c == SC_CAP_FAILED;
}

static sc_stream_rec *find(sc_stream_rec *v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].id, id))
			return &v[i];
	return NULL;
}

static void add_stop(json_t *stop, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(stop, i, v) if (!strcmp(json_string_value(v), id)) return;
	json_array_append_new(stop, json_string(id));
}

/* What one capture report means for its stream. */
static void take_report(sc_engine *e, const sc_inst_rec *i, sc_stream_rec *s,
			const sc_cap_report *c)
{
	switch (c->state) {
	case SC_CAP_STARTING:
		if (s->state == SC_ST_ASSIGNED)
			eng_stream_set(e, s, SC_ST_STARTING, "capture starting on %s", i->id);
		break;
	case SC_CAP_LIVE:
		if (s->state == SC_ST_ASSIGNED || s->state == SC_ST_STARTING) {
			if (eng_stream_set(e, s, SC_ST_LIVE, "publishing from %s", i->id) == 0)
				eng_event(e, "live", s->id, "stream %s live from %s, fence %llu",
					  s->name, i->id, (unsigned long long)s->fence);
		}
		break;
	case SC_CAP_STOPPED: {
		char why[300];
		if (s->state == SC_ST_STOPPING || s->stop_requested)
			snprintf(why, sizeof(why), "capture stopped on %s", i->id);
		else
			snprintf(why, sizeof(why), "capture ended on %s: %.200s", i->id,
				 c->reason[0] ? c->reason : "no reason given");
		eng_stream_finish(e, s, SC_ST_STOPPED, why);
		break;
	}
	case SC_CAP_FAILED: {
		char why[300];
		snprintf(why, sizeof(why), "capture failed on %s: %.200s", i->id,
			 c->reason[0] ? c->reason : "no reason given");
		eng_stream_finish(e, s, SC_ST_FAILED, why);
		break;
	}
	}
}

static bool reported(const sc_engine_req *r, const sc_stream_rec *s)
{
	for (size_t k = 0; k < r->hb.n_caps; k++)
		if (!strcmp(r->hb.caps[k].stream, s->id) && r->hb.caps[k].fence == s->fence)
			return true;
	return false;
}

static void output_url(sc_engine *e, const sc_stream_rec *s, char *out, size_t outlen)
{
	char token[SC_TOKEN_MAX];
	int64_t expiry = eng_now_ms() / 1000 + 24 * 3600;

	if (e->secret_len && sc_token_sign(e->secret, e->secret_len, s->name, s->fence, expiry,
					   token, sizeof(token)) == 0)
		snprintf(out, outlen, "%s/%s?token=%s", e->relay_base, s->name, token);
	else
		snprintf(out, outlen, "%s/%s", e->relay_base, s->name);
}

static json_t *build_reply(sc_engine *e, const sc_inst_rec *i, json_t *stop)
{
	sc_stream_rec *v = NULL;
	size_t n = 0;
	char out[2048];
	json_t *assignments = json_array();

	if (e->ops->stream_list(e->sp, true, &v, &n) == 0) {
		for (size_t k = 0; k < n; k++) {
			sc_stream_rec *s = &v[k];
			if (strcmp(s->instance, i->id))
				continue;
			if (s->state == SC_ST_STOPPING) {
				add_stop(stop, s->id);
				continue;
			}
			if (s->state < SC_ST_ASSIGNED || s->state > SC_ST_LIVE)
				continue;
			output_url(e, s, out, sizeof(out));
			json_array_append_new(assignments,
					      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
							"stream", s->id, "name", s->name,
							"conference", s->conference, "output", out,
							"profile", s->profile, "layout", s->layout,
							"fence", (json_int_t)s->fence));
			explicit_bzero(out, sizeof(out));
		}
		sc_stream_recs_free(v, n);
	}
	return json_pack("{s:I, s:o, s:O, s:b}", "lease_ms", (json_int_t)e->cfg.lease_ms,
			 "assignments", assignments, "stop", stop, "drain",
			 i->state == SC_INST_DRAINING);
}

void eng_req_heartbeat(sc_engine *e, sc_engine_req *r)
{
	int64_t now = eng_now_ms();
	sc_inst_rec i;
	sc_stream_rec *v = NULL;
	size_t n = 0;
	int rc = e->ops->inst_get(e->sp, r->hb.instance, &i);

	e->heartbeats++;
	if (rc == -ENOENT) {
		memset(&i, 0, sizeof(i));
		snprintf(i.id, sizeof(i.id), "%s", r->hb.instance);
		snprintf(i.provider_ref, sizeof(i.provider_ref), "%s", r->hb.instance);
		i.created_ms = now;
		i.state = SC_INST_IDLE;
		eng_event(e, "join", i.id, "instance joined with %d slots", r->hb.slots);
	} else if (rc < 0) {
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return;
	} else if (i.state == SC_INST_STARTING || i.state == SC_INST_LOST) {
		eng_event(e, i.state == SC_INST_LOST ? "rejoin" : "join", i.id,
			  "instance %s with %d slots",
			  i.state == SC_INST_LOST ? "is back" : "is up", r->hb.slots);
		i.state = SC_INST_IDLE;
	}
	json_t *stop = json_array();
	if (i.state == SC_INST_GONE) {
		/* Terminated: it keeps nothing and takes nothing. */
		for (size_t k = 0; k < r->hb.n_caps; k++)
			if (!terminal(r->hb.caps[k].state))
				add_stop(stop, r->hb.caps[k].stream);
		r->status = 200;
		r->reply =
			json_pack("{s:I, s:[], s:o, s:b}", "lease_ms", (json_int_t)e->cfg.lease_ms,
				  "assignments", "stop", stop, "drain", 1);
		return;
	}
	i.slots = r->hb.slots;
	i.last_heartbeat_ms = now;
	i.lease_until_ms = now + e->cfg.lease_ms;

	rc = e->ops->stream_list(e->sp, true, &v, &n);
	if (rc < 0) {
		json_decref(stop);
		eng_reply_error(r, 503, "store: %s", strerror(-rc));
		return;
	}
	for (size_t k = 0; k < r->hb.n_caps; k++) {
		const sc_cap_report *c = &r->hb.caps[k];
		sc_stream_rec *s = find(v, n, c->stream);
		bool mine = s && eng_stream_active(s) && !strcmp(s->instance, i.id) &&
			    c->fence == s->fence;
		if (!mine) {
			if (!terminal(c->state))
				add_stop(stop, c->stream);
			continue;
		}
		take_report(e, &i, s, c);
	}
	for (size_t k = 0; k < n; k++) {
		sc_stream_rec *s = &v[k];
		if (!eng_stream_active(s) || strcmp(s->instance, i.id) || reported(r, s))
			continue;
		if (s->state == SC_ST_STOPPING) {
			eng_stream_finish(e, s, SC_ST_STOPPED,
					  "stopped (not running on its instance)");
		} else if (s->state == SC_ST_ASSIGNED &&
			   now - s->updated_ms >
				   (e->cfg.lease_ms > 6000 ? e->cfg.lease_ms : 6000)) {
			s->instance[0] = 0;
			eng_stream_set(e, s, SC_ST_PENDING, "instance %s did not take it", i.id);
			eng_event(e, "unassign", s->id, "stream %s: %s never started it", s->name,
				  i.id);
		}
	}
	e->ops->inst_put(e->sp, &i);
	eng_refresh_instances(e, v, n);
	sc_stream_recs_free(v, n);
	eng_assign(e);
	if (e->ops->inst_get(e->sp, i.id, &i) < 0) {
		json_decref(stop);
		eng_reply_error(r, 503, "store: cannot read the instance back");
		return;
	}
	r->status = 200;
	r->reply = build_reply(e, &i, stop);
	json_decref(stop);
}
