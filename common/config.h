/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - one option table serves the command line, the config file and
 * --help, the way systemd's conf-parser tables do.
 *
 * An option "push" is "--push VALUE" on the command line and "push = VALUE"
 * in the config file (inih syntax; sections are allowed and ignored for
 * lookup, so "[relay]\npush = ..." works). Command-line values win over the
 * file: the file is read first, then the flags are applied again.
 * "--config FILE" is handled by sc_config_parse() itself.
 */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	SC_OPT_STRING,	 /* char **, heap string or NULL; a new value frees the old */
	SC_OPT_LIST,	 /* sc_strlist *, each occurrence appends */
	SC_OPT_INT,	 /* int64_t *, range-checked by min/max */
	SC_OPT_BOOL,	 /* bool *; flag without value on the command line,
			    "yes/no/true/false/1/0/on/off" in the file */
	SC_OPT_ADDR,	 /* char ** holding "HOST:PORT"; validated */
	SC_OPT_DURATION, /* int64_t * milliseconds; "250ms", "2s", "1m", "1h", "7d", "3" (s) */
	SC_OPT_SIZE,	 /* int64_t * bytes; "512k", "8M", "1G", "100" */
	SC_OPT_LOGLEVEL, /* sc_log_level * (log.h); "error", "warn", "info", "debug" */
} sc_opt_type;

typedef struct {
	char **v;
	size_t n;
} sc_strlist;

void sc_strlist_add(sc_strlist *l, const char *s);
void sc_strlist_clear(sc_strlist *l);

typedef struct {
	const char *name; /* long flag and config key */
	char short_name;  /* 0 for none */
	sc_opt_type type;
	void *ptr;
	const char *metavar; /* "ADDR:PORT" in --help; NULL for bool */
	const char *help;    /* one line; the default is appended by --help */
	int64_t min, max;    /* SC_OPT_INT only; both 0 means unbounded */
} sc_option;

typedef struct {
	const char *program;  /* "stagecast-relay" */
	const char *synopsis; /* one paragraph printed by --help */
	const char *epilog;   /* exit codes, examples; may be NULL */
	const sc_option *options;
	size_t n_options;
} sc_config_spec;

/*
 * Parse argv (and the --config file, if given). Returns:
 *   0          go on
 *   1          --help or --version was printed; exit 0
 *   -EINVAL    a bad flag, value or file line; the message (one line,
 *              naming the flag or file:line) is written to err.
 * Positional arguments are an error.
 */
int sc_config_parse(const sc_config_spec *spec, int argc, char **argv, char *err, size_t errlen);

/* Free every string and list option's value (set to NULL / empty). */
void sc_config_free(const sc_config_spec *spec);

/* Print the --help text for spec to stdout, with current values as defaults. */
void sc_config_print_help(const sc_config_spec *spec);

/* Parse helpers also used by the API code. Return 0 or -EINVAL. */
int sc_parse_duration_ms(const char *s, int64_t *ret);
int sc_parse_size(const char *s, int64_t *ret);
int sc_parse_bool(const char *s, bool *ret);
/* "HOST:PORT", "[V6]:PORT" or ":PORT" (host empty means all). */
int sc_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
