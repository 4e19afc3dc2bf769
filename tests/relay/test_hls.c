/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls.c - sc_hls fed with the tags of a real FLV (H.264 + AAC, 4 s,
 * key frame every second): files in memory and on disk, playlist shape,
 * durations, parts, ffprobe on the result, recovery from bad input,
 * discontinuities, window sliding, and parts spooled to disk (the same
 * bytes as in memory). The disk queue alone: test_hls_disk.c.
 *
 * The FLV comes from SC_TEST_DATA (the tests/relay/data folder).
 * SC_HLS_TEST_REALTIME=1 feeds it at its own pace and prints the delays
 * from a part's last message to the playlist listing it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "hls.h"
#include "hls_fixture.h"

struct updates {
	int n;
	uint64_t sum_delay, max_delay;
	sc_hls *h;
};

static void on_update(void *ud)
{
	struct updates *u = ud;
	sc_hls_stats st;

	u->n++;
	if (!u->h)
		return;
	sc_hls_get_stats(u->h, &st);
	u->sum_delay += st.last_publish_delay_us;
	if (st.last_publish_delay_us > u->max_delay)
		u->max_delay = st.last_publish_delay_us;
}

static int file_size(const char *name, const char *file)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s", hf_tmpdir, name, file);
	return stat(path, &st) == 0 ? (int)st.st_size : -1;
}

static sc_blob *get(sc_hls *h, const char *file)
{
	return hf_get_from(h, file, NULL);
}

static char *playlist(sc_hls *h)
{
	sc_blob *b = get(h, "index.m3u8");
	char *s;

	assert_non_null(b);
	s = strndup((const char *)b->data, b->len);
	sc_blob_unref(b);
	return s;
}

struct parsed {
	int nseg, npart, nindep, ndisc, nmap, ended, hint;
	int seg_ms[64];
	int part_ms[256];
	int part_indep[256];
	int part_idx[256]; /* P of S.P.m4s */
};

static int ms_of(const char *s)
{
	int a = 0, b = 0;

	assert_int_equal(sscanf(s, "%d.%3d", &a, &b), 2);
	return a * 1000 + b;
}

static void parse(const char *text, struct parsed *p)
{
	char *copy = strdup(text), *save = NULL;

	memset(p, 0, sizeof(*p));
	assert_int_equal(strncmp(text, "#EXTM3U\n", 8), 0);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "#EXTINF:", 8) == 0) {
			p->seg_ms[p->nseg++] = ms_of(l + 8);
		} else if (strncmp(l, "#EXT-X-PART:DURATION=", 21) == 0) {
			const char *u = strstr(l, "URI=\"");
			long s, pi;

			assert_non_null(u);
			assert_int_equal(sscanf(u + 5, "%ld.%ld.m4s", &s, &pi), 2);
			p->part_idx[p->npart] = (int)pi;
			p->part_indep[p->npart] = strstr(l, "INDEPENDENT=YES") != NULL;
			p->nindep += p->part_indep[p->npart];
			p->part_ms[p->npart++] = ms_of(l + 21);
		} else if (strcmp(l, "#EXT-X-DISCONTINUITY") == 0) {
			p->ndisc++;
		} else if (strncmp(l, "#EXT-X-MAP:", 11) == 0) {
			p->nmap++;
		} else if (strcmp(l, "#EXT-X-ENDLIST") == 0) {
			p->ended = 1;
		} else if (strncmp(l, "#EXT-X-PRELOAD-HINT:", 20) == 0) {
			p->hint = 1;
		}
	}
	free(copy);
}

static int have_ffprobe(void)
{
	return system("ffprobe -version >/dev/null 2>&1") == 0;
}

