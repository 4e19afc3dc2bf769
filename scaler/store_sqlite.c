/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_sqlite.c - the store in one SQLite file (WAL mode).
 *
 * One connection, used from the engine thread only (SQLITE_OPEN_NOMUTEX).
 * Every change runs in a BEGIN IMMEDIATE transaction, so the check and the
 * write of a lock, and the fence counter with the fences it hands out, commit
 * together or not at all; synchronous=FULL makes a commit durable before the
 * fence it produced is used. Fences come from one global counter, so a fence
 * is above every fence any key ever had.
 *
 * A second process on the same file is refused: FILE.lock is held with
 * flock(LOCK_EX|LOCK_NB) while the store is open (tests may skip this, see
 * SC_STORE_SQLITE_NO_FLOCK_ENV in store.h).
 *
 * The streams_state index (state, updated_ms) serves the active listing
 * (the active states by name) and the purge of old finished streams; like
 * every index it is created at open when missing, also in a file an older
 * scaler wrote (the schema version stays 1: older scalers read it too).
 */
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION	1
#define BUSY_TIMEOUT_MS 5000

#define STREAM_COLS                                                                                \
	"id, name, conference, destination_redacted, destination_sealed, profile, layout, state, " \
	"reason, instance, fence, created_ms, updated_ms, stop_requested"
#define INST_COLS                                                                            \
	"id, state, slots, used, last_heartbeat_ms, lease_until_ms, created_ms, protected, " \
	"provider_ref"

