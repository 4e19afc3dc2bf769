/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c - the capture loop's batching poll: see loop.h.
 */
#include "loop.h"

static gint batched_poll(GPollFD *fds, guint nfds, gint timeout_ms)
{
	/* per thread: the poll runs on whichever thread iterates the context */
	static _Thread_local gint64 last_us;
	if (timeout_ms != 0) {
		gint64 nap = last_us + SC_LOOP_BATCH_MS * 1000 - g_get_monotonic_time();
		if (timeout_ms > 0 && nap > (gint64)timeout_ms * 1000)
			nap = (gint64)timeout_ms * 1000;
		if (nap > 0) {
			g_usleep((gulong)nap);
			if (timeout_ms > 0)
				timeout_ms = MAX(0, timeout_ms - (gint)((nap + 999) / 1000));
		}
	}
	gint r = g_poll(fds, nfds, timeout_ms);
	last_us = g_get_monotonic_time();
	return r;
}

GPollFunc sc_loop_batch(GMainContext *ctx)
{
	GPollFunc saved = g_main_context_get_poll_func(ctx);
	g_main_context_set_poll_func(ctx, batched_poll);
	return saved;
}

void sc_loop_unbatch(GMainContext *ctx, GPollFunc saved)
{
	g_main_context_set_poll_func(ctx, saved);
}
