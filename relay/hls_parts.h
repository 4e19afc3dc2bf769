/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_parts.h - one kept segment of an HLS stream: its parts (durations
 * for the playlist, fMP4 blobs for HTTP), which of its files are on disk,
 * and what a request for the segment or one of its parts gets.
 *
 * Without a disk folder each part is a blob, kept while its segment is.
 * With one, a part has no blob: its frames were spooled and its file
 * MSN.P.m4s (MSN.m4s without LL-HLS) is being made when it is added; a
 * request for it waits (-EAGAIN) until that file is reported made, then
 * gets the file (an fd, which HTTP sends with sendfile), and one whose
 * file failed is gone. The segment file MSN.m4s (with LL-HLS) is queued
 * when the segment completes, joined from the part files by the worker;
 * a complete segment is served from its file once written, from its blobs
 * while all are held, and a request for it waits while its write is
 * queued. Internal to the HLS module; loop thread only.
 */
#ifndef SC_HLS_PARTS_H
#define SC_HLS_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"
#include "hls_mux.h"
#include "hls_playlist.h"

#define SC_HLS_MAX_PARTS 256 /* per segment; the caller cuts before */

/* Where a part's bytes are (sc_hls_seg.where). */
enum {
	SC_HLS_PART_MEM = 0, /* no file of its own queued (none at all: without LL-HLS) */
	SC_HLS_PART_PENDING, /* its file is queued: served from its blob, if any */
	SC_HLS_PART_FILE,    /* its file is written; blob let go */
	SC_HLS_PART_FAILED,  /* its write failed or was refused: blob kept, if any */
};

typedef struct {
	int64_t msn, start, dur, pdt_ms, gen;
	int disc, complete;
	int seg_pending;       /* MSN.m4s is queued */
	int written;	       /* MSN.m4s is in place */
	sc_hls_pl_part *parts; /* [pcap] each */
	sc_blob **blobs;       /* NULL once let go, or never held (spooled) */
	sc_hls_layout *lay;    /* where each part's frames are in it */
	uint8_t *where;	       /* SC_HLS_PART_* */
	size_t nparts, pcap;
} sc_hls_seg;

/* Appends a part of dur_ms laid out as lay (takes b, also on failure; NULL:
 * its bytes are only on disk, being written). 0, -ENOBUFS past
 * SC_HLS_MAX_PARTS, -ENOMEM. */
int sc_hls_seg_add(sc_hls_seg *s, sc_blob *b, int64_t dur_ms, int independent,
		   const sc_hls_layout *lay);
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
 * (dir NULL: none). 0, -ENOENT (not there), -EAGAIN (its file is queued and
 * it is not all in memory: ask again after the next update), -ENOMEM.
 */
int sc_hls_seg_open(const sc_hls_seg *s, const char *dir, const char *file, int64_t part,
		    sc_hls_body **ret);

#endif
