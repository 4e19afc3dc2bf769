/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c - one line per event on stderr, written with a single write(2).
 *
 * Under systemd (stderr connected to the journal, see JOURNAL_STREAM in
 * systemd.exec(5)) the level is given as an sd-daemon(3) "<N>" prefix
 * instead of a word, so journald records the priority.
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_LINE_MAX	  2048
#define LOG_COMPONENT_MAX 32
#define LOG_STREAM_MAX	  160

static char log_component[LOG_COMPONENT_MAX] = "stagecast";
static int log_level = SC_LOG_INFO;
static int log_journal = -1; /* -1 not checked yet, 0 no, 1 yes */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_words[] = {"error: ", "warning: ", "", "debug: "};
static const char level_prio[] = {'3', '4', '6', '7'};

/* stderr is the journal stream named in JOURNAL_STREAM ("DEV:INODE"). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!e || !*e || isatty(STDERR_FILENO))
		return false;
	if (sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void sc_log_init(const char *component)
{
	if (component && *component)
		snprintf(log_component, sizeof(log_component), "%s", component);
	__atomic_store_n(&log_journal, stderr_is_journal() ? 1 : 0, __ATOMIC_RELAXED);
}

void sc_log_set_level(sc_log_level level)
{
	if ((int)level < SC_LOG_ERROR)
		level = SC_LOG_ERROR;
	if ((int)level > SC_LOG_DEBUG)
		level = SC_LOG_DEBUG;
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

sc_log_level sc_log_get_level(void)
{
	return (sc_log_level)__atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int sc_log_level_parse(const char *s, sc_log_level *ret)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*ret = (sc_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*ret = SC_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *sc_log_level_name(sc_log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

/*
 * Copy src into dst[*pos..cap), replacing control characters so that one
 * event stays one line. Returns true if src did not fit.
 */
static bool put_clean(char *dst, size_t *pos, size_t cap, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];

		if (*pos >= cap)
			return true;
		dst[(*pos)++] = (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c;
	}
	return false;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Repeated here with the attribute so the compiler checks the callers' formats. */
void sc_logv(sc_log_level level, const char *stream, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void sc_logv(sc_log_level level, const char *stream, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	char msg[LOG_LINE_MAX];
	size_t pos = 0, cap = sizeof(line) - 1; /* room for '\n' */
	int saved_errno = errno;
	bool trunc = false;
	int journal, n;
	size_t mlen;

	if ((int)level < SC_LOG_ERROR || (int)level > SC_LOG_DEBUG)
		level = SC_LOG_ERROR;
	if ((int)level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
		return;
	journal = __atomic_load_n(&log_journal, __ATOMIC_RELAXED);
	if (journal < 0) {
		journal = stderr_is_journal() ? 1 : 0;
		__atomic_store_n(&log_journal, journal, __ATOMIC_RELAXED);
	}

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0) {
		snprintf(msg, sizeof(msg), "(unformattable log message)");
		n = (int)strlen(msg);
	}
	mlen = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r'))
		mlen--;

	if (journal) {
		line[pos++] = '<';
		line[pos++] = level_prio[level];
		line[pos++] = '>';
	}
	put_clean(line, &pos, cap, log_component, strlen(log_component));
	if (stream) {
		put_clean(line, &pos, cap, "[", 1);
		put_clean(line, &pos, cap, stream, strnlen(stream, LOG_STREAM_MAX));
		put_clean(line, &pos, cap, "]", 1);
	}
	put_clean(line, &pos, cap, ": ", 2);
	if (!journal)
		put_clean(line, &pos, cap, level_words[level], strlen(level_words[level]));
	trunc = put_clean(line, &pos, cap, msg, mlen) || (size_t)n >= sizeof(msg);
	if (trunc) {
		/* Truncated: say so at the end of the line. */
		if (pos > cap - 3)
			pos = cap - 3;
		memcpy(line + pos, "...", 3);
		pos += 3;
	}
	line[pos++] = '\n';
	write_all(line, pos);
	errno = saved_errno;
}

void sc_log(sc_log_level level, const char *stream, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sc_logv(level, stream, fmt, ap);
	va_end(ap);
}
