/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - one option table for the command line, the config file and
 * --help.
 *
 * Order of sources: the values the program set before the call (defaults),
 * then the --config file, then the flags. A list option given in a source
 * replaces what earlier sources put there; within one source each
 * occurrence appends (an empty value clears the list).
 */
#include "config.h"
#include "log.h"

#include "sc_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#define CFG_LINE_MAX 512

enum { SRC_FILE = 1, SRC_FLAGS = 2 };

/* getopt_long values for the built-in options and the table entries. */
enum { OPT_HELP = 0x1000, OPT_VERSION, OPT_CONFIG, OPT_TABLE };

typedef struct {
	const sc_config_spec *spec;
	int *list_source; /* source that last wrote each list option */
	char *err;
	size_t errlen;
	/* config file state */
	const char *path;
	FILE *file;
	int lineno;
	bool overlong;
	int err_line; /* first line with an error, 0 if none */
} cfg_ctx;

void sc_strlist_add(sc_strlist *l, const char *s)
{
	char **v;
	char *d;

	if (l->n >= SIZE_MAX / sizeof(char *) - 1)
		return;
	d = strdup(s);
	if (!d)
		return;
	v = realloc(l->v, (l->n + 2) * sizeof(char *));
	if (!v) {
		free(d);
		return;
	}
	v[l->n++] = d;
	v[l->n] = NULL;
	l->v = v;
}

