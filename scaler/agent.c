/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.c - stagecast-agent: runs on a capture machine, heartbeats to the
 * scaler every 2 s and runs one stagecast-capture per assignment.
 *
 * One thread, one poll(2) loop: a signalfd (SIGCHLD, SIGTERM, SIGINT,
 * SIGHUP) and the output pipe of every capture. Heartbeats and capture
 * status polls are blocking libcurl calls with short time limits, so the
 * loop never stalls for longer than one of them.
 *
 * The rules:
 *  - An assignment (stream, fence) starts a capture in its own process
 *    group. A repeated assignment is a no-op; one with a higher fence for a
 *    stream we run replaces the old capture. Drained agents take no new
 *    assignments.
 *  - A capture is "starting" until its /v1/status says the output is
 *    connected ("live"). Exit 0 is "stopped"; exits 2-4 (configuration, no
 *    such room, denied) and 126/127 (cannot run it) are "failed"; any other
 *    end is restarted with backoff while the assignment stands.
 *  - A stop command: SIGTERM to the group, SIGKILL 10 s later.
 *  - Self-fencing: when no heartbeat has succeeded for longer than the lease
 *    the scaler gave, every capture is stopped (its stream has been, or is
 *    about to be, handed to another instance under a higher fence) and is
 *    reported stopped once the scaler answers again.
 *  - SIGTERM stops every capture, reports them, and exits 0.
 *  - Scaler replicas (--scaler A,B): heartbeats go to the one that last
 *    answered 200. A connection error, a timeout, a 5xx (a standby replica
 *    answers 503) or a reply that is not a heartbeat reply moves on to the
 *    next URL at once, at most one pass over the list per heartbeat
 *    interval. A 401 or 403 (a refused token) moves nowhere: every replica
 *    would say the same; any other answer that is not a heartbeat reply (a
 *    wrong URL, a proxy's 404) moves on too. Self-fencing counts from the last 200 of any of them.
 *    While a replica answers 503 (standing by: no leader in its view, a
 *    failover under way) the agent waits one more lease before it fences:
 *    a new leader takes about a lease to take over and then gives agents
 *    one lease to find it (engine.c), so fencing at one lease would stop
 *    every capture on every scaler failover. The relay's fencing tokens
 *    still refuse a stale publisher meanwhile.
 *  - A capture's state change (started, live, exited, stopped) is sent at
 *    once rather than at the next tick, at most one such extra heartbeat
 *    per URGENT_GAP_MS, and only while the scaler answers.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "url.h"

#define MAX_SLOTS     64
#define MAX_ENTRIES   64 /* what the scaler takes in one heartbeat */
#define REPLY_MAX     (256 * 1024)
#define MAX_SCALERS   8
#define URL_MAX	      1024
#define URGENT_GAP_MS 200 /* between a heartbeat and an extra one for a state change */

/* options */
static sc_strlist scaler_opt;
static char *instance_id, *token_file, *capture_cmd, *bind_address, *log_dir;
static sc_log_level log_level = SC_LOG_INFO;
static int64_t slots = 1, status_base_port, interval_ms = 2000;

static const sc_option options[] = {
	{"scaler", 0, SC_OPT_LIST, &scaler_opt, "URL[,URL...]",
	 "the scaler's API, e.g. http://10.0.0.5:8090; replicas: a comma list or repeat it"},
	{"instance-id", 0, SC_OPT_STRING, &instance_id, "ID", "this machine's id at the scaler"},
	{"slots", 0, SC_OPT_INT, &slots, "N", "captures this machine runs at once", 1, MAX_SLOTS},
	{"token-file", 0, SC_OPT_STRING, &token_file, "FILE",
	 "agent bearer token for the scaler (none: development mode)"},
	{"capture-cmd", 0, SC_OPT_STRING, &capture_cmd, "PATH",
	 "the stagecast-capture binary (default: next to this one, else on PATH)"},
	{"bind-address", 0, SC_OPT_STRING, &bind_address, "IP",
	 "passed to every capture: gather ICE candidates on this address only"},
	{"status-base-port", 0, SC_OPT_INT, &status_base_port, "PORT",
	 "capture status servers on 127.0.0.1:PORT+i (0: any free port)", 0, 65000},
	{"capture-log-dir", 0, SC_OPT_STRING, &log_dir, "DIR",
	 "append each capture's output to DIR/NAME.log (default: our stderr, prefixed)"},
	{"heartbeat-interval", 0, SC_OPT_DURATION, &interval_ms, "DURATION",
	 "time between heartbeats"},
	{"log-level", 0, SC_OPT_LOGLEVEL, &log_level, "LEVEL", "error, warn, info or debug"},
};

static const sc_config_spec spec = {
	.program = "stagecast-agent",
	.synopsis =
		"Runs on a capture machine: heartbeats to stagecast-scaler, starts one\n"
		"stagecast-capture per assignment, reports their state, stops them on command,\n"
		"restarts crashed ones, and stops them all by itself when it has lost the scaler\n"
		"for longer than the lease (self-fencing).\n"
		"With scaler replicas (--scaler A,B) it heartbeats to the one that answers and\n"
		"moves on at once when that one fails, times out or stands by (5xx).",
	.epilog = "Exit status: 0 stopped by SIGTERM/SIGINT, 1 runtime failure, 2 bad options.",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
};

/* state */
static sc_agent_capture caps[MAX_ENTRIES];
static CURL *hb_curl, *st_curl;
static struct curl_slist *hb_headers;
static char auth_header[600], scalers_desc[MAX_SCALERS * (URL_MAX + 2)];
static char hb_urls[MAX_SCALERS][URL_MAX + 32];
static bool down_logged[MAX_SCALERS]; /* its failure was logged since the last 200 */
static size_t n_scalers, cur;	      /* cur: where the next heartbeat goes */
static long ok_scaler = -1;	      /* the last one that answered 200 */
static int64_t lease_ms, last_ok_ms, fenced_logged;
static int64_t next_hb, last_hb_at, pass_start; /* monotonic ms */
static size_t pass_fails;			/* failed tries in this pass */
static bool last_hb_ok, draining, shutting_down;
static bool standby_seen; /* a replica answered 503 since the last 200 */

/* Two entries a slot: one running, one finished but not yet reported (or
 * being replaced by a higher fence). */
static size_t n_caps(void)
{
	return 2 * (size_t)slots < MAX_ENTRIES ? 2 * (size_t)slots : MAX_ENTRIES;
}

/* Start entry c's capture; its status port is base + its index, if set. */
static void spawn_entry(sc_agent_capture *c)
{
	sc_agent_cap_spawn_cfg cfg = {
		.cmd = capture_cmd,
		.bind_address = bind_address,
		.log_dir = log_dir,
		.status_port = status_base_port ? (int)status_base_port + (int)(c - caps) : 0,
	};
	sc_agent_cap_spawn(c, &cfg);
}

/*
 * A capture whose token the relay refused (exit 7) restarts only with a
 * newer one: the scaler signs a fresh token into every reply, so an expired
 * one is replaced within a heartbeat; an assignment under a stale fence is
 * no longer sent, and after two intervals without a newer token the capture
 * is reported failed instead of being refused again and again.
 */
static void restart_entry(sc_agent_capture *c, int64_t now)
{
	if (!c->token_refused || c->output_newer) {
		spawn_entry(c);
		return;
	}
	if (now - c->refused_at < 2 * interval_ms) {
		c->restart_at = now + 250; /* look again soon, without spinning */
		return;
	}
	c->restart_at = 0;
	sc_agent_cap_set(c, AGENT_CAP_FAILED,
			 "the relay refused the publish token and the scaler sent no newer one");
	sc_log_warn(c->name, "%s", c->reason);
}

static void reap(void)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < n_caps(); i++)
			if (caps[i].used && caps[i].pid == pid)
				sc_agent_cap_exited(&caps[i], status);
	}
}

