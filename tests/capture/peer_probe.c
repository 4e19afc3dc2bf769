/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peer_probe.c - drives one sc_peer against a real WebRTC sender for
 * tests/integration/test_peer_webrtcbin.py.
 *
 *   peer_probe --offer FILE [--bind 127.0.0.2] [--seconds 5] [--timeout 20]
 *
 * Reads the sender's offer, answers it (sc_sdp_answer, receive only),
 * waits for SC_PEER_UP, then counts decrypted RTP per SSRC and payload
 * type for --seconds while sending an RR + SDES + PLI compound each second.
 * Prints JSON lines on stdout: {"event":"state",...}, {"event":"answer",
 * "sdp":...}, and last {"event":"stats",...}. Exit 0 when the peer came
 * up, 2 when it failed or timed out, 1 on a usage or setup error.
 */
#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "rtp.h"
#include "sdp.h"

#define MAX_STREAMS 16

typedef struct {
	uint32_t ssrc;
	uint8_t pt;
	uint64_t packets, bytes;
	uint16_t max_seq;
	uint32_t cycles;
	bool seen;
} stream;

typedef struct {
	GMainLoop *loop;
	sc_peer *peer;
	sc_sdp *offer;
	sc_sdp_choice choices[SC_SDP_MAX_MEDIA];
	size_t media_index;
	const char *offer_path;
	unsigned seconds, timeout;
	bool answered, up, failed;
	char why[256];
	stream streams[MAX_STREAMS];
	size_t n_streams;
	uint64_t bad_rtp, rtcp_in, rtcp_sent, rtcp_send_errors, ticks;
	GSource *tick, *end;
	int exit_code;
} probe;

static void emit(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	if (s) {
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	}
	json_decref(obj);
}

static void finish(probe *pr, int code)
{
	pr->exit_code = code;
	g_main_loop_quit(pr->loop);
}

static void send_answer(probe *pr)
{
	char err[256];
	sc_sdp_local local;
	sc_peer_local(pr->peer, true, &local);
	char *sdp = sc_sdp_answer(pr->offer, &local, pr->choices, err, sizeof(err));
	if (!sdp) {
		emit(json_pack("{s:s, s:s}", "event", "error", "error", err));
		finish(pr, 1);
		return;
	}
	if (sc_peer_set_remote(pr->peer, pr->offer, pr->media_index, err, sizeof(err)) < 0) {
		free(sdp);
		emit(json_pack("{s:s, s:s}", "event", "error", "error", err));
		finish(pr, 1);
		return;
	}
	json_t *ch = json_array();
	for (size_t i = 0; i < pr->offer->n_media; i++)
		json_array_append_new(
			ch, json_pack("{s:b, s:i, s:s}", "accepted", pr->choices[i].accepted, "pt",
				      pr->choices[i].pt, "codec", pr->choices[i].codec));
	emit(json_pack("{s:s, s:s, s:o}", "event", "answer", "sdp", sdp, "choices", ch));
	free(sdp);
	pr->answered = true;
}

