/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_mux.c - codec configuration checks (ISO/IEC 14496-15 avcC, H.264
 * SPS, ISO/IEC 14496-3 AudioSpecificConfig) and the in-memory fragmented
 * MP4 muxer on top of libavformat.
 */
#include "hls_mux.h"
#include "codec_info.h"
#include "hls_disk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>

#define MUX_IOBUF     (4 * 1024)  /* kept per stream: small, the muxer only appends */
#define MUX_MAX_BYTES (64u << 20) /* one fragment; a sane one is far smaller */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- codec configurations ---- */

static int set_extradata(sc_hls_track_cfg *cfg, const uint8_t *p, size_t len)
{
	cfg->extradata = malloc(len);
	if (!cfg->extradata)
		return -ENOMEM;
	memcpy(cfg->extradata, p, len);
	cfg->extradata_len = len;
	cfg->present = 1;
	return 0;
}

int sc_hls_parse_avcc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err, size_t errlen)
{
	sc_hls_track_cfg c = {0};
	size_t off = 6, nsps, npps;
	int w = 0, h = 0, rc;

	if (len < 7 || p[0] != 1)
		return fail(err, errlen, -EINVAL, "bad AVC decoder configuration (%zu bytes)", len);
	c.nal_length_size = (p[4] & 3) + 1;
	if (c.nal_length_size == 3)
		return fail(err, errlen, -EINVAL, "unsupported NAL length size 3");
	nsps = p[5] & 0x1f;
	if (nsps == 0)
		return fail(err, errlen, -EINVAL, "AVC configuration without SPS");
	for (size_t i = 0; i < nsps; i++) {
		size_t n;

		if (off + 2 > len)
			goto truncated;
		n = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (n == 0 || off + n > len)
			goto truncated;
		if (i == 0 && sc_h264_sps_size(p + off, n, &w, &h) < 0)
			return fail(err, errlen, -EINVAL, "unreadable H.264 SPS");
		off += n;
	}
	if (off + 1 > len)
		goto truncated;
	npps = p[off++];
	if (npps == 0)
		return fail(err, errlen, -EINVAL, "AVC configuration without PPS");
	for (size_t i = 0; i < npps; i++) {
		size_t n;

		if (off + 2 > len)
			goto truncated;
		n = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (n == 0 || off + n > len)
			goto truncated;
		off += n;
	}
	c.width = w;
	c.height = h;
	rc = set_extradata(&c, p, len);
	if (rc < 0)
		return fail(err, errlen, rc, "out of memory");
	*cfg = c;
	return 0;
truncated:
	return fail(err, errlen, -EINVAL, "truncated AVC decoder configuration");
}

int sc_hls_parse_asc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err, size_t errlen)
{
	sc_hls_track_cfg c = {0};
	int rc;

	if (len < 2 || len > 64)
		return fail(err, errlen, -EINVAL, "bad AudioSpecificConfig (%zu bytes)", len);
	if (sc_aac_asc_info(p, len, &c.sample_rate, &c.channels) < 0)
		return fail(err, errlen, -EINVAL, "bad AudioSpecificConfig");
	if (c.channels == 0)
		c.channels = 2; /* program config element: the decoder reads it */
	rc = set_extradata(&c, p, len);
	if (rc < 0)
		return fail(err, errlen, rc, "out of memory");
	*cfg = c;
	return 0;
}

void sc_hls_track_cfg_clear(sc_hls_track_cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->extradata);
	memset(cfg, 0, sizeof(*cfg));
}

int sc_hls_track_cfg_same(const sc_hls_track_cfg *a, const sc_hls_track_cfg *b)
{
	return a->present == b->present && a->extradata_len == b->extradata_len &&
	       (!a->extradata_len || memcmp(a->extradata, b->extradata, a->extradata_len) == 0);
}

