/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.h - how the capture's GLib loop waits for the network.
 *
 * sc_loop_batch() gives a GMainContext a poll function that sleeps until
 * SC_LOOP_BATCH_MS after the last poll returned before it polls again,
 * never past the timeout GLib asks for, and does not wait at all when
 * GLib asks for none. Media comes in hundreds of packets a second, and
 * waking the thread for each costs more than handling them; libnice reads
 * a socket until it would block, so one pass takes everything that arrived
 * meanwhile. The cost: a wake-up from another thread (an idle source added
 * by the signalling thread, SIGTERM) may also wait up to SC_LOOP_BATCH_MS.
 */
#ifndef SC_LOOP_H
#define SC_LOOP_H

#include <glib.h>

#define SC_LOOP_BATCH_MS 10

/* Installs the batching poll on ctx; returns the poll function it had. */
GPollFunc sc_loop_batch(GMainContext *ctx);
/* Puts back what sc_loop_batch returned. */
void sc_loop_unbatch(GMainContext *ctx, GPollFunc saved);

#endif
