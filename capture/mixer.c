/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer.c - the mixer/encoder thread and its clock.
 *
 * One start time t0 (CLOCK_MONOTONIC) for both media: video frame i is
 * due at t0 + i/fps and carries pts i (time base 1/fps); audio sample k is
 * due at t0 + k/48000 and carries pts k. Sources are read at the due time
 * minus the playout delay. If the thread falls more than a second behind
 * (the machine is overloaded), it skips ahead: pts stay on the wall clock.
 */
#include "mixer.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "encoder.h"
#include "mixer_audio.h"
#include "mixer_video.h"
#include "output.h"

#define SC_MAX_SOURCES 64
#define SC_RATE	       48000
/* Decoding video on the mixer thread takes at most 1/4 of a frame interval
 * of CPU; sources beyond that move to threads of their own (source.h). */
#define SC_INLINE_DECODE_SHARE 4

struct sc_mixer {
	sc_profile profile;
	sc_layout layout;
	int64_t delay_us;

	sc_encoder *enc;
	sc_output *out;
	sc_mixvid *vid;
	sc_limiter lim;
	AVFrame *canvas;
	float *mix, *tmp;
	int afs; /* audio frame size */

	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	atomic_bool want_key;

	pthread_mutex_t lock; /* sources and stats */
	sc_source *sources[SC_MAX_SOURCES];
	size_t nsources;
	sc_mixer_stats st;
	int64_t fps_t0;
	uint64_t fps_n0;
	double enc_wall_us, enc_media_us; /* over the current window */
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int sc_profile_parse(const char *name, sc_profile *ret)
{
	static const sc_profile profiles[] = {
		{"360p15", 640, 360, 15, 800, 128},
		{"720p30", 1280, 720, 30, 2500, 128},
		{"1080p30", 1920, 1080, 30, 4500, 128},
	};
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (!strcmp(name, profiles[i].name)) {
			*ret = profiles[i];
			return 0;
		}
	}
	return -EINVAL;
}

int sc_layout_parse(const char *s, sc_layout *ret)
{
	sc_layout l = {0};
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "grid")) {
		l.kind = SC_LAYOUT_GRID;
	} else if (!strcmp(s, "speaker")) {
		l.kind = SC_LAYOUT_SPEAKER;
	} else if (!strncmp(s, "single:", 7) && s[7] && strlen(s + 7) < sizeof(l.single)) {
		l.kind = SC_LAYOUT_SINGLE;
		strcpy(l.single, s + 7);
	} else {
		return -EINVAL;
	}
	*ret = l;
	return 0;
}

static void want_keyframe(void *opaque)
{
	sc_mixer *m = opaque;
	atomic_store(&m->want_key, true);
}

static int on_packet(void *opaque, AVPacket *pkt, int stream)
{
	sc_mixer *m = opaque;
	pthread_mutex_lock(&m->lock);
	if (stream == SC_ENC_VIDEO)
		m->st.frames_out++;
	else
		m->st.audio_frames_out++;
	pthread_mutex_unlock(&m->lock);
	sc_output_push(m->out, pkt, stream); /* never blocks; drops count there */
	return 0;
}

static size_t snapshot(sc_mixer *m, sc_source **srcs)
{
	pthread_mutex_lock(&m->lock);
	size_t n = m->nsources;
	for (size_t i = 0; i < n; i++)
		srcs[i] = sc_source_ref(m->sources[i]);
	pthread_mutex_unlock(&m->lock);
	return n;
}

