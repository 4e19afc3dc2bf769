/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.c - one participant: bounded coded-frame queues filled by the
 * network thread, a small ring of decoded pictures and an audio ring placed
 * by pts, read by the mixer thread, which also decodes the audio as it
 * pulls it, and the video while its pictures are small; large video is
 * decoded on the source's own thread (libavcodec for all of it).
 *
 * Audio is kept as 48 kHz interleaved stereo float in a FIFO that covers
 * the absolute sample positions [a_pos, a_pos + a_len) of the capture's
 * clock (position = t_us * 48000 / 1e6). Decoded chunks are appended where
 * the previous one ended as long as that is within SC_AUDIO_TOL of where
 * their pts says they belong; beyond that (the source's clock drifted, or
 * jumped) the chunk is placed at its pts: a gap becomes silence, an
 * overlap drops what was queued after that point.
 */
#include "source.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#define SC_RATE		  48000
#define SC_VQ_MAX_FRAMES  64
#define SC_VQ_MAX_BYTES	  (8u << 20)
#define SC_AQ_MAX_FRAMES  50
#define SC_PIC_RING	  12
#define SC_AUDIO_CAP	  (SC_RATE * 2)	 /* 2 s of stereo frames */
#define SC_AUDIO_TOL	  (SC_RATE / 25) /* 40 ms */
#define SC_KEYREQ_REPEAT  1000000	 /* re-ask every 1 s while waiting */
#define SC_MAX_FRAME_SIZE (4u << 20)
/* Video up to this size is decoded on the mixer thread (decode_queued_video) */
#define SC_INLINE_MAX_PIXELS (640 * 480)
#define SC_INLINE_MAX_CPU_US 2000 /* an inter frame that takes longer moves it to the thread */

typedef struct coded {
	struct coded *next;
	char codec[8];
	bool key;
	int64_t pts_us;
	size_t len;
	uint8_t data[];
} coded;

typedef struct {
	coded *head, *tail;
	size_t n, bytes;
} cqueue;

struct sc_source {
	atomic_int refs;
	char *id, *display;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stop;

	/* network -> video decoding (vq), network -> mixer (aq) */
	cqueue vq, aq;
	bool need_key;	   /* drop coded video until a key frame */
	bool threaded;	   /* video is decoded on the decoder thread, for good */
	bool inline_busy;  /* the mixer thread is decoding a frame (the thread waits) */
	bool keyreq;	   /* for sc_source_take_keyframe_request */
	int64_t keyreq_us; /* when last asked */

	/* whichever thread decodes the video (mixer, then maybe decoder) */
	AVCodecContext *vdec;
	char vcodec_open[8];
	AVFrame *tmp;

	/* mixer thread only: audio is decoded when pulled */
	AVCodecContext *adec;
	char acodec_open[8];
	SwrContext *swr;
	int swr_in_rate, swr_in_fmt;
	AVChannelLayout swr_in_layout;
	AVFrame *atmp;
	float *conv;
	size_t conv_cap;

	/* decoded, for the mixer (under lock) */
	AVFrame *pics[SC_PIC_RING]; /* sorted by pts, oldest first */
	size_t npics;
	float *ring;	/* SC_AUDIO_CAP stereo frames */
	uint8_t *valid; /* per frame: decoded (1) or gap silence (0) */
	size_t a_head;	/* ring index of a_pos */
	int64_t a_pos, a_len;
	bool a_any;
	int64_t pull_end; /* where the last pull ended */
	bool pulled;
	double level_ms; /* smoothed mean square */

	sc_source_stats st;
	int64_t fps_t0;
	uint64_t fps_n0;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t pos_of(int64_t t_us)
{
	/* floor, also for negative times */
	int64_t p = t_us * SC_RATE;
	return p >= 0 ? p / 1000000 : -((-p + 999999) / 1000000);
}

static void cq_push(cqueue *q, coded *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
	q->bytes += c->len;
}

static coded *cq_pop(cqueue *q)
{
	coded *c = q->head;
	if (!c)
		return NULL;
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	q->bytes -= c->len;
	return c;
}

static void cq_clear(cqueue *q)
{
	coded *c;
	while ((c = cq_pop(q)))
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

/*
 * The decoder for c's codec in *dec (reopened when the codec changes; the
 * name of the open one in open) and a packet holding c, or NULL when either
 * cannot be had (a failed open counts as a decode error).
 */
static AVPacket *packet_for(sc_source *s, AVCodecContext **dec, char *open, size_t openlen,
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
	AVPacket *pkt = packet_for(s, &s->vdec, s->vcodec_open, sizeof(s->vcodec_open), c);
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
	AVPacket *pkt = packet_for(s, &s->adec, s->acodec_open, sizeof(s->acodec_open), c);
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
		coded *a = cq_pop(&s->aq);
		pthread_mutex_unlock(&s->lock);
		if (!a)
			return;
		decode_audio(s, a);
		free(a);
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
				c = cq_pop(&s->vq);
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
		coded *v = cq_pop(&s->vq);
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

static coded *coded_new(const char *codec, const uint8_t *data, size_t len, bool key,
			int64_t pts_us)
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
	coded *c = coded_new(codec, data, len, key, pts_us);
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
			cq_push(&s->vq, c);
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
		cq_push(&s->vq, c);
	}
	if (s->threaded)
		pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Audio the mixer has not pulled in time: the oldest packet goes. */
int sc_source_push_audio(sc_source *s, const char *codec, const uint8_t *data, size_t len,
			 int64_t pts_us)
{
	if (!s || !codec || strcmp(codec, "opus"))
		return -EINVAL;
	coded *c = coded_new(codec, data, len, true, pts_us);
	if (!c)
		return len > SC_MAX_FRAME_SIZE ? -EMSGSIZE : len ? -ENOMEM : -EINVAL;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	snprintf(s->st.audio_codec, sizeof(s->st.audio_codec), "%s", codec);
	if (s->aq.n >= SC_AQ_MAX_FRAMES) {
		free(cq_pop(&s->aq));
		s->st.dropped++;
		ret = -ENOSPC;
	}
	cq_push(&s->aq, c); /* decoded when the mixer pulls it */
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
