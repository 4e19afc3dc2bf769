/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_mux.c - codec configuration checks (ISO/IEC 14496-15 avcC, H.264
 * SPS, ISO/IEC 14496-3 AudioSpecificConfig) and the fragmented MP4 muxer:
 * the frames of the open fragment are references to the stream's
 * messages, copied once, into the fragment, when it is cut (fmp4.c).
 */
#include "hls_mux.h"
#include "codec_info.h"
#include "fmp4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUX_MAX_BYTES	(64u << 20) /* one fragment; a sane one is far smaller */
#define MUX_MAX_SAMPLES 4096	    /* per track and fragment */
#define VIDEO_TIMESCALE 90000

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- codec configurations ---- */

static int set_extradata(sc_hls_track_cfg *cfg, const uint8_t *p, size_t len)
{
	cfg->extradata = malloc(len);
	if (!cfg->extradata)
		return -ENOMEM;
	memcpy(cfg->extradata, p, len);
	cfg->extradata_len = len;
	cfg->present = 1;
	return 0;
}

int sc_hls_parse_avcc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err, size_t errlen)
{
	sc_hls_track_cfg c = {0};
	size_t off = 6, nsps, npps;
	int w = 0, h = 0, rc;

	if (len < 7 || p[0] != 1)
		return fail(err, errlen, -EINVAL, "bad AVC decoder configuration (%zu bytes)", len);
	c.nal_length_size = (p[4] & 3) + 1;
	if (c.nal_length_size == 3)
		return fail(err, errlen, -EINVAL, "unsupported NAL length size 3");
	nsps = p[5] & 0x1f;
	if (nsps == 0)
		return fail(err, errlen, -EINVAL, "AVC configuration without SPS");
	for (size_t i = 0; i < nsps; i++) {
		size_t n;

		if (off + 2 > len)
			goto truncated;
		n = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (n == 0 || off + n > len)
			goto truncated;
		if (i == 0 && sc_h264_sps_size(p + off, n, &w, &h) < 0)
			return fail(err, errlen, -EINVAL, "unreadable H.264 SPS");
		off += n;
	}
	if (off + 1 > len)
		goto truncated;
	npps = p[off++];
	if (npps == 0)
		return fail(err, errlen, -EINVAL, "AVC configuration without PPS");
	for (size_t i = 0; i < npps; i++) {
		size_t n;

		if (off + 2 > len)
			goto truncated;
		n = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (n == 0 || off + n > len)
			goto truncated;
		off += n;
	}
	c.width = w;
	c.height = h;
	rc = set_extradata(&c, p, len);
	if (rc < 0)
		return fail(err, errlen, rc, "out of memory");
	*cfg = c;
	return 0;
truncated:
	return fail(err, errlen, -EINVAL, "truncated AVC decoder configuration");
}

int sc_hls_parse_asc(const uint8_t *p, size_t len, sc_hls_track_cfg *cfg, char *err, size_t errlen)
{
	sc_hls_track_cfg c = {0};
	int rc;

	if (len < 2 || len > 64)
		return fail(err, errlen, -EINVAL, "bad AudioSpecificConfig (%zu bytes)", len);
	if (sc_aac_asc_info(p, len, &c.sample_rate, &c.channels) < 0)
		return fail(err, errlen, -EINVAL, "bad AudioSpecificConfig");
	if (c.channels == 0)
		c.channels = 2; /* program config element: the decoder reads it */
	rc = set_extradata(&c, p, len);
	if (rc < 0)
		return fail(err, errlen, rc, "out of memory");
	*cfg = c;
	return 0;
}

void sc_hls_track_cfg_clear(sc_hls_track_cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->extradata);
	memset(cfg, 0, sizeof(*cfg));
}

int sc_hls_track_cfg_same(const sc_hls_track_cfg *a, const sc_hls_track_cfg *b)
{
	return a->present == b->present && a->extradata_len == b->extradata_len &&
	       (!a->extradata_len || memcmp(a->extradata, b->extradata, a->extradata_len) == 0);
}