static void mix_video(sc_mixer *m, sc_source **srcs, size_t n, int64_t frame, int64_t t0)
{
	sc_mixvid_input in[SC_MIXVID_MAX_TILES];
	size_t k = n < SC_MIXVID_MAX_TILES ? n : SC_MIXVID_MAX_TILES;
	int64_t due = t0 + frame * 1000000 / m->profile.fps;
	int64_t t = due - m->delay_us;
	int64_t w0 = now_us();
	int64_t budget = 1000000 / (SC_INLINE_DECODE_SHARE * m->profile.fps);
	for (size_t i = 0; i < k; i++) {
		in[i] = (sc_mixvid_input){0};
		in[i].pic = sc_source_video_at(srcs[i], t, &budget, &in[i].age_us);
		in[i].serial = in[i].pic ? (uint64_t)(uintptr_t)in[i].pic->opaque : 0;
		in[i].display = sc_source_display(srcs[i]);
		in[i].level = sc_source_audio_level(srcs[i]);
		in[i].key = srcs[i];
	}
	for (size_t i = k; i < n; i++) { /* not shown, but kept decoded: see source.h */
		AVFrame *pic = sc_source_video_at(srcs[i], t, &budget, NULL);
		av_frame_free(&pic);
	}
	if (av_frame_make_writable(m->canvas) >= 0 &&
	    sc_mixvid_compose(m->vid, in, k, due, m->canvas) >= 0) {
		m->canvas->pts = frame;
		bool key = atomic_exchange(&m->want_key, false);
		sc_encoder_video(m->enc, m->canvas, key, on_packet, m);
	}
	const void *spk = sc_mixvid_speaker(m->vid);
	for (size_t i = 0; i < k; i++)
		av_frame_free((AVFrame **)&in[i].pic);
	int64_t w1 = now_us();

	pthread_mutex_lock(&m->lock);
	m->st.speaker[0] = 0;
	for (size_t i = 0; i < k; i++)
		if (srcs[i] == spk)
			snprintf(m->st.speaker, sizeof(m->st.speaker), "%s",
				 sc_source_display(srcs[i]));
	m->enc_wall_us += (double)(w1 - w0);
	m->enc_media_us += 1e6 / m->profile.fps;
	if (!m->fps_t0) {
		m->fps_t0 = w1;
		m->fps_n0 = m->st.frames_out;
	} else if (w1 - m->fps_t0 >= 2000000) {
		m->st.fps_out =
			(double)(m->st.frames_out - m->fps_n0) * 1e6 / (double)(w1 - m->fps_t0);
		m->st.encode_speed = m->enc_wall_us > 0 ? m->enc_media_us / m->enc_wall_us : 0;
		m->fps_t0 = w1;
		m->fps_n0 = m->st.frames_out;
		m->enc_wall_us = m->enc_media_us = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

static void mix_audio(sc_mixer *m, sc_source **srcs, size_t n, int64_t sample, int64_t t0)
{
	int64_t t = t0 + sample * 1000000 / SC_RATE - m->delay_us;
	memset(m->mix, 0, (size_t)m->afs * 2 * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		if (sc_source_audio_pull(srcs[i], t, m->tmp, (size_t)m->afs))
			sc_mixaud_add(m->mix, m->tmp, (size_t)m->afs);
	}
	sc_limiter_run(&m->lim, m->mix, (size_t)m->afs);
	sc_encoder_audio(m->enc, m->mix, sample, on_packet, m);
}

static void *mixer_main(void *arg)
{
	sc_mixer *m = arg;
	pthread_setname_np(pthread_self(), "sc-mixer");
	sc_source *srcs[SC_MAX_SOURCES];
	int64_t t0 = now_us();
	int64_t frame = 0, sample = 0;
	const int fps = m->profile.fps;
	pthread_mutex_lock(&m->lock);
	m->st.started_us = t0;
	pthread_mutex_unlock(&m->lock);
	while (!atomic_load(&m->stop)) {
		int64_t due = t0 + frame * 1000000 / fps;
		int64_t now = now_us();
		if (due > now) {
			struct timespec ts = {due / 1000000, (due % 1000000) * 1000};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		} else if (now - due > 1000000) {
			/* overloaded: skip ahead, keep the pts on the clock */
			frame = (now - t0) * fps / 1000000;
			int64_t s = (now - t0) * SC_RATE / 1000000;
			sample = s - s % m->afs;
			continue;
		}
		size_t n = snapshot(m, srcs);
		mix_video(m, srcs, n, frame, t0);
		/* audio up to the end of this frame's interval */
		int64_t until = (frame + 1) * SC_RATE / fps;
		while (sample + m->afs <= until) {
			mix_audio(m, srcs, n, sample, t0);
			sample += m->afs;
		}
		sc_output_wake(m->out); /* the frame and its sound, in one wake-up */
		for (size_t i = 0; i < n; i++)
			sc_source_unref(srcs[i]);
		frame++;
	}
	return NULL;
}

sc_mixer *sc_mixer_new(const sc_mixer_config *cfg, char *err, size_t errlen)
{
	sc_mixer *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&m->lock, NULL);
	atomic_init(&m->stop, false);
	atomic_init(&m->want_key, true);
	if (!cfg || !cfg->output_url) {
		snprintf(err, errlen, "no output URL");
		goto fail;
	}
	sc_profile check;
	if (sc_profile_parse(cfg->profile.name, &check) < 0 &&
	    (cfg->profile.width <= 0 || cfg->profile.height <= 0 || cfg->profile.fps <= 0)) {
		snprintf(err, errlen, "bad profile '%s'", cfg->profile.name);
		goto fail;
	}
	m->profile = cfg->profile;
	m->layout = cfg->layout;
	m->delay_us = cfg->playout_delay_us >= 0 ? cfg->playout_delay_us : 200000;
	m->enc = sc_encoder_new(&m->profile, err, errlen);
	if (!m->enc)
		goto fail;
	m->afs = sc_encoder_audio_frame_size(m->enc);
	m->vid = sc_mixvid_new(m->profile.width, m->profile.height, &m->layout);
	m->canvas = av_frame_alloc();
	m->mix = calloc((size_t)m->afs * 2, sizeof(float));
	m->tmp = calloc((size_t)m->afs * 2, sizeof(float));
	if (!m->vid || !m->canvas || !m->mix || !m->tmp || m->afs <= 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	m->canvas->format = AV_PIX_FMT_YUV420P;
	m->canvas->width = m->profile.width;
	m->canvas->height = m->profile.height;
	m->canvas->sample_aspect_ratio = (AVRational){1, 1};
	m->canvas->color_range = AVCOL_RANGE_MPEG;
	if (av_frame_get_buffer(m->canvas, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sc_limiter_init(&m->lim, SC_RATE);
	sc_output_config oc = {
		.url = cfg->output_url,
		.video = sc_encoder_video_ctx(m->enc),
		.audio = sc_encoder_audio_ctx(m->enc),
		.want_keyframe = want_keyframe,
		.opaque = m,
	};
	m->out = sc_output_new(&oc, err, errlen);
	if (!m->out)
		goto fail;
	if (pthread_create(&m->thread, NULL, mixer_main, m)) {
		snprintf(err, errlen, "cannot start the mixer thread");
		goto fail;
	}
	m->thread_started = true;
	return m;
fail:
	sc_mixer_free(m);
	return NULL;
}

void sc_mixer_free(sc_mixer *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		atomic_store(&m->stop, true);
		pthread_join(m->thread, NULL);
		/* flush the encoders into the output queue */
		sc_encoder_video(m->enc, NULL, false, on_packet, m);
		sc_encoder_audio(m->enc, NULL, 0, on_packet, m);
	}
	sc_output_free(m->out); /* writes what is queued, the trailer, closes */
	sc_encoder_free(m->enc);
	sc_mixvid_free(m->vid);
	av_frame_free(&m->canvas);
	free(m->mix);
	free(m->tmp);
	for (size_t i = 0; i < m->nsources; i++)
		sc_source_unref(m->sources[i]);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int sc_mixer_add_source(sc_mixer *m, sc_source *s)
{
	if (!m || !s)
		return -EINVAL;
	int r = 0;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nsources; i++)
		if (m->sources[i] == s)
			r = -EEXIST;
	if (!r && m->nsources >= SC_MAX_SOURCES)
		r = -ENOSPC;
	if (!r)
		m->sources[m->nsources++] = sc_source_ref(s);
	pthread_mutex_unlock(&m->lock);
	return r;
}

void sc_mixer_remove_source(sc_mixer *m, sc_source *s)
{
	if (!m || !s)
		return;
	sc_source *gone = NULL;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->nsources; i++) {
		if (m->sources[i] == s) {
			gone = s;
			memmove(m->sources + i, m->sources + i + 1,
				(m->nsources - i - 1) * sizeof(*m->sources));
			m->nsources--;
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
	sc_source_unref(gone); /* may join its decoder: outside the lock */
}

void sc_mixer_get_stats(sc_mixer *m, sc_mixer_stats *ret)
{
	sc_output_stats os;
	sc_output_get_stats(m->out, &os);
	pthread_mutex_lock(&m->lock);
	*ret = m->st;
	ret->sources = m->nsources;
	pthread_mutex_unlock(&m->lock);
	ret->video_kbps_out = os.video_kbps;
	ret->output_connected = os.connected;
	ret->output_refused = os.refused;
	ret->output_reconnects = os.reconnects;
	ret->output_dropped = os.dropped;
	ret->first_packet_us = os.first_packet_us;
	snprintf(ret->output_error, sizeof(ret->output_error), "%s", os.error);
}