int sc_hls_check_avcc(const uint8_t *p, size_t len, int nal_length_size)
{
	size_t off = 0;

	if (len == 0)
		return -EINVAL;
	while (off < len) {
		size_t n = 0;

		if (len - off < (size_t)nal_length_size)
			return -EINVAL;
		for (int i = 0; i < nal_length_size; i++)
			n = n << 8 | p[off + i];
		off += (size_t)nal_length_size;
		if (n == 0 || n > len - off)
			return -EINVAL;
		off += n;
	}
	return 0;
}

/* ---- muxer ---- */

struct held {
	AVPacket *pkt; /* NULL: none */
	int64_t dts;   /* ms */
};

struct sc_hls_mux {
	AVFormatContext *ctx;
	AVIOContext *pb;
	int stream[SC_HLS_TRACKS]; /* stream index, -1: absent */
	struct held held[SC_HLS_TRACKS];
	int64_t last_dts[SC_HLS_TRACKS]; /* ms; INT64_MIN: none yet */
	int64_t step[SC_HLS_TRACKS];	 /* ms */
	size_t written;			 /* frames in the muxer since the last fragment */
	sc_blob *out;			 /* what the muxer wrote since the last take: len bytes
					  * of out->len; handed over as is (no copy, no buffer
					  * kept between fragments) */
	size_t len;
	int overflow, discard;
};

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int io_write(void *opaque, const uint8_t *data, int n)
#else
static int io_write(void *opaque, uint8_t *data, int n)
#endif
{
	sc_hls_mux *mx = opaque;
	size_t need;

	if (n <= 0 || mx->discard)
		return n < 0 ? AVERROR(EINVAL) : n;
	need = mx->len + (size_t)n;
	if (mx->overflow || need > MUX_MAX_BYTES) {
		mx->overflow = 1;
		return AVERROR(ENOBUFS);
	}
	if (!mx->out || need > mx->out->len) {
		size_t ncap = mx->out ? mx->out->len : 16 * 1024;
		sc_blob *nb;

		while (ncap < need)
			ncap *= 2;
		nb = sc_blob_resize(mx->out, ncap);
		if (!nb)
			return AVERROR(ENOMEM);
		mx->out = nb;
	}
	memcpy(mx->out->data + mx->len, data, (size_t)n);
	mx->len = need;
	return n;
}

static int take_output(sc_hls_mux *mx, sc_blob **ret)
{
	sc_blob *b = NULL;

	avio_flush(mx->pb);
	if (mx->overflow)
		return -ENOBUFS;
	if (mx->len) {
		/* Shrunk to its bytes; if even that fails, handed over as is. */
		b = sc_blob_resize(mx->out, mx->len);
		if (!b) {
			b = mx->out;
			b->len = mx->len;
		}
		mx->out = NULL;
	}
	mx->len = 0;
	*ret = b;
	return 0;
}

static int averr(int e)
{
	return e < 0 && e > -4096 ? e : -EIO;
}

static int add_stream(sc_hls_mux *mx, int track, const sc_hls_track_cfg *c)
{
	AVStream *st = avformat_new_stream(mx->ctx, NULL);
	AVCodecParameters *par;

	if (!st)
		return -ENOMEM;
	par = st->codecpar;
	par->extradata = av_mallocz(c->extradata_len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!par->extradata)
		return -ENOMEM;
	memcpy(par->extradata, c->extradata, c->extradata_len);
	par->extradata_size = (int)c->extradata_len;
	if (track == SC_HLS_VIDEO) {
		par->codec_type = AVMEDIA_TYPE_VIDEO;
		par->codec_id = AV_CODEC_ID_H264;
		par->width = c->width;
		par->height = c->height;
	} else {
		par->codec_type = AVMEDIA_TYPE_AUDIO;
		par->codec_id = AV_CODEC_ID_AAC;
		par->sample_rate = c->sample_rate;
		par->frame_size = 1024;
		av_channel_layout_default(&par->ch_layout, c->channels);
	}
	st->time_base = (AVRational){1, 1000};
	mx->stream[track] = st->index;
	return 0;
}

