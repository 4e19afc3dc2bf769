/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outq.c - bounded per-peer send queue. See outq.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "outq.h"
#include "rtmp_chunk.h"

#define BATCH_MAX 64

struct sc_outq_item {
	sc_outq_item *next;
	sc_media *m;	/* media (sent as m->wire), or NULL */
	uint8_t *bytes; /* owned bytes: control data, or media for msid != 1 */
	size_t len;
	bool droppable;
};

static void item_free(sc_outq_item *it)
{
	if (it->m)
		sc_media_unref(it->m);
	free(it->bytes);
	free(it);
}

void sc_outq_init(sc_outq *q, uv_stream_t *stream, size_t max_bytes, uint32_t max_ms, uint32_t msid,
		  void (*on_error)(void *, int), void *owner)
{
	memset(q, 0, sizeof(*q));
	q->stream = stream;
	q->max_bytes = max_bytes;
	q->max_ms = max_ms;
	q->msid = msid;
	q->on_error = on_error;
	q->owner = owner;
	q->req.data = q;
}

static void free_list(sc_outq_item *it)
{
	while (it) {
		sc_outq_item *next = it->next;
		item_free(it);
		it = next;
	}
}

void sc_outq_clear(sc_outq *q)
{
	free_list(q->head);
	q->head = q->tail = NULL;
	q->queued_bytes = 0;
}

size_t sc_outq_pending(const sc_outq *q)
{
	return q->queued_bytes;
}

static void kick(sc_outq *q);

static void on_written(uv_write_t *req, int status)
{
	sc_outq *q = req->data;
	for (sc_outq_item *it = q->inflight; it; it = it->next)
		if (status == 0)
			q->bytes_out += it->len;
	free_list(q->inflight);
	q->inflight = NULL;
	if (status < 0) {
		if (!q->failed) {
			q->failed = true;
			sc_outq_clear(q);
			if (status != UV_ECANCELED && q->on_error)
				q->on_error(q->owner, status);
		}
		return;
	}
	kick(q);
	if (!q->inflight && q->on_drain)
		q->on_drain(q->owner);
}

static void kick(sc_outq *q)
{
	uv_buf_t bufs[BATCH_MAX];
	unsigned n = 0;

	if (q->inflight || !q->head || q->failed)
		return;
	sc_outq_item *first = q->head, *last = NULL;
	for (sc_outq_item *it = q->head; it && n < BATCH_MAX; it = it->next) {
		const uint8_t *p = it->bytes;
		if (it->m && !it->bytes)
			p = it->m->wire;
		bufs[n++] = uv_buf_init((char *)p, (unsigned)it->len);
		q->queued_bytes -= it->len;
		last = it;
	}
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	q->inflight = first;
	int rc = uv_write(&q->req, q->stream, bufs, n, on_written);
	if (rc < 0) {
		free_list(q->inflight);
		q->inflight = NULL;
		q->failed = true;
		sc_outq_clear(q);
		if (q->on_error)
			q->on_error(q->owner, rc);
	}
}

static void append(sc_outq *q, sc_outq_item *it)
{
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->queued_bytes += it->len;
}

/* Drop every droppable item waiting; control bytes and sequence headers stay. */
static void drop_waiting(sc_outq *q)
{
	sc_outq_item **pp = &q->head;
	q->tail = NULL;
	while (*pp) {
		sc_outq_item *it = *pp;
		if (it->droppable) {
			*pp = it->next;
			q->queued_bytes -= it->len;
			q->drops++;
			item_free(it);
		} else {
			q->tail = it;
			pp = &it->next;
		}
	}
	q->need_key = true;
	q->drop_events++;
}

static uint32_t oldest_media_ts(const sc_outq *q, bool *found)
{
	for (const sc_outq_item *it = q->head; it; it = it->next)
		if (it->m && it->droppable) {
			*found = true;
			return it->m->ts;
		}
	*found = false;
	return 0;
}

int sc_outq_media(sc_outq *q, sc_media *m)
{
	bool essential = (m->flags & SC_MEDIA_SEQHDR) || m->type == SC_RTMP_MSG_DATA_AMF0;

	if (q->failed)
		return 0;
	if (sc_media_is_video(m))
		q->seen_video = true;
	if (q->need_key && !essential) {
		bool key = (sc_media_is_video(m) && (m->flags & SC_MEDIA_KEYFRAME)) ||
			   (!q->seen_video && sc_media_is_audio(m));
		if (!key) {
			q->drops++;
			return 0;
		}
		q->need_key = false;
	}

	sc_outq_item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	if (q->msid == 1) {
		const uint8_t *wire;
		if (sc_media_wire(m, &wire, &it->len) < 0) {
			free(it);
			return -ENOMEM;
		}
	} else {
		sc_buf b;
		uint32_t csid = sc_media_is_video(m)   ? SC_RTMP_CSID_VIDEO
				: sc_media_is_audio(m) ? SC_RTMP_CSID_AUDIO
						       : SC_RTMP_CSID_DATA;
		sc_buf_init(&b, SIZE_MAX);
		if (sc_rtmp_chunk_write(&b, SC_PLAY_CHUNK_SIZE, csid, m->type, q->msid, m->ts,
					m->data, m->len) < 0) {
			sc_buf_free(&b);
			free(it);
			return -ENOMEM;
		}
		it->bytes = sc_buf_steal(&b, &it->len);
	}
	it->m = sc_media_ref(m);
	it->droppable = !essential;

	bool have_old;
	uint32_t old = oldest_media_ts(q, &have_old);
	append(q, it);
	if (!essential && (q->queued_bytes > q->max_bytes ||
			   (have_old && q->max_ms && (uint32_t)(m->ts - old) > q->max_ms &&
			    (int32_t)(m->ts - old) > 0)))
		drop_waiting(q);
	kick(q);
	return 0;
}

int sc_outq_bytes(sc_outq *q, const void *data, size_t len)
{
	if (q->failed)
		return 0;
	sc_outq_item *it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->bytes = malloc(len ? len : 1);
	if (!it->bytes) {
		free(it);
		return -ENOMEM;
	}
	memcpy(it->bytes, data, len);
	it->len = len;
	append(q, it);
	kick(q);
	return 0;
}

void sc_outq_wait_key(sc_outq *q)
{
	q->need_key = true;
}
