/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_disk.h - the files of the HLS module: blobs, file names and the
 * bodies HTTP serves (hls_body.c), and the writer of one stream's files
 * under its folder off the event loop (hls_disk.c). Writer jobs run in
 * order, a batch at a time, on libuv's thread pool (uv_queue_work): at
 * most one batch of a stream is in flight, so files land in the order they
 * were queued (a playlist after the files it names). Each file is written
 * to ".tmp-FILE" and renamed. Internal to the HLS module; the writer is
 * loop thread only.
 */
#ifndef SC_HLS_DISK_H
#define SC_HLS_DISK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hls.h"
#include "media.h"

#define SC_HLS_SPOOLS 2 /* tracks: video, audio (as SC_HLS_VIDEO, SC_HLS_AUDIO) */

/* A blob with room for len bytes made from b, which must not be shared yet
 * (one reference): its first min(len, b->len) bytes kept, b->len = len. b
 * NULL: a new one. NULL on OOM (b untouched). Lets a writer fill a blob in
 * place and hand it over without a copy. */
sc_blob *sc_blob_resize(sc_blob *b, size_t len);

/* Bodies (hls.h). of: blobs[0..n) back to back (references taken), 0 or
 * -ENOMEM; open: the file dir/file, -ENOENT if it is not a regular file
 * there, or -ENOMEM (opens it, never reads). Any thread. */
int sc_hls_body_of(const char *mime, sc_blob *const *blobs, size_t n, sc_hls_body **ret);
int sc_hls_body_open(const char *dir, const char *file, const char *mime, sc_hls_body **ret);
/* The same for the file dir/PREFIXFILE. */
int sc_hls_body_open_as(const char *dir, const char *prefix, const char *file, const char *mime,
			sc_hls_body **ret);

/* The files of a stream's folder are named by the module: at most
 * SC_HLS_NAME_MAX - 1 bytes, no '/', not starting with '.' (the module's
 * temporaries do). 0, or -EINVAL. */
#define SC_HLS_NAME_MAX 64
int sc_hls_name_check(const char *file);

typedef struct sc_hls_disk sc_hls_disk;

/* dir exists. The first job removes what an earlier run left in it (only
 * names this module writes). max_writes bounds the queued writes (and part
 * finishes), max_spool_bytes the bytes of the spooled frames queued or
 * being written (one frame is always let in). */
sc_hls_disk *sc_hls_disk_new(uv_loop_t *loop, const char *dir, size_t max_writes,
			     size_t max_spool_bytes);
/* Queues a write of file (takes its own reference to b). A queued write of
 * the same name is replaced and moved to the end (the playlist). -ENOBUFS
 * when the queue is full (counted as a drop), -ENOMEM, -EINVAL. */
int sc_hls_disk_write(sc_hls_disk *d, const char *file, sc_blob *b);
/* The same for a file made of n blobs back to back (a segment written from
 * its parts). */
int sc_hls_disk_writev(sc_hls_disk *d, const char *file, sc_blob *const *blobs, size_t n);
/* The same for segment file "S.m4s" made of its n parts back to back, where
 * a NULL blobs[i] stands for the file "S.i.m4s" written earlier (read back
 * by the worker, so no copy of the segment is held in memory). */
int sc_hls_disk_write_segment(sc_hls_disk *d, const char *file, sc_blob *const *blobs, size_t n);
/*
 * Spooling (hls_mux.h): frames are written as they come to spool files,
 * ".tmp-v-SPOOL" and ".tmp-a-SPOOL" (one per track), at offsets the caller
 * picks, parts one after the other; a reference to each frame (m's bytes
 * from off on) is held until written (the worker only reads them; the
 * reference is taken and dropped on the loop). sc_hls_disk_finish makes
 * part file PART from header and, per track, bytes[t] of the spool from
 * base[t] (renamed into place), and fails (-EIO) if a frame of PART was
 * not written (a failure within a part sticks). at and tag are the
 * caller's, given back with the report. sc_hls_disk_drop_spool removes
 * SPOOL's files, after the jobs queued before it. -ENOBUFS when the queue
 * is full (counted as a drop), -ENOMEM, -EINVAL. A frame under 4 KB does
 * not wake the worker by itself: it is written with the next job that
 * does (a bigger frame, 4 KB of small ones, any other job, or
 * sc_hls_disk_kick).
 */
int sc_hls_disk_spool(sc_hls_disk *d, const char *part, const char *spool, int track, sc_media *m,
		      size_t off, uint64_t pos, uint32_t at, uint32_t tag);
int sc_hls_disk_finish(sc_hls_disk *d, const char *part, sc_blob *header, const char *spool,
		       const uint64_t base[SC_HLS_SPOOLS], const uint64_t bytes[SC_HLS_SPOOLS]);
int sc_hls_disk_drop_spool(sc_hls_disk *d, const char *spool);
void sc_hls_disk_kick(sc_hls_disk *d);
/* A body of what is in track's file of SPOOL under dir so far (-ENOENT if
 * there is none). Any thread. */
int sc_hls_disk_open_spool(const char *dir, int track, const char *spool, sc_hls_body **ret);
/*
 * On the loop: done(userdata, file, err) when a queued write or finish is
 * over (err 0 once the file is in place under its name, else a negative
 * errno); spooled(userdata, file, track, m, off, at, tag, err) when a
 * spooled frame is written (err 0) or not. A write superseded by a later one of
 * the same name reports nothing; nothing is reported after
 * sc_hls_disk_close().
 */
typedef void (*sc_hls_disk_done_fn)(void *userdata, const char *file, int err);
typedef void (*sc_hls_disk_spooled_fn)(void *userdata, const char *file, int track, sc_media *m,
				       size_t off, uint32_t at, uint32_t tag, int err);
void sc_hls_disk_set_done(sc_hls_disk *d, sc_hls_disk_done_fn fn, sc_hls_disk_spooled_fn spooled,
			  void *userdata);
/* Queues the removal of file (a missing file is not an error). */
int sc_hls_disk_unlink(sc_hls_disk *d, const char *file);
void sc_hls_disk_stats(const sc_hls_disk *d, uint64_t *ret_errors, uint64_t *ret_drops);
/* Lets the queued jobs finish in the background, then frees d. NULL ok. */
void sc_hls_disk_close(sc_hls_disk *d);

#endif
