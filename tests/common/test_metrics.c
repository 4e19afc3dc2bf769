/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void test_small_case(void **state)
{
	sc_metrics m;

	(void)state;
	sc_metrics_init(&m);
	sc_metrics_family(&m, "stagecast_relay_streams", "gauge", "Streams with a publisher.");
	sc_metrics_sample(&m, "stagecast_relay_streams", NULL, 3);
	sc_metrics_family(&m, "stagecast_relay_bytes_in_total", "counter", "Bytes received.");
	sc_metrics_sample(&m, "stagecast_relay_bytes_in_total",
			  (const char *[]){"stream", "k1", NULL}, 12345);
	sc_metrics_sample(&m, "stagecast_relay_bytes_in_total",
			  (const char *[]){"stream", "k2", "target", "yt", NULL}, 0);
	assert_string_equal(sc_metrics_data(&m),
			    "# HELP stagecast_relay_streams Streams with a publisher.\n"
			    "# TYPE stagecast_relay_streams gauge\n"
			    "stagecast_relay_streams 3\n"
			    "# HELP stagecast_relay_bytes_in_total Bytes received.\n"
			    "# TYPE stagecast_relay_bytes_in_total counter\n"
			    "stagecast_relay_bytes_in_total{stream=\"k1\"} 12345\n"
			    "stagecast_relay_bytes_in_total{stream=\"k2\",target=\"yt\"} 0\n");
	assert_int_equal(sc_metrics_len(&m), strlen(sc_metrics_data(&m)));
	assert_int_equal(m.oom, 0);
	sc_metrics_free(&m);
	sc_metrics_free(NULL);
}

static void test_label_escaping(void **state)
{
	sc_metrics m;

	(void)state;
	sc_metrics_init(&m);
	sc_metrics_family(&m, "x", "gauge", "Help with \\ and\nnewline and \"quotes\".");
	sc_metrics_sample(&m, "x", (const char *[]){"v", "a\\b\"c\nd", NULL}, 1);
	sc_metrics_sample(&m, "x", (const char *[]){"v", "", NULL}, 2);
	assert_string_equal(sc_metrics_data(&m),
			    "# HELP x Help with \\\\ and\\nnewline and \"quotes\".\n"
			    "# TYPE x gauge\n"
			    "x{v=\"a\\\\b\\\"c\\nd\"} 1\n"
			    "x{v=\"\"} 2\n");
	sc_metrics_free(&m);
}

static void check_value(double v, const char *want)
{
	sc_metrics m;
	char line[128];

	sc_metrics_init(&m);
	sc_metrics_sample(&m, "v", NULL, v);
	snprintf(line, sizeof(line), "v %s\n", want);
	assert_string_equal(sc_metrics_data(&m), line);
	sc_metrics_free(&m);
}

static void test_values(void **state)
{
	(void)state;
	check_value(0, "0");
	check_value(-0.0, "0");
	check_value(12345, "12345");
	check_value(-7, "-7");
	check_value(1e15, "1000000000000000");
	check_value(4294967296.0, "4294967296");
	check_value(0.5, "0.5");
	check_value(0.1, "0.1");
	check_value(1.0 / 3.0, "0.33333333333333331");
	check_value(1e300, "1e+300");
	check_value(123456789.25, "123456789.25");
	check_value(1e20, "1e+20");
	check_value(NAN, "NaN");
	check_value(INFINITY, "+Inf");
	check_value(-INFINITY, "-Inf");
}

static void test_empty_and_steal(void **state)
{
	sc_metrics m;
	size_t len = 99;
	char *p;

	(void)state;
	sc_metrics_init(&m);
	assert_string_equal(sc_metrics_data(&m), "");
	assert_int_equal(sc_metrics_len(&m), 0);
	p = sc_metrics_steal(&m, &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	free(p);

	sc_metrics_sample(&m, "up", NULL, 1);
	p = sc_metrics_steal(&m, &len);
	assert_string_equal(p, "up 1\n");
	assert_int_equal(len, 5);
	assert_null(m.buf);
	assert_int_equal(m.len, 0);
	free(p);
	sc_metrics_free(&m);
}

static void test_many(void **state)
{
	sc_metrics m;
	char v[16];
	int i;

	(void)state;
	sc_metrics_init(&m);
	sc_metrics_family(&m, "n", "counter", "Many.");
	for (i = 0; i < 5000; i++) {
		snprintf(v, sizeof(v), "s%d", i);
		sc_metrics_sample(&m, "n", (const char *[]){"stream", v, NULL}, i);
	}
	assert_int_equal(m.oom, 0);
	assert_non_null(strstr(sc_metrics_data(&m), "n{stream=\"s4999\"} 4999\n"));
	assert_int_equal(sc_metrics_len(&m), strlen(sc_metrics_data(&m)));
	sc_metrics_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_case), cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_values),	   cmocka_unit_test(test_empty_and_steal),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
