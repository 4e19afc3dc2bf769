/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gop.h - a stream's cache of the messages since its last video key frame,
 * which a new player or a (re)connecting push target gets first, so that
 * it starts decoding at once.
 *
 * The cache does not keep a second copy of what the HLS output holds:
 * once HLS says a message's bytes can be read back from it (on_part, see
 * hls.h: from the part blob in memory once the part is cut, or with a
 * disk folder from the spool file as soon as the frame is written there,
 * then the part's file), the message is let go and only where it is is
 * kept (segment, part, offset, and the few bytes of FLV header). A
 * newcomer has them read back and rebuilt; the rebuilt messages stay
 * cached until the next key frame, so newcomers that come together share
 * one copy. Before HLS drops a segment from its window, the messages only
 * in its parts are rebuilt too (a GOP can outlast segments: audio-driven
 * HLS, or segments cut at their length limit). If a part's file could not
 * be made (a disk failure), its messages are gone: the cache is dropped and
 * newcomers wait for the next key frame.
 *
 * Loop thread only.
 */
#ifndef SC_GOP_H
#define SC_GOP_H

#include <stddef.h>
#include <stdint.h>

#include "hls.h"
#include "media.h"

typedef struct sc_gop_entry sc_gop_entry;

typedef struct {
	sc_gop_entry *e;
	size_t n, cap;
	size_t bytes;	   /* of all messages, in memory or not */
	size_t in_parts;   /* entries whose message was let go (in HLS parts) */
	uint64_t loads;	   /* messages rebuilt from HLS parts, ever */
	size_t next[2];	   /* per track (video 1): where sc_gop_in_part searches on */
	uint64_t arrival0; /* the key frame's arrival_us */
	int64_t msn0;	   /* the first segment a message was let go in, -1: none */
} sc_gop;

/* Forgets every message (the storage stays for reuse). */
void sc_gop_clear(sc_gop *g);
/* Clears and frees the storage. */
void sc_gop_free(sc_gop *g);
/* Caches an audio or video message (not a sequence header): a key frame
 * starts over; nothing is cached before the first one; past max_bytes the
 * cache is dropped until the next key frame. */
void sc_gop_add(sc_gop *g, sc_media *m, size_t max_bytes);
/* HLS on_part: the cached messages among frames let go of their bytes,
 * which part `part` of segment msn holds. */
void sc_gop_in_part(sc_gop *g, int64_t msn, int64_t part, const sc_hls_frame_at *frames, size_t n);
/* HLS on_drop: segment msn leaves; its messages are rebuilt first. 0, or a
 * negative errno (the cache is dropped; *ret_part says which part). */
int sc_gop_segment_gone(sc_gop *g, sc_hls *h, int64_t msn, int64_t *ret_part);
/* Calls fn for each cached message in order, first rebuilding those only
 * in HLS parts from h. 0, or a negative errno if one cannot be read back
 * (*ret_msn, *ret_part say which): the cache is dropped, fn is not called,
 * and the newcomer waits for the next key frame. */
int sc_gop_replay(sc_gop *g, sc_hls *h, void (*fn)(void *ud, sc_media *m), void *ud,
		  int64_t *ret_msn, int64_t *ret_part);

#endif
