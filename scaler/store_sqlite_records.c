/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_sqlite_records.c - streams (with their history), instances and
 * events in the sqlite store. A stream's history gets a row whenever
 * stream_put changes its state, in the same transaction.
 */
#include "store_sqlite.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sc_sq_stream_put(void *priv, const sc_stream_rec *s)
{
	sc_sq *p = priv;
	const char *state = sc_stream_state_name(s->state);
	sqlite3_stmt *st;
	bool changed = true;
	int r, rc;

	if (!s->id[0] || strcmp(state, "unknown") == 0)
		return -EINVAL;
	r = sc_sq_begin(p);
	if (r < 0)
		return r;
	st = sc_sq_q(p, Q_STREAM_STATE);
	if (!st)
		return sc_sq_end(p, -EIO);
	SC_SQ_BIND_F(st, 1, s->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		changed = strcmp((const char *)sqlite3_column_text(st, 0), state) != 0;
	sc_sq_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sc_sq_end(p, sc_sq_err(rc));

	st = sc_sq_q(p, Q_STREAM_PUT);
	if (!st)
		return sc_sq_end(p, -EIO);
	SC_SQ_BIND_F(st, 1, s->id);
	SC_SQ_BIND_F(st, 2, s->name);
	SC_SQ_BIND_F(st, 3, s->conference);
	SC_SQ_BIND_F(st, 4, s->destination_redacted);
	if (s->destination_sealed)
		sqlite3_bind_text(st, 5, s->destination_sealed, -1, SQLITE_STATIC);
	SC_SQ_BIND_F(st, 6, s->profile);
	SC_SQ_BIND_F(st, 7, s->layout);
	sqlite3_bind_text(st, 8, state, -1, SQLITE_STATIC);
	SC_SQ_BIND_F(st, 9, s->reason);
	SC_SQ_BIND_F(st, 10, s->instance);
	sqlite3_bind_int64(st, 11, (int64_t)s->fence);
	sqlite3_bind_int64(st, 12, s->created_ms);
	sqlite3_bind_int64(st, 13, s->updated_ms);
	sqlite3_bind_int(st, 14, s->stop_requested);
	r = sc_sq_run(st);

	if (r == 0 && changed) {
		st = sc_sq_q(p, Q_HIST_ADD);
		if (!st)
			return sc_sq_end(p, -EIO);
		SC_SQ_BIND_F(st, 1, s->id);
		sqlite3_bind_int64(st, 2, s->updated_ms);
		sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
		SC_SQ_BIND_F(st, 4, s->reason);
		r = sc_sq_run(st);
		if (r == 0) {
			st = sc_sq_q(p, Q_HIST_TRIM);
			if (!st)
				return sc_sq_end(p, -EIO);
			SC_SQ_BIND_F(st, 1, s->id);
			sqlite3_bind_int(st, 2, SC_STORE_HISTORY_MAX);
			r = sc_sq_run(st);
		}
	}
	return sc_sq_end(p, r);
}

/* Fills *s from a Q_STREAM_GET / Q_STREAM_LIST row. */
static int stream_from_row(sqlite3_stmt *st, sc_stream_rec *s)
{
	const unsigned char *sealed = sqlite3_column_text(st, 4);

	memset(s, 0, sizeof(*s));
	sc_sq_col_copy(s->id, sizeof(s->id), st, 0);
	sc_sq_col_copy(s->name, sizeof(s->name), st, 1);
	sc_sq_col_copy(s->conference, sizeof(s->conference), st, 2);
	sc_sq_col_copy(s->destination_redacted, sizeof(s->destination_redacted), st, 3);
	sc_sq_col_copy(s->profile, sizeof(s->profile), st, 5);
	sc_sq_col_copy(s->layout, sizeof(s->layout), st, 6);
	if (sc_stream_state_parse((const char *)sqlite3_column_text(st, 7), &s->state) < 0)
		return -EBADMSG;
	sc_sq_col_copy(s->reason, sizeof(s->reason), st, 8);
	sc_sq_col_copy(s->instance, sizeof(s->instance), st, 9);
	s->fence = (uint64_t)sqlite3_column_int64(st, 10);
	s->created_ms = sqlite3_column_int64(st, 11);
	s->updated_ms = sqlite3_column_int64(st, 12);
	s->stop_requested = sqlite3_column_int(st, 13) != 0;
	if (sealed) {
		s->destination_sealed = strdup((const char *)sealed);
		if (!s->destination_sealed)
			return -ENOMEM;
	}
	return 0;
}

int sc_sq_stream_get(void *priv, const char *id, sc_stream_rec *ret)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_STREAM_GET);
	sc_stream_rec s;
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sc_sq_done(st);
		return rc == SQLITE_DONE ? -ENOENT : sc_sq_err(rc);
	}
	r = stream_from_row(st, &s);
	sc_sq_done(st);
	if (r < 0) {
		free(s.destination_sealed);
		return r;
	}
	*ret = s;
	return 0;
}

