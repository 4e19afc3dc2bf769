/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "autoscale.h"

static sc_autoscale_in base(void)
{
	sc_autoscale_in in = {
		.min = 0,
		.max = 10,
		.spare = 2,
		.down_periods = 3,
		.cooldown_ms = 30000,
		.now_ms = 1000000,
	};
	return in;
}

static void test_empty_pool_scales_to_spare(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 2);
	assert_int_equal(out.desired, 2);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.periods_above, 0);
}

static void test_up_at_once(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.busy = 3;
	in.pending = 2;
	in.idle = 1;
	in.periods_above = 2; /* a scale-up resets the count */
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 7);
	assert_int_equal(out.desired, 7);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.periods_above, 0);
}

static void test_starting_counts_as_capacity(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.pending = 1;
	in.starting = 3;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 3);
	assert_int_equal(out.desired, 3);
	assert_int_equal(out.n_retire, 0);
}

static void test_clamped_to_min_and_max(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.pending = 50;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 10);
	assert_int_equal(out.desired, 10);

	in = base();
	in.min = 4;
	in.spare = 0;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 4);
	assert_int_equal(out.desired, 4);

	/* max below min: min wins. */
	in = base();
	in.min = 3;
	in.max = 1;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 3);

	/* max 0 and min 0: nothing at all. */
	in = base();
	in.max = 0;
	in.pending = 5;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 0);
	assert_int_equal(out.desired, 0);
}

static void test_at_target_holds(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.busy = 2;
	in.idle = 2;
	in.periods_above = 2;
	sc_autoscale(&in, &out);
	assert_int_equal(out.desired, 4);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.periods_above, 0);
}

static void test_down_after_periods(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.busy = 1;
	in.idle = 5; /* target 3, current 6 */
	for (int p = 1; p < 3; p++) {
		sc_autoscale(&in, &out);
		assert_int_equal(out.periods_above, p);
		assert_int_equal(out.desired, 6);
		assert_int_equal(out.n_retire, 0);
		in.periods_above = out.periods_above;
		in.now_ms += 5000;
	}
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 3);
	assert_int_equal(out.desired, 3);
	assert_int_equal(out.periods_above, 0);
	assert_int_equal(out.last_scale_down_ms, in.now_ms);
}

static void test_cooldown(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.idle = 4; /* target 2, current 4 */
	in.periods_above = 5;
	in.last_scale_down_ms = in.now_ms - 10000;
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.desired, 4);
	assert_int_equal(out.periods_above, 6);
	assert_int_equal(out.last_scale_down_ms, in.last_scale_down_ms);

	in.now_ms = in.last_scale_down_ms + 30000;
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 2);
	assert_int_equal(out.desired, 2);
}

static void test_never_retires_busy(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	/* Demand fell (pending gone, max lowered) but only one is idle. */
	in.max = 2;
	in.busy = 5;
	in.idle = 1;
	in.periods_above = 10;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 2);
	assert_int_equal(out.n_retire, 1);
	assert_int_equal(out.desired, 5);

	/* Nothing idle: nothing to retire, the count keeps going. */
	in.idle = 0;
	in.periods_above = 10;
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.desired, 5);
	assert_int_equal(out.periods_above, 11);
}

static void test_excess_still_starting(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.spare = 0;
	in.starting = 2;
	in.periods_above = 3;
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 0);
	assert_int_equal(out.desired, 2);
}

static void test_never_below_min(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.min = 3;
	in.spare = 0;
	in.idle = 5;
	in.periods_above = 3;
	sc_autoscale(&in, &out);
	assert_int_equal(out.n_retire, 2);
	assert_int_equal(out.desired, 3);
}

static void test_negative_inputs(void **state)
{
	sc_autoscale_in in = base();
	sc_autoscale_out out;

	(void)state;
	in.busy = -4;
	in.pending = -1;
	in.idle = -2;
	in.spare = -7;
	in.min = -1;
	sc_autoscale(&in, &out);
	assert_int_equal(out.target, 0);
	assert_int_equal(out.desired, 0);
	assert_int_equal(out.n_retire, 0);
}

/* A demand curve: the pool follows up at once and down slowly, keeping
 * spare idle instances and never retiring a busy one. */
static void test_demand_curve(void **state)
{
	static const int demand[] = {0, 1, 3, 3, 5, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0};
	sc_autoscale_in in = base();
	sc_autoscale_out out;
	int pool = 0;

	(void)state;
	in.cooldown_ms = 10000;
	for (size_t i = 0; i < sizeof(demand) / sizeof(demand[0]); i++) {
		in.busy = demand[i] < pool ? demand[i] : pool;
		in.pending = demand[i] - in.busy;
		in.idle = pool - in.busy;
		sc_autoscale(&in, &out);
		assert_true(out.n_retire <= in.idle);
		assert_true(out.desired >= in.busy);
		pool = out.desired;
		/* Enough for demand plus spare after every scale-up. */
		if (out.desired > in.busy + in.idle)
			assert_int_equal(pool, demand[i] + in.spare);
		in.periods_above = out.periods_above;
		in.last_scale_down_ms = out.last_scale_down_ms;
		in.now_ms += 5000;
	}
	/* Demand gone: back to the spares. */
	assert_int_equal(pool, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_pool_scales_to_spare),
		cmocka_unit_test(test_up_at_once),
		cmocka_unit_test(test_starting_counts_as_capacity),
		cmocka_unit_test(test_clamped_to_min_and_max),
		cmocka_unit_test(test_at_target_holds),
		cmocka_unit_test(test_down_after_periods),
		cmocka_unit_test(test_cooldown),
		cmocka_unit_test(test_never_retires_busy),
		cmocka_unit_test(test_excess_still_starting),
		cmocka_unit_test(test_never_below_min),
		cmocka_unit_test(test_negative_inputs),
		cmocka_unit_test(test_demand_curve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