static void test_av_ll(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	int realtime = getenv("SC_HLS_TEST_REALTIME") != NULL;
	struct updates u = {0};
	char cmd[1024], *text, *disk;
	sc_blob *segs[4] = {NULL};
	sc_hls_body *body;
	struct parsed p;
	sc_hls_stats st;
	uv_loop_t loop, mloop;
	sc_blob *b;
	sc_hls *h, *hm;
	FILE *f;
	int rc;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	cfg.on_update = on_update;
	cfg.userdata = &u;
	h = hf_hls_new(&loop, &cfg, "k1");
	u.h = h;
	/* The same output without a folder: what the files must hold. */
	cfg.dir = NULL;
	cfg.on_update = NULL;
	hm = hf_hls_new(&mloop, &cfg, "k1");

	/* Nothing until there is a part. */
	assert_int_equal(sc_hls_open(h, "index.m3u8", &body), -ENOENT);

	/* First half: a live playlist with a preload hint. */
	hf_feed_range(h, 0, hf_ntags / 2, 0, 1, 1, realtime);
	hf_feed_range(hm, 0, hf_ntags / 2, 0, 1, 1, 0);
	text = playlist(h);
	parse(text, &p);
	assert_true(p.hint);
	assert_false(p.ended);
	assert_non_null(strstr(text, "#EXT-X-VERSION:9\n"));
	assert_non_null(strstr(text, "#EXT-X-PART-INF:PART-TARGET=0.333\n"));
	assert_non_null(strstr(text, "CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999\n"));
	{
		const char *hint = strstr(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
		char name[64];
		long s, pi;

		assert_non_null(hint);
		assert_int_equal(sscanf(hint + 35, "%ld.%ld.m4s", &s, &pi), 2);
		snprintf(name, sizeof(name), "%ld.%ld.m4s", s, pi);
		assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
		assert_int_equal(sc_hls_ready(h, s, pi), 0);
		assert_int_equal(sc_hls_ready(h, s, pi - 1 >= 0 ? pi - 1 : 0), pi > 0 ? 1 : 0);
		assert_int_equal(sc_hls_ready(h, s + 3, 0), -ERANGE);
		assert_int_equal(sc_hls_ready(h, 0, -1), s > 0 ? 1 : 0);
	}
	free(text);

	hf_feed_range(h, hf_ntags / 2, hf_ntags, 0, 1, 1, realtime);
	hf_feed_range(hm, hf_ntags / 2, hf_ntags, 0, 1, 1, 0);
	sc_hls_end(h);
	sc_hls_end(hm);
	text = playlist(h);
	parse(text, &p);
	printf("%s", text);
	assert_true(p.ended);
	assert_false(p.hint);
	assert_int_equal(p.nseg, 4); /* 4 s, a key frame every second */
	for (int i = 0; i < p.nseg; i++)
		assert_int_equal(p.seg_ms[i], 1000);
	assert_non_null(strstr(text, "#EXT-X-TARGETDURATION:1\n"));
	assert_int_equal(p.nmap, 1);
	assert_int_equal(p.ndisc, 0);
	/* Parts of the last 3 segments: each at most the part target, all
	 * but a segment's last at least 85% of it; only x.0 independent. */
	assert_true(p.npart >= 9);
	for (int i = 0; i < p.npart; i++) {
		int last = i + 1 == p.npart || p.part_idx[i + 1] == 0;

		assert_true(p.part_ms[i] <= 333);
		if (!last)
			assert_true(p.part_ms[i] >= 283);
		assert_int_equal(p.part_indep[i], p.part_idx[i] == 0);
	}

	/* Before the loop hears that the files are made, a request for a
	 * part or segment waits (its frames went to the spools, nothing of it
	 * is kept in memory); the twin without a folder has them in memory. */
	b = get(h, "init-0.mp4");
	assert_non_null(b);
	assert_memory_equal(b->data + 4, "ftyp", 4);
	sc_blob_unref(b);
	assert_int_equal(sc_hls_open(h, "0.0.m4s", &body), -EAGAIN);
	assert_int_equal(sc_hls_open(h, "3.m4s", &body), -EAGAIN);
	for (int s = 0; s < 4; s++) {
		segs[s] = hf_seg_from(hm, s, 0); /* the segment is its parts */
		assert_memory_equal(segs[s]->data + 4, "moof", 4);
	}
	assert_null(get(h, "4.m4s"));
	assert_null(get(h, "01.m4s"));
	assert_null(get(h, "../index.m3u8"));
	assert_int_equal(sc_hls_ready(h, 3, -1), 1);

	sc_hls_get_stats(h, &st);
	assert_int_equal(st.segments, 4);
	assert_true(st.parts >= 12);
	assert_int_equal(st.last_msn, 3);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.write_drops, 0);
	printf("updates %d, part delay (last message to playlist): avg %.1f us, max %" PRIu64
	       " us (stats max %" PRIu64 " us)%s\n",
	       u.n, u.n ? (double)u.sum_delay / u.n : 0.0, u.max_delay, st.max_publish_delay_us,
	       realtime ? ", real time" : ", as fast as possible");

	/* Disk: after the worker is done, every segment and part comes from
	 * its file, with the twin's bytes; no spool is left. */
	hf_run_loop_to_idle(&loop);
	snprintf(cmd, sizeof(cmd), "ls -A '%s/k1' | grep -q '^\\.'", hf_tmpdir);
	assert_int_not_equal(system(cmd), 0);
	sc_hls_get_stats(h, &st);
	assert_int_equal(st.write_errors, 0);
	for (int s = 0; s < 4; s++) {
		hf_check_seg(h, s, segs[s], 1); /* parts from the same place */
		sc_blob_unref(segs[s]);
	}
	assert_true(file_size("k1", "init-0.mp4") > 0);
	for (int s = 0; s < 4; s++) {
		char name[32];

		snprintf(name, sizeof(name), "%d.m4s", s);
		assert_true(file_size("k1", name) > 0);
		snprintf(name, sizeof(name), "%d.0.m4s", s);
		assert_true(file_size("k1", name) > 0);
	}
	snprintf(cmd, sizeof(cmd), "%s/k1/index.m3u8", hf_tmpdir);
	f = fopen(cmd, "r");
	assert_non_null(f);
	disk = calloc(1, 65536);
	assert_true(fread(disk, 1, 65535, f) > 0);
	fclose(f);
	assert_string_equal(disk, text);
	free(disk);
	free(text);

	if (have_ffprobe()) {
		char out[8192] = "";
		size_t n;

		snprintf(cmd, sizeof(cmd),
			 "ffprobe -v error -show_streams -of json '%s/k1/index.m3u8' 2>&1",
			 hf_tmpdir);
		f = popen(cmd, "r");
		assert_non_null(f);
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		rc = pclose(f);
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "\"codec_name\": \"h264\""));
		assert_non_null(strstr(out, "\"width\": 320"));
		assert_non_null(strstr(out, "\"height\": 180"));
		assert_non_null(strstr(out, "\"codec_name\": \"aac\""));
		/* An independent part plays after the init segment alone. */
		snprintf(cmd, sizeof(cmd),
			 "cd '%s/k1' && cat init-0.mp4 2.0.m4s > /tmp/sc-hls-part-$$.mp4 && "
			 "ffprobe -v error -count_frames -select_streams v -show_entries "
			 "stream=nb_read_frames -of csv=p=0 /tmp/sc-hls-part-$$.mp4; "
			 "rm -f /tmp/sc-hls-part-$$.mp4",
			 hf_tmpdir);
		f = popen(cmd, "r");
		assert_non_null(f);
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		pclose(f);
		assert_int_equal(atoi(out), 8); /* 320 ms at 25 fps */
	} else {
		printf("ffprobe missing: stream check skipped\n");
	}

	hf_hls_free(h, &loop);
	hf_hls_free(hm, &mloop);
	hf_rm_tmpdir();
}