static int stream_row(sqlite3_stmt *st, void *elem)
{
	return stream_from_row(st, elem);
}

static void streams_discard(void *v, size_t n)
{
	sc_stream_recs_free(v, n);
}

int sc_sq_stream_list(void *priv, bool active_only, sc_stream_rec **ret, size_t *ret_n)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, active_only ? Q_STREAM_LIST_ACTIVE : Q_STREAM_LIST);

	if (!st)
		return -EIO;
	return sc_sq_collect(st, sizeof(**ret), stream_row, streams_discard, (void **)ret, ret_n);
}

/* One transaction: the history rows, then the streams (both through the
 * streams_state index). */
int sc_sq_stream_purge(void *priv, int64_t before_ms, size_t *ret_n)
{
	sc_sq *p = priv;
	sqlite3_stmt *st;
	size_t n = 0;
	int r = sc_sq_begin(p);

	if (r < 0)
		return r;
	st = sc_sq_q(p, Q_STREAM_PURGE_HIST);
	if (!st)
		return sc_sq_end(p, -EIO);
	sqlite3_bind_int64(st, 1, before_ms);
	r = sc_sq_run(st);
	if (r == 0) {
		st = sc_sq_q(p, Q_STREAM_PURGE);
		if (!st)
			return sc_sq_end(p, -EIO);
		sqlite3_bind_int64(st, 1, before_ms);
		r = sc_sq_run(st);
		n = (size_t)sqlite3_changes(p->db);
	}
	r = sc_sq_end(p, r);
	if (r == 0)
		*ret_n = n;
	return r;
}

static int hist_row(sqlite3_stmt *st, void *elem)
{
	sc_stream_hist_rec *h = elem;

	h->at_ms = sqlite3_column_int64(st, 0);
	sc_sq_col_copy(h->reason, sizeof(h->reason), st, 2);
	return sc_stream_state_parse((const char *)sqlite3_column_text(st, 1), &h->state) < 0
		       ? -EBADMSG
		       : 0;
}

int sc_sq_stream_history(void *priv, const char *id, sc_stream_hist_rec **ret, size_t *ret_n)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_STREAM_STATE);
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sc_sq_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : sc_sq_err(rc);

	st = sc_sq_q(p, Q_HIST_LIST);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return sc_sq_collect(st, sizeof(**ret), hist_row, NULL, (void **)ret, ret_n);
}

/* ---- instances ---- */

int sc_sq_inst_put(void *priv, const sc_inst_rec *i)
{
	sc_sq *p = priv;
	const char *state = sc_inst_state_name(i->state);
	sqlite3_stmt *st;

	if (!i->id[0] || strcmp(state, "unknown") == 0)
		return -EINVAL;
	st = sc_sq_q(p, Q_INST_PUT);
	if (!st)
		return -EIO;
	SC_SQ_BIND_F(st, 1, i->id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, i->slots);
	sqlite3_bind_int(st, 4, i->used);
	sqlite3_bind_int64(st, 5, i->last_heartbeat_ms);
	sqlite3_bind_int64(st, 6, i->lease_until_ms);
	sqlite3_bind_int64(st, 7, i->created_ms);
	sqlite3_bind_int(st, 8, i->protected_);
	SC_SQ_BIND_F(st, 9, i->provider_ref);
	return sc_sq_run(st);
}