/* ---- heartbeat */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return sc_buf_append(ud, p, size * n) < 0 ? 0 : size * n;
}

static json_t *build_report(void)
{
	json_t *list = json_array();
	for (size_t i = 0; i < n_caps(); i++) {
		sc_agent_capture *c = &caps[i];
		if (!c->used)
			continue;
		c->sent_terminal = sc_agent_cap_terminal(c);
		c->dirty = false;
		json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:s}", "stream", c->stream,
						      "fence", (json_int_t)c->fence, "state",
						      sc_agent_cap_state_names[c->state], "reason",
						      c->reason));
	}
	return json_pack("{s:s, s:I, s:o}", "instance", instance_id, "slots", (json_int_t)slots,
			 "captures", list);
}

static sc_agent_capture *find(const char *stream, uint64_t fence, bool any_fence)
{
	for (size_t i = 0; i < n_caps(); i++)
		if (caps[i].used && !strcmp(caps[i].stream, stream) &&
		    (any_fence || caps[i].fence == fence))
			return &caps[i];
	return NULL;
}

static sc_agent_capture *free_entry(void)
{
	for (size_t i = 0; i < n_caps(); i++)
		if (!caps[i].used)
			return &caps[i];
	return NULL;
}

static size_t busy(void)
{
	size_t n = 0;
	for (size_t i = 0; i < n_caps(); i++)
		n += caps[i].used && !sc_agent_cap_terminal(&caps[i]) && !caps[i].stop_wanted;
	return n;
}

