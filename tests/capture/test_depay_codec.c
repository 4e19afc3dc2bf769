/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end tests of capture/depay*.c with real codec data: frames of a
 * solid colour (or a tone) are encoded with libavcodec (libvpx, libx264,
 * libopus), cut into RTP payloads by the small packetizers below (written
 * after RFC 7741, RFC 6184 and RFC 7587), put back together by the
 * depacketizers and decoded with FFmpeg's own decoders; the pictures must
 * have the right size and colour, the tone the right loudness.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>

#include "depay.h"

#define W	320
#define H	240
#define NFRAMES 7
#define COLOR_Y 81
#define COLOR_U 90
#define COLOR_V 240
#define MAXPKT	256
#define MTU	60 /* small, so that every frame takes several packets */

/* ---- a frame as RTP packets */

typedef struct {
	uint8_t data[MAXPKT][1500];
	sc_rtp pkts[MAXPKT];
	size_t n;
} rtp_frame;

static uint8_t *rtp_add(rtp_frame *rf, size_t len)
{
	assert_true(rf->n < MAXPKT);
	assert_true(len <= sizeof(rf->data[0]));
	memset(&rf->pkts[rf->n], 0, sizeof(rf->pkts[0]));
	rf->pkts[rf->n].payload = rf->data[rf->n];
	rf->pkts[rf->n].payload_len = len;
	return rf->data[rf->n++];
}

static int depay(sc_depay *d, const rtp_frame *rf, sc_buf *out, bool *ret_key)
{
	sc_jb_frame f = {
		.ts = 3000,
		.first_seq = 1,
		.complete = true,
		.n = rf->n,
		.pkts = rf->pkts,
	};

	sc_buf_reset(out);
	return sc_depay_frame(d, &f, out, ret_key);
}

/* ---- encoding */

typedef struct {
	uint8_t *data;
	size_t len;
	bool key;
} coded;

static AVCodecContext *video_encoder(const char *name)
{
	const AVCodec *c = avcodec_find_encoder_by_name(name);
	AVCodecContext *ctx;

	if (!c)
		return NULL;
	ctx = avcodec_alloc_context3(c);
	assert_non_null(ctx);
	ctx->width = W;
	ctx->height = H;
	ctx->pix_fmt = AV_PIX_FMT_YUV420P;
	ctx->time_base = (AVRational){1, 30};
	ctx->framerate = (AVRational){30, 1};
	ctx->gop_size = 3;
	ctx->max_b_frames = 0;
	ctx->thread_count = 1;
	ctx->bit_rate = 300000;
	if (strcmp(name, "libx264") == 0) {
		av_opt_set(ctx->priv_data, "preset", "ultrafast", 0);
		av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
	} else {
		av_opt_set(ctx->priv_data, "deadline", "realtime", 0);
		av_opt_set_int(ctx->priv_data, "lag-in-frames", 0, 0);
		av_opt_set_int(ctx->priv_data, "cpu-used", 4, 0);
		ctx->qmin = 4;
		ctx->qmax = 20; /* keeps the colour within a few steps */
	}
	assert_int_equal(avcodec_open2(ctx, c, NULL), 0);
	return ctx;
}

