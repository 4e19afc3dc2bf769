/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec_info.h - what the API reports about a stream's tracks, read from
 * its sequence headers: H.264 picture size from the SPS inside an
 * AVCDecoderConfigurationRecord, AAC rate and channels from an
 * AudioSpecificConfig. Bounded reads; anything malformed is -EBADMSG.
 */
#ifndef SC_CODEC_INFO_H
#define SC_CODEC_INFO_H

#include <stddef.h>
#include <stdint.h>

/* The picture size coded in one SPS NAL unit (header byte included). */
int sc_h264_sps_size(const uint8_t *nal, size_t n, int *ret_w, int *ret_h);
/* The same for the first SPS of an AVCDecoderConfigurationRecord. */
int sc_h264_avcc_size(const uint8_t *avcc, size_t n, int *ret_w, int *ret_h);
/* Channels 0 means "in a program config element". */
int sc_aac_asc_info(const uint8_t *asc, size_t n, int *ret_rate, int *ret_channels);

#endif
