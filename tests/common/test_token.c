/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "token.h"

static const char secret[] = "0123456789abcdef-test-secret";
#define SECRET secret, sizeof(secret) - 1
#define NOW    INT64_C(1700000000)

static void sign(const char *name, uint64_t fence, int64_t expiry, char *out)
{
	assert_int_equal(sc_token_sign(SECRET, name, fence, expiry, out, SC_TOKEN_MAX), 0);
}

static void test_round_trip(void **state)
{
	char tok[SC_TOKEN_MAX];
	uint64_t fence = 0;
	int64_t expiry = 0;

	(void)state;
	sign("k1-janson", 42, NOW + 60, tok);
	assert_non_null(strstr(tok, "42."));
	assert_int_equal(sc_token_verify(SECRET, "k1-janson", tok, NOW, &fence, &expiry), 0);
	assert_int_equal(fence, 42);
	assert_int_equal(expiry, NOW + 60);
	/* ret_expiry may be NULL. */
	fence = 0;
	assert_int_equal(sc_token_verify(SECRET, "k1-janson", tok, NOW, &fence, NULL), 0);
	assert_int_equal(fence, 42);
	/* Deterministic. */
	{
		char again[SC_TOKEN_MAX];

		sign("k1-janson", 42, NOW + 60, again);
		assert_string_equal(tok, again);
	}
}

static void test_format(void **state)
{
	char tok[SC_TOKEN_MAX];
	const char *sig;
	size_t i;

	(void)state;
	sign("n", 7, 1000, tok);
	assert_int_equal(strncmp(tok, "7.1000.", 7), 0);
	sig = tok + 7;
	assert_int_equal(strlen(sig), 43);
	for (i = 0; sig[i]; i++)
		assert_non_null(
			strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
			       sig[i]));
}

static void test_known_vector(void **state)
{
	/*
	 * Computed independently:
	 *   printf 'stagecast-v1\nk1\n5\n100' |
	 *   openssl dgst -sha256 -hmac 0123456789abcdef -binary | basenc --base64url
	 * (and the same with Python's hmac module), '=' padding removed.
	 */
	static const char want[] = "5.100.5d9B-zlTeR6SyyfSl6Iq4oxwtzKCmKbX6rB4g_owiCI";
	char tok[SC_TOKEN_MAX];
	uint64_t fence = 0;

	(void)state;
	assert_int_equal(sc_token_sign("0123456789abcdef", 16, "k1", 5, 100, tok, sizeof(tok)), 0);
	assert_string_equal(tok, want);
	assert_int_equal(sc_token_verify("0123456789abcdef", 16, "k1", want, 99, &fence, NULL), 0);
	assert_int_equal(fence, 5);
}

static void test_wrong_name_secret(void **state)
{
	static const char other[] = "0123456789abcdef-other-secret";
	char tok[SC_TOKEN_MAX];
	uint64_t fence = 99;

	(void)state;
	sign("k1", 1, NOW + 60, tok);
	assert_int_equal(sc_token_verify(SECRET, "k2", tok, NOW, &fence, NULL), -EPERM);
	assert_int_equal(sc_token_verify(SECRET, "k1x", tok, NOW, &fence, NULL), -EPERM);
	assert_int_equal(sc_token_verify(SECRET, "", tok, NOW, &fence, NULL), -EPERM);
	assert_int_equal(sc_token_verify(other, sizeof(other) - 1, "k1", tok, NOW, &fence, NULL),
			 -EPERM);
	assert_int_equal(sc_token_verify(secret, sizeof(secret) - 2, "k1", tok, NOW, &fence, NULL),
			 -EPERM);
	assert_int_equal(fence, 99); /* untouched on failure */
	assert_string_equal(sc_token_strerror(-EPERM), "bad signature");
}

static void test_tampered(void **state)
{
	char tok[SC_TOKEN_MAX], bad[SC_TOKEN_MAX + 8];
	char *sig;

	(void)state;
	sign("k1", 5, NOW + 60, tok);
	/* Higher fence with the old signature. */
	snprintf(bad, sizeof(bad), "6%s", tok + 1);
	assert_int_equal(sc_token_verify(SECRET, "k1", bad, NOW, NULL, NULL), -EPERM);
	/* Later expiry with the old signature. */
	snprintf(bad, sizeof(bad), "5.%" PRId64 "%s", NOW + 61, strchr(tok + 2, '.'));
	assert_int_equal(sc_token_verify(SECRET, "k1", bad, NOW, NULL, NULL), -EPERM);
	/* One signature character changed. */
	strcpy(bad, tok);
	sig = strrchr(bad, '.') + 1;
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_int_equal(sc_token_verify(SECRET, "k1", bad, NOW, NULL, NULL), -EPERM);
	/* Leading zero: same number, other spelling, refused. */
	snprintf(bad, sizeof(bad), "0%s", tok);
	assert_int_equal(sc_token_verify(SECRET, "k1", bad, NOW, NULL, NULL), -EBADMSG);
}

static void test_expired(void **state)
{
	char tok[SC_TOKEN_MAX];
	uint64_t fence = 0;

	(void)state;
	sign("k1", 3, NOW, tok);
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW - 1, &fence, NULL), 0);
	assert_int_equal(fence, 3);
	fence = 0;
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW, &fence, NULL), -ETIME);
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW + 3600, &fence, NULL), -ETIME);
	assert_int_equal(fence, 0);
	assert_string_equal(sc_token_strerror(-ETIME), "expired");
	/* A forged token is a bad signature, even when its expiry has passed. */
	assert_int_equal(sc_token_verify(SECRET, "k2", tok, NOW + 3600, &fence, NULL), -EPERM);
}

