/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fmp4.c - the boxes of a fragmented MP4 for HLS (ISO/IEC 14496-12 for the
 * file structure, 14496-15 for avc1/avcC, 14496-14 for mp4a/esds).
 *
 * The moov describes the tracks and no samples (empty stts/stsc/stsz/stco,
 * an mvex with defaults of zero); each fragment says everything about its
 * samples in its trun: duration, size, flags and (video) composition
 * offset. tfhd uses default-base-is-moof, so a trun's data offset counts
 * from the start of its moof and a fragment plays wherever it is stored.
 */
#include "fmp4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* trun flags */
#define TRUN_DATA_OFFSET 0x000001
#define TRUN_DURATION	 0x000100
#define TRUN_SIZE	 0x000200
#define TRUN_FLAGS	 0x000400
#define TRUN_CTO	 0x000800
/* tfhd flags */
#define TFHD_BASE_IS_MOOF 0x020000
/* sample flags: depends on no other sample / depends on others, not sync */
#define SAMPLE_SYNC	0x02000000u
#define SAMPLE_NON_SYNC 0x01010000u

/* ---- a growing buffer of big-endian fields and nested boxes ---- */

typedef struct {
	uint8_t *p;
	size_t len, cap;
	int oom;
} bw;

static uint8_t *room(bw *w, size_t n)
{
	if (w->oom)
		return NULL;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 512;
		uint8_t *p;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->oom = 1;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	w->len += n;
	return w->p + w->len - n;
}

