/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_url.c - URL parsing, normalization, redaction and query lookup on
 * arbitrary input. Checks that redaction never shows the stream name or
 * the query (unless the same text is also part of the host or app, which
 * are not secret).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The forms a redacted rtmp URL may take, separated by '\001' (which no
 * parsed part contains): the origin alone, or followed by "/" "***",
 * by "?***", or by "/" APP "/" "***".
 */
static void redacted_forms(const sc_rtmp_url *u, char *out, size_t outlen)
{
	int v6 = strchr(u->host, ':') != NULL;
	unsigned def = strcmp(u->scheme, "rtmps") == 0 ? 443 : 1935;
	char origin[300], port[8] = "";

	if (u->port_explicit && u->port != def)
		snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
	snprintf(origin, sizeof(origin), "%s://%s%s%s%s", u->scheme, v6 ? "[" : "", u->host,
		 v6 ? "]" : "", port);
	snprintf(out, outlen, "\001%s\001%s/***\001%s?***\001%s/%s/***\001", origin, origin, origin,
		 origin, u->app);
}

static int leaks(const char *redacted, const char *secret, const char *visible)
{
	if (strlen(secret) < 3)
		return 0;
	return strstr(redacted, secret) && !strstr(visible, secret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, norm[SC_URL_MAX + 1], norm2[SC_URL_MAX + 1];
	char red[SC_URL_MAX + 64], vis[2048], val[256], want[SC_URL_MAX + 80];
	sc_rtmp_url u;
	int r;

	if (size > SC_URL_MAX + 16)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	sc_url_redact(s, red, sizeof(red));
	if (strnlen(red, sizeof(red)) >= sizeof(red))
		abort();
	/* A tiny output buffer must also be safe. */
	{
		char tiny[5];

		sc_url_redact(s, tiny, sizeof(tiny));
		if (strnlen(tiny, sizeof(tiny)) >= sizeof(tiny))
			abort();
	}

	r = sc_url_normalize(s, norm, sizeof(norm));
	if (r == 0) {
		/* Normalizing is idempotent. */
		if (sc_url_normalize(norm, norm2, sizeof(norm2)) != 0 || strcmp(norm, norm2) != 0)
			abort();
	}

	if (sc_rtmp_url_parse(s, &u) == 0) {
		if (r != 0 || u.port == 0 || !u.host[0])
			abort();
		redacted_forms(&u, vis, sizeof(vis));
		/* The name and query never show (unless host or app hold the same text). */
		if (leaks(red, u.name, vis) || leaks(red, u.query, vis))
			abort();
		/* Stronger: the output is exactly one of the expected forms. */
		snprintf(want, sizeof(want), "\001%s\001", red);
		if (!strstr(vis, want))
			abort();
		(void)sc_query_get(u.query, "token", val, sizeof(val));
		(void)sc_stream_name_valid(u.name);
	}
	(void)sc_query_get(s, "a", val, sizeof(val));
	free(s);
	return 0;
}