static void test_malformed(void **state)
{
	static const char sig43[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	char good[SC_TOKEN_MAX], buf[512];
	const char *sig;
	size_t i;
	const char *const bad[] = {
		"",
		"abc",
		"1",
		"1.2",
		"1.2.",
		"..",
		"1..AAAA",
		".2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"a.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.b.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"-1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.-2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"+1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		" 1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",   /* 42 chars */
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 44 chars */
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  /* padding */
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",  /* base64, not url */
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/",
		"1.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", /* non-zero spare bits */
		"1.2.AAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.2.3.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"18446744073709551616.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 2^64 */
		"99999999999999999999999.2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"1.9223372036854775808.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 2^63 */
	};

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = sc_token_verify(SECRET, "k1", bad[i], NOW, NULL, NULL);

		if (r != -EBADMSG)
			fail_msg("token \"%s\": got %d, want -EBADMSG", bad[i], r);
	}
	/* Well-formed but unsigned. */
	snprintf(buf, sizeof(buf), "1.%" PRId64 ".%s", NOW + 5, sig43);
	assert_int_equal(sc_token_verify(SECRET, "k1", buf, NOW, NULL, NULL), -EPERM);
	/* Longest possible numbers still parse. */
	snprintf(buf, sizeof(buf), "18446744073709551615.9223372036854775807.%s", sig43);
	assert_int_equal(sc_token_verify(SECRET, "k1", buf, NOW, NULL, NULL), -EPERM);
	/* Over-long token. */
	memset(buf, '1', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(sc_token_verify(SECRET, "k1", buf, NOW, NULL, NULL), -EBADMSG);
	/* Trailing garbage after a good token. */
	sign("k1", 1, NOW + 10, good);
	snprintf(buf, sizeof(buf), "%s.", good);
	assert_int_equal(sc_token_verify(SECRET, "k1", buf, NOW, NULL, NULL), -EBADMSG);
	snprintf(buf, sizeof(buf), "%sA", good);
	assert_int_equal(sc_token_verify(SECRET, "k1", buf, NOW, NULL, NULL), -EBADMSG);
	sig = strrchr(good, '.');
	assert_non_null(sig);
	assert_string_equal(sc_token_strerror(-EBADMSG), "malformed");
	assert_int_equal(sc_token_verify(SECRET, "k1", NULL, NOW, NULL, NULL), -EINVAL);
	assert_int_equal(sc_token_verify(secret, 0, "k1", good, NOW, NULL, NULL), -EINVAL);
}

static void test_big_fence(void **state)
{
	char tok[SC_TOKEN_MAX];
	uint64_t fence = 0;
	uint64_t big = (UINT64_C(1) << 32) + 7;

	(void)state;
	sign("k1", big, NOW + 1, tok);
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW, &fence, NULL), 0);
	assert_int_equal(fence, big);
	sign("k1", UINT64_MAX, INT64_MAX, tok);
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW, &fence, NULL), 0);
	assert_true(fence == UINT64_MAX);
	sign("k1", 0, NOW + 1, tok);
	assert_int_equal(sc_token_verify(SECRET, "k1", tok, NOW, &fence, NULL), 0);
	assert_int_equal(fence, 0);
}

static void test_sign_errors(void **state)
{
	char tok[SC_TOKEN_MAX];

	(void)state;
	assert_int_equal(sc_token_sign(secret, 0, "k1", 1, NOW, tok, sizeof(tok)), -EINVAL);
	assert_int_equal(sc_token_sign(SECRET, "", 1, NOW, tok, sizeof(tok)), -EINVAL);
	assert_int_equal(sc_token_sign(SECRET, "a\nb", 1, NOW, tok, sizeof(tok)), -EINVAL);
	assert_int_equal(sc_token_sign(SECRET, "k1", 1, -1, tok, sizeof(tok)), -EINVAL);
	assert_int_equal(sc_token_sign(SECRET, "k1", 1, NOW, tok, 20), -ENOBUFS);
	/* "1.1700000000." + 43 = 56 characters and the NUL. */
	assert_int_equal(sc_token_sign(SECRET, "k1", 1, NOW, tok, 56), -ENOBUFS);
	assert_int_equal(sc_token_sign(SECRET, "k1", 1, NOW, tok, 57), 0);
	assert_int_equal(strlen(tok), 56);
}

static void test_secret_load(void **state)
{
	char path[] = "/tmp/sc-test-secret-XXXXXX";
	unsigned char out[SC_SECRET_MAX];
	size_t len = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdefXYZ \n\n", 22), 22);
	close(fd);
	assert_int_equal(sc_secret_load(path, out, sizeof(out), &len), 0);
	assert_int_equal(len, 19);
	assert_memory_equal(out, "0123456789abcdefXYZ", 19);
	assert_int_equal(sc_secret_load(path, out, 10, &len), -ENOBUFS);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "short\n", 6), 6);
	close(fd);
	len = 0;
	assert_int_equal(sc_secret_load(path, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(len, 0);
	unlink(path);
	assert_int_equal(sc_secret_load(path, out, sizeof(out), &len), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_format),
		cmocka_unit_test(test_known_vector), cmocka_unit_test(test_wrong_name_secret),
		cmocka_unit_test(test_tampered),     cmocka_unit_test(test_expired),
		cmocka_unit_test(test_malformed),    cmocka_unit_test(test_big_fence),
		cmocka_unit_test(test_sign_errors),  cmocka_unit_test(test_secret_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
