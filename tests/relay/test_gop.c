/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_gop.c - the key frame cache (relay/gop.c) with a real HLS output:
 * tests/relay/data/av_4s.flv is fed to both, as the stream does, and at
 * many points a newcomer's replay must give exactly the messages since the
 * last key frame (type, time, bytes), whether they are still in memory,
 * only in parts held in memory, or only on disk (part files, or the spools
 * of the part still open), and also
 * when the GOP outlasts the segments of its parts (audio-driven HLS with a
 * small window). A part file that is gone drops the cache instead of
 * giving a broken GOP.
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

#include "gop.h"
#include "hls_fixture.h"

#define MAX_GOP (8u << 20)

/* What a newcomer got. */
struct got {
	size_t n;
	const sc_media *m[1024];
};

static void collect(void *ud, sc_media *m)
{
	struct got *g = ud;

	assert_true(g->n < 1024);
	g->m[g->n++] = m;
}

/* The cache and the HLS output it reads back from, as in a stream. */
struct pair {
	sc_gop g;
	sc_hls *h;
};

static void on_part(void *ud, int64_t msn, int64_t part, const sc_hls_frame_at *frames, size_t n)
{
	struct pair *p = ud;

	sc_gop_in_part(&p->g, msn, part, frames, n);
}

static void on_drop(void *ud, int64_t msn)
{
	struct pair *p = ud;
	int64_t part = -1;

	assert_int_equal(sc_gop_segment_gone(&p->g, p->h, msn, &part), 0);
}

static int is_seqhdr(const struct hf_tag *t)
{
	return (t->type == 9 && t->len > 1 && t->data[1] == 0) ||
	       (t->type == 8 && t->len > 1 && t->data[1] == 0);
}

static int is_key(const struct hf_tag *t)
{
	return t->type == 9 && t->len > 0 && (t->data[0] >> 4) == 1 && !is_seqhdr(t);
}

/* Each tag's message arrives a millisecond after the one before, from
 * here: a rebuilt message must carry its arrival time again. */
static uint64_t arrival_of(const struct hf_tag *t)
{
	return 5000000 + (uint64_t)(t - hf_tags) * 1000;
}

/* One message to the cache (unless a sequence header) and, if to_hls, to
 * the HLS output, as the stream does. */
static void feed(struct pair *p, const struct hf_tag *t, int to_hls)
{
	sc_media *m = sc_media_new(t->type, t->ts, t->data, t->len);
	char err[128];

	assert_non_null(m);
	m->arrival_us = arrival_of(t);
	if (!is_seqhdr(t))
		sc_gop_add(&p->g, m, MAX_GOP);
	if (to_hls)
		assert_int_equal(sc_hls_write(p->h, m, err, sizeof(err)), 0);
	sc_media_unref(m);
}

/* The replay matches tags [first, last]: the messages since the key frame. */
static void check_replay(sc_gop *g, sc_hls *h, size_t first, size_t last)
{
	int64_t msn = -1, part = -1;
	struct got got = {0};
	size_t k = 0;

	assert_int_equal(sc_gop_replay(g, h, collect, &got, &msn, &part), 0);
	for (size_t i = first; i <= last; i++) {
		const struct hf_tag *t = &hf_tags[i];

		if (is_seqhdr(t) || (t->type != 8 && t->type != 9))
			continue;
		assert_true(k < got.n);
		assert_int_equal(got.m[k]->type, t->type);
		assert_int_equal(got.m[k]->ts, t->ts);
		assert_int_equal(got.m[k]->len, t->len);
		assert_memory_equal(got.m[k]->data, t->data, t->len);
		assert_int_equal(got.m[k]->arrival_us, arrival_of(t));
		k++;
	}
	assert_int_equal(k, got.n);
	assert_int_equal(g->in_parts, 0); /* all rebuilt, and kept */
}

struct run_opts {
	const char *dir;
	size_t every;	/* replay after every `every` tags ... */
	int before_key; /* ... or (1) only just before each key frame */
	int disk;	/* run the loop first: 1 until idle (parts only in files),
			 * 2 one turn (some parts still being made) */
	int plain;	/* no LL-HLS: a segment is one part */
	int audio_hls;	/* HLS gets only the audio: it cuts on time */
	int64_t target; /* segment target, ms */
	int window;	/* segments in the playlist */
};

/* Feeds the whole file and replays as o says. Returns how many replays
 * found messages only in parts. */
static int run(const struct run_opts *o)
{
	sc_hls_config cfg = {.dir = o->dir,
			     .target_ms = o->target ? o->target : 1000,
			     .part_ms = o->plain ? 0 : 100,
			     .spool_rotate = 64 << 10, /* new spool files often */
			     .window = o->window ? o->window : 6};
	struct pair p = {{0}};
	size_t key = SIZE_MAX;
	int from_parts = 0;
	uv_loop_t loop;

	cfg.on_part = on_part;
	cfg.on_drop = on_drop;
	cfg.userdata = &p;
	p.h = hf_hls_new(&loop, &cfg, "g1");
	for (size_t i = 0; i < hf_ntags; i++) {
		const struct hf_tag *t = &hf_tags[i];
		int replay;

		feed(&p, t, !o->audio_hls || t->type == 8);
		if (is_key(t))
			key = i;
		if (o->before_key)
			replay = i + 1 < hf_ntags && is_key(&hf_tags[i + 1]);
		else
			replay = (i + 1) % o->every == 0;
		if (key != SIZE_MAX && replay) {
			if (o->disk == 1)
				hf_run_loop_to_idle(&loop);
			else if (o->disk == 2)
				uv_run(&loop, UV_RUN_ONCE);
			from_parts += p.g.in_parts > 0;
			check_replay(&p.g, p.h, key, i);
		}
	}
	assert_true(p.g.loads > 0 || !from_parts);
	sc_gop_free(&p.g);
	hf_hls_free(p.h, &loop);
	return from_parts;
}

