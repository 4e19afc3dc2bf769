/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls_parts.c - where the parts of a kept HLS segment are served
 * from: each from memory until its own file is written, then from that
 * file (same bytes), also while the segment is open; from memory for good
 * once its write failed or was refused. First sc_hls_seg on its own, then a whole sc_hls fed with
 * tests/relay/data/av_4s.flv (SC_TEST_DATA), where the open segment stays
 * in memory, complete ones move to disk, and one whose file cannot be
 * written stays in memory.
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
#include <unistd.h>

#include <cmocka.h>

#include "hls.h"
#include "hls_disk.h"
#include "hls_parts.h"
#include "hls_fixture.h"

static const sc_hls_layout lay0;

static void write_file(const char *dir, const char *file, const sc_blob *const *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fwrite(b[i]->data, 1, b[i]->len, f), b[i]->len);
	assert_int_equal(fclose(f), 0);
}

/* Opens part (or the segment, part < 0) of s; checks the bytes against
 * want and where they came from. */
static void check_open(const sc_hls_seg *s, const char *file, int64_t part, const char *want,
		       int want_disk)
{
	sc_hls_body *body = NULL;
	int disk = -1;
	sc_blob *b;

	assert_int_equal(sc_hls_seg_open(s, hf_tmpdir, file, part, &body), 0);
	b = hf_body_bytes(body, &disk);
	assert_int_equal(disk, want_disk);
	assert_int_equal(b->len, strlen(want));
	assert_memory_equal(b->data, want, b->len);
	sc_blob_unref(b);
}

static void test_seg_lifecycle(void **state)
{
	static const char *const txt[] = {"part zero|", "part one, longer|", "2"};
	sc_hls_seg s = {.msn = 7};
	sc_hls_body *body = NULL;
	sc_blob *blobs[3];

	(void)state;
	hf_make_tmpdir();
	for (int i = 0; i < 3; i++) {
		blobs[i] = sc_blob_new(txt[i], strlen(txt[i]));
		assert_int_equal(sc_hls_seg_add(&s, sc_blob_ref(blobs[i]), 333, i == 0, &lay0), 0);
		sc_hls_seg_queued(&s, i, 0); /* 7.i.m4s */
	}
	assert_int_equal(s.nparts, 3);
	assert_int_equal(s.parts[0].independent, 1);
	assert_int_equal(s.parts[1].dur_ms, 333);
	/* Open: parts from memory, no segment, nothing past the end. */
	check_open(&s, "7.1.m4s", 1, txt[1], 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "7.m4s", -1, &body), -ENOENT);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "7.3.m4s", 3, &body), -ENOENT);
	/* A part file written while the segment is open: that part is let go
	 * and served from its file; the others stay in memory. */
	write_file(hf_tmpdir, "7.0.m4s", (const sc_blob *const *)&blobs[0], 1);
	sc_hls_seg_written(&s, 0, 0);
	assert_int_equal(atomic_load(&blobs[0]->refs), 1);
	assert_int_equal(sc_hls_seg_held(&s), 2);
	check_open(&s, "7.0.m4s", 0, txt[0], 1);
	check_open(&s, "7.1.m4s", 1, txt[1], 0);
	/* Complete, its file queued, part 0 only on disk: a request waits. */
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "7.m4s", -1, &body), -EAGAIN);
	for (int i = 1; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "7.%d.m4s", i);
		write_file(hf_tmpdir, name, (const sc_blob *const *)&blobs[i], 1);
		sc_hls_seg_written(&s, i, 0);
	}
	write_file(hf_tmpdir, "7.m4s", (const sc_blob *const *)blobs, 3);
	sc_hls_seg_written(&s, -1, 0);
	assert_int_equal(s.written, 1);
	assert_int_equal(s.seg_pending, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.where[i], SC_HLS_PART_FILE);
	/* Only our references are left: the blobs went. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&blobs[i]->refs), 1);
	assert_int_equal(sc_hls_seg_held(&s), 0);
	/* From disk, the same bytes: parts and segment. */
	check_open(&s, "7.m4s", -1, "part zero|part one, longer|2", 1);
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "7.%d.m4s", i);
		check_open(&s, name, i, txt[i], 1);
	}
	/* Without a folder (or a file) it is not there. */
	assert_int_equal(sc_hls_seg_open(&s, NULL, "7.m4s", -1, &body), -ENOENT);
	sc_hls_seg_clear(&s);
	assert_int_equal(s.nparts, 0);
	assert_null(s.blobs);
	sc_hls_seg_clear(NULL);

	/* Without LL-HLS: one part, no file of its own; it goes with MSN.m4s. */
	s = (sc_hls_seg){.msn = 8};
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_ref(blobs[1]), 2000, 1, &lay0), 0);
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, 0);
	check_open(&s, "8.m4s", -1, txt[1], 0);
	write_file(hf_tmpdir, "8.m4s", (const sc_blob *const *)&blobs[1], 1);
	sc_hls_seg_written(&s, -1, 0);
	assert_int_equal(atomic_load(&blobs[1]->refs), 1);
	check_open(&s, "8.m4s", -1, txt[1], 1);
	sc_hls_seg_clear(&s);
	for (int i = 0; i < 3; i++)
		sc_blob_unref(blobs[i]);
	hf_rm_tmpdir();
}

