/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store contract (store.h), run against any backend (this file and
 * test_store_more.c make one program):
 *
 *   SC_STORE_SPEC=etcd://127.0.0.1:2379 ./test_store
 *
 * Without SC_STORE_SPEC every test gets a new sqlite file in a temporary
 * directory ("fresh": the tests may also check what an empty store says).
 * With it, the store may hold data from earlier runs, so every id and lock
 * key carries this run's tag and lists are filtered to it. Tests that look
 * at sqlite itself are skipped for other backends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_store.h"

static const char *env_spec;
char test_tmpdir[64];
char test_run[16]; /* tags ids and keys of this run */
static int test_no;

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool is_sqlite(const fx *f)
{
	return strncmp(f->spec, "sqlite:", 7) == 0;
}

void store_open(fx *f)
{
	char err[512] = "";

	f->s = sc_store_open(f->spec, err, sizeof(err));
	if (!f->s)
		fail_msg("sc_store_open(%s): %s", f->spec, err);
	f->o = sc_store_ops_of(f->s);
	f->p = sc_store_priv(f->s);
}

void reopen(fx *f)
{
	sc_store_close(f->s);
	store_open(f);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	test_no++;
	if (env_spec) {
		snprintf(f->spec, sizeof(f->spec), "%s", env_spec);
	} else {
		snprintf(f->spec, sizeof(f->spec), "sqlite:%s/t%d.db", test_tmpdir, test_no);
		f->fresh = true;
	}
	store_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	sc_store_close(f->s);
	free(f);
	return 0;
}

/* "WHAT-RUN-N": an id of this run's test N (fits SC_ID_MAX for short WHAT),
 * so that no two tests share a stream or a key, even in a used store. */
void id_of(char *out, size_t len, const char *what)
{
	assert_true((size_t)snprintf(out, len, "%s-%s-%d", what, test_run, test_no) < len);
}

/* The lock key of name WHAT in this run. */
void key_of(char out[SC_KEY_HEX], const char *what)
{
	char name[128];

	snprintf(name, sizeof(name), "%s-%s-%d", what, test_run, test_no);
	sc_lock_key_name(name, out);
}

/* ---- locks and fences ---- */

int lock1(fx *f, const char *stream, const char *key, uint64_t *fence, char *holder)
{
	const char *keys[] = {key};

	return f->o->lock(f->p, stream, keys, 1, fence, holder, holder ? SC_ID_MAX : 0);
}

static void test_lock_all_or_nothing(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], c[SC_ID_MAX], holder[SC_ID_MAX] = "";
	char k1[SC_KEY_HEX], k2[SC_KEY_HEX], k3[SC_KEY_HEX];
	uint64_t fa = 0, fb = 77, fc = 0;

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	id_of(c, sizeof(c), "st-c");
	key_of(k1, "k1");
	key_of(k2, "k2");
	key_of(k3, "k3");
	assert_int_equal(lock1(f, a, k2, &fa, NULL), 0);
	assert_true(fa > 0);
	{
		const char *keys[] = {k1, k2, k3};

		/* B wants k1, k2, k3: k2 is A's, so B gets none of them. */
		assert_int_equal(f->o->lock(f->p, b, keys, 3, &fb, holder, sizeof(holder)), -EBUSY);
		assert_string_equal(holder, a);
		assert_int_equal(fb, 77); /* not written on failure */
	}
	/* k1 and k3 stayed free: C takes them one by one. */
	assert_int_equal(lock1(f, c, k1, &fc, NULL), 0);
	assert_int_equal(lock1(f, c, k3, &fc, NULL), 0);
	assert_int_equal(f->o->unlock(f->p, c), 0);
	assert_int_equal(f->o->unlock(f->p, a), 0);
	/* Now B gets all three in one go, with one fence. */
	{
		const char *keys[] = {k1, k2, k3};

		assert_int_equal(f->o->lock(f->p, b, keys, 3, &fb, NULL, 0), 0);
		assert_true(fb > fc && fb > fa);
		assert_int_equal(lock1(f, a, k3, &fa, holder), -EBUSY);
		assert_string_equal(holder, b);
	}
	assert_int_equal(f->o->unlock(f->p, b), 0);
	/* Bad arguments. */
	assert_int_equal(f->o->lock(f->p, a, NULL, 0, &fa, NULL, 0), -EINVAL);
}