static gboolean on_tick(gpointer ud)
{
	probe *pr = ud;
	sc_sdp_local local;
	sc_peer_local(pr->peer, true, &local);
	uint8_t pkt[1200];
	size_t n = 0;
	sc_rtcp_report rb[MAX_STREAMS];
	size_t nb = 0;
	for (size_t i = 0; i < pr->n_streams && nb < 31; i++) {
		stream *s = &pr->streams[i];
		rb[nb++] = (sc_rtcp_report){.ssrc = s->ssrc,
					    .highest_seq = s->cycles << 16 | s->max_seq};
	}
	int r = sc_rtcp_build_rr(pkt, sizeof(pkt), local.ssrc, rb, nb);
	if (r > 0)
		n += (size_t)r;
	/* SDES CNAME "probe" */
	static const uint8_t cname[] = {'p', 'r', 'o', 'b', 'e'};
	uint8_t *sd = pkt + n;
	sd[0] = 0x81;
	sd[1] = 202;
	sd[2] = 0;
	sd[3] = 3; /* 4 words after the header word */
	sd[4] = (uint8_t)(local.ssrc >> 24);
	sd[5] = (uint8_t)(local.ssrc >> 16);
	sd[6] = (uint8_t)(local.ssrc >> 8);
	sd[7] = (uint8_t)local.ssrc;
	sd[8] = 1; /* CNAME */
	sd[9] = sizeof(cname);
	memcpy(sd + 10, cname, sizeof(cname));
	memset(sd + 10 + sizeof(cname), 0, 16 - 10 - sizeof(cname));
	n += 16;
	for (size_t i = 0; i < pr->offer->n_media; i++) {
		const sc_sdp_media *m = &pr->offer->media[i];
		if (strcmp(m->kind, "video") || !m->ssrc || !pr->choices[i].accepted)
			continue;
		r = sc_rtcp_build_pli(pkt + n, sizeof(pkt) - n, local.ssrc, m->ssrc);
		if (r > 0)
			n += (size_t)r;
	}
	if (sc_peer_send_rtcp(pr->peer, pkt, n) == 0)
		pr->rtcp_sent++;
	else
		pr->rtcp_send_errors++;
	pr->ticks++;
	sc_peer_stats st;
	sc_peer_get_stats(pr->peer, &st);
	emit(json_pack("{s:s, s:f, s:I, s:I, s:I, s:I}", "event", "tick", "t",
		       g_get_monotonic_time() / 1e6, "rtp", (json_int_t)st.rtp, "rtcp",
		       (json_int_t)st.rtcp, "dropped_unknown", (json_int_t)st.dropped_unknown,
		       "dropped_srtp", (json_int_t)st.dropped_srtp));
	return G_SOURCE_CONTINUE;
}

static gboolean on_end(gpointer ud)
{
	probe *pr = ud;
	pr->end = NULL;
	finish(pr, pr->up && !pr->failed ? 0 : 2);
	return G_SOURCE_REMOVE;
}

static void end_in(probe *pr, unsigned seconds)
{
	if (pr->end)
		g_source_destroy(pr->end);
	pr->end = g_timeout_source_new_seconds(seconds);
	g_source_set_callback(pr->end, on_end, pr, NULL);
	g_source_attach(pr->end, g_main_loop_get_context(pr->loop));
	g_source_unref(pr->end);
}

static void on_state(void *ud, sc_peer_state st, const char *why)
{
	probe *pr = ud;
	emit(json_pack("{s:s, s:s, s:s, s:f}", "event", "state", "state", sc_peer_state_name(st),
		       "why", why ? why : "", "t", g_get_monotonic_time() / 1e6));
	if (st == SC_PEER_GATHERED && !pr->answered) {
		send_answer(pr);
	} else if (st == SC_PEER_UP) {
		pr->up = true;
		pr->tick = g_timeout_source_new(1000);
		g_source_set_callback(pr->tick, on_tick, pr, NULL);
		g_source_attach(pr->tick, g_main_loop_get_context(pr->loop));
		end_in(pr, pr->seconds);
	} else if (st == SC_PEER_FAILED) {
		pr->failed = true;
		snprintf(pr->why, sizeof(pr->why), "%s", why ? why : "");
		end_in(pr, 2); /* keep listening: nothing may get through */
	}
}

static void on_rtp(void *ud, const uint8_t *pkt, size_t len)
{
	probe *pr = ud;
	sc_rtp r;
	if (sc_rtp_parse(pkt, len, &r) < 0 || (pkt[0] >> 6) != 2) {
		pr->bad_rtp++;
		return;
	}
	stream *s = NULL;
	for (size_t i = 0; i < pr->n_streams; i++)
		if (pr->streams[i].ssrc == r.ssrc && pr->streams[i].pt == r.pt)
			s = &pr->streams[i];
	if (!s) {
		if (pr->n_streams == MAX_STREAMS)
			return;
		s = &pr->streams[pr->n_streams++];
		*s = (stream){.ssrc = r.ssrc, .pt = r.pt};
	}
	if (!s->seen || (uint16_t)(r.seq - s->max_seq) < 0x8000) {
		if (s->seen && r.seq < s->max_seq)
			s->cycles++;
		s->max_seq = r.seq;
		s->seen = true;
	}
	s->packets++;
	s->bytes += len;
}

static void on_rtcp(void *ud, const uint8_t *pkt, size_t len)
{
	probe *pr = ud;
	(void)pkt, (void)len;
	pr->rtcp_in++;
}

