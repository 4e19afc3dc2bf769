/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_playlist.c - media playlist text from a plain description.
 */
#include "hls_playlist.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A playlist of a few hundred lines is a few kilobytes; this only stops a
 * broken description from eating memory. */
#define PL_MAX_BYTES (4u << 20)

struct sb {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2;
		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		if (ncap > PL_MAX_BYTES) {
			b->err = -ENOMEM;
			return;
		}
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* "1.234": durations are printed from integer milliseconds, so the text
 * never depends on floating point rounding. */
static void sb_ms(struct sb *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	sb_printf(b, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static int64_t ceil_s(int64_t ms)
{
	return ms <= 0 ? 0 : (ms + 999) / 1000;
}

int sc_hls_format_pdt(int64_t ms, char *buf, size_t len)
{
	struct tm tm;
	time_t t;
	int n;

	if (ms < 0 || len < 32)
		return -EINVAL;
	t = (time_t)(ms / 1000);
	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	if (n < 0 || (size_t)n >= len)
		return -EINVAL;
	return 0;
}

static void render_segment(struct sb *b, const sc_hls_pl_segment *s, int with_parts,
			   int64_t *map_gen)
{
	char pdt[32];

	if (s->discontinuity)
		sb_printf(b, "#EXT-X-DISCONTINUITY\n");
	if (*map_gen != s->init_gen) {
		sb_printf(b, "#EXT-X-MAP:URI=\"init-%" PRId64 ".mp4\"\n", s->init_gen);
		*map_gen = s->init_gen;
	}
	if (s->pdt_ms >= 0 && sc_hls_format_pdt(s->pdt_ms, pdt, sizeof(pdt)) == 0)
		sb_printf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", pdt);
	if (with_parts) {
		for (size_t i = 0; i < s->nparts; i++) {
			sb_printf(b, "#EXT-X-PART:DURATION=");
			sb_ms(b, s->parts[i].dur_ms);
			sb_printf(b, ",URI=\"%" PRId64 ".%zu.m4s\"%s\n", s->msn, i,
				  s->parts[i].independent ? ",INDEPENDENT=YES" : "");
		}
	}
	if (s->complete) {
		sb_printf(b, "#EXTINF:");
		sb_ms(b, s->dur_ms);
		sb_printf(b, ",\n%" PRId64 ".m4s\n", s->msn);
	}
}

int sc_hls_playlist_render(const sc_hls_pl *pl, char **ret, size_t *ret_len)
{
	struct sb b = {0};
	int64_t td, map_gen = -1;
	size_t ncomplete = 0, seen = 0;
	int ll;

	if (!pl || !ret || (pl->nsegs && !pl->segs) || pl->target_ms <= 0 || pl->part_target_ms < 0)
		return -EINVAL;
	for (size_t i = 0; i < pl->nsegs; i++) {
		const sc_hls_pl_segment *s = &pl->segs[i];

		/* Only the last segment may be open; parts need an array. */
		if ((!s->complete && i + 1 != pl->nsegs) || (s->nparts && !s->parts) ||
		    s->init_gen < 0)
			return -EINVAL;
		ncomplete += s->complete ? 1 : 0;
	}
	ll = pl->part_target_ms > 0;

	td = ceil_s(pl->target_ms);
	for (size_t i = 0; i < pl->nsegs; i++) {
		if (pl->segs[i].complete && ceil_s(pl->segs[i].dur_ms) > td)
			td = ceil_s(pl->segs[i].dur_ms);
	}

	b.cap = 1024;
	b.p = malloc(b.cap);
	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';

	sb_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n", ll ? 9 : 7);
	sb_printf(&b, "#EXT-X-TARGETDURATION:%" PRId64 "\n", td);
	sb_printf(&b, "#EXT-X-MEDIA-SEQUENCE:%" PRId64 "\n",
		  pl->nsegs ? pl->segs[0].msn : (pl->hint_msn > 0 ? pl->hint_msn : 0));
	if (pl->discontinuity_seq > 0)
		sb_printf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRId64 "\n", pl->discontinuity_seq);
	sb_printf(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n");
	if (ll) {
		sb_printf(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=");
		sb_ms(&b, 3 * pl->part_target_ms);
		sb_printf(&b, "\n#EXT-X-PART-INF:PART-TARGET=");
		sb_ms(&b, pl->part_target_ms);
		sb_printf(&b, "\n");
	}

	for (size_t i = 0; i < pl->nsegs; i++) {
		const sc_hls_pl_segment *s = &pl->segs[i];
		int with_parts = 0;

		if (s->complete)
			seen++;
		if (ll)
			with_parts = !s->complete || ncomplete - seen < pl->part_segments;
		/* An open segment shows its parts, if any, in LL-HLS only. */
		if (!s->complete && (!s->nparts || !ll))
			continue;
		render_segment(&b, s, with_parts, &map_gen);
	}

	if (ll && !pl->ended && pl->hint_msn >= 0 && pl->hint_part >= 0)
		sb_printf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%" PRId64 ".%" PRId64 ".m4s\"\n",
			  pl->hint_msn, pl->hint_part);
	if (pl->ended)
		sb_printf(&b, "#EXT-X-ENDLIST\n");

	if (b.err) {
		free(b.p);
		return b.err;
	}
	*ret = b.p;
	if (ret_len)
		*ret_len = b.len;
	return 0;
}

/* Decimal without sign or leading zeros, at most 15 digits; advances *p. */
static int parse_num(const char **p, int64_t *ret)
{
	const char *s = *p;
	int64_t v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 15)
			return -ENOENT;
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -ENOENT;
	*p = s + n;
	*ret = v;
	return 0;
}

int sc_hls_parse_name(const char *file, int64_t *ret_a, int64_t *ret_b)
{
	const char *p = file;
	int64_t a, b = 0;

	if (strcmp(file, "index.m3u8") == 0)
		return SC_HLS_FILE_PLAYLIST;
	if (strncmp(file, "init-", 5) == 0) {
		p += 5;
		if (parse_num(&p, &a) < 0 || strcmp(p, ".mp4") != 0)
			return -ENOENT;
		*ret_a = a;
		return SC_HLS_FILE_INIT;
	}
	if (parse_num(&p, &a) < 0)
		return -ENOENT;
	if (strcmp(p, ".m4s") == 0) {
		*ret_a = a;
		return SC_HLS_FILE_SEGMENT;
	}
	if (*p++ != '.' || parse_num(&p, &b) < 0 || strcmp(p, ".m4s") != 0)
		return -ENOENT;
	*ret_a = a;
	*ret_b = b;
	return SC_HLS_FILE_PART;
}
