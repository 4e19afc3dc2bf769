/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - one line per event, with the component and the stream name.
 *
 *   "relay[k1-janson]: push rtmp://ingest.example/live/" "*** failed: ..., retry in 4s"
 *
 * Lines go to stderr (journald picks them up under systemd). Stream keys and
 * tokens must never be passed in: callers redact URLs with sc_url_redact()
 * first. Thread-safe: a line is formatted into one buffer and written with a
 * single write(2), so lines from different threads never interleave.
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>

typedef enum {
	SC_LOG_ERROR = 0,
	SC_LOG_WARN = 1,
	SC_LOG_INFO = 2,
	SC_LOG_DEBUG = 3,
} sc_log_level;

/* Set the component printed on every line ("relay", "capture", ...). */
void sc_log_init(const char *component);
void sc_log_set_level(sc_log_level level);
sc_log_level sc_log_get_level(void);
/* Parse "error", "warn", "info", "debug". Returns 0 or -EINVAL. */
int sc_log_level_parse(const char *s, sc_log_level *ret);
/* "error", "warn", "info" or "debug"; "?" for anything else. */
const char *sc_log_level_name(sc_log_level level);

/* stream may be NULL for lines that concern no stream. */
void sc_log(sc_log_level level, const char *stream, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sc_logv(sc_log_level level, const char *stream, const char *fmt, va_list ap);

#define sc_log_error(stream, ...) sc_log(SC_LOG_ERROR, stream, __VA_ARGS__)
#define sc_log_warn(stream, ...)  sc_log(SC_LOG_WARN, stream, __VA_ARGS__)
#define sc_log_info(stream, ...)  sc_log(SC_LOG_INFO, stream, __VA_ARGS__)
#define sc_log_debug(stream, ...)                                  \
	do {                                                       \
		if (sc_log_get_level() >= SC_LOG_DEBUG)            \
			sc_log(SC_LOG_DEBUG, stream, __VA_ARGS__); \
	} while (0)

#endif