static void drain(AVCodecContext *ctx, coded *out, size_t *n, size_t max)
{
	AVPacket *pkt = av_packet_alloc();

	assert_non_null(pkt);
	while (avcodec_receive_packet(ctx, pkt) == 0) {
		assert_true(*n < max);
		out[*n].data = malloc((size_t)pkt->size);
		assert_non_null(out[*n].data);
		memcpy(out[*n].data, pkt->data, (size_t)pkt->size);
		out[*n].len = (size_t)pkt->size;
		out[*n].key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
		(*n)++;
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
}

/* NFRAMES solid-colour pictures; returns how many coded frames, 0 if the
 * encoder is missing. */
static size_t encode_video(const char *name, coded *out)
{
	AVCodecContext *ctx = video_encoder(name);
	AVFrame *fr;
	size_t n = 0;

	if (!ctx)
		return 0;
	fr = av_frame_alloc();
	assert_non_null(fr);
	fr->width = W;
	fr->height = H;
	fr->format = AV_PIX_FMT_YUV420P;
	assert_int_equal(av_frame_get_buffer(fr, 0), 0);
	for (int i = 0; i < NFRAMES; i++) {
		assert_int_equal(av_frame_make_writable(fr), 0);
		for (int y = 0; y < H; y++)
			memset(fr->data[0] + y * fr->linesize[0], COLOR_Y, W);
		for (int y = 0; y < H / 2; y++) {
			memset(fr->data[1] + y * fr->linesize[1], COLOR_U, W / 2);
			memset(fr->data[2] + y * fr->linesize[2], COLOR_V, W / 2);
		}
		fr->pts = i;
		assert_int_equal(avcodec_send_frame(ctx, fr), 0);
		drain(ctx, out, &n, NFRAMES);
	}
	assert_int_equal(avcodec_send_frame(ctx, NULL), 0);
	drain(ctx, out, &n, NFRAMES);
	av_frame_free(&fr);
	avcodec_free_context(&ctx);
	return n;
}

static void coded_free(coded *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].data);
}

/* ---- decoding */

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame;
	int decoded;
} decoder;

static void dec_open(decoder *dec, enum AVCodecID id)
{
	const AVCodec *c = avcodec_find_decoder(id);

	assert_non_null(c);
	dec->ctx = avcodec_alloc_context3(c);
	assert_non_null(dec->ctx);
	dec->ctx->thread_count = 1;
	assert_int_equal(avcodec_open2(dec->ctx, c, NULL), 0);
	dec->frame = av_frame_alloc();
	assert_non_null(dec->frame);
	dec->decoded = 0;
}

static double plane_mean(const AVFrame *f, int plane, int w, int h)
{
	double sum = 0;

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			sum += f->data[plane][y * f->linesize[plane] + x];
	return sum / (w * h);
}

static void dec_receive(decoder *dec)
{
	while (avcodec_receive_frame(dec->ctx, dec->frame) == 0) {
		AVFrame *f = dec->frame;

		assert_int_equal(f->width, W);
		assert_int_equal(f->height, H);
		assert_int_equal(f->format, AV_PIX_FMT_YUV420P);
		assert_true(fabs(plane_mean(f, 0, W, H) - COLOR_Y) < 4);
		assert_true(fabs(plane_mean(f, 1, W / 2, H / 2) - COLOR_U) < 4);
		assert_true(fabs(plane_mean(f, 2, W / 2, H / 2) - COLOR_V) < 4);
		dec->decoded++;
		av_frame_unref(f);
	}
}

static void dec_send(decoder *dec, const sc_buf *b)
{
	AVPacket *pkt = av_packet_alloc();

	assert_non_null(pkt);
	assert_int_equal(av_new_packet(pkt, (int)b->len), 0);
	memcpy(pkt->data, b->data, b->len);
	assert_int_equal(avcodec_send_packet(dec->ctx, pkt), 0);
	av_packet_free(&pkt);
	dec_receive(dec);
}

static int dec_close(decoder *dec)
{
	int n;

	assert_int_equal(avcodec_send_packet(dec->ctx, NULL), 0);
	dec_receive(dec);
	n = dec->decoded;
	av_frame_free(&dec->frame);
	avcodec_free_context(&dec->ctx);
	return n;
}

/* ---- VP8: RFC 7741 packetizer */

/* Descriptor styles: 0 the 1-byte one; 1 X with a 7-bit PictureID; 2 X
 * with a 15-bit PictureID, TL0PICIDX, TID and KEYIDX. */
