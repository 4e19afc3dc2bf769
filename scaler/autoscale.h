/* SPDX-License-Identifier: Apache-2.0 */
/*
 * autoscale.h - how many capture instances the pool should have, and which
 * idle ones to retire. A pure function: no clock, no store, no provider; the
 * engine feeds it counts each autoscale period and applies the answer.
 *
 *   target  = busy + pending + spare, clamped to [min, max]
 *   current = busy + idle + starting
 *   target > current: scale up at once (desired = target)
 *   target < current: scale down only after down_periods consecutive
 *                     periods above target and cooldown_ms since the last
 *                     scale-down, and only by retiring idle instances
 *                     (never busy ones, never below min)
 */
#ifndef SC_AUTOSCALE_H
#define SC_AUTOSCALE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	int min, max, spare;
	int busy;		    /* instances running at least one stream (draining ones too) */
	int pending;		    /* streams waiting for an instance */
	int idle;		    /* instances that could take a stream now */
	int starting;		    /* asked of the provider, no heartbeat yet */
	int periods_above;	    /* consecutive periods above target so far */
	int down_periods;	    /* periods above target before a scale-down */
	int64_t cooldown_ms;	    /* between two scale-downs */
	int64_t last_scale_down_ms; /* 0: never */
	int64_t now_ms;
} sc_autoscale_in;

typedef struct {
	int target;		    /* busy + pending + spare within [min, max] */
	int desired;		    /* instances the pool should have after this period */
	int n_retire;		    /* retire this many idle instances (the caller picks
				       them from its idle list, oldest idle first) */
	int periods_above;	    /* carry into the next period */
	int64_t last_scale_down_ms; /* carry into the next period */
} sc_autoscale_out;

/* Pure; any thread. Negative counts are taken as 0, max < min as max = min. */
void sc_autoscale(const sc_autoscale_in *in, sc_autoscale_out *out);

#endif
