/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer_e2e - synthetic participants through sc_mixer to an RTMP URL, for
 * tests/integration/test_mixer_e2e.py and for measuring the back end.
 *
 *   mixer_e2e URL [--profile 360p15] [--layout grid] [--sources 2]
 *             [--src-size 640x360] [--src-fps 15] [--seconds 0] [--motion]
 *
 * Source i sends a solid colour (red, blue, green, yellow, ...) as VP8
 * (even i) or H.264 (odd i) and a tone of 440 * (i + 1) Hz as Opus,
 * encoded in-process, stamped with the capture clock as they are sent.
 * Prints one JSON line of stats every 100 ms and whenever the output's
 * state changes (checked every 10 ms). Stops on SIGTERM/SIGINT or after
 * --seconds; exits 0 after a clean sc_mixer_free.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/log.h>

#include "mixer.h"
#include "source.h"
#include "synth.h"

#define MAX_SRC 9

static const uint8_t colours[MAX_SRC][3] = {
	{81, 90, 240},	 /* red */
	{41, 240, 110},	 /* blue */
	{145, 54, 34},	 /* green */
	{210, 16, 146},	 /* yellow */
	{170, 166, 16},	 /* cyan */
	{106, 202, 222}, /* magenta */
	{120, 100, 180}, {200, 128, 128}, {90, 150, 100},
};

static atomic_bool stopping;

