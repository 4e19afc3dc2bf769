/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls.c - HLS / LL-HLS output of one stream: when to start, cut and restart
 * the fragmented MP4 muxer (hls_mux.c), the segments kept (hls_parts.c),
 * the playlist (hls_playlist.c) and the disk copy (hls_disk.c); the disk
 * writer's reports and what requests read are in hls_files.c.
 *
 * Memory: without a disk folder a segment is only its part blobs (one
 * part without LL-HLS), and a request for it gets them back to back. With
 * one, no part is ever whole in memory: the muxer hands each frame to the
 * spool files (one per track, parts one after the other in them) as soon
 * as it joins the open part (on_spool; a driving frame as soon as it is
 * held), and at the cut the disk worker makes the part's file from its
 * header and its ranges of the spools. A part is served from that file
 * once the loop hears it is made (a request in between waits), and so is
 * its segment, joined from the part files when it completes. Why spools
 * and not the part file itself with room left for the moof: the moof's
 * size is known only at the cut, and copying the spools in the kernel
 * costs less than padding every part. A failed write loses its part and
 * its segment's file (404); the first is logged, all counted.
 *
 * Timeline: a part ends when the next frame of the driving track (video if
 * there is video, else audio) would take it past part_ms; a segment ends
 * at the first video key frame once it holds target_ms (audio only: on
 * time). Durations are dts differences; each track's latest frame is held
 * back by the muxer until the next one gives its duration, so fragments
 * tile the timeline exactly.
 */
#include "hls.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hls_impl.h"
#include "log.h"

