/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_rtp.c - RTP and RTCP parsing on arbitrary input: classify, RTP
 * parse, every header extension id, RTX unwrap, the RTCP compound walk and
 * SR parse. Every view handed back must lie inside the input. The input
 * also drives the NACK builder (seqs from its bytes), whose output must
 * parse back to exactly the same set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *g_lo, *g_hi;

static void inside(const uint8_t *p, size_t len)
{
	if (len == 0)
		return;
	if (!p || p < g_lo || p > g_hi || len > (size_t)(g_hi - p))
		abort();
}

static void on_item(void *ud, const sc_rtcp_item *it)
{
	sc_rtcp_sr sr;

	(*(unsigned *)ud)++;
	inside(it->body, it->body_len);
	if (sc_rtcp_sr_parse(it, &sr) == 0) {
		if (it->pt != 200 || it->body_len < 20 || sr.ssrc != it->ssrc)
			abort();
		(void)sc_ntp_to_unix_us(sr.ntp);
	}
}

static void check_rtp(const uint8_t *data, size_t size)
{
	const uint8_t *v, *pl;
	size_t vl, pll;
	uint16_t osn;
	sc_rtp r;
	unsigned id;

	if (sc_rtp_parse(data, size, &r) != 0)
		return;
	inside(r.payload, r.payload_len);
	inside(r.ext, r.ext_len);
	if (12 + 4u * r.csrc_count + r.ext_len + r.payload_len > size)
		abort();
	for (id = 0; id < 256; id++) {
		int ret = sc_rtp_ext_find(&r, (uint8_t)id, &v, &vl);

		if (ret == 0) {
			inside(v, vl);
			if (v < r.ext || v + vl > r.ext + r.ext_len)
				abort();
		} else if (ret != -ENOENT && ret != -EBADMSG) {
			abort();
		}
	}
	if (sc_rtp_rtx_unwrap(&r, &osn, &pl, &pll) == 0) {
		inside(pl, pll);
		if (pll + 2 != r.payload_len)
			abort();
	}
}

/* Seqs from the input, NACK built, expanded back: the same set. */
static void check_nack(const uint8_t *data, size_t size)
{
	static uint8_t want[8192], got[8192];
	uint16_t seqs[256];
	uint8_t out[1500];
	size_t n = size / 2, i;
	int len;

	if (n == 0)
		return;
	if (n > 256)
		n = 256;
	memset(want, 0, sizeof(want));
	memset(got, 0, sizeof(got));
	for (i = 0; i < n; i++) {
		/* Clustered values make packing interesting. */
		seqs[i] = (uint16_t)(data[0] << 8 | data[2 * i + 1]);
		want[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
	}
	len = sc_rtcp_build_nack(out, sizeof(out), 1, 2, seqs, n);
	if (len < 0)
		abort(); /* 256 seqs always fit in 1500 bytes */
	if (len < 16 || len % 4 || out[1] != 205 || (out[0] & 0x1f) != 1 ||
	    ((size_t)(out[2] << 8 | out[3]) + 1) * 4 != (size_t)len)
		abort();
	for (i = 12; i < (size_t)len; i += 4) {
		uint16_t pid = (uint16_t)(out[i] << 8 | out[i + 1]);
		uint16_t blp = (uint16_t)(out[i + 2] << 8 | out[i + 3]);
		unsigned b;

		got[pid >> 3] |= (uint8_t)(1u << (pid & 7));
		for (b = 0; b < 16; b++)
			if (blp & (1u << b)) {
				uint16_t s = (uint16_t)(pid + b + 1);

				got[s >> 3] |= (uint8_t)(1u << (s & 7));
			}
	}
	if (memcmp(want, got, sizeof(want)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	unsigned items = 0;

	/* An exact-size heap copy so ASan sees any overread. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	g_lo = copy;
	g_hi = copy + size;

	(void)sc_pkt_classify(copy, size);
	check_rtp(copy, size);
	if (sc_rtcp_walk(copy, size, on_item, &items) == 0 && size && items == 0)
		abort();
	/* Also as RTCP after an SRTP-like 12-byte prefix. */
	if (size > 12)
		(void)sc_rtcp_walk(copy + 12, size - 12, on_item, &items);
	check_nack(copy, size);
	free(copy);
	return 0;
}
