/* SPDX-License-Identifier: Apache-2.0 */
/*
 * depay_h264.c - RFC 6184, packetization-mode 0 and 1. The first byte of
 * each payload is a NAL unit header |F|NRI|Type|:
 *
 *   1..23  one NAL unit, as it is
 *   24     STAP-A: header, then (16-bit size, NAL unit) pairs
 *   28     FU-A: FU indicator |F|NRI|28|, FU header |S|E|R|Type|, then a
 *          piece of one NAL unit whose header is |F|NRI|Type|
 *   others (STAP-B, MTAP16/24, FU-B: interleaved mode; 0, 30, 31) are
 *          not supported and make the frame malformed.
 *
 * Output is Annex B: every NAL unit behind a 4-byte start code. The
 * latest SPS and PPS are kept (up to H264_PARAM_MAX bytes each; a bigger
 * one forgets the old one); an IDR frame that does not carry them gets the
 * stored ones put in front (SPS before the first PPS or IDR slice, PPS
 * before the first IDR slice), so a decoder can start on any IDR frame.
 */
#include "depay.h"

#include <errno.h>
#include <string.h>

#define H264_PARAM_MAX 1024
#define NONE	       ((size_t)-1)

enum {
	NAL_IDR = 5,
	NAL_SPS = 7,
	NAL_PPS = 8,
	NAL_STAP_A = 24,
	NAL_FU_A = 28,
};

typedef struct {
	uint8_t sps[H264_PARAM_MAX];
	uint8_t pps[H264_PARAM_MAX];
	size_t sps_len, pps_len;
} h264_priv;

/* One frame being put together in out[start..]. Offsets are absolute
 * offsets in out of a NAL unit's start code, NONE if there is none. */
typedef struct {
	h264_priv *priv;
	sc_buf *out;
	size_t start;
	size_t first_sps, first_pps, first_idr;
	bool in_fu;
	uint8_t fu_type;
	size_t fu_nal; /* start code of the NAL unit the FU-A builds */
} h264_frame;

static const uint8_t start_code[4] = {0, 0, 0, 1};

static bool nal_type_ok(uint8_t type)
{
	return type >= 1 && type <= 23;
}

/* Room for n more bytes within the frame bound. */
static int h264_room(const h264_frame *fr, size_t n)
{
	size_t used = fr->out->len - fr->start;

	if (n > SC_DEPAY_MAX_FRAME - used)
		return -EMSGSIZE;
	return 0;
}

static void remember(uint8_t *dst, size_t *dst_len, const uint8_t *p, size_t n)
{
	if (n > H264_PARAM_MAX) {
		*dst_len = 0; /* the old one no longer applies */
		return;
	}
	memcpy(dst, p, n);
	*dst_len = n;
}

/* A whole NAL unit now sits at out[at + 4 ..]: note what it is. */
static void h264_nal_done(h264_frame *fr, size_t at)
{
	const uint8_t *nal = fr->out->data + at + 4;
	size_t n = fr->out->len - at - 4;

	switch (nal[0] & 0x1f) {
	case NAL_SPS:
		if (fr->first_sps == NONE)
			fr->first_sps = at;
		remember(fr->priv->sps, &fr->priv->sps_len, nal, n);
		break;
	case NAL_PPS:
		if (fr->first_pps == NONE)
			fr->first_pps = at;
		remember(fr->priv->pps, &fr->priv->pps_len, nal, n);
		break;
	case NAL_IDR:
		if (fr->first_idr == NONE)
			fr->first_idr = at;
		break;
	default:
		break;
	}
}

static int h264_emit(h264_frame *fr, const uint8_t *nal, size_t n)
{
	size_t at = fr->out->len;
	int r;

	if (n == 0 || !nal_type_ok(nal[0] & 0x1f))
		return -EBADMSG;
	r = h264_room(fr, sizeof(start_code) + n);
	if (r < 0)
		return r;
	r = sc_buf_reserve(fr->out, sizeof(start_code) + n);
	if (r < 0)
		return r;
	sc_buf_append(fr->out, start_code, sizeof(start_code));
	sc_buf_append(fr->out, nal, n);
	h264_nal_done(fr, at);
	return 0;
}

static int h264_stap_a(h264_frame *fr, const uint8_t *p, size_t len)
{
	size_t i = 1, count = 0;
	int r;

	while (i < len) {
		size_t n;

		if (len - i < 2)
			return -EBADMSG;
		n = sc_rd_be16(p + i);
		i += 2;
		if (n == 0 || n > len - i)
			return -EBADMSG;
		r = h264_emit(fr, p + i, n);
		if (r < 0)
			return r;
		i += n;
		count++;
	}
	return count ? 0 : -EBADMSG;
}

