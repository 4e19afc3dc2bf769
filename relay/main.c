/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - stagecast-relay: options, then the event loop until SIGTERM.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "relay.h"

enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

static char *sign_name;
static int64_t sign_fence = 1, sign_ttl = 3600 * 1000;
static sc_log_level log_level = SC_LOG_INFO;

static sc_relay relay = {
	.cfg =
		{
			.hls_segment_ms = 2000,
			.hls_part_ms = 333,
			.hls_window = 6,
			.push_queue_bytes = 8 << 20,
			.push_queue_ms = 5000,
			.player_queue_bytes = 4 << 20,
			.play_merge_ms = 50,
			.max_msg_bytes = 8 << 20,
			.gop_cache_bytes = 32 << 20,
			.max_streams = 1000,
		},
};

#define CFG(field) (&relay.cfg.field)
static const sc_option options[] = {
	{"rtmp", 0, SC_OPT_ADDR, CFG(rtmp_addr), "ADDR:PORT", "RTMP listen address"},
	{"http", 0, SC_OPT_ADDR, CFG(http_addr), "ADDR:PORT",
	 "HTTP listen address (HLS, widget page, /metrics, /v1 API)"},
	{"hls-dir", 0, SC_OPT_STRING, CFG(hls_dir), "DIR",
	 "where HLS files are written, one folder per stream (empty: memory only)"},
	{"hls-segment", 0, SC_OPT_DURATION, CFG(hls_segment_ms), "DURATION",
	 "HLS segment target; segments are cut at the first key frame after it"},
	{"hls-part", 0, SC_OPT_DURATION, CFG(hls_part_ms), "DURATION",
	 "LL-HLS partial segment target (0 turns LL-HLS off)"},
	{"hls-window", 0, SC_OPT_INT, CFG(hls_window), "N", "segments kept in the playlist", 2,
	 100},
	{"push", 0, SC_OPT_LIST, CFG(push), "URL",
	 "push every stream to URL; {name} is the stream name (repeatable)"},
	{"secret-file", 0, SC_OPT_STRING, CFG(secret_file), "FILE",
	 "shared secret for publish tokens (none: development mode, unsigned publishes)"},
	{"api-token-file", 0, SC_OPT_STRING, CFG(api_token_file), "FILE",
	 "bearer token for /v1 changes (none: only loopback clients may change)"},
	{"push-queue", 0, SC_OPT_SIZE, CFG(push_queue_bytes), "SIZE",
	 "bytes a push target may fall behind before it drops to the next key frame"},
	{"push-queue-time", 0, SC_OPT_DURATION, CFG(push_queue_ms), "DURATION",
	 "media time a push target may fall behind before it drops"},
	{"player-queue", 0, SC_OPT_SIZE, CFG(player_queue_bytes), "SIZE",
	 "bytes an RTMP player may fall behind before it drops"},
	{"play-merge", 0, SC_OPT_DURATION, CFG(play_merge_ms), "DURATION",
	 "RTMP players get media in writes spanning this much (0: lowest latency, more CPU)"},
	{"max-message", 0, SC_OPT_SIZE, CFG(max_msg_bytes), "SIZE",
	 "largest RTMP message accepted from a publisher"},
	{"gop-cache", 0, SC_OPT_SIZE, CFG(gop_cache_bytes), "SIZE",
	 "largest GOP kept so that new players start at once"},
	{"max-streams", 0, SC_OPT_INT, CFG(max_streams), "N",
	 "stream names the relay keeps at once (publish, play or API)", 1, 1000000},
	{"log-level", 0, SC_OPT_LOGLEVEL, &log_level, "LEVEL", "error, warn, info or debug"},
	{"sign-token", 0, SC_OPT_STRING, &sign_name, "NAME",
	 "print a publish token for NAME (with --secret-file, --fence, --ttl) and exit"},
	{"fence", 0, SC_OPT_INT, &sign_fence, "N", "fencing number for --sign-token", 0, INT64_MAX},
	{"ttl", 0, SC_OPT_DURATION, &sign_ttl, "DURATION", "lifetime for --sign-token"},
};

static const sc_config_spec spec = {
	.program = "stagecast-relay",
	.synopsis =
		"Takes RTMP streams (one publisher per name, fenced by signed tokens) and fans\n"
		"each out to push targets, RTMP players and low-latency HLS with a widget page.\n"
		"Publish to rtmp://HOST/live/NAME?token=TOKEN; watch at http://HOST/watch/NAME.",
	.epilog = "Exit status: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure (e.g. a port\n"
		  "in use), 2 bad configuration.",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
};

