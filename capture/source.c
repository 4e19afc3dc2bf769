/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.c - one participant: bounded coded-frame queues filled by the
 * network thread, a small ring of decoded pictures read by the mixer
 * thread, which decodes the video while its pictures are small; large
 * video is decoded on the source's own thread (libavcodec for all of it).
 * The source's life and stats are here too; its audio is in
 * source_audio.c.
 */
#include "source_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/frame.h>

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void cq_clear(cqueue *q)
{
	coded *c;
	while ((c = sc_cq_pop(q)))
		free(c);
}

static bool key_queued(const cqueue *q)
{
	for (const coded *c = q->head; c; c = c->next)
		if (c->key)
			return true;
	return false;
}

static void request_key_locked(sc_source *s)
{
	s->keyreq = true;
	s->keyreq_us = now_us();
	s->st.keyframe_requests++;
}

/* ------------------------------------------------------------ decoders */

static AVCodecContext *open_decoder(const char *codec)
{
	enum AVCodecID id;
	if (!strcmp(codec, "vp8"))
		id = AV_CODEC_ID_VP8;
	else if (!strcmp(codec, "h264"))
		id = AV_CODEC_ID_H264;
	else if (!strcmp(codec, "opus"))
		id = AV_CODEC_ID_OPUS;
	else
		return NULL;
	const AVCodec *dec = avcodec_find_decoder(id);
	if (!dec)
		return NULL;
	AVCodecContext *c = avcodec_alloc_context3(dec);
	if (!c)
		return NULL;
	c->pkt_timebase = (AVRational){1, 1000000};
	c->thread_count = 1; /* no frame-threading latency; one thread per source */
	if (id == AV_CODEC_ID_OPUS) {
		c->sample_rate = SC_RATE;
		av_channel_layout_default(&c->ch_layout, 2);
	}
	if (avcodec_open2(c, dec, NULL) < 0) {
		avcodec_free_context(&c);
		return NULL;
	}
	return c;
}

static void add_picture(sc_source *s, AVFrame *f)
{
	AVFrame *ref = av_frame_clone(f);
	if (!ref)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->npics == SC_PIC_RING) {
		av_frame_free(&s->pics[0]);
		memmove(s->pics, s->pics + 1, (SC_PIC_RING - 1) * sizeof(*s->pics));
		s->npics--;
	}
	size_t i = s->npics;
	while (i > 0 && s->pics[i - 1]->pts > ref->pts) {
		s->pics[i] = s->pics[i - 1];
		i--;
	}
	s->pics[i] = ref;
	s->npics++;
	s->st.video_frames++;
	ref->opaque = (void *)(uintptr_t)s->st.video_frames; /* the picture's serial */
	s->st.width = f->width;
	s->st.height = f->height;
	int64_t t = now_us();
	if (!s->fps_t0) {
		s->fps_t0 = t;
		s->fps_n0 = s->st.video_frames;
	} else if (t - s->fps_t0 >= 2000000) {
		s->st.fps =
			(double)(s->st.video_frames - s->fps_n0) * 1e6 / (double)(t - s->fps_t0);
		s->fps_t0 = t;
		s->fps_n0 = s->st.video_frames;
	}
	pthread_mutex_unlock(&s->lock);
}

AVPacket *sc_source_packet_for(sc_source *s, AVCodecContext **dec, char *open, size_t openlen,
			       coded *c)
{
	if (strcmp(open, c->codec)) {
		avcodec_free_context(dec);
		open[0] = 0;
		*dec = open_decoder(c->codec);
		if (!*dec) {
			pthread_mutex_lock(&s->lock);
			s->st.decode_errors++;
			pthread_mutex_unlock(&s->lock);
			return NULL;
		}
		snprintf(open, openlen, "%s", c->codec);
	}
	AVPacket *pkt = av_packet_alloc();
	if (!pkt)
		return NULL;
	pkt->data = c->data;
	pkt->size = (int)c->len;
	pkt->pts = pkt->dts = c->pts_us;
	if (c->key)
		pkt->flags |= AV_PKT_FLAG_KEY;
	return pkt;
}

