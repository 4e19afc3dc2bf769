/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gop.c - the key frame cache of a stream; see gop.h.
 */
#include "gop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PARTS_READ 4 /* part files held at once while rebuilding */

/* 32 bytes: a stream keeps one per message of its GOP (~150 at 30 fps).
 * A message is either held (m) or only in a part (in), never both. */
struct sc_gop_entry {
	union {
		sc_media *m;
		struct {
			uint32_t at;	  /* where the bytes after its header are */
			uint16_t msn_off; /* segment: sc_gop.msn0 + msn_off */
			uint16_t part;
		} in;
	};
	uint32_t len;	  /* the whole message */
	uint32_t ts;	  /* set once in a part, as the next two */
	uint32_t arrival; /* microseconds after the key frame's */
	uint8_t type, in_part, hdr_len;
	uint8_t hdr[5]; /* the FLV header (audio 2, video 5 bytes) */
};

static sc_media *held(const sc_gop_entry *e)
{
	return e->in_part ? NULL : e->m;
}

static int64_t msn_of(const sc_gop *g, const sc_gop_entry *e)
{
	return g->msn0 + e->in.msn_off;
}

void sc_gop_clear(sc_gop *g)
{
	for (size_t i = 0; i < g->n; i++)
		sc_media_unref(held(&g->e[i]));
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
	if (!g->n) {
		g->arrival0 = m->arrival_us;
		g->msn0 = -1;
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
		    part < 0 || part > UINT16_MAX || f->m->arrival_us - g->arrival0 > UINT32_MAX)
			continue;
		if (g->msn0 < 0)
			g->msn0 = msn;
		if (msn < g->msn0 || msn - g->msn0 > UINT16_MAX)
			continue; /* kept in memory: its place does not fit */
		for (size_t i = *next; i < g->n; i++) {
			sc_gop_entry *e = &g->e[i];
			sc_media *m = held(e);

			if (m != f->m)
				continue;
			e->len = (uint32_t)m->len;
			e->ts = m->ts;
			e->type = m->type;
			e->arrival = (uint32_t)(m->arrival_us - g->arrival0);
			e->hdr_len = (uint8_t)f->off;
			memcpy(e->hdr, m->data, f->off);
			e->in.at = f->at;
			e->in.msn_off = (uint16_t)(msn - g->msn0);
			e->in.part = (uint16_t)part;
			e->in_part = 1;
			sc_media_unref(m);
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

static int get_part(sc_hls *h, struct part_read *pr, size_t *next, int64_t msn,
		    const sc_gop_entry *e, struct part_read **ret)
{
	int track = e->type == 8; /* audio: 1 */
	struct part_read *slot;
	int rc;

	for (size_t i = 0; i < PARTS_READ; i++) {
		if (pr[i].body && pr[i].msn == msn && pr[i].part == e->in.part &&
		    pr[i].track == track) {
			*ret = &pr[i];
			return 0;
		}
	}
	slot = &pr[*next];
	*next = (*next + 1) % PARTS_READ;
	sc_hls_body_free(slot->body);
	slot->body = NULL;
	rc = sc_hls_open_data(h, msn, e->in.part, track, &slot->body, &slot->base);
	if (rc < 0)
		return rc;
	slot->msn = msn;
	slot->part = e->in.part;
	slot->track = track;
	*ret = slot;
	return 0;
}

/* Rebuilds entry e of g from the bytes of its part's track at pr. */
static int rebuild(const sc_gop *g, sc_gop_entry *e, const struct part_read *pr)
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
	rc = sc_hls_body_pread(pr->body, pr->base + e->in.at, tmp + e->hdr_len,
			       e->len - e->hdr_len);
	m = rc == 0 ? sc_media_new(e->type, e->ts, tmp, e->len) : NULL;
	free(tmp);
	if (rc < 0)
		return rc;
	if (!m)
		return -ENOMEM;
	m->arrival_us = g->arrival0 + e->arrival;
	e->m = m;
	e->in_part = 0;
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
		int64_t emsn;

		if (!e->in_part)
			continue;
		emsn = msn_of(g, e);
		if (msn >= 0 && emsn != msn)
			continue;
		rc = h ? get_part(h, pr, &next, emsn, e, &p) : -ENOENT;
		if (rc == 0)
			rc = rebuild(g, e, p);
		if (rc < 0) {
			*ret_msn = emsn;
			*ret_part = e->in.part;
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
