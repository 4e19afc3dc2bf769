/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls_parts.c - where the parts of a kept HLS segment are served
 * from: memory while it is open and until every file of it is written,
 * then its files (same bytes); memory for good once a write failed or was
 * refused. First sc_hls_seg on its own, then a whole sc_hls fed with
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
		assert_int_equal(sc_hls_seg_add(&s, sc_blob_ref(blobs[i]), 333, i == 0), 0);
		sc_hls_seg_queued(&s, 0); /* 7.i.m4s */
	}
	assert_int_equal(s.nparts, 3);
	assert_int_equal(s.parts[0].independent, 1);
	assert_int_equal(s.parts[1].dur_ms, 333);
	/* Open: parts from memory, no segment, nothing past the end. */
	check_open(&s, "7.1.m4s", 1, txt[1], 0);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "7.m4s", -1, &body), -ENOENT);
	assert_int_equal(sc_hls_seg_open(&s, hf_tmpdir, "7.3.m4s", 3, &body), -ENOENT);
	/* Part files written before the segment completes: still kept. */
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "7.%d.m4s", i);
		write_file(hf_tmpdir, name, (const sc_blob *const *)&blobs[i], 1);
		sc_hls_seg_written(&s, 0, 0);
	}
	assert_int_equal(sc_hls_seg_release(&s), 0);
	/* Complete, its file queued: served from memory until it is written
	 * (a request in between gets the parts). */
	s.complete = 1;
	sc_hls_seg_queued(&s, 0);
	assert_int_equal(sc_hls_seg_release(&s), 0);
	check_open(&s, "7.m4s", -1, "part zero|part one, longer|2", 0);
	write_file(hf_tmpdir, "7.m4s", (const sc_blob *const *)blobs, 3);
	sc_hls_seg_written(&s, 1, 0);
	assert_int_equal(sc_hls_seg_release(&s), 1);
	assert_int_equal(s.in_memory, 0);
	assert_int_equal(sc_hls_seg_release(&s), 0);
	/* Only our references are left: the blobs went. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&blobs[i]->refs), 1);
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
	for (int i = 0; i < 3; i++)
		sc_blob_unref(blobs[i]);
	hf_rm_tmpdir();
}

/* A failed or refused write keeps the blobs: served from memory. */
static void test_seg_failures(void **state)
{
	sc_hls_seg s = {.msn = 1};

	(void)state;
	hf_make_tmpdir();
	/* A part write refused (queue full). */
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("ab", 2), 100, 1), 0);
	sc_hls_seg_queued(&s, -ENOBUFS);
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("cd", 2), 100, 0), 0);
	sc_hls_seg_queued(&s, 0);
	s.complete = 1;
	sc_hls_seg_queued(&s, 0);
	sc_hls_seg_written(&s, 0, 0);
	sc_hls_seg_written(&s, 1, 0);
	assert_int_equal(s.pending, 0);
	assert_int_equal(sc_hls_seg_release(&s), 0);
	check_open(&s, "1.m4s", -1, "abcd", 0);
	check_open(&s, "1.0.m4s", 0, "ab", 0);
	sc_hls_seg_clear(&s);

	/* The segment file failed, its parts were written. */
	s = (sc_hls_seg){.msn = 2};
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("ef", 2), 100, 1), 0);
	sc_hls_seg_queued(&s, 0);
	s.complete = 1;
	sc_hls_seg_queued(&s, 0);
	sc_hls_seg_written(&s, 0, 0);
	sc_hls_seg_written(&s, 1, -ENOSPC);
	assert_int_equal(s.written, 0);
	assert_int_equal(sc_hls_seg_release(&s), 0);
	check_open(&s, "2.0.m4s", 0, "ef", 0);
	check_open(&s, "2.m4s", -1, "ef", 0);
	sc_hls_seg_clear(&s);

	/* Bounds. */
	s = (sc_hls_seg){.msn = 3};
	for (int i = 0; i < SC_HLS_MAX_PARTS; i++)
		assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("x", 1), 1, 0), 0);
	assert_int_equal(sc_hls_seg_add(&s, sc_blob_new("x", 1), 1, 0), -ENOBUFS);
	assert_int_equal(sc_hls_seg_add(&s, NULL, 1, 0), -EINVAL);
	sc_hls_seg_clear(&s);
	hf_rm_tmpdir();
}

/* ---- a whole stream ---- */

static void test_stream(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	char path[512];
	sc_blob *mem[8] = {NULL};
	sc_hls_stats st;
	uv_loop_t loop;
	int64_t last;
	sc_hls *h;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	h = hf_hls_new(&loop, &cfg, "p");
	/* Segment 1's file cannot be written (a folder of that name). */
	snprintf(path, sizeof(path), "%s/p/1.m4s", hf_tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	hf_run_loop_to_idle(&loop); /* the first clean-up is done */

	hf_feed_range(h, 0, hf_ntags * 3 / 4, 0, 1, 1, 0);
	sc_hls_get_stats(h, &st);
	last = st.last_msn;
	assert_true(last >= 1 && last < 6);
	/* Before the writes are reported: all in memory. */
	for (int64_t m = 0; m <= last; m++)
		mem[m] = hf_seg_from(h, m, 0);
	hf_run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_true(st.write_errors >= 1);
	/* Written: from disk with the same bytes; 1 failed: from memory. */
	for (int64_t m = 0; m <= last; m++)
		hf_check_seg(h, m, mem[m], m != 1);
	/* The open segment's parts stay in memory although their files are
	 * written; the next one is the preload hint. */
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
			assert_int_equal(disk, 0);
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
	for (size_t i = 0; i < 8; i++)
		sc_blob_unref(mem[i]);
	hf_hls_free(h, &loop);
	hf_rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seg_lifecycle),
		cmocka_unit_test(test_seg_failures),
		cmocka_unit_test(test_stream),
	};

	return cmocka_run_group_tests(tests, hf_group_setup, hf_group_teardown);
}
