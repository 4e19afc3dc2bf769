/* SPDX-License-Identifier: Apache-2.0 */
/*
 * output.c - the output thread: FLV over RTMP with reconnects.
 */
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#define SC_OUTQ_MAX_PACKETS 600
#define SC_OUTQ_MAX_BYTES   (16u << 20)
#define SC_BACKOFF_MIN_US   250000
#define SC_BACKOFF_MAX_US   1750000 /* + connect time: back within 2 s */
#define SC_DRAIN_US	    3000000 /* at close: time to write what is queued */

typedef struct qpkt {
	struct qpkt *next;
	AVPacket *pkt;
	int stream;
} qpkt;

struct sc_output {
	char *url;
	AVCodecParameters *par[2];
	AVRational tb[2];
	void (*want_keyframe)(void *opaque);
	void *opaque;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	qpkt *head, *tail;
	size_t n, bytes;
	bool stop;

	/* output thread */
	AVFormatContext *oc;
	atomic_llong deadline_us; /* interrupt I/O after this */
	atomic_bool abort_io;
	bool need_key;	  /* the connection's first key frame: timestamps start */
	bool skip_to_key; /* after a gap: drop to the next key frame */
	bool gap;	  /* under lock: the mixer dropped packets */
	int64_t offset_ms;
	int64_t last_dts[2];

	sc_output_stats st; /* under lock */
	int64_t rate_t0;
	uint64_t rate_b0;
};

/*
 * What the RTMP server said when it refused us. libavformat's RTMP client
 * logs an error status as "Server error: DESCRIPTION" and fails the open;
 * the log callback keeps that text for the thread that opened (only the
 * output thread opens RTMP, so thread-local storage needs no lock).
 */
#define SERVER_ERROR_PREFIX "Server error: "
static __thread char server_error[256];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
	if (level <= AV_LOG_ERROR &&
	    !strncmp(fmt, SERVER_ERROR_PREFIX, strlen(SERVER_ERROR_PREFIX))) {
		va_list copy;
		va_copy(copy, vl);
		vsnprintf(server_error, sizeof(server_error), fmt + strlen(SERVER_ERROR_PREFIX),
			  copy);
		va_end(copy);
		server_error[strcspn(server_error, "\r\n")] = 0;
	}
	av_log_default_callback(avcl, level, fmt, vl);
}

static void log_install(void)
{
	av_log_set_callback(log_cb);
}

/*
 * stagecast-relay words a refusal that no retry can change (the token is
 * malformed, expired, badly signed, or older than a fence it has seen)
 * "token ..." (relay/stream.c, sc_stream_publish). Any other refusal (a
 * publisher still holds the name, e.g. our own previous connection) may
 * clear up, so the output keeps retrying those.
 */