static const char *const sql[Q_N] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_LOCK_HOLDER] = "SELECT stream_id FROM locks WHERE key = ?1",
	[Q_LOCK_SET] = "INSERT INTO locks(key, stream_id) VALUES(?1, ?2) "
		       "ON CONFLICT(key) DO UPDATE SET stream_id = excluded.stream_id",
	[Q_UNLOCK] = "DELETE FROM locks WHERE stream_id = ?1",
	[Q_COUNTER_GET] = "SELECT value FROM counters WHERE name = 'fence'",
	[Q_COUNTER_SET] = "UPDATE counters SET value = ?1 WHERE name = 'fence'",
	[Q_FENCE_GET] = "SELECT last_fence FROM fences WHERE key = ?1",
	[Q_FENCE_SET] = "INSERT INTO fences(key, last_fence) VALUES(?1, ?2) "
			"ON CONFLICT(key) DO UPDATE SET last_fence = excluded.last_fence",
	[Q_STREAM_STATE] = "SELECT state FROM streams WHERE id = ?1",
	[Q_STREAM_PUT] = "INSERT INTO streams(" STREAM_COLS ") "
			 "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
			 "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
			 "conference = excluded.conference, "
			 "destination_redacted = excluded.destination_redacted, "
			 "destination_sealed = excluded.destination_sealed, "
			 "profile = excluded.profile, layout = excluded.layout, "
			 "state = excluded.state, reason = excluded.reason, "
			 "instance = excluded.instance, fence = excluded.fence, "
			 "created_ms = excluded.created_ms, updated_ms = excluded.updated_ms, "
			 "stop_requested = excluded.stop_requested",
	[Q_STREAM_GET] = "SELECT " STREAM_COLS " FROM streams WHERE id = ?1",
	[Q_STREAM_LIST] = "SELECT " STREAM_COLS " FROM streams ORDER BY created_ms DESC, id DESC",
	/* The active states by name, so that streams_state is used: the cost
	 * does not grow with the finished streams. */
	[Q_STREAM_LIST_ACTIVE] = "SELECT " STREAM_COLS " FROM streams WHERE state IN "
				 "('pending', 'assigned', 'starting', 'live', 'stopping') "
				 "ORDER BY created_ms DESC, id DESC",
	[Q_STREAM_PURGE_HIST] = "DELETE FROM stream_history WHERE stream_id IN "
				"(SELECT id FROM streams WHERE state IN ('stopped', 'failed') "
				"AND updated_ms < ?1)",
	[Q_STREAM_PURGE] = "DELETE FROM streams WHERE state IN ('stopped', 'failed') "
			   "AND updated_ms < ?1",
	[Q_HIST_ADD] = "INSERT INTO stream_history(stream_id, at_ms, state, reason) "
		       "VALUES(?1, ?2, ?3, ?4)",
	[Q_HIST_TRIM] = "DELETE FROM stream_history WHERE stream_id = ?1 AND seq <= "
			"(SELECT seq FROM stream_history WHERE stream_id = ?1 "
			"ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
	[Q_HIST_LIST] = "SELECT at_ms, state, reason FROM stream_history "
			"WHERE stream_id = ?1 ORDER BY seq",
	[Q_INST_PUT] = "INSERT INTO instances(" INST_COLS ") "
		       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		       "ON CONFLICT(id) DO UPDATE SET state = excluded.state, "
		       "slots = excluded.slots, used = excluded.used, "
		       "last_heartbeat_ms = excluded.last_heartbeat_ms, "
		       "lease_until_ms = excluded.lease_until_ms, "
		       "created_ms = excluded.created_ms, protected = excluded.protected, "
		       "provider_ref = excluded.provider_ref",
	[Q_INST_GET] = "SELECT " INST_COLS " FROM instances WHERE id = ?1",
	[Q_INST_LIST] = "SELECT " INST_COLS " FROM instances ORDER BY created_ms, id",
	[Q_EVENT_ADD] = "INSERT INTO events(at_ms, kind, subject, detail) VALUES(?1, ?2, ?3, ?4)",
	[Q_EVENT_TRIM] = "DELETE FROM events WHERE id <= ?1",
	[Q_EVENT_LIST] = "SELECT at_ms, kind, subject, detail FROM "
			 "(SELECT id, at_ms, kind, subject, detail FROM events "
			 "ORDER BY id DESC LIMIT ?1) ORDER BY id",
	[Q_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_ms < ?1",
	[Q_IDEM_GET] = "SELECT request_hash, response FROM idempotency WHERE key = ?1",
	[Q_IDEM_PUT] = "INSERT INTO idempotency(key, request_hash, response, created_ms) "
		       "VALUES(?1, ?2, ?3, ?4)",
	[Q_POOL_GET] = "SELECT min, max, spare FROM pool WHERE id = 1",
	[Q_POOL_PUT] = "INSERT INTO pool(id, min, max, spare) VALUES(1, ?1, ?2, ?3) "
		       "ON CONFLICT(id) DO UPDATE SET min = excluded.min, max = excluded.max, "
		       "spare = excluded.spare",
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO counters(name, value) VALUES('fence', 0) ON CONFLICT(name) DO NOTHING;"
	"CREATE TABLE IF NOT EXISTS streams(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" conference TEXT NOT NULL, destination_redacted TEXT NOT NULL, destination_sealed TEXT,"
	" profile TEXT NOT NULL, layout TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL,"
	" instance TEXT NOT NULL, fence INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	" updated_ms INTEGER NOT NULL, stop_requested INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS streams_created ON streams(created_ms);"
	"CREATE INDEX IF NOT EXISTS streams_state ON streams(state, updated_ms);"
	"CREATE TABLE IF NOT EXISTS stream_history(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" stream_id TEXT NOT NULL, at_ms INTEGER NOT NULL, state TEXT NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS stream_history_stream ON stream_history(stream_id, seq);"
	"CREATE TABLE IF NOT EXISTS locks(key TEXT PRIMARY KEY, stream_id TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS locks_stream ON locks(stream_id);"
	"CREATE TABLE IF NOT EXISTS fences(key TEXT PRIMARY KEY, last_fence INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS instances(id TEXT PRIMARY KEY, state TEXT NOT NULL,"
	" slots INTEGER NOT NULL, used INTEGER NOT NULL, last_heartbeat_ms INTEGER NOT NULL,"
	" lease_until_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	" protected INTEGER NOT NULL, provider_ref TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at_ms INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,"
	" detail TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS idempotency(key TEXT PRIMARY KEY,"
	" request_hash TEXT NOT NULL, response TEXT NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created_ms);"
	"CREATE TABLE IF NOT EXISTS pool(id INTEGER PRIMARY KEY CHECK (id = 1),"
	" min INTEGER NOT NULL, max INTEGER NOT NULL, spare INTEGER NOT NULL);";

int sc_sq_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -ETIMEDOUT;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -EMSGSIZE;
	default:
		return -EIO;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The cached statement id, reset and unbound; NULL on a prepare error. */
sqlite3_stmt *sc_sq_q(sc_sq *p, int id)
{
	if (!p->st[id] && sqlite3_prepare_v3(p->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					     &p->st[id], NULL) != SQLITE_OK)
		return NULL;
	return p->st[id];
}

void sc_sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without result rows. */
int sc_sq_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sc_sq_done(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sc_sq_err(rc);
}

/* Binds a text field of bounded size (not trusted to be NUL-terminated). */
int sc_sq_bind_field(sqlite3_stmt *st, int i, const char *s, size_t size)
{
	return sqlite3_bind_text(st, i, s, (int)strnlen(s, size), SQLITE_STATIC);
}

void sc_sq_col_copy(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

int sc_sq_begin(sc_sq *p)
{
	sqlite3_stmt *st = sc_sq_q(p, Q_BEGIN);

	return st ? sc_sq_run(st) : -EIO;
}

/* Commits if r >= 0, rolls back otherwise; returns r or the commit error. */
int sc_sq_end(sc_sq *p, int r)
{
	sqlite3_stmt *st;
	int c;

	if (r >= 0) {
		st = sc_sq_q(p, Q_COMMIT);
		c = st ? sc_sq_run(st) : -EIO;
		if (c == 0)
			return r;
		r = c;
	}
	if (sqlite3_get_autocommit(p->db) == 0) {
		st = sc_sq_q(p, Q_ROLLBACK);
		if (st)
			sc_sq_run(st);
	}
	return r;
}

/* Grows *v (of *cap elements of size) to hold one more; 0 or -ENOMEM. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	nv = reallocarray(*v, c, size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

int sc_sq_collect(sqlite3_stmt *st, size_t size, int (*row)(sqlite3_stmt *st, void *elem),
		  void (*discard)(void *v, size_t n), void **ret, size_t *ret_n)
{
	char *v = NULL;
	size_t n = 0, cap = 0;
	int rc = SQLITE_DONE, r = 0;

	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = grow((void **)&v, &cap, n, size);
		if (r < 0)
			break;
		memset(v + n * size, 0, size);
		r = row(st, v + n * size);
		n++; /* also on error: discard() frees what it holds */
	}
	sc_sq_done(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = sc_sq_err(rc);
	if (r < 0) {
		if (discard)
			discard(v, n);
		else
			free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ---- open / close ---- */

static int open_lock_file(sc_sq *p, const char *path, char *err, size_t errlen)
{
	char lock_path[4096];
	const char *env = getenv(SC_STORE_SQLITE_NO_FLOCK_ENV);

	if (env && strcmp(env, "1") == 0)
		return 0;
	if ((size_t)snprintf(lock_path, sizeof(lock_path), "%s.lock", path) >= sizeof(lock_path)) {
		snprintf(err, errlen, "store path too long");
		return -ENAMETOOLONG;
	}
	p->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (p->lock_fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "cannot open %s: %s", lock_path, strerror(-r));
		return r;
	}
	p->have_lock_fd = true;
	if (flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		int r = -errno;

		if (r == -EWOULDBLOCK) {
			snprintf(err, errlen,
				 "%s is in use by another stagecast-scaler (%s is locked): stop it "
				 "first, or give this one another --store",
				 path, lock_path);
			return -EBUSY;
		}
		snprintf(err, errlen, "cannot lock %s: %s", lock_path, strerror(-r));
		return r;
	}
	return 0;
}

static int exec_msg(sc_sq *p, const char *what, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(p->db, what, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sc_sq_err(rc);
	}
	return 0;
}

static int setup_schema(sc_sq *p, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int64_t version = 0;
	int r, rc;

	r = exec_msg(p,
		     "BEGIN IMMEDIATE;"
		     "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);",
		     err, errlen);
	if (r < 0)
		return r;
	rc = sqlite3_prepare_v2(p->db, "SELECT max(version) FROM schema_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		version = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(p->db));
		r = sc_sq_err(rc);
	} else if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "written by a newer stagecast-scaler (schema %lld, this one knows %d)",
			 (long long)version, SCHEMA_VERSION);
		r = -EPROTO;
	} else {
		r = exec_msg(p, schema, err, errlen);
		if (r == 0 && version == 0)
			r = exec_msg(p, "INSERT INTO schema_version(version) VALUES(1);", err,
				     errlen);
	}
	if (r == 0)
		r = exec_msg(p, "COMMIT;", err, errlen);
	if (r < 0 && sqlite3_get_autocommit(p->db) == 0)
		sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static void sq_close(void *priv)
{
	sc_sq *p = priv;
	int i;

	for (i = 0; i < Q_N; i++)
		sqlite3_finalize(p->st[i]);
	if (p->db)
		sqlite3_close(p->db);
	if (p->have_lock_fd)
		close(p->lock_fd); /* releases the flock */
	memset(p, 0, sizeof(*p));
}

static int sq_open(void *priv, const char *path, char *err, size_t errlen)
{
	sc_sq *p = priv;
	char msg[512] = "";
	sqlite3_stmt *st = NULL;
	int r, rc, fd;

	r = open_lock_file(p, path, err, errlen);
	if (r < 0)
		return r;
	/* Created by hand so that it is 0600 (SQLite gives -wal and -shm the
	 * same mode): it holds stream names and idempotent responses. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-r));
		return r;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &p->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
			 p->db ? sqlite3_errmsg(p->db) : sqlite3_errstr(rc));
		return sc_sq_err(rc);
	}
	sqlite3_busy_timeout(p->db, BUSY_TIMEOUT_MS);

	/* journal_mode answers with the mode it is in now. */
	rc = sqlite3_prepare_v2(p->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *mode = sqlite3_column_text(st, 0);

		if (!mode || strcmp((const char *)mode, "wal") != 0) {
			snprintf(msg, sizeof(msg), "cannot switch to WAL mode (journal mode %s)",
				 mode ? (const char *)mode : "?");
			rc = SQLITE_CANTOPEN;
		}
	} else if (rc == SQLITE_OK) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errlen, "%s: %s", path, msg[0] ? msg : sqlite3_errmsg(p->db));
		return sc_sq_err(rc) ? sc_sq_err(rc) : -EIO;
	}
	r = exec_msg(p, "PRAGMA foreign_keys=OFF; PRAGMA synchronous=FULL;", msg, sizeof(msg));
	if (r == 0)
		r = setup_schema(p, msg, sizeof(msg));
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, msg);
		return r;
	}
	return 0;
}

