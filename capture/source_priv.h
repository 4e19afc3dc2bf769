/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source_priv.h - internal to the source: its state, shared by source.c
 * (queues, video, lifecycle) and source_audio.c (the audio ring). See
 * source.h for what each thread may call.
 */
#ifndef SC_SOURCE_PRIV_H
#define SC_SOURCE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>

#include "source.h"

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

static inline void sc_cq_push(cqueue *q, coded *c)
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

static inline coded *sc_cq_pop(cqueue *q)
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

/* A copy of data as a coded frame (padded for libavcodec), or NULL: no
 * codec or data, a codec name too long, over SC_MAX_FRAME_SIZE, no memory. */
coded *sc_coded_new(const char *codec, const uint8_t *data, size_t len, bool key, int64_t pts_us);

/*
 * The decoder for c's codec in *dec (reopened when the codec changes; the
 * name of the open one in open) and a packet holding c, or NULL when either
 * cannot be had (a failed open counts as a decode error).
 */
AVPacket *sc_source_packet_for(sc_source *s, AVCodecContext **dec, char *open, size_t openlen,
			       coded *c);

#endif
