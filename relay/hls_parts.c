/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_parts.c - the parts of one kept HLS segment and where they are
 * served from: a part from its blob while it has one, else from its own
 * file once made; the complete segment from its file once written.
 *
 * Why the parts' own files and not byte ranges of MSN.m4s: with LL-HLS
 * every part is made as MSN.P.m4s anyway, and a whole file is what the
 * HTTP server sends (sc_http_reply_fd has no offset). The segment file is its parts back to back,
 * joined by the disk worker from the part files (hls_disk.c), so the loop never holds a copy of the
 * whole segment.
 */
#include "hls_parts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hls_disk.h"

int sc_hls_seg_add(sc_hls_seg *s, sc_blob *b, int64_t dur_ms, int independent,
		   const sc_hls_layout *lay)
{
	if (!s || !lay) {
		sc_blob_unref(b);
		return -EINVAL;
	}
	if (s->nparts >= SC_HLS_MAX_PARTS) {
		sc_blob_unref(b);
		return -ENOBUFS;
	}
	if (s->nparts == s->pcap) {
		size_t cap = s->pcap ? s->pcap * 2 : 8;
		sc_hls_pl_part *np = realloc(s->parts, cap * sizeof(*np));
		sc_blob **nb = np ? realloc(s->blobs, cap * sizeof(*nb)) : NULL;
		uint8_t *nw = nb ? realloc(s->where, cap * sizeof(*nw)) : NULL;
		sc_hls_layout *nl = nw ? realloc(s->lay, cap * sizeof(*nl)) : NULL;

		if (np)
			s->parts = np;
		if (nb)
			s->blobs = nb;
		if (nw)
			s->where = nw;
		if (!nl) {
			sc_blob_unref(b);
			return -ENOMEM;
		}
		s->lay = nl;
		s->pcap = cap;
	}
	s->parts[s->nparts] = (sc_hls_pl_part){.dur_ms = dur_ms, .independent = independent};
	s->lay[s->nparts] = *lay;
	s->where[s->nparts] = SC_HLS_PART_MEM;
	s->blobs[s->nparts++] = b;
	return 0;
}

static void let_go(sc_hls_seg *s, size_t i)
{
	sc_blob_unref(s->blobs[i]);
	s->blobs[i] = NULL;
}

void sc_hls_seg_queued(sc_hls_seg *s, int64_t part, int rc)
{
	if (part >= (int64_t)s->nparts)
		return;
	if (part >= 0)
		s->where[part] = rc == 0 ? SC_HLS_PART_PENDING : SC_HLS_PART_FAILED;
	else
		s->seg_pending = rc == 0;
}

void sc_hls_seg_written(sc_hls_seg *s, int64_t part, int err)
{
	if (part >= (int64_t)s->nparts)
		return;
	if (part >= 0) {
		if (s->where[part] != SC_HLS_PART_PENDING)
			return;
		s->where[part] = err < 0 ? SC_HLS_PART_FAILED : SC_HLS_PART_FILE;
		if (err == 0)
			let_go(s, (size_t)part);
		return;
	}
	s->seg_pending = 0;
	if (err < 0)
		return;
	s->written = 1;
	/* The one part of a segment without LL-HLS has no file of its own. */
	for (size_t i = 0; i < s->nparts; i++) {
		if (s->where[i] == SC_HLS_PART_MEM)
			let_go(s, i);
	}
}

size_t sc_hls_seg_held(const sc_hls_seg *s)
{
	size_t n = 0;

	for (size_t i = 0; s && i < s->nparts; i++)
		n += s->blobs[i] != NULL;
	return n;
}

void sc_hls_seg_clear(sc_hls_seg *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nparts; i++)
		sc_blob_unref(s->blobs[i]);
	free(s->parts);
	free(s->blobs);
	free(s->where);
	free(s->lay);
	memset(s, 0, sizeof(*s));
}

int sc_hls_seg_open(const sc_hls_seg *s, const char *dir, const char *file, int64_t part,
		    sc_hls_body **ret)
{
	if (!s || !ret || (part < 0 && !s->complete) || part >= (int64_t)s->nparts || !s->nparts)
		return -ENOENT;
	if (part >= 0) {
		if (s->blobs[part])
			return sc_hls_body_of("video/mp4", &s->blobs[part], 1, ret);
		if (s->where[part] == SC_HLS_PART_PENDING)
			return -EAGAIN;
		if (s->where[part] == SC_HLS_PART_FAILED)
			return -ENOENT;
		return sc_hls_body_open(dir, file, "video/mp4", ret);
	}
	if (s->written)
		return sc_hls_body_open(dir, file, "video/mp4", ret);
	if (sc_hls_seg_held(s) == s->nparts)
		return sc_hls_body_of("video/mp4", s->blobs, s->nparts, ret);
	return s->seg_pending ? -EAGAIN : -ENOENT;
}
