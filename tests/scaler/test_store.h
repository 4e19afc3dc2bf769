/* SPDX-License-Identifier: Apache-2.0 */
/* The store contract suite (test_store.c, test_store_more.c): one program. */
#ifndef SC_TEST_STORE_H
#define SC_TEST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct {
	char spec[512];
	bool fresh; /* a store nobody used before this test */
	sc_store *s;
	const sc_store_ops *o;
	void *p;
} fx;

extern char test_tmpdir[64]; /* this run's scratch directory */
extern char test_run[16];    /* tags the ids and keys of this run */

int64_t now_ms(void);
bool is_sqlite(const fx *f);
void store_open(fx *f);
/* Closes and opens the store again (a scaler restart). */
void reopen(fx *f);
/* "WHAT-RUN-TEST": an id of this run and test. */
void id_of(char *out, size_t len, const char *what);
/* The lock key of name WHAT in this run and test. */
void key_of(char out[SC_KEY_HEX], const char *what);
int lock1(fx *f, const char *stream, const char *key, uint64_t *fence, char *holder);
void stream_init(sc_stream_rec *s, const char *what, sc_stream_state st, int64_t created);
void assert_stream_equal(const sc_stream_rec *a, const sc_stream_rec *b);

/* test_store_more.c */
void test_instances(void **state);
void test_events_bounded(void **state);
void test_idempotency(void **state);
void test_idempotency_expires(void **state);
void test_pool(void **state);
void test_lead(void **state);
void test_restart_keeps_everything(void **state);
void test_second_open_refused(void **state);
void test_open_errors(void **state);
void test_names_and_keys(void **state);
void test_lock_race(void **state);
void test_active_index_upgrade(void **state);

#endif
