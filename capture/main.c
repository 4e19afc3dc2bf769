/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - stagecast-capture: options, the network thread's main loop,
 * the status server, signals and exit codes.
 *
 * The status server runs on libmicrohttpd's own thread; it serves
 * snapshots that the network thread renders twice a second, so it never
 * touches live state.
 */
#include <errno.h>
#include <glib-unix.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "url.h"

static char *conference, *output, *profile_name, *layout_name, *status_addr, *bind_address, *stun,
	*turn, *turn_user, *turn_password, *bearer_file, *display;
static sc_log_level log_level = SC_LOG_INFO;
static int64_t empty_timeout_ms, max_duration_ms, playout_delay_ms = 200;

static const sc_option options[] = {
	{"conference", 0, SC_OPT_STRING, &conference, "URL",
	 "janus://HOST:PORT/ROOM[?pin=PIN] or whep+http(s)://HOST/PATH"},
	{"output", 0, SC_OPT_STRING, &output, "RTMP_URL",
	 "where the mix goes: rtmp://RELAY/live/NAME?token=TOKEN"},
	{"profile", 0, SC_OPT_STRING, &profile_name, "NAME", "360p15, 720p30 or 1080p30"},
	{"layout", 0, SC_OPT_STRING, &layout_name, "LAYOUT", "grid, speaker or single:NAME"},
	{"status", 0, SC_OPT_ADDR, &status_addr, "ADDR:PORT",
	 "serve /healthz, /metrics and /v1/status here (none: off)"},
	{"empty-timeout", 0, SC_OPT_DURATION, &empty_timeout_ms, "DURATION",
	 "stop when the room has been empty this long (0: never)"},
	{"max-duration", 0, SC_OPT_DURATION, &max_duration_ms, "DURATION",
	 "stop after this long (0: never)"},
	{"playout-delay", 0, SC_OPT_DURATION, &playout_delay_ms, "DURATION",
	 "how far behind live the mix is made (room for jitter and retransmissions)"},
	{"bind-address", 0, SC_OPT_STRING, &bind_address, "IP",
	 "gather ICE candidates on this local address only"},
	{"stun", 0, SC_OPT_STRING, &stun, "HOST:PORT", "STUN server for ICE"},
	{"turn", 0, SC_OPT_STRING, &turn, "HOST:PORT", "TURN server for ICE (UDP)"},
	{"turn-user", 0, SC_OPT_STRING, &turn_user, "USER", "TURN user name"},
	{"turn-password", 0, SC_OPT_STRING, &turn_password, "PASSWORD", "TURN password"},
	{"bearer-token-file", 0, SC_OPT_STRING, &bearer_file, "FILE",
	 "WHEP: send the token in this file as Authorization: Bearer"},
	{"display", 0, SC_OPT_STRING, &display, "NAME", "our name in the room"},
	{"log-level", 0, SC_OPT_LOGLEVEL, &log_level, "LEVEL", "error, warn, info or debug"},
};

static const sc_config_spec spec = {
	.program = "stagecast-capture",
	.synopsis = "Joins a WebRTC conference without a browser, mixes every participant into\n"
		    "one picture and one sound, encodes H.264/AAC and publishes it over RTMP.",
	.epilog = "Exit status:\n"
		  "  0  stopped (SIGTERM, --empty-timeout, --max-duration)\n"
		  "  1  runtime failure\n"
		  "  2  bad options or configuration\n"
		  "  3  the room or WHEP endpoint does not exist\n"
		  "  4  access denied (wrong pin or token)\n"
		  "  5  the conference server cannot be reached\n"
		  "  6  the conference server said something unusable\n"
		  "  7  the RTMP server refused the publish token for good (expired, bad\n"
		  "     signature, or a newer fence has taken the stream over)",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
};

/* ---- status snapshots */

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static char *snap_status, *snap_metrics;
static size_t snap_status_len, snap_metrics_len;

static void serve_copy(sc_http_request *req, const char *mime, char *const *text, const size_t *len)
{
	pthread_mutex_lock(&snap_lock);
	if (*text)
		sc_http_reply(req, 200, mime, *text, *len);
	else
		sc_http_reply_error(req, 503, "starting");
	pthread_mutex_unlock(&snap_lock);
}

static void on_status_request(sc_http_request *req, void *ud)
{
	const char *path = sc_http_path(req);
	if (strcmp(sc_http_method(req), "GET") && strcmp(sc_http_method(req), "HEAD"))
		sc_http_reply_error(req, 405, "only GET");
	else if (!strcmp(path, "/healthz"))
		sc_http_reply(req, 200, "text/plain", "ok\n", 3);
	else if (!strcmp(path, "/v1/status"))
		serve_copy(req, "application/json", &snap_status, &snap_status_len);
	else if (!strcmp(path, "/metrics"))
		serve_copy(req, "text/plain; version=0.0.4; charset=utf-8", &snap_metrics,
			   &snap_metrics_len);
	else
		sc_http_reply_error(req, 404, "not found");
}

static gboolean on_snapshot(gpointer ud)
{
	sc_capture *c = *(sc_capture **)ud;
	if (!c)
		return G_SOURCE_CONTINUE;
	size_t slen = 0, mlen = 0;
	json_t *st = sc_capture_status(c);
	char *s = st ? sc_json_dump(st, &slen) : NULL;
	json_decref(st);
	char *m = sc_capture_metrics(c, &mlen);
	pthread_mutex_lock(&snap_lock);
	free(snap_status);
	free(snap_metrics);
	snap_status = s;
	snap_status_len = slen;
	snap_metrics = m;
	snap_metrics_len = mlen;
	pthread_mutex_unlock(&snap_lock);
	return G_SOURCE_CONTINUE;
}

