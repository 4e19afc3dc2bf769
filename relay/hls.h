/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls.h - HLS and LL-HLS output of one stream: fragmented MP4 (CMAF), cut
 * into segments on key frames and into partial segments of about part_ms,
 * with a sliding-window playlist.
 *
 * Files are written under DIR/NAME/ by a worker thread: each file to a
 * temporary name, then renamed; old ones deleted. The loop never waits
 * for a write: a full write queue drops writes and counts them.
 *
 * With DIR, frames are not kept in memory until their part is cut: each
 * one is written to spool files (".tmp-v-spool-N", ".tmp-a-spool-N", one
 * per track, parts one after the other, new ones every spool_rotate bytes)
 * as soon as it is sure to be in the open part, and when the part is cut
 * its file is made from its header and its ranges of the spools. A part is
 * served from its file; a request that comes while the file is being made
 * waits for it, like one for the preload hint part. A segment's file is
 * joined from its parts' files. A frame or part that cannot be written
 * loses its part, and so its segment's file (404; the first failure is
 * logged, all are counted). In memory stay the playlist, the init
 * segments and the frames not yet spooled. Without DIR, the parts the
 * window needs stay in memory.
 *
 *   DIR/NAME/index.m3u8      the playlist
 *   DIR/NAME/init-G.mp4      init segment (G changes at discontinuities)
 *   DIR/NAME/S.m4s           segment S (media sequence number)
 *   DIR/NAME/S.P.m4s         part P of segment S (LL-HLS only)
 *
 * Loop thread only, except where noted.
 */
#ifndef SC_HLS_H
#define SC_HLS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "media.h"

/* An immutable, refcounted file body (atomic: the disk thread holds refs). */
typedef struct sc_blob {
	atomic_int refs;
	size_t len;
	uint8_t data[];
} sc_blob;

sc_blob *sc_blob_new(const void *data, size_t len); /* NULL on OOM */
sc_blob *sc_blob_ref(sc_blob *b);
void sc_blob_unref(sc_blob *b); /* any thread */

/* One frame of a part and where it is in the part: the bytes of m from off
 * on (after its FLV header) start at offset `at` among the bytes of its
 * track in the part (sc_hls_open_data). */
typedef struct {
	sc_media *m;
	uint32_t off, at;
} sc_hls_frame_at;

/* Drops the references and frees frames[0..n). */
void sc_hls_frames_free(sc_hls_frame_at *frames, size_t n);

typedef struct {
	const char *dir;   /* root of all streams; NULL: memory only */
	int64_t target_ms; /* segment target; cut at the first key frame past it (2000) */
	int64_t part_ms;   /* LL-HLS part target; 0 disables parts (333) */
	int window;	   /* segments in the playlist (6) */
	/* With DIR: frames go to new spool files once the ones in use hold
	 * this many bytes (0: 4 MB). */
	size_t spool_rotate;
	/* Called after each playlist change (new part or segment) and when
	 * a file is made, so that blocked HTTP requests can be answered. */
	void (*on_update)(void *userdata);
	/* The frames[0..n) (referenced for the call) are in part `part` of
	 * segment msn (without LL-HLS: its one part, 0), and from now on,
	 * while the segment is in the window, sc_hls_open_data can read them
	 * back (unless the part's file then fails: a disk error loses them)
	 * and a cache of the frames may let its copies go. Called when the
	 * part is cut, or with DIR for each frame once it is in its spool
	 * file; from within sc_hls_write and sc_hls_end, or from the loop.
	 * NULL: not wanted. */
	void (*on_part)(void *userdata, int64_t msn, int64_t part, const sc_hls_frame_at *frames,
			size_t n);
	/* Segment msn leaves the window; sc_hls_open_data still reads its
	 * parts during the call, not after. NULL: not wanted. */
	void (*on_drop)(void *userdata, int64_t msn);
	void *userdata;
} sc_hls_config;

typedef struct sc_hls sc_hls;