typedef struct {
	sc_source *src[MAX_SRC];
	sc_synth *syn[MAX_SRC];
	const char *codec[MAX_SRC];
	int n, fps;
} feeder;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = {t / 1000000, (t % 1000000) * 1000};
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Sends every source's audio every 20 ms and video at fps, in real time. */
static void *feed_main(void *arg)
{
	feeder *f = arg;
	int64_t t0 = now_us();
	int64_t na = 0, nv = 0;
	while (!atomic_load(&stopping)) {
		int64_t ta = t0 + na * 20000, tv = t0 + nv * 1000000 / f->fps;
		int64_t t = ta < tv ? ta : tv;
		sleep_until(t);
		int64_t pts = now_us();
		for (int i = 0; i < f->n; i++) {
			const uint8_t *d;
			size_t len;
			bool key;
			if (t == ta && sc_synth_audio(f->syn[i], &d, &len) == 0)
				sc_source_push_audio(f->src[i], "opus", d, len, pts);
			if (t == tv) {
				bool want = sc_source_take_keyframe_request(f->src[i]);
				if (sc_synth_video(f->syn[i], want, &d, &len, &key) == 0)
					sc_source_push_video(f->src[i], f->codec[i], d, len, key,
							     pts);
			}
		}
		if (t == ta)
			na++;
		if (t == tv)
			nv++;
	}
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, true);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void print_stats(sc_mixer *m)
{
	sc_mixer_stats st;
	sc_mixer_get_stats(m, &st);
	printf("{\"t\": %.3f, \"frames\": %llu, \"audio\": %llu, \"fps\": %.2f, "
	       "\"kbps\": %.0f, \"speed\": %.2f, \"connected\": %s, \"reconnects\": %llu, "
	       "\"dropped\": %llu, \"sources\": %zu, \"first_packet\": %.3f, "
	       "\"rss_kb\": %ld, \"error\": \"%s\"}\n",
	       (double)now_us() / 1e6, (unsigned long long)st.frames_out,
	       (unsigned long long)st.audio_frames_out, st.fps_out, st.video_kbps_out,
	       st.encode_speed, st.output_connected ? "true" : "false",
	       (unsigned long long)st.output_reconnects, (unsigned long long)st.output_dropped,
	       st.sources,
	       st.first_packet_us ? (double)(st.first_packet_us - st.started_us) / 1e6 : -1.0,
	       rss_kb(), strchr(st.output_error, '"') ? "?" : st.output_error);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *profile = "360p15", *layout = "grid";
	int nsrc = 2, sw = 640, sh = 360, sfps = 15;
	double seconds = 0;
	bool motion = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--profile") && v)
			profile = argv[++i];
		else if (!strcmp(a, "--layout") && v)
			layout = argv[++i];
		else if (!strcmp(a, "--sources") && v)
			nsrc = atoi(argv[++i]);
		else if (!strcmp(a, "--src-size") && v && sscanf(v, "%dx%d", &sw, &sh) == 2)
			i++;
		else if (!strcmp(a, "--src-fps") && v)
			sfps = atoi(argv[++i]);
		else if (!strcmp(a, "--motion"))
			motion = true;
		else if (!strcmp(a, "--seconds") && v)
			seconds = atof(argv[++i]);
		else if (a[0] != '-' && !url)
			url = a;
		else {
			fprintf(stderr, "usage: mixer_e2e URL [--profile P] [--layout L] "
					"[--sources N] [--src-size WxH] [--src-fps F] [--seconds "
					"S] [--motion]\n");
			return 2;
		}
	}
	if (!url || nsrc < 0 || nsrc > MAX_SRC || sfps <= 0 || sw <= 0 || sh <= 0) {
		fprintf(stderr, "mixer_e2e: bad arguments\n");
		return 2;
	}
	av_log_set_level(AV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	sc_mixer_config cfg = {.output_url = url, .playout_delay_us = 200000};
	if (sc_profile_parse(profile, &cfg.profile) < 0 ||
	    sc_layout_parse(layout, &cfg.layout) < 0) {
		fprintf(stderr, "mixer_e2e: bad profile or layout\n");
		return 2;
	}
	char err[256];
	sc_mixer *m = sc_mixer_new(&cfg, err, sizeof(err));
	if (!m) {
		fprintf(stderr, "mixer_e2e: %s\n", err);
		return 1;
	}
	feeder f = {.n = nsrc, .fps = sfps};
	for (int i = 0; i < nsrc; i++) {
		char id[16], name[16];
		snprintf(id, sizeof(id), "feed%d", i);
		snprintf(name, sizeof(name), "user%d", i);
		f.codec[i] = i % 2 ? "h264" : "vp8";
		f.src[i] = sc_source_new(id, name);
		f.syn[i] = sc_synth_new(f.codec[i], sw, sh, sfps, colours[i], 440.0 * (i + 1));
		if (!f.src[i] || !f.syn[i]) {
			fprintf(stderr, "mixer_e2e: cannot make source %d\n", i);
			return 1;
		}
		sc_synth_set_motion(f.syn[i], motion);
		sc_mixer_add_source(m, f.src[i]);
	}
	pthread_t feed;
	if (pthread_create(&feed, NULL, feed_main, &f)) {
		fprintf(stderr, "mixer_e2e: cannot start the feeder\n");
		return 1;
	}
	int64_t t0 = now_us(), last_print = 0;
	bool last_conn = false;
	uint64_t last_rec = 0;
	while (!atomic_load(&stopping)) {
		int64_t t = now_us();
		if (seconds > 0 && t - t0 >= (int64_t)(seconds * 1e6))
			break;
		sc_mixer_stats st;
		sc_mixer_get_stats(m, &st);
		if (t - last_print >= 100000 || st.output_connected != last_conn ||
		    st.output_reconnects != last_rec) {
			print_stats(m);
			last_print = t;
			last_conn = st.output_connected;
			last_rec = st.output_reconnects;
		}
		sleep_until(t + 10000);
	}
	atomic_store(&stopping, true);
	pthread_join(feed, NULL);
	print_stats(m);
	for (int i = 0; i < nsrc; i++)
		sc_mixer_remove_source(m, f.src[i]);
	sc_mixer_free(m);
	for (int i = 0; i < nsrc; i++) {
		sc_source_unref(f.src[i]);
		sc_synth_free(f.syn[i]);
	}
	fprintf(stderr, "mixer_e2e: stopped cleanly\n");
	return 0;
}
