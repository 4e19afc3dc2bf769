/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - stagecast-scaler: options, the engine thread, the HTTP API,
 * then wait for SIGTERM/SIGINT.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "api.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "sc_config.h"
#include "token.h"
#include "url.h"

#if SC_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static struct {
	char *api, *store, *provider, *relay, *relay_api, *relay_api_token_file;
	char *secret_file, *tokens_file, *agent_cmd, *capture_cmd, *store_key_file;
	char *node_id;
	sc_log_level log_level;
	sc_strlist agent_args;
	int64_t min, max, spare, slots, scale_down_periods;
	int64_t lease_ms, scale_period_ms, scale_down_cooldown_ms, boot_timeout_ms, exec_timeout_ms;
	int64_t retention_ms;
} o = {
	.max = 10,
	.spare = 1,
	.slots = 1,
	.scale_down_periods = 3,
	.lease_ms = 10000,
	.scale_period_ms = 5000,
	.scale_down_cooldown_ms = 30000,
	.boot_timeout_ms = 120000,
	.exec_timeout_ms = 60000,
	.retention_ms = 7 * 24 * 3600 * 1000LL,
};

static const sc_option options[] = {
	{"api", 0, SC_OPT_ADDR, &o.api, "ADDR:PORT", "HTTP API listen address"},
	{"store", 0, SC_OPT_STRING, &o.store, "SPEC",
	 "sqlite:PATH, or etcd://HOST:PORT[,HOST:PORT...] for several scalers"},
	{"provider", 0, SC_OPT_STRING, &o.provider, "KIND",
	 "local (agents as child processes), exec:PATH (a command per action), or none"},
	{"min", 0, SC_OPT_INT, &o.min, "N", "fewest instances in the pool", 0, 10000},
	{"max", 0, SC_OPT_INT, &o.max, "N", "most instances in the pool", 0, 10000},
	{"spare", 0, SC_OPT_INT, &o.spare, "N", "idle instances kept warm", 0, 10000},
	{"relay", 0, SC_OPT_STRING, &o.relay, "RTMP_BASE",
	 "where captures publish: RTMP_BASE/NAME?token=TOKEN"},
	{"relay-api", 0, SC_OPT_STRING, &o.relay_api, "URL",
	 "the relay's HTTP base (push targets, HLS and widget links; empty: none)"},
	{"relay-api-token-file", 0, SC_OPT_STRING, &o.relay_api_token_file, "FILE",
	 "bearer token for the relay's /v1 API"},
	{"secret-file", 0, SC_OPT_STRING, &o.secret_file, "FILE",
	 "secret shared with the relay for publish tokens (none: development mode)"},
	{"tokens-file", 0, SC_OPT_STRING, &o.tokens_file, "FILE",
	 "API tokens, lines \"operator TOKEN\" or \"agent TOKEN\" (none: loopback clients only)"},
	{"lease", 0, SC_OPT_DURATION, &o.lease_ms, "DURATION",
	 "an instance without a heartbeat for this long is lost"},
	{"agent-cmd", 0, SC_OPT_STRING, &o.agent_cmd, "PATH",
	 "local provider: the stagecast-agent binary (default: next to this one, or PATH)"},
	{"capture-cmd", 0, SC_OPT_STRING, &o.capture_cmd, "PATH",
	 "local provider: passed to agents as --capture-cmd"},
	{"agent-arg", 0, SC_OPT_LIST, &o.agent_args, "ARG",
	 "local provider: an extra argument for every agent (repeatable)"},
	{"slots", 0, SC_OPT_INT, &o.slots, "N", "local provider: streams per agent", 1, 64},
	{"scale-period", 0, SC_OPT_DURATION, &o.scale_period_ms, "DURATION",
	 "how often the pool size is decided"},
	{"scale-down-periods", 0, SC_OPT_INT, &o.scale_down_periods, "N",
	 "periods above target before scaling down", 1, 1000},
	{"scale-down-cooldown", 0, SC_OPT_DURATION, &o.scale_down_cooldown_ms, "DURATION",
	 "least time between two scale-downs"},
	{"boot-timeout", 0, SC_OPT_DURATION, &o.boot_timeout_ms, "DURATION",
	 "a started instance must heartbeat within this"},
	{"exec-timeout", 0, SC_OPT_DURATION, &o.exec_timeout_ms, "DURATION",
	 "exec provider: longest a command may run"},
	{"retention", 0, SC_OPT_DURATION, &o.retention_ms, "DURATION",
	 "finished streams (and their history) older than this are purged; 0: kept forever"},
	{"store-key-file", 0, SC_OPT_STRING, &o.store_key_file, "FILE",
	 "without --secret-file: key for destinations in the store (default: STORE.key)"},
	{"node-id", 0, SC_OPT_STRING, &o.node_id, "ID",
	 "this scaler's name for leadership (default HOST:PID)"},
	{"log-level", 0, SC_OPT_LOGLEVEL, &o.log_level, "LEVEL", "error, warn, info or debug"},
};