/* Creates DIR/NAME. NULL with a message in err on failure. */
sc_hls *sc_hls_new(uv_loop_t *loop, const sc_hls_config *cfg, const char *name, char *err,
		   size_t errlen);
/* Finishes pending disk writes of this stream (they complete in the
 * background; the object goes away when they have). Accepts NULL. */
void sc_hls_free(sc_hls *h);

/* Feed one message (sequence headers included; data messages are ignored).
 * 0, or a negative errno with a message in err (the caller logs it once). */
int sc_hls_write(sc_hls *h, sc_media *m, char *err, size_t errlen);
/* The publisher changed: the next segment starts after EXT-X-DISCONTINUITY
 * with a fresh init segment; timestamps may restart. */
void sc_hls_discontinuity(sc_hls *h);
/* The publisher left: close the open segment and end the playlist
 * (EXT-X-ENDLIST). A later write starts a new discontinuity. */
void sc_hls_end(sc_hls *h);

/*
 * What HTTP serves for one file: blobs back to back (a segment still in
 * memory is its parts), or, when fd >= 0, the first len bytes of an open
 * file on disk (a segment or part whose blobs were let go once written).
 */
typedef struct {
	const char *mime;
	uint64_t len; /* total bytes */
	int fd;	      /* -1: the blobs */
	size_t nblobs;
	sc_blob *blobs[]; /* references */
} sc_hls_body;

/*
 * Opens a file by its name inside the stream's folder ("index.m3u8",
 * "init-0.mp4", "12.m4s", "12.3.m4s"): 0 with a new body in *ret, -ENOENT
 * if it is not (or no longer) there, -EAGAIN if it is the part named in the
 * current EXT-X-PRELOAD-HINT, or a part or complete segment whose file is
 * still being made (the caller waits for the next update and asks again),
 * -ENOMEM. May open a file under DIR/NAME (never reads it).
 */
int sc_hls_open(sc_hls *h, const char *file, sc_hls_body **ret);
/* Drops the references and closes the fd if still >= 0. Any thread; NULL ok. */
void sc_hls_body_free(sc_hls_body *b);
/* A body's bytes in a new blob, read from its file (pread, on the calling
 * thread) or joined from its blobs. 0, -EIO (the file was shorter), -ENOMEM.
 * Any thread. */
int sc_hls_body_read(const sc_hls_body *body, sc_blob **ret);
/* len of a body's bytes from off on, into buf. 0 or -EIO. Any thread. */
int sc_hls_body_pread(const sc_hls_body *body, uint64_t off, void *buf, size_t len);

/*
 * Where the bytes of track `track` (0 video, 1 audio) in part `part` of
 * segment msn are (the
 * open part too, with DIR): a new body in *ret (from memory, its file, or
 * its spool file while the part's file is being made) in which they start
 * at *ret_base. A frame's bytes are then at *ret_base + its `at`. May open
 * a file (never reads it). 0, -ENOENT (not or no longer there), -ENOMEM.
 */
int sc_hls_open_data(sc_hls *h, int64_t msn, int64_t part, int track, sc_hls_body **ret,
		     uint64_t *ret_base);

/*
 * Blocking playlist reload: is the playlist holding segment msn (and, if
 * part >= 0, part `part` of it)? 1 yes, 0 not yet, -ERANGE if msn is more
 * than two segments ahead of the last one (answer 400).
 */
int sc_hls_ready(sc_hls *h, int64_t msn, int64_t part);

typedef struct {
	uint64_t segments, parts; /* written since start */
	uint64_t write_errors, write_drops;
	int64_t last_msn;
	/* last frame's arrival to its part (or segment) in the playlist, us */
	uint64_t last_publish_delay_us, max_publish_delay_us;
	/* with DIR: last frame's arrival to the part's file made, us */
	uint64_t last_file_delay_us, max_file_delay_us;
	int active; /* a publisher is feeding it */
} sc_hls_stats;
void sc_hls_get_stats(const sc_hls *h, sc_hls_stats *ret);

#endif