static bool refusal_is_final(const char *why)
{
	return !strncmp(why, "token ", 6);
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int interrupt_cb(void *opaque)
{
	sc_output *o = opaque;
	return atomic_load(&o->abort_io) || now_us() > atomic_load(&o->deadline_us);
}

static void q_free_all(sc_output *o)
{
	while (o->head) {
		qpkt *q = o->head;
		o->head = q->next;
		av_packet_free(&q->pkt);
		free(q);
	}
	o->tail = NULL;
	o->n = 0;
	o->bytes = 0;
}

static void set_error(sc_output *o, const char *what, int err)
{
	pthread_mutex_lock(&o->lock);
	snprintf(o->st.error, sizeof(o->st.error), "%s: %s", what, av_err2str(err));
	pthread_mutex_unlock(&o->lock);
}

static void close_output(sc_output *o, bool trailer)
{
	if (!o->oc)
		return;
	if (trailer && o->oc->pb) {
		atomic_store(&o->deadline_us, now_us() + SC_OUTPUT_IO_TIMEOUT_US);
		av_write_trailer(o->oc);
	}
	/* closing may talk to the peer (FCUnpublish): keep it bounded */
	atomic_store(&o->deadline_us, now_us() + 500000);
	avio_closep(&o->oc->pb);
	avformat_free_context(o->oc);
	o->oc = NULL;
	pthread_mutex_lock(&o->lock);
	o->st.connected = false;
	pthread_mutex_unlock(&o->lock);
}

static int open_output(sc_output *o)
{
	AVFormatContext *oc = NULL;
	AVDictionary *opts = NULL;
	int r = avformat_alloc_output_context2(&oc, NULL, "flv", o->url);
	if (r < 0 || !oc)
		return r < 0 ? r : AVERROR(ENOMEM);
	oc->interrupt_callback = (AVIOInterruptCB){interrupt_cb, o};
	oc->flush_packets = 1;
	for (int i = 0; i < 2; i++) {
		AVStream *st = avformat_new_stream(oc, NULL);
		if (!st) {
			r = AVERROR(ENOMEM);
			goto fail;
		}
		r = avcodec_parameters_copy(st->codecpar, o->par[i]);
		if (r < 0)
			goto fail;
		st->time_base = (AVRational){1, 1000};
		if (i == 0)
			st->avg_frame_rate = av_inv_q(o->tb[0]);
	}
	atomic_store(&o->deadline_us, now_us() + SC_OUTPUT_IO_TIMEOUT_US);
	av_dict_set(&opts, "tcp_nodelay", "1", 0);
	r = avio_open2(&oc->pb, o->url, AVIO_FLAG_WRITE, &oc->interrupt_callback, &opts);
	av_dict_free(&opts);
	if (r < 0)
		goto fail;
	av_dict_set(&opts, "flvflags", "no_duration_filesize", 0);
	r = avformat_write_header(oc, &opts);
	av_dict_free(&opts);
	if (r < 0)
		goto fail;
	o->oc = oc;
	return 0;
fail:
	atomic_store(&o->deadline_us, now_us() + 500000);
	if (oc)
		avio_closep(&oc->pb);
	avformat_free_context(oc);
	return r;
}

/* 0, or a negative AVERROR when the connection is broken. */
static int write_packet(sc_output *o, AVPacket *pkt, int stream)
{
	if (o->need_key) {
		if (stream != 0 || !(pkt->flags & AV_PKT_FLAG_KEY))
			return 1; /* dropped */
		o->need_key = false;
		o->offset_ms = av_rescale_q(pkt->dts, o->tb[0], (AVRational){1, 1000});
		o->last_dts[0] = o->last_dts[1] = INT64_MIN;
	}
	if (o->skip_to_key) {
		if (stream == 0 && !(pkt->flags & AV_PKT_FLAG_KEY))
			return 1;
		if (stream == 0)
			o->skip_to_key = false;
	}
	AVStream *st = o->oc->streams[stream];
	int64_t dts = av_rescale_q(pkt->dts, o->tb[stream], (AVRational){1, 1000}) - o->offset_ms;
	int64_t pts = av_rescale_q(pkt->pts, o->tb[stream], (AVRational){1, 1000}) - o->offset_ms;
	if (dts < 0 || dts <= o->last_dts[stream] || pts < dts)
		return 1; /* before this connection's start, or not monotonic */
	o->last_dts[stream] = dts;
	pkt->dts = av_rescale_q(dts, (AVRational){1, 1000}, st->time_base);
	pkt->pts = av_rescale_q(pts, (AVRational){1, 1000}, st->time_base);
	pkt->duration = av_rescale_q(pkt->duration, o->tb[stream], st->time_base);
	pkt->stream_index = stream;
	int size = pkt->size;
	atomic_store(&o->deadline_us, now_us() + SC_OUTPUT_IO_TIMEOUT_US);
	int r = av_write_frame(o->oc, pkt);
	if (r >= 0 && o->oc->pb && o->oc->pb->error < 0)
		r = o->oc->pb->error;
	if (r < 0)
		return r;
	int64_t t = now_us();
	pthread_mutex_lock(&o->lock);
	o->st.packets++;
	o->st.bytes += (uint64_t)size;
	if (!o->st.first_packet_us)
		o->st.first_packet_us = t;
	if (!o->st.resumed_us)
		o->st.resumed_us = t;
	if (!o->rate_t0) {
		o->rate_t0 = t;
		o->rate_b0 = o->st.bytes;
	} else if (t - o->rate_t0 >= 2000000) {
		o->st.video_kbps =
			(double)(o->st.bytes - o->rate_b0) * 8 * 1000 / (double)(t - o->rate_t0);
		o->rate_t0 = t;
		o->rate_b0 = o->st.bytes;
	}
	pthread_mutex_unlock(&o->lock);
	return 0;
}

/* Waits up to us for stop; true if stopping. */
static bool sleep_unless_stopped(sc_output *o, int64_t us)
{
	if (us <= 0)
		us = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + (us % 1000000) * 1000;
	ts.tv_sec += us / 1000000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&o->lock);
	while (!o->stop) {
		if (pthread_cond_timedwait(&o->cond, &o->lock, &ts) == ETIMEDOUT)
			break;
	}
	bool stop = o->stop;
	pthread_mutex_unlock(&o->lock);
	return stop;
}

