/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_jitterbuf.c - the jitter buffer under a packet sequence made from the
 * input. Four bytes of configuration, then four bytes per step:
 *
 *   b0  sequence number delta (signed)
 *   b1  bit 0 marker, bit 1 next timestamp, bit 2 random timestamp,
 *       bits 3-5 payload size, bit 6 no packet (time only), bit 7 far jump
 *   b2  time advance (b2 * 0.5 ms)
 *   b3  payload fill / random timestamp
 *
 * After each step: pop until nothing, then ask for NACKs. Invariants:
 * frames come out in order of unwrapped sequence number and never twice,
 * their packets are consecutive and intact (the payload carries its own
 * seq and ts), video frames share one timestamp, audio frames are one
 * packet, at most cap packets are held, and never more than were accepted
 * and not yet released.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jitterbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(const sc_jitterbuf_config *cfg, const sc_jb_frame *f, uint64_t now)
{
	size_t i;

	if (!f->complete || f->n == 0 || f->n > cfg->cap || !f->pkts || f->arrival_us > now)
		abort();
	if (!cfg->video && f->n != 1)
		abort();
	for (i = 0; i < f->n; i++) {
		const sc_rtp *p = &f->pkts[i];
		size_t k;

		if (p->seq != (uint16_t)(f->first_seq + i))
			abort();
		if (cfg->video && p->ts != f->ts)
			abort();
		if (p->payload_len < 6 || p->payload[0] != (uint8_t)(p->seq >> 8) ||
		    p->payload[1] != (uint8_t)p->seq || p->payload[2] != (uint8_t)(p->ts >> 24) ||
		    p->payload[3] != (uint8_t)(p->ts >> 16) ||
		    p->payload[4] != (uint8_t)(p->ts >> 8) || p->payload[5] != (uint8_t)p->ts)
			abort();
		for (k = 6; k < p->payload_len; k++)
			if (p->payload[k] != (uint8_t)(p->seq + k))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_jitterbuf_config cfg;
	sc_jitterbuf *jb;
	uint64_t now = 5000000, accepted = 0, released = 0, next_seq = 0;
	bool have_last = false;
	uint16_t seq = 0, nk[32];
	uint32_t ts = 0;
	uint8_t payload[6 + 7 * 40];
	size_t i;

	if (size < 4)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.video = data[0] & 1;
	cfg.clock_rate = cfg.video ? 90000 : 48000;
	cfg.cap = 2 + data[1] % 63;
	cfg.max_wait_ms = data[2];
	cfg.nack_delay_ms = data[3] & 15;
	cfg.nack_retry_ms = (data[3] >> 4) * 5;
	cfg.nack_max = 1 + (data[0] >> 5);
	seq = (uint16_t)(data[1] << 8 | data[2]);
	jb = sc_jitterbuf_new(&cfg);
	if (!jb)
		abort();

	for (i = 4; i + 4 <= size; i += 4) {
		const uint8_t *b = data + i;
		sc_jb_frame f;
		unsigned rounds = 0;
		bool pli;
		size_t n;
		int r;

		now += (uint64_t)b[2] * 500;
		if (!(b[1] & 0x40)) {
			size_t len = 6 + ((b[1] >> 3) & 7) * 40, k;
			sc_rtp p;

			seq = (uint16_t)(seq + (int8_t)b[0]);
			if (b[1] & 0x80)
				seq = (uint16_t)(seq + 20000);
			if (b[1] & 2)
				ts += 3000;
			if (b[1] & 4)
				ts = (uint32_t)b[3] * 0x01010101u;
			payload[0] = (uint8_t)(seq >> 8);
			payload[1] = (uint8_t)seq;
			payload[2] = (uint8_t)(ts >> 24);
			payload[3] = (uint8_t)(ts >> 16);
			payload[4] = (uint8_t)(ts >> 8);
			payload[5] = (uint8_t)ts;
			for (k = 6; k < len; k++)
				payload[k] = (uint8_t)(seq + k);
			memset(&p, 0, sizeof(p));
			p.seq = seq;
			p.ts = ts;
			p.marker = b[1] & 1;
			p.pt = 96;
			p.ssrc = 42;
			p.payload = payload;
			p.payload_len = len;
			if (b[3] & 1) {
				p.ext_profile = 0xbede;
				p.ext = b; /* any 4 bytes */
				p.ext_len = 4;
			}
			r = sc_jitterbuf_push(jb, &p, now);
			if (r != 0 && r != 1)
				abort();
			accepted += r == 0;
			/* Overwrite the caller's copy: the buffer must keep its own. */
			memset(payload, 0xee, sizeof(payload));
		}
		while (sc_jitterbuf_pop(jb, now, &f) == 1) {
			if (++rounds > cfg.cap)
				abort();
			check_frame(&cfg, &f, now);
			if (have_last && f.first_seq < next_seq)
				abort(); /* out of order or twice */
			next_seq = f.first_seq + f.n;
			have_last = true;
			released += f.n;
		}
		n = sc_jitterbuf_nacks(jb, now, nk, 1 + b[3] % 32, &pli);
		if (n > 1 + (size_t)(b[3] % 32))
			abort();
		if (sc_jitterbuf_held(jb) > cfg.cap || sc_jitterbuf_held(jb) > accepted - released)
			abort();
		if (released > accepted)
			abort();
		if ((b[1] & 0x38) == 0x38) {
			sc_rtcp_report rr;
			sc_jitterbuf_stats st;

			sc_jitterbuf_report(jb, &rr);
			sc_jitterbuf_get_stats(jb, &st);
			if (st.frames > released)
				abort();
		}
	}
	sc_jitterbuf_free(jb);
	return 0;
}
