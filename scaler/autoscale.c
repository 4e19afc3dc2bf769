/* SPDX-License-Identifier: Apache-2.0 */
/*
 * autoscale.c - the pool size decision. See autoscale.h.
 */
#include "autoscale.h"

static int nonneg(int v)
{
	return v < 0 ? 0 : v;
}

void sc_autoscale(const sc_autoscale_in *in, sc_autoscale_out *out)
{
	int min = nonneg(in->min), max = nonneg(in->max);
	int busy = nonneg(in->busy), idle = nonneg(in->idle), starting = nonneg(in->starting);
	long long want = (long long)busy + nonneg(in->pending) + nonneg(in->spare);
	int current = busy + idle + starting;

	if (max < min)
		max = min;
	if (want < min)
		want = min;
	if (want > max)
		want = max;

	out->target = (int)want;
	out->desired = current;
	out->n_retire = 0;
	out->periods_above = 0;
	out->last_scale_down_ms = in->last_scale_down_ms;

	if (out->target > current) {
		out->desired = out->target; /* up at once */
		return;
	}
	if (out->target == current)
		return;

	/* Above target: count the period, retire only when it has lasted. */
	out->periods_above = nonneg(in->periods_above) + 1;
	if (out->periods_above < in->down_periods)
		return;
	if (in->last_scale_down_ms && in->now_ms - in->last_scale_down_ms < in->cooldown_ms)
		return;
	int excess = current - out->target;
	int n = excess < idle ? excess : idle;
	if (n <= 0)
		return; /* the excess is busy or still starting: wait */
	out->n_retire = n;
	out->desired = current - n;
	out->periods_above = 0;
	out->last_scale_down_ms = in->now_ms;
}
