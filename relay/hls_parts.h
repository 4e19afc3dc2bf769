/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_parts.h - one kept segment of an HLS stream: its parts (durations
 * for the playlist, fMP4 blobs for HTTP), which of its files are on disk,
 * and what a request for the segment or one of its parts gets.
 *
 * The blobs stay in memory while the segment is open and, with a disk
 * folder, until every file of the complete segment (MSN.m4s, and with
 * LL-HLS each MSN.P.m4s) is reported written; then they are let go and
 * the segment and its parts are served from those files (an fd, which HTTP
 * sends with sendfile). A segment one of whose writes failed or was not
 * queued keeps its blobs until it leaves the window, as every segment
 * does without a disk folder. Internal to the HLS module; loop thread only.
 */
#ifndef SC_HLS_PARTS_H
#define SC_HLS_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"
#include "hls_playlist.h"

#define SC_HLS_MAX_PARTS 256 /* per segment; the caller cuts before */

typedef struct {
	int64_t msn, start, dur, pdt_ms, gen;
	int disc, complete;
	int in_memory;	       /* blobs held */
	int pending;	       /* its queued disk writes not reported yet */
	int written;	       /* MSN.m4s is in place */
	int failed;	       /* one of its writes failed or was refused */
	sc_hls_pl_part *parts; /* [pcap] each */
	sc_blob **blobs;
	size_t nparts, pcap;
} sc_hls_seg;

/* Appends a part of dur_ms (takes b, also on failure). 0, -ENOBUFS past
 * SC_HLS_MAX_PARTS, -ENOMEM. */
int sc_hls_seg_add(sc_hls_seg *s, sc_blob *b, int64_t dur_ms, int independent);
/* The queueing of a write of one of its files returned rc: 0, a report
 * (sc_hls_seg_written) will follow; < 0, the file will not be there. */
void sc_hls_seg_queued(sc_hls_seg *s, int rc);
/* The report of a queued write: of MSN.m4s if segment, else of a part. */
void sc_hls_seg_written(sc_hls_seg *s, int segment, int err);
/* Lets the blobs go if the segment is complete and all its files are in
 * place. 1 if it did, else 0. */
int sc_hls_seg_release(sc_hls_seg *s);
/* Frees what s holds and zeroes it. */
void sc_hls_seg_clear(sc_hls_seg *s);
/*
 * A new body for the segment (part < 0; complete ones only) or for part
 * `part`, named file inside dir: its blobs while in memory, else the file
 * (dir NULL: none). 0, -ENOENT (not there), -ENOMEM.
 */
int sc_hls_seg_open(const sc_hls_seg *s, const char *dir, const char *file, int64_t part,
		    sc_hls_body **ret);

#endif
