/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encoder.c - libx264 and AAC through libavcodec.
 */
#include "encoder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

struct sc_encoder {
	AVCodecContext *v, *a;
	AVFrame *af;
	AVPacket *pkt;
};

static AVCodecContext *open_video(const sc_profile *p, char *err, size_t errlen)
{
	const AVCodec *c = avcodec_find_encoder_by_name("libx264");
	if (!c) {
		snprintf(err, errlen, "libavcodec has no libx264 encoder");
		return NULL;
	}
	AVCodecContext *v = avcodec_alloc_context3(c);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int64_t bps = (int64_t)p->video_kbps * 1000;
	v->width = p->width;
	v->height = p->height;
	v->pix_fmt = AV_PIX_FMT_YUV420P;
	v->time_base = (AVRational){1, p->fps};
	v->framerate = (AVRational){p->fps, 1};
	v->sample_aspect_ratio = (AVRational){1, 1};
	v->bit_rate = bps;
	v->rc_max_rate = bps;
	v->rc_min_rate = 0;
	v->rc_buffer_size = (int)bps; /* 1 s VBV */
	v->gop_size = 2 * p->fps;
	v->keyint_min = p->fps;
	v->max_b_frames = 0;
	v->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	v->color_range = AVCOL_RANGE_MPEG;
	v->colorspace = AVCOL_SPC_BT470BG;
	v->color_primaries = AVCOL_PRI_BT470BG;
	v->color_trc = AVCOL_TRC_SMPTE170M;
	av_opt_set(v->priv_data, "preset", "veryfast", 0);
	av_opt_set(v->priv_data, "tune", "zerolatency", 0);
	av_opt_set(v->priv_data, "profile", "high", 0);
	av_opt_set(v->priv_data, "forced-idr", "1", 0);
	/* a fixed 2 s cadence (HLS segments), SPS/PPS also in band */
	av_opt_set(v->priv_data, "x264-params", "scenecut=0:repeat-headers=1", 0);
	int r = avcodec_open2(v, c, NULL);
	if (r < 0) {
		snprintf(err, errlen, "opening libx264 failed: %s", av_err2str(r));
		avcodec_free_context(&v);
		return NULL;
	}
	return v;
}

static AVCodecContext *open_audio(const sc_profile *p, char *err, size_t errlen)
{
	const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_AAC);
	if (!c) {
		snprintf(err, errlen, "libavcodec has no AAC encoder");
		return NULL;
	}
	AVCodecContext *a = avcodec_alloc_context3(c);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
	a->sample_fmt = AV_SAMPLE_FMT_FLTP;
	a->sample_rate = 48000;
	av_channel_layout_copy(&a->ch_layout, &stereo);
	a->bit_rate = (int64_t)p->audio_kbps * 1000;
	a->time_base = (AVRational){1, 48000};
	a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	int r = avcodec_open2(a, c, NULL);
	if (r < 0) {
		snprintf(err, errlen, "opening the AAC encoder failed: %s", av_err2str(r));
		avcodec_free_context(&a);
		return NULL;
	}
	return a;
}

sc_encoder *sc_encoder_new(const sc_profile *p, char *err, size_t errlen)
{
	sc_encoder *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!p || p->width <= 0 || p->height <= 0 || p->fps <= 0 || p->video_kbps <= 0 ||
	    p->audio_kbps <= 0) {
		snprintf(err, errlen, "bad profile");
		goto fail;
	}
	e->v = open_video(p, err, errlen);
	if (!e->v)
		goto fail;
	e->a = open_audio(p, err, errlen);
	if (!e->a)
		goto fail;
	e->af = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (!e->af || !e->pkt) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	e->af->format = AV_SAMPLE_FMT_FLTP;
	e->af->sample_rate = 48000;
	e->af->nb_samples = e->a->frame_size;
	av_channel_layout_copy(&e->af->ch_layout, &e->a->ch_layout);
	if (av_frame_get_buffer(e->af, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return e;
fail:
	sc_encoder_free(e);
	return NULL;
}

void sc_encoder_free(sc_encoder *e)
{
	if (!e)
		return;
	avcodec_free_context(&e->v);
	avcodec_free_context(&e->a);
	av_frame_free(&e->af);
	av_packet_free(&e->pkt);
	free(e);
}

static int drain(sc_encoder *e, AVCodecContext *c, int stream, sc_encoder_packet_fn fn,
		 void *opaque)
{
	for (;;) {
		int r = avcodec_receive_packet(c, e->pkt);
		if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
			return 0;
		if (r < 0)
			return r;
		r = fn(opaque, e->pkt, stream);
		av_packet_unref(e->pkt);
		if (r < 0)
			return r;
	}
}

int sc_encoder_video(sc_encoder *e, AVFrame *frame, bool key, sc_encoder_packet_fn fn, void *opaque)
{
	if (frame) {
		frame->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
		frame->key_frame = key;
	}
	int r = avcodec_send_frame(e->v, frame);
	if (r < 0 && r != AVERROR_EOF)
		return r;
	return drain(e, e->v, SC_ENC_VIDEO, fn, opaque);
}

int sc_encoder_audio(sc_encoder *e, const float *samples, int64_t pts, sc_encoder_packet_fn fn,
		     void *opaque)
{
	int r;
	if (samples) {
		r = av_frame_make_writable(e->af);
		if (r < 0)
			return r;
		float *l = (float *)e->af->data[0], *rt = (float *)e->af->data[1];
		for (int i = 0; i < e->af->nb_samples; i++) {
			l[i] = samples[2 * i];
			rt[i] = samples[2 * i + 1];
		}
		e->af->pts = pts;
		r = avcodec_send_frame(e->a, e->af);
	} else {
		r = avcodec_send_frame(e->a, NULL);
	}
	if (r < 0 && r != AVERROR_EOF)
		return r;
	return drain(e, e->a, SC_ENC_AUDIO, fn, opaque);
}

int sc_encoder_audio_frame_size(const sc_encoder *e)
{
	return e->a->frame_size;
}
const AVCodecContext *sc_encoder_video_ctx(const sc_encoder *e)
{
	return e->v;
}
const AVCodecContext *sc_encoder_audio_ctx(const sc_encoder *e)
{
	return e->a;
}