static void test_replay_memory(void **state)
{
	int n7, n1;

	(void)state;
	/* Memory only: the parts hold the bytes, the cache only where. */
	n7 = run(&(struct run_opts){.every = 7});
	n1 = run(&(struct run_opts){.every = 1});
	printf("replays that found messages only in parts: %d (every 7 tags), %d (every tag)\n", n7,
	       n1);
	assert_true(n7 >= 30); /* 40 parts in 4 s */
	assert_true(n1 >= 30);
}

static void test_replay_disk(void **state)
{
	int n;

	(void)state;
	hf_make_tmpdir();
	/* Without running the loop no frame is reported spooled: the cache
	 * keeps every message. */
	n = run(&(struct run_opts){.dir = hf_tmpdir, .every = 5});
	assert_int_equal(n, 0);
	/* With it: the messages are only in part files, or in the spools of
	 * the part still open (frames under 4 KB wait for company before they
	 * are written, so fewer replays find them there). */
	n = run(&(struct run_opts){.dir = hf_tmpdir, .every = 5, .disk = 1});
	printf("replays that read part files: %d\n", n);
	assert_true(n >= 30);
	n = run(&(struct run_opts){.dir = hf_tmpdir, .every = 1, .disk = 1});
	printf("replays after every tag that read back: %d\n", n);
	assert_true(n >= 30);
	/* One turn of the loop per replay: parts whose files are still being
	 * made are read from their spools (or from the file just renamed). */
	n = run(&(struct run_opts){.dir = hf_tmpdir, .every = 1, .disk = 2});
	printf("replays one loop turn after each tag that read back: %d\n", n);
	assert_true(n >= 30);
	/* Without LL-HLS: the spools are the segment's, then its file. */
	n = run(&(struct run_opts){.dir = hf_tmpdir, .every = 3, .disk = 1, .plain = 1});
	printf("replays without LL-HLS that read back: %d\n", n);
	assert_true(n >= 30);
	hf_rm_tmpdir();
}

/* A GOP that outlasts its parts' segments: audio-driven HLS cuts 200 ms
 * segments and keeps 1 (+2) of them, the 1 s GOP spans five; replays come
 * only at its end, when its first parts' segments are long gone. */
static void test_replay_long_gop(void **state)
{
	int n;

	(void)state;
	hf_make_tmpdir();
	n = run(&(struct run_opts){.before_key = 1, .audio_hls = 1, .target = 200, .window = 1});
	assert_true(n >= 3);
	n = run(&(struct run_opts){.dir = hf_tmpdir,
				   .before_key = 1,
				   .disk = 1,
				   .audio_hls = 1,
				   .target = 200,
				   .window = 1});
	assert_true(n >= 3);
	hf_rm_tmpdir();
}

/* A part file that vanished: no broken GOP, the cache is dropped until the
 * next key frame, and the HLS output is unaffected. */
static void test_part_gone(void **state)
{
	sc_hls_config cfg = {.target_ms = 1000, .part_ms = 333, .window = 6};
	int64_t msn = -1, part = -1;
	struct got got = {0};
	struct pair p = {{0}};
	char cmd[512];
	uv_loop_t loop;
	size_t i;

	(void)state;
	hf_make_tmpdir();
	cfg.dir = hf_tmpdir;
	cfg.on_part = on_part;
	cfg.userdata = &p;
	p.h = hf_hls_new(&loop, &cfg, "g2");
	/* Up to a little past the second key frame's first parts. */
	for (i = 0; i < hf_ntags && !(p.g.in_parts > 0 && hf_tags[i].ts > 1500); i++) {
		feed(&p, &hf_tags[i], 1);
		hf_run_loop_to_idle(&loop); /* the spooled frames are reported */
	}
	assert_true(i < hf_ntags);
	hf_run_loop_to_idle(&loop);
	assert_true(p.g.in_parts > 0);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/g2/*.*.m4s", hf_tmpdir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sc_gop_replay(&p.g, p.h, collect, &got, &msn, &part), -ENOENT);
	assert_int_equal(msn, 1);
	assert_int_equal(part, 0);
	assert_int_equal(got.n, 0);
	assert_int_equal(p.g.n, 0);
	/* Nothing is cached again before the next key frame. */
	for (; i < hf_ntags && !is_key(&hf_tags[i]); i++) {
		feed(&p, &hf_tags[i], 0);
		assert_int_equal(p.g.n, 0);
	}
	sc_gop_free(&p.g);
	hf_hls_free(p.h, &loop);
	hf_rm_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_memory),
		cmocka_unit_test(test_replay_disk),
		cmocka_unit_test(test_replay_long_gop),
		cmocka_unit_test(test_part_gone),
	};

	return cmocka_run_group_tests(tests, hf_group_setup, hf_group_teardown);
}
