/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_rtmp_handshake.c - a server handshake fed arbitrary bytes in pieces
 * (piece sizes from the first byte), and a client fed the same bytes.
 */
#undef NDEBUG /* the checks are the point */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "rtmp_handshake.h"

#define HS SC_RTMP_HANDSHAKE_SIZE

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Returns the total consumed; checks the state machine's promises. */
static size_t run(sc_rtmp_handshake *hs, const uint8_t *p, size_t n, size_t piece, sc_buf *out)
{
	size_t total = 0;
	int done = 0;

	while (n > 0) {
		size_t k = piece == 0 || piece > n ? n : piece, used = 0;
		int r = sc_rtmp_handshake_feed(hs, p, k, &used, out);

		if (r < 0) {
			assert(r == -EPROTO);
			assert(sc_rtmp_handshake_feed(hs, p, k, &used, out) == -EPROTO);
			break;
		}
		assert(used <= k);
		if (done)
			assert(r == 1 && used == 0);
		if (r == 0)
			assert(used == k);
		done = r == 1;
		total += used;
		p += k;
		n -= k;
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_rtmp_handshake *s, *c;
	size_t piece, used;
	sc_buf out;

	if (size < 1)
		return 0;
	piece = data[0] * 13u;
	data++;
	size--;

	s = sc_rtmp_handshake_new(SC_RTMP_HS_SERVER);
	c = sc_rtmp_handshake_new(SC_RTMP_HS_CLIENT);
	assert(s && c);
	sc_buf_init(&out, 1 << 16);

	used = run(s, data, size, piece, &out);
	assert(used <= 1 + 2 * HS);
	/* S0S1S2 went out once C0C1 was in, and nothing else ever does. */
	assert(out.len == (used >= 1 + HS ? 1 + 2 * HS : 0));

	sc_buf_reset(&out);
	assert(sc_rtmp_handshake_start(c, &out) == 0);
	assert(out.len == 1 + HS);
	sc_buf_reset(&out);
	used = run(c, data, size, piece, &out);
	assert(used <= 1 + 2 * HS);
	assert(out.len == (used >= 1 + HS ? HS : 0));

	sc_buf_free(&out);
	sc_rtmp_handshake_free(s);
	sc_rtmp_handshake_free(c);
	return 0;
}