static void put_be(bw *w, uint64_t v, int bytes)
{
	uint8_t *p = room(w, (size_t)bytes);

	if (p)
		for (int i = 0; i < bytes; i++)
			p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void u8(bw *w, uint32_t v)
{
	put_be(w, v, 1);
}
static void u16(bw *w, uint32_t v)
{
	put_be(w, v, 2);
}
static void u24(bw *w, uint32_t v)
{
	put_be(w, v, 3);
}
static void u32(bw *w, uint32_t v)
{
	put_be(w, v, 4);
}
static void u64(bw *w, uint64_t v)
{
	put_be(w, v, 8);
}

static void zeros(bw *w, size_t n)
{
	uint8_t *p = room(w, n);

	if (p)
		memset(p, 0, n);
}

static void bytes(bw *w, const void *src, size_t n)
{
	uint8_t *p = room(w, n);

	if (p && n)
		memcpy(p, src, n);
}

static void patch32(bw *w, size_t at, uint32_t v)
{
	if (w->oom)
		return;
	for (int i = 0; i < 4; i++)
		w->p[at + (size_t)i] = (uint8_t)(v >> (8 * (3 - i)));
}

/* Opens a box: returns where it starts, for box_end to write its size. */
static size_t box(bw *w, const char type[4])
{
	size_t at = w->len;

	u32(w, 0);
	bytes(w, type, 4);
	return at;
}

static size_t full_box(bw *w, const char type[4], unsigned version, uint32_t flags)
{
	size_t at = box(w, type);

	u8(w, version);
	u24(w, flags);
	return at;
}

static void box_end(bw *w, size_t at)
{
	patch32(w, at, (uint32_t)(w->len - at));
}

/* A unity transformation matrix (tkhd, mvhd). */
static void matrix(bw *w)
{
	static const uint32_t m[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

	for (int i = 0; i < 9; i++)
		u32(w, m[i]);
}

/* ---- init segment ---- */

/* An MPEG-4 descriptor header (14496-1 8.3.3): tag and expandable size. */
static void descriptor(bw *w, uint8_t tag, size_t len)
{
	u8(w, tag);
	if (len < 0x80) {
		u8(w, (uint32_t)len);
		return;
	}
	u8(w, 0x80 | (uint32_t)(len >> 21 & 0x7f));
	u8(w, 0x80 | (uint32_t)(len >> 14 & 0x7f));
	u8(w, 0x80 | (uint32_t)(len >> 7 & 0x7f));
	u8(w, (uint32_t)(len & 0x7f));
}

static size_t descriptor_size(size_t len)
{
	return (len < 0x80 ? 2 : 5) + len;
}

static void esds(bw *w, const sc_fmp4_track *t, uint32_t track_id)
{
	size_t dsi = descriptor_size(t->config_len);
	size_t dcd = descriptor_size(13 + dsi);
	size_t es = 3 + dcd + descriptor_size(1);
	size_t at = full_box(w, "esds", 0, 0);

	descriptor(w, 0x03, es);	    /* ES_Descriptor */
	u16(w, track_id);		    /* ES_ID */
	u8(w, 0);			    /* no dependency, URL or OCR stream */
	descriptor(w, 0x04, 13 + dsi);	    /* DecoderConfigDescriptor */
	u8(w, 0x40);			    /* Audio ISO/IEC 14496-3 */
	u8(w, 0x05 << 2 | 1);		    /* AudioStream, upstream 0, reserved 1 */
	u24(w, 0);			    /* bufferSizeDB */
	u32(w, 0);			    /* maxBitrate */
	u32(w, 0);			    /* avgBitrate */
	descriptor(w, 0x05, t->config_len); /* DecoderSpecificInfo */
	bytes(w, t->config, t->config_len);
	descriptor(w, 0x06, 1); /* SLConfigDescriptor */
	u8(w, 0x02);		/* predefined: MP4 */
	box_end(w, at);
}

static void sample_entry(bw *w, const sc_fmp4_track *t, uint32_t track_id)
{
	size_t at = box(w, t->video ? "avc1" : "mp4a"), cfg;

	zeros(w, 6); /* reserved */
	u16(w, 1);   /* data_reference_index */
	if (t->video) {
		zeros(w, 16); /* pre_defined, reserved */
		u16(w, (uint32_t)t->width);
		u16(w, (uint32_t)t->height);
		u32(w, 0x00480000); /* 72 dpi */
		u32(w, 0x00480000);
		u32(w, 0);	/* reserved */
		u16(w, 1);	/* frame_count */
		zeros(w, 32);	/* compressorname */
		u16(w, 0x0018); /* depth */
		u16(w, 0xffff); /* pre_defined -1 */
		cfg = box(w, "avcC");
		bytes(w, t->config, t->config_len);
		box_end(w, cfg);
	} else {
		zeros(w, 8); /* reserved */
		u16(w, (uint32_t)t->channels);
		u16(w, 16); /* samplesize */
		u32(w, 0);  /* pre_defined, reserved */
		/* 16.16; a rate that does not fit is left to the config. */
		u32(w, t->sample_rate <= 0xffff ? (uint32_t)t->sample_rate << 16 : 0);
		esds(w, t, track_id);
	}
	box_end(w, at);
}

static void trak(bw *w, const sc_fmp4_track *t, uint32_t id)
{
	size_t trak = box(w, "trak"), at, mdia, minf, dinf, stbl;

	at = full_box(w, "tkhd", 0, 3); /* enabled, in movie */
	u32(w, 0);			/* creation_time */
	u32(w, 0);			/* modification_time */
	u32(w, id);
	u32(w, 0); /* reserved */
	u32(w, 0); /* duration: unknown */
	zeros(w, 8);
	u16(w, 0); /* layer */
	u16(w, 0); /* alternate_group */
	u16(w, t->video ? 0 : 0x0100);
	u16(w, 0);
	matrix(w);
	u32(w, t->video ? (uint32_t)t->width << 16 : 0);
	u32(w, t->video ? (uint32_t)t->height << 16 : 0);
	box_end(w, at);

	mdia = box(w, "mdia");
	at = full_box(w, "mdhd", 0, 0);
	u32(w, 0);
	u32(w, 0);
	u32(w, t->timescale);
	u32(w, 0);	/* duration */
	u16(w, 0x55c4); /* language "und" */
	u16(w, 0);
	box_end(w, at);
	at = full_box(w, "hdlr", 0, 0);
	u32(w, 0);
	bytes(w, t->video ? "vide" : "soun", 4);
	zeros(w, 12);
	bytes(w, t->video ? "stagecast video" : "stagecast audio", 16); /* with its NUL */
	box_end(w, at);

	minf = box(w, "minf");
	if (t->video) {
		at = full_box(w, "vmhd", 0, 1);
		zeros(w, 8); /* graphicsmode, opcolor */
	} else {
		at = full_box(w, "smhd", 0, 0);
		zeros(w, 4); /* balance, reserved */
	}
	box_end(w, at);
	dinf = box(w, "dinf");
	at = full_box(w, "dref", 0, 0);
	u32(w, 1);
	box_end(w, full_box(w, "url ", 0, 1)); /* the data is in this file */
	box_end(w, at);
	box_end(w, dinf);

	stbl = box(w, "stbl");
	at = full_box(w, "stsd", 0, 0);
	u32(w, 1);
	sample_entry(w, t, id);
	box_end(w, at);
	at = full_box(w, "stts", 0, 0);
	u32(w, 0);
	box_end(w, at);
	at = full_box(w, "stsc", 0, 0);
	u32(w, 0);
	box_end(w, at);
	at = full_box(w, "stsz", 0, 0);
	u32(w, 0); /* sample_size */
	u32(w, 0); /* sample_count */
	box_end(w, at);
	at = full_box(w, "stco", 0, 0);
	u32(w, 0);
	box_end(w, at);
	box_end(w, stbl);
	box_end(w, minf);
	box_end(w, mdia);
	box_end(w, trak);
}

static int check_track(const sc_fmp4_track *t)
{
	if (!t->timescale || !t->config || !t->config_len)
		return -EINVAL;
	if (t->video)
		return t->width > 0 && t->width <= 0xffff && t->height > 0 && t->height <= 0xffff
			       ? 0
			       : -EINVAL;
	return t->sample_rate > 0 && t->channels > 0 && t->channels <= 0xffff &&
			       t->config_len <= 0xffff
		       ? 0
		       : -EINVAL;
}

static int take(bw *w, sc_blob **ret)
{
	sc_blob *b;

	if (w->oom) {
		free(w->p);
		return -ENOMEM;
	}
	b = sc_blob_new(w->p, w->len);
	free(w->p);
	if (!b)
		return -ENOMEM;
	*ret = b;
	return 0;
}

int sc_fmp4_init(const sc_fmp4_track *tracks, size_t n, sc_blob **ret)
{
	/* Not "cmfc": CMAF wants one track per fragment; these carry both. */
	static const char brands[][4] = {"iso6", "mp41"};
	bw w = {0};
	size_t at, moov, mvex;

	if (n == 0 || n > 16)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (check_track(&tracks[i]) < 0)
			return -EINVAL;

	at = box(&w, "ftyp");
	bytes(&w, "iso6", 4); /* major brand */
	u32(&w, 0);	      /* minor version */
	for (size_t i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
		bytes(&w, brands[i], 4);
	box_end(&w, at);

	moov = box(&w, "moov");
	at = full_box(&w, "mvhd", 0, 0);
	u32(&w, 0);	     /* creation_time */
	u32(&w, 0);	     /* modification_time */
	u32(&w, 1000);	     /* timescale */
	u32(&w, 0);	     /* duration: unknown */
	u32(&w, 0x00010000); /* rate 1.0 */
	u16(&w, 0x0100);     /* volume 1.0 */
	zeros(&w, 10);	     /* reserved */
	matrix(&w);
	zeros(&w, 24); /* pre_defined */
	u32(&w, (uint32_t)n + 1);
	box_end(&w, at);
	for (size_t i = 0; i < n; i++)
		trak(&w, &tracks[i], (uint32_t)i + 1);
	mvex = box(&w, "mvex");
	for (size_t i = 0; i < n; i++) {
		at = full_box(&w, "trex", 0, 0);
		u32(&w, (uint32_t)i + 1);
		u32(&w, 1); /* default_sample_description_index */
		u32(&w, 0); /* default_sample_duration */
		u32(&w, 0); /* default_sample_size */
		u32(&w, 0); /* default_sample_flags */
		box_end(&w, at);
	}
	box_end(&w, mvex);
	box_end(&w, moov);
	return take(&w, ret);
}

/* ---- fragments ---- */

/* The moof of a fragment and the header of its mdat, in w; *ret_total is
 * the runs' bytes, which follow the mdat header back to back. */
static int header(bw *w, uint32_t seq, const sc_fmp4_run *runs, size_t nruns, size_t max_bytes,
		  size_t *ret_total)
{
	size_t offset_at[16], total = 0, moof, at;
	size_t nused = 0;

	if (nruns > 16)
		return -EINVAL;
	for (size_t r = 0; r < nruns; r++) {
		for (size_t i = 0; i < runs[r].n; i++) {
			if (runs[r].samples[i].len > max_bytes - total)
				return -EINVAL;
			total += runs[r].samples[i].len;
		}
		nused += runs[r].n > 0;
	}
	if (!nused || total > UINT32_MAX - 8)
		return -EINVAL;

	moof = box(w, "moof");
	at = full_box(w, "mfhd", 0, 0);
	u32(w, seq);
	box_end(w, at);
	for (size_t r = 0; r < nruns; r++) {
		const sc_fmp4_run *run = &runs[r];
		int cto = 0;
		size_t traf;

		if (!run->n)
			continue;
		for (size_t i = 0; i < run->n; i++)
			cto |= run->samples[i].cto != 0;
		traf = box(w, "traf");
		at = full_box(w, "tfhd", 0, TFHD_BASE_IS_MOOF);
		u32(w, run->track_id);
		box_end(w, at);
		at = full_box(w, "tfdt", 1, 0);
		u64(w, run->base_dts);
		box_end(w, at);
		at = full_box(w, "trun", 1,
			      TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS |
				      (cto ? TRUN_CTO : 0));
		u32(w, (uint32_t)run->n);
		offset_at[r] = w->len;
		u32(w, 0); /* data_offset, patched below */
		for (size_t i = 0; i < run->n; i++) {
			const sc_fmp4_sample *s = &run->samples[i];

			u32(w, s->duration);
			u32(w, (uint32_t)s->len);
			u32(w, s->key ? SAMPLE_SYNC : SAMPLE_NON_SYNC);
			if (cto)
				u32(w, (uint32_t)s->cto); /* version 1: signed */
		}
		box_end(w, at);
		box_end(w, traf);
	}
	box_end(w, moof);

	/* Each run's data offset: from the moof's first byte to its bytes. */
	at = w->len + 8;
	for (size_t r = 0; r < nruns; r++) {
		if (!runs[r].n)
			continue;
		patch32(w, offset_at[r], (uint32_t)at);
		for (size_t i = 0; i < runs[r].n; i++)
			at += runs[r].samples[i].len;
	}
	u32(w, (uint32_t)(total + 8));
	bytes(w, "mdat", 4);
	if (w->oom)
		return -ENOMEM;
	*ret_total = total;
	return 0;
}

int sc_fmp4_header(uint32_t seq, const sc_fmp4_run *runs, size_t nruns, size_t max_bytes,
		   sc_blob **ret)
{
	size_t total;
	bw w = {0};
	int rc = header(&w, seq, runs, nruns, max_bytes, &total);

	if (rc < 0) {
		free(w.p);
		return rc;
	}
	return take(&w, ret);
}

int sc_fmp4_fragment(uint32_t seq, const sc_fmp4_run *runs, size_t nruns, size_t max_bytes,
		     sc_blob **ret, size_t *ret_mdat_at)
{
	size_t total;
	bw w = {0};
	sc_blob *b;
	uint8_t *p;
	int rc = header(&w, seq, runs, nruns, max_bytes, &total);

	if (rc < 0) {
		free(w.p);
		return rc;
	}
	b = sc_blob_new(NULL, w.len + total);
	if (!b) {
		free(w.p);
		return -ENOMEM;
	}
	memcpy(b->data, w.p, w.len);
	p = b->data + w.len;
	for (size_t r = 0; r < nruns; r++)
		for (size_t i = 0; i < runs[r].n; i++) {
			memcpy(p, runs[r].samples[i].data, runs[r].samples[i].len);
			p += runs[r].samples[i].len;
		}
	if (ret_mdat_at)
		*ret_mdat_at = w.len;
	free(w.p);
	*ret = b;
	return 0;
}