/* ---- locks and fences ---- */

/* Raises the global counter above it and every key's fence, stores it. */
static int new_fence(sc_sq *p, const char *const *keys, size_t n, uint64_t *ret)
{
	sqlite3_stmt *st;
	int64_t f = 0;
	size_t i;
	int rc, r;

	st = sc_sq_q(p, Q_COUNTER_GET);
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		f = sqlite3_column_int64(st, 0);
	sc_sq_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EBADMSG : sc_sq_err(rc);
	for (i = 0; i < n; i++) {
		st = sc_sq_q(p, Q_FENCE_GET);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > f)
			f = sqlite3_column_int64(st, 0);
		sc_sq_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sc_sq_err(rc);
	}
	f++;
	st = sc_sq_q(p, Q_COUNTER_SET);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, f);
	r = sc_sq_run(st);
	for (i = 0; r == 0 && i < n; i++) {
		st = sc_sq_q(p, Q_FENCE_SET);
		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, f);
		r = sc_sq_run(st);
	}
	if (r == 0)
		*ret = (uint64_t)f;
	return r;
}

/* The stream holding key into holder ("" if free). */
static int holder_of(sc_sq *p, const char *key, char *holder, size_t len)
{
	sqlite3_stmt *st = sc_sq_q(p, Q_LOCK_HOLDER);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	holder[0] = '\0';
	if (rc == SQLITE_ROW)
		sc_sq_col_copy(holder, len, st, 0);
	sc_sq_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sc_sq_err(rc);
}

