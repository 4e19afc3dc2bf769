/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secretbox.c - AES-256-GCM sealing with an HKDF-SHA256 key (format in
 * secretbox.h), OpenSSL EVP.
 */
#include "secretbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "token.h" /* sc_secret_load */

#define INFO	  "stagecast-store-v1"
#define VERSION	  0x01
#define NONCE_LEN 12
#define TAG_LEN	  16
#define OVERHEAD  (1 + NONCE_LEN + TAG_LEN)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sc_secretbox_key_derive(const void *secret, size_t secret_len, sc_secretbox_key *ret)
{
	sc_secretbox_key key;
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[4];
	int r = -EIO;

	if (!secret || secret_len < SC_SECRETBOX_SECRET_MIN || !ret)
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf)
		ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return -EIO;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] =
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)INFO,
						      sizeof(INFO) - 1);
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key.k, sizeof(key.k), params) == 1) {
		*ret = key;
		r = 0;
	}
	EVP_KDF_CTX_free(ctx);
	OPENSSL_cleanse(&key, sizeof(key));
	return r;
}

void sc_secretbox_key_wipe(sc_secretbox_key *key)
{
	if (key)
		OPENSSL_cleanse(key, sizeof(*key));
}

static int key_from_file(const char *path, sc_secretbox_key *ret)
{
	unsigned char secret[SC_SECRET_MAX];
	size_t len = 0;
	int r;

	r = sc_secret_load(path, secret, sizeof(secret), &len);
	if (r == 0)
		r = sc_secretbox_key_derive(secret, len, ret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes a new random secret to a temporary file and links it to path,
 * so that nobody ever reads a half-written file; -EEXIST if path exists. */
static int create_key_file(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[32];
	char text[2 * sizeof(rnd) + 2], tmp[4096];
	size_t i;
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	for (i = 0; i < sizeof(rnd); i++) {
		text[2 * i] = hex[rnd[i] >> 4];
		text[2 * i + 1] = hex[rnd[i] & 15];
	}
	text[2 * sizeof(rnd)] = '\n';
	text[2 * sizeof(rnd) + 1] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));

	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
out:
	OPENSSL_cleanse(text, sizeof(text));
	return r;
}

int sc_secretbox_key_file(const char *path, sc_secretbox_key *ret)
{
	int r;

	if (!path || !path[0] || !ret)
		return -EINVAL;
	r = key_from_file(path, ret);
	if (r != -ENOENT)
		return r;
	r = create_key_file(path);
	if (r < 0 && r != -EEXIST) /* EEXIST: another process made it first */
		return r;
	return key_from_file(path, ret);
}

static char *b64_encode(const unsigned char *in, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Strict: padded, canonical (unused bits zero), no whitespace. */
static int b64_decode(const char *in, unsigned char **ret, size_t *ret_n)
{
	size_t len = strlen(in), i, o = 0, pad = 0;
	unsigned char *out;

	if (len == 0 || len % 4 != 0)
		return -EBADMSG;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	out = malloc(len / 4 * 3);
	if (!out)
		return -ENOMEM;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int a = b64_val(in[i]), b = b64_val(in[i + 1]);
		int c = last && pad == 2 ? 0 : b64_val(in[i + 2]);
		int d = last && pad >= 1 ? 0 : b64_val(in[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0 || c < 0 || d < 0)
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (unsigned char)(v >> 16);
		if (last && pad == 2) {
			if (v & 0xffff)
				goto bad;
			break;
		}
		out[o++] = (unsigned char)(v >> 8);
		if (last && pad == 1) {
			if (v & 0xff)
				goto bad;
			break;
		}
		out[o++] = (unsigned char)v;
	}
	*ret = out;
	*ret_n = o;
	return 0;
bad:
	free(out);
	return -EBADMSG;
}

int sc_secretbox_seal(const sc_secretbox_key *key, const char *plaintext, char **ret)
{
	const unsigned char aad = VERSION;
	size_t n = plaintext ? strlen(plaintext) : 0;
	unsigned char *buf = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	char *out = NULL;
	int len, r = -EIO;

	if (!key || !plaintext || !ret)
		return -EINVAL;
	if (n > SC_SECRETBOX_PLAIN_MAX)
		return -EMSGSIZE;
	buf = malloc(n + OVERHEAD);
	ctx = EVP_CIPHER_CTX_new();
	if (!buf || !ctx) {
		r = -ENOMEM;
		goto out;
	}
	buf[0] = VERSION;
	if (RAND_bytes(buf + 1, NONCE_LEN) != 1)
		goto out;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->k, buf + 1) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, &aad, 1) != 1 ||
	    EVP_EncryptUpdate(ctx, buf + 1 + NONCE_LEN, &len, (const unsigned char *)plaintext,
			      (int)n) != 1 ||
	    (size_t)len != n || EVP_EncryptFinal_ex(ctx, buf + 1 + NONCE_LEN + n, &len) != 1 ||
	    len != 0 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + 1 + NONCE_LEN + n) != 1)
		goto out;
	out = b64_encode(buf, n + OVERHEAD);
	if (!out) {
		r = -ENOMEM;
		goto out;
	}
	*ret = out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return r;
}

int sc_secretbox_open(const sc_secretbox_key *key, const char *sealed, char **ret)
{
	const unsigned char aad = VERSION;
	unsigned char *buf = NULL, *tag;
	EVP_CIPHER_CTX *ctx = NULL;
	char *out = NULL;
	size_t blen = 0, n = 0;
	int len, r;

	if (!key || !sealed || !ret)
		return -EINVAL;
	if (strlen(sealed) > (SC_SECRETBOX_PLAIN_MAX + OVERHEAD + 2) / 3 * 4)
		return -EBADMSG;
	r = b64_decode(sealed, &buf, &blen);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (blen < OVERHEAD || buf[0] != VERSION)
		goto out;
	n = blen - OVERHEAD;
	tag = buf + 1 + NONCE_LEN + n;
	out = malloc(n + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!out || !ctx) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->k, buf + 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, &aad, 1) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)out, &len, buf + 1 + NONCE_LEN, (int)n) != 1 ||
	    (size_t)len != n || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &len) != 1)
		goto out; /* wrong key or tampered */
	out[n] = '\0';
	if (strlen(out) != n) /* an embedded NUL: not something seal made */
		goto out;
	*ret = out;
	out = NULL;
	r = 0;
out:
	if (out) {
		OPENSSL_cleanse(out, n + 1);
		free(out);
	}
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return r;
}