/* ---- lifecycle */

typedef struct {
	GMainLoop *loop;
	int exit_code;
	sc_capture *cap;
} run_state;

static void on_done(void *ud, int code, const char *why)
{
	run_state *rs = ud;
	if (code == SC_EXIT_OK)
		sc_log_info(NULL, "stopping: %s", why ? why : "done");
	else
		sc_log_error(NULL, "stopping (exit %d): %s", code, why ? why : "failed");
	rs->exit_code = code;
	g_main_loop_quit(rs->loop);
}

static gboolean on_signal(gpointer ud)
{
	run_state *rs = ud;
	sc_capture_stop(rs->cap, "SIGTERM");
	return G_SOURCE_CONTINUE;
}

static int read_token(const char *path, char **ret)
{
	gchar *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return -ENOENT;
	g_strstrip(text);
	*ret = strdup(text);
	g_free(text);
	return *ret ? 0 : -ENOMEM;
}

static int run(int argc, char **argv)
{
	char err[512];
	sc_capture_config cfg = {0};
	char *bearer = NULL;
	int rc;

	profile_name = strdup("720p30");
	layout_name = strdup("grid");
	display = strdup("stagecast");
	sc_log_init("capture");
	rc = sc_config_parse(&spec, argc, argv, err, sizeof(err));
	if (rc == 1)
		return SC_EXIT_OK;
	if (rc < 0)
		goto usage;
	sc_log_set_level(log_level);
	if (!conference || !output) {
		snprintf(err, sizeof(err), "--conference and --output are required");
		goto usage;
	}
	if (strncmp(conference, "janus://", 8) && strncmp(conference, "whep+http://", 12) &&
	    strncmp(conference, "whep+https://", 13)) {
		snprintf(err, sizeof(err), "--conference: want janus://... or whep+http(s)://...");
		goto usage;
	}
	sc_rtmp_url ou;
	if (sc_rtmp_url_parse(output, &ou) < 0 || !ou.name[0]) {
		snprintf(err, sizeof(err), "--output: want rtmp://HOST[:PORT]/APP/NAME");
		goto usage;
	}
	if (sc_profile_parse(profile_name, &cfg.profile) < 0) {
		snprintf(err, sizeof(err), "--profile: \"%s\" is not 360p15, 720p30 or 1080p30",
			 profile_name);
		goto usage;
	}
	if (sc_layout_parse(layout_name, &cfg.layout) < 0) {
		snprintf(err, sizeof(err), "--layout: \"%s\" is not grid, speaker or single:NAME",
			 layout_name);
		goto usage;
	}
	if (bearer_file && read_token(bearer_file, &bearer) < 0) {
		snprintf(err, sizeof(err), "--bearer-token-file %s: cannot read it", bearer_file);
		goto usage;
	}
	cfg.conference = conference;
	cfg.output = output;
	cfg.bind_address = bind_address;
	cfg.stun_server = stun;
	cfg.turn_server = turn;
	cfg.turn_user = turn_user;
	cfg.turn_password = turn_password;
	cfg.bearer_token = bearer;
	cfg.display = display;
	cfg.empty_timeout_ms = empty_timeout_ms;
	cfg.max_duration_ms = max_duration_ms;
	cfg.playout_delay_ms = playout_delay_ms;

	signal(SIGPIPE, SIG_IGN);
	GMainContext *ctx = g_main_context_default();
	run_state rs = {.loop = g_main_loop_new(ctx, FALSE), .exit_code = SC_EXIT_OK};
	sc_http_server *http = NULL;
	if (status_addr) {
		sc_http_config hc = {.addr = status_addr, .handler = on_status_request};
		http = sc_http_new(&hc, err, sizeof(err));
		if (!http) {
			sc_log_error(NULL, "--status: %s", err);
			g_main_loop_unref(rs.loop);
			free(bearer);
			return SC_EXIT_CONFIG;
		}
	}
	char redacted[SC_URL_MAX];
	sc_url_redact(output, redacted, sizeof(redacted));
	sc_log_info(NULL, "joining %s, publishing %s at %s", conference, redacted,
		    cfg.profile.name);

	int code = SC_EXIT_OK;
	rs.cap = sc_capture_new(ctx, &cfg, &code, err, sizeof(err));
	if (!rs.cap) {
		sc_log_error(NULL, "%s", err);
		sc_http_free(http);
		g_main_loop_unref(rs.loop);
		free(bearer);
		return code;
	}
	sc_capture_on_done(rs.cap, on_done, &rs);
	guint sig_term = g_unix_signal_add(SIGTERM, on_signal, &rs);
	guint sig_int = g_unix_signal_add(SIGINT, on_signal, &rs);
	guint snap = g_timeout_add(500, on_snapshot, &rs.cap);

	g_main_loop_run(rs.loop);

	g_source_remove(snap);
	g_source_remove(sig_term);
	g_source_remove(sig_int);
	sc_capture_free(rs.cap);
	sc_http_free(http);
	g_main_loop_unref(rs.loop);
	free(bearer);
	free(snap_status);
	free(snap_metrics);
	sc_log_info(NULL, "stopped");
	return rs.exit_code;

usage:
	fprintf(stderr, "stagecast-capture: %s\nTry 'stagecast-capture --help'.\n", err);
	return SC_EXIT_CONFIG;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	sc_config_free(&spec);
	return rc;
}