#define MAX_WRITES     64	  /* queued disk writes per stream */
#define MAX_SPOOL      (8u << 20) /* bytes of frames queued for a stream's spools */
#define SPOOL_ROTATE   (4u << 20) /* default: new spool files once this much is in them */
#define JUMP_BACK_MS   1000	  /* a dts this far back restarts the timeline */
#define JUMP_AHEAD_MS  5000	  /* ... and this far ahead */
#define NAME_MAX_BYTES 128
#define PART_SEGMENTS  3 /* complete segments whose parts are listed */

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_err(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void sc_hls_record_delay(uint64_t arrival, uint64_t *last, uint64_t *max)
{
	uint64_t now = now_us(CLOCK_MONOTONIC);
	uint64_t d = now > arrival ? now - arrival : 0;

	*last = d;
	if (d > *max)
		*max = d;
}

static void disk_write(sc_hls *h, const char *file, sc_blob *const *b, size_t n)
{
	if (h->disk && b)
		sc_hls_disk_writev(h->disk, file, b, n);
}

/* The segment's file, joined by the worker from its parts' files (with
 * LL-HLS; without, its one part was spooled to it). */
static void seg_write(sc_hls *h, sc_hls_seg *s, const char *file)
{
	int rc;

	if (!h->disk)
		return;
	rc = sc_hls_disk_write_segment(h->disk, file, s->blobs, s->nparts);
	sc_hls_seg_queued(s, -1, rc);
	if (rc < 0)
		sc_hls_disk_failed(h, file, rc);
}

static void disk_unlink(sc_hls *h, const char *file)
{
	if (h->disk)
		sc_hls_disk_unlink(h->disk, file);
}

/* The spool files in use go (once the parts queued before are made);
 * the next frames go to new ones. */
static void spool_rotate(sc_hls *h)
{
	char name[32];

	if (!h->disk)
		return;
	sc_hls_spool_name(h->spool_gen++, name, sizeof(name));
	sc_hls_disk_drop_spool(h->disk, name);
	memset(h->spool_base, 0, sizeof(h->spool_base));
	memset(h->spool_end, 0, sizeof(h->spool_end));
}

/* The open part is over (made or given up): the next one's frames follow
 * its own in the spool files, or go to new files once these hold
 * cfg.spool_rotate bytes. */
static void spool_next(sc_hls *h)
{
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		h->spool_base[t] = h->spool_end[t];
	h->spool_lost = 0;
	h->spool_tag++; /* late reports of its frames are told apart */
	if (h->spool_base[SC_HLS_VIDEO] + h->spool_base[SC_HLS_AUDIO] >= h->cfg.spool_rotate)
		spool_rotate(h);
}

static size_t ncomplete(const sc_hls *h)
{
	return h->nsegs - (h->open ? 1 : 0);
}

/* ---- playlist ---- */

static void publish(sc_hls *h, uint64_t arrival_us)
{
	size_t nc = ncomplete(h), first = 0, n = 0;
	sc_hls_seg *o = sc_hls_open_seg(h);
	sc_hls_pl pl = {0};
	sc_blob *b;
	char *text;
	size_t len;

	if ((size_t)h->cfg.window < nc)
		first = nc - (size_t)h->cfg.window;
	/* Discontinuities leaving the playlist move the sequence on. */
	for (size_t i = 0; i < first; i++) {
		if (h->segs[i].msn >= h->first_listed && h->segs[i].disc)
			h->disc_seq++;
	}
	if (first < nc)
		h->first_listed = h->segs[first].msn;
	else if (o)
		h->first_listed = o->msn;
	for (size_t i = first; i < h->nsegs; i++) {
		sc_hls_seg *s = &h->segs[i];

		if (!s->complete && !h->ll)
			continue;
		h->plsegs[n++] = (sc_hls_pl_segment){
			.msn = s->msn,
			.dur_ms = s->dur,
			.pdt_ms = s->pdt_ms,
			.init_gen = s->gen,
			.discontinuity = s->disc,
			.complete = s->complete,
			.parts = s->parts,
			.nparts = s->nparts,
		};
	}
	if (n == 0 || (n == 1 && !h->plsegs[0].complete && !h->plsegs[0].nparts))
		return; /* nothing to play yet */
	pl.target_ms = h->longest_ms > h->cfg.target_ms ? h->longest_ms : h->cfg.target_ms;
	pl.part_target_ms = h->ll ? h->cfg.part_ms : 0;
	pl.discontinuity_seq = h->disc_seq;
	pl.part_segments = PART_SEGMENTS;
	pl.segs = h->plsegs;
	pl.nsegs = n;
	pl.hint_msn = -1;
	if (h->ll && h->mux && o && !h->ended) {
		pl.hint_msn = o->msn;
		pl.hint_part = (int64_t)o->nparts;
	}
	pl.ended = h->ended;
	if (sc_hls_playlist_render(&pl, &text, &len) < 0)
		return;
	b = sc_blob_new(text, len);
	free(text);
	if (!b)
		return;
	sc_blob_unref(h->playlist);
	h->playlist = b;
	disk_write(h, "index.m3u8", &b, 1);
	if (arrival_us)
		sc_hls_record_delay(arrival_us, &h->stats.last_publish_delay_us,
				    &h->stats.max_publish_delay_us);
	if (h->cfg.on_update)
		h->cfg.on_update(h->cfg.userdata);
}

/* ---- segments ---- */

static void drop_old(sc_hls *h)
{
	char file[64];

	while (ncomplete(h) > (size_t)h->cfg.window + 2) {
		sc_hls_seg *s = &h->segs[0];

		/* Before its files are queued for removal: they may be read. */
		if (h->cfg.on_drop)
			h->cfg.on_drop(h->cfg.userdata, s->msn);
		if (h->ll) {
			for (size_t i = 0; i < s->nparts; i++) {
				snprintf(file, sizeof(file), "%" PRId64 ".%zu.m4s", s->msn, i);
				disk_unlink(h, file);
			}
		}
		snprintf(file, sizeof(file), "%" PRId64 ".m4s", s->msn);
		disk_unlink(h, file);
		sc_hls_seg_clear(s);
		memmove(&h->segs[0], &h->segs[1], (h->nsegs - 1) * sizeof(*h->segs));
		h->nsegs--;
	}
	/* Init segments no kept segment refers to. */
	for (size_t i = 0; i < h->ninits;) {
		struct sc_hls_init *in = &h->inits[i];

		if (in->gen == h->gen || (h->nsegs && in->gen >= h->segs[0].gen)) {
			i++;
			continue;
		}
		snprintf(file, sizeof(file), "init-%" PRId64 ".mp4", in->gen);
		disk_unlink(h, file);
		sc_blob_unref(in->blob);
		memmove(in, in + 1, (h->ninits - i - 1) * sizeof(*in));
		h->ninits--;
	}
}

/* Adds the fragment f as the open segment's next part, ending at end
 * (takes f's blob and frames, also on failure). With a disk folder its
 * frames are in their spools: the part's file is made from them. */
static int add_part(sc_hls *h, sc_hls_fragment *f, int64_t end, uint64_t arrival)
{
	sc_hls_seg *s = sc_hls_open_seg(h);
	int spooled = h->disk != NULL;
	int64_t part;
	char file[64];
	int rc;

	if (!s) {
		rc = -EINVAL;
		goto out;
	}
	part = (int64_t)s->nparts;
	sc_hls_part_name(h, s->msn, part, file, sizeof(file));
	f->layout.tag = h->spool_tag;
	f->layout.arrival_us = arrival;
	f->layout.spool_gen = h->spool_gen;
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		f->layout.spool_base[t] = h->spool_base[t];
	rc = sc_hls_seg_add(s, spooled ? NULL : sc_blob_ref(f->blob), end - h->part_start,
			    h->part_key, &f->layout);
	if (rc < 0) {
		spool_next(h);
		goto out;
	}
	if (spooled) {
		uint64_t bytes[SC_HLS_SPOOLS] = {f->layout.bytes[SC_HLS_VIDEO],
						 f->layout.bytes[SC_HLS_AUDIO]};
		char sp[32];

		sc_hls_spool_name(h->spool_gen, sp, sizeof(sp));
		if (h->spool_lost)
			rc = -EIO;
		else
			rc = sc_hls_disk_finish(h->disk, file, f->blob, sp, f->layout.spool_base,
						bytes);
		/* Without parts the file made is the segment's. */
		sc_hls_seg_queued(s, h->ll ? part : -1, rc);
		if (rc < 0)
			sc_hls_disk_failed(h, file, rc);
		rc = 0;
	}
	spool_next(h);
	if (h->ll)
		h->stats.parts++;
	/* From now on the frames can be read back (sc_hls_open_data). */
	if (f->nframes && h->cfg.on_part)
		h->cfg.on_part(h->cfg.userdata, s->msn, part, f->frames, f->nframes);
out:
	sc_blob_unref(f->blob);
	sc_hls_frames_free(f->frames, f->nframes);
	*f = (sc_hls_fragment){.end_dts = INT64_MIN};
	return rc;
}

/* Closes the open segment at `end` (dts). One without parts is dropped. */
static void complete_seg(sc_hls *h, int64_t end)
{
	sc_hls_seg *s = sc_hls_open_seg(h);
	char file[64];

	if (!s)
		return;
	h->open = 0;
	if (!s->nparts) {
		sc_hls_seg_clear(s);
		h->nsegs--;
		h->next_msn--;
		return;
	}
	s->dur = end - s->start;
	s->complete = 1;
	if (s->dur > h->longest_ms)
		h->longest_ms = s->dur;
	/* Without parts a spooled segment's file is already on its way. */
	if (h->ll) {
		snprintf(file, sizeof(file), "%" PRId64 ".m4s", s->msn);
		seg_write(h, s, file);
	}
	h->stats.segments++;
	h->stats.last_msn = s->msn;
	drop_old(h);
}

static int new_seg(sc_hls *h, int64_t start)
{
	sc_hls_seg *s;

	if (h->nsegs == h->cap)
		return -ENOBUFS; /* cannot happen: cap is window + 4 */
	s = &h->segs[h->nsegs++];
	memset(s, 0, sizeof(*s));
	s->msn = h->next_msn++;
	s->start = start;
	s->gen = h->gen;
	s->disc = h->next_disc;
	s->pdt_ms = h->wall_anchor_ms + (start - h->dts_anchor);
	h->next_disc = 0;
	h->open = 1;
	return 0;
}

/* ---- muxer life ---- */

static void stop_mux(sc_hls *h, int flush)
{
	sc_hls_fragment f;

	if (!h->mux)
		return;
	if (flush && sc_hls_mux_flush(h->mux, 1, h->cfg.on_part != NULL, &f, NULL, 0) == 0 &&
	    f.blob) {
		int64_t end = f.end_dts;

		if (end == INT64_MIN)
			end = h->last_dts + sc_hls_mux_frame_ms(h->mux, SC_HLS_VIDEO);
		if (add_part(h, &f, end, h->part_arrival) == 0)
			h->part_start = end;
	} else {
		/* The open part is given up: its spooled frames stay where
		 * they are and go with their spool files. */
		spool_next(h);
	}
	complete_seg(h, h->part_start);
	sc_hls_mux_free(h->mux);
	h->mux = NULL;
	h->next_disc = 1;
	h->restart = 0;
}

/* Muxer spool: the open part's next frame goes to its track's spool. */
static void on_spool(void *ud, int track, sc_media *m, size_t off, uint32_t at)
{
	sc_hls *h = ud;
	sc_hls_seg *s = sc_hls_open_seg(h);
	char file[64], sp[32];
	uint64_t pos;
	int rc;

	if (!s || h->spool_lost)
		return;
	sc_hls_part_name(h, s->msn, (int64_t)s->nparts, file, sizeof(file));
	sc_hls_spool_name(h->spool_gen, sp, sizeof(sp));
	pos = h->spool_base[track] + at;
	rc = sc_hls_disk_spool(h->disk, file, sp, track, m, off, pos, at, h->spool_tag);
	if (pos + (m->len - off) > h->spool_end[track])
		h->spool_end[track] = pos + (m->len - off);
	if (rc < 0) {
		h->spool_lost = 1; /* the part is lost; the next one starts afresh */
		sc_hls_disk_failed(h, file, rc);
	}
}

static int start_mux(sc_hls *h, int64_t dts, int key, uint64_t arrival, char *err, size_t errlen)
{
	sc_blob *init;
	char file[64];
	uint64_t mono = now_us(CLOCK_MONOTONIC);
	int rc;

	rc = sc_hls_mux_new(h->in, &h->mux, &init, err, errlen);
	if (rc < 0)
		return rc;
	if (h->disk)
		sc_hls_mux_spool(h->mux, on_spool, h);
	h->spool_lost = 0;
	if (h->ninits == SC_HLS_MAX_INITS) {
		sc_blob_unref(h->inits[0].blob);
		memmove(&h->inits[0], &h->inits[1], (SC_HLS_MAX_INITS - 1) * sizeof(h->inits[0]));
		h->ninits--;
	}
	h->gen++;
	h->inits[h->ninits++] = (struct sc_hls_init){.gen = h->gen, .blob = init};
	snprintf(file, sizeof(file), "init-%" PRId64 ".mp4", h->gen);
	disk_write(h, file, &init, 1);
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		h->mux_has[t] = h->in[t].present;
	if (!arrival || arrival > mono)
		arrival = mono;
	h->wall_anchor_ms = (int64_t)(now_us(CLOCK_REALTIME) - (mono - arrival)) / 1000;
	h->dts_anchor = dts;
	h->part_start = h->last_dts = dts;
	h->part_key = h->mux_has[SC_HLS_VIDEO] ? key : 1;
	h->restart = 0;
	h->ended = 0;
	h->stats.active = 1;
	return new_seg(h, dts);
}

static int on_config(sc_hls *h, int track, const uint8_t *p, size_t len, char *err, size_t errlen)
{
	sc_hls_track_cfg c;
	int rc;

	rc = track == SC_HLS_VIDEO ? sc_hls_parse_avcc(p, len, &c, err, errlen)
				   : sc_hls_parse_asc(p, len, &c, err, errlen);
	if (rc < 0) {
		/* Frames that follow cannot be trusted: stop and wait for a
		 * good configuration. */
		if (h->mux && h->mux_has[track]) {
			stop_mux(h, 1);
			publish(h, 0);
		}
		sc_hls_track_cfg_clear(&h->in[track]);
		return rc;
	}
	if (sc_hls_track_cfg_same(&c, &h->in[track])) {
		sc_hls_track_cfg_clear(&c);
		return 0;
	}
	sc_hls_track_cfg_clear(&h->in[track]);
	h->in[track] = c;
	if (h->mux)
		h->restart = 1;
	return 0;
}

/* A frame: the bytes of m from off on. */
static int on_frame(sc_hls *h, int track, int64_t pts, int key, sc_media *m, size_t off, char *err,
		    size_t errlen)
{
	int driver, cut_part = 0, cut_seg = 0, can_start, rc;
	const uint8_t *p = m->data + off;
	size_t len = m->len - off;
	uint64_t arrival = m->arrival_us;
	int64_t dts = m->ts;
	sc_hls_seg *s;

	if (!h->in[track].present)
		return 0; /* no configuration yet */
	if (track == SC_HLS_VIDEO && sc_hls_check_avcc(p, len, h->in[track].nal_length_size) < 0)
		return set_err(err, errlen, -EINVAL, "malformed H.264 frame (%zu bytes) dropped",
			       len);
	can_start = track == SC_HLS_VIDEO ? key : !h->in[SC_HLS_VIDEO].present;
	driver = h->mux && h->mux_has[SC_HLS_VIDEO] ? SC_HLS_VIDEO : SC_HLS_AUDIO;
	if (h->mux && track == driver &&
	    (dts < h->last_dts - JUMP_BACK_MS || dts > h->last_dts + JUMP_AHEAD_MS)) {
		stop_mux(h, 1); /* the timeline jumped: a discontinuity */
		publish(h, 0);
	}
	if (h->mux && h->restart && can_start) {
		stop_mux(h, 1);
		publish(h, 0);
	}
	if (!h->mux) {
		if (!can_start)
			return 0;
		rc = start_mux(h, dts, key, arrival, err, errlen);
		if (rc < 0)
			return rc;
		driver = h->mux_has[SC_HLS_VIDEO] ? SC_HLS_VIDEO : SC_HLS_AUDIO;
	}
	if (!h->mux_has[track])
		return 0; /* its configuration came late: waits for a restart */

	s = sc_hls_open_seg(h);
	if (track == driver && s && dts > h->part_start) {
		int64_t seg_len = dts - s->start;

		if (seg_len >= h->max_seg_ms || s->nparts + 1 >= SC_HLS_MAX_PARTS)
			cut_seg = 1;
		else if ((driver == SC_HLS_AUDIO || key) && seg_len >= h->cfg.target_ms)
			cut_seg = 1;
		if (h->ll &&
		    dts - h->part_start + sc_hls_mux_frame_ms(h->mux, driver) > h->cfg.part_ms)
			cut_part = 1;
	}
	rc = sc_hls_mux_write(h->mux, track, dts, pts, key, m, off, err, errlen);
	if (rc < 0)
		goto mux_failed;
	if ((cut_part || cut_seg) && sc_hls_mux_pending(h->mux)) {
		uint64_t part_arrival = h->part_arrival;
		sc_hls_fragment f;

		rc = sc_hls_mux_flush(h->mux, 0, h->cfg.on_part != NULL, &f, err, errlen);
		if (rc < 0)
			goto mux_failed;
		if (f.blob && (rc = add_part(h, &f, dts, part_arrival)) < 0) {
			set_err(err, errlen, rc, "out of memory");
			goto mux_failed;
		}
		h->part_start = dts;
		h->part_key = driver == SC_HLS_VIDEO ? key : 1;
		if (cut_seg) {
			complete_seg(h, dts);
			rc = new_seg(h, dts);
			if (rc < 0)
				goto mux_failed;
		}
		publish(h, part_arrival);
	}
	h->part_arrival = arrival;
	if (track == driver) {
		h->last_dts = dts;
		/* Parts are cut only before a driving frame: this one is in
		 * the open part, so its bytes need not wait for the next. */
		sc_hls_mux_spool_held(h->mux, driver);
	}
	return 0;

mux_failed:
	/* Keep what was cut; restart at the next key frame. */
	stop_mux(h, 0);
	publish(h, 0);
	return rc;
}

/* ---- API ---- */

int sc_hls_write(sc_hls *h, sc_media *m, char *err, size_t errlen)
{
	const uint8_t *p;

	if (!h || !m)
		return -EINVAL;
	p = m->data;
	if (sc_media_is_video(m)) {
		if (m->len < 1 || (p[0] & 0x0f) != 7)
			return set_err(err, errlen, -ENOTSUP,
				       "video codec %d not supported (H.264 only)",
				       m->len ? p[0] & 0x0f : -1);
		if ((p[0] >> 4) == 5)
			return 0; /* video info / command frame */
		if (m->len < 5)
			return set_err(err, errlen, -EINVAL, "truncated H.264 message");
		if (p[1] == 0)
			return on_config(h, SC_HLS_VIDEO, p + 5, m->len - 5, err, errlen);
		if (p[1] != 1 || m->len == 5)
			return 0; /* end of sequence, empty frame */
		return on_frame(h, SC_HLS_VIDEO, (int64_t)m->ts + m->cts, (p[0] >> 4) == 1, m, 5,
				err, errlen);
	}
	if (sc_media_is_audio(m)) {
		if (m->len < 1 || (p[0] >> 4) != 10)
			return set_err(err, errlen, -ENOTSUP,
				       "audio format %d not supported (AAC only)",
				       m->len ? p[0] >> 4 : -1);
		if (m->len < 2)
			return set_err(err, errlen, -EINVAL, "truncated AAC message");
		if (p[1] == 0)
			return on_config(h, SC_HLS_AUDIO, p + 2, m->len - 2, err, errlen);
		if (m->len == 2)
			return 0;
		return on_frame(h, SC_HLS_AUDIO, m->ts, 1, m, 2, err, errlen);
	}
	return 0;
}

void sc_hls_discontinuity(sc_hls *h)
{
	if (!h)
		return;
	if (h->mux) {
		stop_mux(h, 1);
		publish(h, 0);
	}
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		sc_hls_track_cfg_clear(&h->in[t]);
	h->next_disc = h->next_msn > 0;
}

void sc_hls_end(sc_hls *h)
{
	if (!h)
		return;
	stop_mux(h, 1);
	spool_rotate(h); /* no part is open: nothing stays spooled */
	h->ended = 1;
	h->stats.active = 0;
	publish(h, 0);
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		sc_hls_track_cfg_clear(&h->in[t]);
	h->next_disc = h->next_msn > 0;
}

static int valid_name(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > NAME_MAX_BYTES || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	}
	return 1;
}

