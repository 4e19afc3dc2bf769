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

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sc-test-hls-parts-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

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

/* A body's bytes in one blob; *ret_disk: 1 if they came from a file. */
static sc_blob *body_bytes(sc_hls_body *body, int *ret_disk)
{
	sc_blob *b = sc_blob_new(NULL, (size_t)body->len);
	size_t off = 0;

	assert_non_null(b);
	if (body->fd >= 0) {
		assert_int_equal(body->nblobs, 0);
		while (off < b->len) {
			ssize_t n = pread(body->fd, b->data + off, b->len - off, (off_t)off);

			assert_true(n > 0);
			off += (size_t)n;
		}
	} else {
		for (size_t i = 0; i < body->nblobs; i++) {
			memcpy(b->data + off, body->blobs[i]->data, body->blobs[i]->len);
			off += body->blobs[i]->len;
		}
		assert_int_equal(off, b->len);
	}
	*ret_disk = body->fd >= 0;
	sc_hls_body_free(body);
	return b;
}

/* Opens part (or the segment, part < 0) of s; checks the bytes against
 * want and where they came from. */
static void check_open(const sc_hls_seg *s, const char *file, int64_t part, const char *want,
		       int want_disk)
{
	sc_hls_body *body = NULL;
	int disk = -1;
	sc_blob *b;

	assert_int_equal(sc_hls_seg_open(s, tmpdir, file, part, &body), 0);
	b = body_bytes(body, &disk);
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
	make_tmpdir();
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
	assert_int_equal(sc_hls_seg_open(&s, tmpdir, "7.m4s", -1, &body), -ENOENT);
	assert_int_equal(sc_hls_seg_open(&s, tmpdir, "7.3.m4s", 3, &body), -ENOENT);
	/* Part files written before the segment completes: still kept. */
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "7.%d.m4s", i);
		write_file(tmpdir, name, (const sc_blob *const *)&blobs[i], 1);
		sc_hls_seg_written(&s, 0, 0);
	}
	assert_int_equal(sc_hls_seg_release(&s), 0);
	/* Complete, its file queued: served from memory until it is written
	 * (a request in between gets the parts). */
	s.complete = 1;
	sc_hls_seg_queued(&s, 0);
	assert_int_equal(sc_hls_seg_release(&s), 0);
	check_open(&s, "7.m4s", -1, "part zero|part one, longer|2", 0);
	write_file(tmpdir, "7.m4s", (const sc_blob *const *)blobs, 3);
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
	rm_tmpdir();
}

/* A failed or refused write keeps the blobs: served from memory. */
static void test_seg_failures(void **state)
{
	sc_hls_seg s = {.msn = 1};

	(void)state;
	make_tmpdir();
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
	rm_tmpdir();
}

/* ---- a whole stream ---- */

struct tag {
	uint8_t type;
	uint32_t ts;
	size_t len;
	const uint8_t *data;
};

static uint8_t *flv;
static struct tag tags[4096];
static size_t ntags;

static int load_flv(void)
{
	const char *dir = getenv("SC_TEST_DATA");
	char path[1024];
	size_t len, off;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/av_4s.flv", dir ? dir : "tests/relay/data");
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	flv = malloc((size_t)n);
	len = flv ? fread(flv, 1, (size_t)n, f) : 0;
	fclose(f);
	if (len < 13 || memcmp(flv, "FLV", 3) != 0)
		return -EINVAL;
	off = ((size_t)flv[5] << 24 | (size_t)flv[6] << 16 | (size_t)flv[7] << 8 | flv[8]) + 4;
	while (off + 11 <= len && ntags < sizeof(tags) / sizeof(tags[0])) {
		const uint8_t *t = flv + off;
		size_t dlen = (size_t)t[1] << 16 | (size_t)t[2] << 8 | t[3];

		if (off + 11 + dlen > len)
			break;
		tags[ntags++] = (struct tag){
			.type = t[0] & 0x1f,
			.ts = (uint32_t)t[7] << 24 | (uint32_t)t[4] << 16 | (uint32_t)t[5] << 8 |
			      t[6],
			.len = dlen,
			.data = t + 11,
		};
		off += 11 + dlen + 4;
	}
	return ntags > 100 ? 0 : -EINVAL;
}

static void feed_range(sc_hls *h, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < ntags; i++) {
		char err[256] = "";
		sc_media *m;

		if (tags[i].type != 8 && tags[i].type != 9)
			continue;
		m = sc_media_new(tags[i].type, tags[i].ts, tags[i].data, tags[i].len);
		assert_non_null(m);
		assert_int_equal(sc_hls_write(h, m, err, sizeof(err)), 0);
		sc_media_unref(m);
	}
}