static void vp8_packetize(const coded *c, int style, unsigned picture_id, rtp_frame *rf)
{
	size_t off = 0;

	rf->n = 0;
	while (off < c->len) {
		uint8_t desc[6];
		size_t dl = 1, n = c->len - off;
		uint8_t *p;

		desc[0] = off == 0 ? 0x10 : 0x00;
		if (style > 0) {
			desc[0] |= 0x80;
			if (style == 1) {
				desc[1] = 0x80;
				desc[2] = picture_id & 0x7f;
				dl = 3;
			} else {
				desc[1] = 0xf0;
				desc[2] = (uint8_t)(0x80 | (picture_id >> 8 & 0x7f));
				desc[3] = (uint8_t)picture_id;
				desc[4] = (uint8_t)picture_id; /* TL0PICIDX */
				desc[5] = 0x20;		       /* TID 0, Y, KEYIDX 0 */
				dl = 6;
			}
		}
		if (n > MTU - dl)
			n = MTU - dl;
		p = rtp_add(rf, dl + n);
		memcpy(p, desc, dl);
		memcpy(p + dl, c->data + off, n);
		off += n;
	}
	rf->pkts[rf->n - 1].marker = true;
}

static void test_vp8_libvpx(void **state)
{
	static coded c[NFRAMES];
	static rtp_frame rf;
	sc_depay *d = sc_depay_new(&sc_depay_vp8);
	size_t n = encode_video("libvpx", c), keys = 0;
	decoder dec;
	sc_buf out;

	(void)state;
	if (n == 0) {
		sc_depay_free(d);
		skip();
	}
	assert_int_equal(n, NFRAMES);
	sc_buf_init(&out, SC_DEPAY_MAX_FRAME);
	dec_open(&dec, AV_CODEC_ID_VP8);
	for (size_t i = 0; i < n; i++) {
		bool key = !c[i].key;

		vp8_packetize(&c[i], (int)(i % 3), 0x7ff0 + (unsigned)i, &rf);
		assert_true(rf.n >= 2);
		assert_int_equal(depay(d, &rf, &out, &key), 0);
		assert_int_equal(out.len, c[i].len);
		assert_memory_equal(out.data, c[i].data, c[i].len);
		assert_int_equal(key, c[i].key);
		keys += key;
		dec_send(&dec, &out);
	}
	assert_true(keys >= 2);
	assert_int_equal(dec_close(&dec), NFRAMES);
	sc_buf_free(&out);
	coded_free(c, n);
	sc_depay_free(d);
}

/* ---- H.264: RFC 6184 packetizer (non-interleaved mode) */

/* The NAL units of an Annex B frame, without their start codes. */
static size_t annexb_split(const uint8_t *p, size_t len, const uint8_t **nal, size_t *nal_len,
			   size_t max)
{
	size_t i = 0, n = 0, start = SIZE_MAX;

	while (i + 3 <= len) {
		if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
			if (start != SIZE_MAX) {
				size_t end = i;

				while (end > start && p[end - 1] == 0)
					end--;
				assert_true(n < max);
				nal[n] = p + start;
				nal_len[n++] = end - start;
			}
			i += 3;
			start = i;
		} else {
			i++;
		}
	}
	assert_true(start != SIZE_MAX);
	assert_true(n < max);
	nal[n] = p + start;
	nal_len[n++] = len - start;
	return n;
}

static void h264_fu_a(rtp_frame *rf, const uint8_t *nal, size_t len)
{
	size_t off = 1;

	while (off < len) {
		size_t n = len - off;
		uint8_t *p;

		if (n > MTU - 2)
			n = MTU - 2;
		p = rtp_add(rf, 2 + n);
		p[0] = (uint8_t)((nal[0] & 0xe0) | 28);
		p[1] = (uint8_t)((off == 1 ? 0x80 : 0) | (off + n == len ? 0x40 : 0) |
				 (nal[0] & 0x1f));
		memcpy(p + 2, nal + off, n);
		off += n;
	}
}

/* Small NAL units go together in STAP-As, big ones in FU-As; strip drops
 * SPS and PPS (a sender that sends them once, or out of band). */
