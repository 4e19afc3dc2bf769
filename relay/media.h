/* SPDX-License-Identifier: Apache-2.0 */
/*
 * media.h - one audio, video or data message of a stream (an FLV tag body
 * plus its timestamp), refcounted and shared by every sink: players, push
 * targets and HLS all hold references to the same bytes.
 *
 * Loop thread only (the refcount is not atomic). Sinks that hand data to
 * another thread copy it, or take and drop their reference on the loop
 * while the other thread only reads data[] (the HLS spool writer).
 */
#ifndef SC_MEDIA_H
#define SC_MEDIA_H

#include <stddef.h>
#include <stdint.h>

enum {
	SC_MEDIA_KEYFRAME = 1 << 0, /* video key frame (or any audio frame) */
	SC_MEDIA_SEQHDR = 1 << 1,   /* AVC decoder config / AAC AudioSpecificConfig */
	SC_MEDIA_H264 = 1 << 2,	    /* video codec id 7 */
	SC_MEDIA_AAC = 1 << 3,	    /* audio format 10 */
};

typedef struct sc_media {
	int refs;
	uint8_t type;	     /* SC_RTMP_MSG_AUDIO, _VIDEO or _DATA_AMF0 */
	uint32_t ts;	     /* milliseconds, the publisher's clock */
	int32_t cts;	     /* H.264 composition offset (pts - dts), ms */
	unsigned flags;	     /* SC_MEDIA_* */
	uint64_t arrival_us; /* monotonic time the relay got it */
	/* The message cut into chunks for a player (chunk size
	 * SC_PLAY_CHUNK_SIZE, message stream 1), built on first use. */
	uint8_t *wire;
	size_t wire_len;
	size_t len;
	uint8_t data[];
} sc_media;

#define SC_PLAY_CHUNK_SIZE 4096

/* Copies payload; classifies it (flags, cts). NULL on OOM. */
sc_media *sc_media_new(uint8_t type, uint32_t ts, const uint8_t *payload, size_t len);
sc_media *sc_media_ref(sc_media *m);
void sc_media_unref(sc_media *m);
/* The chunked form for players (msid 1). 0 or -ENOMEM. */
int sc_media_wire(sc_media *m, const uint8_t **ret, size_t *ret_len);

static inline int sc_media_is_video(const sc_media *m)
{
	return m->type == 9;
}
static inline int sc_media_is_audio(const sc_media *m)
{
	return m->type == 8;
}

#endif
