/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_disk.h - writes one HLS stream's files under its folder off the event
 * loop. Jobs run in order, a batch at a time, on libuv's thread pool
 * (uv_queue_work): at most one batch of a stream is in flight, so files
 * land in the order they were queued (a playlist after the files it names).
 * Each file is written to ".tmp-FILE" and renamed. Internal to the HLS
 * module; loop thread only.
 */
#ifndef SC_HLS_DISK_H
#define SC_HLS_DISK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hls.h"

typedef struct sc_hls_disk sc_hls_disk;

/* dir exists. The first job removes what an earlier run left in it (only
 * names this module writes). max_writes bounds the queued writes. */
sc_hls_disk *sc_hls_disk_new(uv_loop_t *loop, const char *dir, size_t max_writes);
/* Queues a write of file (takes its own reference to b). A queued write of
 * the same name is replaced and moved to the end (the playlist). -ENOBUFS
 * when the queue is full (counted as a drop), -ENOMEM, -EINVAL. */
int sc_hls_disk_write(sc_hls_disk *d, const char *file, sc_blob *b);
/* Queues the removal of file (a missing file is not an error). */
int sc_hls_disk_unlink(sc_hls_disk *d, const char *file);
void sc_hls_disk_stats(const sc_hls_disk *d, uint64_t *ret_errors, uint64_t *ret_drops);
/* Lets the queued jobs finish in the background, then frees d. NULL ok. */
void sc_hls_disk_close(sc_hls_disk *d);

#endif
