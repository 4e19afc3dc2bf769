/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gop.c - the key frame cache of a stream; see gop.h.
 */
#include "gop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PARTS_READ 4 /* part files held at once while rebuilding */

/* 48 bytes: a stream keeps one per message of its GOP (~150 at 30 fps). */
struct sc_gop_entry {
	sc_media *m; /* NULL: only in part `part` of segment msn */
	int64_t msn;
	uint64_t arrival_us;
	uint32_t at;  /* where the message's bytes after its header are */
	uint32_t len; /* the whole message */
	uint32_t ts;
	uint16_t part;
	uint8_t type, hdr_len;
	uint8_t hdr[5]; /* the FLV header (audio 2, video 5 bytes) */
};

void sc_gop_clear(sc_gop *g)
{
	for (size_t i = 0; i < g->n; i++)
		sc_media_unref(g->e[i].m);
	g->n = 0;
	g->bytes = 0;
	g->in_parts = 0;
	g->next[0] = g->next[1] = 0;
}

void sc_gop_free(sc_gop *g)
{
	sc_gop_clear(g);
	free(g->e);
	g->e = NULL;
	g->cap = 0;
}

void sc_gop_add(sc_gop *g, sc_media *m, size_t max_bytes)
{
	if (sc_media_is_video(m) && (m->flags & SC_MEDIA_KEYFRAME))
		sc_gop_clear(g);
	else if (!g->n)
		return; /* nothing useful until the first key frame */
	if (g->bytes + m->len > max_bytes) {
		sc_gop_clear(g); /* a huge GOP: newcomers wait for the next key frame */
		return;
	}
	if (g->n == g->cap) {
		/* Grown by half: a GOP's size is steady, and the storage stays. */
		size_t cap = g->cap ? g->cap + g->cap / 2 : 32;
		sc_gop_entry *e = realloc(g->e, cap * sizeof(*e));

		if (!e) {
			sc_gop_clear(g);
			return;
		}
		g->e = e;
		g->cap = cap;
	}
	g->e[g->n++] = (sc_gop_entry){.m = sc_media_ref(m)};
	g->bytes += m->len;
}

void sc_gop_in_part(sc_gop *g, int64_t msn, int64_t part, const sc_hls_frame_at *frames, size_t n)
{
	/* A part's frames of one track are in the cache's order: each track's
	 * search goes on from where its last match was, so a part costs about
	 * one pass over the cache. A frame from before the key frame is not in
	 * it: that search ends without a match and does not move the cursor. */
	for (size_t k = 0; k < n; k++) {
		const sc_hls_frame_at *f = &frames[k];
		size_t *next = &g->next[sc_media_is_video(f->m)];

		if (f->off > sizeof(((sc_gop_entry *)0)->hdr) || f->m->len > UINT32_MAX ||
		    part < 0 || part > UINT16_MAX)
			continue;
		for (size_t i = *next; i < g->n; i++) {
			sc_gop_entry *e = &g->e[i];

			if (e->m != f->m)
				continue;
			e->msn = msn;
			e->part = (uint16_t)part;
			e->at = f->at;
			e->len = (uint32_t)e->m->len;
			e->ts = e->m->ts;
			e->type = e->m->type;
			e->hdr_len = (uint8_t)f->off;
			memcpy(e->hdr, e->m->data, f->off);
			e->arrival_us = e->m->arrival_us;
			sc_media_unref(e->m);
			e->m = NULL;
			g->in_parts++;
			*next = i + 1;
			break;
		}
	}
}

/* Where one track's bytes of a part are, among the ones opened so far (a
 * few: the messages of a part are nearly contiguous in the cache). */
struct part_read {
	int64_t msn, part;
	int track;
	sc_hls_body *body;
	uint64_t base;
};

static int get_part(sc_hls *h, struct part_read *pr, size_t *next, const sc_gop_entry *e,
		    struct part_read **ret)
{
	int track = e->type == 8; /* audio: 1 */
	struct part_read *slot;
	int rc;

	for (size_t i = 0; i < PARTS_READ; i++) {
		if (pr[i].body && pr[i].msn == e->msn && pr[i].part == e->part &&
		    pr[i].track == track) {
			*ret = &pr[i];
			return 0;
		}
	}
	slot = &pr[*next];
	*next = (*next + 1) % PARTS_READ;
	sc_hls_body_free(slot->body);
	slot->body = NULL;
	rc = sc_hls_open_data(h, e->msn, e->part, track, &slot->body, &slot->base);
	if (rc < 0)
		return rc;
	slot->msn = e->msn;
	slot->part = e->part;
	slot->track = track;
	*ret = slot;
	return 0;
}

/* Rebuilds entry e from the bytes of its part's track at pr. */
static int rebuild(sc_gop_entry *e, const struct part_read *pr)
{
	uint8_t *tmp;
	sc_media *m;
	int rc;

	if (e->len < e->hdr_len)
		return -EIO;
	tmp = malloc(e->len);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, e->hdr, e->hdr_len);
	rc = sc_hls_body_pread(pr->body, pr->base + e->at, tmp + e->hdr_len, e->len - e->hdr_len);
	m = rc == 0 ? sc_media_new(e->type, e->ts, tmp, e->len) : NULL;
	free(tmp);
	if (rc < 0)
		return rc;
	if (!m)
		return -ENOMEM;
	m->arrival_us = e->arrival_us;
	e->m = m;
	return 0;
}

/* Rebuilds the entries only in parts (of segment msn only, if msn >= 0).
 * On failure the cache is dropped and ret_msn, ret_part say which part. */
static int load(sc_gop *g, sc_hls *h, int64_t msn, int64_t *ret_msn, int64_t *ret_part)
{
	struct part_read pr[PARTS_READ] = {{0}};
	size_t next = 0;
	int rc = 0;

	for (size_t i = 0; i < g->n && g->in_parts; i++) {
		sc_gop_entry *e = &g->e[i];
		struct part_read *p;

		if (e->m || (msn >= 0 && e->msn != msn))
			continue;
		rc = h ? get_part(h, pr, &next, e, &p) : -ENOENT;
		if (rc == 0)
			rc = rebuild(e, p);
		if (rc < 0) {
			*ret_msn = e->msn;
			*ret_part = e->part;
			sc_gop_clear(g);
			break;
		}
		g->in_parts--;
		g->loads++;
	}
	for (size_t i = 0; i < PARTS_READ; i++)
		sc_hls_body_free(pr[i].body);
	return rc;
}

int sc_gop_segment_gone(sc_gop *g, sc_hls *h, int64_t msn, int64_t *ret_part)
{
	int64_t m, p = -1;
	int rc = load(g, h, msn, &m, &p);

	if (rc < 0)
		*ret_part = p;
	return rc;
}

int sc_gop_replay(sc_gop *g, sc_hls *h, void (*fn)(void *ud, sc_media *m), void *ud,
		  int64_t *ret_msn, int64_t *ret_part)
{
	int64_t m = -1, p = -1;
	int rc = load(g, h, -1, &m, &p);

	for (size_t i = 0; i < g->n; i++)
		fn(ud, g->e[i].m);
	if (rc < 0) {
		*ret_msn = m;
		*ret_part = p;
	}
	return rc;
}
