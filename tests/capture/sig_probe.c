/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sig_probe - runs capture/signaling against a conference URL and prints
 * what happens as JSON lines on stdout, for tests/integration:
 *
 *   sig_probe URL [--seconds S] [--display NAME] [--token T]
 *
 *   {"event":"participants","people":[{"feed":..,"display":..}]}
 *   {"event":"offer","streams":[{"mid","kind","feed","display","active"}]}
 *   {"event":"answer", ...}   (WHEP: the server's answer, same map)
 *   {"event":"candidate","mid":..,"candidate":..}
 *   {"event":"error","code":"DENIED","fatal":true,"msg":..}
 *   {"event":"stopped","stop_ms":..}
 *
 * Janus offers are answered with sc_sdp_answer() and dummy ICE/DTLS values
 * (Janus takes the answer; ICE never connects, which is fine here). For
 * WHEP it offers one audio and one video section the same way.
 *
 * Exit: 0 after S seconds or SIGTERM/SIGINT; 2 bad usage or URL;
 * 10 + sc_sig_error on a fatal error (11 unreachable, 12 not found,
 * 13 denied, 14 protocol).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdp.h"
#include "signaling.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static sc_signaling *sig;
static volatile sig_atomic_t quit;
static volatile sig_atomic_t fatal_code;

static const char *const fake_fp =
	"sha-256 "
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:"
	"EE:FF";
static const sc_sdp_local fake_local = {
	.ice_ufrag = "scpr",
	.ice_pwd = "stagecastprobepassword00",
	.fingerprint = NULL, /* set in main */
	.setup = "active",
	.ssrc = 0x5c5c5c5c,
};

static long long now_ms(void);

/* One JSON line, with "t": CLOCK_MONOTONIC milliseconds. */
static void emit(json_t *o)
{
	char *s;

	json_object_set_new(o, "t", json_integer(now_ms()));
	s = json_dumps(o, JSON_COMPACT);

	pthread_mutex_lock(&out_lock);
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	free(s);
	json_decref(o);
}

static json_t *stream_list(const sc_sig_stream *st, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a,
				      json_pack("{s:s, s:s, s:s, s:s, s:b}", "mid", st[i].mid,
						"kind", st[i].kind, "feed", st[i].feed, "display",
						st[i].display, "active", st[i].active));
	return a;
}

static void on_offer(void *ud, const char *sdp, const sc_sig_stream *st, size_t n)
{
	sc_sdp_choice choices[SC_SDP_MAX_MEDIA];
	sc_sdp_local local = fake_local;
	char err[200] = "";
	char *answer = NULL;
	sc_sdp *offer;
	int r = -EINVAL;

	(void)ud;
	emit(json_pack("{s:s, s:o, s:i}", "event", "offer", "streams", stream_list(st, n),
		       "sdp_len", (int)strlen(sdp)));
	local.fingerprint = fake_fp + 0;
	offer = sc_sdp_parse(sdp, strlen(sdp), err, sizeof(err));
	if (offer)
		answer = sc_sdp_answer(offer, &local, choices, err, sizeof(err));
	if (answer)
		r = sc_signaling_answer(sig, answer);
	emit(json_pack("{s:s, s:i, s:s}", "event", "answered", "result", r, "err", err));
	free(answer);
	free(offer);
}

static void on_answer(void *ud, const char *sdp, const sc_sig_stream *st, size_t n)
{
	(void)ud;
	emit(json_pack("{s:s, s:o, s:i}", "event", "answer", "streams", stream_list(st, n),
		       "sdp_len", (int)strlen(sdp)));
}

static void on_candidate(void *ud, const char *mid, const char *cand)
{
	(void)ud;
	emit(json_pack("{s:s, s:s?, s:s?}", "event", "candidate", "mid", mid, "candidate", cand));
}

static void on_participants(void *ud, const sc_sig_stream *people, size_t n)
{
	json_t *a = json_array();

	(void)ud;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "feed", people[i].feed, "display",
						   people[i].display));
	emit(json_pack("{s:s, s:o}", "event", "participants", "people", a));
}

static const char *err_name(sc_sig_error e)
{
	switch (e) {
	case SC_SIG_ERR_UNREACHABLE:
		return "UNREACHABLE";
	case SC_SIG_ERR_NOT_FOUND:
		return "NOT_FOUND";
	case SC_SIG_ERR_DENIED:
		return "DENIED";
	case SC_SIG_ERR_PROTOCOL:
		return "PROTOCOL";
	}
	return "?";
}

static void on_error(void *ud, sc_sig_error e, bool fatal, const char *msg)
{
	(void)ud;
	emit(json_pack("{s:s, s:s, s:b, s:s}", "event", "error", "code", err_name(e), "fatal",
		       fatal, "msg", msg));
	if (fatal)
		fatal_code = 10 + (int)e;
}

static void on_signal(int s)
{
	(void)s;
	quit = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	sc_sig_callbacks cb = {on_offer, on_answer, on_candidate, on_participants, on_error, NULL};
	sc_sig_options opt = {.display = "sig-probe", .connect_timeout_ms = 3000};
	const char *url = NULL;
	double seconds = 3600;
	struct sigaction sa;
	char err[256];
	long long t0, deadline;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--display") == 0 && i + 1 < argc)
			opt.display = argv[++i];
		else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
			opt.bearer_token = argv[++i];
		else if (!url && argv[i][0] != '-')
			url = argv[i];
		else {
			fprintf(stderr,
				"usage: sig_probe URL [--seconds S] [--display N] [--token T]\n");
			return 2;
		}
	}
	if (!url) {
		fprintf(stderr, "usage: sig_probe URL [--seconds S] [--display N] [--token T]\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sig = sc_signaling_new(url, &opt, &cb, err, sizeof(err));
	if (!sig) {
		emit(json_pack("{s:s, s:s}", "event", "bad-url", "msg", err));
		return 2;
	}
	emit(json_pack("{s:s, s:s}", "event", "start", "kind", sc_signaling_name(sig)));
	if (sc_signaling_start(sig) < 0) {
		sc_signaling_free(sig);
		return 14;
	}
	if (strcmp(sc_signaling_name(sig), "whep") == 0) {
		sc_sdp_local local = fake_local;
		char *offer;

		local.fingerprint = fake_fp;
		local.setup = "actpass";
		offer = sc_sdp_offer_recvonly(&local, 1, 1);
		if (!offer || sc_signaling_offer(sig, offer) < 0)
			fatal_code = 14;
		free(offer);
	}
	t0 = now_ms();
	deadline = t0 + (long long)(seconds * 1000);
	while (!quit && !fatal_code && now_ms() < deadline)
		usleep(20000);
	t0 = now_ms();
	sc_signaling_free(sig);
	emit(json_pack("{s:s, s:I}", "event", "stopped", "stop_ms", (json_int_t)(now_ms() - t0)));
	return fatal_code;
}
