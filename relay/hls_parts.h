/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_parts.h - one kept segment of an HLS stream: its parts (durations
 * for the playlist, fMP4 blobs for HTTP), which of its files are on disk,
 * and what a request for the segment or one of its parts gets.
 *
 * With a disk folder and LL-HLS each part is written as MSN.P.m4s the
 * moment it is cut, and its blob is let go as soon as that file is
 * reported written: from then on the part is served from its file (an fd,
 * which HTTP sends with sendfile). Until then it is served from memory. A
 * part whose write failed or was refused keeps its blob until the segment
 * leaves the window. The segment file MSN.m4s is queued when the segment
 * completes, made of the parts still in memory and the files of the
 * others (no joined copy is held); a complete segment is served from its
 * file once written, from its blobs while all are still held, and a
 * request for it waits (-EAGAIN) while its write is queued. Without LL-HLS
 * the one part has no file of its own: its blob goes once MSN.m4s is
 * written. Without a disk folder nothing is let go. Internal to the HLS
 * module; loop thread only.
 */
#ifndef SC_HLS_PARTS_H
#define SC_HLS_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"
#include "hls_playlist.h"

#define SC_HLS_MAX_PARTS 256 /* per segment; the caller cuts before */

/* Where a part's bytes are (sc_hls_seg.where). */
enum {
	SC_HLS_PART_MEM = 0, /* blob only, no file of its own queued */
	SC_HLS_PART_PENDING, /* blob, its file is queued */
	SC_HLS_PART_FILE,    /* its file is written; blob let go */
	SC_HLS_PART_FAILED,  /* its write failed or was refused: blob kept */
};

typedef struct {
	int64_t msn, start, dur, pdt_ms, gen;
	int disc, complete;
	int seg_pending;       /* MSN.m4s is queued */
	int written;	       /* MSN.m4s is in place */
	sc_hls_pl_part *parts; /* [pcap] each */
	sc_blob **blobs;       /* NULL once let go */
	uint8_t *where;	       /* SC_HLS_PART_* */
	size_t nparts, pcap;
} sc_hls_seg;

/* Appends a part of dur_ms (takes b, also on failure). 0, -ENOBUFS past
 * SC_HLS_MAX_PARTS, -ENOMEM. */
int sc_hls_seg_add(sc_hls_seg *s, sc_blob *b, int64_t dur_ms, int independent);
/* The queueing of the write of part `part`'s file (part < 0: MSN.m4s)
 * returned rc: 0, a report (sc_hls_seg_written) will follow; < 0, the file
 * will not be there. */
void sc_hls_seg_queued(sc_hls_seg *s, int64_t part, int rc);
/* The report of a queued write of part `part`'s file (part < 0: MSN.m4s).
 * Lets go the blobs that are now on disk. */
void sc_hls_seg_written(sc_hls_seg *s, int64_t part, int err);
/* Blobs held (for tests and stats). */
size_t sc_hls_seg_held(const sc_hls_seg *s);
/* Frees what s holds and zeroes it. */
void sc_hls_seg_clear(sc_hls_seg *s);
/*
 * A new body for the segment (part < 0; complete ones only) or for part
 * `part`, named file inside dir: its blobs while in memory, else the file
 * (dir NULL: none). 0, -ENOENT (not there), -EAGAIN (the segment's file is
 * queued and some of its parts are only on disk: ask again after the next
 * update), -ENOMEM.
 */
int sc_hls_seg_open(const sc_hls_seg *s, const char *dir, const char *file, int64_t part,
		    sc_hls_body **ret);

#endif
