/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.c - HMAC-SHA256 publish tokens (format in token.h).
 *
 * Verification is strict: one canonical spelling per token (decimal without
 * leading zeros, unpadded base64url whose unused bits are zero), so that a
 * token cannot be altered without breaking it.
 */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define TOKEN_PREFIX "stagecast-v1\n"
#define MAC_LEN	     32
#define MAC_B64_LEN  43 /* 256 bits in 6-bit digits, no padding */
#define NAME_MAX_LEN 1024
#define SECRET_MIN   16

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* 32 bytes -> 43 characters + NUL. */
static void b64url_encode_mac(const unsigned char *in, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < MAC_LEN; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		out[o++] = b64url[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

/* 43 characters -> 32 bytes; -EBADMSG unless canonical. */
static int b64url_decode_mac(const char *in, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < MAC_B64_LEN; i++) {
		int v = b64url_val(in[i]);

		if (v < 0)
			return -EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* 258 bits were read: the 2 left over must be zero. */
	if (o != MAC_LEN || (acc & ((1u << bits) - 1)) != 0)
		return -EBADMSG;
	return 0;
}

static int compute_mac(const void *secret, size_t secret_len, const char *name, uint64_t fence,
		       int64_t expiry, unsigned char mac[MAC_LEN])
{
	char msg[sizeof(TOKEN_PREFIX) + NAME_MAX_LEN + 48];
	unsigned int mac_len = 0;
	int n;

	n = snprintf(msg, sizeof(msg), TOKEN_PREFIX "%s\n%" PRIu64 "\n%" PRId64, name, fence,
		     expiry);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -EINVAL;
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, (size_t)n, mac,
		  &mac_len) ||
	    mac_len != MAC_LEN) {
		OPENSSL_cleanse(msg, sizeof(msg));
		return -ENOMEM;
	}
	OPENSSL_cleanse(msg, sizeof(msg));
	return 0;
}

static bool name_ok(const char *name)
{
	return name && name[0] && strnlen(name, NAME_MAX_LEN + 1) <= NAME_MAX_LEN &&
	       !strchr(name, '\n');
}

int sc_token_sign(const void *secret, size_t secret_len, const char *name, uint64_t fence,
		  int64_t expiry, char *out, size_t outlen)
{
	unsigned char mac[MAC_LEN];
	char sig[MAC_B64_LEN + 1];
	int n, r;

	if (!secret || secret_len == 0 || secret_len > SC_SECRET_MAX || !name_ok(name) ||
	    expiry < 0 || !out)
		return -EINVAL;
	r = compute_mac(secret, secret_len, name, fence, expiry, mac);
	if (r < 0)
		return r;
	b64url_encode_mac(mac, sig);
	OPENSSL_cleanse(mac, sizeof(mac));
	n = snprintf(NULL, 0, "%" PRIu64 ".%" PRId64 ".%s", fence, expiry, sig);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOBUFS;
	snprintf(out, outlen, "%" PRIu64 ".%" PRId64 ".%s", fence, expiry, sig);
	return 0;
}

/* Canonical decimal between p and end, at most max. */
static int parse_dec(const char *p, const char *end, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (p == end || (*p == '0' && end - p > 1))
		return -EBADMSG;
	for (; p < end; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EBADMSG;
		d = (unsigned)(*p - '0');
		if (v > (max - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

int sc_token_verify(const void *secret, size_t secret_len, const char *name, const char *token,
		    int64_t now, uint64_t *ret_fence, int64_t *ret_expiry)
{
	unsigned char mac[MAC_LEN], want[MAC_LEN];
	const char *dot1, *dot2;
	uint64_t fence, expiry;
	size_t len;
	int r, diff;

	if (!secret || secret_len == 0 || secret_len > SC_SECRET_MAX || !token)
		return -EINVAL;
	len = strnlen(token, SC_TOKEN_MAX + 1);
	if (len == 0 || len > SC_TOKEN_MAX)
		return -EBADMSG;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		return -EBADMSG;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (!dot2 || (size_t)(token + len - (dot2 + 1)) != MAC_B64_LEN)
		return -EBADMSG;
	if (parse_dec(token, dot1, UINT64_MAX, &fence) < 0 ||
	    parse_dec(dot1 + 1, dot2, INT64_MAX, &expiry) < 0 ||
	    b64url_decode_mac(dot2 + 1, mac) < 0)
		return -EBADMSG;

	if (!name_ok(name))
		return -EPERM;
	r = compute_mac(secret, secret_len, name, fence, (int64_t)expiry, want);
	if (r < 0)
		return r;
	diff = CRYPTO_memcmp(mac, want, MAC_LEN);
	OPENSSL_cleanse(want, sizeof(want));
	if (diff != 0)
		return -EPERM;
	if (now >= (int64_t)expiry)
		return -ETIME;
	if (ret_fence)
		*ret_fence = fence;
	if (ret_expiry)
		*ret_expiry = (int64_t)expiry;
	return 0;
}

const char *sc_token_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EBADMSG:
		return "malformed";
	case -EPERM:
		return "bad signature";
	case -ETIME:
		return "expired";
	case -EINVAL:
		return "invalid argument";
	case -ENOBUFS:
		return "buffer too small";
	default:
		return "verification failed";
	}
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int sc_secret_load(const char *path, unsigned char *out, size_t outlen, size_t *ret_len)
{
	unsigned char buf[SC_SECRET_MAX + 256];
	size_t len = 0;
	int fd, r = 0;

	if (!path || !out)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (r == 0 && len == sizeof(buf))
		r = -EFBIG;
	close(fd);
	if (r < 0)
		goto out;
	while (len > 0 && is_space((char)buf[len - 1]))
		len--;
	if (len < SECRET_MIN) {
		r = -EINVAL;
		goto out;
	}
	if (len > outlen || len > SC_SECRET_MAX) {
		r = -ENOBUFS;
		goto out;
	}
	memcpy(out, buf, len);
	if (ret_len)
		*ret_len = len;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int sc_token_file_read(const char *path, char **ret)
{
	unsigned char buf[SC_SECRET_MAX];
	size_t len;
	int rc = sc_secret_load(path, buf, sizeof(buf) - 1, &len);
	if (rc < 0)
		return rc;
	buf[len] = 0;
	char *s = strdup((char *)buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}