static bool valid_keys(const char *stream_id, const char *const *keys, size_t n)
{
	size_t i;

	if (!stream_id || !stream_id[0] || strlen(stream_id) >= SC_ID_MAX || !keys || n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!keys[i] || !keys[i][0])
			return false;
	return true;
}

static int sq_lock(void *priv, const char *stream_id, const char *const *keys, size_t n,
		   uint64_t *ret_fence, char *ret_holder, size_t holder_len)
{
	sc_sq *p = priv;
	char holder[SC_ID_MAX];
	uint64_t f = 0;
	size_t i;
	int r;

	if (!valid_keys(stream_id, keys, n))
		return -EINVAL;
	r = sc_sq_begin(p);
	if (r < 0)
		return r;
	for (i = 0; r == 0 && i < n; i++) {
		r = holder_of(p, keys[i], holder, sizeof(holder));
		if (r == 0 && holder[0] && strcmp(holder, stream_id) != 0) {
			if (ret_holder && holder_len)
				snprintf(ret_holder, holder_len, "%s", holder);
			r = -EBUSY;
		}
	}
	if (r == 0)
		r = new_fence(p, keys, n, &f);
	for (i = 0; r == 0 && i < n; i++) {
		sqlite3_stmt *st = sc_sq_q(p, Q_LOCK_SET);

		if (!st) {
			r = -EIO;
			break;
		}
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, stream_id, -1, SQLITE_STATIC);
		r = sc_sq_run(st);
	}
	r = sc_sq_end(p, r);
	if (r == 0 && ret_fence)
		*ret_fence = f;
	return r;
}