static void decode_video(sc_source *s, coded *c)
{
	AVPacket *pkt =
		sc_source_packet_for(s, &s->vdec, s->vcodec_open, sizeof(s->vcodec_open), c);
	if (!pkt)
		return;
	int err = avcodec_send_packet(s->vdec, pkt);
	bool bad = err < 0 && err != AVERROR(EAGAIN);
	while (err >= 0 || err == AVERROR(EAGAIN)) {
		err = avcodec_receive_frame(s->vdec, s->tmp);
		if (err < 0) {
			bad |= err != AVERROR(EAGAIN) && err != AVERROR_EOF;
			break;
		}
		if (s->tmp->decode_error_flags || (s->tmp->flags & AV_FRAME_FLAG_CORRUPT))
			bad = true;
		s->tmp->pts = s->tmp->best_effort_timestamp != AV_NOPTS_VALUE
				      ? s->tmp->best_effort_timestamp
				      : c->pts_us;
		add_picture(s, s->tmp);
		av_frame_unref(s->tmp);
	}
	av_packet_free(&pkt);
	if (bad) {
		pthread_mutex_lock(&s->lock);
		s->st.decode_errors++;
		if (!key_queued(&s->vq)) { /* else that key frame is the recovery */
			s->need_key = true;
			request_key_locked(s);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* Whether a coded frame may be decoded on the mixer thread. A VP8 key frame
 * states its size (RFC 6386, 9.1: a 3-byte tag with bit 0 clear, the start
 * code 9d 01 2a, then 14-bit width and height); the frames after it keep
 * that size. H.264 keeps its size in the SPS, which is not parsed here. */
static bool small_enough(const coded *c)
{
	if (strcmp(c->codec, "vp8"))
		return false;
	const uint8_t *d = c->data;
	if (c->len < 10 || (d[0] & 1) || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a)
		return true; /* an inter frame, or not VP8 at all: the decoder says */
	int w = (d[6] | d[7] << 8) & 0x3fff, h = (d[8] | d[9] << 8) & 0x3fff;
	return (int64_t)w * h <= SC_INLINE_MAX_PIXELS;
}

/* Under lock: from now on the decoder thread decodes this source's video. */
static void go_threaded_locked(sc_source *s)
{
	s->threaded = true;
	s->st.video_threaded = true;
	pthread_cond_signal(&s->cond);
}

static int64_t thread_cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Mixer thread, from sc_source_video_at: decodes the video queued so far.
 * Small video (a grid of webcams) is decoded here rather than on the
 * decoder thread: waking that thread for every frame cost as much as
 * decoding the frame, in context switches. A frame waits at most one
 * output frame interval for it; the playout delay leaves the time.
 *
 * The mixer thread must keep its frame rate, so a source moves to its
 * thread for good when a key frame that is not small_enough() comes in
 * (see sc_source_push_video), when one of its inter frames takes more than
 * SC_INLINE_MAX_CPU_US to decode, or when *budget_us (the CPU time the
 * caller still allows for this output frame, over all its sources; NULL:
 * no limit) runs out. A backlog after a stall, or more webcams than the
 * budget allows, thus moves sources to threads until the rest fit.
 */
static void decode_queued_video(sc_source *s, int64_t *budget_us)
{
	for (int i = 0; i < SC_VQ_MAX_FRAMES; i++) { /* bounded: the network thread goes on */
		pthread_mutex_lock(&s->lock);
		coded *c = NULL;
		if (!s->threaded && s->vq.head) {
			if (budget_us && *budget_us <= 0)
				go_threaded_locked(s);
			else
				c = sc_cq_pop(&s->vq);
		}
		s->inline_busy = c != NULL;
		pthread_mutex_unlock(&s->lock);
		if (!c)
			return;
		int64_t t0 = thread_cpu_us();
		decode_video(s, c);
		int64_t spent = thread_cpu_us() - t0;
		/* a key frame costs more, the first one also the decoder's set-up */
		bool slow = !c->key && spent > SC_INLINE_MAX_CPU_US;
		free(c);
		if (budget_us)
			*budget_us -= spent;
		pthread_mutex_lock(&s->lock);
		s->inline_busy = false;
		if (slow || s->threaded)
			go_threaded_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
}

static void *decoder_main(void *arg)
{
	sc_source *s = arg;
	pthread_setname_np(pthread_self(), "sc-decoder");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stop && !(s->threaded && s->vq.n && !s->inline_busy))
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		coded *v = sc_cq_pop(&s->vq);
		pthread_mutex_unlock(&s->lock);
		decode_video(s, v);
		free(v);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ------------------------------------------------------------ public */

sc_source *sc_source_new(const char *id, const char *display)
{
	sc_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->id = strdup(id ? id : "");
	s->display = strdup(display ? display : "");
	s->ring = calloc(SC_AUDIO_CAP * 2, sizeof(float));
	s->valid = calloc(SC_AUDIO_CAP, 1);
	s->tmp = av_frame_alloc();
	s->atmp = av_frame_alloc();
	if (!s->id || !s->display || !s->ring || !s->valid || !s->tmp || !s->atmp)
		goto fail;
	s->need_key = true;
	request_key_locked(s);
	s->st.keyframe_requests = 0; /* the start request is not a recovery */
	if (pthread_create(&s->thread, NULL, decoder_main, s))
		goto fail;
	s->thread_started = true;
	return s;
fail:
	sc_source_unref(s);
	return NULL;
}

sc_source *sc_source_ref(sc_source *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
	return s;
}

void sc_source_unref(sc_source *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	cq_clear(&s->vq);
	cq_clear(&s->aq);
	for (size_t i = 0; i < s->npics; i++)
		av_frame_free(&s->pics[i]);
	avcodec_free_context(&s->vdec);
	avcodec_free_context(&s->adec);
	swr_free(&s->swr);
	av_channel_layout_uninit(&s->swr_in_layout);
	av_frame_free(&s->tmp);
	av_frame_free(&s->atmp);
	free(s->conv);
	free(s->ring);
	free(s->valid);
	free(s->id);
	free(s->display);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

coded *sc_coded_new(const char *codec, const uint8_t *data, size_t len, bool key, int64_t pts_us)
{
	if (!codec || strlen(codec) >= sizeof(((coded *)0)->codec) || !data || !len ||
	    len > SC_MAX_FRAME_SIZE)
		return NULL;
	coded *c = malloc(sizeof(*c) + len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!c)
		return NULL;
	snprintf(c->codec, sizeof(c->codec), "%s", codec);
	c->key = key;
	c->pts_us = pts_us;
	c->len = len;
	memcpy(c->data, data, len);
	memset(c->data + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);
	return c;
}

int sc_source_push_video(sc_source *s, const char *codec, const uint8_t *data, size_t len, bool key,
			 int64_t pts_us)
{
	if (!s || !codec || (strcmp(codec, "vp8") && strcmp(codec, "h264")))
		return -EINVAL;
	coded *c = sc_coded_new(codec, data, len, key, pts_us);
	if (!c)
		return len > SC_MAX_FRAME_SIZE ? -EMSGSIZE : len ? -ENOMEM : -EINVAL;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	snprintf(s->st.video_codec, sizeof(s->st.video_codec), "%s", codec);
	if (key && !s->threaded && !small_enough(c))
		go_threaded_locked(s); /* it decodes what is queued before this one, too */
	if (s->need_key && !key) {
		free(c);
		s->st.dropped++;
		if (now_us() - s->keyreq_us >= SC_KEYREQ_REPEAT)
			request_key_locked(s);
		ret = -ENOSPC;
	} else if (s->vq.n >= SC_VQ_MAX_FRAMES || s->vq.bytes + len > SC_VQ_MAX_BYTES) {
		/* the decoder fell behind: drop to the next key frame */
		s->st.dropped += s->vq.n + 1;
		cq_clear(&s->vq);
		if (key) {
			sc_cq_push(&s->vq, c);
			s->st.dropped--;
		} else {
			free(c);
			s->need_key = true;
			request_key_locked(s);
			ret = -ENOSPC;
		}
	} else {
		if (key)
			s->need_key = false;
		sc_cq_push(&s->vq, c);
	}
	if (s->threaded)
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

bool sc_source_take_keyframe_request(sc_source *s)
{
	pthread_mutex_lock(&s->lock);
	bool r = s->keyreq;
	s->keyreq = false;
	pthread_mutex_unlock(&s->lock);
	return r;
}

AVFrame *sc_source_video_at(sc_source *s, int64_t t_us, int64_t *budget_us, int64_t *ret_age_us)
{
	decode_queued_video(s, budget_us);
	AVFrame *out = NULL;
	pthread_mutex_lock(&s->lock);
	size_t k = 0; /* pictures with pts <= t */
	while (k < s->npics && s->pics[k]->pts <= t_us)
		k++;
	if (k > 1) { /* only the newest of those can still be shown */
		for (size_t i = 0; i < k - 1; i++)
			av_frame_free(&s->pics[i]);
		memmove(s->pics, s->pics + k - 1, (s->npics - (k - 1)) * sizeof(*s->pics));
		s->npics -= k - 1;
		k = 1;
	}
	if (k == 1) {
		out = av_frame_clone(s->pics[0]);
		if (out && ret_age_us)
			*ret_age_us = t_us - out->pts;
	}
	pthread_mutex_unlock(&s->lock);
	return out;
}

const char *sc_source_id(const sc_source *s)
{
	return s->id;
}
const char *sc_source_display(const sc_source *s)
{
	return s->display;
}

void sc_source_get_stats(sc_source *s, sc_source_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	*ret = s->st;
	pthread_mutex_unlock(&s->lock);
}
