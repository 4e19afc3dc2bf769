/* SPDX-License-Identifier: Apache-2.0 */
#include "synth.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

struct sc_synth {
	AVCodecContext *v, *a;
	AVFrame *vf, *af;
	AVPacket *vp, *ap;
	int64_t vn, an;
	double tone;
	uint8_t yuv[3];
	bool motion;
};

void sc_synth_free(sc_synth *s)
{
	if (!s)
		return;
	avcodec_free_context(&s->v);
	avcodec_free_context(&s->a);
	av_frame_free(&s->vf);
	av_frame_free(&s->af);
	av_packet_free(&s->vp);
	av_packet_free(&s->ap);
	free(s);
}

sc_synth *sc_synth_new(const char *vcodec, int w, int h, int fps, const uint8_t yuv[3],
		       double tone_hz)
{
	sc_synth *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->vp = av_packet_alloc();
	s->ap = av_packet_alloc();
	if (!s->vp || !s->ap)
		goto fail;
	if (vcodec) {
		bool vp8 = !strcmp(vcodec, "vp8");
		const AVCodec *c = avcodec_find_encoder_by_name(vp8 ? "libvpx" : "libx264");
		if (!c)
			goto fail;
		s->v = avcodec_alloc_context3(c);
		if (!s->v)
			goto fail;
		s->v->width = w;
		s->v->height = h;
		s->v->pix_fmt = AV_PIX_FMT_YUV420P;
		s->v->time_base = (AVRational){1, fps};
		s->v->framerate = (AVRational){fps, 1};
		s->v->bit_rate = 300000;
		s->v->gop_size = 10 * fps;
		s->v->max_b_frames = 0;
		s->v->thread_count = 1;
		if (vp8) {
			av_opt_set(s->v->priv_data, "deadline", "realtime", 0);
			av_opt_set(s->v->priv_data, "cpu-used", "8", 0);
			av_opt_set(s->v->priv_data, "lag-in-frames", "0", 0);
		} else {
			av_opt_set(s->v->priv_data, "preset", "ultrafast", 0);
			av_opt_set(s->v->priv_data, "tune", "zerolatency", 0);
			av_opt_set(s->v->priv_data, "forced-idr", "1", 0);
			av_opt_set(s->v->priv_data, "profile", "baseline", 0);
		}
		if (avcodec_open2(s->v, c, NULL) < 0)
			goto fail;
		s->vf = av_frame_alloc();
		if (!s->vf)
			goto fail;
		s->vf->format = AV_PIX_FMT_YUV420P;
		s->vf->width = w;
		s->vf->height = h;
		if (av_frame_get_buffer(s->vf, 0) < 0)
			goto fail;
		memcpy(s->yuv, yuv, 3);
		for (int y = 0; y < h; y++)
			memset(s->vf->data[0] + y * s->vf->linesize[0], yuv[0], (size_t)w);
		for (int p = 1; p < 3; p++)
			for (int y = 0; y < h / 2; y++)
				memset(s->vf->data[p] + y * s->vf->linesize[p], yuv[p],
				       (size_t)w / 2);
	}
	if (tone_hz > 0) {
		const AVCodec *c = avcodec_find_encoder_by_name("libopus");
		if (!c)
			goto fail;
		s->a = avcodec_alloc_context3(c);
		if (!s->a)
			goto fail;
		AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
		av_channel_layout_copy(&s->a->ch_layout, &stereo);
		s->a->sample_rate = 48000;
		s->a->sample_fmt = AV_SAMPLE_FMT_FLT;
		s->a->bit_rate = 64000;
		s->a->time_base = (AVRational){1, 48000};
		if (avcodec_open2(s->a, c, NULL) < 0)
			goto fail;
		s->af = av_frame_alloc();
		if (!s->af)
			goto fail;
		s->af->format = AV_SAMPLE_FMT_FLT;
		s->af->nb_samples = 960;
		s->af->sample_rate = 48000;
		av_channel_layout_copy(&s->af->ch_layout, &stereo);
		if (av_frame_get_buffer(s->af, 0) < 0)
			goto fail;
		s->tone = tone_hz;
	}
	return s;
fail:
	sc_synth_free(s);
	return NULL;
}

void sc_synth_set_motion(sc_synth *s, bool on)
{
	s->motion = on;
}

int sc_synth_video(sc_synth *s, bool force_key, const uint8_t **data, size_t *len, bool *key)
{
	if (!s->v)
		return -EINVAL;
	int r = av_frame_make_writable(s->vf);
	if (r < 0)
		return r;
	if (s->motion) {
		/* repaint, then a bar of moving noise-like texture */
		int w = s->vf->width, h = s->vf->height, bw = w / 4;
		int x0 = (int)((s->vn * 6) % (w - bw)) & ~1;
		for (int y = 0; y < h; y++) {
			uint8_t *row = s->vf->data[0] + y * s->vf->linesize[0];
			memset(row, s->yuv[0], (size_t)w);
			for (int x = x0; x < x0 + bw; x++)
				row[x] = (uint8_t)(((x * 7 + y * 13) ^ (int)(s->vn * 5)) & 0xff);
		}
	}
	s->vf->pts = s->vn++;
	s->vf->pict_type = force_key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	r = avcodec_send_frame(s->v, s->vf);
	if (r < 0)
		return r;
	av_packet_unref(s->vp);
	r = avcodec_receive_packet(s->v, s->vp);
	if (r < 0)
		return r;
	*data = s->vp->data;
	*len = (size_t)s->vp->size;
	*key = s->vp->flags & AV_PKT_FLAG_KEY;
	return 0;
}

int sc_synth_audio(sc_synth *s, const uint8_t **data, size_t *len)
{
	if (!s->a)
		return -EINVAL;
	int r = av_frame_make_writable(s->af);
	if (r < 0)
		return r;
	float *p = (float *)s->af->data[0];
	for (int i = 0; i < 960; i++) {
		float v = (float)(0.3 * sin(2 * M_PI * s->tone * (double)(s->an + i) / 48000));
		p[2 * i] = v;
		p[2 * i + 1] = v;
	}
	s->af->pts = s->an;
	s->an += 960;
	r = avcodec_send_frame(s->a, s->af);
	if (r < 0)
		return r;
	av_packet_unref(s->ap);
	r = avcodec_receive_packet(s->a, s->ap);
	if (r < 0)
		return r;
	*data = s->ap->data;
	*len = (size_t)s->ap->size;
	return 0;
}
