/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_files.c - the files of one stream's HLS output, seen from the loop:
 * the disk writer's reports (a part's file made, a frame spooled), and
 * what HTTP requests and the key frame cache read (hls_impl.h).
 */
#include <errno.h>
#include <string.h>

#include "hls_impl.h"
#include "log.h"

/* The first failed write of the stream is logged; all are counted by the
 * disk queue (write_errors, write_drops). */
void sc_hls_disk_failed(sc_hls *h, const char *file, int err)
{
	if (h->warned)
		return;
	h->warned = 1;
	sc_log_warn(h->name,
		    "hls: writing %s/%s failed: %s (later failures of this stream are only "
		    "counted)",
		    h->path, file, strerror(-err));
}

void sc_hls_on_disk_done(void *userdata, const char *file, int err)
{
	sc_hls *h = userdata;
	int64_t a = 0, p = 0;
	int kind = sc_hls_parse_name(file, &a, &p);
	sc_hls_seg *s;

	if (kind != SC_HLS_FILE_SEGMENT && kind != SC_HLS_FILE_PART)
		return;
	s = sc_hls_find_seg(h, a);
	if (!s)
		return; /* dropped meanwhile */
	/* A part's file made (without parts: the segment's, its one part). */
	if (kind == SC_HLS_FILE_SEGMENT)
		p = 0;
	if (err == 0 && (kind == SC_HLS_FILE_PART) == (h->ll != 0) && p >= 0 &&
	    p < (int64_t)s->nparts)
		sc_hls_record_delay(s->lay[p].arrival_us, &h->stats.last_file_delay_us,
				    &h->stats.max_file_delay_us);
	sc_hls_seg_written(s, kind == SC_HLS_FILE_SEGMENT ? -1 : p, err);
	if (err < 0)
		sc_hls_disk_failed(h, file, err);
	/* A request for it may be waiting for its file. */
	if (h->cfg.on_update)
		h->cfg.on_update(h->cfg.userdata);
}

/* Is the part that spool run `tag` is (or was) making still to be had:
 * the open one, not lost, or one cut whose file is being made or made? */
static int spool_alive(sc_hls *h, const sc_hls_seg *s, int64_t part, uint32_t tag)
{
	if (part == (int64_t)s->nparts)
		return s == sc_hls_open_seg(h) && h->mux && tag == h->spool_tag && !h->spool_lost;
	if (part > (int64_t)s->nparts || s->lay[part].tag != tag)
		return 0;
	if (h->ll)
		return s->where[part] == SC_HLS_PART_PENDING || s->where[part] == SC_HLS_PART_FILE;
	return s->seg_pending || s->written;
}

/* A spooled frame is on disk: it can be read back from there, unless its
 * part was given up meanwhile (then a cache keeps its copy). */
void sc_hls_on_disk_spooled(void *userdata, const char *file, int track, sc_media *m, size_t off,
			    uint32_t at, uint32_t tag, int err)
{
	sc_hls *h = userdata;
	int64_t a = 0, p = 0;
	int kind = sc_hls_parse_name(file, &a, &p);
	sc_hls_frame_at f = {.m = m, .off = (uint32_t)off, .at = at};
	sc_hls_seg *s;

	(void)track;
	if (kind == SC_HLS_FILE_SEGMENT)
		p = 0;
	else if (kind != SC_HLS_FILE_PART)
		return;
	s = sc_hls_find_seg(h, a);
	if (err < 0) {
		sc_hls_disk_failed(h, file, err);
		/* The open part cannot be made: none of its frames is to be had. */
		if (s && p == (int64_t)s->nparts && spool_alive(h, s, p, tag))
			h->spool_lost = 1;
		return;
	}
	if (h->cfg.on_part && s && spool_alive(h, s, p, tag))
		h->cfg.on_part(h->cfg.userdata, a, p, &f, 1);
}

/* ---- reading ---- */

