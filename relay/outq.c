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
	size_t off; /* bytes of it already written */
	bool droppable;
};

static void item_free(sc_outq_item *it)
{
	if (it->m)
		sc_media_unref(it->m);
	free(it->bytes);
	free(it);
}

static void free_list(sc_outq_item *it)
{
	while (it) {
		sc_outq_item *next = it->next;
		item_free(it);
		it = next;
	}
}

static const uint8_t *item_data(const sc_outq_item *it)
{
	return it->bytes ? it->bytes : it->m->wire;
}

/* ---- the scheduler */

static void kick(sc_outq *q);

static void undirty(sc_outq *q)
{
	if (!q->is_dirty)
		return;
	if (q->dirty_prev)
		q->dirty_prev->dirty_next = q->dirty_next;
	else
		q->sched->dirty = q->dirty_next;
	if (q->dirty_next)
		q->dirty_next->dirty_prev = q->dirty_prev;
	q->dirty_prev = q->dirty_next = NULL;
	q->is_dirty = false;
}

static void mark_dirty(sc_outq *q)
{
	if (q->is_dirty || q->inflight || q->failed)
		return;
	q->dirty_prev = NULL;
	q->dirty_next = q->sched->dirty;
	if (q->dirty_next)
		q->dirty_next->dirty_prev = q;
	q->sched->dirty = q;
	q->is_dirty = true;
}

#define MERGE_MAX_BYTES (256 * 1024)

static bool merge_done(const sc_outq *q)
{
	if (!q->merge_ms || q->n_control || q->queued_bytes >= MERGE_MAX_BYTES || !q->head)
		return true;
	const sc_outq_item *first = q->head;
	while (first && !first->m)
		first = first->next;
	const sc_outq_item *last = q->tail;
	return !first || !last->m || (int32_t)(last->m->ts - first->m->ts) >= (int32_t)q->merge_ms;
}

static void on_check(uv_check_t *h)
{
	sc_outq_sched *s = h->data;
	sc_outq *q = s->dirty;
	/* kick() may close queues (unlinking them): find the next one first. */
	while (q) {
		sc_outq *next = q->dirty_next;
		if (merge_done(q)) {
			undirty(q);
			kick(q);
			/* kick() may have unlinked next (its owner closed): restart. */
			if (next && !next->is_dirty)
				next = s->dirty;
		}
		q = next;
	}
}

void sc_outq_sched_init(sc_outq_sched *s, uv_loop_t *loop)
{
	memset(s, 0, sizeof(*s));
	uv_check_init(loop, &s->check);
	s->check.data = s;
	uv_check_start(&s->check, on_check);
	/* The scheduler alone does not keep the loop running. */
	uv_unref((uv_handle_t *)&s->check);
}

void sc_outq_sched_close(sc_outq_sched *s)
{
	if (s->check.loop && !uv_is_closing((uv_handle_t *)&s->check))
		uv_close((uv_handle_t *)&s->check, NULL);
}

/* ---- the queue */

void sc_outq_init(sc_outq *q, sc_outq_sched *sched, uv_stream_t *stream, size_t max_bytes,
		  uint32_t max_ms, uint32_t msid, void (*on_error)(void *, int), void *owner)
{
	memset(q, 0, sizeof(*q));
	q->sched = sched;
	q->stream = stream;
	q->max_bytes = max_bytes;
	q->max_ms = max_ms;
	q->msid = msid;
	q->on_error = on_error;
	q->owner = owner;
	q->req.data = q;
}

void sc_outq_clear(sc_outq *q)
{
	undirty(q);
	free_list(q->head);
	q->head = q->tail = NULL;
	q->queued_bytes = 0;
	q->n_control = 0;
}

void sc_outq_close(sc_outq *q)
{
	q->failed = true;
	sc_outq_clear(q);
}

size_t sc_outq_pending(const sc_outq *q)
{
	return q->queued_bytes;
}

static void fail(sc_outq *q, int status)
{
	if (q->failed)
		return;
	q->failed = true;
	sc_outq_clear(q);
	if (status != UV_ECANCELED && q->on_error)
		q->on_error(q->owner, status);
}

static void on_written(uv_write_t *req, int status)
{
	sc_outq *q = req->data;
	for (sc_outq_item *it = q->inflight; it; it = it->next)
		if (status == 0)
			q->bytes_out += it->len - it->off;
	free_list(q->inflight);
	q->inflight = NULL;
	if (status < 0) {
		fail(q, status);
		return;
	}
	kick(q);
}

/* Drop the first n written bytes from the head of the queue. */
static void consume(sc_outq *q, size_t n)
{
	q->bytes_out += n;
	q->queued_bytes -= n;
	while (n > 0 && q->head) {
		sc_outq_item *it = q->head;
		size_t left = it->len - it->off;
		if (n < left) {
			it->off += n;
			return;
		}
		n -= left;
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		if (!it->m)
			q->n_control--;
		item_free(it);
	}
}

static unsigned gather(const sc_outq *q, uv_buf_t *bufs)
{
	unsigned n = 0;
	for (const sc_outq_item *it = q->head; it && n < BATCH_MAX; it = it->next)
		bufs[n++] =
			uv_buf_init((char *)item_data(it) + it->off, (unsigned)(it->len - it->off));
	return n;
}

/* Write what waits: try without queueing in libuv, then queue the rest. */
static void kick(sc_outq *q)
{
	uv_buf_t bufs[BATCH_MAX];

	undirty(q);
	while (!q->inflight && q->head && !q->failed) {
		unsigned n = gather(q, bufs);
		int rc = uv_try_write(q->stream, bufs, n);
		if (rc == UV_EAGAIN || rc == UV_ENOSYS) {
			rc = 0;
		} else if (rc < 0) {
			fail(q, rc);
			return;
		}
		consume(q, (size_t)rc);
		if (!q->head)
			break;
		if (rc > 0)
			continue; /* the kernel took some: offer it the rest */

		/* The socket is full: hand one batch to libuv and wait. */
		n = gather(q, bufs);
		sc_outq_item *first = q->head, *last = first;
		for (unsigned i = 1; i < n; i++)
			last = last->next;
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
		for (sc_outq_item *it = first; it; it = it->next) {
			q->queued_bytes -= it->len - it->off;
			if (!it->m)
				q->n_control--;
		}
		q->inflight = first;
		rc = uv_write(&q->req, q->stream, bufs, n, on_written);
		if (rc < 0) {
			free_list(q->inflight);
			q->inflight = NULL;
			fail(q, rc);
			return;
		}
	}
	if (!q->inflight && !q->head && q->on_drain)
		q->on_drain(q->owner);
}

static void append(sc_outq *q, sc_outq_item *it)
{
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->queued_bytes += it->len;
	mark_dirty(q);
}

/* Drop every droppable item waiting; control bytes, sequence headers and a
 * partly written item stay. */
static void drop_waiting(sc_outq *q)
{
	sc_outq_item **pp = &q->head;
	q->tail = NULL;
	while (*pp) {
		sc_outq_item *it = *pp;
		if (it->droppable && it->off == 0) {
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
			   (have_old && q->max_ms && (int32_t)(m->ts - old) > (int32_t)q->max_ms)))
		drop_waiting(q);
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
	q->n_control++;
	append(q, it);
	return 0;
}

void sc_outq_wait_key(sc_outq *q)
{
	q->need_key = true;
}
