/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_loop.c - the batching poll of capture/loop.c on a real GMainContext:
 * packets that arrive every millisecond are read in passes at most
 * SC_LOOP_BATCH_MS apart and none is lost; a poll that must not wait and
 * a timer due sooner are not held back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <glib-unix.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

#define PACKETS 300

typedef struct {
	int fd;
	int sent;
} writer;

static void *write_every_ms(void *arg)
{
	writer *w = arg;
	for (int i = 0; i < PACKETS; i++) {
		char b = (char)i;
		if (send(w->fd, &b, 1, 0) == 1)
			w->sent++;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return NULL;
}

typedef struct {
	int fd;
	int got, passes;
} reader;

static gboolean on_readable(gint fd, GIOCondition cond, gpointer ud)
{
	reader *r = ud;
	char b;
	(void)cond;
	r->passes++;
	while (recv(fd, &b, 1, MSG_DONTWAIT) == 1) /* until it would block, as libnice does */
		r->got++;
	return G_SOURCE_CONTINUE;
}

static void test_packets_read_in_batches(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	GMainContext *ctx = g_main_context_new();
	GPollFunc saved = sc_loop_batch(ctx);
	reader r = {.fd = sv[0]};
	GSource *src = g_unix_fd_source_new(sv[0], G_IO_IN);
	g_source_set_callback(src, (GSourceFunc)(void (*)(void))on_readable, &r, NULL);
	g_source_attach(src, ctx);

	writer w = {.fd = sv[1]};
	pthread_t th;
	gint64 t0 = g_get_monotonic_time();
	assert_int_equal(pthread_create(&th, NULL, write_every_ms, &w), 0);
	while (r.got < PACKETS && g_get_monotonic_time() - t0 < 5000000)
		g_main_context_iteration(ctx, TRUE);
	gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
	pthread_join(th, NULL);

	assert_int_equal(w.sent, PACKETS);
	assert_int_equal(r.got, PACKETS); /* nothing lost */
	/* one pass per SC_LOOP_BATCH_MS at the most; unbatched it is one per packet */
	if (r.passes > elapsed_ms / SC_LOOP_BATCH_MS + 2)
		fail_msg("%d passes in %lld ms", r.passes, (long long)elapsed_ms);
	assert_true(r.passes < PACKETS / 3);

	g_source_destroy(src);
	g_source_unref(src);
	sc_loop_unbatch(ctx, saved);
	assert_ptr_equal(g_main_context_get_poll_func(ctx), saved);
	g_main_context_unref(ctx);
	close(sv[0]);
	close(sv[1]);
}

static gboolean count_call(gpointer ud)
{
	(*(int *)ud)++;
	return G_SOURCE_CONTINUE;
}

static void test_no_wait_when_none_asked(void **state)
{
	(void)state;
	GMainContext *ctx = g_main_context_new();
	GPollFunc saved = sc_loop_batch(ctx);
	int calls = 0;
	GSource *idle = g_idle_source_new(); /* always ready: GLib polls with timeout 0 */
	g_source_set_callback(idle, count_call, &calls, NULL);
	g_source_attach(idle, ctx);
	gint64 t0 = g_get_monotonic_time();
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(ctx, FALSE);
	gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
	assert_int_equal(calls, 50);
	/* each would take SC_LOOP_BATCH_MS if the poll napped: 500 ms */
	if (elapsed_ms >= 50 * SC_LOOP_BATCH_MS / 2)
		fail_msg("50 ready iterations took %lld ms", (long long)elapsed_ms);
	g_source_destroy(idle);
	g_source_unref(idle);
	sc_loop_unbatch(ctx, saved);
	g_main_context_unref(ctx);
}

static void test_timer_not_held_back(void **state)
{
	(void)state;
	GMainContext *ctx = g_main_context_new();
	GPollFunc saved = sc_loop_batch(ctx);
	int ticks = 0;
	GSource *timer = g_timeout_source_new(3);
	g_source_set_callback(timer, count_call, &ticks, NULL);
	g_source_attach(timer, ctx);
	gint64 t0 = g_get_monotonic_time();
	while (ticks < 20 && g_get_monotonic_time() - t0 < 5000000)
		g_main_context_iteration(ctx, TRUE);
	gint64 elapsed_ms = (g_get_monotonic_time() - t0) / 1000;
	assert_int_equal(ticks, 20);
	/* 20 x 3 ms; held to SC_LOOP_BATCH_MS it would take 200 ms */
	if (elapsed_ms >= 20 * SC_LOOP_BATCH_MS * 3 / 4)
		fail_msg("20 ticks of a 3 ms timer took %lld ms", (long long)elapsed_ms);
	g_source_destroy(timer);
	g_source_unref(timer);
	sc_loop_unbatch(ctx, saved);
	g_main_context_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packets_read_in_batches),
		cmocka_unit_test(test_no_wait_when_none_asked),
		cmocka_unit_test(test_timer_not_held_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