int sc_hls_check_avcc(const uint8_t *p, size_t len, int nal_length_size)
{
	size_t off = 0;

	if (len == 0)
		return -EINVAL;
	while (off < len) {
		size_t n = 0;

		if (len - off < (size_t)nal_length_size)
			return -EINVAL;
		for (int i = 0; i < nal_length_size; i++)
			n = n << 8 | p[off + i];
		off += (size_t)nal_length_size;
		if (n == 0 || n > len - off)
			return -EINVAL;
		off += n;
	}
	return 0;
}

/* ---- muxer ---- */

/* A track's latest frame: its duration is known when the next one comes. */
struct held {
	int have;	  /* a frame is held */
	sc_media *m;	  /* NULL once its bytes went to the spool */
	size_t off, len;  /* where the frame starts in m->data, and its length */
	int64_t dts, pts; /* ms */
	int key;
};

struct track {
	int present;
	uint32_t timescale;
	struct held held;
	int64_t last_dts; /* ms; INT64_MIN: none yet */
	int64_t step;	  /* ms */
	/* The open fragment: samples[i] is refs[i]'s bytes (spooling: both
	 * NULL, the bytes went to the spool). */
	sc_fmp4_sample *samples;
	sc_media **refs;
	size_t n, cap;
	size_t bytes;  /* of samples[0..n) */
	uint64_t base; /* decode time of samples[0], timescale units */
};

struct sc_hls_mux {
	struct track tr[SC_HLS_TRACKS];
	uint32_t seq; /* of the last fragment */
	sc_hls_spool_fn spool;
	void *spool_ud;
};

/* ms to timescale units, rounded; ms >= 0. */
static int64_t units(const struct track *t, int64_t ms)
{
	return (ms * (int64_t)t->timescale + 500) / 1000;
}

static void drop_samples(struct track *t)
{
	for (size_t i = 0; i < t->n; i++)
		sc_media_unref(t->refs[i]);
	t->n = 0;
	t->bytes = 0;
}

void sc_hls_mux_free(sc_hls_mux *mx)
{
	if (!mx)
		return;
	for (int i = 0; i < SC_HLS_TRACKS; i++) {
		struct track *t = &mx->tr[i];

		drop_samples(t);
		sc_media_unref(t->held.m);
		free(t->samples);
		free(t->refs);
	}
	free(mx);
}

int sc_hls_mux_new(const sc_hls_track_cfg cfg[SC_HLS_TRACKS], sc_hls_mux **ret, sc_blob **ret_init,
		   char *err, size_t errlen)
{
	sc_fmp4_track tracks[SC_HLS_TRACKS];
	sc_hls_mux *mx;
	size_t n = 0;
	int rc;

	if (!cfg[SC_HLS_VIDEO].present && !cfg[SC_HLS_AUDIO].present)
		return fail(err, errlen, -EINVAL, "no track to mux");
	mx = calloc(1, sizeof(*mx));
	if (!mx)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (int i = 0; i < SC_HLS_TRACKS; i++) {
		const sc_hls_track_cfg *c = &cfg[i];
		struct track *t = &mx->tr[i];

		t->last_dts = INT64_MIN;
		if (!c->present)
			continue;
		t->present = 1;
		t->timescale = i == SC_HLS_VIDEO ? VIDEO_TIMESCALE : (uint32_t)c->sample_rate;
		t->step = i == SC_HLS_VIDEO ? 40 : 1024 * 1000 / c->sample_rate;
		tracks[n++] = (sc_fmp4_track){
			.video = i == SC_HLS_VIDEO,
			.timescale = t->timescale,
			.config = c->extradata,
			.config_len = c->extradata_len,
			.width = c->width,
			.height = c->height,
			.sample_rate = c->sample_rate,
			.channels = c->channels,
		};
	}
	rc = sc_fmp4_init(tracks, n, ret_init);
	if (rc < 0) {
		sc_hls_mux_free(mx);
		return fail(err, errlen, rc,
			    rc == -ENOMEM ? "out of memory"
					  : "cannot describe these tracks in MP4");
	}
	*ret = mx;
	return 0;
}

