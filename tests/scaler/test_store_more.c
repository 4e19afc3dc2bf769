/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store contract, part two: instances, events, idempotency, pool,
 * leadership, restarts, opening, the lock race, and a store an older
 * scaler wrote (see test_store.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "test_store.h"
#ifdef SC_HAVE_ETCD
#include "etcd.h"
#endif

void test_instances(void **state)
{
	fx *f = *state;
	sc_inst_rec a = {0}, b = {0}, got, *v = NULL;
	size_t n = 0, i;
	int seen = 0;

	id_of(a.id, sizeof(a.id), "local-1");
	a.state = SC_INST_IDLE;
	a.slots = 2;
	a.last_heartbeat_ms = 1000;
	a.lease_until_ms = 11000;
	a.created_ms = 500;
	snprintf(a.provider_ref, sizeof(a.provider_ref), "pid:1234");
	b = a;
	id_of(b.id, sizeof(b.id), "i-0abc");
	b.state = SC_INST_BUSY;
	b.used = 2;
	b.protected_ = true;
	assert_int_equal(f->o->inst_put(f->p, &a), 0);
	assert_int_equal(f->o->inst_put(f->p, &b), 0);
	assert_int_equal(f->o->inst_get(f->p, b.id, &got), 0);
	assert_memory_equal(&got, &b, sizeof(got));
	a.state = SC_INST_LOST;
	a.lease_until_ms = 12000;
	assert_int_equal(f->o->inst_put(f->p, &a), 0);
	assert_int_equal(f->o->inst_get(f->p, a.id, &got), 0);
	assert_memory_equal(&got, &a, sizeof(got));
	assert_int_equal(f->o->inst_get(f->p, "nope", &got), -ENOENT);

	assert_int_equal(f->o->inst_list(f->p, &v, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, a.id) == 0) {
			assert_memory_equal(&v[i], &a, sizeof(a));
			seen |= 1;
		} else if (strcmp(v[i].id, b.id) == 0) {
			assert_memory_equal(&v[i], &b, sizeof(b));
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	if (f->fresh)
		assert_int_equal(n, 2);
	free(v);
}

static void add_event(fx *f, const char *subject, int i)
{
	sc_event_rec e;

	memset(&e, 0, sizeof(e));
	e.at_ms = 1700000000000 + i;
	snprintf(e.kind, sizeof(e.kind), "assign");
	snprintf(e.subject, sizeof(e.subject), "%s", subject);
	snprintf(e.detail, sizeof(e.detail), "n=%d", i);
	assert_int_equal(f->o->event_add(f->p, &e), 0);
}

void test_events_bounded(void **state)
{
	fx *f = *state;
	const int total = SC_STORE_EVENTS_MAX + 5;
	char subject[SC_ID_MAX], want[32];
	sc_event_rec *v = NULL;
	size_t n = 0;
	int i;

	id_of(subject, sizeof(subject), "ev");
	if (f->fresh) {
		assert_int_equal(f->o->event_list(f->p, 10, &v, &n), 0);
		assert_int_equal(n, 0);
		free(v);
	}
	for (i = 0; i < total; i++)
		add_event(f, subject, i);
	assert_int_equal(f->o->event_list(f->p, 3, &v, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "n=%d", total - 3 + i);
		assert_string_equal(v[i].detail, want);
		assert_string_equal(v[i].subject, subject);
		assert_string_equal(v[i].kind, "assign");
		assert_int_equal(v[i].at_ms, 1700000000000 + total - 3 + i);
	}
	free(v);
	assert_int_equal(f->o->event_list(f->p, 2 * SC_STORE_EVENTS_MAX, &v, &n), 0);
	assert_int_equal(n, SC_STORE_EVENTS_MAX);
	assert_string_equal(v[0].detail, "n=5");
	snprintf(want, sizeof(want), "n=%d", total - 1);
	assert_string_equal(v[n - 1].detail, want);
	free(v);
	/* sqlite: the table itself holds no more. */
	if (is_sqlite(f)) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;

		assert_int_equal(sqlite3_open(f->spec + 7, &db), SQLITE_OK);
		assert_int_equal(
			sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, NULL),
			SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), SC_STORE_EVENTS_MAX);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

void test_idempotency(void **state)
{
	fx *f = *state;
	char key[SC_ID_MAX], *h = NULL, *r = NULL;

	id_of(key, sizeof(key), "idem");
	assert_int_equal(f->o->idem_put(f->p, key, "hash-1", "{\"id\":\"st-1\"}", &h, &r), 0);
	assert_null(h);
	assert_null(r);
	/* A replay gets the first response. */
	assert_int_equal(f->o->idem_put(f->p, key, "hash-1", "{\"id\":\"st-2\"}", &h, &r), 1);
	assert_string_equal(h, "hash-1");
	assert_string_equal(r, "{\"id\":\"st-1\"}");
	free(h);
	free(r);
	/* Another body: the earlier hash, so the caller answers 422. */
	assert_int_equal(f->o->idem_put(f->p, key, "hash-2", "{\"id\":\"st-3\"}", &h, &r), 1);
	assert_string_equal(h, "hash-1");
	assert_string_equal(r, "{\"id\":\"st-1\"}");
	free(h);
	free(r);
	/* Keys are independent. */
	id_of(key, sizeof(key), "idem2");
	assert_int_equal(f->o->idem_put(f->p, key, "hash-2", "{}", &h, &r), 0);
}

/* sqlite: entries older than a day are forgotten. */
void test_idempotency_expires(void **state)
{
	fx *f = *state;
	char key[SC_ID_MAX], *h = NULL, *r = NULL;
	sqlite3 *db = NULL;

	if (!is_sqlite(f))
		skip();
	id_of(key, sizeof(key), "idem-old");
	assert_int_equal(f->o->idem_put(f->p, key, "hash-1", "old", &h, &r), 0);
	assert_int_equal(sqlite3_open(f->spec + 7, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE idempotency SET created_ms = created_ms - 86400001",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(f->o->idem_put(f->p, key, "hash-2", "new", &h, &r), 0);
	assert_int_equal(f->o->idem_put(f->p, key, "hash-3", "newer", &h, &r), 1);
	assert_string_equal(h, "hash-2");
	assert_string_equal(r, "new");
	free(h);
	free(r);
}

void test_pool(void **state)
{
	fx *f = *state;
	sc_pool_rec p = {7, 7, 7}, want = {1, 5, 2}, want2 = {0, 3, 1};

	if (f->fresh) {
		assert_int_equal(f->o->pool_get(f->p, &p), -ENOENT);
		assert_int_equal(p.min, 7);
	}
	assert_int_equal(f->o->pool_put(f->p, &want), 0);
	assert_int_equal(f->o->pool_get(f->p, &p), 0);
	assert_memory_equal(&p, &want, sizeof(p));
	assert_int_equal(f->o->pool_put(f->p, &want2), 0);
	assert_int_equal(f->o->pool_get(f->p, &p), 0);
	assert_memory_equal(&p, &want2, sizeof(p));
}

void test_lead(void **state)
{
	fx *f = *state;
	char me[SC_ID_MAX];

	id_of(me, sizeof(me), "scaler");
	if (is_sqlite(f) || f->fresh)
		assert_int_equal(f->o->lead(f->p, me, 10000), 1);
	else
		assert_true(f->o->lead(f->p, me, 10000) >= 0);
}

/* ---- restart ---- */

void test_restart_keeps_everything(void **state)
{
	fx *f = *state;
	char a[SC_ID_MAX], b[SC_ID_MAX], k[SC_KEY_HEX], holder[SC_ID_MAX] = "", key[SC_ID_MAX];
	char subject[SC_ID_MAX], *h = NULL, *r = NULL;
	sc_stream_rec s, got;
	sc_stream_hist_rec *hist = NULL;
	sc_inst_rec inst = {0}, igot;
	sc_pool_rec pool = {2, 9, 3}, pgot;
	sc_event_rec *ev = NULL;
	uint64_t fa = 0, x = 0;
	size_t n = 0;

	id_of(a, sizeof(a), "st-a");
	id_of(b, sizeof(b), "st-b");
	id_of(key, sizeof(key), "idem");
	id_of(subject, sizeof(subject), "ev");
	key_of(k, "k");
	assert_int_equal(lock1(f, a, k, &fa, NULL), 0);
	stream_init(&s, "st-a", SC_ST_PENDING, 1000);
	assert_int_equal(f->o->stream_put(f->p, &s), 0);
	s.state = SC_ST_LIVE;
	s.updated_ms = 2000;
	assert_int_equal(f->o->stream_put(f->p, &s), 0);
	id_of(inst.id, sizeof(inst.id), "local-1");
	inst.state = SC_INST_BUSY;
	inst.slots = 1;
	inst.used = 1;
	assert_int_equal(f->o->inst_put(f->p, &inst), 0);
	add_event(f, subject, 42);
	assert_int_equal(f->o->idem_put(f->p, key, "hash", "resp", &h, &r), 0);
	assert_int_equal(f->o->pool_put(f->p, &pool), 0);

	reopen(f);

	assert_int_equal(lock1(f, b, k, &x, holder), -EBUSY);
	assert_string_equal(holder, a);
	assert_int_equal(f->o->stream_get(f->p, s.id, &got), 0);
	assert_stream_equal(&got, &s);
	free(got.destination_sealed);
	assert_int_equal(f->o->stream_history(f->p, s.id, &hist, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(hist[0].state, SC_ST_PENDING);
	assert_int_equal(hist[1].state, SC_ST_LIVE);
	free(hist);
	assert_int_equal(f->o->inst_get(f->p, inst.id, &igot), 0);
	assert_memory_equal(&igot, &inst, sizeof(inst));
	assert_int_equal(f->o->event_list(f->p, 1, &ev, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ev[0].subject, subject);
	free(ev);
	assert_int_equal(f->o->idem_put(f->p, key, "hash", "other", &h, &r), 1);
	assert_string_equal(r, "resp");
	free(h);
	free(r);
	assert_int_equal(f->o->pool_get(f->p, &pgot), 0);
	assert_memory_equal(&pgot, &pool, sizeof(pool));
	/* The holder can still refence; fences went on from where they were. */
	{
		const char *keys[] = {k};

		assert_int_equal(f->o->refence(f->p, a, keys, 1, &x), 0);
		assert_true(x > fa);
	}
	assert_int_equal(f->o->unlock(f->p, a), 0);
}

/* sqlite: a second scaler on the same file is refused while one has it. */
void test_second_open_refused(void **state)
{
	fx *f = *state;
	char err[512] = "";
	sc_store *second;

	if (!is_sqlite(f))
		skip();
	second = sc_store_open(f->spec, err, sizeof(err));
	assert_null(second);
	assert_non_null(strstr(err, "in use by another stagecast-scaler"));
	/* The same from another process. */
	{
		int status = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			sc_store *s = sc_store_open(f->spec, err, sizeof(err));

			_exit(!s && strstr(err, "in use by another") ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	sc_store_close(f->s);
	f->s = NULL;
	/* Free again once the first is closed. */
	second = sc_store_open(f->spec, err, sizeof(err));
	assert_non_null(second);
	f->s = second;
	f->o = sc_store_ops_of(second);
	f->p = sc_store_priv(second);
}

void test_open_errors(void **state)
{
	char err[512] = "", path[256];
	sqlite3 *db = NULL;
	sc_store *s;
	FILE *fp;

	(void)state;
	assert_null(sc_store_open("redis://x", err, sizeof(err)));
	assert_non_null(strstr(err, "unknown store"));
	assert_null(sc_store_open("sqlite:", err, sizeof(err)));
	assert_non_null(strstr(err, "no file path"));
	assert_null(sc_store_open(NULL, err, sizeof(err)));
	assert_null(sc_store_open("sqlite:/nonexistent-dir/x/scaler.db", err, sizeof(err)));
	assert_true(err[0] != '\0');
	/* A file that is not a database. */
	snprintf(path, sizeof(path), "sqlite:%s/not-a-db", test_tmpdir);
	fp = fopen(path + 7, "w");
	assert_non_null(fp);
	fprintf(fp, "this is not an SQLite database, it is just some text long enough\n");
	fclose(fp);
	assert_null(sc_store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not-a-db"));

	/* A database from a newer stagecast: refused, left alone. */
	snprintf(path, sizeof(path), "sqlite:%s/newer.db", test_tmpdir);
	s = sc_store_open(path, err, sizeof(err));
	assert_non_null(s);
	sc_store_close(s);
	assert_int_equal(sqlite3_open(path + 7, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db, "UPDATE schema_version SET version = 99", NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_null(sc_store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
}

void test_names_and_keys(void **state)
{
	char k[SC_KEY_HEX];
	sc_stream_state s;
	sc_inst_state i;
	int v;

	(void)state;
	/* sha256("name:k1-janson"), sha256(url): `printf ... | sha256sum`. */
	sc_lock_key_name("k1-janson", k);
	assert_string_equal(k, "d6437395e284b3a4c7546290e25b98d8642afa6c110dd9b26c592a9a091c00ec");
	sc_lock_key_destination("rtmp://a.rtmp.youtube.com/live2/abcd", k);
	assert_string_equal(k, "5daff77260d57f581218774f28e67cfdc952065a1481e13779dddc667e20aeba");
	for (v = SC_ST_PENDING; v <= SC_ST_FAILED; v++) {
		assert_int_equal(sc_stream_state_parse(sc_stream_state_name(v), &s), 0);
		assert_int_equal(s, v);
	}
	for (v = SC_INST_STARTING; v <= SC_INST_GONE; v++) {
		assert_int_equal(sc_inst_state_parse(sc_inst_state_name(v), &i), 0);
		assert_int_equal(i, v);
	}
	assert_string_equal(sc_stream_state_name(SC_ST_LIVE), "live");
	assert_string_equal(sc_inst_state_name(SC_INST_DRAINING), "draining");
	assert_string_equal(sc_stream_state_name((sc_stream_state)99), "unknown");
	assert_int_equal(sc_stream_state_parse("LIVE", &s), -EINVAL);
	assert_int_equal(sc_inst_state_parse("", &i), -EINVAL);
}

/* ---- the lock race ---- */

#define RACERS 8
#define ROUNDS 200

typedef struct {
	pthread_barrier_t *bar;
	sc_store *s;
	int t;
	const char *key;
	int rc[ROUNDS], unlock_rc[ROUNDS];
	uint64_t fence[ROUNDS];
	char holder[ROUNDS][SC_ID_MAX];
} racer;

static void race_id(char *out, int round, int t)
{
	snprintf(out, SC_ID_MAX, "r%d-t%d-%s", round, t, test_run);
}

/* No cmocka asserts here (not thread-safe): main checks the results. */
static void *race_main(void *arg)
{
	racer *r = arg;
	const sc_store_ops *o = sc_store_ops_of(r->s);
	void *p = sc_store_priv(r->s);
	const char *keys[] = {r->key};
	char id[SC_ID_MAX];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		race_id(id, i, r->t);
		/* Everybody starts when the last round's winner has let go. */
		pthread_barrier_wait(r->bar);
		r->rc[i] = o->lock(p, id, keys, 1, &r->fence[i], r->holder[i], SC_ID_MAX);
		pthread_barrier_wait(r->bar);
		if (r->rc[i] == 0)
			r->unlock_rc[i] = o->unlock(p, id);
	}
	return NULL;
}

/*
 * RACERS threads, each with its own sc_store (its own connection or
 * client), try to lock one key at once, ROUNDS times: exactly one wins each
 * round, the others are told who holds it. For sqlite the test turns off the
 * one-process file lock (SC_STORE_SQLITE_NO_FLOCK_ENV) for these opens, so
 * that the connections really race inside SQLite's own locking.
 */
void test_lock_race(void **state)
{
	fx *f = *state;
	static racer rs[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t bar;
	char key[SC_KEY_HEX], err[512] = "", want[SC_ID_MAX];
	uint64_t last = 0;
	int t, i;

	key_of(key, "race");
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	setenv(SC_STORE_SQLITE_NO_FLOCK_ENV, "1", 1);
	for (t = 0; t < RACERS; t++) {
		memset(&rs[t], 0, sizeof(rs[t]));
		rs[t].bar = &bar;
		rs[t].t = t;
		rs[t].key = key;
		rs[t].s = sc_store_open(f->spec, err, sizeof(err));
		if (!rs[t].s)
			fail_msg("open %d: %s", t, err);
	}
	unsetenv(SC_STORE_SQLITE_NO_FLOCK_ENV);
	for (t = 0; t < RACERS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, race_main, &rs[t]), 0);
	for (t = 0; t < RACERS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&bar);

	for (i = 0; i < ROUNDS; i++) {
		int winner = -1;

		for (t = 0; t < RACERS; t++) {
			if (rs[t].rc[i] == 0) {
				if (winner >= 0)
					fail_msg("round %d: %d and %d both hold the lock", i,
						 winner, t);
				winner = t;
			}
		}
		if (winner < 0)
			fail_msg("round %d: nobody got the lock", i);
		assert_int_equal(rs[winner].unlock_rc[i], 0);
		assert_true(rs[winner].fence[i] > last);
		last = rs[winner].fence[i];
		race_id(want, i, winner);
		for (t = 0; t < RACERS; t++) {
			if (t == winner)
				continue;
			if (rs[t].rc[i] != -EBUSY)
				fail_msg("round %d racer %d: %s", i, t, strerror(-rs[t].rc[i]));
			assert_string_equal(rs[t].holder[i], want);
		}
	}
	for (t = 0; t < RACERS; t++)
		sc_store_close(rs[t].s);
	/* Free after the last round; the fence went on rising. */
	{
		uint64_t x = 0;
		char id[SC_ID_MAX];

		id_of(id, sizeof(id), "after");
		assert_int_equal(lock1(f, id, key, &x, NULL), 0);
		assert_true(x > last);
		assert_int_equal(f->o->unlock(f->p, id), 0);
	}
}

/*
 * A store an older scaler wrote, upgraded in place. sqlite: the active
 * listing goes through the streams_state index, created at open. etcd: the
 * active/ copies did not exist; open builds them once (layout key).
 */
#ifdef SC_HAVE_ETCD
static void etcd_drop_index(const fx *f, const char *id)
{
	const char *loc = f->spec + strlen("etcd://"), *slash = strchr(loc, '/');
	char eps[256], ns[80], *k1 = NULL, *k2 = NULL, err[256] = "";
	sc_etcd *e;
	json_t *req = sc_etcd_txn_new();
	bool ok = false;
	int64_t rev;

	snprintf(eps, sizeof(eps), "%.*s", slash ? (int)(slash - loc) : (int)strlen(loc), loc);
	snprintf(ns, sizeof(ns), "/%s/", slash ? slash + 1 : "stagecast");
	e = sc_etcd_new(eps, err, sizeof(err));
	assert_non_null(e);
	assert_true(asprintf(&k1, "%sactive/%s", ns, id) > 0);
	assert_true(asprintf(&k2, "%slayout", ns) > 0);
	sc_etcd_txn_add(req, "success", sc_etcd_op_delete(k1, false));
	sc_etcd_txn_add(req, "success", sc_etcd_op_delete(k2, false));
	assert_int_equal(sc_etcd_txn(e, req, &ok, &rev, NULL), 0);
	assert_true(ok);
	free(k1);
	free(k2);
	sc_etcd_free(e);
}
#endif

static void sqlite_check_plan(const fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool indexed = false;

	assert_int_equal(
		sqlite3_open_v2(f->spec + strlen("sqlite:"), &db, SQLITE_OPEN_READONLY, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "EXPLAIN QUERY PLAN SELECT id FROM streams WHERE "
					    "state IN ('pending', 'assigned', 'starting', 'live', "
					    "'stopping') ORDER BY created_ms DESC, id DESC",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		indexed |=
			strstr((const char *)sqlite3_column_text(st, 3), "streams_state") != NULL;
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(indexed);
}

void test_active_index_upgrade(void **state)
{
	fx *f = *state;
	sc_stream_rec a, b, *v = NULL;
	size_t n = 0;

	stream_init(&a, "st-mig", SC_ST_LIVE, now_ms());
	stream_init(&b, "st-migdone", SC_ST_STOPPED, now_ms());
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	assert_int_equal(f->o->stream_put(f->p, &b), 0);
	if (is_sqlite(f)) {
		/* As an older scaler left it: no streams_state index. */
		char *err = NULL;
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(f->spec + strlen("sqlite:"), &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "DROP INDEX streams_state", NULL, NULL, &err),
				 SQLITE_OK);
		sqlite3_close(db);
	} else {
#ifdef SC_HAVE_ETCD
		etcd_drop_index(f, a.id);
		/* Without the copy, the listing misses it... */
		assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
		for (size_t i = 0; i < n; i++)
			assert_string_not_equal(v[i].id, a.id);
		sc_stream_recs_free(v, n);
#else
		skip();
#endif
	}
	/* ...until the upgraded scaler opens the store. */
	reopen(f);
	if (is_sqlite(f))
		sqlite_check_plan(f);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	{
		int found = -1;

		for (size_t i = 0; i < n; i++) {
			assert_string_not_equal(v[i].id, b.id);
			if (strcmp(v[i].id, a.id) == 0)
				found = (int)i;
		}
		assert_true(found >= 0);
		assert_stream_equal(&v[found], &a);
	}
	sc_stream_recs_free(v, n);
	/* And it stays indexed: a finish removes it from the listing. */
	a.state = SC_ST_STOPPED;
	assert_int_equal(f->o->stream_put(f->p, &a), 0);
	assert_int_equal(f->o->stream_list(f->p, true, &v, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(v[i].id, a.id);
	sc_stream_recs_free(v, n);
}
