/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secretbox.h - encrypt what the store must not keep in the clear (stream
 * destination URLs, which carry stream keys).
 *
 *   key    = HKDF-SHA256(ikm = secret, salt = none, info = "stagecast-store-v1")
 *   sealed = base64(0x01 || nonce[12] || AES-256-GCM(key, nonce, plaintext) || tag[16])
 *
 * The version byte is also the GCM additional data. Standard base64 with
 * padding, no line breaks. A fresh random nonce per seal, so sealing the
 * same text twice gives two different strings.
 *
 * The secret is the scaler's --secret-file (the one it signs relay tokens
 * with); in development mode, a random secret kept in a file next to the
 * database (sc_secretbox_key_file). Thread-safe: no shared state.
 */
#ifndef SC_SECRETBOX_H
#define SC_SECRETBOX_H

#include <stddef.h>

#define SC_SECRETBOX_KEY_LEN	32
#define SC_SECRETBOX_SECRET_MIN 16
#define SC_SECRETBOX_PLAIN_MAX	(64 * 1024)

typedef struct {
	unsigned char k[SC_SECRETBOX_KEY_LEN];
} sc_secretbox_key;

/* Derives the key from a secret of at least SC_SECRETBOX_SECRET_MIN bytes.
 * 0, -EINVAL (short secret), -EIO (OpenSSL failed). */
int sc_secretbox_key_derive(const void *secret, size_t secret_len, sc_secretbox_key *ret);

/*
 * Development mode: derives the key from the secret in path, creating the
 * file first (mode 0600, 32 random bytes as 64 hex digits) if it does not
 * exist. The file is read like --secret-file (sc_secret_load: trailing
 * whitespace trimmed, at least 16 bytes). 0 or a negative errno.
 */
int sc_secretbox_key_file(const char *path, sc_secretbox_key *ret);

/* Overwrites a key that is no longer needed. */
void sc_secretbox_key_wipe(sc_secretbox_key *key);

/* Seals a NUL-terminated plaintext (at most SC_SECRETBOX_PLAIN_MAX bytes);
 * *ret is malloc'd. 0, -EMSGSIZE, -ENOMEM, -EIO. */
int sc_secretbox_seal(const sc_secretbox_key *key, const char *plaintext, char **ret);

/* Opens what sc_secretbox_seal made; *ret is malloc'd and NUL-terminated.
 * -EBADMSG if it is malformed, tampered with, or sealed with another key. */
int sc_secretbox_open(const sc_secretbox_key *key, const char *sealed, char **ret);

#endif