static void test_lock_busy_names_holder(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], holder[SC_ID_MAX] = "";
	char kd[SC_KEY_HEX], kn[SC_KEY_HEX], dest[128];
	uint64_t fa = 0, fb = 0;

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	/* The keys the engine uses: destination and name. */
	snprintf(dest, sizeof(dest), "rtmp://ingest.example/live/%s", test_run);
	sc_lock_key_destination(dest, kd);
	key_of(kn, "talk");
	{
		const char *ka[] = {kd, kn};
		char kn2[SC_KEY_HEX];
		const char *kb[2] = {kd, kn2};

		key_of(kn2, "other-talk");
		assert_int_equal(f->o->lock(f->p, a, ka, 2, &fa, NULL, 0), 0);
		/* Same destination, other name: busy, A holds it. */
		assert_int_equal(f->o->lock(f->p, b, kb, 2, &fb, holder, sizeof(holder)), -EBUSY);
		assert_string_equal(holder, a);
		/* A short holder buffer is cut, not overrun. */
		{
			char small[4] = "xyz";

			assert_int_equal(f->o->lock(f->p, b, kb, 2, &fb, small, sizeof(small)),
					 -EBUSY);
			assert_int_equal(strncmp(small, a, 3), 0);
			assert_int_equal(small[3], '\0');
		}
		/* Holder may be NULL. */
		assert_int_equal(f->o->lock(f->p, b, kb, 2, &fb, NULL, 0), -EBUSY);
	}
	assert_int_equal(f->o->unlock(f->p, a), 0);
}

static void test_lock_reacquire_own(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], k1[SC_KEY_HEX], k2[SC_KEY_HEX], k3[SC_KEY_HEX];
	uint64_t f1 = 0, f2 = 0, f3 = 0;

	id_of(a, sizeof(a), "st-a");
	key_of(k1, "k1");
	key_of(k2, "k2");
	key_of(k3, "k3");
	{
		const char *keys[] = {k1, k2};
		const char *keys2[] = {k1, k3};

		assert_int_equal(f->o->lock(f->p, a, keys, 2, &f1, NULL, 0), 0);
		assert_int_equal(f->o->lock(f->p, a, keys, 2, &f2, NULL, 0), 0);
		assert_true(f2 > f1);
		/* Own k1 plus a free k3. */
		assert_int_equal(f->o->lock(f->p, a, keys2, 2, &f3, NULL, 0), 0);
		assert_true(f3 > f2);
	}
	assert_int_equal(f->o->unlock(f->p, a), 0);
}

static void test_fences_only_go_up(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], k[SC_KEY_HEX], other[SC_KEY_HEX];
	uint64_t last = 0, x = 0;
	int i;

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	key_of(k, "fenced");
	key_of(other, "elsewhere");
	for (i = 0; i < 20; i++) {
		const char *keys[] = {k};
		const char *id = i % 2 ? a : b;

		assert_int_equal(lock1(f, id, k, &x, NULL), 0);
		assert_true(x > last);
		last = x;
		assert_int_equal(f->o->refence(f->p, id, keys, 1, &x), 0);
		assert_true(x > last);
		last = x;
		/* Activity on another key does not hurt this one. */
		assert_int_equal(lock1(f, id, other, &x, NULL), 0);
		assert_int_equal(f->o->unlock(f->p, id), 0);
		if (i == 10) {
			/* Across a restart of the store. */
			reopen(f);
		}
	}
	reopen(f);
	assert_int_equal(lock1(f, a, k, &x, NULL), 0);
	assert_true(x > last);
	assert_int_equal(f->o->unlock(f->p, a), 0);
}

static void test_refence_only_by_holder(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], k1[SC_KEY_HEX], k2[SC_KEY_HEX], k3[SC_KEY_HEX];
	uint64_t fa = 0, x = 99;
	const char *both[] = {k1, k2}, *mixed[] = {k1, k3};

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	key_of(k1, "k1");
	key_of(k2, "k2");
	key_of(k3, "k3");
	assert_int_equal(f->o->lock(f->p, a, both, 2, &fa, NULL, 0), 0);
	assert_int_equal(f->o->refence(f->p, b, both, 2, &x), -ESTALE);
	assert_int_equal(f->o->refence(f->p, b, both + 1, 1, &x), -ESTALE);
	/* A holds k1 but not k3 (free): stale too, and k3 stays free. */
	assert_int_equal(f->o->refence(f->p, a, mixed, 2, &x), -ESTALE);
	assert_int_equal(x, 99);
	assert_int_equal(lock1(f, b, k3, &x, NULL), 0);
	assert_int_equal(f->o->unlock(f->p, b), 0);
	assert_int_equal(f->o->refence(f->p, a, both, 2, &x), 0);
	assert_true(x > fa);
	assert_int_equal(f->o->unlock(f->p, a), 0);
	/* After the release, A holds nothing. */
	assert_int_equal(f->o->refence(f->p, a, both, 2, &x), -ESTALE);
}

