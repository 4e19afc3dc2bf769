/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "url.h"

static void test_parse_basic(void **state)
{
	sc_rtmp_url u;

	(void)state;
	assert_int_equal(
		sc_rtmp_url_parse("rtmp://user:pw@Host.Example:1935/live/key?token=abc", &u), 0);
	assert_string_equal(u.scheme, "rtmp");
	assert_string_equal(u.host, "host.example");
	assert_int_equal(u.port, 1935);
	assert_int_equal(u.port_explicit, 1);
	assert_string_equal(u.app, "live");
	assert_string_equal(u.name, "key");
	assert_string_equal(u.query, "token=abc");

	assert_int_equal(sc_rtmp_url_parse("RTMPS://h.example/app/a/b/c", &u), 0);
	assert_string_equal(u.scheme, "rtmps");
	assert_int_equal(u.port, 443);
	assert_int_equal(u.port_explicit, 0);
	assert_string_equal(u.app, "app");
	assert_string_equal(u.name, "a/b/c");
	assert_string_equal(u.query, "");

	assert_int_equal(sc_rtmp_url_parse("rtmp://h", &u), 0);
	assert_int_equal(u.port, 1935);
	assert_string_equal(u.app, "");
	assert_string_equal(u.name, "");

	assert_int_equal(sc_rtmp_url_parse("rtmp://h/app", &u), 0);
	assert_string_equal(u.app, "app");
	assert_string_equal(u.name, "");

	assert_int_equal(sc_rtmp_url_parse("rtmp://h:1/app/n?", &u), 0);
	assert_int_equal(u.port, 1);
	assert_string_equal(u.name, "n");
	assert_string_equal(u.query, "");

	assert_int_equal(sc_rtmp_url_parse("rtmp://127.0.0.1:65535/live/x", &u), 0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 65535);
}