/* What a fragment error means. */
static const char *why(int rc)
{
	if (rc == -ENOMEM)
		return "out of memory";
	if (rc == -ENOBUFS)
		return "mp4 fragment over its size or frame count bound";
	return "mp4 fragment refused";
}

/* Spooling: the held frame's bytes go to the spool (it joins the open
 * fragment next, after the frames in it now) and the muxer lets go. */
static void spool_held(sc_hls_mux *mx, struct track *t)
{
	struct held *h = &t->held;

	if (!mx->spool || !h->m)
		return;
	mx->spool(mx->spool_ud, (int)(t - mx->tr), h->m, h->off, (uint32_t)t->bytes);
	sc_media_unref(h->m);
	h->m = NULL;
}

/* Moves a track's held frame into the open fragment, ending at end_dts. */
static int add_held(sc_hls_mux *mx, struct track *t, int64_t end_dts)
{
	struct held *h = &t->held;
	int64_t dts, dur, cto;
	size_t len;

	if (!h->have)
		return 0;
	len = h->len;
	if (t->n == MUX_MAX_SAMPLES ||
	    len > MUX_MAX_BYTES - mx->tr[SC_HLS_VIDEO].bytes - mx->tr[SC_HLS_AUDIO].bytes)
		return -ENOBUFS;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		sc_fmp4_sample *s = realloc(t->samples, cap * sizeof(*s));
		sc_media **r;

		if (!s)
			return -ENOMEM;
		t->samples = s;
		r = realloc(t->refs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		t->refs = r;
		t->cap = cap;
	}
	/* Durations from the rounded ends, so the next fragment's decode time
	 * is exactly where this one's samples end. */
	dts = units(t, h->dts);
	dur = units(t, end_dts) - dts;
	cto = units(t, h->pts) - dts;
	if (t->n == 0)
		t->base = (uint64_t)dts;
	spool_held(mx, t); /* if spooling, only its description stays */
	t->samples[t->n] = (sc_fmp4_sample){
		.data = h->m ? h->m->data + h->off : NULL,
		.len = len,
		.duration = (uint32_t)(dur < 1		  ? 1
				       : dur > UINT32_MAX ? UINT32_MAX
							  : dur),
		.cto = (int32_t)(cto > INT32_MAX ? INT32_MAX : cto),
		.key = h->key,
	};
	t->refs[t->n++] = h->m; /* the reference moves */
	t->bytes += len;
	h->m = NULL;
	h->have = 0;
	return 0;
}

int sc_hls_mux_write(sc_hls_mux *mx, int track, int64_t dts, int64_t pts, int key, sc_media *m,
		     size_t off, char *err, size_t errlen)
{
	struct track *t;
	int rc;

	if (track < 0 || track >= SC_HLS_TRACKS || !mx->tr[track].present || !m || off >= m->len)
		return fail(err, errlen, -EINVAL, "frame for no track");
	if (dts < 0)
		return fail(err, errlen, -EINVAL, "negative timestamp");
	t = &mx->tr[track];
	if (t->last_dts != INT64_MIN && dts <= t->last_dts) {
		pts += t->last_dts + 1 - dts;
		dts = t->last_dts + 1;
	}
	if (pts < dts)
		pts = dts;
	rc = add_held(mx, t, dts);
	if (rc < 0)
		return fail(err, errlen, rc, "%s", why(rc));
	if (t->last_dts != INT64_MIN)
		t->step = dts - t->last_dts;
	t->last_dts = dts;
	t->held = (struct held){.have = 1,
				.m = sc_media_ref(m),
				.off = off,
				.len = m->len - off,
				.dts = dts,
				.pts = pts,
				.key = key};
	return 0;
}

int64_t sc_hls_mux_frame_ms(const sc_hls_mux *mx, int track)
{
	return mx->tr[track].step > 0 ? mx->tr[track].step : 1;
}