void sc_strlist_clear(sc_strlist *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- value parsers ---- */

/* Parse an unsigned decimal prefix; returns the end or NULL on overflow or no digits. */
static const char *parse_u63(const char *s, int64_t *ret)
{
	int64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return NULL;
	for (; isdigit((unsigned char)*s); s++) {
		int d = *s - '0';

		if (v > (INT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	*ret = v;
	return s;
}

static int mul_check(int64_t v, int64_t m, int64_t *ret)
{
	if (v > INT64_MAX / m)
		return -EINVAL;
	*ret = v * m;
	return 0;
}

int sc_parse_duration_ms(const char *s, int64_t *ret)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = {
		{"", 1000},	{"ms", 1},	{"s", 1000},	 {"m", 60000},
		{"min", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	const char *end;
	int64_t v;
	size_t i;

	if (!s)
		return -EINVAL;
	end = parse_u63(s, &v);
	if (!end)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			return mul_check(v, units[i].ms, ret);
	return -EINVAL;
}

int sc_parse_size(const char *s, int64_t *ret)
{
	const char *end;
	int64_t v, m;

	if (!s)
		return -EINVAL;
	end = parse_u63(s, &v);
	if (!end)
		return -EINVAL;
	switch (*end) {
	case '\0':
		m = 1;
		break;
	case 'k':
	case 'K':
		m = INT64_C(1) << 10;
		break;
	case 'm':
	case 'M':
		m = INT64_C(1) << 20;
		break;
	case 'g':
	case 'G':
		m = INT64_C(1) << 30;
		break;
	case 't':
	case 'T':
		m = INT64_C(1) << 40;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] != '\0')
		return -EINVAL;
	return mul_check(v, m, ret);
}

int sc_parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "1", "on"};
	static const char *const no[] = {"no", "false", "0", "off"};
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static bool hostname_valid(const char *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return false;
	}
	return true;
}

int sc_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h, *colon;
	char v6[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;
	int64_t p;
	size_t hn;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hn = (size_t)(close - h);
		if (hn == 0 || hn >= sizeof(v6))
			return -EINVAL;
		memcpy(v6, h, hn);
		v6[hn] = '\0';
		if (inet_pton(AF_INET6, v6, &a6) != 1)
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		h = s;
		hn = (size_t)(colon - s);
		if (memchr(h, ':', hn) || !hostname_valid(h, hn))
			return -EINVAL;
	}
	if (hn >= hostlen || colon[1] == '\0' || strlen(colon + 1) > 5)
		return -EINVAL;
	if (parse_u63(colon + 1, &p) != colon + 1 + strlen(colon + 1) || p > 65535)
		return -EINVAL;
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port = (uint16_t)p;
	return 0;
}

/* ---- applying values ---- */

static void set_err(cfg_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(cfg_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->err || c->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

static const char *type_expect(sc_opt_type t)
{
	switch (t) {
	case SC_OPT_INT:
		return "an integer";
	case SC_OPT_BOOL:
		return "yes, no, true, false, on, off, 1 or 0";
	case SC_OPT_ADDR:
		return "HOST:PORT, [IPV6]:PORT or :PORT";
	case SC_OPT_DURATION:
		return "a duration like 250ms, 2s, 1m, 1h or 3 (seconds)";
	case SC_OPT_SIZE:
		return "a size like 100, 512k, 8M or 1G";
	case SC_OPT_LOGLEVEL:
		return "error, warn, info or debug";
	default:
		return "a value";
	}
}

static int set_string(cfg_ctx *c, size_t i, const char *value)
{
	char **p = c->spec->options[i].ptr;
	char *d = strdup(value);

	if (!d)
		return -ENOMEM;
	free(*p);
	*p = d;
	return 0;
}

/*
 * Apply value to option i. where is "--name" or "FILE:LINE: name" for
 * messages. value is NULL only for a bool flag without "=VALUE".
 */
static int apply(cfg_ctx *c, size_t i, int source, const char *where, const char *value)
{
	const sc_option *o = &c->spec->options[i];
	char host[256];
	uint16_t port;
	sc_log_level lvl;
	int64_t v;
	bool b;
	int r = 0;

	if (!value && o->type != SC_OPT_BOOL) {
		set_err(c, "%s: a value is required", where);
		return -EINVAL;
	}
	switch (o->type) {
	case SC_OPT_STRING:
		r = set_string(c, i, value);
		break;
	case SC_OPT_LIST: {
		sc_strlist *l = o->ptr;
		size_t before;

		if (c->list_source[i] != source) {
			sc_strlist_clear(l);
			c->list_source[i] = source;
		}
		if (!*value) {
			sc_strlist_clear(l);
			break;
		}
		before = l->n;
		sc_strlist_add(l, value);
		if (l->n == before)
			r = -ENOMEM;
		break;
	}
	case SC_OPT_INT: {
		const char *s = value, *end;
		bool neg = *s == '-';

		if (*s == '-' || *s == '+')
			s++;
		end = parse_u63(s, &v);
		if (!end || *end) {
			set_err(c, "%s: invalid value \"%s\": must be an integer", where, value);
			return -EINVAL;
		}
		if (neg)
			v = -v;
		if ((o->min || o->max) && (v < o->min || v > o->max)) {
			set_err(c,
				"%s: invalid value \"%s\": must be between %" PRId64
				" and %" PRId64,
				where, value, o->min, o->max);
			return -EINVAL;
		}
		*(int64_t *)o->ptr = v;
		break;
	}
	case SC_OPT_BOOL:
		if (!value) {
			b = true;
		} else if (sc_parse_bool(value, &b) < 0) {
			set_err(c, "%s: invalid value \"%s\": must be %s", where, value,
				type_expect(o->type));
			return -EINVAL;
		}
		*(bool *)o->ptr = b;
		break;
	case SC_OPT_ADDR:
		if (sc_parse_hostport(value, host, sizeof(host), &port) < 0) {
			set_err(c, "%s: invalid value \"%s\": must be %s", where, value,
				type_expect(o->type));
			return -EINVAL;
		}
		r = set_string(c, i, value);
		break;
	case SC_OPT_DURATION:
	case SC_OPT_SIZE:
		r = o->type == SC_OPT_DURATION ? sc_parse_duration_ms(value, &v)
					       : sc_parse_size(value, &v);
		if (r < 0) {
			set_err(c, "%s: invalid value \"%s\": must be %s", where, value,
				type_expect(o->type));
			return -EINVAL;
		}
		*(int64_t *)o->ptr = v;
		break;
	case SC_OPT_LOGLEVEL:
		if (sc_log_level_parse(value, &lvl) < 0) {
			set_err(c, "%s: invalid value \"%s\": must be %s", where, value,
				type_expect(o->type));
			return -EINVAL;
		}
		*(sc_log_level *)o->ptr = lvl;
		break;
	default:
		set_err(c, "%s: option has an unknown type", where);
		return -EINVAL;
	}
	if (r == -ENOMEM)
		set_err(c, "%s: out of memory", where);
	return r;
}

/* ---- config file ---- */

/* "push_target" in a file matches "push-target" in the table. */
static bool key_matches(const char *key, const char *name)
{
	for (; *key && *name; key++, name++) {
		char a = *key == '_' ? '-' : *key;
		char b = *name == '_' ? '-' : *name;

		if (a != b)
			return false;
	}
	return *key == *name;
}

/* fgets-style reader that counts lines and notices lines that do not fit. */
static char *cfg_reader(char *str, int num, void *stream)
{
	cfg_ctx *c = stream;
	size_t n;
	int ch;

	if (!fgets(str, num, c->file))
		return NULL;
	c->lineno++;
	c->overlong = false;
	n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(c->file)) {
		c->overlong = true;
		while ((ch = fgetc(c->file)) != EOF && ch != '\n')
			;
		if (!c->err_line) {
			c->err_line = c->lineno;
			set_err(c, "%s:%d: line too long (at most %d characters)", c->path,
				c->lineno, num - 3);
		}
	}
	return str;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	cfg_ctx *c = user;
	char where[CFG_LINE_MAX];
	size_t i;

	(void)section;
	if (c->err_line)
		return 0;
	snprintf(where, sizeof(where), "%s:%d: %s", c->path, c->lineno, name);
	for (i = 0; i < c->spec->n_options; i++) {
		if (key_matches(name, c->spec->options[i].name)) {
			if (apply(c, i, SRC_FILE, where, value ? value : "") < 0) {
				c->err_line = c->lineno;
				return 0;
			}
			return 1;
		}
	}
	c->err_line = c->lineno;
	set_err(c, "%s:%d: unknown option \"%s\"", c->path, c->lineno, name);
	return 0;
}

static int load_file(cfg_ctx *c, const char *path)
{
	int r, saved;

	c->path = path;
	c->lineno = 0;
	c->err_line = 0;
	c->file = fopen(path, "re");
	if (!c->file) {
		saved = errno;
		set_err(c, "--config: cannot open %s: %s", path, strerror(saved));
		return -EINVAL;
	}
	r = ini_parse_stream(cfg_reader, c, cfg_handler, c);
	fclose(c->file);
	c->file = NULL;
	if (r == 0 && !c->err_line)
		return 0;
	if (r < 0) {
		set_err(c, "%s: cannot parse: out of memory", path);
		return -ENOMEM;
	}
	if (!c->err_line || r < c->err_line)
		set_err(c, "%s:%d: syntax error: expected \"name = value\"", path, r);
	return -EINVAL;
}

/* ---- command line ---- */

static struct option *build_longopts(const sc_config_spec *spec, char *shortopts, size_t slen)
{
	struct option *lo = calloc(spec->n_options + 4, sizeof(*lo));
	bool h_taken = false, c_taken = false;
	size_t i, k = 0, s = 0;

	if (!lo)
		return NULL;
	shortopts[s++] = ':';
	for (i = 0; i < spec->n_options; i++) {
		const sc_option *o = &spec->options[i];

		lo[i].name = o->name;
		lo[i].has_arg = o->type == SC_OPT_BOOL ? optional_argument : required_argument;
		lo[i].val = OPT_TABLE + (int)i;
		if (o->short_name == 'h')
			h_taken = true;
		if (o->short_name == 'c')
			c_taken = true;
		if (o->short_name && s + 3 < slen) {
			shortopts[s++] = o->short_name;
			if (o->type != SC_OPT_BOOL)
				shortopts[s++] = ':';
		}
	}
	k = spec->n_options;
	lo[k++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	lo[k++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
	lo[k++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
	if (!h_taken && s + 2 < slen)
		shortopts[s++] = 'h';
	if (!c_taken && s + 3 < slen) {
		shortopts[s++] = 'c';
		shortopts[s++] = ':';
	}
	shortopts[s] = '\0';
	return lo;
}

/* Map a getopt result to OPT_* or OPT_TABLE + index; -1 if unknown. */
static int map_opt(const sc_config_spec *spec, int ch)
{
	size_t i;

	if (ch >= OPT_HELP)
		return ch;
	for (i = 0; i < spec->n_options; i++)
		if (spec->options[i].short_name && spec->options[i].short_name == ch)
			return OPT_TABLE + (int)i;
	if (ch == 'h')
		return OPT_HELP;
	if (ch == 'c')
		return OPT_CONFIG;
	return -1;
}

static void getopt_error(cfg_ctx *c, int ch, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':') {
		if (optopt && optopt < 0x100)
			set_err(c, "-%c: a value is required", optopt);
		else
			set_err(c, "%s: a value is required", arg);
	} else if (optopt && optopt < 0x100) {
		set_err(c, "unknown option -%c (see --help)", optopt);
	} else if (optopt >= OPT_HELP) {
		set_err(c, "%s: does not take a value", arg);
	} else {
		set_err(c, "unknown option %s (see --help)", arg);
	}
}

int sc_config_parse(const sc_config_spec *spec, int argc, char **argv, char *err, size_t errlen)
{
	cfg_ctx c = {.spec = spec, .err = err, .errlen = errlen};
	char shortopts[256];
	struct option *lo = NULL;
	const char *config_path = NULL;
	int r = -ENOMEM, ch, idx;

	if (err && errlen)
		err[0] = '\0';
	if (argc < 1 || !argv)
		return 0;
	c.list_source = calloc(spec->n_options + 1, sizeof(int));
	lo = build_longopts(spec, shortopts, sizeof(shortopts));
	if (!c.list_source || !lo) {
		set_err(&c, "out of memory");
		goto out;
	}

	/* Pass 1: syntax, --help, --version, --config. */
	opterr = 0;
	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, lo, &idx)) != -1) {
		int id = ch == '?' || ch == ':' ? -1 : map_opt(spec, ch);

		if (id < 0) {
			getopt_error(&c, ch, argv);
			r = -EINVAL;
			goto out;
		}
		if (id == OPT_HELP) {
			sc_config_print_help(spec);
			r = 1;
			goto out;
		}
		if (id == OPT_VERSION) {
			printf("%s %s\n", spec->program ? spec->program : "stagecast", SC_VERSION);
			fflush(stdout);
			r = 1;
			goto out;
		}
		if (id == OPT_CONFIG)
			config_path = optarg;
	}
	if (optind < argc) {
		set_err(&c, "unexpected argument \"%s\" (see --help)", argv[optind]);
		r = -EINVAL;
		goto out;
	}

	if (config_path) {
		r = load_file(&c, config_path);
		if (r < 0)
			goto out;
	}

	/* Pass 2: apply the flags over the file. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, shortopts, lo, &idx)) != -1) {
		int id = map_opt(spec, ch);
		char where[128];
		size_t i;

		if (id < OPT_TABLE)
			continue;
		i = (size_t)(id - OPT_TABLE);
		snprintf(where, sizeof(where), "--%s", spec->options[i].name);
		r = apply(&c, i, SRC_FLAGS, where, optarg);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	optind = 0;
	free(lo);
	free(c.list_source);
	return r;
}

/* ---- --help ---- */

static void format_duration(int64_t ms, char *out, size_t outlen)
{
	if (ms != 0 && ms % 86400000 == 0)
		snprintf(out, outlen, "%" PRId64 "d", ms / 86400000);
	else if (ms != 0 && ms % 3600000 == 0)
		snprintf(out, outlen, "%" PRId64 "h", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(out, outlen, "%" PRId64 "m", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(out, outlen, "%" PRId64 "s", ms / 1000);
	else
		snprintf(out, outlen, "%" PRId64 "ms", ms);
}

static void format_size(int64_t v, char *out, size_t outlen)
{
	static const char units[] = "TGMk";
	int shift = 40;
	size_t i;

	for (i = 0; i < 4; i++, shift -= 10) {
		int64_t m = INT64_C(1) << shift;

		if (v != 0 && v % m == 0) {
			snprintf(out, outlen, "%" PRId64 "%c", v / m, units[i]);
			return;
		}
	}
	snprintf(out, outlen, "%" PRId64, v);
}

static void print_default(const sc_option *o)
{
	char t[64];

	switch (o->type) {
	case SC_OPT_STRING:
	case SC_OPT_ADDR: {
		const char *s = *(char *const *)o->ptr;

		if (s && *s)
			printf(" (default: %s)", s);
		break;
	}
	case SC_OPT_LIST: {
		const sc_strlist *l = o->ptr;
		size_t i;

		if (l->n == 0)
			break;
		printf(" (default:");
		for (i = 0; i < l->n; i++)
			printf(" %s", l->v[i]);
		printf(")");
		break;
	}
	case SC_OPT_INT:
		printf(" (default: %" PRId64 ")", *(const int64_t *)o->ptr);
		break;
	case SC_OPT_BOOL:
		printf(" (default: %s)", *(const bool *)o->ptr ? "yes" : "no");
		break;
	case SC_OPT_DURATION:
		format_duration(*(const int64_t *)o->ptr, t, sizeof(t));
		printf(" (default: %s)", t);
		break;
	case SC_OPT_SIZE:
		format_size(*(const int64_t *)o->ptr, t, sizeof(t));
		printf(" (default: %s)", t);
		break;
	case SC_OPT_LOGLEVEL:
		printf(" (default: %s)", sc_log_level_name(*(const sc_log_level *)o->ptr));
		break;
	}
}

static void print_opt_line(char short_name, const char *name, const char *metavar, bool optional)
{
	char left[128];
	int n;

	if (short_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s", short_name, name);
	else
		n = snprintf(left, sizeof(left), "      --%s", name);
	if (metavar && n > 0 && (size_t)n < sizeof(left))
		snprintf(left + n, sizeof(left) - (size_t)n, optional ? "[=%s]" : " %s", metavar);
	if (strlen(left) < 30)
		printf("%-30s", left);
	else
		printf("%s\n%30s", left, "");
}

void sc_config_print_help(const sc_config_spec *spec)
{
	bool h_taken = false, c_taken = false;
	size_t i;

	for (i = 0; i < spec->n_options; i++) {
		h_taken |= spec->options[i].short_name == 'h';
		c_taken |= spec->options[i].short_name == 'c';
	}
	printf("Usage: %s [OPTIONS]\n\n", spec->program ? spec->program : "stagecast");
	if (spec->synopsis)
		printf("%s\n\n", spec->synopsis);
	printf("Options:\n");
	print_opt_line(c_taken ? 0 : 'c', "config", "FILE", false);
	printf("read options from FILE (\"name = value\" lines; flags win)\n");
	for (i = 0; i < spec->n_options; i++) {
		const sc_option *o = &spec->options[i];
		const char *mv = o->metavar;

		if (!mv && o->type != SC_OPT_BOOL)
			mv = "VALUE";
		print_opt_line(o->short_name, o->name, mv, o->type == SC_OPT_BOOL && mv);
		printf("%s", o->help ? o->help : "");
		print_default(o);
		printf("\n");
	}
	print_opt_line(h_taken ? 0 : 'h', "help", NULL, false);
	printf("show this help and exit\n");
	print_opt_line(0, "version", NULL, false);
	printf("show the version and exit\n");
	if (spec->epilog)
		printf("\n%s\n", spec->epilog);
	fflush(stdout);
}

void sc_config_free(const sc_config_spec *spec)
{
	for (size_t i = 0; i < spec->n_options; i++) {
		const sc_option *o = &spec->options[i];
		if (o->type == SC_OPT_STRING || o->type == SC_OPT_ADDR) {
			char **p = o->ptr;
			free(*p);
			*p = NULL;
		} else if (o->type == SC_OPT_LIST) {
			sc_strlist_clear(o->ptr);
		}
	}
}