static char *opt_strdup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && s[0] ? strdup(s) : NULL;
}

static void take_assignment(json_t *a)
{
	const char *stream = json_string_value(json_object_get(a, "stream"));
	const char *name = json_string_value(json_object_get(a, "name"));
	json_t *jf = json_object_get(a, "fence");
	if (!stream || !stream[0] || strlen(stream) >= sizeof(caps[0].stream) || !name ||
	    !sc_stream_name_valid(name) || !json_is_integer(jf) || json_integer_value(jf) < 0 ||
	    !json_is_string(json_object_get(a, "conference")) ||
	    !json_is_string(json_object_get(a, "output"))) {
		sc_log_warn(NULL, "ignoring a malformed assignment from the scaler");
		return;
	}
	uint64_t fence = (uint64_t)json_integer_value(jf);
	sc_agent_capture *known = find(stream, fence, false);
	if (known) { /* running, restarting or finished */
		/*
		 * Every reply carries a freshly signed token: a capture that
		 * restarts after its first token expired (exit 7 when the
		 * relay refuses it) comes back with the newest one.
		 */
		char *output = opt_strdup(a, "output");
		if (output && known->output && strcmp(output, known->output)) {
			explicit_bzero(known->output, strlen(known->output));
			free(known->output);
			known->output = output;
			known->output_newer = true;
			output = NULL;
		}
		free(output);
		return;
	}
	if (draining || shutting_down) {
		static char refused[128]; /* say it once, not every heartbeat */
		if (strcmp(refused, stream))
			sc_log_info(name, "not taking stream %s: %s", stream,
				    shutting_down ? "shutting down" : "draining");
		snprintf(refused, sizeof(refused), "%s", stream);
		return;
	}
	for (size_t i = 0; i < n_caps(); i++) {
		sc_agent_capture *old = &caps[i];
		if (old->used && !strcmp(old->stream, stream) && old->fence < fence)
			sc_agent_cap_stop(old, "superseded by a newer assignment");
	}
	sc_agent_capture *c = busy() < (size_t)slots ? free_entry() : NULL;
	if (!c) {
		sc_log_warn(name, "no free slot for stream %s (%d slots)", stream, (int)slots);
		return;
	}
	sc_agent_cap_clear(c);
	c->used = true;
	snprintf(c->stream, sizeof(c->stream), "%s", stream);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fence = fence;
	c->conference = opt_strdup(a, "conference");
	c->output = opt_strdup(a, "output");
	c->profile = opt_strdup(a, "profile");
	c->layout = opt_strdup(a, "layout");
	if (!c->conference || !c->output) {
		sc_agent_cap_clear(c);
		sc_log_warn(name, "assignment %s without conference or output", stream);
		return;
	}
	sc_log_info(name, "assigned stream %s, fence %" PRIu64, stream, fence);
	spawn_entry(c);
}