void sc_hls_mux_free(sc_hls_mux *mx)
{
	if (!mx)
		return;
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		av_packet_free(&mx->held[t].pkt);
	if (mx->ctx) {
		/* The header was written if pb is set: the trailer releases the
		 * muxer's buffers; its bytes (mfra) are not wanted. */
		if (mx->pb && mx->ctx->pb) {
			mx->discard = 1;
			av_write_trailer(mx->ctx);
		}
		avformat_free_context(mx->ctx);
	}
	if (mx->pb) {
		av_freep(&mx->pb->buffer);
		avio_context_free(&mx->pb);
	}
	sc_blob_unref(mx->out);
	free(mx);
}

int sc_hls_mux_new(const sc_hls_track_cfg cfg[SC_HLS_TRACKS], sc_hls_mux **ret, sc_blob **ret_init,
		   char *err, size_t errlen)
{
	AVDictionary *opts = NULL;
	sc_hls_mux *mx;
	uint8_t *iobuf;
	sc_blob *init = NULL;
	int rc;

	if (!cfg[SC_HLS_VIDEO].present && !cfg[SC_HLS_AUDIO].present)
		return fail(err, errlen, -EINVAL, "no track to mux");
	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (int t = 0; t < SC_HLS_TRACKS; t++) {
		mx->stream[t] = -1;
		mx->last_dts[t] = INT64_MIN;
	}
	mx->step[SC_HLS_VIDEO] = 40;
	if (cfg[SC_HLS_AUDIO].present)
		mx->step[SC_HLS_AUDIO] = 1024 * 1000 / cfg[SC_HLS_AUDIO].sample_rate;

	rc = avformat_alloc_output_context2(&mx->ctx, NULL, "mp4", NULL);
	if (rc < 0 || !mx->ctx) {
		rc = fail(err, errlen, averr(rc), "mp4 muxer unavailable");
		goto fail;
	}
	for (int t = 0; t < SC_HLS_TRACKS; t++) {
		if (cfg[t].present && (rc = add_stream(mx, t, &cfg[t])) < 0) {
			fail(err, errlen, rc, "out of memory");
			goto fail;
		}
	}
	/* The muxer's pb is set only once the header is being written, so
	 * that a failure before never runs the trailer. */
	iobuf = av_malloc(MUX_IOBUF);
	if (!iobuf) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	mx->pb = avio_alloc_context(iobuf, MUX_IOBUF, 1, mx, NULL, io_write, NULL);
	if (!mx->pb) {
		av_free(iobuf);
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	mx->pb->seekable = 0;
	mx->ctx->pb = mx->pb;
	mx->ctx->flags |= AVFMT_FLAG_CUSTOM_IO;
	/* Timestamps are the publisher's: never shifted, and each fragment's
	 * tfdt is its first dts (frag_discont), so tracks stay in sync and a
	 * fragment plays after the init segment alone. */
	mx->ctx->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
	av_dict_set(&opts, "movflags",
		    "frag_custom+empty_moov+default_base_moof+frag_discont+skip_trailer", 0);
	av_dict_set(&opts, "use_editlist", "0", 0);
	rc = avformat_write_header(mx->ctx, &opts);
	av_dict_free(&opts);
	if (rc < 0) {
		mx->ctx->pb = NULL; /* no trailer after a failed header */
		rc = fail(err, errlen, averr(rc), "mp4 muxer: cannot write the header (%s)",
			  av_err2str(rc));
		goto fail;
	}
	rc = take_output(mx, &init);
	if (rc < 0 || !init) {
		rc = fail(err, errlen, rc < 0 ? rc : -EIO, "mp4 muxer: no init segment");
		goto fail;
	}
	*ret = mx;
	*ret_init = init;
	return 0;
fail:
	sc_hls_mux_free(mx);
	return rc;
}

static int write_held(sc_hls_mux *mx, int track, int64_t end_dts, char *err, size_t errlen)
{
	struct held *h = &mx->held[track];
	AVStream *st = mx->ctx->streams[mx->stream[track]];
	AVRational ms = {1, 1000};
	int rc;

	if (!h->pkt)
		return 0;
	av_packet_rescale_ts(h->pkt, ms, st->time_base);
	/* Duration in the track's time base from the rescaled ends, so that
	 * the next fragment's tfdt is exactly the next frame's dts. */
	h->pkt->duration =
		av_rescale_q(end_dts, ms, st->time_base) - av_rescale_q(h->dts, ms, st->time_base);
	if (h->pkt->duration <= 0)
		h->pkt->duration = 1;
	rc = av_write_frame(mx->ctx, h->pkt);
	av_packet_free(&h->pkt);
	if (rc < 0)
		return fail(err, errlen, averr(rc), "mp4 muxer: %s", av_err2str(rc));
	mx->written++;
	return 0;
}

int sc_hls_mux_write(sc_hls_mux *mx, int track, int64_t dts, int64_t pts, int key,
		     const uint8_t *data, size_t len, char *err, size_t errlen)
{
	AVPacket *pkt;
	int rc;

	if (track < 0 || track >= SC_HLS_TRACKS || mx->stream[track] < 0 || !len || len > INT32_MAX)
		return fail(err, errlen, -EINVAL, "frame for no track");
	if (mx->last_dts[track] != INT64_MIN && dts <= mx->last_dts[track]) {
		pts += mx->last_dts[track] + 1 - dts;
		dts = mx->last_dts[track] + 1;
	}
	if (pts < dts)
		pts = dts;
	pkt = av_packet_alloc();
	if (!pkt || av_new_packet(pkt, (int)len) < 0) {
		av_packet_free(&pkt);
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	memcpy(pkt->data, data, len);
	pkt->dts = dts;
	pkt->pts = pts;
	pkt->stream_index = mx->stream[track];
	if (key)
		pkt->flags |= AV_PKT_FLAG_KEY;
	rc = write_held(mx, track, dts, err, errlen);
	if (rc < 0) {
		av_packet_free(&pkt);
		return rc;
	}
	if (mx->last_dts[track] != INT64_MIN)
		mx->step[track] = dts - mx->last_dts[track];
	mx->last_dts[track] = dts;
	mx->held[track].pkt = pkt;
	mx->held[track].dts = dts;
	return 0;
}

int64_t sc_hls_mux_frame_ms(const sc_hls_mux *mx, int track)
{
	return mx->step[track] > 0 ? mx->step[track] : 1;
}

size_t sc_hls_mux_pending(const sc_hls_mux *mx)
{
	return mx->written;
}

int sc_hls_mux_flush(sc_hls_mux *mx, int final, sc_blob **ret, int64_t *ret_end_dts, char *err,
		     size_t errlen)
{
	int64_t end = INT64_MIN;
	sc_blob *b = NULL;
	int rc;

	if (final) {
		for (int t = 0; t < SC_HLS_TRACKS; t++) {
			int64_t e;

			if (!mx->held[t].pkt)
				continue;
			e = mx->held[t].dts + sc_hls_mux_frame_ms(mx, t);
			rc = write_held(mx, t, e, err, errlen);
			if (rc < 0)
				return rc;
			if (t == SC_HLS_VIDEO || mx->stream[SC_HLS_VIDEO] < 0)
				end = e;
		}
	}
	if (mx->written) {
		rc = av_write_frame(mx->ctx, NULL);
		if (rc < 0)
			return fail(err, errlen, averr(rc), "mp4 muxer: %s", av_err2str(rc));
		mx->written = 0;
	}
	rc = take_output(mx, &b);
	if (rc < 0)
		return fail(err, errlen, rc, "mp4 muxer: fragment too large or out of memory");
	*ret = b;
	if (ret_end_dts)
		*ret_end_dts = end;
	return 0;
}