size_t sc_hls_mux_pending(const sc_hls_mux *mx)
{
	return mx->tr[SC_HLS_VIDEO].n + mx->tr[SC_HLS_AUDIO].n;
}

void sc_hls_frames_free(sc_hls_frame_at *frames, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sc_media_unref(frames[i].m);
	free(frames);
}

void sc_hls_mux_spool(sc_hls_mux *mx, sc_hls_spool_fn fn, void *ud)
{
	mx->spool = fn;
	mx->spool_ud = ud;
}

void sc_hls_mux_spool_held(sc_hls_mux *mx, int track)
{
	if (mx->tr[track].held.have)
		spool_held(mx, &mx->tr[track]);
}

/* The open fragment's frames, moved into a list with where each is among
 * its track's bytes. */
static int take_frames(sc_hls_mux *mx, sc_hls_frame_at **ret, size_t *ret_n)
{
	size_t n = sc_hls_mux_pending(mx), k = 0;
	sc_hls_frame_at *f = malloc(n * sizeof(*f));

	if (!f)
		return -ENOMEM;
	for (int i = 0; i < SC_HLS_TRACKS; i++) {
		struct track *t = &mx->tr[i];
		size_t at = 0;

		for (size_t j = 0; j < t->n; j++) {
			f[k++] = (sc_hls_frame_at){
				.m = t->refs[j],
				.off = (uint32_t)(t->samples[j].data - t->refs[j]->data),
				.at = (uint32_t)at,
			};
			at += t->samples[j].len;
		}
		t->n = 0; /* the references moved */
	}
	*ret = f;
	*ret_n = k;
	return 0;
}

int sc_hls_mux_flush(sc_hls_mux *mx, int final, int want_frames, sc_hls_fragment *ret, char *err,
		     size_t errlen)
{
	sc_fmp4_run runs[SC_HLS_TRACKS];
	size_t nruns = 0, mdat_at = 0;
	uint32_t id = 0;
	int rc;

	*ret = (sc_hls_fragment){.end_dts = INT64_MIN};
	if (final) {
		for (int i = 0; i < SC_HLS_TRACKS; i++) {
			struct track *t = &mx->tr[i];
			int64_t e;

			if (!t->held.have)
				continue;
			e = t->held.dts + sc_hls_mux_frame_ms(mx, i);
			rc = add_held(mx, t, e);
			if (rc < 0)
				return fail(err, errlen, rc, "%s", why(rc));
			if (i == SC_HLS_VIDEO || !mx->tr[SC_HLS_VIDEO].present)
				ret->end_dts = e;
		}
	}
	if (!sc_hls_mux_pending(mx))
		return 0;
	for (int i = 0; i < SC_HLS_TRACKS; i++) {
		struct track *t = &mx->tr[i];

		if (!t->present)
			continue;
		id++; /* track_ID: the present tracks in order, as in the init segment */
		runs[nruns++] = (sc_fmp4_run){
			.track_id = id, .base_dts = t->base, .samples = t->samples, .n = t->n};
		ret->layout.bytes[i] = (uint32_t)t->bytes;
	}
	if (mx->spool)
		rc = sc_fmp4_header(mx->seq + 1, runs, nruns, MUX_MAX_BYTES, &ret->blob);
	else
		rc = sc_fmp4_fragment(mx->seq + 1, runs, nruns, MUX_MAX_BYTES, &ret->blob,
				      &mdat_at);
	if (rc < 0)
		return fail(err, errlen, rc, "%s", why(rc));
	ret->layout.hdr = (uint32_t)(mx->spool ? ret->blob->len : mdat_at);
	if (want_frames && !mx->spool && take_frames(mx, &ret->frames, &ret->nframes) < 0) {
		sc_blob_unref(ret->blob);
		ret->blob = NULL;
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	mx->seq++;
	for (int i = 0; i < SC_HLS_TRACKS; i++)
		drop_samples(&mx->tr[i]);
	return 0;
}