/* A failed or refused part write keeps that part's blob: from memory. */
static void test_seg_failures(void **state)
{
	sc_hls_seg s = {.msn = 1};
	sc_hls_body *body = NULL;

	(void)state;
	hf_make_tmpdir();
	/* A part write refused (queue full), one failed, one written. */
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("ab", 2), 100, 1, &lay0), 0);
	sc_hls_seg_queued(&s, 0, -ENOBUFS);
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("cd", 2), 100, 0, &lay0), 0);
	sc_hls_seg_queued(&s, 1, 0);
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("ef", 2), 100, 0, &lay0), 0);
	sc_hls_seg_queued(&s, 2, 0);
	sc_hls_seg_written(&s, 1, -ENOSPC);
	write_file(hf_tmpdir, "1.2.m4s", (const sc_blob *const *)&s.blobs[2], 1);
	sc_hls_seg_written(&s, 2, 0);
	assert_int_equal(s.where[0], SC_HLS_PART_FAILED);
	assert_int_equal(s.where[1], SC_HLS_PART_FAILED);
	assert_int_equal(s.where[2], SC_HLS_PART_FILE);
	assert_int_equal(sc_hls_seg_held(&s), 2);
	check_open(&s, "1.0.m4s", 0, "ab", 0);
	check_open(&s, "1.1.m4s", 1, "cd", 0);
	check_open(&s, "1.2.m4s", 2, "ef", 1);
	/* The segment written: from its file; failed parts still in memory. */
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "1.m4s", -1, &body), -EAGAIN);
	write_file(hf_tmpdir, "1.m4s", (const sc_blob *const *)s.blobs, 2);
	sc_hls_seg_written(&s, -1, 0);
	assert_int_equal(s.seg_pending, 0);
	assert_int_equal(s.written, 1);
	assert_int_equal(sc_hls_seg_held(&s), 2);
	check_open(&s, "1.m4s", -1, "abcd", 1);
	check_open(&s, "1.0.m4s", 0, "ab", 0);
	sc_hls_seg_clear(&s);

	/* The segment file failed, its parts were written: the parts from
	 * their files, the segment is gone. */
	s = (sc_hls_seg){.msn = 2};
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("ef", 2), 100, 1, &lay0), 0);
	sc_hls_seg_queued(&s, 0, 0);
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, 0);
	write_file(hf_tmpdir, "2.0.m4s", (const sc_blob *const *)&s.blobs[0], 1);
	sc_hls_seg_written(&s, 0, 0);
	sc_hls_seg_written(&s, -1, -ENOSPC);
	assert_int_equal(s.written, 0);
	check_open(&s, "2.0.m4s", 0, "ef", 1);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "2.m4s", -1, &body), -ENOENT);
	sc_hls_seg_clear(&s);

	/* Both refused (memory only): everything from memory. */
	s = (sc_hls_seg){.msn = 4};
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("gh", 2), 100, 1, &lay0), 0);
	sc_hls_seg_queued(&s, 0, -ENOBUFS);
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, -ENOBUFS);
	check_open(&s, "4.m4s", -1, "gh", 0);
	sc_hls_seg_clear(&s);

	/* Bounds. */
	s = (sc_hls_seg){.msn = 3};
	for (int i = 0; i < SC_HLS_MAX_PARTS; i++)
		assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("x", 1), 1, 0, &lay0), 0);
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("x", 1), 1, 0, &lay0), -ENOBUFS);
	assert_int_equal(sc_hls_seg_add(&s, NULL, 1, 0, NULL), -EINVAL);
	sc_hls_seg_clear(&s);
	hf_rm_tmpdir();
}

/* A spooled part has no blob: a request waits while its file is being
 * made, then gets the file; one whose file failed is gone. */
