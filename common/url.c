/* SPDX-License-Identifier: Apache-2.0 */
/*
 * url.c - RTMP URL parsing, lock-key normalization and log redaction.
 *
 * All three share one splitter for "scheme://[userinfo@]host[:port][/path][?query][#frag]"
 * (RFC 3986 generic syntax, restricted to what stream URLs use).
 */
#include "url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	const char *p;
	size_t n;
} span;

typedef struct {
	char scheme[16]; /* lowercased */
	char host[256];	 /* lowercased, no brackets, no trailing dot */
	bool ipv6;
	unsigned port; /* 0 if not given */
	span path;     /* from the first '/' to '?', '#' or end */
	span query;    /* after '?' */
	bool has_query;
} url_parts;

static const struct {
	const char *scheme;
	unsigned port;
} default_ports[] = {
	{"rtmp", 1935}, {"rtmps", 443}, {"http", 80},
	{"https", 443}, {"rtmpt", 80},	{"rtmpts", 443},
};

static unsigned default_port(const char *scheme)
{
	size_t i;

	for (i = 0; i < sizeof(default_ports) / sizeof(default_ports[0]); i++)
		if (strcmp(scheme, default_ports[i].scheme) == 0)
			return default_ports[i].port;
	return 0;
}

/* ASCII-only character classes: the result must not depend on the locale. */
static bool a_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool a_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool a_alnum(int c)
{
	return a_alpha(c) || a_digit(c);
}

