/* SPDX-License-Identifier: Apache-2.0 */
/*
 * source.h - one participant's media on its way from the network to the
 * mixer: coded frames in (network thread), decoded on the mixer thread when
 * it asks for them (audio always; video while its pictures are at most
 * 640x480 and quick to decode, else on the source's own decoder thread),
 * read by the mixer thread as "the picture to show at t" and "the sound
 * for [t, t+n)".
 *
 * Times are presentation times on the capture's clock: CLOCK_MONOTONIC
 * microseconds at which a frame should be seen or heard. The network side
 * computes them (RTP time mapped through RTCP sender reports onto one wall
 * clock, plus a playout delay) the same way for a participant's audio and
 * video, so showing video at its pts and playing audio at its pts keeps
 * them in sync.
 *
 * Refcounted (network, decoder and mixer threads hold references); each
 * function below says which thread calls it, and only that one may. Queues
 * are bounded: a decoder that falls behind drops coded video up to the
 * next key frame (and asks for one); audio the mixer has not pulled in
 * time drops its oldest packets.
 */
#ifndef SC_SOURCE_H
#define SC_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct AVFrame;

typedef struct sc_source sc_source;

/* id: stable key (Janus feed id, WHEP mid); display: the participant's
 * name for layouts ("single:NAME") and status. NULL on failure. */
sc_source *sc_source_new(const char *id, const char *display);
sc_source *sc_source_ref(sc_source *s);
void sc_source_unref(sc_source *s); /* the last one stops its decoder thread */

/* Network thread. codec: "vp8", "h264" (Annex B), "opus". Copies data.
 * 0, or -ENOSPC when dropped (queue full). */
int sc_source_push_video(sc_source *s, const char *codec, const uint8_t *data, size_t len, bool key,
			 int64_t pts_us);
int sc_source_push_audio(sc_source *s, const char *codec, const uint8_t *data, size_t len,
			 int64_t pts_us);
/* Network thread: true once (then cleared) when the decoder wants a key
 * frame (start, decode error, dropped frames): send a PLI. */
bool sc_source_take_keyframe_request(sc_source *s);

/*
 * Mixer thread. Decodes the video queued so far unless the decoder thread
 * does, then returns the newest decoded picture with pts <= t_us, as a new
 * reference (av_frame_unref/av_frame_free it), or NULL if none yet. Call
 * it every frame for every source, shown or not: inline decoding needs it.
 * *budget_us: CPU microseconds the caller still allows for decoding in
 * this output frame, over all sources; what this call spends is taken off,
 * and a source that finds it spent moves to its own thread (NULL: no
 * limit). *ret_age_us: t_us minus that picture's pts (how stale it is).
 * The frame's opaque is its serial, (uintptr_t)1, 2, ...: a new picture of
 * this source has a new serial.
 */
struct AVFrame *sc_source_video_at(sc_source *s, int64_t t_us, int64_t *budget_us,
				   int64_t *ret_age_us);
/*
 * Mixer thread. Decodes the audio queued so far, then fills out[0..2n)
 * with interleaved stereo float at 48 kHz for [t_us, t_us + n/48000 s):
 * decoded audio placed at its pts, silence where there is none.
 * Consecutive calls with contiguous times give contiguous sound. Returns
 * the number of samples that were not silence.
 */
size_t sc_source_audio_pull(sc_source *s, int64_t t_us, float *out, size_t n);
/* Recent audio energy (RMS, 0..1) for active-speaker detection. */
double sc_source_audio_level(sc_source *s);

const char *sc_source_id(const sc_source *s);
const char *sc_source_display(const sc_source *s);

typedef struct {
	char video_codec[8], audio_codec[8];
	int width, height;
	double fps; /* decoded, over the last seconds */
	uint64_t video_frames, audio_frames, decode_errors, dropped;
	uint64_t keyframe_requests;
	uint64_t audio_late;	 /* decoded audio already past its play time */
	uint64_t audio_replaced; /* audio placed off the running stream (a jump) */
	bool video_threaded;	 /* video decodes on the source's thread (large), not the mixer's */
} sc_source_stats;
void sc_source_get_stats(sc_source *s, sc_source_stats *ret);

#endif
