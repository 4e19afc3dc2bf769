/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "mixer_audio.h"

#define RATE 48000
#define N    RATE /* 1 s */

static void sine(float *buf, size_t n, double f, double amp)
{
	for (size_t i = 0; i < n; i++) {
		float v = (float)(amp * sin(2 * M_PI * f * (double)i / RATE));
		buf[2 * i] = v;
		buf[2 * i + 1] = v;
	}
}

/* Amplitude of the component at f (left channel, frames [from, n)). */
static double amplitude(const float *buf, size_t from, size_t n, double f)
{
	double re = 0, im = 0;
	for (size_t i = from; i < n; i++) {
		double ph = 2 * M_PI * f * (double)i / RATE;
		re += buf[2 * i] * cos(ph);
		im += buf[2 * i] * sin(ph);
	}
	return 2 * sqrt(re * re + im * im) / (double)(n - from);
}

/* Energy left after removing the components at f1 and f2, relative to all. */
static double residual(const float *buf, size_t from, size_t n, double f1, double f2)
{
	double c[4] = {0}, total = 0, left = 0;
	double f[2] = {f1, f2};
	for (int k = 0; k < 2; k++)
		for (size_t i = from; i < n; i++) {
			double ph = 2 * M_PI * f[k] * (double)i / RATE;
			c[2 * k] += buf[2 * i] * cos(ph);
			c[2 * k + 1] += buf[2 * i] * sin(ph);
		}
	for (int k = 0; k < 4; k++)
		c[k] *= 2.0 / (double)(n - from);
	for (size_t i = from; i < n; i++) {
		double fit = 0;
		for (int k = 0; k < 2; k++) {
			double ph = 2 * M_PI * f[k] * (double)i / RATE;
			fit += c[2 * k] * cos(ph) + c[2 * k + 1] * sin(ph);
		}
		total += (double)buf[2 * i] * buf[2 * i];
		left += (buf[2 * i] - fit) * (buf[2 * i] - fit);
	}
	return left / total;
}

static void test_sum_two_sines(void **state)
{
	(void)state;
	float *acc = calloc(2 * N, sizeof(float)), *in = calloc(2 * N, sizeof(float));
	sine(in, N, 440, 0.3);
	sc_mixaud_add(acc, in, N);
	sine(in, N, 880, 0.3);
	sc_mixaud_add(acc, in, N);
	sc_limiter l;
	sc_limiter_init(&l, RATE);
	for (size_t i = 0; i < N; i += 1024)
		sc_limiter_run(&l, acc + 2 * i, N - i < 1024 ? N - i : 1024);
	/* the limiter delays by its look-ahead, and does nothing else here */
	size_t from = SC_LIMIT_LOOKAHEAD;
	assert_true(fabs(amplitude(acc, from, N, 440) - 0.3) < 0.01);
	assert_true(fabs(amplitude(acc, from, N, 880) - 0.3) < 0.01);
	assert_true(amplitude(acc, from, N, 660) < 0.01);
	assert_true(residual(acc, from, N, 440, 880) < 1e-6);
	free(acc);
	free(in);
}

static void test_limiter_loud(void **state)
{
	(void)state;
	float *acc = calloc(2 * N, sizeof(float)), *in = calloc(2 * N, sizeof(float));
	float *hard = calloc(2 * N, sizeof(float));
	sine(in, N, 440, 0.9);
	sc_mixaud_add(acc, in, N);
	sine(in, N, 880, 0.9);
	sc_mixaud_add(acc, in, N); /* peaks near 1.6 */
	for (size_t i = 0; i < 2 * N; i++)
		hard[i] = acc[i] > 1 ? 1 : acc[i] < -1 ? -1 : acc[i];
	sc_limiter l;
	sc_limiter_init(&l, RATE);
	for (size_t i = 0; i < N; i += 960)
		sc_limiter_run(&l, acc + 2 * i, N - i < 960 ? N - i : 960);
	size_t at_max = 0;
	float peak = 0;
	for (size_t i = 0; i < 2 * N; i++) {
		float a = fabsf(acc[i]);
		assert_true(a <= 1.0f);
		if (a > 0.999f)
			at_max++;
		if (a > peak)
			peak = a;
	}
	/* no flat tops, and it stays loud */
	assert_int_equal(at_max, 0);
	assert_true(peak > 0.85f);
	/* both tones there, much less distortion than clipping */
	size_t from = RATE / 20;
	assert_true(amplitude(acc, from, N, 440) > 0.4);
	assert_true(amplitude(acc, from, N, 880) > 0.4);
	double soft = residual(acc, from, N, 440, 880);
	double clip = residual(hard, from, N, 440, 880);
	print_message("residual: limiter %.5f, hard clip %.5f\n", soft, clip);
	assert_true(soft < 0.01);
	assert_true(soft < clip / 3);
	free(acc);
	free(in);
	free(hard);
}

static void test_limiter_bad_input(void **state)
{
	(void)state;
	float buf[8] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.5f, 100.0f, -100.0f};
	sc_limiter l;
	sc_limiter_init(&l, RATE);
	sc_limiter_run(&l, buf, 4);
	for (int i = 0; i < 8; i++)
		assert_true(isfinite(buf[i]) && fabsf(buf[i]) <= 1.0f);
	/* the gain recovers after a spike */
	float *b = calloc(4 * N, sizeof(float));
	sine(b, 2 * N, 440, 0.5);
	sc_limiter_run(&l, b, 2 * N);
	assert_true(amplitude(b, 3 * N / 2, 2 * N, 440) > 0.48);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum_two_sines),
		cmocka_unit_test(test_limiter_loud),
		cmocka_unit_test(test_limiter_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