static void test_seg_spooled(void **state)
{
	sc_hls_seg s = {.msn = 5};
	sc_hls_body *body = NULL;
	sc_blob *b = sc_blob_new("spooled", 7);

	(void)state;
	hf_make_tmpdir();
	assert_int_equal(sc_hls_seg_add(&s, NULL, 333, 1, &lay0), 0);
	sc_hls_seg_queued(&s, 0, 0);
	assert_int_equal(sc_hls_seg_add(&s, NULL, 333, 0, &lay0), 0);
	sc_hls_seg_queued(&s, 1, 0);
	assert_int_equal(sc_hls_seg_add(&s, NULL, 333, 0, &lay0), 0);
	sc_hls_seg_queued(&s, 2, -ENOBUFS);
	assert_int_equal(sc_hls_seg_held(&s), 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "5.0.m4s", 0, &body), -EAGAIN);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "5.2.m4s", 2, &body), -ENOENT);
	write_file(hf_tmpdir, "5.0.m4s", (const sc_blob *const *)&b, 1);
	sc_hls_seg_written(&s, 0, 0);
	check_open(&s, "5.0.m4s", 0, "spooled", 1);
	sc_hls_seg_written(&s, 1, -EIO);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "5.1.m4s", 1, &body), -ENOENT);
	/* The segment: waits for its file, then from it. */
	s.complete = 1;
	sc_hls_seg_queued(&s, -1, 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "5.m4s", -1, &body), -EAGAIN);
	write_file(hf_tmpdir, "5.m4s", (const sc_blob *const *)&b, 1);
	sc_hls_seg_written(&s, -1, 0);
	check_open(&s, "5.m4s", -1, "spooled", 1);
	sc_hls_seg_clear(&s);
	sc_blob_unref(b);
	hf_rm_tmpdir();
}

/* ---- a whole stream ---- */

static void test_stream(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	char path[512];
	sc_hls_stats st;
	uv_loop_t loop, mloop;
	int64_t last;
	sc_hls *h, *hm;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	h = hf_hls_new(&loop, &cfg, "p");
	cfg.dir = NULL;
	hm = hf_hls_new(&mloop, &cfg, "p"); /* the bytes the files must hold */
	hf_run_loop_to_idle(&loop);	    /* the first clean-up is done */
	/* Segment 1's file cannot be written (a folder of that name). */
	snprintf(path, sizeof(path), "%s/p/1.m4s", hf_tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);

	hf_feed_range(h, 0, hf_ntags * 3 / 4, 0, 1, 1, 0);
	hf_feed_range(hm, 0, hf_ntags * 3 / 4, 0, 1, 1, 0);
	sc_hls_get_stats(h, &st);
	last = st.last_msn;
	assert_true(last >= 1 && last < 6);
	/* Before the files are reported made: requests wait. */
	{
		char name[64];
		sc_hls_body *body = NULL;

		snprintf(name, sizeof(name), "%" PRId64 ".0.m4s", last + 1);
		assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
		assert_int_equal(sc_hls_open(h, "0.m4s", &body), -EAGAIN);
	}
	hf_run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_true(st.write_errors >= 1);
	/* Written: from disk with the twin's bytes. Segment 1's file failed and
	 * its parts are on disk: it is gone, its parts are served. */
	for (int64_t m = 0; m <= last; m++) {
		int disk = -1;
		sc_blob *want;

		if (m != 1) {
			want = hf_seg_from(hm, m, 0);
			hf_check_seg(h, m, want, 1);
			sc_blob_unref(want);
			continue;
		}
		assert_null(hf_get_seg(h, m, &disk));
		sc_blob_unref(hf_get_from(h, "1.0.m4s", &disk));
		assert_int_equal(disk, 1);
	}
	/* The open segment's parts are served from their files; the next one
	 * is the preload hint. */
	{
		char name[64];
		sc_hls_body *body = NULL;
		int disk = -1, n = 0;
		sc_blob *b;

		for (;; n++) {
			snprintf(name, sizeof(name), "%" PRId64 ".%d.m4s", last + 1, n);
			b = hf_get_from(h, name, &disk);
			if (!b)
				break;
			assert_int_equal(disk, 1);
			sc_blob_unref(b);
			snprintf(path, sizeof(path), "%s/p/%s", hf_tmpdir, name);
			assert_int_equal(access(path, F_OK), 0);
		}
		assert_true(n > 0);
		assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
		snprintf(name, sizeof(name), "%" PRId64 ".m4s", last + 1);
		assert_int_equal(sc_hls_open(h, name, &body), -ENOENT);
	}
	sc_hls_end(h);
	hf_run_loop_to_idle(&loop);
	sc_blob_unref(hf_seg_from(h, last + 1, 1));
	hf_hls_free(h, &loop);
	hf_hls_free(hm, &mloop);
	hf_rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seg_lifecycle),
		cmocka_unit_test(test_seg_failures),
		cmocka_unit_test(test_seg_spooled),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, hf_group_setup, hf_group_teardown);
}