static void take_reply(json_t *r)
{
	json_t *v;
	size_t i;

	v = json_object_get(r, "lease_ms");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		lease_ms = json_integer_value(v);
	bool drain = json_is_true(json_object_get(r, "drain"));
	if (drain != draining)
		sc_log_info(NULL, drain ? "draining: no new streams" : "no longer draining");
	draining = drain;

	json_t *stops = json_object_get(r, "stop");
	json_array_foreach(stops, i, v)
	{
		const char *id = json_string_value(v);
		if (!id)
			continue;
		bool known = false;
		for (size_t k = 0; k < n_caps(); k++) {
			if (caps[k].used && !strcmp(caps[k].stream, id)) {
				known = true;
				sc_agent_cap_stop(&caps[k], "stopped on request");
			}
		}
		sc_agent_capture *c =
			known || strlen(id) >= sizeof(caps[0].stream) ? NULL : free_entry();
		if (c) { /* not ours (any more): say so, so the scaler can let go */
			sc_agent_cap_clear(c);
			c->used = true;
			snprintf(c->stream, sizeof(c->stream), "%s", id);
			snprintf(c->name, sizeof(c->name), "-");
			sc_agent_cap_set(c, AGENT_CAP_STOPPED, "not running on this instance");
		}
	}

	json_t *assigned = json_object_get(r, "assignments");
	/* Forget finished captures the scaler has heard about and no longer assigns. */
	for (size_t k = 0; k < n_caps(); k++) {
		sc_agent_capture *c = &caps[k];
		if (!c->used || !c->sent_terminal || !sc_agent_cap_terminal(c))
			continue;
		c->reported = true;
		bool still = false;
		json_array_foreach(assigned, i, v)
		{
			const char *s = json_string_value(json_object_get(v, "stream"));
			json_t *f = json_object_get(v, "fence");
			if (s && !strcmp(s, c->stream) && json_is_integer(f) &&
			    (uint64_t)json_integer_value(f) == c->fence)
				still = true;
		}
		if (!still)
			sc_agent_cap_clear(c);
	}
	json_array_foreach(assigned, i, v)
	{
		const char *s = json_string_value(json_object_get(v, "stream"));
		bool stopped = false;
		size_t j;
		json_t *w;
		json_array_foreach(stops, j, w) stopped |=
			s && json_is_string(w) && !strcmp(s, json_string_value(w));
		if (json_is_object(v) && !stopped)
			take_assignment(v);
	}
}

/* One heartbeat to scaler i. 0: it answered 200 with a heartbeat reply;
 * -EAGAIN: try another replica (no connection, timeout, 5xx, not a reply);
 * -EACCES: 401/403, which another replica would repeat. Logs a failure once
 * per scaler until one answers. */