static void *output_main(void *arg)
{
	sc_output *o = arg;
	pthread_setname_np(pthread_self(), "sc-output");
	int64_t backoff = 0;
	bool ever = false;
	int64_t drain_deadline = 0, attempt_us = 0;
	for (;;) {
		if (!o->oc) {
			pthread_mutex_lock(&o->lock);
			bool stop = o->stop;
			pthread_mutex_unlock(&o->lock);
			if (stop)
				break;
			if (backoff && sleep_unless_stopped(o, backoff - (now_us() - attempt_us)))
				break;
			attempt_us = now_us();
			server_error[0] = 0;
			int r = open_output(o);
			if (r < 0 && server_error[0] && refusal_is_final(server_error)) {
				pthread_mutex_lock(&o->lock);
				o->st.refused = true;
				snprintf(o->st.error, sizeof(o->st.error),
					 "the RTMP server refused the publish: %s", server_error);
				while (!o->stop)
					pthread_cond_wait(&o->cond, &o->lock);
				pthread_mutex_unlock(&o->lock);
				break;
			}
			if (r < 0) {
				set_error(o, "connect", r);
				backoff = backoff ? backoff * 2 : SC_BACKOFF_MIN_US;
				if (backoff > SC_BACKOFF_MAX_US)
					backoff = SC_BACKOFF_MAX_US;
				continue;
			}
			backoff = 0;
			o->need_key = true;
			o->skip_to_key = false;
			pthread_mutex_lock(&o->lock);
			o->gap = false;
			o->st.dropped += o->n;
			q_free_all(o); /* stale: start from the next key frame */
			o->st.connected = true;
			o->st.connected_us = now_us();
			o->st.error[0] = 0;
			o->st.resumed_us = 0;
			if (ever)
				o->st.reconnects++;
			pthread_mutex_unlock(&o->lock);
			ever = true;
			if (o->want_keyframe)
				o->want_keyframe(o->opaque);
		}
		pthread_mutex_lock(&o->lock);
		while (!o->head && !o->stop)
			pthread_cond_wait(&o->cond, &o->lock);
		if (o->stop && !drain_deadline)
			drain_deadline = now_us() + SC_DRAIN_US;
		bool gap = o->gap;
		o->gap = false;
		qpkt *q = o->head;
		if (q) {
			o->head = q->next;
			if (!o->head)
				o->tail = NULL;
			o->n--;
			o->bytes -= (size_t)q->pkt->size;
		}
		pthread_mutex_unlock(&o->lock);
		if (gap) {
			o->skip_to_key = true;
			if (o->want_keyframe)
				o->want_keyframe(o->opaque);
		}
		if (!q || (drain_deadline && now_us() > drain_deadline))
			break;
		int r = write_packet(o, q->pkt, q->stream);
		if (r > 0) {
			pthread_mutex_lock(&o->lock);
			o->st.dropped++;
			pthread_mutex_unlock(&o->lock);
		}
		av_packet_free(&q->pkt);
		free(q);
		if (r < 0) {
			set_error(o, "write", r);
			close_output(o, false);
			backoff = SC_BACKOFF_MIN_US;
			attempt_us = now_us();
		}
	}
	if (o->oc)
		close_output(o, true);
	return NULL;
}