/* Bad input is refused with a message and the stream recovers at the next
 * good sequence header and key frame. */
static void test_bad_input_recovers(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	static const uint8_t trunc_avcc[] = {0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 40};
	static const uint8_t bad_asc[] = {0xaf, 0, 0x00, 0x00};
	static const uint8_t vp6[] = {0x14, 0, 0, 0, 0};
	sc_hls_body *body;
	uv_loop_t loop;
	sc_blob *b;
	sc_hls *h;
	size_t first_key = 0;

	(void)state;
	h = hf_hls_new(&loop, &cfg, "bad");
	assert_int_equal(hf_feed(h, 9, 0, trunc_avcc, sizeof(trunc_avcc)), -EINVAL);
	assert_int_equal(hf_feed(h, 8, 0, bad_asc, sizeof(bad_asc)), -EINVAL);
	assert_int_equal(hf_feed(h, 9, 0, vp6, sizeof(vp6)), -ENOTSUP);
	/* Frames without any configuration are ignored. */
	for (size_t i = 0; i < hf_ntags; i++) {
		if (hf_tags[i].type == 9 && hf_tags[i].data[1] == 1) {
			first_key = i;
			break;
		}
	}
	assert_int_equal(hf_feed(h, 9, 0, hf_tags[first_key].data, hf_tags[first_key].len), 0);
	assert_int_equal(sc_hls_open(h, "index.m3u8", &body), -ENOENT);

	/* A good stream, then a broken frame mid-stream, then on. */
	hf_feed_range(h, 0, hf_ntags / 2, 0, 1, 1, 0);
	{
		uint8_t broken[64];

		memcpy(broken, hf_tags[first_key].data, 5);
		memset(broken + 5, 0xff, sizeof(broken) - 5); /* NAL length past the end */
		assert_int_equal(hf_feed(h, 9, 2100, broken, sizeof(broken)), -EINVAL);
	}
	/* A broken config mid-stream stops it; the good one restarts it. */
	assert_int_equal(hf_feed(h, 9, 2100, trunc_avcc, sizeof(trunc_avcc)), -EINVAL);
	hf_feed_range(h, 0, hf_ntags, 5000, 1, 1, 0);
	sc_hls_end(h);
	{
		char *text = playlist(h);
		struct parsed p;

		parse(text, &p);
		assert_int_equal(p.ndisc, 1);
		assert_int_equal(p.nmap, 2);
		assert_non_null(strstr(text, "#EXT-X-MAP:URI=\"init-1.mp4\"\n"));
		free(text);
	}
	b = get(h, "init-1.mp4");
	assert_non_null(b);
	sc_blob_unref(b);
	hf_hls_free(h, &loop);
}