static const sc_config_spec spec = {
	.program = "stagecast-scaler",
	.synopsis =
		"Keeps a pool of capture instances warm, locks each stream's destination URL\n"
		"and name (one publisher, fenced by tokens the relay checks), assigns streams to\n"
		"agents through their heartbeats, fails over from lost instances and sizes the\n"
		"pool. HTTP API under /v1 (scaler/openapi.yaml), /metrics, /healthz, /readyz.",
	.epilog = "Exit status: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure (the store\n"
		  "cannot be opened or is in use, the port is taken), 2 bad configuration.",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
};

/* The agent binary: next to ours, else on PATH. */
static char *find_agent(void)
{
	char self[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(cand, sizeof(cand), "%s/stagecast-agent", self);
			if (access(cand, X_OK) == 0)
				return strdup(cand);
		}
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		size_t len = strcspn(path, ":");
		snprintf(cand, sizeof(cand), "%.*s/stagecast-agent", (int)len, path);
		if (len && access(cand, X_OK) == 0)
			return strdup(cand);
		path += len + (path[len] == ':');
	}
	return strdup("/usr/bin/stagecast-agent");
}

__attribute__((format(printf, 1, 2))) static int config_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "stagecast-scaler: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_CONFIG;
}

static int run(int argc, char **argv)
{
	char err[512], scaler_url[300], node[300], keyfile[PATH_MAX];
	unsigned char secret[SC_SECRET_MAX];
	size_t secret_len = 0;
	char *relay_token = NULL;
	sc_api *api = NULL;
	sc_engine *e = NULL;
	int rc, code = EXIT_RUNTIME;

	o.api = strdup("127.0.0.1:8090");
	o.store = strdup("sqlite:/var/lib/stagecast/scaler.db");
	o.provider = strdup("local");
	o.relay = strdup("rtmp://127.0.0.1:1935/live");
	o.relay_api = strdup("http://127.0.0.1:8080");
	o.log_level = SC_LOG_INFO;
	sc_log_init("scaler");

	rc = sc_config_parse(&spec, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "stagecast-scaler: %s\nTry 'stagecast-scaler --help'.\n", err);
		return EXIT_CONFIG;
	}
	sc_log_set_level(o.log_level);
	if (o.min > o.max)
		return config_error("--min is above --max");
	if (o.lease_ms < 500)
		return config_error("--lease must be at least 500ms");
	sc_rtmp_url ru;
	if (sc_rtmp_url_parse(o.relay, &ru) < 0 || !ru.app[0] || ru.name[0] || ru.query[0])
		return config_error("--relay \"%s\": want rtmp://HOST[:PORT]/APP", o.relay);
	if (o.relay_api && o.relay_api[0] && strncmp(o.relay_api, "http://", 7) &&
	    strncmp(o.relay_api, "https://", 8))
		return config_error("--relay-api \"%s\": want http(s)://HOST[:PORT]", o.relay_api);
	if (o.secret_file) {
		rc = sc_secret_load(o.secret_file, secret, sizeof(secret), &secret_len);
		if (rc < 0)
			return config_error("--secret-file %s: %s", o.secret_file,
					    rc == -EINVAL ? "secret shorter than 16 bytes"
							  : strerror(-rc));
	}
	if (o.relay_api_token_file) {
		rc = sc_token_file_read(o.relay_api_token_file, &relay_token);
		if (rc < 0)
			return config_error("--relay-api-token-file %s: %s", o.relay_api_token_file,
					    rc == -EINVAL ? "token shorter than 16 bytes"
							  : strerror(-rc));
	}
	api = sc_api_new(o.tokens_file, err, sizeof(err));
	if (!api) {
		code = config_error("%s", err);
		goto out;
	}
	if (!o.store_key_file) {
		if (!strncmp(o.store, "sqlite:", 7))
			snprintf(keyfile, sizeof(keyfile), "%s.key", o.store + 7);
		else
			snprintf(keyfile, sizeof(keyfile), "/var/lib/stagecast/scaler.key");
	} else {
		snprintf(keyfile, sizeof(keyfile), "%s", o.store_key_file);
	}
	if (!o.agent_cmd)
		o.agent_cmd = find_agent();
	char host[256];
	uint16_t port;
	if (sc_parse_hostport(o.api, host, sizeof(host), &port) < 0) {
		code = config_error("--api \"%s\": want HOST:PORT", o.api);
		goto out;
	}
	bool any = !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
	snprintf(scaler_url, sizeof(scaler_url),
		 strchr(host, ':') && !any ? "http://[%s]:%u" : "http://%s:%u",
		 any ? "127.0.0.1" : host, port);
	if (o.node_id) {
		snprintf(node, sizeof(node), "%s", o.node_id);
	} else {
		char hn[200] = "scaler";
		gethostname(hn, sizeof(hn) - 1);
		snprintf(node, sizeof(node), "%s:%d", hn, (int)getpid());
	}

	/* Signals: the main thread waits for them; no other thread gets one. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	sc_engine_config ec = {
		.store_spec = o.store,
		.provider_spec = o.provider,
		.node_id = node,
		.relay_base = o.relay,
		.relay_api = o.relay_api,
		.relay_api_token = relay_token,
		.secret = secret_len ? secret : NULL,
		.secret_len = secret_len,
		.secretbox_key_file = keyfile,
		.lease_ms = o.lease_ms,
		.tick_ms = 500,
		.scale_period_ms = o.scale_period_ms,
		.scale_down_periods = (int)o.scale_down_periods,
		.scale_down_cooldown_ms = o.scale_down_cooldown_ms,
		.boot_timeout_ms = o.boot_timeout_ms,
		.retention_ms = o.retention_ms,
		.pool = {.min = (int)o.min, .max = (int)o.max, .spare = (int)o.spare},
		.agent_cmd = o.agent_cmd,
		.capture_cmd = o.capture_cmd,
		.scaler_url = scaler_url,
		.agent_token = sc_api_agent_token(api),
		.agent_args = (const char *const *)o.agent_args.v,
		.n_agent_args = o.agent_args.n,
		.slots = (int)o.slots,
		.exec_timeout_ms = o.exec_timeout_ms,
	};
	e = sc_engine_new(&ec, err, sizeof(err));
	explicit_bzero(secret, sizeof(secret));
	if (!e) {
		sc_log_error(NULL, "%s", err);
		goto out;
	}
	if (sc_api_listen(api, e, o.api, err, sizeof(err)) < 0) {
		sc_log_error(NULL, "%s", err);
		goto out;
	}
	rc = sc_engine_start(e);
	if (rc < 0) {
		sc_log_error(NULL, "cannot start the engine thread: %s", strerror(-rc));
		goto out;
	}
	if (!o.tokens_file)
		sc_log_warn(NULL, "no --tokens-file: development mode, loopback clients only");
	if (!secret_len)
		sc_log_warn(NULL, "no --secret-file: relay URLs carry no publish token");
	sc_log_info(NULL, "api listening on %s (%s), store %s, provider %s, lease %lld ms", o.api,
		    scaler_url, o.store, o.provider, (long long)o.lease_ms);
#if SC_HAVE_SYSTEMD
	sd_notify(0, "READY=1");
#endif
	int sig = 0;
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		sc_log_info(NULL, "SIGHUP ignored (restart to reload the configuration)");
	sc_log_info(NULL, "signal %d: stopping", sig);
#if SC_HAVE_SYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	code = 0;
out:
	/* The API first, so that no request waits on a stopped engine. */
	sc_api_free(api);
	sc_engine_free(e);
	if (relay_token) {
		explicit_bzero(relay_token, strlen(relay_token));
		free(relay_token);
	}
	curl_global_cleanup();
	if (code == 0)
		sc_log_info(NULL, "stopped");
	return code;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	sc_config_free(&spec);
	return rc;
}