/*
 * glibc: a request of about 4 KB or more (4081 bytes and up) that neither a
 * free block nor the room at the heap's top can serve gets pages of its
 * own, given back when freed, rather than raising the top. Streams' key
 * frames tend to come in the same instant; on the heap they raised its
 * top, and whatever was allocated after them held it up until trimmed:
 * with 20 HLS streams, resident memory jumped by 0.15-0.3 MB every GOP.
 * Costs ~130 mmap/munmap pairs a second with 20 streams (the play path
 * shares one wire copy of a frame among players). Set explicitly, the
 * threshold also stays where glibc would raise it after the first big
 * block freed (the trim threshold stays at its 128 KB). The mappings are
 * capped well below the kernel's vm.max_map_count (a memory-only HLS
 * output holds many blobs); past the cap requests use the heap again. An
 * operator's MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES wins.
 */
static void tune_malloc(void)
{
#ifdef M_MMAP_THRESHOLD
	const char *t = getenv("GLIBC_TUNABLES");

	if (getenv("MALLOC_MMAP_THRESHOLD_") || (t && strstr(t, "mmap_threshold")))
		return;
	if (!mallopt(M_MMAP_MAX, 16384) || !mallopt(M_MMAP_THRESHOLD, 4096))
		sc_log_debug(NULL, "mallopt refused: the heap keeps its defaults");
#endif
}

static int run(int argc, char **argv)
{
	char err[512];
	sc_relay_config *cfg = &relay.cfg;

	cfg->rtmp_addr = strdup("127.0.0.1:1935");
	cfg->http_addr = strdup("127.0.0.1:8080");
	cfg->hls_dir = strdup("/var/lib/stagecast/hls");
	sc_log_init("relay");

	int rc = sc_config_parse(&spec, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "stagecast-relay: %s\nTry 'stagecast-relay --help'.\n", err);
		return EXIT_CONFIG;
	}
	sc_log_set_level(log_level);
	if (cfg->hls_part_ms &&
	    (cfg->hls_part_ms < 100 || cfg->hls_part_ms * 2 > cfg->hls_segment_ms)) {
		fprintf(stderr, "stagecast-relay: --hls-part must be 0 or between 100ms and half "
				"of --hls-segment\n");
		return EXIT_CONFIG;
	}

	if (cfg->secret_file) {
		rc = sc_secret_load(cfg->secret_file, relay.secret, sizeof(relay.secret),
				    &relay.secret_len);
		if (rc < 0) {
			fprintf(stderr, "stagecast-relay: --secret-file %s: %s\n", cfg->secret_file,
				rc == -EINVAL ? "secret shorter than 16 bytes" : strerror(-rc));
			return EXIT_CONFIG;
		}
	}
	if (sign_name) {
		char tok[SC_TOKEN_MAX];
		if (!relay.secret_len) {
			fprintf(stderr, "stagecast-relay: --sign-token needs --secret-file\n");
			return EXIT_CONFIG;
		}
		rc = sc_token_sign(relay.secret, relay.secret_len, sign_name, (uint64_t)sign_fence,
				   time(NULL) + sign_ttl / 1000, tok, sizeof(tok));
		if (rc < 0) {
			fprintf(stderr, "stagecast-relay: cannot sign: %s\n", strerror(-rc));
			return EXIT_CONFIG;
		}
		printf("%s\n", tok);
		return 0;
	}
	if (cfg->api_token_file) {
		rc = sc_token_file_read(cfg->api_token_file, &relay.api_token);
		if (rc < 0) {
			fprintf(stderr, "stagecast-relay: --api-token-file %s: %s\n",
				cfg->api_token_file,
				rc == -EINVAL ? "token shorter than 16 bytes" : strerror(-rc));
			return EXIT_CONFIG;
		}
	}
	if (!relay.secret_len)
		sc_log_warn(NULL, "no --secret-file: development mode, unsigned publishes accepted "
				  "(still one publisher per name)");

	tune_malloc();
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	relay.loop = uv_default_loop();
	if (sc_relay_start(&relay, err, sizeof(err)) < 0) {
		sc_log_error(NULL, "%s", err);
		sc_relay_stop(&relay);
		uv_run(relay.loop, UV_RUN_DEFAULT);
		return EXIT_RUNTIME;
	}
	uv_run(relay.loop, UV_RUN_DEFAULT);
	uv_loop_close(relay.loop);
	sc_log_info(NULL, "stopped");
	return relay.exit_code;
}

int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	sc_config_free(&spec);
	free(relay.api_token);
	return rc;
}