static int sq_refence(void *priv, const char *stream_id, const char *const *keys, size_t n,
		      uint64_t *ret_fence)
{
	sc_sq *p = priv;
	char holder[SC_ID_MAX];
	uint64_t f = 0;
	size_t i;
	int r;

	if (!valid_keys(stream_id, keys, n))
		return -EINVAL;
	r = sc_sq_begin(p);
	if (r < 0)
		return r;
	for (i = 0; r == 0 && i < n; i++) {
		r = holder_of(p, keys[i], holder, sizeof(holder));
		if (r == 0 && strcmp(holder, stream_id) != 0)
			r = -ESTALE;
	}
	if (r == 0)
		r = new_fence(p, keys, n, &f);
	r = sc_sq_end(p, r);
	if (r == 0 && ret_fence)
		*ret_fence = f;
	return r;
}

static int sq_unlock(void *priv, const char *stream_id)
{
	sc_sq *p = priv;
	sqlite3_stmt *st;

	if (!stream_id || !stream_id[0])
		return -EINVAL;
	st = sc_sq_q(p, Q_UNLOCK);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, stream_id, -1, SQLITE_STATIC);
	return sc_sq_run(st); /* one statement: atomic by itself */
}

/* ---- idempotency ---- */

static int sq_idem_put(void *priv, const char *key, const char *request_hash, const char *response,
		       char **ret_request_hash, char **ret_response)
{
	sc_sq *p = priv;
	int64_t now = now_ms();
	char *h = NULL, *resp = NULL;
	sqlite3_stmt *st;
	int r, rc;

	if (!key || !key[0] || !request_hash || !response)
		return -EINVAL;
	r = sc_sq_begin(p);
	if (r < 0)
		return r;
	st = sc_sq_q(p, Q_IDEM_PURGE);
	if (!st)
		return sc_sq_end(p, -EIO);
	sqlite3_bind_int64(st, 1, now - SC_STORE_IDEM_TTL_MS);
	r = sc_sq_run(st);
	if (r < 0)
		return sc_sq_end(p, r);

	st = sc_sq_q(p, Q_IDEM_GET);
	if (!st)
		return sc_sq_end(p, -EIO);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		h = strdup((const char *)sqlite3_column_text(st, 0));
		resp = strdup((const char *)sqlite3_column_text(st, 1));
		r = h && resp ? 1 : -ENOMEM;
	} else if (rc != SQLITE_DONE) {
		r = sc_sq_err(rc);
	}
	sc_sq_done(st);
	if (r == 0) {
		st = sc_sq_q(p, Q_IDEM_PUT);
		if (!st)
			return sc_sq_end(p, -EIO);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, request_hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, response, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		r = sc_sq_run(st);
	}
	r = sc_sq_end(p, r);
	if (r == 1 && ret_request_hash && ret_response) {
		*ret_request_hash = h;
		*ret_response = resp;
		return 1;
	}
	free(h);
	free(resp);
	return r;
}

/* ---- pool, leadership ---- */

static int sq_pool_get(void *priv, sc_pool_rec *ret)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_POOL_GET);
	sc_pool_rec pool;
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		pool.min = sqlite3_column_int(st, 0);
		pool.max = sqlite3_column_int(st, 1);
		pool.spare = sqlite3_column_int(st, 2);
	}
	sc_sq_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sc_sq_err(rc);
	*ret = pool;
	return 0;
}

static int sq_pool_put(void *priv, const sc_pool_rec *pool)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_POOL_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_int(st, 1, pool->min);
	sqlite3_bind_int(st, 2, pool->max);
	sqlite3_bind_int(st, 3, pool->spare);
	return sc_sq_run(st);
}

/* The file lock already makes this scaler the only one on the file. */
static int sq_lead(void *priv, const char *me, int ttl_ms)
{
	(void)priv;
	(void)me;
	(void)ttl_ms;
	return 1;
}

const sc_store_ops sc_store_sqlite = {
	.name = "sqlite",
	.priv_size = sizeof(sc_sq),
	.open = sq_open,
	.close = sq_close,
	.lock = sq_lock,
	.refence = sq_refence,
	.unlock = sq_unlock,
	.stream_put = sc_sq_stream_put,
	.stream_get = sc_sq_stream_get,
	.stream_list = sc_sq_stream_list,
	.stream_history = sc_sq_stream_history,
	.stream_purge = sc_sq_stream_purge,
	.inst_put = sc_sq_inst_put,
	.inst_get = sc_sq_inst_get,
	.inst_list = sc_sq_inst_list,
	.event_add = sc_sq_event_add,
	.event_list = sc_sq_event_list,
	.idem_put = sq_idem_put,
	.pool_get = sq_pool_get,
	.pool_put = sq_pool_put,
	.lead = sq_lead,
};