static void run_loop_to_idle(uv_loop_t *loop)
{
	while (uv_run(loop, UV_RUN_DEFAULT) != 0)
		;
}

static sc_blob *get(sc_hls *h, const char *file, int *ret_disk)
{
	sc_hls_body *body = NULL;

	if (sc_hls_open(h, file, &body) < 0)
		return NULL;
	return body_bytes(body, ret_disk);
}

/* Segment msn: its bytes and where they came from; its parts come from the
 * same place and are the segment cut in pieces. */
static sc_blob *get_seg(sc_hls *h, int64_t msn, int *ret_disk)
{
	char name[64];
	size_t sum = 0;
	sc_blob *seg, *b;

	snprintf(name, sizeof(name), "%" PRId64 ".m4s", msn);
	seg = get(h, name, ret_disk);
	if (!seg)
		return NULL;
	for (int pi = 0;; pi++) {
		int disk = -1;

		snprintf(name, sizeof(name), "%" PRId64 ".%d.m4s", msn, pi);
		b = get(h, name, &disk);
		if (!b)
			break;
		assert_int_equal(disk, *ret_disk);
		assert_true(sum + b->len <= seg->len);
		assert_memory_equal(seg->data + sum, b->data, b->len);
		sum += b->len;
		sc_blob_unref(b);
	}
	assert_int_equal(sum, seg->len);
	return seg;
}

static void test_stream(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	char err[256] = "", path[512];
	sc_blob *mem[8] = {NULL};
	sc_hls_stats st;
	uv_loop_t loop;
	int64_t last;
	sc_hls *h;

	(void)state;
	make_tmpdir();
	assert_int_equal(uv_loop_init(&loop), 0);
	cfg.dir = tmpdir;
	h = sc_hls_new(&loop, &cfg, "p", err, sizeof(err));
	assert_non_null(h);
	/* Segment 1's file cannot be written (a folder of that name). */
	snprintf(path, sizeof(path), "%s/p/1.m4s", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	run_loop_to_idle(&loop); /* the first clean-up is done */

	feed_range(h, 0, ntags * 3 / 4);
	sc_hls_get_stats(h, &st);
	last = st.last_msn;
	assert_true(last >= 1 && last < 6);
	/* Before the writes are reported: all in memory. */
	for (int64_t m = 0; m <= last; m++) {
		int disk = -1;

		mem[m] = get_seg(h, m, &disk);
		assert_non_null(mem[m]);
		assert_int_equal(disk, 0);
	}
	run_loop_to_idle(&loop);
	sc_hls_get_stats(h, &st);
	assert_true(st.write_errors >= 1);
	/* Written: from disk with the same bytes; 1 failed: from memory. */
	for (int64_t m = 0; m <= last; m++) {
		int disk = -1;
		sc_blob *b = get_seg(h, m, &disk);

		assert_non_null(b);
		assert_int_equal(disk, m != 1);
		assert_int_equal(b->len, mem[m]->len);
		assert_memory_equal(b->data, mem[m]->data, b->len);
		sc_blob_unref(b);
	}
	/* The open segment's parts stay in memory although their files are
	 * written; the next one is the preload hint. */
	{
		char name[64];
		sc_hls_body *body = NULL;
		int disk = -1, n = 0;
		sc_blob *b;

		for (;; n++) {
			snprintf(name, sizeof(name), "%" PRId64 ".%d.m4s", last + 1, n);
			b = get(h, name, &disk);
			if (!b)
				break;
			assert_int_equal(disk, 0);
			sc_blob_unref(b);
			snprintf(path, sizeof(path), "%s/p/%s", tmpdir, name);
			assert_int_equal(access(path, F_OK), 0);
		}
		assert_true(n > 0);
		assert_int_equal(sc_hls_open(h, name, &body), -EAGAIN);
		snprintf(name, sizeof(name), "%" PRId64 ".m4s", last + 1);
		assert_int_equal(sc_hls_open(h, name, &body), -ENOENT);
	}
	sc_hls_end(h);
	run_loop_to_idle(&loop);
	{
		int disk = -1;
		sc_blob *b = get_seg(h, last + 1, &disk);

		assert_non_null(b);
		assert_int_equal(disk, 1);
		sc_blob_unref(b);
	}
	for (size_t i = 0; i < 8; i++)
		sc_blob_unref(mem[i]);
	sc_hls_free(h);
	run_loop_to_idle(&loop);
	assert_int_equal(uv_loop_close(&loop), 0);
	rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seg_lifecycle),
		cmocka_unit_test(test_seg_failures),
		cmocka_unit_test(test_stream),
	};
	int rc;

	if (load_flv() < 0) {
		fprintf(stderr, "cannot read av_4s.flv (set SC_TEST_DATA)\n");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(flv);
	return rc;
}
