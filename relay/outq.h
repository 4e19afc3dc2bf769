/* SPDX-License-Identifier: Apache-2.0 */
/*
 * outq.h - the bounded send queue in front of one RTMP peer (a player or a
 * push target). Media are queued by reference; the queue writes them with
 * one uv_write() per batch and never more than one batch in flight, so what
 * waits is in the queue, where it can still be dropped.
 *
 * When the bytes waiting pass max_bytes, or the media waiting span more
 * than max_ms, everything waiting is dropped and the queue skips all media
 * until the next video key frame (audio-only streams: the next message):
 * a slow peer falls behind by whole GOPs and never slows anyone else.
 * Control bytes (commands, acks) are never dropped.
 *
 * Writes are not made where media are queued: a queue with new data is
 * marked dirty, and once per loop iteration (after I/O, before the loop
 * sleeps: no added latency) sc_outq_sched writes each dirty queue with one
 * writev, trying uv_try_write() first so that a peer keeping up costs one
 * system call per iteration and no epoll changes.
 *
 * Loop thread only. The owner keeps the queue alive until its handle's
 * close callback (libuv runs the write callbacks first).
 */
#ifndef SC_OUTQ_H
#define SC_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "media.h"

typedef struct sc_outq_item sc_outq_item;
typedef struct sc_outq sc_outq;

/* One per loop: the list of queues waiting to be written. */
typedef struct {
	uv_check_t check;
	sc_outq *dirty;
} sc_outq_sched;

void sc_outq_sched_init(sc_outq_sched *s, uv_loop_t *loop);
void sc_outq_sched_close(sc_outq_sched *s);

struct sc_outq {
	sc_outq_sched *sched;
	sc_outq *dirty_prev, *dirty_next;
	bool is_dirty;
	uv_stream_t *stream;
	size_t max_bytes;
	uint32_t max_ms;
	uint32_t msid; /* message stream id media go out on (players: 1) */
	/* Merge window: media wait until they span merge_ms before they are
	 * written (fewer, larger writes for less CPU, at merge_ms of added
	 * latency). 0 writes every loop iteration. Control bytes never wait. */
	uint32_t merge_ms;
	unsigned n_control; /* control items waiting */
	/* Called when a write fails (the peer went away); the owner closes. */
	void (*on_error)(void *owner, int status);
	/* Optional: called when everything queued has been written. */
	void (*on_drain)(void *owner);
	void *owner;

	sc_outq_item *head, *tail; /* waiting */
	sc_outq_item *inflight;	   /* the batch being written */
	uv_write_t req;
	size_t queued_bytes;
	bool need_key;
	bool seen_video; /* until then any audio message may restart the flow */
	bool failed;
	uint64_t bytes_out;
	uint64_t drops; /* media messages dropped */
	uint64_t drop_events;
};

void sc_outq_init(sc_outq *q, sc_outq_sched *sched, uv_stream_t *stream, size_t max_bytes,
		  uint32_t max_ms, uint32_t msid, void (*on_error)(void *, int), void *owner);
/* Drop everything waiting (in-flight data is released by its callback). */
void sc_outq_clear(sc_outq *q);
/* The owner is closing: nothing more is written, nothing waits. */
void sc_outq_close(sc_outq *q);
/* Queue a message; may drop (see above). 0, or -ENOMEM. */
int sc_outq_media(sc_outq *q, sc_media *m);
/* Queue bytes (copied). Never dropped. 0 or -ENOMEM. */
int sc_outq_bytes(sc_outq *q, const void *data, size_t len);
/* Skip media until the next video key frame (e.g. a player that joins
 * without a cached GOP). */
void sc_outq_wait_key(sc_outq *q);
size_t sc_outq_pending(const sc_outq *q);

#endif
