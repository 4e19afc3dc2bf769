/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h - publish tokens: who may publish a stream name, under which
 * fencing number, until when.
 *
 *   token = FENCE "." EXPIRY "." base64url(HMAC-SHA256(secret, MSG))
 *   MSG   = "stagecast-v1\n" NAME "\n" FENCE "\n" EXPIRY
 *
 * FENCE and EXPIRY are decimal (EXPIRY in Unix seconds). The scaler signs,
 * the relay verifies without calling anyone. Comparison is constant-time.
 */
#ifndef SC_TOKEN_H
#define SC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define SC_TOKEN_MAX  128
#define SC_SECRET_MAX 1024

/* Writes the token to out. 0, or -ENOBUFS / -EINVAL (empty secret/name). */
int sc_token_sign(const void *secret, size_t secret_len, const char *name, uint64_t fence,
		  int64_t expiry, char *out, size_t outlen);

/*
 * Checks token for name at time now. On success returns 0 and writes the
 * fence (and expiry, if ret_expiry is not NULL). Errors:
 *   -EBADMSG  malformed token
 *   -EPERM    bad signature (wrong secret or name)
 *   -ETIME    expired
 */
int sc_token_verify(const void *secret, size_t secret_len, const char *name, const char *token,
		    int64_t now, uint64_t *ret_fence, int64_t *ret_expiry);

/* "malformed", "bad signature", "expired", ... for a verify error. */
const char *sc_token_strerror(int err);

/*
 * Read a secret file: contents with trailing whitespace trimmed; must be at
 * least 16 bytes. 0, or a negative errno (-EINVAL for too short).
 */
int sc_secret_load(const char *path, unsigned char *out, size_t outlen, size_t *ret_len);

/*
 * Read a bearer/API token file (same rules as sc_secret_load: trailing
 * whitespace trimmed, at least 16 bytes) into a new string. 0 and *ret
 * (free it), or a negative errno (-EINVAL: too short).
 */
int sc_token_file_read(const char *path, char **ret);

#endif
