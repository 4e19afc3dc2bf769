/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c - Prometheus text format 0.0.4 writer.
 */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A scrape bigger than this is a bug: stop growing and mark oom. */
#define METRICS_MAX ((size_t)64 << 20)

void sc_metrics_init(sc_metrics *m)
{
	m->buf = NULL;
	m->len = 0;
	m->cap = 0;
	m->oom = 0;
}

void sc_metrics_free(sc_metrics *m)
{
	if (!m)
		return;
	free(m->buf);
	sc_metrics_init(m);
}

static int grow(sc_metrics *m, size_t extra)
{
	size_t ncap;
	char *p;

	if (m->oom)
		return -1;
	if (extra >= METRICS_MAX - m->len) {
		m->oom = 1;
		return -1;
	}
	if (m->len + extra + 1 <= m->cap)
		return 0;
	ncap = m->cap ? m->cap : 1024;
	while (ncap < m->len + extra + 1)
		ncap *= 2;
	p = realloc(m->buf, ncap);
	if (!p) {
		m->oom = 1;
		return -1;
	}
	m->buf = p;
	m->cap = ncap;
	return 0;
}

static void put(sc_metrics *m, const char *s, size_t n)
{
	if (grow(m, n) < 0)
		return;
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

static void puts_(sc_metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

/* Escape backslash, newline and (for label values) double quote. */
static void put_escaped(sc_metrics *m, const char *s, int quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep = NULL;

		if (*s == '\\')
			rep = "\\\\";
		else if (*s == '\n')
			rep = "\\n";
		else if (quote && *s == '"')
			rep = "\\\"";
		if (!rep)
			continue;
		put(m, run, (size_t)(s - run));
		puts_(m, rep);
		run = s + 1;
	}
	put(m, run, (size_t)(s - run));
}

void sc_metrics_family(sc_metrics *m, const char *name, const char *type, const char *help)
{
	puts_(m, "# HELP ");
	puts_(m, name);
	puts_(m, " ");
	put_escaped(m, help ? help : "", 0);
	puts_(m, "\n# TYPE ");
	puts_(m, name);
	puts_(m, " ");
	puts_(m, type ? type : "untyped");
	puts_(m, "\n");
}

/* Integers print as integers (12345, not 1.2345e+04); others round-trip. */
static void format_value(double v, char *out, size_t outlen)
{
	if (isnan(v)) {
		snprintf(out, outlen, "NaN");
	} else if (isinf(v)) {
		snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
	} else if (v == 0) {
		snprintf(out, outlen, "0");
	} else if (v > -1e18 && v < 1e18 && v == (double)(long long)v) {
		snprintf(out, outlen, "%lld", (long long)v);
	} else {
		snprintf(out, outlen, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, outlen, "%.17g", v);
	}
}

void sc_metrics_sample(sc_metrics *m, const char *name, const char *const *labels, double value)
{
	char num[64];
	size_t i;

	puts_(m, name);
	if (labels && labels[0]) {
		puts_(m, "{");
		for (i = 0; labels[i] && labels[i + 1]; i += 2) {
			if (i)
				puts_(m, ",");
			puts_(m, labels[i]);
			puts_(m, "=\"");
			put_escaped(m, labels[i + 1], 1);
			puts_(m, "\"");
		}
		puts_(m, "}");
	}
	format_value(value, num, sizeof(num));
	puts_(m, " ");
	puts_(m, num);
	puts_(m, "\n");
}

const char *sc_metrics_data(const sc_metrics *m)
{
	return m->buf ? m->buf : "";
}

size_t sc_metrics_len(const sc_metrics *m)
{
	return m->len;
}

char *sc_metrics_steal(sc_metrics *m, size_t *ret_len)
{
	char *p = m->buf;

	if (!p)
		p = calloc(1, 1);
	if (ret_len)
		*ret_len = p ? m->len : 0;
	sc_metrics_init(m);
	return p;
}
