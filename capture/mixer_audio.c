/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mixer_audio.c - sum and soft limiter.
 */
#include "mixer_audio.h"

#include <math.h>
#include <string.h>

#define L SC_LIMIT_LOOKAHEAD

void sc_mixaud_add(float *acc, const float *in, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		acc[i] += in[i];
}

void sc_limiter_init(sc_limiter *l, int rate)
{
	memset(l, 0, sizeof(*l));
	l->release = 1.0f - expf(-1.0f / (0.300f * (float)rate));
	for (size_t i = 0; i < L; i++) {
		l->need[i] = 1.0f;
		l->held[i] = 1.0f;
	}
	l->held_sum = L;
	l->last = 1.0f;
}

/* Identity below the knee, then a tanh curve that approaches 1.0. */
static float soft_knee(float x)
{
	const float knee = SC_LIMIT_THRESHOLD;
	float a = fabsf(x);
	if (a <= knee)
		return x;
	float y = knee + (1.0f - knee) * tanhf((a - knee) / (1.0f - knee));
	if (y > 0.99999f)
		y = 0.99999f;
	return x < 0 ? -y : y;
}

void sc_limiter_run(sc_limiter *l, float *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float *s = buf + 2 * i;
		float in[2] = {isfinite(s[0]) ? s[0] : 0, isfinite(s[1]) ? s[1] : 0};
		float peak = fmaxf(fabsf(in[0]), fabsf(in[1]));
		size_t p = l->pos;
		/* the oldest frame leaves the delay line now */
		size_t out = (p + 1) % L;
		float o0 = l->delay[2 * out], o1 = l->delay[2 * out + 1];
		l->delay[2 * p] = in[0];
		l->delay[2 * p + 1] = in[1];
		float need = peak > SC_LIMIT_THRESHOLD ? SC_LIMIT_THRESHOLD / peak : 1.0f;
		l->n_limited += (need < 1.0f) - (l->need[p] < 1.0f);
		l->need[p] = need;
		/* Minimum need over the look-ahead, recovering slowly. Ordinary
		 * levels need no gain change at all: skip the scan then (it was
		 * the capture's hottest loop, once per sample frame). */
		float m = 1.0f;
		if (l->n_limited)
			for (size_t k = 0; k < L; k++)
				m = l->need[k] < m ? l->need[k] : m; /* finite: no fminf */
		float rec = l->last + (1.0f - l->last) * l->release;
		float h = fminf(m, rec);
		l->last = h;
		l->held_sum += (double)h - l->held[p];
		l->held[p] = h;
		float gain = (float)(l->held_sum / L);
		l->pos = out;
		if (!out) { /* no drift in the running sum */
			l->held_sum = 0;
			for (size_t k = 0; k < L; k++)
				l->held_sum += l->held[k];
		}
		s[0] = soft_knee(o0 * gain);
		s[1] = soft_knee(o1 * gain);
	}
}