static int inst_from_row(sqlite3_stmt *st, sc_inst_rec *i)
{
	memset(i, 0, sizeof(*i));
	sc_sq_col_copy(i->id, sizeof(i->id), st, 0);
	if (sc_inst_state_parse((const char *)sqlite3_column_text(st, 1), &i->state) < 0)
		return -EBADMSG;
	i->slots = sqlite3_column_int(st, 2);
	i->used = sqlite3_column_int(st, 3);
	i->last_heartbeat_ms = sqlite3_column_int64(st, 4);
	i->lease_until_ms = sqlite3_column_int64(st, 5);
	i->created_ms = sqlite3_column_int64(st, 6);
	i->protected_ = sqlite3_column_int(st, 7) != 0;
	sc_sq_col_copy(i->provider_ref, sizeof(i->provider_ref), st, 8);
	return 0;
}

int sc_sq_inst_get(void *priv, const char *id, sc_inst_rec *ret)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_INST_GET);
	sc_inst_rec i;
	int rc, r;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	r = rc == SQLITE_ROW ? inst_from_row(st, &i) : rc == SQLITE_DONE ? -ENOENT : sc_sq_err(rc);
	sc_sq_done(st);
	if (r == 0)
		*ret = i;
	return r;
}

static int inst_row(sqlite3_stmt *st, void *elem)
{
	return inst_from_row(st, elem);
}

int sc_sq_inst_list(void *priv, sc_inst_rec **ret, size_t *ret_n)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_INST_LIST);

	if (!st)
		return -EIO;
	return sc_sq_collect(st, sizeof(**ret), inst_row, NULL, (void **)ret, ret_n);
}

/* ---- events ---- */

int sc_sq_event_add(void *priv, const sc_event_rec *e)
{
	sc_sq *p = priv;
	sqlite3_stmt *st;
	int r = sc_sq_begin(p);

	if (r < 0)
		return r;
	st = sc_sq_q(p, Q_EVENT_ADD);
	if (!st)
		return sc_sq_end(p, -EIO);
	sqlite3_bind_int64(st, 1, e->at_ms);
	SC_SQ_BIND_F(st, 2, e->kind);
	SC_SQ_BIND_F(st, 3, e->subject);
	SC_SQ_BIND_F(st, 4, e->detail);
	r = sc_sq_run(st);
	if (r == 0) {
		/* AUTOINCREMENT ids have no gaps here: keep the newest MAX. */
		int64_t last = sqlite3_last_insert_rowid(p->db);

		st = sc_sq_q(p, Q_EVENT_TRIM);
		if (!st)
			return sc_sq_end(p, -EIO);
		sqlite3_bind_int64(st, 1, last - SC_STORE_EVENTS_MAX);
		r = sc_sq_run(st);
	}
	return sc_sq_end(p, r);
}

static int event_row(sqlite3_stmt *st, void *elem)
{
	sc_event_rec *e = elem;

	e->at_ms = sqlite3_column_int64(st, 0);
	sc_sq_col_copy(e->kind, sizeof(e->kind), st, 1);
	sc_sq_col_copy(e->subject, sizeof(e->subject), st, 2);
	sc_sq_col_copy(e->detail, sizeof(e->detail), st, 3);
	return 0;
}

int sc_sq_event_list(void *priv, size_t max, sc_event_rec **ret, size_t *ret_n)
{
	sc_sq *p = priv;
	sqlite3_stmt *st = sc_sq_q(p, Q_EVENT_LIST);

	if (!st)
		return -EIO;
	if (max > SC_STORE_EVENTS_MAX)
		max = SC_STORE_EVENTS_MAX;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return sc_sq_collect(st, sizeof(**ret), event_row, NULL, (void **)ret, ret_n);
}
