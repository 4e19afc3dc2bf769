/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_depay.c - the RTP depacketizers (VP8, H.264, Opus) on packet lists
 * a peer controls. The first byte picks the codec (% 3: vp8, h264, opus);
 * then records of a 2-byte header and a payload:
 *
 *   |E|   length (15 bits)   | payload (length bytes, cut at the end)
 *
 * E ends the frame after this packet (so does the end of the input, and a
 * 64th packet). One depacketizer sees all the frames of an input, so the
 * H.264 SPS/PPS memory is exercised too. Checks: no crash, nothing
 * appended on error, at most SC_DEPAY_MAX_FRAME bytes on success.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "depay.h"

#define MAXPKT 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_frame(sc_depay *d, const sc_depay_ops *ops, sc_rtp *pkts, size_t n, sc_buf *out)
{
	sc_jb_frame f = {.ts = 1, .first_seq = 1, .complete = true, .n = n, .pkts = pkts};
	size_t total = 0, i;
	bool key = false;
	int r;

	for (i = 0; i < n; i++)
		total += pkts[i].payload_len;
	sc_buf_reset(out);
	assert(sc_buf_append_u8(out, 0xee) == 0);
	r = sc_depay_frame(d, &f, out, &key);
	if (r < 0) {
		assert(out->len == 1);
		return;
	}
	assert(out->len > 1);
	assert(out->len - 1 <= SC_DEPAY_MAX_FRAME);
	if (ops == &sc_depay_opus) {
		assert(key);
		assert(n == 1 && out->len - 1 == total);
		assert(memcmp(out->data + 1, pkts[0].payload, total) == 0);
	} else if (ops == &sc_depay_vp8) {
		assert(out->len - 1 >= 3 && out->len - 1 < total);
		assert(key == ((out->data[1] & 1) == 0));
	} else {
		assert(out->len - 1 >= 5);
		assert(memcmp(out->data + 1, "\0\0\0\1", 4) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const sc_depay_ops *const ops[] = {&sc_depay_vp8, &sc_depay_h264, &sc_depay_opus};
	sc_rtp pkts[MAXPKT];
	const sc_depay_ops *o;
	sc_depay *d;
	sc_buf out;
	size_t i = 1, n = 0;

	if (size < 1)
		return 0;
	o = ops[data[0] % 3];
	d = sc_depay_new(o);
	assert(d);
	sc_buf_init(&out, SC_DEPAY_MAX_FRAME + 64);
	while (i + 2 <= size) {
		size_t len = (size_t)(data[i] & 0x7f) << 8 | data[i + 1];
		bool end = data[i] & 0x80;

		i += 2;
		if (len > size - i)
			len = size - i;
		memset(&pkts[n], 0, sizeof(pkts[n]));
		pkts[n].payload = len ? data + i : NULL;
		pkts[n].payload_len = len;
		pkts[n].marker = end;
		n++;
		i += len;
		if (end || n == MAXPKT) {
			run_frame(d, o, pkts, n, &out);
			n = 0;
		}
	}
	if (n)
		run_frame(d, o, pkts, n, &out);
	sc_buf_free(&out);
	sc_depay_free(d);
	return 0;
}
