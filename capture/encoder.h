/* SPDX-License-Identifier: Apache-2.0 */
/*
 * encoder.h - internal to the mixer: H.264 (libx264 through libavcodec,
 * CBR with a 1 s VBV, no B-frames, key frame every 2 s, global header for
 * FLV) and AAC (FFmpeg's native encoder, 48 kHz stereo). Mixer thread only.
 */
#ifndef SC_ENCODER_H
#define SC_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mixer.h"

struct AVFrame;
struct AVPacket;
struct AVCodecContext;

#define SC_ENC_VIDEO 0
#define SC_ENC_AUDIO 1

/* Receives each packet (time base: the codec context's); may take it
 * with av_packet_move_ref. Returns 0 or a negative errno (stops). */
typedef int (*sc_encoder_packet_fn)(void *opaque, struct AVPacket *pkt, int stream);

typedef struct sc_encoder sc_encoder;

/* NULL with a message in err. */
sc_encoder *sc_encoder_new(const sc_profile *p, char *err, size_t errlen);
void sc_encoder_free(sc_encoder *e);

/* frame: YUV420P at the profile's size, pts = frame index (time base
 * 1/fps); NULL flushes. key: make this frame an IDR. */
int sc_encoder_video(sc_encoder *e, struct AVFrame *frame, bool key, sc_encoder_packet_fn fn,
		     void *opaque);
/* samples: sc_encoder_audio_frame_size() interleaved stereo float frames
 * at pts (in samples, time base 1/48000); NULL flushes. */
int sc_encoder_audio(sc_encoder *e, const float *samples, int64_t pts, sc_encoder_packet_fn fn,
		     void *opaque);
int sc_encoder_audio_frame_size(const sc_encoder *e);

/* For the muxer: codec parameters and time bases. */
const struct AVCodecContext *sc_encoder_video_ctx(const sc_encoder *e);
const struct AVCodecContext *sc_encoder_audio_ctx(const sc_encoder *e);

#endif