static void h264_packetize(const coded *c, bool strip, rtp_frame *rf)
{
	const uint8_t *nal[32];
	size_t nal_len[32], n = annexb_split(c->data, c->len, nal, nal_len, 32);
	uint8_t *stap = NULL;

	rf->n = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t type = nal[i][0] & 0x1f;

		assert_true(nal_len[i] > 0);
		if (strip && (type == 7 || type == 8))
			continue;
		if (nal_len[i] + 2 <= MTU - 1) {
			size_t have = stap ? rf->pkts[rf->n - 1].payload_len : 0;

			if (!stap || have + 2 + nal_len[i] > MTU) {
				stap = rtp_add(rf, 1);
				stap[0] = 24;
				have = 1;
			}
			stap[0] |= nal[i][0] & 0xe0; /* F and the highest NRI */
			if ((nal[i][0] & 0x60) > (stap[0] & 0x60))
				stap[0] = (uint8_t)((stap[0] & 0x9f) | (nal[i][0] & 0x60));
			sc_wr_be16(stap + have, (uint16_t)nal_len[i]);
			memcpy(stap + have + 2, nal[i], nal_len[i]);
			rf->pkts[rf->n - 1].payload_len = have + 2 + nal_len[i];
		} else if (nal_len[i] <= MTU) {
			memcpy(rtp_add(rf, nal_len[i]), nal[i], nal_len[i]);
			stap = NULL;
		} else {
			h264_fu_a(rf, nal[i], nal_len[i]);
			stap = NULL;
		}
	}
	rf->pkts[rf->n - 1].marker = true;
}

static bool has_nal(const sc_buf *b, uint8_t type)
{
	for (size_t i = 0; i + 4 < b->len; i++)
		if (memcmp(b->data + i, "\0\0\0\1", 4) == 0 && (b->data[i + 4] & 0x1f) == type)
			return true;
	return false;
}

/* The same NAL units (x264 uses 3-byte start codes too). */
static void same_nals(const sc_buf *b, const coded *c)
{
	const uint8_t *na[32], *nb[32];
	size_t la[32], lb[32];
	size_t n = annexb_split(b->data, b->len, na, la, 32);

	assert_int_equal(n, annexb_split(c->data, c->len, nb, lb, 32));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(la[i], lb[i]);
		assert_memory_equal(na[i], nb[i], la[i]);
	}
}

static void test_h264_libx264(void **state)
{
	static coded c[NFRAMES];
	static rtp_frame rf;
	sc_depay *d = sc_depay_new(&sc_depay_h264);
	size_t n = encode_video("libx264", c), keys = 0, fus = 0, staps = 0;
	decoder dec, late;
	bool late_open = false;
	sc_buf out;

	(void)state;
	if (n == 0) {
		sc_depay_free(d);
		skip();
	}
	assert_int_equal(n, NFRAMES);
	assert_true(c[0].key);
	sc_buf_init(&out, SC_DEPAY_MAX_FRAME);
	dec_open(&dec, AV_CODEC_ID_H264);
	for (size_t i = 0; i < n; i++) {
		bool key = !c[i].key;

		/* only the first IDR carries SPS and PPS */
		h264_packetize(&c[i], i > 0, &rf);
		for (size_t k = 0; k < rf.n; k++) {
			fus += (rf.pkts[k].payload[0] & 0x1f) == 28;
			staps += (rf.pkts[k].payload[0] & 0x1f) == 24;
		}
		assert_int_equal(depay(d, &rf, &out, &key), 0);
		assert_int_equal(key, c[i].key);
		if (i == 0) /* nothing dropped, nothing added */
			same_nals(&out, &c[0]);
		if (key) {
			keys++;
			assert_true(has_nal(&out, 7));
			assert_true(has_nal(&out, 8));
		}
		dec_send(&dec, &out);
		/* a decoder that starts on a later IDR: works only with the
		 * SPS and PPS that the depacketizer put back */
		if (i > 0 && key && !late_open) {
			dec_open(&late, AV_CODEC_ID_H264);
			late_open = true;
		}
		if (late_open)
			dec_send(&late, &out);
	}
	assert_true(keys >= 2);
	assert_true(fus > 0);
	assert_true(staps > 0);
	assert_true(late_open);
	assert_int_equal(dec_close(&dec), NFRAMES);
	assert_true(dec_close(&late) >= 1);
	sc_buf_free(&out);
	coded_free(c, n);
	sc_depay_free(d);
}

