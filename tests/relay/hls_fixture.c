/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hls_fixture.c - see hls_fixture.h.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hls_fixture.h"

struct hf_tag hf_tags[4096];
size_t hf_ntags;
char hf_tmpdir[256];

static uint8_t *flv;

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A tiny FLV reader: header, then tags with their back pointers. */
int hf_load_flv(void)
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
	flv = n > 0 ? malloc((size_t)n) : NULL;
	len = flv ? fread(flv, 1, (size_t)n, f) : 0;
	fclose(f);
	if (len < 13 || memcmp(flv, "FLV", 3) != 0)
		return -EINVAL;
	off = ((size_t)flv[5] << 24 | (size_t)flv[6] << 16 | (size_t)flv[7] << 8 | flv[8]) + 4;
	while (off + 11 <= len && hf_ntags < sizeof(hf_tags) / sizeof(hf_tags[0])) {
		const uint8_t *t = flv + off;
		size_t dlen = (size_t)t[1] << 16 | (size_t)t[2] << 8 | t[3];

		if (off + 11 + dlen > len)
			break;
		hf_tags[hf_ntags++] = (struct hf_tag){
			.type = t[0] & 0x1f,
			.ts = (uint32_t)t[7] << 24 | (uint32_t)t[4] << 16 | (uint32_t)t[5] << 8 |
			      t[6],
			.len = dlen,
			.data = t + 11,
		};
		off += 11 + dlen + 4;
	}
	return hf_ntags > 100 ? 0 : -EINVAL;
}

void hf_free_flv(void)
{
	free(flv);
	flv = NULL;
	hf_ntags = 0;
}

int hf_group_setup(void **state)
{
	(void)state;
	if (hf_load_flv() < 0) {
		fprintf(stderr, "cannot read av_4s.flv (set SC_TEST_DATA)\n");
		return -1;
	}
	return 0;
}

int hf_group_teardown(void **state)
{
	(void)state;
	hf_free_flv();
	return 0;
}

int64_t hf_pass_ms(void)
{
	return ((int64_t)hf_tags[hf_ntags - 1].ts / 1000 + 1) * 1000;
}

void hf_make_tmpdir(void)
{
	snprintf(hf_tmpdir, sizeof(hf_tmpdir), "/tmp/sc-test-hls-XXXXXX");
	assert_non_null(mkdtemp(hf_tmpdir));
}

void hf_rm_tmpdir(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hf_tmpdir);
	assert_int_equal(system(cmd), 0);
}

void hf_run_loop_to_idle(uv_loop_t *loop)
{
	while (uv_run(loop, UV_RUN_DEFAULT) != 0)
		;
}

sc_hls *hf_hls_new(uv_loop_t *loop, const sc_hls_config *cfg, const char *name)
{
	char err[256] = "";
	sc_hls *h;

	assert_int_equal(uv_loop_init(loop), 0);
	h = sc_hls_new(loop, cfg, name, err, sizeof(err));
	if (!h)
		fail_msg("sc_hls_new: %s", err);
	return h;
}

void hf_hls_free(sc_hls *h, uv_loop_t *loop)
{
	sc_hls_free(h);
	hf_run_loop_to_idle(loop);
	assert_int_equal(uv_loop_close(loop), 0);
}

int hf_feed(sc_hls *h, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	char err[256] = "";
	sc_media *m = sc_media_new(type, ts, p, len);
	int rc;

	assert_non_null(m);
	rc = sc_hls_write(h, m, err, sizeof(err));
	if (rc < 0)
		assert_true(err[0] != '\0');
	sc_media_unref(m);
	return rc;
}

void hf_feed_range(sc_hls *h, size_t from, size_t to, int64_t shift, int audio, int video,
		   int realtime)
{
	uint64_t t0 = mono_us();

	for (size_t i = from; i < to && i < hf_ntags; i++) {
		const struct hf_tag *t = &hf_tags[i];

		if ((t->type == 8 && !audio) || (t->type == 9 && !video) ||
		    (t->type != 8 && t->type != 9))
			continue;
		if (realtime) {
			uint64_t due = t0 + (uint64_t)t->ts * 1000u;
			uint64_t now = mono_us();

			if (due > now)
				usleep((useconds_t)(due - now));
		}
		assert_int_equal(hf_feed(h, t->type, (uint32_t)(t->ts + shift), t->data, t->len),
				 0);
	}
}

sc_blob *hf_body_bytes(sc_hls_body *body, int *ret_disk)
{
	sc_blob *b = NULL;

	if (body->fd >= 0)
		assert_int_equal(body->nblobs, 0);
	else
		assert_true(body->nblobs > 0);
	assert_int_equal(sc_hls_body_read(body, &b), 0);
	assert_int_equal(b->len, body->len);
	if (ret_disk)
		*ret_disk = body->fd >= 0;
	sc_hls_body_free(body);
	return b;
}

sc_blob *hf_get_from(sc_hls *h, const char *file, int *ret_disk)
{
	sc_hls_body *body = NULL;

	if (sc_hls_open(h, file, &body) < 0)
		return NULL;
	assert_non_null(body->mime);
	return hf_body_bytes(body, ret_disk);
}

sc_blob *hf_get_seg(sc_hls *h, int64_t msn, int *ret_disk)
{
	char name[64];
	size_t sum = 0;
	sc_blob *seg, *b;

	snprintf(name, sizeof(name), "%" PRId64 ".m4s", msn);
	seg = hf_get_from(h, name, ret_disk);
	if (!seg)
		return NULL;
	for (int pi = 0;; pi++) {
		int from_disk = -1;

		snprintf(name, sizeof(name), "%" PRId64 ".%d.m4s", msn, pi);
		b = hf_get_from(h, name, &from_disk);
		if (!b)
			break;
		/* A part in memory: its own write failed or is not reported. */
		if (!*ret_disk)
			assert_int_equal(from_disk, 0);
		assert_true(sum + b->len <= seg->len);
		assert_memory_equal(seg->data + sum, b->data, b->len);
		sum += b->len;
		sc_blob_unref(b);
	}
	assert_int_equal(sum, seg->len);
	return seg;
}

sc_blob *hf_seg_from(sc_hls *h, int64_t msn, int want_disk)
{
	int from_disk = -1;
	sc_blob *b = hf_get_seg(h, msn, &from_disk);

	assert_non_null(b);
	assert_int_equal(from_disk, want_disk);
	return b;
}

void hf_check_seg(sc_hls *h, int64_t msn, const sc_blob *want, int want_disk)
{
	sc_blob *b = hf_seg_from(h, msn, want_disk);

	assert_int_equal(b->len, want->len);
	assert_memory_equal(b->data, want->data, b->len);
	sc_blob_unref(b);
}
