/* SPDX-License-Identifier: Apache-2.0 */
/*
 * url.h - RTMP URLs: parsing, normalization (for locks) and redaction (for
 * logs and metrics).
 *
 *   rtmp://user:pw@Host.Example:1935/live/key?token=abc
 *     scheme "rtmp", host "host.example", port 1935, app "live",
 *     name "key", query "token=abc"
 *
 * The app is the first path segment; the stream name is everything after
 * it (it may contain '/'), without the query.
 */
#ifndef SC_URL_H
#define SC_URL_H

#include <stddef.h>
#include <stdint.h>

#define SC_URL_MAX 2048

typedef struct {
	char scheme[8]; /* "rtmp" or "rtmps", lowercased */
	char host[256]; /* lowercased; IPv6 without brackets */
	uint16_t port;	/* explicit, or the scheme's default (1935, 443) */
	int port_explicit;
	char app[256];
	char name[1024];  /* may be empty (e.g. "rtmp://h/app") */
	char query[1024]; /* without '?'; may be empty */
} sc_rtmp_url;

/* 0, or -EINVAL for anything that is not a well-formed rtmp(s) URL
 * (no host, bad port, control characters, over-long parts). */
int sc_rtmp_url_parse(const char *s, sc_rtmp_url *ret);

/*
 * The lock key form of any URL: scheme and host lowercased, the default port
 * dropped, userinfo dropped, path and query kept as given, no fragment.
 * Works for rtmp, rtmps, http, https, srt. Returns 0 or -EINVAL/-ENOBUFS.
 */
int sc_url_normalize(const char *s, char *out, size_t outlen);

/*
 * For logs: userinfo dropped, the last path segment (the stream key) and
 * the query replaced by "***":
 *   "rtmp://a.example/live/secret?x=1"  ->  "rtmp://a.example/live/" "***"
 * A string that does not parse gives "<invalid url>". Always NUL-terminates.
 */
void sc_url_redact(const char *s, char *out, size_t outlen);

/* Value of key in an "a=1&b=2" query, percent-decoded. 0, -ENOENT, -ENOBUFS. */
int sc_query_get(const char *query, const char *key, char *out, size_t outlen);

/* A stream name we accept: 1..128 of [A-Za-z0-9._-], not starting with '.'. */
int sc_stream_name_valid(const char *name);

#endif
