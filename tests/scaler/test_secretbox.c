/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretbox.h"

static const char secret[] = "0123456789abcdef-test-secret";
static const char dest[] = "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl";

static void key_of(const char *s, sc_secretbox_key *k)
{
	assert_int_equal(sc_secretbox_key_derive(s, strlen(s), k), 0);
}

/* HKDF-SHA256 as computed by `openssl kdf -keylen 32 -kdfopt digest:SHA256
 * -kdfopt key:SECRET -kdfopt info:stagecast-store-v1 HKDF`. */
static void test_derive_known_answer(void **state)
{
	static const unsigned char want[32] = {
		0x15, 0xd3, 0x14, 0xb3, 0x7a, 0x6a, 0xe7, 0x48, 0xc8, 0xa7, 0xd8,
		0x7f, 0xd5, 0x44, 0x81, 0xfe, 0x0d, 0x5c, 0xd6, 0x60, 0xff, 0x00,
		0xc9, 0xd0, 0xe6, 0x84, 0xd7, 0x60, 0x79, 0x9d, 0x7c, 0x6c,
	};
	sc_secretbox_key k;

	(void)state;
	key_of(secret, &k);
	assert_memory_equal(k.k, want, sizeof(want));
	/* Short secrets are refused; the output is untouched. */
	memset(&k, 0xaa, sizeof(k));
	assert_int_equal(sc_secretbox_key_derive("short", 5, &k), -EINVAL);
	assert_int_equal(k.k[0], 0xaa);
	assert_int_equal(sc_secretbox_key_derive(NULL, 20, &k), -EINVAL);
	sc_secretbox_key_wipe(&k);
	sc_secretbox_key_wipe(NULL);
}

/* Sealed by Python's `cryptography` AESGCM with the key above, nonce
 * 01..0c, AAD 0x01: an independent implementation of the format. */
static void test_open_known_answer(void **state)
{
	static const char sealed[] =
		"AQECAwQFBgcICQoLDDOpUF4n4bTI/HU4qfy5sjI2/0KHUubCDrVVo2IqVRhqmFyGHXrGi"
		"NqQQ/OaWgQTH8HpHHt+y2VdsMDHsRwn";
	sc_secretbox_key k;
	char *out = NULL;

	(void)state;
	key_of(secret, &k);
	assert_int_equal(sc_secretbox_open(&k, sealed, &out), 0);
	assert_string_equal(out, dest);
	free(out);
}

static void test_round_trip(void **state)
{
	const char *texts[] = {dest, "", "x", "ab", "abc", "rtmps://h:443/app/ünïcødé?k=v&a=b"};
	sc_secretbox_key k;
	size_t i;

	(void)state;
	key_of(secret, &k);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *sealed = NULL, *again = NULL, *out = NULL;

		assert_int_equal(sc_secretbox_seal(&k, texts[i], &sealed), 0);
		/* Base64, no clear text inside. */
		assert_int_equal(strlen(sealed) % 4, 0);
		assert_int_equal(strspn(sealed,
					"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789+/="),
				 strlen(sealed));
		/* Long enough not to turn up in random base64 by chance. */
		if (strlen(texts[i]) >= 12)
			assert_null(strstr(sealed, texts[i]));
		assert_int_equal(sc_secretbox_open(&k, sealed, &out), 0);
		assert_string_equal(out, texts[i]);
		/* A fresh nonce each time. */
		assert_int_equal(sc_secretbox_seal(&k, texts[i], &again), 0);
		assert_string_not_equal(sealed, again);
		free(out);
		free(sealed);
		free(again);
	}
}

