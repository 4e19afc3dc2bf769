/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_audio.c - a source's audio: coded Opus queued by the network
 * thread, decoded by the mixer thread as it pulls the sound, and placed in
 * a ring by pts.
 *
 * Audio is kept as 48 kHz interleaved stereo float in a FIFO that covers
 * the absolute sample positions [a_pos, a_pos + a_len) of the capture's
 * clock (position = t_us * 48000 / 1e6). Decoded chunks are appended where
 * the previous one ended as long as that is within SC_AUDIO_TOL of where
 * their pts says they belong; beyond that (the source's clock drifted, or
 * jumped) the chunk is placed at its pts: a gap becomes silence, an
 * overlap drops what was queued after that point.
 */
#include "source_priv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/frame.h>

static int64_t pos_of(int64_t t_us)
{
	/* floor, also for negative times */
	int64_t p = t_us * SC_RATE;
	return p >= 0 ? p / 1000000 : -((-p + 999999) / 1000000);
}

/* Under lock: n stereo frames into the ring from index w on, wrapping:
 * samples, or silence if NULL; valid says which (see sc_source.valid). */
static void ring_write(sc_source *s, size_t w, const float *samples, size_t n, uint8_t valid)
{
	while (n) {
		size_t run = n < SC_AUDIO_CAP - w ? n : SC_AUDIO_CAP - w;
		if (samples) {
			memcpy(s->ring + 2 * w, samples, run * 2 * sizeof(float));
			samples += 2 * run;
		} else {
			memset(s->ring + 2 * w, 0, run * 2 * sizeof(float));
		}
		memset(s->valid + w, valid, run);
		n -= run;
		w = (w + run) % SC_AUDIO_CAP;
	}
}

/* Under lock: n stereo frames out of the ring from index r on, wrapping.
 * Returns how many of them were decoded sound. */
static size_t ring_read(const sc_source *s, size_t r, float *out, size_t n)
{
	size_t got = 0;
	while (n) {
		size_t run = n < SC_AUDIO_CAP - r ? n : SC_AUDIO_CAP - r;
		memcpy(out, s->ring + 2 * r, run * 2 * sizeof(float));
		for (size_t i = 0; i < run; i++)
			got += s->valid[r + i];
		out += 2 * run;
		n -= run;
		r = (r + run) % SC_AUDIO_CAP;
	}
	return got;
}

/* Under lock: n stereo frames of samples at absolute position pos. */
static void audio_place(sc_source *s, const float *samples, int64_t n, int64_t pos)
{
	if (n <= 0)
		return;
	if (s->pulled && pos + n <= s->pull_end) {
		s->st.audio_late++;
		return; /* entirely in the past */
	}
	if (s->a_any) {
		int64_t end = s->a_pos + s->a_len;
		bool near = llabs(pos - end) <= SC_AUDIO_TOL;
		if (!near)
			s->st.audio_replaced++;
		if (near)
			pos = end; /* contiguous */
		else if (pos < s->a_pos || pos > end + SC_AUDIO_CAP)
			s->a_any = false; /* far off: start over */
		else if (pos < end)
			s->a_len = pos - s->a_pos; /* went back: drop the overlap */
	}
	if (s->pulled && pos < s->pull_end) {
		int64_t skip = s->pull_end - pos;
		samples += 2 * skip;
		n -= skip;
		pos = s->pull_end;
		if (s->a_any && s->a_pos + s->a_len < pos)
			s->a_any = false;
	}
	if (!s->a_any) {
		s->a_any = true;
		s->a_pos = pos;
		s->a_len = 0;
		s->a_head = 0;
	}
	if (n > SC_AUDIO_CAP) {
		samples += 2 * (n - SC_AUDIO_CAP);
		pos += n - SC_AUDIO_CAP;
		n = SC_AUDIO_CAP;
	}
	/* silence for a gap, then the samples; drop the oldest beyond cap */
	int64_t gap = pos - (s->a_pos + s->a_len);
	int64_t total = gap + n;
	if (s->a_len + total > SC_AUDIO_CAP) {
		int64_t drop = s->a_len + total - SC_AUDIO_CAP;
		if (drop > s->a_len) {
			/* even the gap does not fit: restart at pos */
			s->a_pos = pos;
			s->a_len = 0;
			s->a_head = 0;
			gap = 0;
		} else {
			s->a_pos += drop;
			s->a_len -= drop;
			s->a_head = (s->a_head + (size_t)drop) % SC_AUDIO_CAP;
			s->st.dropped++;
		}
	}
	size_t w = (s->a_head + (size_t)s->a_len) % SC_AUDIO_CAP;
	ring_write(s, w, NULL, (size_t)gap, 0);
	ring_write(s, (w + (size_t)gap) % SC_AUDIO_CAP, samples, (size_t)n, 1);
	s->a_len += gap + n;
}

static int audio_convert(sc_source *s, AVFrame *f, int *ret_n)
{
	if (!s->swr || f->sample_rate != s->swr_in_rate || f->format != s->swr_in_fmt ||
	    av_channel_layout_compare(&f->ch_layout, &s->swr_in_layout)) {
		AVChannelLayout out = AV_CHANNEL_LAYOUT_STEREO;
		swr_free(&s->swr);
		av_channel_layout_uninit(&s->swr_in_layout);
		if (swr_alloc_set_opts2(&s->swr, &out, AV_SAMPLE_FMT_FLT, SC_RATE, &f->ch_layout,
					f->format, f->sample_rate, 0, NULL) < 0 ||
		    swr_init(s->swr) < 0) {
			swr_free(&s->swr);
			return -EINVAL;
		}
		s->swr_in_rate = f->sample_rate;
		s->swr_in_fmt = f->format;
		av_channel_layout_copy(&s->swr_in_layout, &f->ch_layout);
	}
	int cap = swr_get_out_samples(s->swr, f->nb_samples);
	if (cap < 0)
		return -EINVAL;
	if ((size_t)cap * 2 > s->conv_cap) {
		float *p = realloc(s->conv, (size_t)cap * 2 * sizeof(float));
		if (!p)
			return -ENOMEM;
		s->conv = p;
		s->conv_cap = (size_t)cap * 2;
	}
	uint8_t *outp[1] = {(uint8_t *)s->conv};
	int n = swr_convert(s->swr, outp, cap, (const uint8_t **)f->extended_data, f->nb_samples);
	if (n < 0)
		return -EINVAL;
	*ret_n = n;
	return 0;
}

