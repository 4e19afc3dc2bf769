/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_sqlite.h - private to the sqlite store backend (store_sqlite.c:
 * connection, schema, locks, idempotency; store_sqlite_records.c: streams,
 * instances, events). Everything runs on the engine thread.
 */
#ifndef SC_STORE_SQLITE_H
#define SC_STORE_SQLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Prepared statements, cached per connection; their SQL is in store_sqlite.c. */
enum {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_LOCK_HOLDER,
	Q_LOCK_SET,
	Q_UNLOCK,
	Q_COUNTER_GET,
	Q_COUNTER_SET,
	Q_FENCE_GET,
	Q_FENCE_SET,
	Q_STREAM_STATE,
	Q_STREAM_PUT,
	Q_STREAM_GET,
	Q_STREAM_LIST,
	Q_STREAM_LIST_ACTIVE,
	Q_STREAM_PURGE_HIST,
	Q_STREAM_PURGE,
	Q_HIST_ADD,
	Q_HIST_TRIM,
	Q_HIST_LIST,
	Q_INST_PUT,
	Q_INST_GET,
	Q_INST_LIST,
	Q_EVENT_ADD,
	Q_EVENT_TRIM,
	Q_EVENT_LIST,
	Q_IDEM_PURGE,
	Q_IDEM_GET,
	Q_IDEM_PUT,
	Q_POOL_GET,
	Q_POOL_PUT,
	Q_N,
};

typedef struct {
	sqlite3 *db;
	sqlite3_stmt *st[Q_N];
	int lock_fd;
	bool have_lock_fd;
} sc_sq;

/* An SQLite result code as a negative errno (0 for OK, ROW, DONE). */
int sc_sq_err(int rc);
/* The cached statement id, ready to bind; NULL on a prepare error. */
sqlite3_stmt *sc_sq_q(sc_sq *p, int id);
/* Resets a statement and clears its bindings. */
void sc_sq_done(sqlite3_stmt *st);
/* Steps a statement once, then sc_sq_done(); 0 or a negative errno. */
int sc_sq_run(sqlite3_stmt *st);
/* Binds a text field of bounded size (not trusted to be NUL-terminated). */
int sc_sq_bind_field(sqlite3_stmt *st, int i, const char *s, size_t size);
#define SC_SQ_BIND_F(st, i, field) sc_sq_bind_field(st, i, field, sizeof(field))
/* Copies a text column into a fixed array, truncating. */
void sc_sq_col_copy(char *dst, size_t size, sqlite3_stmt *st, int i);
/* BEGIN IMMEDIATE. */
int sc_sq_begin(sc_sq *p);
/* Commits if r >= 0, rolls back otherwise; returns r or the commit error. */
int sc_sq_end(sc_sq *p, int r);
/*
 * Steps st to its end and makes an array of one element of size a row, each
 * zeroed and then filled by row(). 0 with the array in *ret (free()) and
 * its length in *ret_n. On an error, the elements row() was called for go
 * to discard(v, n) (NULL: free(v)). Always resets st.
 */
int sc_sq_collect(sqlite3_stmt *st, size_t size, int (*row)(sqlite3_stmt *st, void *elem),
		  void (*discard)(void *v, size_t n), void **ret, size_t *ret_n);

/* store_sqlite_records.c: the sc_store_ops of the same names. */
int sc_sq_stream_put(void *priv, const sc_stream_rec *s);
int sc_sq_stream_get(void *priv, const char *id, sc_stream_rec *ret);
int sc_sq_stream_list(void *priv, bool active_only, sc_stream_rec **ret, size_t *ret_n);
int sc_sq_stream_history(void *priv, const char *id, sc_stream_hist_rec **ret, size_t *ret_n);
int sc_sq_stream_purge(void *priv, int64_t before_ms, size_t *ret_n);
int sc_sq_inst_put(void *priv, const sc_inst_rec *i);
int sc_sq_inst_get(void *priv, const char *id, sc_inst_rec *ret);
int sc_sq_inst_list(void *priv, sc_inst_rec **ret, size_t *ret_n);
int sc_sq_event_add(void *priv, const sc_event_rec *e);
int sc_sq_event_list(void *priv, size_t max, sc_event_rec **ret, size_t *ret_n);

#endif
