/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec_info.c - picture size from an H.264 SPS (ITU-T H.264 7.3.2.1.1) and
 * rate/channels from an AAC AudioSpecificConfig (ISO 14496-3 1.6.2.1).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "codec_info.h"

#define SPS_MAX 512

typedef struct {
	const uint8_t *p;
	size_t nbits, pos;
	bool overrun;
} bitreader;

static uint32_t get_bit(bitreader *br)
{
	if (br->pos >= br->nbits) {
		br->overrun = true;
		return 0;
	}
	uint32_t v = (br->p[br->pos >> 3] >> (7 - (br->pos & 7))) & 1;
	br->pos++;
	return v;
}

static uint32_t get_bits(bitreader *br, unsigned n)
{
	uint32_t v = 0;
	while (n--)
		v = v << 1 | get_bit(br);
	return v;
}

/* Exp-Golomb, ue(v); values past 2^31 are treated as malformed. */
static uint32_t get_ue(bitreader *br)
{
	unsigned zeros = 0;
	while (!get_bit(br) && !br->overrun)
		if (++zeros > 31) {
			br->overrun = true;
			return 0;
		}
	return ((1u << zeros) - 1) + get_bits(br, zeros);
}

static int32_t get_se(bitreader *br)
{
	uint32_t k = get_ue(br);
	return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

static void skip_scaling_list(bitreader *br, int size)
{
	int last = 8, next = 8;
	for (int j = 0; j < size && !br->overrun; j++) {
		if (next != 0) {
			int32_t delta = get_se(br); /* delta_scale: -128..127 */
			if (delta < -128 || delta > 127) {
				br->overrun = true; /* malformed: stop reading */
				return;
			}
			next = (last + delta + 256) % 256;
		}
		last = next == 0 ? last : next;
	}
}

int sc_h264_sps_size(const uint8_t *nal, size_t n, int *ret_w, int *ret_h)
{
	uint8_t rbsp[SPS_MAX];
	size_t len = 0;

	/* Drop the NAL header and emulation prevention bytes (00 00 03). */
	for (size_t i = 1; i < n && len < sizeof(rbsp); i++) {
		if (i >= 3 && nal[i] == 3 && nal[i - 1] == 0 && nal[i - 2] == 0)
			continue;
		rbsp[len++] = nal[i];
	}
	bitreader br = {.p = rbsp, .nbits = len * 8};

	uint32_t profile = get_bits(&br, 8);
	get_bits(&br, 16); /* constraint flags, level */
	get_ue(&br);	   /* seq_parameter_set_id */
	uint32_t chroma = 1;
	if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 ||
	    profile == 83 || profile == 86 || profile == 118 || profile == 128 || profile == 138 ||
	    profile == 139 || profile == 134 || profile == 135) {
		chroma = get_ue(&br);
		if (chroma == 3)
			get_bit(&br);
		get_ue(&br); /* bit depths */
		get_ue(&br);
		get_bit(&br);
		if (get_bit(&br)) /* seq_scaling_matrix_present_flag */
			for (int i = 0; i < (chroma != 3 ? 8 : 12); i++)
				if (get_bit(&br))
					skip_scaling_list(&br, i < 6 ? 16 : 64);
	}
	get_ue(&br); /* log2_max_frame_num_minus4 */
	uint32_t poc_type = get_ue(&br);
	if (poc_type == 0) {
		get_ue(&br);
	} else if (poc_type == 1) {
		get_bit(&br);
		get_se(&br);
		get_se(&br);
		uint32_t cycle = get_ue(&br);
		if (cycle > 255)
			return -EBADMSG;
		for (uint32_t i = 0; i < cycle; i++)
			get_se(&br);
	}
	get_ue(&br); /* max_num_ref_frames */
	get_bit(&br);
	uint32_t w_mbs = get_ue(&br) + 1;
	uint32_t h_units = get_ue(&br) + 1;
	uint32_t frame_mbs_only = get_bit(&br);
	if (!frame_mbs_only)
		get_bit(&br);
	get_bit(&br); /* direct_8x8_inference_flag */
	uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
	if (get_bit(&br)) {
		cl = get_ue(&br);
		cr = get_ue(&br);
		ct = get_ue(&br);
		cb = get_ue(&br);
	}
	if (br.overrun || chroma > 3 || w_mbs > 1024 || h_units > 1024)
		return -EBADMSG;
	uint32_t unit_x = chroma == 0 ? 1 : (chroma == 3 ? 1 : 2);
	uint32_t unit_y = (chroma == 0 ? 1 : (chroma == 1 ? 2 : 1)) * (2 - frame_mbs_only);
	int64_t w = (int64_t)w_mbs * 16 - (int64_t)(cl + cr) * unit_x;
	int64_t h = (int64_t)(2 - frame_mbs_only) * h_units * 16 - (int64_t)(ct + cb) * unit_y;
	if (w <= 0 || h <= 0)
		return -EBADMSG;
	*ret_w = (int)w;
	*ret_h = (int)h;
	return 0;
}

int sc_h264_avcc_size(const uint8_t *avcc, size_t n, int *ret_w, int *ret_h)
{
	/* version, profile, compat, level, lengthSizeMinusOne, numOfSPS */
	if (n < 8 || avcc[0] != 1 || (avcc[5] & 0x1f) < 1)
		return -EBADMSG;
	size_t sps_len = (size_t)avcc[6] << 8 | avcc[7];
	if (sps_len < 4 || 8 + sps_len > n)
		return -EBADMSG;
	return sc_h264_sps_size(avcc + 8, sps_len, ret_w, ret_h);
}

int sc_aac_asc_info(const uint8_t *asc, size_t n, int *ret_rate, int *ret_channels)
{
	static const int rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
				      22050, 16000, 12000, 11025, 8000,	 7350};
	bitreader br = {.p = asc, .nbits = n * 8};
	uint32_t aot = get_bits(&br, 5);
	if (aot == 31)
		aot = 32 + get_bits(&br, 6);
	uint32_t idx = get_bits(&br, 4);
	int rate;
	if (idx == 15)
		rate = (int)get_bits(&br, 24);
	else if (idx < 13)
		rate = rates[idx];
	else
		return -EBADMSG;
	uint32_t ch = get_bits(&br, 4);
	if (br.overrun || aot == 0 || rate <= 0 || rate > 192000 || ch > 7)
		return -EBADMSG;
	*ret_rate = rate;
	*ret_channels = ch == 7 ? 8 : (int)ch;
	return 0;
}