static void decode_audio(sc_source *s, coded *c)
{
	AVPacket *pkt =
		sc_source_packet_for(s, &s->adec, s->acodec_open, sizeof(s->acodec_open), c);
	if (!pkt)
		return;
	int err = avcodec_send_packet(s->adec, pkt);
	av_packet_free(&pkt);
	bool bad = err < 0;
	while (err >= 0) {
		err = avcodec_receive_frame(s->adec, s->atmp);
		if (err < 0)
			break;
		int n = 0;
		if (audio_convert(s, s->atmp, &n) < 0) {
			bad = true;
		} else {
			/* the resampler delays a little; ignore it (< 1 ms at 48k) */
			pthread_mutex_lock(&s->lock);
			audio_place(s, s->conv, n, pos_of(c->pts_us));
			s->st.audio_frames++;
			pthread_mutex_unlock(&s->lock);
		}
		c->pts_us += (int64_t)s->atmp->nb_samples * 1000000 / s->atmp->sample_rate;
		av_frame_unref(s->atmp);
	}
	if (bad) {
		pthread_mutex_lock(&s->lock);
		s->st.decode_errors++;
		pthread_mutex_unlock(&s->lock);
	}
}

/*
 * Audio is decoded on the mixer thread, just before it is pulled: Opus
 * packets come 50 a second per participant, and waking a thread for each
 * cost more than decoding them. The playout delay leaves the time.
 */
static void decode_queued_audio(sc_source *s)
{
	for (int i = 0; i < SC_AQ_MAX_FRAMES; i++) { /* bounded: the network thread goes on */
		pthread_mutex_lock(&s->lock);
		coded *a = sc_cq_pop(&s->aq);
		pthread_mutex_unlock(&s->lock);
		if (!a)
			return;
		decode_audio(s, a);
		free(a);
	}
}

/* Audio the mixer has not pulled in time: the oldest packet goes. */
int sc_source_push_audio(sc_source *s, const char *codec, const uint8_t *data, size_t len,
			 int64_t pts_us)
{
	if (!s || !codec || strcmp(codec, "opus"))
		return -EINVAL;
	coded *c = sc_coded_new(codec, data, len, true, pts_us);
	if (!c)
		return len > SC_MAX_FRAME_SIZE ? -EMSGSIZE : len ? -ENOMEM : -EINVAL;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	snprintf(s->st.audio_codec, sizeof(s->st.audio_codec), "%s", codec);
	if (s->aq.n >= SC_AQ_MAX_FRAMES) {
		free(sc_cq_pop(&s->aq));
		s->st.dropped++;
		ret = -ENOSPC;
	}
	sc_cq_push(&s->aq, c); /* decoded when the mixer pulls it */
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t sc_source_audio_pull(sc_source *s, int64_t t_us, float *out, size_t n)
{
	decode_queued_audio(s);
	memset(out, 0, n * 2 * sizeof(float));
	pthread_mutex_lock(&s->lock);
	int64_t pos = pos_of(t_us);
	if (s->pulled && llabs(pos - s->pull_end) <= SC_AUDIO_TOL)
		pos = s->pull_end; /* contiguous with the last pull */
	s->pull_end = pos + (int64_t)n;
	s->pulled = true;
	size_t got = 0;
	if (s->a_any) {
		/* drop what is older than pos */
		if (s->a_pos < pos) {
			int64_t d = pos - s->a_pos;
			if (d >= s->a_len) {
				s->a_any = false;
			} else {
				s->a_pos += d;
				s->a_len -= d;
				s->a_head = (s->a_head + (size_t)d) % SC_AUDIO_CAP;
			}
		}
	}
	if (s->a_any) {
		int64_t off = s->a_pos - pos; /* >= 0 */
		int64_t from = off, to = (int64_t)n;
		if (s->a_pos + s->a_len < pos + to)
			to = s->a_pos + s->a_len - pos;
		if (to > from) {
			got = ring_read(s, s->a_head, out + 2 * from, (size_t)(to - from));
			/* consume up to the end of this pull */
			int64_t used = pos + (int64_t)n - s->a_pos;
			if (used >= s->a_len) {
				s->a_any = false;
			} else if (used > 0) {
				s->a_pos += used;
				s->a_len -= used;
				s->a_head = (s->a_head + (size_t)used) % SC_AUDIO_CAP;
			}
		}
	}
	if (n) {
		float sum = 0; /* silence outside what was read */
		for (size_t i = 0; i < 2 * n; i++)
			sum += out[i] * out[i];
		double ms = sum / (2.0 * (double)n);
		double a = exp(-(double)n / (SC_RATE * 0.3));
		s->level_ms = a * s->level_ms + (1 - a) * ms;
	}
	pthread_mutex_unlock(&s->lock);
	return got;
}

double sc_source_audio_level(sc_source *s)
{
	pthread_mutex_lock(&s->lock);
	double l = sqrt(s->level_ms);
	pthread_mutex_unlock(&s->lock);
	return l > 1 ? 1 : l;
}