static int h264_fu_a(h264_frame *fr, const uint8_t *p, size_t len)
{
	uint8_t ind, fu, type;
	size_t n;
	int r;

	if (len < 2)
		return -EBADMSG;
	ind = p[0];
	fu = p[1];
	type = fu & 0x1f;
	if (!nal_type_ok(type))
		return -EBADMSG;
	p += 2;
	n = len - 2;
	if (fu & 0x80) { /* S: the header is F|NRI of the indicator, Type */
		uint8_t hdr = (uint8_t)((ind & 0xe0) | type);

		if (fr->in_fu)
			return -EBADMSG; /* the previous one never ended */
		r = h264_room(fr, sizeof(start_code) + 1 + n);
		if (r < 0)
			return r;
		r = sc_buf_reserve(fr->out, sizeof(start_code) + 1 + n);
		if (r < 0)
			return r;
		fr->fu_nal = fr->out->len;
		sc_buf_append(fr->out, start_code, sizeof(start_code));
		sc_buf_append(fr->out, &hdr, 1);
		fr->in_fu = true;
		fr->fu_type = type;
	} else {
		if (!fr->in_fu || fr->fu_type != type)
			return -EBADMSG; /* a middle or end without its start */
		r = h264_room(fr, n);
		if (r < 0)
			return r;
	}
	r = sc_buf_append(fr->out, p, n);
	if (r < 0)
		return r;
	if (fu & 0x40) { /* E */
		fr->in_fu = false;
		h264_nal_done(fr, fr->fu_nal);
	}
	return 0;
}

/* Put a stored parameter set, behind a start code, at out[at]. */
static int h264_insert(h264_frame *fr, size_t at, const uint8_t *nal, size_t n)
{
	sc_buf *out = fr->out;
	size_t add = sizeof(start_code) + n;
	int r;

	r = h264_room(fr, add);
	if (r < 0)
		return r;
	r = sc_buf_reserve(out, add);
	if (r < 0)
		return r;
	memmove(out->data + at + add, out->data + at, out->len - at);
	memcpy(out->data + at, start_code, sizeof(start_code));
	memcpy(out->data + at + sizeof(start_code), nal, n);
	out->len += add;
	return 0;
}

static int h264_packet(h264_frame *fr, const uint8_t *p, size_t len)
{
	uint8_t type;

	if (len < 1 || !p)
		return -EBADMSG;
	type = p[0] & 0x1f;
	if (fr->in_fu && type != NAL_FU_A)
		return -EBADMSG;
	if (nal_type_ok(type))
		return h264_emit(fr, p, len);
	if (type == NAL_STAP_A)
		return h264_stap_a(fr, p, len);
	if (type == NAL_FU_A)
		return h264_fu_a(fr, p, len);
	return -EBADMSG;
}

static int h264_frame_fn(void *priv_, const sc_jb_frame *f, sc_buf *out, bool *ret_key)
{
	h264_priv *priv = priv_;
	h264_frame fr = {
		.priv = priv,
		.out = out,
		.start = out->len,
		.first_sps = NONE,
		.first_pps = NONE,
		.first_idr = NONE,
	};
	bool key = false;
	size_t i;
	int r;

	for (i = 0; i < f->n; i++) {
		r = h264_packet(&fr, f->pkts[i].payload, f->pkts[i].payload_len);
		if (r < 0)
			goto fail;
	}
	if (fr.in_fu) {
		r = -EBADMSG; /* ends in the middle of a NAL unit */
		goto fail;
	}
	if (fr.first_idr != NONE) {
		if (fr.first_pps == NONE && priv->pps_len) {
			r = h264_insert(&fr, fr.first_idr, priv->pps, priv->pps_len);
			if (r < 0)
				goto fail;
		}
		if (fr.first_sps == NONE && priv->sps_len) {
			size_t at = fr.first_pps < fr.first_idr ? fr.first_pps : fr.first_idr;

			r = h264_insert(&fr, at, priv->sps, priv->sps_len);
			if (r < 0)
				goto fail;
		}
		key = priv->sps_len && priv->pps_len;
	}
	*ret_key = key;
	return 0;
fail:
	out->len = fr.start;
	return r;
}

const sc_depay_ops sc_depay_h264 = {
	.name = "h264",
	.priv_size = sizeof(h264_priv),
	.uninit = NULL,
	.frame = h264_frame_fn,
};
