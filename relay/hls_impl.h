/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_impl.h - the state of one stream's HLS output, shared by the files of
 * the HLS module that make it (hls.c) and that report and read its files
 * (hls_files.c). The struct is here, not in a .c, only because those two
 * halves of one object were one file past ~800 lines; nothing outside the
 * module includes this. Loop thread only, as sc_hls.
 */
#ifndef SC_HLS_IMPL_H
#define SC_HLS_IMPL_H

#include <inttypes.h>
#include <stdio.h>

#include "hls.h"
#include "hls_disk.h"
#include "hls_mux.h"
#include "hls_parts.h"
#include "hls_playlist.h"

#define SC_HLS_MAX_INITS 8 /* init segments still referenced */

struct sc_hls_init {
	int64_t gen;
	sc_blob *blob;
};

struct sc_hls {
	uv_loop_t *loop;
	sc_hls_config cfg;
	char *name;
	char *path; /* DIR/NAME, NULL: memory only */
	sc_hls_disk *disk;
	int ll; /* parts on */
	int64_t max_seg_ms;

	sc_hls_track_cfg in[SC_HLS_TRACKS]; /* the publisher's latest configs */
	sc_hls_mux *mux;
	int mux_has[SC_HLS_TRACKS];
	int restart;   /* config changed: new muxer at the next key frame */
	int next_disc; /* the next segment follows a discontinuity */
	int ended;
	int64_t gen; /* current init segment, -1: none yet */
	struct sc_hls_init inits[SC_HLS_MAX_INITS];
	size_t ninits;

	sc_hls_seg *segs; /* oldest first; the last one is open if `open` */
	size_t nsegs, cap;
	int open;
	int64_t next_msn, first_listed, disc_seq, longest_ms;

	int64_t part_start, last_dts;
	int part_key;
	uint64_t part_arrival; /* latest message of the open part */
	int64_t wall_anchor_ms, dts_anchor;

	int spool_lost;	    /* a frame of the open part did not reach its spool */
	uint32_t spool_tag; /* numbers the open part's spools (a report names them) */
	uint32_t spool_gen; /* the spool files in use: "spool-GEN" */
	/* Per track: where the open part's frames start in its spool file,
	 * and where the last one written ends. */
	uint64_t spool_base[SC_HLS_TRACKS], spool_end[SC_HLS_TRACKS];
	int warned; /* a failed write was logged */
	sc_blob *playlist;
	sc_hls_pl_segment *plsegs;
	sc_hls_stats stats;
};

static inline sc_hls_seg *sc_hls_open_seg(sc_hls *h)
{
	return h->open ? &h->segs[h->nsegs - 1] : NULL;
}

static inline sc_hls_seg *sc_hls_find_seg(sc_hls *h, int64_t msn)
{
	for (size_t i = 0; i < h->nsegs; i++) {
		if (h->segs[i].msn == msn)
			return &h->segs[i];
	}
	return NULL;
}

static inline void sc_hls_spool_name(uint32_t gen, char *buf, size_t len)
{
	snprintf(buf, len, "spool-%" PRIu32, gen);
}

/* The file of part `part` of segment msn: its own with LL-HLS, else the
 * segment's (its only part). */
static inline void sc_hls_part_name(const sc_hls *h, int64_t msn, int64_t part, char *buf,
				    size_t len)
{
	if (h->ll)
		snprintf(buf, len, "%" PRId64 ".%" PRId64 ".m4s", msn, part);
	else
		snprintf(buf, len, "%" PRId64 ".m4s", msn);
}

/* hls.c: the time since arrival (monotonic us) into *last, and *max if
 * higher. */
void sc_hls_record_delay(uint64_t arrival, uint64_t *last, uint64_t *max);

/* hls_files.c: the disk writer's reports, and the first failed write of
 * the stream logged (all are counted by the disk queue). */
void sc_hls_on_disk_done(void *userdata, const char *file, int err);
void sc_hls_on_disk_spooled(void *userdata, const char *file, int track, sc_media *m, size_t off,
			    uint32_t at, uint32_t tag, int err);
void sc_hls_disk_failed(sc_hls *h, const char *file, int err);

#endif