sc_hls *sc_hls_new(uv_loop_t *loop, const sc_hls_config *cfg, const char *name, char *err,
		   size_t errlen)
{
	sc_hls *h = NULL;

	if (!loop || !cfg || !valid_name(name) || cfg->part_ms < 0) {
		set_err(err, errlen, -EINVAL, "invalid HLS stream name or configuration");
		goto fail;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		goto oom;
	h->loop = loop;
	h->cfg = *cfg;
	h->cfg.dir = NULL;
	if (h->cfg.target_ms <= 0)
		h->cfg.target_ms = 2000;
	if (h->cfg.window <= 0)
		h->cfg.window = 6;
	if (h->cfg.window > 1000)
		h->cfg.window = 1000;
	if (h->cfg.spool_rotate == 0)
		h->cfg.spool_rotate = SPOOL_ROTATE;
	h->ll = h->cfg.part_ms > 0;
	h->max_seg_ms = h->cfg.target_ms * 4 > 10000 ? h->cfg.target_ms * 4 : 10000;
	h->gen = -1;
	h->stats.last_msn = -1;
	h->cap = (size_t)h->cfg.window + 4;
	h->name = strdup(name);
	h->segs = calloc(h->cap, sizeof(*h->segs));
	h->plsegs = calloc(h->cap, sizeof(*h->plsegs));
	if (!h->name || !h->segs || !h->plsegs)
		goto oom;
	if (cfg->dir) {
		if (asprintf(&h->path, "%s/%s", cfg->dir, name) < 0) {
			h->path = NULL;
			goto oom;
		}
		if ((mkdir(cfg->dir, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(h->path, 0755) < 0 && errno != EEXIST)) {
			set_err(err, errlen, -errno, "cannot create %s: %s", h->path,
				strerror(errno));
			goto fail;
		}
		h->disk = sc_hls_disk_new(loop, h->path, MAX_WRITES, MAX_SPOOL);
		if (!h->disk)
			goto oom;
		sc_hls_disk_set_done(h->disk, sc_hls_on_disk_done, sc_hls_on_disk_spooled, h);
	}
	return h;
oom:
	set_err(err, errlen, -ENOMEM, "out of memory");
fail:
	sc_hls_free(h);
	return NULL;
}

void sc_hls_free(sc_hls *h)
{
	if (!h)
		return;
	h->cfg.on_update = NULL; /* no callback from inside a destructor */
	h->cfg.on_part = NULL;
	h->cfg.on_drop = NULL;
	if (h->mux)
		sc_hls_end(h);
	spool_rotate(h);
	sc_hls_disk_close(h->disk);
	for (size_t i = 0; i < h->nsegs; i++)
		sc_hls_seg_clear(&h->segs[i]);
	for (size_t i = 0; i < h->ninits; i++)
		sc_blob_unref(h->inits[i].blob);
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		sc_hls_track_cfg_clear(&h->in[t]);
	sc_blob_unref(h->playlist);
	free(h->segs);
	free(h->plsegs);
	free(h->name);
	free(h->path);
	free(h);
}