sc_output *sc_output_new(const sc_output_config *cfg, char *err, size_t errlen)
{
	sc_output *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_once(&log_once, log_install);
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!cfg || !cfg->url || !cfg->video || !cfg->audio) {
		snprintf(err, errlen, "bad output configuration");
		goto fail;
	}
	o->url = strdup(cfg->url);
	o->par[0] = avcodec_parameters_alloc();
	o->par[1] = avcodec_parameters_alloc();
	if (!o->url || !o->par[0] || !o->par[1] ||
	    avcodec_parameters_from_context(o->par[0], cfg->video) < 0 ||
	    avcodec_parameters_from_context(o->par[1], cfg->audio) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	o->tb[0] = cfg->video->time_base;
	o->tb[1] = cfg->audio->time_base;
	o->want_keyframe = cfg->want_keyframe;
	o->opaque = cfg->opaque;
	atomic_init(&o->deadline_us, INT64_MAX);
	atomic_init(&o->abort_io, false);
	if (pthread_create(&o->thread, NULL, output_main, o)) {
		snprintf(err, errlen, "cannot start the output thread");
		goto fail;
	}
	o->thread_started = true;
	return o;
fail:
	sc_output_free(o);
	return NULL;
}

void sc_output_free(sc_output *o)
{
	if (!o)
		return;
	if (o->thread_started) {
		pthread_mutex_lock(&o->lock);
		o->stop = true;
		pthread_cond_broadcast(&o->cond);
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->thread, NULL);
	}
	q_free_all(o);
	avcodec_parameters_free(&o->par[0]);
	avcodec_parameters_free(&o->par[1]);
	free(o->url);
	pthread_cond_destroy(&o->cond);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

int sc_output_push(sc_output *o, const AVPacket *pkt, int stream)
{
	if (stream != 0 && stream != 1)
		return -EINVAL;
	qpkt *q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->pkt = av_packet_clone(pkt);
	q->stream = stream;
	q->next = NULL;
	if (!q->pkt) {
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_lock(&o->lock);
	while (o->head &&
	       (o->n >= SC_OUTQ_MAX_PACKETS || o->bytes + (size_t)pkt->size > SC_OUTQ_MAX_BYTES)) {
		qpkt *old = o->head;
		o->head = old->next;
		if (!o->head)
			o->tail = NULL;
		o->n--;
		o->bytes -= (size_t)old->pkt->size;
		av_packet_free(&old->pkt);
		free(old);
		o->st.dropped++;
		o->gap = true; /* the output restarts from a key frame */
	}
	if (o->tail)
		o->tail->next = q;
	else
		o->head = q;
	o->tail = q;
	o->n++;
	o->bytes += (size_t)pkt->size;
	pthread_mutex_unlock(&o->lock);
	return 0;
}

void sc_output_wake(sc_output *o)
{
	pthread_mutex_lock(&o->lock);
	if (o->head)
		pthread_cond_signal(&o->cond);
	pthread_mutex_unlock(&o->lock);
}

void sc_output_get_stats(sc_output *o, sc_output_stats *ret)
{
	pthread_mutex_lock(&o->lock);
	*ret = o->st;
	pthread_mutex_unlock(&o->lock);
}