/* Publisher changes, plain HLS (no parts), a small window, audio only. */
static void test_discontinuity_window_plain(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 0, .window = 2};
	char *text;
	struct parsed p;
	sc_hls_stats st;
	uv_loop_t loop;
	sc_hls *h;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	h = hf_hls_new(&loop, &cfg, "w");
	hf_feed_range(h, 0, hf_ntags, 0, 1, 1, 0);
	sc_hls_discontinuity(h);
	hf_feed_range(h, 0, hf_ntags, 0, 1, 1, 0); /* timestamps restart */
	text = playlist(h);
	parse(text, &p);
	assert_non_null(strstr(text, "#EXT-X-VERSION:7\n"));
	assert_null(strstr(text, "#EXT-X-PART"));
	assert_int_equal(p.nseg, 2);
	assert_int_equal(p.npart, 0);
	assert_false(p.hint);
	/* 4 + 3 segments done: 5 and 6 listed, 3 and 4 kept, older gone
	 * (init-0 stays: segment 3 uses it). */
	assert_non_null(strstr(text, "#EXT-X-MEDIA-SEQUENCE:5\n"));
	assert_non_null(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n"));
	assert_null(get(h, "2.m4s"));
	assert_null(get(h, "0.0.m4s")); /* no parts without LL */
	sc_blob_unref(get(h, "3.m4s"));
	free(text);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(file_size("w", "2.m4s"), -1);
	assert_true(file_size("w", "init-0.mp4") > 0);
	assert_true(file_size("w", "3.m4s") > 0);
	assert_true(file_size("w", "init-1.mp4") > 0);

	/* Audio only, after the end: a new discontinuity, cut on time. */
	sc_hls_end(h);
	hf_feed_range(h, 0, hf_ntags, 10000, 1, 0, 0);
	sc_hls_end(h);
	text = playlist(h);
	parse(text, &p);
	assert_true(p.ended);
	for (int i = 0; i < p.nseg; i++)
		assert_true(p.seg_ms[i] >= 900 && p.seg_ms[i] <= 1100);
	free(text);
	sc_hls_get_stats(h, &st);
	assert_int_equal(st.active, 0);
	hf_hls_free(h, &loop);
	hf_rm_tmpdir();
}

/* With a disk folder, frames go to spool files as they come and a part's
 * file is made from them when it is cut: a request waits until the loop
 * hears the file is there, then gets it, with the bytes of a memory-only
 * twin fed the same messages. If the folder goes away, parts and segments
 * are gone (404) while the output goes on. */