/* ---- Opus */

static void test_opus_libopus(void **state)
{
	const AVCodec *ec = avcodec_find_encoder_by_name("libopus");
	AVCodecContext *enc;
	AVFrame *fr;
	coded c[8];
	size_t n = 0;
	sc_depay *d = sc_depay_new(&sc_depay_opus);
	static rtp_frame rf;
	decoder dec;
	sc_buf out;
	double sum = 0;
	long samples = 0;

	(void)state;
	if (!ec) {
		sc_depay_free(d);
		skip();
	}
	enc = avcodec_alloc_context3(ec);
	assert_non_null(enc);
	enc->sample_rate = 48000;
	enc->sample_fmt = AV_SAMPLE_FMT_S16;
	av_channel_layout_default(&enc->ch_layout, 1);
	enc->bit_rate = 64000;
	assert_int_equal(avcodec_open2(enc, ec, NULL), 0);
	fr = av_frame_alloc();
	assert_non_null(fr);
	fr->nb_samples = enc->frame_size;
	fr->format = AV_SAMPLE_FMT_S16;
	assert_int_equal(av_channel_layout_copy(&fr->ch_layout, &enc->ch_layout), 0);
	assert_int_equal(av_frame_get_buffer(fr, 0), 0);
	for (int k = 0; k < 6; k++) {
		int16_t *s = (int16_t *)fr->data[0];

		assert_int_equal(av_frame_make_writable(fr), 0);
		for (int i = 0; i < fr->nb_samples; i++)
			s[i] = (int16_t)(10000 *
					 sin(2 * M_PI * 440 * (k * fr->nb_samples + i) / 48000.0));
		fr->pts = k * fr->nb_samples;
		assert_int_equal(avcodec_send_frame(enc, fr), 0);
		drain(enc, c, &n, 8);
	}
	av_frame_free(&fr);
	avcodec_free_context(&enc);
	assert_true(n >= 4);

	sc_buf_init(&out, SC_DEPAY_MAX_FRAME);
	dec_open(&dec, AV_CODEC_ID_OPUS);
	for (size_t i = 0; i < n; i++) {
		bool key = false;
		AVPacket *pkt = av_packet_alloc();

		rf.n = 0;
		memcpy(rtp_add(&rf, c[i].len), c[i].data, c[i].len);
		assert_int_equal(depay(d, &rf, &out, &key), 0);
		assert_true(key);
		assert_int_equal(out.len, c[i].len);
		assert_non_null(pkt);
		assert_int_equal(av_new_packet(pkt, (int)out.len), 0);
		memcpy(pkt->data, out.data, out.len);
		assert_int_equal(avcodec_send_packet(dec.ctx, pkt), 0);
		av_packet_free(&pkt);
		while (avcodec_receive_frame(dec.ctx, dec.frame) == 0) {
			const float *f = (const float *)dec.frame->data[0];

			assert_int_equal(dec.frame->sample_rate, 48000);
			if (i >= 2) /* past the encoder's start-up */
				for (int k = 0; k < dec.frame->nb_samples; k++, samples++)
					sum += (double)f[k] * f[k];
			av_frame_unref(dec.frame);
		}
	}
	assert_true(samples > 0);
	/* a 10000/32768 sine: RMS about 0.216 */
	assert_true(fabs(sqrt(sum / (double)samples) - 0.216) < 0.05);
	avcodec_free_context(&dec.ctx);
	av_frame_free(&dec.frame);
	sc_buf_free(&out);
	coded_free(c, n);
	sc_depay_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vp8_libvpx),
		cmocka_unit_test(test_h264_libx264),
		cmocka_unit_test(test_opus_libopus),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