static void test_unlock_idempotent(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], k[SC_KEY_HEX];
	uint64_t x;

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	key_of(k, "k");
	assert_int_equal(lock1(f, a, k, &x, NULL), 0);
	assert_int_equal(f->o->unlock(f->p, a), 0);
	assert_int_equal(f->o->unlock(f->p, a), 0);
	assert_int_equal(f->o->unlock(f->p, "never-locked-anything"), 0);
	/* A second unlock by A must not release B's new hold. */
	assert_int_equal(lock1(f, b, k, &x, NULL), 0);
	assert_int_equal(f->o->unlock(f->p, a), 0);
	assert_int_equal(lock1(f, a, k, &x, NULL), -EBUSY);
	assert_int_equal(f->o->unlock(f->p, b), 0);
}

/* ---- streams ---- */

void stream_init(sc_stream_rec *s, const char *what, sc_stream_state st, int64_t created)
{
	memset(s, 0, sizeof(*s));
	id_of(s->id, sizeof(s->id), what);
	snprintf(s->name, sizeof(s->name), "%s", what);
	snprintf(s->conference, sizeof(s->conference), "janus://127.0.0.1:8088/1234");
	snprintf(s->destination_redacted, sizeof(s->destination_redacted),
		 "rtmp://ingest.example/live/***");
	s->destination_sealed = (char *)"c2VhbGVk";
	snprintf(s->profile, sizeof(s->profile), "720p30");
	snprintf(s->layout, sizeof(s->layout), "grid");
	s->state = st;
	snprintf(s->reason, sizeof(s->reason), "because %s", sc_stream_state_name(st));
	s->fence = 5;
	s->created_ms = created;
	s->updated_ms = created;
}

void assert_stream_equal(const sc_stream_rec *a, const sc_stream_rec *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->conference, b->conference);
	assert_string_equal(a->destination_redacted, b->destination_redacted);
	if (a->destination_sealed && b->destination_sealed)
		assert_string_equal(a->destination_sealed, b->destination_sealed);
	else
		assert_ptr_equal(a->destination_sealed, b->destination_sealed);
	assert_string_equal(a->profile, b->profile);
	assert_string_equal(a->layout, b->layout);
	assert_int_equal(a->state, b->state);
	assert_string_equal(a->reason, b->reason);
	assert_string_equal(a->instance, b->instance);
	assert_int_equal(a->fence, b->fence);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->updated_ms, b->updated_ms);
	assert_int_equal(a->stop_requested, b->stop_requested);
}

