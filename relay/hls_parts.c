/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_parts.c - the parts of one kept HLS segment and where they are
 * served from: memory until all of its files are written, then the files.
 *
 * Why the parts' own files and not byte ranges of MSN.m4s: with LL-HLS
 * every part is written as MSN.P.m4s anyway (the same blob, so the same
 * bytes), and a whole file is what the HTTP server sends (sc_http_reply_fd
 * has no offset). The segment file is its parts back to back.
 */
#include "hls_parts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hls_disk.h"

int sc_hls_seg_add(sc_hls_seg *s, sc_blob *b, int64_t dur_ms, int independent)
{
	if (!s || !b) {
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

		if (np)
			s->parts = np;
		if (!nb) {
			sc_blob_unref(b);
			return -ENOMEM;
		}
		s->blobs = nb;
		s->pcap = cap;
	}
	s->parts[s->nparts] = (sc_hls_pl_part){.dur_ms = dur_ms, .independent = independent};
	s->blobs[s->nparts++] = b;
	s->in_memory = 1;
	return 0;
}

void sc_hls_seg_queued(sc_hls_seg *s, int rc)
{
	if (rc == 0)
		s->pending++;
	else
		s->failed = 1;
}

void sc_hls_seg_written(sc_hls_seg *s, int segment, int err)
{
	if (s->pending > 0)
		s->pending--;
	if (err < 0)
		s->failed = 1;
	else if (segment)
		s->written = 1;
}

int sc_hls_seg_release(sc_hls_seg *s)
{
	if (!s->in_memory || !s->complete || !s->written || s->failed || s->pending > 0)
		return 0;
	for (size_t i = 0; i < s->nparts; i++) {
		sc_blob_unref(s->blobs[i]);
		s->blobs[i] = NULL;
	}
	s->in_memory = 0;
	return 1;
}

void sc_hls_seg_clear(sc_hls_seg *s)
{
	if (!s)
		return;
	if (s->in_memory) {
		for (size_t i = 0; i < s->nparts; i++)
			sc_blob_unref(s->blobs[i]);
	}
	free(s->parts);
	free(s->blobs);
	memset(s, 0, sizeof(*s));
}

int sc_hls_seg_open(const sc_hls_seg *s, const char *dir, const char *file, int64_t part,
		    sc_hls_body **ret)
{
	const char *mime = "video/mp4";
	sc_blob *const *src;
	sc_hls_body *b;
	size_t n;

	if (!s || !ret || (part < 0 && !s->complete) || part >= (int64_t)s->nparts || !s->nparts)
		return -ENOENT;
	if (!s->in_memory)
		return sc_hls_body_open(dir, file, mime, ret);
	src = part < 0 ? s->blobs : &s->blobs[part];
	n = part < 0 ? s->nparts : 1;
	b = sc_hls_body_new(mime, n);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sc_hls_body_add(b, src[i]);
	*ret = b;
	return 0;
}
