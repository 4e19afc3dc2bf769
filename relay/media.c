/* SPDX-License-Identifier: Apache-2.0 */
/*
 * media.c - refcounted media messages and their classification.
 *
 * FLV tag bodies (FLV specification 10.1, E.4.2 and E.4.3):
 *   video: [frame type:4 | codec id:4] [AVC packet type] [composition time:24s] ...
 *   audio: [sound format:4 | rate:2 | size:1 | type:1] [AAC packet type] ...
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media.h"
#include "rtmp_chunk.h"

#define VIDEO_FRAME_KEY	    1
#define VIDEO_CODEC_H264    7
#define AVC_SEQUENCE_HEADER 0
#define AUDIO_FORMAT_AAC    10
#define AAC_SEQUENCE_HEADER 0

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void classify(sc_media *m)
{
	const uint8_t *d = m->data;

	if (m->type == SC_RTMP_MSG_VIDEO && m->len >= 1) {
		if (d[0] >> 4 == VIDEO_FRAME_KEY)
			m->flags |= SC_MEDIA_KEYFRAME;
		if ((d[0] & 0x0f) != VIDEO_CODEC_H264)
			return;
		m->flags |= SC_MEDIA_H264;
		if (m->len >= 2 && d[1] == AVC_SEQUENCE_HEADER)
			m->flags |= SC_MEDIA_SEQHDR;
		if (m->len >= 5) {
			uint32_t u = sc_rd_be24(d + 2);

			/* sign-extend 24 bits */
			m->cts = (int32_t)(u & 0x800000 ? u | 0xFF000000u : u);
		}
	} else if (m->type == SC_RTMP_MSG_AUDIO) {
		m->flags |= SC_MEDIA_KEYFRAME;
		if (m->len >= 1 && d[0] >> 4 == AUDIO_FORMAT_AAC) {
			m->flags |= SC_MEDIA_AAC;
			if (m->len >= 2 && d[1] == AAC_SEQUENCE_HEADER)
				m->flags |= SC_MEDIA_SEQHDR;
		}
	}
}

sc_media *sc_media_new(uint8_t type, uint32_t ts, const uint8_t *payload, size_t len)
{
	sc_media *m;

	if (len > SIZE_MAX - sizeof(*m))
		return NULL;
	m = malloc(sizeof(*m) + len);
	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->refs = 1;
	m->type = type;
	m->ts = ts;
	m->len = len;
	if (len)
		memcpy(m->data, payload, len);
	m->arrival_us = now_us();
	classify(m);
	return m;
}

sc_media *sc_media_ref(sc_media *m)
{
	if (m)
		m->refs++;
	return m;
}

void sc_media_unref(sc_media *m)
{
	if (!m || --m->refs > 0)
		return;
	free(m->wire);
	free(m);
}

int sc_media_wire(sc_media *m, const uint8_t **ret, size_t *ret_len)
{
	uint32_t csid;
	size_t size;
	sc_buf b;
	int r;

	if (!m->wire) {
		csid = m->type == SC_RTMP_MSG_VIDEO   ? SC_RTMP_CSID_VIDEO
		       : m->type == SC_RTMP_MSG_AUDIO ? SC_RTMP_CSID_AUDIO
						      : SC_RTMP_CSID_DATA;
		size = sc_rtmp_chunk_wire_size(SC_PLAY_CHUNK_SIZE, csid, m->ts, m->len);
		sc_buf_init(&b, size);
		r = sc_rtmp_chunk_write(&b, SC_PLAY_CHUNK_SIZE, csid, m->type, 1, m->ts, m->data,
					m->len);
		if (r < 0) {
			sc_buf_free(&b);
			return r == -ENOBUFS ? -ENOMEM : r;
		}
		m->wire = sc_buf_steal(&b, &m->wire_len);
	}
	*ret = m->wire;
	*ret_len = m->wire_len;
	return 0;
}