static int heartbeat_to(size_t i)
{
	json_t *report = build_report();
	size_t len = 0;
	char *body = report ? sc_json_dump(report, &len) : NULL;
	sc_buf reply;
	long code = 0;
	char errbuf[CURL_ERROR_SIZE] = "";
	int ret = -EAGAIN;

	json_decref(report);
	if (!body)
		return -ENOMEM;
	sc_buf_init(&reply, REPLY_MAX);
	curl_easy_setopt(hb_curl, CURLOPT_URL, hb_urls[i]);
	curl_easy_setopt(hb_curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(hb_curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(hb_curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(hb_curl, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(hb_curl);
	curl_easy_setopt(hb_curl, CURLOPT_ERRORBUFFER, NULL);
	free(body);
	if (rc == CURLE_OK)
		curl_easy_getinfo(hb_curl, CURLINFO_RESPONSE_CODE, &code);
	json_t *r =
		rc == CURLE_OK ? json_loadb((const char *)reply.data, reply.len, 0, NULL) : NULL;
	if (rc == CURLE_OK && code == 200 && json_is_object(r)) {
		if (ok_scaler >= 0 && (size_t)ok_scaler != i)
			sc_log_info(NULL, "heartbeats go to %s now (was %s)", hb_urls[i],
				    hb_urls[ok_scaler]);
		else if (down_logged[i])
			sc_log_info(NULL, "the scaler answers again");
		else if (ok_scaler < 0 && n_scalers > 1)
			sc_log_info(NULL, "heartbeats go to %s", hb_urls[i]);
		memset(down_logged, 0, sizeof(down_logged));
		ok_scaler = (long)i;
		fenced_logged = 0;
		last_ok_ms = sc_agent_now_ms();
		standby_seen = false;
		take_reply(r);
		ret = 0;
	} else {
		const char *msg = json_string_value(json_object_get(r, "error"));
		if (rc == CURLE_OK && (code == 401 || code == 403))
			ret = -EACCES;
		if (rc == CURLE_OK && code == 503)
			standby_seen = true;
		if (down_logged[i]) {
			/* said once already */
		} else if (rc != CURLE_OK) {
			sc_log_warn(NULL, "heartbeat to %s failed: %s", hb_urls[i],
				    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		} else if (code == 401 || code == 403) {
			sc_log_error(
				NULL,
				"the scaler refused our token (HTTP %ld%s%s): check --token-file",
				code, msg ? ": " : "", msg ? msg : "");
		} else {
			sc_log_warn(NULL, "heartbeat to %s: HTTP %ld%s%s", hb_urls[i], code,
				    msg ? ": " : "", msg ? msg : " (not a heartbeat reply)");
		}
		down_logged[i] = true;
	}
	json_decref(r);
	sc_buf_free(&reply);
	return ret;
}

/* One heartbeat to the current scaler, and when the next one is due. On a
 * failure the next replica is tried at once (next loop turn), until a pass
 * over the list has failed; the next pass starts an interval after this
 * one did. */
static void heartbeat(void)
{
	int64_t t0 = sc_agent_now_ms();
	int rc = heartbeat_to(cur);
	int64_t t1 = sc_agent_now_ms();

	last_hb_at = t1;
	last_hb_ok = rc == 0;
	if (rc != -EAGAIN || n_scalers == 1) {
		pass_fails = 0;
		next_hb = t1 + interval_ms;
		return;
	}
	if (!pass_fails)
		pass_start = t0;
	cur = (cur + 1) % n_scalers;
	if (++pass_fails < n_scalers) {
		next_hb = t1;
		return;
	}
	pass_fails = 0;
	next_hb = pass_start + interval_ms > t1 ? pass_start + interval_ms : t1;
}

/* A capture changed state since the last heartbeat body. */
static bool any_dirty(void)
{
	for (size_t i = 0; i < n_caps(); i++)
		if (caps[i].used && caps[i].dirty)
			return true;
	return false;
}

/* ---- setup */

static int read_token(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = 0;
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
		out[--n] = 0;
	return n ? 0 : -EINVAL;
}

/* The capture binary next to ours, if there is one. */
static char *default_capture_cmd(void)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			const char *tries[] = {"", "/../capture"};
			for (size_t i = 0; i < 2; i++) {
				snprintf(path, sizeof(path), "%s%s/stagecast-capture", self,
					 tries[i]);
				if (access(path, X_OK) == 0)
					return strdup(path);
			}
		}
	}
	return strdup("stagecast-capture");
}

/* Append the comma-separated scaler URLs in list to hb_urls. */
static int add_scalers(const char *list, char *err, size_t errlen)
{
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *u = p;
		size_t n = len;
		p += len + (p[len] == ',');
		while (n && (*u == ' ' || *u == '\t'))
			u++, n--;
		while (n && (u[n - 1] == ' ' || u[n - 1] == '\t'))
			n--;
		if (!n)
			continue;
		if ((n < 8 || strncmp(u, "http://", 7)) && (n < 9 || strncmp(u, "https://", 8))) {
			snprintf(err, errlen, "--scaler: want http(s)://HOST:PORT, got \"%.*s\"",
				 (int)(n < 200 ? n : 200), u);
			return -EINVAL;
		}
		if (n >= URL_MAX || n_scalers == MAX_SCALERS) {
			snprintf(err, errlen, "--scaler: at most %d URLs of %d characters",
				 MAX_SCALERS, URL_MAX - 1);
			return -EINVAL;
		}
		while (n > 8 && u[n - 1] == '/')
			n--;
		snprintf(hb_urls[n_scalers], sizeof(hb_urls[0]), "%.*s/v1/agent/heartbeat", (int)n,
			 u);
		size_t dl = strlen(scalers_desc);
		snprintf(scalers_desc + dl, sizeof(scalers_desc) - dl, "%s%.*s", dl ? ", " : "",
			 (int)n, u);
		n_scalers++;
	}
	return 0;
}

static int setup(int argc, char **argv, int *ret_sfd)
{
	char err[512], token[512];

	int rc = sc_config_parse(&spec, argc, argv, err, sizeof(err));
	if (rc == 1)
		exit(0);
	if (rc < 0)
		goto usage;
	sc_log_set_level(log_level);
	for (size_t i = 0; i < scaler_opt.n; i++)
		if (add_scalers(scaler_opt.v[i], err, sizeof(err)) < 0)
			goto usage;
	if (!n_scalers || !instance_id) {
		snprintf(err, sizeof(err), "--scaler and --instance-id are required");
		goto usage;
	}
	if (!instance_id[0] || strlen(instance_id) >= 64) {
		snprintf(err, sizeof(err), "--instance-id: 1 to 63 characters");
		goto usage;
	}
	if (log_dir) {
		struct stat st;
		if (stat(log_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, sizeof(err), "--capture-log-dir %s: not a directory",
				 log_dir);
			goto usage;
		}
	}
	if (!capture_cmd)
		capture_cmd = default_capture_cmd();
	if (token_file) {
		rc = read_token(token_file, token, sizeof(token));
		if (rc < 0) {
			snprintf(err, sizeof(err), "--token-file %s: %s", token_file,
				 rc == -EINVAL ? "empty" : strerror(-rc));
			goto usage;
		}
		snprintf(auth_header, sizeof(auth_header), "Authorization: Bearer %s", token);
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	hb_curl = curl_easy_init();
	st_curl = curl_easy_init();
	if (!hb_curl || !st_curl)
		return -ENOMEM;
	hb_headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (auth_header[0])
		hb_headers = curl_slist_append(hb_headers, auth_header);
	long to = interval_ms < 1500 ? (long)interval_ms : 1500;
	curl_easy_setopt(hb_curl, CURLOPT_HTTPHEADER, hb_headers);
	curl_easy_setopt(hb_curl, CURLOPT_TIMEOUT_MS, to);
	curl_easy_setopt(hb_curl, CURLOPT_CONNECTTIMEOUT_MS, to);
	curl_easy_setopt(hb_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(hb_curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(st_curl, CURLOPT_TIMEOUT_MS, 400L);
	curl_easy_setopt(st_curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(st_curl, CURLOPT_PROXY, "");
	curl_easy_setopt(hb_curl, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");

	for (size_t i = 0; i < n_caps(); i++)
		caps[i].out_fd = -1;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	*ret_sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return *ret_sfd < 0 ? -errno : 0;

usage:
	fprintf(stderr, "stagecast-agent: %s\nTry 'stagecast-agent --help'.\n", err);
	exit(2);
}

/* ---- the loop */

static bool any_running(void)
{
	for (size_t i = 0; i < n_caps(); i++)
		if (caps[i].used && caps[i].pid)
			return true;
	return false;
}

/* How long without a 200 before the captures stop; 0: no lease yet. */
static int64_t fence_after_ms(void)
{
	return standby_seen ? 2 * lease_ms : lease_ms;
}

static void self_fence(int64_t now)
{
	if (!lease_ms || now - last_ok_ms <= fence_after_ms())
		return;
	char why[160];
	snprintf(why, sizeof(why),
		 "self-fenced: no heartbeat reply for %" PRId64 " ms (lease %" PRId64 " ms%s)",
		 now - last_ok_ms, lease_ms,
		 standby_seen ? ", and one more while a scaler stood by" : "");
	bool any = false;
	for (size_t i = 0; i < n_caps(); i++) {
		if (caps[i].used && !sc_agent_cap_terminal(&caps[i]) && !caps[i].stop_wanted) {
			sc_agent_cap_stop(&caps[i], why);
			any = true;
		}
	}
	if (any && !fenced_logged) {
		sc_log_warn(NULL, "%s: stopping every capture", why);
		fenced_logged = 1;
	}
}

static void on_signals(int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap();
		} else if (!shutting_down) {
			sc_log_info(NULL, "%s: stopping every capture",
				    strsignal((int)si.ssi_signo));
			shutting_down = true;
			for (size_t i = 0; i < n_caps(); i++)
				if (caps[i].used)
					sc_agent_cap_stop(&caps[i], "the agent is stopping");
		} else {
			for (size_t i = 0; i < n_caps(); i++)
				if (caps[i].used && caps[i].pid)
					kill(-caps[i].pid, SIGKILL);
		}
	}
	reap();
}

static void run(int sfd)
{
	struct pollfd pfd[1 + MAX_ENTRIES];
	sc_agent_capture *owner[1 + MAX_ENTRIES];

	sc_log_info(NULL, "instance %s, %d slot(s), scaler%s %s, capture %s", instance_id,
		    (int)slots, n_scalers > 1 ? "s" : "", scalers_desc, capture_cmd);
	while (!shutting_down || any_running()) {
		int64_t now = sc_agent_now_ms();
		bool urgent = last_hb_ok && any_dirty();
		if (now >= next_hb || (urgent && now >= last_hb_at + URGENT_GAP_MS)) {
			heartbeat();
			now = sc_agent_now_ms();
		}
		self_fence(now);
		int64_t wake = next_hb;
		if (last_hb_ok && any_dirty() && last_hb_at + URGENT_GAP_MS < wake)
			wake = last_hb_at + URGENT_GAP_MS;
		for (size_t i = 0; i < n_caps(); i++) {
			sc_agent_capture *c = &caps[i];
			if (!c->used)
				continue;
			if (c->restart_at && now >= c->restart_at && !c->stop_wanted &&
			    !shutting_down)
				restart_entry(c, now);
			if (c->pid && c->kill_at && now >= c->kill_at) {
				sc_log_warn(c->name,
					    "capture pid %d ignored SIGTERM for %d s: SIGKILL",
					    (int)c->pid, SC_AGENT_KILL_AFTER_MS / 1000);
				kill(-c->pid, SIGKILL);
				c->kill_at = now + SC_AGENT_KILL_AFTER_MS;
			}
			if (c->pid && c->state == AGENT_CAP_STARTING && !c->stop_wanted &&
			    c->port > 0 && now >= c->next_status_at) {
				sc_agent_cap_poll_status(c, st_curl);
				c->next_status_at = sc_agent_now_ms() + SC_AGENT_STATUS_EVERY_MS;
			}
			if (c->restart_at && c->restart_at < wake)
				wake = c->restart_at;
			if (c->kill_at && c->kill_at < wake)
				wake = c->kill_at;
			if (c->pid && c->state == AGENT_CAP_STARTING && c->next_status_at < wake)
				wake = c->next_status_at;
		}
		if (lease_ms && any_running() && last_ok_ms + fence_after_ms() + 1 < wake)
			wake = last_ok_ms + fence_after_ms() + 1;
		now = sc_agent_now_ms();
		int timeout = wake <= now ? 0 : (int)(wake - now > 250 ? 250 : wake - now);

		nfds_t n = 0;
		pfd[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (size_t i = 0; i < n_caps(); i++) {
			if (caps[i].used && caps[i].out_fd >= 0) {
				owner[n] = &caps[i];
				pfd[n++] = (struct pollfd){.fd = caps[i].out_fd, .events = POLLIN};
			}
		}
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		for (nfds_t k = 1; k < n; k++)
			if (pfd[k].revents && owner[k]->out_fd == pfd[k].fd &&
			    !sc_agent_cap_read_output(owner[k])) {
				close(owner[k]->out_fd);
				owner[k]->out_fd = -1;
			}
		if (pfd[0].revents)
			on_signals(sfd);
	}
	/* Tell the scaler they are stopped; best effort, each replica once. */
	for (size_t i = 0; shutting_down && i < n_scalers; i++)
		if (heartbeat_to((cur + i) % n_scalers) != -EAGAIN)
			break;
}

int main(int argc, char **argv)
{
	int sfd = -1;
	sc_log_init("agent");
	if (setup(argc, argv, &sfd) < 0) {
		sc_log_error(NULL, "cannot start: %s", strerror(errno));
		return 1;
	}
	run(sfd);
	sc_log_info(NULL, "stopped");
	for (size_t i = 0; i < n_caps(); i++)
		sc_agent_cap_clear(&caps[i]);
	curl_easy_cleanup(hb_curl);
	curl_easy_cleanup(st_curl);
	curl_slist_free_all(hb_headers);
	curl_global_cleanup();
	close(sfd);
	sc_config_free(&spec);
	return 0;
}
