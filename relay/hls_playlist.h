/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_playlist.h - renders an HLS media playlist (RFC 8216bis, with the
 * LL-HLS tags when parts are enabled) from a plain description. Pure: no
 * I/O, no clock, no state. Internal to the HLS module; any thread.
 */
#ifndef SC_HLS_PLAYLIST_H
#define SC_HLS_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int64_t dur_ms;
	int independent; /* starts with a key frame */
} sc_hls_pl_part;

typedef struct {
	int64_t msn;		     /* media sequence number: file "MSN.m4s" */
	int64_t dur_ms;		     /* complete segments only */
	int64_t pdt_ms;		     /* wall clock of its start, ms since the epoch; < 0: no tag */
	int64_t init_gen;	     /* its init segment: "init-GEN.mp4" */
	int discontinuity;	     /* EXT-X-DISCONTINUITY before it */
	int complete;		     /* 0: the open segment (its parts only, no EXTINF) */
	const sc_hls_pl_part *parts; /* parts MSN.0 .. MSN.(nparts-1) */
	size_t nparts;
} sc_hls_pl_segment;

typedef struct {
	/* EXT-X-TARGETDURATION is the ceiling of the longest complete segment
	 * listed, and at least the ceiling of target_ms. */
	int64_t target_ms;
	int64_t part_target_ms;	       /* > 0: LL-HLS (version 9, parts, hints) */
	int64_t discontinuity_seq;     /* EXT-X-DISCONTINUITY-SEQUENCE (tag if > 0) */
	size_t part_segments;	       /* list parts of the last N complete segments */
	const sc_hls_pl_segment *segs; /* oldest first; media sequence = segs[0].msn */
	size_t nsegs;
	int64_t hint_msn, hint_part; /* EXT-X-PRELOAD-HINT part; hint_msn < 0: none */
	int ended;		     /* EXT-X-ENDLIST */
} sc_hls_pl;

/* Renders pl into a new malloc'd, NUL-terminated text. 0, -EINVAL (bad
 * description) or -ENOMEM. */
int sc_hls_playlist_render(const sc_hls_pl *pl, char **ret, size_t *ret_len);

/* The files the playlist names, by name: "index.m3u8", "init-G.mp4",
 * "S.m4s", "S.P.m4s" (decimal, no sign, no leading zeros). Returns the
 * kind with G or S in *ret_a and P in *ret_b, or -ENOENT. */
enum { SC_HLS_FILE_PLAYLIST, SC_HLS_FILE_INIT, SC_HLS_FILE_SEGMENT, SC_HLS_FILE_PART };
int sc_hls_parse_name(const char *file, int64_t *ret_a, int64_t *ret_b);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds
 * ("2024-05-01T12:00:00.250Z"); buf needs 32 bytes. 0 or -EINVAL. */
int sc_hls_format_pdt(int64_t ms, char *buf, size_t len);

#endif