/* Index of id in v, or -1. */
static int find(const sc_stream_rec *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void test_streams(void **state)
{
	fx *f = *state;
	int64_t t = now_ms();
	sc_stream_rec a, b, c, got;
	sc_stream_rec *v = NULL;
	size_t n = 0;

	stream_init(&a, "st-a", SC_ST_PENDING, t + 1);
	stream_init(&b, "st-b", SC_ST_LIVE, t + 2);
	stream_init(&c, "st-c", SC_ST_STOPPED, t + 3);
	b.destination_sealed = NULL;
	snprintf(b.instance, sizeof(b.instance), "local-1");
	b.stop_requested = true;
	b.fence = UINT64_C(1) << 40;
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	assert_int_equal(f->o->stream_put(f->p, &b), 0);
	assert_int_equal(f->o->stream_put(f->p, &c), 0);

	assert_int_equal(f->o->stream_get(f->p, a.id, &got), 0);
	assert_stream_equal(&got, &a);
	free(got.destination_sealed);
	assert_int_equal(f->o->stream_get(f->p, b.id, &got), 0);
	assert_stream_equal(&got, &b);
	free(got.destination_sealed);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(f->o->stream_get(f->p, "st-nope", &got), -ENOENT);
	assert_int_equal((unsigned char)got.id[0], 0x5a);

	/* Update. */
	a.state = SC_ST_ASSIGNED;
	a.updated_ms = t + 10;
	a.fence = 6;
	snprintf(a.instance, sizeof(a.instance), "local-2");
	a.destination_sealed = (char *)"b3RoZXI=";
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	assert_int_equal(f->o->stream_get(f->p, a.id, &got), 0);
	assert_stream_equal(&got, &a);
	free(got.destination_sealed);

	/* All, newest first. */
	assert_int_equal(f->o->stream_list(f->p, false, &v, &n), 0);
	assert_true(find(v, n, a.id) >= 0 && find(v, n, b.id) >= 0 && find(v, n, c.id) >= 0);
	assert_true(find(v, n, c.id) < find(v, n, b.id));
	assert_true(find(v, n, b.id) < find(v, n, a.id));
	assert_stream_equal(&v[find(v, n, b.id)], &b);
	if (f->fresh)
		assert_int_equal(n, 3);
	sc_stream_recs_free(v, n);

	/* Active only: not stopped or failed. */
	c.state = SC_ST_FAILED;
	assert_int_equal(f->o->stream_put(f->p, &c), 0);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_true(find(v, n, a.id) >= 0 && find(v, n, b.id) >= 0);
	assert_int_equal(find(v, n, c.id), -1);
	if (f->fresh)
		assert_int_equal(n, 2);
	sc_stream_recs_free(v, n);
	sc_stream_recs_free(NULL, 0);
}

static void test_stream_history(void **state)
{
	fx *f = *state;
	static const sc_stream_state path[] = {SC_ST_PENDING, SC_ST_ASSIGNED, SC_ST_STARTING,
					       SC_ST_LIVE,    SC_ST_PENDING,  SC_ST_ASSIGNED,
					       SC_ST_LIVE,    SC_ST_STOPPING, SC_ST_STOPPED};
	sc_stream_hist_rec *h = NULL;
	sc_stream_rec s;
	size_t n = 0, i;
	int64_t t = 1700000000000;

	stream_init(&s, "st-h", SC_ST_PENDING, t);
	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		s.state = path[i];
		s.updated_ms = t + (int64_t)i * 1000;
		snprintf(s.reason, sizeof(s.reason), "step %zu", i);
		assert_int_equal(f->o->stream_put(f->p, &s), 0);
		/* A put that keeps the state adds nothing. */
		s.updated_ms += 1;
		s.fence++;
		snprintf(s.reason, sizeof(s.reason), "same state");
		assert_int_equal(f->o->stream_put(f->p, &s), 0);
	}
	assert_int_equal(f->o->stream_history(f->p, s.id, &h, &n), 0);
	assert_int_equal(n, sizeof(path) / sizeof(path[0]));
	for (i = 0; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "step %zu", i);
		assert_int_equal(h[i].state, path[i]);
		assert_int_equal(h[i].at_ms, t + (int64_t)i * 1000);
		assert_string_equal(h[i].reason, want);
	}
	free(h);
	assert_int_equal(f->o->stream_history(f->p, "st-nope", &h, &n), -ENOENT);

	/* Bounded: the newest SC_STORE_HISTORY_MAX stay. */
	for (i = 0; i < SC_STORE_HISTORY_MAX + 20; i++) {
		s.state = i % 2 ? SC_ST_LIVE : SC_ST_PENDING;
		s.updated_ms = t + 100000 + (int64_t)i;
		assert_int_equal(f->o->stream_put(f->p, &s), 0);
	}
	assert_int_equal(f->o->stream_history(f->p, s.id, &h, &n), 0);
	assert_int_equal(n, SC_STORE_HISTORY_MAX);
	assert_int_equal(h[n - 1].at_ms, t + 100000 + SC_STORE_HISTORY_MAX + 19);
	assert_int_equal(h[0].at_ms, t + 100000 + 20);
	free(h);
}

/* ---- active listing, purge ---- */

