/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture_report.c - what a capture session tells about itself: the
 * /v1/status JSON and the Prometheus metrics. Network thread only (main.c
 * renders snapshots there for the status server's thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_priv.h"
#include "metrics.h"

json_t *sc_capture_status(sc_capture *c)
{
	sc_mixer_stats ms;
	sc_mixer_get_stats(c->mixer, &ms);
	json_t *parts = json_array();
	for (size_t i = 0; i < c->n_parts; i++) {
		participant *p = &c->parts[i];
		sc_source_stats ss;
		sc_source_get_stats(p->src, &ss);
		json_t *o =
			json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:f}, s:{s:s, s:I, s:I, s:I}, s:I}",
				  "id", p->feed, "display", p->display, "video", "codec",
				  ss.video_codec, "width", ss.width, "height", ss.height, "fps",
				  ss.fps, "audio", "codec", ss.audio_codec, "frames",
				  (json_int_t)ss.audio_frames, "late", (json_int_t)ss.audio_late,
				  "replaced", (json_int_t)ss.audio_replaced, "sync_offset_ms",
				  (json_int_t)(p->sync.valid ? p->sync.offset_us / 1000 : 0));
		json_t *tracks = json_array();
		for (size_t k = 0; k < c->n_tracks; k++) {
			if (c->tracks[k].part != i)
				continue;
			sc_track_stats ts;
			sc_track_get_stats(c->tracks[k].t, &ts);
			const sc_track_config *tc = sc_track_config_of(c->tracks[k].t);
			json_array_append_new(
				tracks,
				json_pack("{s:s, s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:f, "
					  "s:b, s:I}",
					  "mid", tc->mid, "kind", tc->kind, "codec", tc->codec,
					  "ssrc", (json_int_t)ts.ssrc, "kbps", ts.kbps, "frames",
					  (json_int_t)ts.frames, "lost", (json_int_t)ts.jb.lost,
					  "nacks", (json_int_t)ts.nacked, "plis",
					  (json_int_t)ts.plis, "frames_dropped",
					  (json_int_t)ts.jb.frames_dropped, "jitter_ms",
					  ts.jb.jitter_ms, "sr", ts.have_sr, "lead_ms",
					  (json_int_t)(ts.lead_us / 1000)));
		}
		json_object_set_new(o, "tracks", tracks);
		json_array_append_new(parts, o);
	}
	sc_peer_stats ps = {0};
	if (c->peer)
		sc_peer_get_stats(c->peer, &ps);
	return json_pack(
		"{s:s, s:f, s:o, s:{s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:b, s:I, s:I, s:s, s:s}, "
		"s:{s:I, s:I, s:I, s:I, s:I}, s:s}",
		"conference", c->whep ? "whep" : "janus", "uptime_s",
		(double)((uint64_t)g_get_monotonic_time() - c->started_us) / 1e6, "participants",
		parts, "output", "profile", c->cfg.profile.name, "width", c->cfg.profile.width,
		"height", c->cfg.profile.height, "fps", c->cfg.profile.fps, "fps_out", ms.fps_out,
		"video_kbps", ms.video_kbps_out, "encode_speed", ms.encode_speed, "connected",
		ms.output_connected, "reconnects", (json_int_t)ms.output_reconnects, "dropped",
		(json_int_t)ms.output_dropped, "error", ms.output_error, "speaker", ms.speaker,
		"transport", "rx_packets", (json_int_t)ps.rx_packets, "dropped_srtp",
		(json_int_t)ps.dropped_srtp, "dropped_unknown",
		(json_int_t)(ps.dropped_unknown + c->rtp_unknown), "rtp_malformed",
		(json_int_t)c->rtp_bad, "rtcp_malformed", (json_int_t)c->rtcp_bad, "last_error",
		c->last_error);
}

char *sc_capture_metrics(sc_capture *c, size_t *ret_len)
{
	sc_metrics m;
	sc_mixer_stats ms;
	sc_metrics_init(&m);
	sc_mixer_get_stats(c->mixer, &ms);
	sc_metrics_family(&m, "stagecast_capture_participants", "gauge",
			  "Participants in the mix.");
	sc_metrics_sample(&m, "stagecast_capture_participants", NULL, (double)c->n_parts);
	sc_metrics_family(&m, "stagecast_capture_frames_out_total", "counter",
			  "Video frames encoded.");
	sc_metrics_sample(&m, "stagecast_capture_frames_out_total", NULL, (double)ms.frames_out);
	sc_metrics_family(&m, "stagecast_capture_output_connected", "gauge",
			  "1 while the RTMP output is connected.");
	sc_metrics_sample(&m, "stagecast_capture_output_connected", NULL,
			  ms.output_connected ? 1 : 0);
	sc_metrics_family(&m, "stagecast_capture_output_reconnects_total", "counter",
			  "RTMP output reconnections.");
	sc_metrics_sample(&m, "stagecast_capture_output_reconnects_total", NULL,
			  (double)ms.output_reconnects);
	sc_metrics_family(&m, "stagecast_capture_encode_speed", "gauge",
			  "Encoded media time per second of encoding.");
	sc_metrics_sample(&m, "stagecast_capture_encode_speed", NULL, ms.encode_speed);

	static const char *const names[] = {"stagecast_capture_rtp_lost_total",
					    "stagecast_capture_nacks_total",
					    "stagecast_capture_plis_total"};
	static const char *const helps[] = {"RTP packets lost.", "Packets asked for again (NACK).",
					    "Key frames asked for (PLI)."};
	for (int f = 0; f < 3; f++) {
		sc_metrics_family(&m, names[f], "counter", helps[f]);
		for (size_t k = 0; k < c->n_tracks; k++) {
			sc_track_stats ts;
			sc_track_get_stats(c->tracks[k].t, &ts);
			const sc_track_config *tc = sc_track_config_of(c->tracks[k].t);
			const participant *p = &c->parts[c->tracks[k].part];
			double v = f == 0   ? (double)ts.jb.lost
				   : f == 1 ? (double)ts.nacked
					    : (double)ts.plis;
			sc_metrics_sample(
				&m, names[f],
				(const char *[]){"participant", p->display, "kind", tc->kind, NULL},
				v);
		}
	}
	return sc_metrics_steal(&m, ret_len);
}