static void test_parts_spooled(void **state)
{
	/* New spool files every 64 KB: parts read from several. */
	sc_hls_config cfg = {
		.target_ms = 1000, .part_ms = 333, .window = 6, .spool_rotate = 64 << 10};
	char cmd[600];
	int64_t last = -1, written_last;
	sc_hls_stats st;
	uv_loop_t loop, mloop;
	sc_hls *h, *hm;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	h = hf_hls_new(&loop, &cfg, "rel");
	cfg.dir = NULL;
	hm = hf_hls_new(&mloop, &cfg, "rel");
	for (int pass = 0; pass < 3; pass++) {
		hf_feed_range(h, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
		hf_feed_range(hm, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
		sc_hls_get_stats(h, &st);
		assert_true(st.last_msn > last && st.last_msn < 64);
		/* New segments: a request waits for the file (and for their
		 * parts, but for the one open while the loop last ran). */
		for (int64_t m = last + 1; m <= st.last_msn; m++) {
			char name[64];
			sc_hls_body *body = NULL;

			snprintf(name, sizeof(name), "%" PRId64 ".m4s", m);
			assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
			if (pass > 0 && m == last + 1)
				continue;
			snprintf(name, sizeof(name), "%" PRId64 ".1.m4s", m);
			assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
		}
		last = st.last_msn;
		hf_run_loop_to_idle(&loop);
		/* Only the spool files in use are left (one per track). */
		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s/rel' | grep -c '^\\.tmp-') -le 2",
			 hf_tmpdir);
		assert_int_equal(system(cmd), 0);
		for (int64_t m = 0; m <= last; m++) {
			int from_disk = -1;
			sc_blob *want;

			if (m + 8 <= last) { /* dropped from the window + 2 kept */
				assert_null(hf_get_seg(h, m, &from_disk));
				continue;
			}
			want = hf_seg_from(hm, m, 0);
			hf_check_seg(h, m, want, 1);
			sc_blob_unref(want);
		}
	}
	assert_true(last >= 10);
	sc_hls_get_stats(h, &st);
	assert_int_equal(st.write_errors, 0);
	assert_int_equal(st.write_drops, 0);
	assert_true(st.last_file_delay_us > 0); /* a part's file made is timed */
	assert_true(st.max_file_delay_us >= st.last_file_delay_us);

	/* The folder goes away: writes fail, the segments made since are
	 * gone, the playlist goes on. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/rel'", hf_tmpdir);
	assert_int_equal(system(cmd), 0);
	written_last = last;
	for (int pass = 3; pass < 5; pass++)
		hf_feed_range(h, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
	sc_hls_end(h);
	hf_run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_true(st.write_errors > 0);
	assert_true(st.last_msn >= written_last + 6);
	for (int64_t m = written_last + 1; m <= st.last_msn; m++) {
		int from_disk = -1;

		assert_null(hf_get_seg(h, m, &from_disk));
	}
	hf_hls_free(h, &loop);
	hf_hls_free(hm, &mloop);
	hf_rm_tmpdir();
}

/* Without a disk folder every kept segment stays in memory with its parts,
 * served as their concatenation. */
static void test_memory_only(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	sc_hls_stats st;
	uv_loop_t loop;
	sc_hls *h;

	(void)state;
	h = hf_hls_new(&loop, &cfg, "mem");
	for (int pass = 0; pass < 3; pass++)
		hf_feed_range(h, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
	sc_hls_end(h);
	hf_run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_true(st.last_msn >= 10);
	for (int64_t m = 0; m <= st.last_msn; m++) {
		int from_disk = -1;
		char name[64];
		sc_blob *b;

		if (m + 8 <= st.last_msn) {
			assert_null(hf_get_seg(h, m, &from_disk));
			continue;
		}
		b = hf_seg_from(h, m, 0);
		assert_memory_equal(b->data + 4, "moof", 4);
		sc_blob_unref(b);
		snprintf(name, sizeof(name), "%" PRId64 ".0.m4s", m);
		b = get(h, name);
		assert_non_null(b); /* parts too, listed or not */
		sc_blob_unref(b);
	}
	hf_hls_free(h, &loop);
}

/* Without LL-HLS a segment is one part, spooled to the segment's file: the
 * same bytes as without a folder. */
static void test_plain_spooled(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 0, .window = 6};
	uv_loop_t loop, mloop;
	sc_hls_stats st;
	sc_hls *h, *hm;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	h = hf_hls_new(&loop, &cfg, "pl");
	cfg.dir = NULL;
	hm = hf_hls_new(&mloop, &cfg, "pl");
	for (int pass = 0; pass < 2; pass++) {
		hf_feed_range(h, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
		hf_feed_range(hm, 0, hf_ntags, pass * hf_pass_ms(), 1, 1, 0);
	}
	sc_hls_end(h);
	sc_hls_end(hm);
	{
		sc_hls_body *body = NULL;

		assert_int_equal(sc_hls_open(h, "1.m4s", &body), -EAGAIN);
	}
	hf_run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_int_equal(st.write_errors, 0);
	assert_true(st.last_msn >= 6);
	for (int64_t m = 0; m <= st.last_msn; m++) {
		int disk = -1, mdisk = -1;
		char name[64];
		sc_blob *want, *got;

		snprintf(name, sizeof(name), "%" PRId64 ".m4s", m);
		want = hf_get_from(hm, name, &mdisk);
		got = hf_get_from(h, name, &disk);
		assert_non_null(want);
		assert_non_null(got);
		assert_int_equal(mdisk, 0);
		assert_int_equal(disk, 1);
		assert_int_equal(got->len, want->len);
		assert_memory_equal(got->data, want->data, want->len);
		sc_blob_unref(want);
		sc_blob_unref(got);
	}
	hf_hls_free(h, &loop);
	hf_hls_free(hm, &mloop);
	hf_rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_av_ll),
		cmocka_unit_test(test_bad_input_recovers),
		cmocka_unit_test(test_discontinuity_window_plain),
		cmocka_unit_test(test_parts_spooled),
		cmocka_unit_test(test_memory_only),
		cmocka_unit_test(test_plain_spooled),
	};

	return cmocka_run_group_tests(tests, hf_group_setup, hf_group_teardown);
}