static void test_active_list_ignores_finished(void **state)
{
	fx *f = *state;
	int64_t t = now_ms();
	sc_stream_rec a, b, x, got;
	sc_stream_rec *v = NULL;
	size_t n = 0;
	char what[32];
	int i;

	stream_init(&a, "st-a", SC_ST_LIVE, t + 1);
	stream_init(&b, "st-b", SC_ST_STOPPING, t + 2);
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	assert_int_equal(f->o->stream_put(f->p, &b), 0);
	for (i = 0; i < 40; i++) {
		snprintf(what, sizeof(what), "st-f%d", i);
		stream_init(&x, what, i % 2 ? SC_ST_STOPPED : SC_ST_FAILED, t + 10 + i);
		assert_int_equal(f->o->stream_put(f->p, &x), 0);
	}
	/* One that went active -> finished -> active again (a replay). */
	stream_init(&x, "st-back", SC_ST_PENDING, t + 3);
	assert_int_equal(f->o->stream_put(f->p, &x), 0);
	x.state = SC_ST_STOPPED;
	assert_int_equal(f->o->stream_put(f->p, &x), 0);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_int_equal(find(v, n, x.id), -1);
	sc_stream_recs_free(v, n);
	x.state = SC_ST_PENDING;
	snprintf(x.reason, sizeof(x.reason), "again");
	assert_int_equal(f->o->stream_put(f->p, &x), 0);

	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_true(find(v, n, a.id) >= 0 && find(v, n, b.id) >= 0 && find(v, n, x.id) >= 0);
	/* The listed record is the latest one, newest first. */
	assert_stream_equal(&v[find(v, n, x.id)], &x);
	assert_stream_equal(&v[find(v, n, b.id)], &b);
	assert_true(find(v, n, x.id) < find(v, n, b.id));
	for (size_t k = 0; k < n; k++)
		assert_true(v[k].state != SC_ST_STOPPED && v[k].state != SC_ST_FAILED);
	if (f->fresh)
		assert_int_equal(n, 3);
	sc_stream_recs_free(v, n);
	/* Everything is still there for the full list and stream_get. */
	assert_int_equal(f->o->stream_list(f->p, false, &v, &n), 0);
	assert_true(n >= 43);
	snprintf(what, sizeof(what), "st-f%d", 7);
	stream_init(&x, what, SC_ST_STOPPED, t + 17);
	assert_true(find(v, n, x.id) >= 0);
	sc_stream_recs_free(v, n);
	assert_int_equal(f->o->stream_get(f->p, x.id, &got), 0);
	assert_stream_equal(&got, &x);
	free(got.destination_sealed);
	/* The copy follows every put, also across a restart. */
	a.fence = 9;
	snprintf(a.instance, sizeof(a.instance), "local-9");
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	reopen(f);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_true(find(v, n, a.id) >= 0);
	assert_stream_equal(&v[find(v, n, a.id)], &a);
	sc_stream_recs_free(v, n);
}

/* Old times (1970) so that a purge in a shared store only meets streams
 * of tests like this one. */
#define OLD_MS 100000