static char a_lower(int c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

static bool is_ctl(unsigned char c)
{
	return c <= 0x20 || c == 0x7f;
}

static bool host_char(unsigned char c)
{
	return a_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* Split s; 0 or -EINVAL. Only the scheme and host are copied. */
static int url_split(const char *s, url_parts *u)
{
	const char *p, *auth, *auth_end, *h, *h_end, *at;
	size_t i, n;

	if (!s)
		return -EINVAL;
	n = strnlen(s, SC_URL_MAX + 1);
	if (n > SC_URL_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (is_ctl((unsigned char)s[i]))
			return -EINVAL;

	memset(u, 0, sizeof(*u));
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!a_alpha((unsigned char)s[0]))
		return -EINVAL;
	for (p = s; a_alnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.'; p++)
		;
	if ((size_t)(p - s) >= sizeof(u->scheme) || strncmp(p, "://", 3) != 0)
		return -EINVAL;
	for (i = 0; s + i < p; i++)
		u->scheme[i] = a_lower((unsigned char)s[i]);
	u->scheme[i] = '\0';

	auth = p + 3;
	auth_end = auth + strcspn(auth, "/?#");
	/* userinfo: up to the last '@' of the authority */
	h = auth;
	for (at = auth; at < auth_end; at++)
		if (*at == '@')
			h = at + 1;

	if (*h == '[') {
		char v6[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		const char *close = memchr(h, ']', (size_t)(auth_end - h));

		if (!close)
			return -EINVAL;
		n = (size_t)(close - h - 1);
		if (n == 0 || n >= sizeof(v6))
			return -EINVAL;
		memcpy(v6, h + 1, n);
		v6[n] = '\0';
		/* Canonical text form, so "[0::1]" and "[::1]" lock the same key. */
		if (inet_pton(AF_INET6, v6, &a6) != 1 ||
		    !inet_ntop(AF_INET6, &a6, u->host, sizeof(u->host)))
			return -EINVAL;
		u->ipv6 = true;
		h_end = close + 1;
		if (h_end < auth_end && *h_end != ':')
			return -EINVAL;
	} else {
		for (h_end = h; h_end < auth_end && *h_end != ':'; h_end++)
			if (!host_char((unsigned char)*h_end))
				return -EINVAL;
		n = (size_t)(h_end - h);
		if (n == 0 || h[0] == '.' || memmem(h, n, "..", 2))
			return -EINVAL; /* empty label */
		if (h[n - 1] == '.')
			n--; /* "host.example." is "host.example" */
		if (n >= sizeof(u->host))
			return -EINVAL;
		for (i = 0; i < n; i++)
			u->host[i] = a_lower((unsigned char)h[i]);
		u->host[n] = '\0';
	}

	if (h_end < auth_end) {
		/* ":" port, 1..65535 */
		unsigned long port = 0;

		p = h_end + 1;
		if (p == auth_end)
			return -EINVAL;
		for (; p < auth_end; p++) {
			if (!a_digit((unsigned char)*p))
				return -EINVAL;
			port = port * 10 + (unsigned long)(*p - '0');
			if (port > 65535)
				return -EINVAL;
		}
		if (port == 0)
			return -EINVAL;
		u->port = (unsigned)port;
	}

	p = auth_end;
	u->path.p = p;
	u->path.n = strcspn(p, "?#");
	p += u->path.n;
	if (*p == '?') {
		u->has_query = true;
		u->query.p = p + 1;
		u->query.n = strcspn(p + 1, "#");
	}
	return 0;
}

int sc_rtmp_url_parse(const char *s, sc_rtmp_url *ret)
{
	sc_rtmp_url r;
	url_parts u;
	span app, name;
	const char *slash;

	if (url_split(s, &u) < 0)
		return -EINVAL;
	if (strcmp(u.scheme, "rtmp") != 0 && strcmp(u.scheme, "rtmps") != 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	memcpy(r.scheme, u.scheme, strlen(u.scheme) + 1);
	memcpy(r.host, u.host, strlen(u.host) + 1);
	r.port_explicit = u.port != 0;
	r.port = (uint16_t)(u.port ? u.port : default_port(u.scheme));

	app.p = u.path.n ? u.path.p + 1 : u.path.p;
	app.n = u.path.n ? u.path.n - 1 : 0;
	slash = memchr(app.p, '/', app.n);
	name.p = slash ? slash + 1 : app.p + app.n;
	name.n = slash ? (size_t)(app.p + app.n - name.p) : 0;
	if (slash)
		app.n = (size_t)(slash - app.p);

	if (app.n >= sizeof(r.app) || name.n >= sizeof(r.name) || u.query.n >= sizeof(r.query))
		return -EINVAL;
	memcpy(r.app, app.p, app.n);
	memcpy(r.name, name.p, name.n);
	memcpy(r.query, u.query.p ? u.query.p : "", u.query.n);
	*ret = r;
	return 0;
}

/* Append to out[*pos]; false if it does not fit (with the NUL). */
static bool put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
	if (n >= outlen - *pos)
		return false;
	memcpy(out + *pos, s, n);
	*pos += n;
	out[*pos] = '\0';
	return true;
}

/* "scheme://host[:port]" with the default port dropped. */
static bool put_origin(char *out, size_t outlen, size_t *pos, const url_parts *u)
{
	char port[16];
	bool ok;

	ok = put(out, outlen, pos, u->scheme, strlen(u->scheme)) && put(out, outlen, pos, "://", 3);
	if (u->ipv6)
		ok = ok && put(out, outlen, pos, "[", 1);
	ok = ok && put(out, outlen, pos, u->host, strlen(u->host));
	if (u->ipv6)
		ok = ok && put(out, outlen, pos, "]", 1);
	if (u->port && u->port != default_port(u->scheme)) {
		snprintf(port, sizeof(port), ":%u", u->port);
		ok = ok && put(out, outlen, pos, port, strlen(port));
	}
	return ok;
}

int sc_url_normalize(const char *s, char *out, size_t outlen)
{
	char tmp[SC_URL_MAX + 16];
	size_t pos = 0;
	url_parts u;
	bool ok;

	if (url_split(s, &u) < 0)
		return -EINVAL;
	tmp[0] = '\0';
	ok = put_origin(tmp, sizeof(tmp), &pos, &u) &&
	     put(tmp, sizeof(tmp), &pos, u.path.p, u.path.n);
	if (u.query.n)
		ok = ok && put(tmp, sizeof(tmp), &pos, "?", 1) &&
		     put(tmp, sizeof(tmp), &pos, u.query.p, u.query.n);
	if (!ok || pos >= outlen)
		return -ENOBUFS;
	memcpy(out, tmp, pos + 1);
	return 0;
}

void sc_url_redact(const char *s, char *out, size_t outlen)
{
	static const char invalid[] = "<invalid url>";
	url_parts u;
	size_t pos = 0, keep;
	bool secret = false;

	if (!out || outlen == 0)
		return;
	out[0] = '\0';
	if (url_split(s, &u) < 0) {
		snprintf(out, outlen, "%s", invalid);
		return;
	}
	/*
	 * Keep the path up to the stream key. For rtmp the key is everything
	 * after the app (it may contain '/'); when there is no name, the app
	 * itself may be the key. Elsewhere it is the last non-empty segment.
	 */
	keep = u.path.n;
	while (keep > 0 && u.path.p[keep - 1] == '/')
		keep--;
	if (keep > 0) {
		const char *first = memchr(u.path.p + 1, '/', keep - 1);
		bool rtmp = strncmp(u.scheme, "rtmp", 4) == 0;

		if (rtmp && first)
			keep = (size_t)(first - u.path.p) + 1;
		else
			while (u.path.p[keep - 1] != '/')
				keep--;
		secret = true;
	}
	if (!put_origin(out, outlen, &pos, &u))
		return;
	if (!put(out, outlen, &pos, u.path.p, keep))
		return;
	if (secret)
		put(out, outlen, &pos, "***", 3);
	else if (u.has_query)
		put(out, outlen, &pos, "?***", 4);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = a_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int sc_query_get(const char *query, const char *key, char *out, size_t outlen)
{
	size_t klen;
	const char *p;

	if (!query || !key || !*key)
		return -EINVAL;
	klen = strlen(key);
	if (*query == '?')
		query++;
	for (p = query; *p;) {
		size_t plen = strcspn(p, "&");
		const char *v, *end = p + plen;
		size_t n = 0;

		if (plen >= klen && memcmp(p, key, klen) == 0 && (plen == klen || p[klen] == '=')) {
			/* Measure and check first so out is written only on success. */
			v = plen == klen ? end : p + klen + 1;
			for (const char *q = v; q < end; q++, n++) {
				if (*q != '%')
					continue;
				if (end - q < 3 || hexval(q[1]) < 0 || hexval(q[2]) < 0 ||
				    (q[1] == '0' && q[2] == '0'))
					return -EINVAL;
				q += 2;
			}
			if (n >= outlen)
				return -ENOBUFS;
			for (n = 0; v < end; v++) {
				if (*v == '%') {
					out[n++] = (char)(hexval(v[1]) << 4 | hexval(v[2]));
					v += 2;
				} else {
					out[n++] = *v;
				}
			}
			out[n] = '\0';
			return 0;
		}
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int sc_stream_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0] || name[0] == '.')
		return 0;
	for (i = 0; name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= 128)
			return 0;
		if (!a_alnum(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}
