/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h - Prometheus text exposition format (version 0.0.4), built into
 * a growable buffer on each scrape. No registry: each daemon walks its own
 * state and writes families in order.
 *
 *   sc_metrics m; sc_metrics_init(&m);
 *   sc_metrics_family(&m, "stagecast_relay_streams", "gauge", "Streams with a publisher.");
 *   sc_metrics_sample(&m, "stagecast_relay_streams", NULL, 3);
 *   sc_metrics_family(&m, "stagecast_relay_bytes_in_total", "counter", "...");
 *   sc_metrics_sample(&m, "stagecast_relay_bytes_in_total",
 *                     (const char *[]){"stream", "k1", NULL}, 12345);
 *   ... sc_metrics_data(&m), sc_metrics_len(&m) ...
 *   sc_metrics_free(&m);
 *
 * Label values are escaped (backslash, quote, newline). Callers never put
 * stream keys or tokens into labels.
 */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stddef.h>

typedef struct {
	char *buf;
	size_t len, cap;
	int oom; /* set when an allocation failed; output is then truncated */
} sc_metrics;

void sc_metrics_init(sc_metrics *m);
void sc_metrics_free(sc_metrics *m);
/* type: "counter" or "gauge". */
void sc_metrics_family(sc_metrics *m, const char *name, const char *type, const char *help);
/* labels: NULL, or a NULL-terminated list of key, value pairs. */
void sc_metrics_sample(sc_metrics *m, const char *name, const char *const *labels, double value);
const char *sc_metrics_data(const sc_metrics *m);
size_t sc_metrics_len(const sc_metrics *m);
/* Hand the buffer over (caller frees it); m is reset. */
char *sc_metrics_steal(sc_metrics *m, size_t *ret_len);

#endif