static void test_purge(void **state)
{
	fx *f = *state;
	sc_stream_rec old_stopped, old_failed, old_live, old_stopping, recent, got;
	sc_stream_hist_rec *h = NULL;
	sc_stream_rec *v = NULL;
	char k[SC_KEY_HEX], kheld[SC_KEY_HEX], other[SC_ID_MAX], holder[SC_ID_MAX] = "";
	uint64_t f1 = 0, f2 = 0, x = 0;
	size_t n = 0, purged = 99;

	stream_init(&old_stopped, "st-os", SC_ST_PENDING, OLD_MS);
	stream_init(&old_failed, "st-of", SC_ST_FAILED, OLD_MS + 1);
	stream_init(&old_live, "st-ol", SC_ST_LIVE, OLD_MS + 2);
	stream_init(&old_stopping, "st-oz", SC_ST_STOPPING, OLD_MS + 3);
	stream_init(&recent, "st-re", SC_ST_STOPPED, now_ms());
	/* old_stopped went through a few states: history to purge. */
	assert_int_equal(f->o->stream_put(f->p, &old_stopped), 0);
	old_stopped.state = SC_ST_LIVE;
	old_stopped.updated_ms = OLD_MS + 10;
	assert_int_equal(f->o->stream_put(f->p, &old_stopped), 0);
	old_stopped.state = SC_ST_STOPPED;
	old_stopped.updated_ms = OLD_MS + 20;
	assert_int_equal(f->o->stream_put(f->p, &old_stopped), 0);
	assert_int_equal(f->o->stream_put(f->p, &old_failed), 0);
	assert_int_equal(f->o->stream_put(f->p, &old_live), 0);
	assert_int_equal(f->o->stream_put(f->p, &old_stopping), 0);
	assert_int_equal(f->o->stream_put(f->p, &recent), 0);

	/* A fence on a key old_stopped held, and a lock the old live stream
	 * still holds. */
	key_of(k, "k");
	key_of(kheld, "held");
	assert_int_equal(lock1(f, old_stopped.id, k, &f1, NULL), 0);
	assert_int_equal(f->o->unlock(f->p, old_stopped.id), 0);
	assert_int_equal(lock1(f, old_live.id, kheld, &x, NULL), 0);

	/* Nothing is that old. */
	assert_int_equal(f->o->stream_purge(f->p, OLD_MS, &purged), 0);
	if (f->fresh)
		assert_int_equal(purged, 0);
	assert_int_equal(f->o->stream_get(f->p, old_failed.id, &got), 0);
	free(got.destination_sealed);

	assert_int_equal(f->o->stream_purge(f->p, OLD_MS + 1000, &purged), 0);
	assert_true(purged >= 2);
	if (f->fresh)
		assert_int_equal(purged, 2);
	assert_int_equal(f->o->stream_get(f->p, old_stopped.id, &got), -ENOENT);
	assert_int_equal(f->o->stream_get(f->p, old_failed.id, &got), -ENOENT);
	assert_int_equal(f->o->stream_history(f->p, old_stopped.id, &h, &n), -ENOENT);
	/* Active streams stay, however old; recent finished ones too. */
	assert_int_equal(f->o->stream_get(f->p, old_live.id, &got), 0);
	assert_stream_equal(&got, &old_live);
	free(got.destination_sealed);
	assert_int_equal(f->o->stream_get(f->p, old_stopping.id, &got), 0);
	free(got.destination_sealed);
	assert_int_equal(f->o->stream_get(f->p, recent.id, &got), 0);
	free(got.destination_sealed);
	assert_int_equal(f->o->stream_history(f->p, old_live.id, &h, &n), 0);
	assert_int_equal(n, 1);
	free(h);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_true(find(v, n, old_live.id) >= 0 && find(v, n, old_stopping.id) >= 0);
	sc_stream_recs_free(v, n);
	assert_int_equal(f->o->stream_list(f->p, false, &v, &n), 0);
	assert_int_equal(find(v, n, old_stopped.id), -1);
	assert_int_equal(find(v, n, old_failed.id), -1);
	assert_true(find(v, n, recent.id) >= 0);
	sc_stream_recs_free(v, n);

	/* Locks and fences are untouched: the live stream still holds its
	 * key, and the fence of the purged stream's key keeps rising. */
	id_of(other, sizeof(other), "st-other");
	assert_int_equal(lock1(f, other, kheld, &x, holder), -EBUSY);
	assert_string_equal(holder, old_live.id);
	assert_int_equal(lock1(f, other, k, &f2, NULL), 0);
	assert_true(f2 > f1);
	assert_int_equal(f->o->unlock(f->p, other), 0);
	assert_int_equal(f->o->unlock(f->p, old_live.id), 0);

	/* The history went too: the id used again starts a new one. */
	old_stopped.state = SC_ST_PENDING;
	old_stopped.updated_ms = OLD_MS + 30;
	assert_int_equal(f->o->stream_put(f->p, &old_stopped), 0);
	assert_int_equal(f->o->stream_history(f->p, old_stopped.id, &h, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].at_ms, OLD_MS + 30);
	free(h);

	/* Finish the rest; a second purge takes them, and then nothing. */
	old_stopped.state = SC_ST_STOPPED;
	old_live.state = SC_ST_STOPPED;
	old_stopping.state = SC_ST_FAILED;
	assert_int_equal(f->o->stream_put(f->p, &old_stopped), 0);
	assert_int_equal(f->o->stream_put(f->p, &old_live), 0);
	assert_int_equal(f->o->stream_put(f->p, &old_stopping), 0);
	assert_int_equal(f->o->stream_purge(f->p, OLD_MS + 1000, &purged), 0);
	assert_true(purged >= 3);
	if (f->fresh)
		assert_int_equal(purged, 3);
	assert_int_equal(f->o->stream_purge(f->p, OLD_MS + 1000, &purged), 0);
	if (f->fresh)
		assert_int_equal(purged, 0);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	assert_int_equal(find(v, n, old_live.id), -1);
	sc_stream_recs_free(v, n);
	assert_int_equal(f->o->stream_get(f->p, recent.id, &got), 0);
	free(got.destination_sealed);
}

static void remove_tree(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_keys),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test_setup_teardown(test_lock_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_busy_names_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_reacquire_own, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fences_only_go_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refence_only_by_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_list_ignores_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_index_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_race, setup, teardown),
	};
	int rc;

	snprintf(test_run, sizeof(test_run), "%x%04x", (unsigned)time(NULL) & 0xfffffff,
		 (unsigned)getpid() & 0xffff);
	env_spec = getenv("SC_STORE_SPEC");
	if (env_spec && !env_spec[0])
		env_spec = NULL;
	snprintf(test_tmpdir, sizeof(test_tmpdir), "/tmp/sc-store-test-XXXXXX");
	if (!mkdtemp(test_tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	remove_tree(test_tmpdir);
	return rc;
}