int sc_hls_open(sc_hls *h, const char *file, sc_hls_body **ret)
{
	const char *mime = "video/mp4";
	sc_blob *src = NULL;
	int64_t a = 0, part = 0;
	sc_hls_seg *s;

	if (!h || !file || !ret)
		return -ENOENT;
	switch (sc_hls_parse_name(file, &a, &part)) {
	case SC_HLS_FILE_PLAYLIST:
		src = h->playlist;
		mime = "application/vnd.apple.mpegurl";
		break;
	case SC_HLS_FILE_INIT:
		for (size_t i = 0; i < h->ninits; i++) {
			if (h->inits[i].gen == a)
				src = h->inits[i].blob;
		}
		break;
	case SC_HLS_FILE_SEGMENT:
		s = sc_hls_find_seg(h, a);
		return s ? sc_hls_seg_open(s, h->path, file, -1, ret) : -ENOENT;
	case SC_HLS_FILE_PART:
		s = sc_hls_find_seg(h, a);
		if (!h->ll || !s)
			break;
		if ((size_t)part < s->nparts)
			return sc_hls_seg_open(s, h->path, file, part, ret);
		if (h->mux && !h->ended && s == sc_hls_open_seg(h) && (size_t)part == s->nparts)
			return -EAGAIN;
		break;
	}
	if (!src)
		return -ENOENT;
	return sc_hls_body_of(mime, &src, 1, ret);
}

int sc_hls_ready(sc_hls *h, int64_t msn, int64_t part)
{
	sc_hls_seg *o;
	int64_t last;

	if (!h)
		return -EINVAL;
	o = sc_hls_open_seg(h);
	last = h->stats.last_msn;
	if (h->ll && o && o->nparts)
		last = o->msn;
	if (msn > last + 2)
		return -ERANGE;
	if (h->ended || msn <= h->stats.last_msn)
		return 1;
	if (part < 0 || !h->ll || !o || msn != o->msn)
		return 0;
	return (int64_t)o->nparts > part;
}

void sc_hls_get_stats(const sc_hls *h, sc_hls_stats *ret)
{
	if (!h || !ret)
		return;
	*ret = h->stats;
	sc_hls_disk_stats(h->disk, &ret->write_errors, &ret->write_drops);
}

int sc_hls_open_data(sc_hls *h, int64_t msn, int64_t part, int track, sc_hls_body **ret,
		     uint64_t *ret_base)
{
	sc_hls_seg *s = h ? sc_hls_find_seg(h, msn) : NULL;
	const sc_hls_layout *lay;
	int ready, spooling;
	char file[64], sp[32];
	int rc;

	if (!s || part < 0 || track < 0 || track >= SC_HLS_TRACKS || !ret || !ret_base)
		return -ENOENT;
	sc_hls_part_name(h, msn, part, file, sizeof(file));
	if ((size_t)part == s->nparts) {
		/* The open part: only what is in its spools. */
		if (s != sc_hls_open_seg(h) || !h->mux || !h->disk)
			return -ENOENT;
		sc_hls_spool_name(h->spool_gen, sp, sizeof(sp));
		*ret_base = h->spool_base[track];
		return sc_hls_disk_open_spool(h->path, track, sp, ret);
	}
	if ((size_t)part > s->nparts)
		return -ENOENT;
	lay = &s->lay[part];
	*ret_base = lay->hdr + (track == SC_HLS_AUDIO ? lay->bytes[SC_HLS_VIDEO] : 0);
	if (s->blobs[part])
		return sc_hls_body_of("video/mp4", &s->blobs[part], 1, ret);
	ready = h->ll ? s->where[part] == SC_HLS_PART_FILE : s->written;
	spooling = h->ll ? s->where[part] == SC_HLS_PART_PENDING : s->seg_pending;
	if (!ready && !spooling)
		return -ENOENT;
	if (spooling) {
		/* Its file is being made: from the spool, or from the file if
		 * the spool is already gone (it goes after the file is made). */
		sc_hls_spool_name(lay->spool_gen, sp, sizeof(sp));
		rc = sc_hls_disk_open_spool(h->path, track, sp, ret);
		if (rc != -ENOENT) {
			if (rc == 0)
				*ret_base = lay->spool_base[track];
			return rc;
		}
	}
	return sc_hls_body_open(h->path, file, "video/mp4", ret);
}
