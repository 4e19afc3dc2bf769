/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hls_disk.c - the HLS module's disk queue alone (hls_disk.c): its
 * bound, the clean-up of what an earlier run left, and spools and part
 * finishes (the bytes, the order, a failure sticking to its part).
 */
#include <errno.h>
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
#include "hls_fixture.h"

/* The disk queue drops past its bound, counts it, and the loop closes. */
static void test_disk_bound(void **state)
{
	uv_loop_t loop;
	sc_hls_disk *d;
	sc_blob *b = sc_blob_new("x", 1);
	uint64_t errors, drops;
	char name[32], path[512];
	int ok = 0;

	(void)state;
	hf_make_tmpdir();
	assert_int_equal(uv_loop_init(&loop), 0);
	d = sc_hls_disk_new(&loop, hf_tmpdir, 4, 1 << 20);
	assert_non_null(d);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "%d.m4s", i);
		ok += sc_hls_disk_write(d, name, b) == 0;
	}
	assert_int_equal(sc_hls_disk_write(d, "index.m3u8", b), -ENOBUFS);
	assert_int_equal(sc_hls_disk_write(d, "../x", b), -EINVAL);
	assert_int_equal(ok, 4);
	sc_hls_disk_stats(d, &errors, &drops);
	assert_int_equal(drops, 7);
	sc_hls_disk_close(d); /* frees itself once the queue is written */
	sc_blob_unref(b);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
	snprintf(path, sizeof(path), "%s/3.m4s", hf_tmpdir);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/4.m4s", hf_tmpdir);
	assert_int_equal(access(path, F_OK), -1);
	hf_rm_tmpdir();
}

/* Spools and finishes with the disk queue alone: a part is its header and
 * its ranges of both spool files, parts one after the other in them; a
 * frame that was not written fails its part even if later ones of that
 * part reach the spool (no part with a hole in it), and the next part
 * starts afresh; dropped spools leave nothing behind. */
struct spool_reports {
	int n, failed;
	int done_err;
	char done_file[64];
};

static void spool_done(void *ud, const char *file, int err)
{
	struct spool_reports *r = ud;

	snprintf(r->done_file, sizeof(r->done_file), "%s", file);
	r->done_err = err;
}

static void spool_spooled(void *ud, const char *file, int track, sc_media *m, size_t off,
			  uint32_t at, uint32_t tag, int err)
{
	struct spool_reports *r = ud;

	(void)file, (void)track, (void)m, (void)off, (void)at;
	assert_int_equal(tag, 7);
	r->n++;
	r->failed += err < 0;
}

/* Part file under hf_tmpdir, asserted to hold want. */
static void check_part(const char *file, const char *want)
{
	sc_hls_body *body;
	sc_blob *got;

	assert_int_equal(sc_hls_body_open(hf_tmpdir, file, "video/mp4", &body), 0);
	got = hf_body_bytes(body, NULL);
	assert_int_equal(got->len, strlen(want));
	assert_memory_equal(got->data, want, got->len);
	sc_blob_unref(got);
}