static void print_stats(probe *pr)
{
	json_t *streams = json_array(), *offered = json_array();
	for (size_t i = 0; i < pr->n_streams; i++) {
		stream *s = &pr->streams[i];
		json_array_append_new(streams,
				      json_pack("{s:I, s:i, s:I, s:I}", "ssrc", (json_int_t)s->ssrc,
						"pt", s->pt, "packets", (json_int_t)s->packets,
						"bytes", (json_int_t)s->bytes));
	}
	for (size_t i = 0; pr->offer && i < pr->offer->n_media; i++)
		json_array_append_new(offered,
				      json_pack("{s:s, s:I}", "kind", pr->offer->media[i].kind,
						"ssrc", (json_int_t)pr->offer->media[i].ssrc));
	sc_peer_stats st = {0};
	if (pr->peer)
		sc_peer_get_stats(pr->peer, &st);
	json_t *ps = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_packets",
			       (json_int_t)st.rx_packets, "rx_bytes", (json_int_t)st.rx_bytes,
			       "rtp", (json_int_t)st.rtp, "rtcp", (json_int_t)st.rtcp, "dtls",
			       (json_int_t)st.dtls, "dropped_unknown",
			       (json_int_t)st.dropped_unknown, "dropped_srtp",
			       (json_int_t)st.dropped_srtp, "tx_rtcp", (json_int_t)st.tx_rtcp);
	emit(json_pack("{s:s, s:b, s:b, s:s, s:o, s:o, s:o, s:I, s:I, s:I, s:I}", "event", "stats",
		       "up", pr->up, "failed", pr->failed, "why", pr->why, "peer", ps, "streams",
		       streams, "offered", offered, "bad_rtp", (json_int_t)pr->bad_rtp, "rtcp_in",
		       (json_int_t)pr->rtcp_in, "rtcp_sent", (json_int_t)pr->rtcp_sent,
		       "rtcp_send_errors", (json_int_t)pr->rtcp_send_errors));
}

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	char *buf = malloc(SC_SDP_MAX_TEXT + 1);
	size_t n = buf ? fread(buf, 1, SC_SDP_MAX_TEXT + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf || n > SC_SDP_MAX_TEXT) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*ret_len = n;
	return buf;
}

int main(int argc, char **argv)
{
	probe pr = {.offer_path = "-", .seconds = 5, .timeout = 20, .exit_code = 1};
	const char *bind = "127.0.0.2";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--offer"))
			pr.offer_path = argv[i + 1];
		else if (!strcmp(argv[i], "--bind"))
			bind = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			pr.seconds = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--timeout"))
			pr.timeout = (unsigned)atoi(argv[i + 1]);
		else {
			fprintf(stderr, "usage: %s --offer FILE [--bind IP] [--seconds N]\n",
				argv[0]);
			return 1;
		}
	}
	size_t len = 0;
	char *text = read_all(pr.offer_path, &len);
	if (!text) {
		fprintf(stderr, "cannot read the offer from %s\n", pr.offer_path);
		return 1;
	}
	char err[256];
	pr.offer = sc_sdp_parse(text, len, err, sizeof(err));
	free(text);
	if (!pr.offer) {
		emit(json_pack("{s:s, s:s}", "event", "error", "error", err));
		return 1;
	}
	for (pr.media_index = 0; pr.media_index < pr.offer->n_media; pr.media_index++)
		if (pr.offer->media[pr.media_index].port != 0)
			break;
	GMainContext *ctx = g_main_context_new();
	pr.loop = g_main_loop_new(ctx, FALSE);
	sc_peer_config cfg = {.ctx = ctx,
			      .controlling = false,
			      .bind_address = *bind ? bind : NULL,
			      .on_state = on_state,
			      .on_rtp = on_rtp,
			      .on_rtcp = on_rtcp,
			      .ud = &pr};
	pr.peer = sc_peer_new(&cfg, err, sizeof(err));
	if (!pr.peer) {
		emit(json_pack("{s:s, s:s}", "event", "error", "error", err));
		goto out;
	}
	end_in(&pr, pr.timeout); /* replaced once the peer is up or failed */
	g_main_loop_run(pr.loop);
	print_stats(&pr);
out:
	if (pr.tick) {
		g_source_destroy(pr.tick);
		g_source_unref(pr.tick);
	}
	sc_peer_free(pr.peer);
	free(pr.offer);
	g_main_loop_unref(pr.loop);
	g_main_context_unref(ctx);
	return pr.exit_code;
}
