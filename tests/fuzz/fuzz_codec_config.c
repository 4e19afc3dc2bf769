/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_codec_config.c - the codec configurations a publisher sends in its
 * sequence headers (AVCDecoderConfigurationRecord with its SPS, AAC
 * AudioSpecificConfig) and the AVCC framing of its frames: read by the
 * API's codec_info and by the HLS muxer before anything reaches
 * libavformat. The first byte picks the parser.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "codec_info.h"
#include "hls_mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	int w, h, rate, ch;
	sc_hls_track_cfg cfg;

	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0:
		if (sc_h264_avcc_size(p, n, &w, &h) == 0)
			assert(w > 0 && h > 0 && w <= 1024 * 16 && h <= 2 * 1024 * 16);
		if (sc_hls_parse_avcc(p, n, &cfg, err, sizeof(err)) == 0) {
			assert(cfg.extradata_len == n);
			assert(cfg.nal_length_size == 1 || cfg.nal_length_size == 2 ||
			       cfg.nal_length_size == 4);
			sc_hls_track_cfg_clear(&cfg);
		}
		break;
	case 1:
		if (sc_aac_asc_info(p, n, &rate, &ch) == 0)
			assert(rate > 0 && rate <= 192000 && ch >= 0 && ch <= 8);
		if (sc_hls_parse_asc(p, n, &cfg, err, sizeof(err)) == 0)
			sc_hls_track_cfg_clear(&cfg);
		break;
	case 2:
		sc_h264_sps_size(p, n, &w, &h);
		break;
	default:
		sc_hls_check_avcc(p, n, 1 + (int)(data[0] >> 6) % 4);
		break;
	}
	return 0;
}