static void test_wrong_key_and_tampering(void **state)
{
	sc_secretbox_key k, other;
	char *sealed = NULL, *out = (char *)"untouched";
	size_t i, len;

	(void)state;
	key_of(secret, &k);
	key_of("another-secret-of-enough-length", &other);
	assert_int_equal(sc_secretbox_seal(&k, dest, &sealed), 0);
	assert_int_equal(sc_secretbox_open(&other, sealed, &out), -EBADMSG);
	assert_string_equal(out, "untouched");

	/* Change each character in turn (keeping it base64): never opens. */
	len = strlen(sealed);
	for (i = 0; i < len; i++) {
		char saved = sealed[i];

		if (saved == '=')
			continue;
		sealed[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(sc_secretbox_open(&k, sealed, &out), -EBADMSG);
		sealed[i] = saved;
	}
	/* Truncated, extended, not base64, empty, too short. */
	sealed[len - 4] = '\0';
	assert_int_equal(sc_secretbox_open(&k, sealed, &out), -EBADMSG);
	assert_int_equal(sc_secretbox_open(&k, "", &out), -EBADMSG);
	assert_int_equal(sc_secretbox_open(&k, "not base64!", &out), -EBADMSG);
	assert_int_equal(sc_secretbox_open(&k, "AQID", &out), -EBADMSG);
	assert_int_equal(sc_secretbox_open(&k, "AQ==\n", &out), -EBADMSG);
	assert_int_equal(sc_secretbox_open(&k, "A===", &out), -EBADMSG);
	/* Non-canonical padding bits. */
	assert_int_equal(sc_secretbox_open(&k, "AR==", &out), -EBADMSG);
	assert_string_equal(out, "untouched");
	free(sealed);

	/* Other version byte. */
	assert_int_equal(
		sc_secretbox_open(&k,
				  "AgECAwQFBgcICQoLDDOpUF4n4bTI/HU4qfy5sjI2/0KHUubCDrVVo2IqVRhqmFy"
				  "GHXrGiNqQQ/OaWgQTH8HpHHt+y2VdsMDHsRwn",
				  &out),
		-EBADMSG);
}

static void test_limits(void **state)
{
	sc_secretbox_key k;
	char *big = malloc(SC_SECRETBOX_PLAIN_MAX + 2), *sealed = NULL, *out = NULL;

	(void)state;
	assert_non_null(big);
	key_of(secret, &k);
	memset(big, 'a', SC_SECRETBOX_PLAIN_MAX);
	big[SC_SECRETBOX_PLAIN_MAX] = '\0';
	assert_int_equal(sc_secretbox_seal(&k, big, &sealed), 0);
	assert_int_equal(sc_secretbox_open(&k, sealed, &out), 0);
	assert_string_equal(out, big);
	free(sealed);
	free(out);
	big[SC_SECRETBOX_PLAIN_MAX] = 'a';
	big[SC_SECRETBOX_PLAIN_MAX + 1] = '\0';
	sealed = NULL;
	assert_int_equal(sc_secretbox_seal(&k, big, &sealed), -EMSGSIZE);
	assert_null(sealed);
	assert_int_equal(sc_secretbox_seal(&k, NULL, &sealed), -EINVAL);
	assert_int_equal(sc_secretbox_seal(NULL, "x", &sealed), -EINVAL);
	free(big);
}

static void test_key_file(void **state)
{
	char dir[] = "/tmp/sc-secretbox-XXXXXX", path[256], path2[256];
	sc_secretbox_key k1, k2, k3;
	char *sealed = NULL, *out = NULL;
	struct stat stt;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/scaler.db.key", dir);

	/* Created on first use, 0600, 64 hex digits. */
	assert_int_equal(sc_secretbox_key_file(path, &k1), 0);
	assert_int_equal(stat(path, &stt), 0);
	assert_int_equal(stt.st_mode & 0777, 0600);
	assert_int_equal(stt.st_size, 65);

	/* Loaded, not replaced, afterwards: what k1 sealed, k2 opens. */
	assert_int_equal(sc_secretbox_key_file(path, &k2), 0);
	assert_memory_equal(k1.k, k2.k, sizeof(k1.k));
	assert_int_equal(sc_secretbox_seal(&k1, dest, &sealed), 0);
	assert_int_equal(sc_secretbox_open(&k2, sealed, &out), 0);
	assert_string_equal(out, dest);
	free(out);
	free(sealed);

	/* A secret file made by hand works like --secret-file. */
	snprintf(path2, sizeof(path2), "%s/secret", dir);
	f = fopen(path2, "w");
	assert_non_null(f);
	fprintf(f, "%s\n\n", secret);
	fclose(f);
	assert_int_equal(sc_secretbox_key_file(path2, &k3), 0);
	key_of(secret, &k2);
	assert_memory_equal(k3.k, k2.k, sizeof(k3.k));

	/* Too short: refused, not overwritten. */
	f = fopen(path2, "w");
	assert_non_null(f);
	fprintf(f, "short\n");
	fclose(f);
	assert_int_equal(sc_secretbox_key_file(path2, &k3), -EINVAL);

	/* A directory that does not exist. */
	snprintf(path2, sizeof(path2), "%s/missing/scaler.db.key", dir);
	assert_int_equal(sc_secretbox_key_file(path2, &k3), -ENOENT);

	unlink(path);
	snprintf(path2, sizeof(path2), "%s/secret", dir);
	unlink(path2);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_known_answer),
		cmocka_unit_test(test_open_known_answer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_wrong_key_and_tampering),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_key_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
