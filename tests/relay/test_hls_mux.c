/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls_mux.c - the fragmented MP4 writer (hls_mux.c, fmp4.c), read back
 * by an independent reader: libavformat's mov demuxer must find every frame
 * of tests/relay/data/av_4s.flv with its own bytes, timestamps and key flag,
 * in fragments cut at arbitrary points; and each frame is where the muxer
 * says it is in its fragment (the key frame cache reads it back there).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavformat/avformat.h>

#include "fmp4.h"
#include "hls_fixture.h"
#include "hls_mux.h"

struct frame {
	int track;
	int64_t dts, pts; /* ms */
	int key;
	const uint8_t *data;
	size_t len;
	int seen;
};

static struct frame frames[4096];
static size_t nframes;

/* The configurations and frames of the FLV, as the HLS module reads them. */
static void load(sc_hls_track_cfg cfg[SC_HLS_TRACKS])
{
	char err[128];

	nframes = 0;
	for (size_t i = 0; i < hf_ntags; i++) {
		const struct hf_tag *t = &hf_tags[i];
		const uint8_t *p = t->data;

		if (t->type == 9 && t->len > 5) {
			if (p[1] == 0) {
				assert_int_equal(sc_hls_parse_avcc(p + 5, t->len - 5,
								   &cfg[SC_HLS_VIDEO], err,
								   sizeof(err)),
						 0);
				continue;
			}
			int32_t cts = (int32_t)((uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
			if (cts & 0x800000)
				cts -= 0x1000000;
			frames[nframes++] = (struct frame){
				SC_HLS_VIDEO, t->ts, (int64_t)t->ts + cts, (p[0] >> 4) == 1, p + 5,
				t->len - 5,   0};
		} else if (t->type == 8 && t->len > 2) {
			if (p[1] == 0) {
				assert_int_equal(sc_hls_parse_asc(p + 2, t->len - 2,
								  &cfg[SC_HLS_AUDIO], err,
								  sizeof(err)),
						 0);
				continue;
			}
			frames[nframes++] =
				(struct frame){SC_HLS_AUDIO, t->ts, t->ts, 1, p + 2, t->len - 2, 0};
		}
	}
	assert_true(cfg[SC_HLS_VIDEO].present && cfg[SC_HLS_AUDIO].present);
	assert_true(nframes > 200);
}

/* Each frame the flush listed is in the fragment where it says: its
 * track's bytes start after the header, audio after video. */
static size_t check_frames(const sc_hls_fragment *fg)
{
	const sc_blob *b = fg->blob;

	for (size_t i = 0; i < fg->nframes; i++) {
		const sc_hls_frame_at *f = &fg->frames[i];
		size_t len = f->m->len - f->off;
		size_t pos = fg->layout.hdr + f->at;

		if (sc_media_is_audio(f->m))
			pos += fg->layout.bytes[SC_HLS_VIDEO];
		assert_true(f->off == 2 || f->off == 5);
		assert_true(pos + len <= b->len);
		assert_memory_equal(b->data + pos, f->m->data + f->off, len);
	}
	assert_int_equal(b->len, fg->layout.hdr + fg->layout.bytes[SC_HLS_VIDEO] +
					 fg->layout.bytes[SC_HLS_AUDIO]);
	sc_hls_frames_free(fg->frames, fg->nframes);
	return fg->nframes;
}

static void append(FILE *f, sc_blob *b)
{
	assert_non_null(b);
	assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
	sc_blob_unref(b);
}

/* A spool in memory: each track's bytes of the open fragment. */
struct spool {
	uint8_t *p[SC_HLS_TRACKS];
	size_t len[SC_HLS_TRACKS];
	size_t frames;
};

static void on_spool(void *ud, int track, sc_media *m, size_t off, uint32_t at)
{
	struct spool *sp = ud;
	size_t len = m->len - off;

	/* Each track's frames come in order, back to back. */
	assert_int_equal(at, sp->len[track]);
	sp->p[track] = realloc(sp->p[track], sp->len[track] + len);
	assert_non_null(sp->p[track]);
	memcpy(sp->p[track] + at, m->data + off, len);
	sp->len[track] += len;
	sp->frames++;
}

/* A flushed fragment to f: spooled, its header then the spools. */
static size_t put_fragment(FILE *f, sc_hls_fragment *fg, struct spool *sp)
{
	size_t n;

	if (!sp) {
		n = check_frames(fg);
		append(f, fg->blob);
		return n;
	}
	assert_null(fg->frames);
	assert_int_equal(fg->blob->len, fg->layout.hdr);
	append(f, fg->blob);
	for (int t = 0; t < SC_HLS_TRACKS; t++) {
		assert_int_equal(sp->len[t], fg->layout.bytes[t]);
		if (sp->len[t])
			assert_int_equal(fwrite(sp->p[t], 1, sp->len[t], f), sp->len[t]);
		sp->len[t] = 0;
	}
	n = sp->frames;
	sp->frames = 0;
	return n;
}

/* Muxes every frame, cutting a fragment after every `every` frames (0:
 * one fragment; video_cuts: only after a video frame, once due, as HLS
 * cuts before its driving track's frames), into path; spooled if
 * `spooled` (2: and each video frame spooled as soon as it is held).
 * Returns the number of fragments. */
static int mux_to_file(const sc_hls_track_cfg cfg[SC_HLS_TRACKS], size_t every, int video_cuts,
		       int spooled, const char *path)
{
	int due = 0;
	char err[128];
	struct spool sp = {{0}};
	size_t nframes_out = 0;
	sc_hls_fragment fg;
	sc_hls_mux *mx;
	sc_blob *b;
	int nfrag = 0;
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(sc_hls_mux_new(cfg, &mx, &b, err, sizeof(err)), 0);
	if (spooled)
		sc_hls_mux_spool(mx, on_spool, &sp);
	append(f, b);
	for (size_t i = 0; i < nframes; i++) {
		const struct frame *fr = &frames[i];
		/* The message: a 5 or 2 byte FLV header, then the frame. */
		size_t off = fr->track == SC_HLS_VIDEO ? 5 : 2;
		sc_media *m = sc_media_new(fr->track == SC_HLS_VIDEO ? 9 : 8, (uint32_t)fr->dts,
					   fr->data - off, fr->len + off);

		assert_non_null(m);
		assert_int_equal(sc_hls_mux_write(mx, fr->track, fr->dts, fr->pts, fr->key, m, off,
						  err, sizeof(err)),
				 0);
		sc_media_unref(m); /* the muxer keeps its own reference */
		due |= every && (i + 1) % every == 0;
		if (due && (!video_cuts || fr->track == SC_HLS_VIDEO) && sc_hls_mux_pending(mx)) {
			assert_int_equal(sc_hls_mux_flush(mx, 0, 1, &fg, err, sizeof(err)), 0);
			nframes_out += put_fragment(f, &fg, spooled ? &sp : NULL);
			nfrag++;
			due = 0;
		}
		if (spooled == 2 && fr->track == SC_HLS_VIDEO)
			sc_hls_mux_spool_held(mx, SC_HLS_VIDEO);
	}
	assert_int_equal(sc_hls_mux_flush(mx, 1, 1, &fg, err, sizeof(err)), 0);
	nframes_out += put_fragment(f, &fg, spooled ? &sp : NULL);
	assert_int_equal(nframes_out, nframes); /* every frame listed once */
	nfrag++;
	assert_true(fg.end_dts > frames[nframes - 1].dts);
	sc_hls_mux_free(mx);
	fclose(f);
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		free(sp.p[t]);
	return nfrag;
}

/* The bytes of the file at path. */
static sc_blob *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	sc_blob *b;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	b = sc_blob_new(NULL, (size_t)n);
	assert_int_equal(fread(b->data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

/* Reads path back and matches every packet with a frame, in order. */
static void check_file(const char *path, const sc_hls_track_cfg cfg[SC_HLS_TRACKS])
{
	AVFormatContext *ctx = NULL;
	AVPacket *pkt = av_packet_alloc();
	size_t next[SC_HLS_TRACKS] = {0, 0}, matched = 0;
	int track_of[2];

	assert_int_equal(avformat_open_input(&ctx, path, NULL, NULL), 0);
	assert_true(avformat_find_stream_info(ctx, NULL) >= 0);
	assert_int_equal(ctx->nb_streams, 2);
	for (unsigned i = 0; i < 2; i++) {
		AVCodecParameters *par = ctx->streams[i]->codecpar;

		if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
			assert_int_equal(par->codec_id, AV_CODEC_ID_H264);
			assert_int_equal(par->extradata_size, cfg[SC_HLS_VIDEO].extradata_len);
			assert_memory_equal(par->extradata, cfg[SC_HLS_VIDEO].extradata,
					    cfg[SC_HLS_VIDEO].extradata_len);
			assert_int_equal(par->width, 320);
			assert_int_equal(par->height, 180);
			track_of[i] = SC_HLS_VIDEO;
		} else {
			assert_int_equal(par->codec_id, AV_CODEC_ID_AAC);
			assert_int_equal(par->extradata_size, cfg[SC_HLS_AUDIO].extradata_len);
			assert_memory_equal(par->extradata, cfg[SC_HLS_AUDIO].extradata,
					    cfg[SC_HLS_AUDIO].extradata_len);
			assert_true(par->sample_rate > 0);
			track_of[i] = SC_HLS_AUDIO;
		}
	}
	assert_int_not_equal(track_of[0], track_of[1]);

	while (av_read_frame(ctx, pkt) >= 0) {
		AVStream *st = ctx->streams[pkt->stream_index];
		int track = track_of[pkt->stream_index];
		AVRational ms = {1, 1000};
		struct frame *fr;

		/* The next frame of this track in the FLV. */
		while (next[track] < nframes && frames[next[track]].track != track)
			next[track]++;
		assert_true(next[track] < nframes);
		fr = &frames[next[track]++];
		assert_int_equal((size_t)pkt->size, fr->len);
		assert_memory_equal(pkt->data, fr->data, fr->len);
		/* Within 1 ms: the track's time scale rounds. */
		assert_true(llabs(av_rescale_q(pkt->dts, st->time_base, ms) - fr->dts) <= 1);
		assert_true(llabs(av_rescale_q(pkt->pts, st->time_base, ms) - fr->pts) <= 1);
		assert_int_equal(!!(pkt->flags & AV_PKT_FLAG_KEY), fr->key);
		fr->seen = 1;
		matched++;
		av_packet_unref(pkt);
	}
	assert_int_equal(matched, nframes);
	av_packet_free(&pkt);
	avformat_close_input(&ctx);
}

/* Muxes into path from memory (checked with libavformat), then spooled
 * (video_cuts: each video frame spooled as soon as it is held): the same
 * file byte for byte. Returns the number of fragments. */
static int spooled_same(const sc_hls_track_cfg cfg[SC_HLS_TRACKS], size_t every, int video_cuts,
			const char *path)
{
	int n = mux_to_file(cfg, every, video_cuts, 0, path);
	sc_blob *mem = slurp(path), *spooled;

	check_file(path, cfg);
	assert_int_equal(mux_to_file(cfg, every, video_cuts, video_cuts ? 2 : 1, path), n);
	spooled = slurp(path);
	assert_int_equal(spooled->len, mem->len);
	assert_memory_equal(spooled->data, mem->data, mem->len);
	sc_blob_unref(mem);
	sc_blob_unref(spooled);
	return n;
}

static void test_roundtrip(void **state)
{
	sc_hls_track_cfg cfg[SC_HLS_TRACKS] = {0};
	/* One fragment, then cuts that fall anywhere, mid-GOP included. */
	static const size_t every[] = {0, 1, 7, 25};
	char path[512];

	(void)state;
	load(cfg);
	hf_make_tmpdir();
	snprintf(path, sizeof(path), "%s/out.mp4", hf_tmpdir);
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		int n = spooled_same(cfg, every[i], 0, path);

		printf("every %zu frames: %d fragments\n", every[i], n);
		if (every[i] == 1)
			assert_true((size_t)n > nframes / 2);
		/* Cut only before video frames, each video frame spooled as
		 * soon as it is held: the same again. */
		spooled_same(cfg, every[i], 1, path);
	}
	/* The file has no B-frames: give every other video frame a later pts,
	 * as B-frames would, so that composition offsets must be right too. */
	for (size_t i = 0, v = 0; i < nframes; i++)
		if (frames[i].track == SC_HLS_VIDEO && v++ % 2)
			frames[i].pts += 120;
	mux_to_file(cfg, 7, 0, 0, path);
	check_file(path, cfg);
	mux_to_file(cfg, 7, 0, 1, path);
	check_file(path, cfg);
	mux_to_file(cfg, 7, 1, 2, path);
	check_file(path, cfg);
	hf_rm_tmpdir();
	for (int t = 0; t < SC_HLS_TRACKS; t++)
		sc_hls_track_cfg_clear(&cfg[t]);
}

/* The data_offset of the trun in the n-th traf of the moof at p. */
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint8_t *child(const uint8_t *box, const char *type, int nth)
{
	const uint8_t *end = box + be32(box), *c = box + 8;

	for (; c + 8 <= end; c += be32(c))
		if (!memcmp(c + 4, type, 4) && nth-- == 0)
			return c;
	fail_msg("no %s box", type);
	return NULL;
}

static uint32_t trun_offset(const uint8_t *moof, int nth)
{
	const uint8_t *trun = child(child(moof, "traf", nth), "trun", 0);

	return be32(trun + 16); /* size, type, version+flags, sample_count */
}

/* A fragment's samples are contiguous in its mdat, in track order, from
 * where sc_fmp4_fragment says; the runs' data offsets say the same. */
static void test_fragment_layout(void **state)
{
	static const uint8_t a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {6, 7, 8, 9};
	sc_fmp4_sample v[2] = {{a, sizeof(a), 3000, 0, 1}, {b, sizeof(b), 3000, 6000, 0}};
	sc_fmp4_sample s[1] = {{c, sizeof(c), 1024, 0, 1}};
	sc_fmp4_run runs[2] = {{1, 90000, v, 2}, {2, 48000, s, 1}};
	sc_blob *frag;
	size_t at;

	(void)state;
	assert_int_equal(sc_fmp4_fragment(7, runs, 2, 1 << 20, &frag, &at), 0);
	assert_memory_equal(frag->data + 4, "moof", 4);
	assert_memory_equal(frag->data + at - 4, "mdat", 4);
	assert_int_equal(frag->len, at + 9);
	assert_memory_equal(frag->data + at, "\1\2\3\4\5\6\7\10\11", 9);
	assert_int_equal(trun_offset(frag->data, 0), at);
	assert_int_equal(trun_offset(frag->data, 1), at + 5);
	/* The header alone: the same first bytes, the samples not read. */
	v[0].data = v[1].data = s[0].data = NULL;
	{
		sc_blob *hdr;

		assert_int_equal(sc_fmp4_header(7, runs, 2, 1 << 20, &hdr), 0);
		assert_int_equal(hdr->len, at);
		assert_memory_equal(hdr->data, frag->data, at);
		sc_blob_unref(hdr);
	}
	v[0].data = a;
	v[1].data = b;
	s[0].data = c;
	sc_blob_unref(frag);

	/* Too big for the bound, nothing at all, a bad track: refused. */
	assert_int_equal(sc_fmp4_fragment(8, runs, 2, 8, &frag, NULL), -EINVAL);
	runs[0].n = runs[1].n = 0;
	assert_int_equal(sc_fmp4_fragment(8, runs, 2, 1 << 20, &frag, NULL), -EINVAL);
	{
		sc_fmp4_track t = {.video = 1,
				   .timescale = 90000,
				   .config = a,
				   .config_len = sizeof(a),
				   .width = 0,
				   .height = 180};
		sc_blob *init;

		assert_int_equal(sc_fmp4_init(&t, 1, &init), -EINVAL);
	}
}

/* Frames for a track the muxer was not made with, or before time zero,
 * are refused and leave nothing behind (ASan checks the references). */
static void test_refused(void **state)
{
	sc_hls_track_cfg cfg[SC_HLS_TRACKS] = {0};
	char err[128];
	sc_hls_mux *mx;
	sc_blob *b;
	sc_media *m;

	(void)state;
	load(cfg);
	sc_hls_track_cfg_clear(&cfg[SC_HLS_AUDIO]);
	assert_int_equal(sc_hls_mux_new(cfg, &mx, &b, err, sizeof(err)), 0);
	sc_blob_unref(b);
	m = sc_media_new(8, 0, frames[1].data - 2, frames[1].len + 2);
	assert_int_equal(sc_hls_mux_write(mx, SC_HLS_AUDIO, 0, 0, 1, m, 2, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(sc_hls_mux_write(mx, SC_HLS_VIDEO, -5, 0, 1, m, 2, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(sc_hls_mux_write(mx, SC_HLS_VIDEO, 0, 0, 1, m, m->len, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(m->refs, 1);
	sc_media_unref(m);
	assert_int_equal(sc_hls_mux_pending(mx), 0);
	sc_hls_mux_free(mx);
	sc_hls_track_cfg_clear(&cfg[SC_HLS_VIDEO]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_fragment_layout),
		cmocka_unit_test(test_refused),
	};

	av_log_set_level(AV_LOG_ERROR);
	return cmocka_run_group_tests(tests, hf_group_setup, hf_group_teardown);
}