static void test_parse_ipv6(void **state)
{
	sc_rtmp_url u;

	(void)state;
	assert_int_equal(sc_rtmp_url_parse("rtmp://[::1]:1936/live/k1", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 1936);
	assert_string_equal(u.app, "live");
	assert_string_equal(u.name, "k1");
	assert_int_equal(sc_rtmp_url_parse("rtmp://[2001:DB8::1]/live/k1", &u), 0);
	assert_string_equal(u.host, "2001:db8::1");
	assert_int_equal(u.port, 1935);
	/* Canonical form: equal addresses give equal hosts. */
	assert_int_equal(sc_rtmp_url_parse("rtmp://[0:0:0:0:0:0:0:1]/live/k1", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(sc_rtmp_url_parse("rtmp://[::1/live/k", &u), -EINVAL);
	assert_int_equal(sc_rtmp_url_parse("rtmp://[nothex]/live/k", &u), -EINVAL);
	assert_int_equal(sc_rtmp_url_parse("rtmp://[::1]x/live/k", &u), -EINVAL);
	assert_int_equal(sc_rtmp_url_parse("rtmp://::1/live/k", &u), -EINVAL);
}

static void test_parse_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"rtmp://",
		"rtmp:///live/key",
		"rtmp://user@/live/key",
		"rtmp://:1935/live/key",
		"rtmp://h:0/live/key",
		"rtmp://h:99999/live/key",
		"rtmp://h:65536/live/key",
		"rtmp://h:/live/key",
		"rtmp://h:12a/live/key",
		"rtmp://h/live/ke y",
		"rtmp://h/live/key\n",
		"rtmp://h/live/k\tey",
		"rtmp://h/live/k\x7f",
		"rtmp://h\r/live/key",
		"http://h/live/key",
		"https://h/live/key",
		"srt://h:9000",
		"rtmp:/h/live/key",
		"rtmp//h/live/key",
		"h/live/key",
		"rtmp://h_o st/live",
		"rtmp://h%41/live",
		"rtmp://a..b/live",
		"rtmp://a../live",
		"rtmp://.a/live",
		"rtmp://[::1%25eth0]/live",
	};
	sc_rtmp_url u;
	char big[SC_URL_MAX + 64];
	size_t i;

	(void)state;
	memset(&u, 0x5a, sizeof(u));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sc_rtmp_url_parse(bad[i], &u) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* Output untouched on failure. */
	assert_int_equal((unsigned char)u.host[0], 0x5a);

	/* Over-long URL and over-long parts. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "rtmp://h/live/", 14);
	assert_int_equal(sc_rtmp_url_parse(big, &u), -EINVAL);
	big[14 + 1100] = '\0'; /* name longer than sc_rtmp_url.name */
	assert_int_equal(sc_rtmp_url_parse(big, &u), -EINVAL);
	big[14 + 1000] = '\0';
	assert_int_equal(sc_rtmp_url_parse(big, &u), 0);
	assert_int_equal(strlen(u.name), 1000);
	memset(big, 'a', 300);
	memcpy(big, "rtmp://", 7);
	big[300] = '\0'; /* host longer than 255 */
	assert_int_equal(sc_rtmp_url_parse(big, &u), -EINVAL);
}

static void expect_norm(const char *in, const char *want)
{
	char out[SC_URL_MAX + 1];
	int r = sc_url_normalize(in, out, sizeof(out));

	if (r != 0)
		fail_msg("normalize(\"%s\") = %d", in, r);
	if (strcmp(out, want) != 0)
		fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void test_normalize(void **state)
{
	char out[32];

	(void)state;
	expect_norm("RTMP://User:Pw@Host.Example:1935/Live/Key?A=B",
		    "rtmp://host.example/Live/Key?A=B");
	expect_norm("rtmps://h:443/x", "rtmps://h/x");
	expect_norm("https://h:443/", "https://h/");
	expect_norm("http://h:80/a?b", "http://h/a?b");
	expect_norm("rtmp://h:1936/live/k", "rtmp://h:1936/live/k");
	expect_norm("rtmps://h:1935/live/k", "rtmps://h:1935/live/k");
	expect_norm("https://h:8443/whip", "https://h:8443/whip");
	expect_norm("srt://Ingest.Example:9000?streamid=abc",
		    "srt://ingest.example:9000?streamid=abc");
	expect_norm("rtmp://[::1]:1935/live/k", "rtmp://[::1]/live/k");
	expect_norm("rtmp://[::1]:1936/live/k", "rtmp://[::1]:1936/live/k");
	expect_norm("rtmp://h:01935/live/k", "rtmp://h/live/k");
	expect_norm("https://h/p#frag", "https://h/p");
	expect_norm("rtmp://h.example./live/k", "rtmp://h.example/live/k");
	expect_norm("rtmp://h/live/k?", "rtmp://h/live/k");
	expect_norm("rtmp://a@b@h/x", "rtmp://h/x");

	assert_int_equal(sc_url_normalize("nope", out, sizeof(out)), -EINVAL);
	assert_int_equal(sc_url_normalize("rtmp://h:0/x", out, sizeof(out)), -EINVAL);
	assert_int_equal(sc_url_normalize("rtmp://h/\x01", out, sizeof(out)), -EINVAL);
	strcpy(out, "unchanged");
	assert_int_equal(sc_url_normalize("rtmp://host.example/live/a-long-stream-key", out, 16),
			 -ENOBUFS);
	assert_string_equal(out, "unchanged");
	/* Exactly fits, with the NUL. */
	assert_int_equal(sc_url_normalize("rtmp://h/abcdef", out, 16), 0);
	assert_string_equal(out, "rtmp://h/abcdef");
	assert_int_equal(sc_url_normalize("rtmp://h/abcdefg", out, 16), -ENOBUFS);
}

static void expect_redact(const char *in, const char *want, const char *const *secrets)
{
	char out[SC_URL_MAX + 1];
	size_t i;

	const char *shown = in ? in : "(null)";

	sc_url_redact(in, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", shown, out, want);
	for (i = 0; secrets && secrets[i]; i++)
		if (strstr(out, secrets[i]))
			fail_msg("redact(\"%s\") = \"%s\" leaks \"%s\"", shown, out, secrets[i]);
}

static void test_redact(void **state)
{
	char small[12];

	(void)state;
	expect_redact("rtmp://a.example/live/secret?x=1", "rtmp://a.example/live/***",
		      (const char *[]){"secret", "x=1", NULL});
	expect_redact("rtmp://user:pw@a.example/live/k1?token=abcdef", "rtmp://a.example/live/***",
		      (const char *[]){"k1", "abcdef", "pw", "user", NULL});
	expect_redact("rtmps://live-api-s.facebook.com:443/rtmp/FB-1234-0-AbCdEf",
		      "rtmps://live-api-s.facebook.com/rtmp/***",
		      (const char *[]){"FB-1234", NULL});
	expect_redact("rtmp://a.rtmp.youtube.com/live2/xxxx-yyyy-zzzz-wwww",
		      "rtmp://a.rtmp.youtube.com/live2/***",
		      (const char *[]){"xxxx", "wwww", NULL});
	/* A name with slashes is redacted as a whole. */
	expect_redact("rtmp://h:1936/app/user42/keykey", "rtmp://h:1936/app/***",
		      (const char *[]){"user42", "keykey", NULL});
	/* Only an app: it may be the key. */
	expect_redact("rtmp://h/onlykey", "rtmp://h/***", (const char *[]){"onlykey", NULL});
	expect_redact("rtmp://h/live/key/", "rtmp://h/live/***", (const char *[]){"key/", NULL});
	expect_redact("rtmp://h/live?token=t0ken", "rtmp://h/***", (const char *[]){"t0ken", NULL});
	expect_redact("rtmp://h", "rtmp://h", NULL);
	expect_redact("rtmp://h/?token=t0ken", "rtmp://h?***", (const char *[]){"t0ken", NULL});
	expect_redact("srt://h:9000?streamid=s3cr3t&passphrase=pppp", "srt://h:9000?***",
		      (const char *[]){"s3cr3t", "pppp", NULL});
	expect_redact("https://h.example/whip/endpoint/s3cr3t",
		      "https://h.example/whip/endpoint/***", (const char *[]){"s3cr3t", NULL});
	expect_redact("RTMP://H/live/Key#frag", "rtmp://h/live/***", (const char *[]){"Key", NULL});
	expect_redact("not a url", "<invalid url>", NULL);
	expect_redact("rtmp://h/live/key\nnext", "<invalid url>", (const char *[]){"key", NULL});
	expect_redact(NULL, "<invalid url>", NULL);

	/* Truncation still NUL-terminates and never shows the key. */
	memset(small, 'x', sizeof(small));
	sc_url_redact("rtmp://host.example/live/secret", small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_null(strstr(small, "secret"));
	sc_url_redact("rtmp://h/live/secret", small, 1);
	assert_string_equal(small, "");
}

static void test_query_get(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(sc_query_get("a=1&token=abc&b=2", "token", out, sizeof(out)), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(sc_query_get("a=1&b=2", "a", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(sc_query_get("?a=1", "a", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(sc_query_get("x=%41%2fb%3D", "x", out, sizeof(out)), 0);
	assert_string_equal(out, "A/b=");
	assert_int_equal(sc_query_get("x=a+b", "x", out, sizeof(out)), 0);
	assert_string_equal(out, "a+b");
	assert_int_equal(sc_query_get("flag&y=2", "flag", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sc_query_get("x=", "x", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sc_query_get("x=1&x=2", "x", out, sizeof(out)), 0);
	assert_string_equal(out, "1");
	assert_int_equal(sc_query_get("tokenx=1&xtoken=2", "token", out, sizeof(out)), -ENOENT);
	assert_int_equal(sc_query_get("", "token", out, sizeof(out)), -ENOENT);
	assert_int_equal(sc_query_get("&&&", "token", out, sizeof(out)), -ENOENT);

	strcpy(out, "keep");
	assert_int_equal(sc_query_get("x=0123456789abcdef", "x", out, sizeof(out)), -ENOBUFS);
	assert_string_equal(out, "keep");
	assert_int_equal(sc_query_get("x=0123456789abcde", "x", out, sizeof(out)), 0);
	assert_int_equal(sc_query_get("x=%4", "x", out, sizeof(out)), -EINVAL);
	assert_int_equal(sc_query_get("x=%zz", "x", out, sizeof(out)), -EINVAL);
	assert_int_equal(sc_query_get("x=a%00b", "x", out, sizeof(out)), -EINVAL);
	/* Decoded length counts, not encoded length. */
	assert_int_equal(sc_query_get("x=%41%41%41%41%41%41%41%41%41%41%41%41%41%41%41", "x", out,
				      sizeof(out)),
			 0);
	assert_string_equal(out, "AAAAAAAAAAAAAAA");
}

static void test_stream_name_valid(void **state)
{
	char name[200];

	(void)state;
	assert_true(sc_stream_name_valid("k1-janson"));
	assert_true(sc_stream_name_valid("a"));
	assert_true(sc_stream_name_valid("Room_2.main"));
	assert_true(sc_stream_name_valid("a.."));
	assert_false(sc_stream_name_valid(""));
	assert_false(sc_stream_name_valid(NULL));
	assert_false(sc_stream_name_valid(".hidden"));
	assert_false(sc_stream_name_valid(".."));
	assert_false(sc_stream_name_valid("a/b"));
	assert_false(sc_stream_name_valid("a b"));
	assert_false(sc_stream_name_valid("a?token=x"));
	assert_false(sc_stream_name_valid("caf\xc3\xa9"));
	memset(name, 'n', sizeof(name));
	name[128] = '\0';
	assert_true(sc_stream_name_valid(name));
	name[128] = 'n';
	name[129] = '\0';
	assert_false(sc_stream_name_valid(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_basic),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_query_get),
		cmocka_unit_test(test_stream_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