/* Makes an empty file dir/name. */
static void touch(const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static int exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

/* A new writer removes what an earlier run left (segments, parts, init
 * segments, playlists, temporaries and spools), however many there are,
 * and nothing else. */
static void test_disk_clean(void **state)
{
	static const char *const others[] = {"notes.txt", "1.m4s.bak",	 "a1.m4s",
					     "init.mp4",  "index.m3u8~", "12.ts"};
	char name[64];
	uv_loop_t loop;
	sc_hls_disk *d;

	(void)state;
	hf_make_tmpdir();
	/* 600 names: many more than one directory read returns. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%d.m4s", i);
		touch(hf_tmpdir, name);
		for (int p = 0; p < 3; p++) {
			snprintf(name, sizeof(name), "%d.%d.m4s", i, p);
			touch(hf_tmpdir, name);
		}
		snprintf(name, sizeof(name), ".tmp-v-spool-%d", i);
		touch(hf_tmpdir, name);
		snprintf(name, sizeof(name), "init-%d.mp4", i);
		touch(hf_tmpdir, name);
	}
	touch(hf_tmpdir, "index.m3u8");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		touch(hf_tmpdir, others[i]);

	assert_int_equal(uv_loop_init(&loop), 0);
	d = sc_hls_disk_new(&loop, hf_tmpdir, 8, 1 << 20);
	assert_non_null(d);
	hf_run_loop_to_idle(&loop);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "%d.m4s", i);
		assert_false(exists(hf_tmpdir, name));
		snprintf(name, sizeof(name), "%d.2.m4s", i);
		assert_false(exists(hf_tmpdir, name));
		snprintf(name, sizeof(name), ".tmp-v-spool-%d", i);
		assert_false(exists(hf_tmpdir, name));
		snprintf(name, sizeof(name), "init-%d.mp4", i);
		assert_false(exists(hf_tmpdir, name));
	}
	assert_false(exists(hf_tmpdir, "index.m3u8"));
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_true(exists(hf_tmpdir, others[i]));
	sc_hls_disk_close(d);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
	hf_rm_tmpdir();
}

static void test_disk_spool(void **state)
{
	static const uint8_t v1[] = {9, 1, 0, 0, 0, 'V', 'V'}, v2[] = {9, 1, 0, 0, 0, 'W'};
	static const uint8_t a1[] = {0xaf, 1, 'a', 'b', 'c'};
	sc_media *mv1 = sc_media_new(9, 0, v1, sizeof(v1)),
		 *mv2 = sc_media_new(9, 40, v2, sizeof(v2));
	sc_media *ma1 = sc_media_new(8, 0, a1, sizeof(a1));
	sc_blob *hdr = sc_blob_new("HDR", 3);
	struct spool_reports r = {0};
	uint64_t base[SC_HLS_SPOOLS] = {0, 0}, bytes[SC_HLS_SPOOLS] = {3, 3};
	char path[512], cmd[600];
	uv_loop_t loop;
	sc_hls_disk *d;

	(void)state;
	hf_make_tmpdir();
	assert_int_equal(uv_loop_init(&loop), 0);
	d = sc_hls_disk_new(&loop, hf_tmpdir, 8, 1 << 20);
	sc_hls_disk_set_done(d, spool_done, spool_spooled, &r);
	hf_run_loop_to_idle(&loop);

	/* A whole part: header, video spool, audio spool. */
	assert_int_equal(sc_hls_disk_spool(d, "1.0.m4s", "spool-0", 0, mv1, 5, 0, 0, 7), 0);
	assert_int_equal(sc_hls_disk_spool(d, "1.0.m4s", "spool-0", 1, ma1, 2, 0, 0, 7), 0);
	assert_int_equal(sc_hls_disk_spool(d, "1.0.m4s", "spool-0", 0, mv2, 5, 2, 2, 7), 0);
	assert_int_equal(sc_hls_disk_finish(d, "1.0.m4s", hdr, "spool-0", base, bytes), 0);
	/* The next one after it in the same files. */
	assert_int_equal(sc_hls_disk_spool(d, "1.1.m4s", "spool-0", 0, mv2, 5, 3, 0, 7), 0);
	assert_int_equal(sc_hls_disk_spool(d, "1.1.m4s", "spool-0", 1, ma1, 2, 3, 0, 7), 0);
	base[0] = base[1] = 3;
	bytes[0] = 1;
	assert_int_equal(sc_hls_disk_finish(d, "1.1.m4s", hdr, "spool-0", base, bytes), 0);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.failed, 0);
	assert_string_equal(r.done_file, "1.1.m4s");
	assert_int_equal(r.done_err, 0);
	check_part("1.0.m4s", "HDRVVWabc");
	check_part("1.1.m4s", "HDRWabc");

	/* New spool files that cannot be made for a part's first frame (a
	 * folder in the way), then could be for its second: the part still
	 * fails. The next part gets them. */
	snprintf(path, sizeof(path), "%s/.tmp-v-spool-1", hf_tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(sc_hls_disk_spool(d, "2.0.m4s", "spool-1", 0, mv1, 5, 0, 0, 7), 0);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.failed, 0); /* a small frame waits for company */
	sc_hls_disk_kick(d);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.failed, 1);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(sc_hls_disk_spool(d, "2.0.m4s", "spool-1", 0, mv2, 5, 2, 2, 7), 0);
	base[0] = base[1] = 0;
	bytes[0] = 3;
	bytes[1] = 0;
	assert_int_equal(sc_hls_disk_finish(d, "2.0.m4s", hdr, "spool-1", base, bytes), 0);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.failed, 2);
	assert_string_equal(r.done_file, "2.0.m4s");
	assert_int_equal(r.done_err, -EIO);
	snprintf(path, sizeof(path), "%s/2.0.m4s", hf_tmpdir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(sc_hls_disk_spool(d, "2.1.m4s", "spool-1", 0, mv2, 5, 3, 0, 7), 0);
	base[0] = 3;
	bytes[0] = 1;
	assert_int_equal(sc_hls_disk_finish(d, "2.1.m4s", hdr, "spool-1", base, bytes), 0);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.done_err, 0);
	check_part("2.1.m4s", "HDRW");

	/* A finish that wants more than its spool holds: refused. */
	assert_int_equal(sc_hls_disk_spool(d, "2.2.m4s", "spool-1", 0, mv1, 5, 4, 0, 7), 0);
	base[0] = 4;
	bytes[0] = 5;
	assert_int_equal(sc_hls_disk_finish(d, "2.2.m4s", hdr, "spool-1", base, bytes), 0);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(r.done_err, -EIO);

	/* The spools dropped: nothing of them is left. */
	assert_int_equal(sc_hls_disk_drop_spool(d, "spool-0"), 0);
	assert_int_equal(sc_hls_disk_drop_spool(d, "spool-1"), 0);
	hf_run_loop_to_idle(&loop);
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q '^\\.'", hf_tmpdir);
	assert_int_not_equal(system(cmd), 0);

	sc_hls_disk_close(d);
	hf_run_loop_to_idle(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
	sc_media_unref(mv1);
	sc_media_unref(mv2);
	sc_media_unref(ma1);
	sc_blob_unref(hdr);
	hf_rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_bound),
		cmocka_unit_test(test_disk_clean),
		cmocka_unit_test(test_disk_spool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
