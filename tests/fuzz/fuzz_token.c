/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_token.c - sc_token_verify() on arbitrary input, and the sign/verify
 * round trip.
 *
 * Input: NAME "\n" TOKEN. Without a newline the whole input is the token
 * and the name is "k1".
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzzing-secret-0123456789";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *name = "k1", *token, *nl;
	char signed_tok[SC_TOKEN_MAX];
	uint64_t fence = 0, fence2 = 0;
	int64_t expiry = 0, now = 1700000000;
	int r;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	token = buf;
	nl = memchr(buf, '\n', size);
	if (nl) {
		*nl = '\0';
		name = buf;
		token = nl + 1;
	}

	r = sc_token_verify(secret, sizeof(secret) - 1, name, token, now, &fence, &expiry);
	if (r != 0 && r != -EBADMSG && r != -EPERM && r != -ETIME)
		abort();
	if (r == 0 && expiry <= now)
		abort();
	(void)sc_token_strerror(r);

	/* Round trip: a token we sign verifies, with the same fence. */
	if (sc_stream_name_valid(name)) {
		fence = 0;
		for (size_t i = 0; i < size && i < 8; i++)
			fence = fence << 8 | data[i];
		if (sc_token_sign(secret, sizeof(secret) - 1, name, fence, now + 60, signed_tok,
				  sizeof(signed_tok)) != 0)
			abort();
		r = sc_token_verify(secret, sizeof(secret) - 1, name, signed_tok, now, &fence2,
				    &expiry);
		if (r != 0 || fence2 != fence || expiry != now + 60)
			abort();
		/* ... and not for another name, nor after expiry. */
		if (sc_token_verify(secret, sizeof(secret) - 1, "other-name", signed_tok, now, NULL,
				    NULL) != -EPERM)
			abort();
		if (sc_token_verify(secret, sizeof(secret) - 1, name, signed_tok, now + 60, NULL,
				    NULL) != -ETIME)
			abort();
	}
	free(buf);
	return 0;
}
