/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "rtp.h"

static void test_classify(void **state)
{
	static const uint8_t stun[] = {0x00, 0x01}, dtls[] = {22, 0xfe}, rtp[] = {0x80, 96},
			     rtpm[] = {0x80, 0x80 | 111}, rtcp[] = {0x80, 200},
			     rtcpfb[] = {0x81, 206}, junk[] = {0x40, 0};

	(void)state;
	assert_int_equal(sc_pkt_classify(stun, 2), SC_PKT_STUN);
	assert_int_equal(sc_pkt_classify(dtls, 2), SC_PKT_DTLS);
	assert_int_equal(sc_pkt_classify(rtp, 2), SC_PKT_RTP);
	assert_int_equal(sc_pkt_classify(rtpm, 2), SC_PKT_RTP);
	assert_int_equal(sc_pkt_classify(rtcp, 2), SC_PKT_RTCP);
	assert_int_equal(sc_pkt_classify(rtcpfb, 2), SC_PKT_RTCP);
	assert_int_equal(sc_pkt_classify(junk, 2), SC_PKT_UNKNOWN);
	assert_int_equal(sc_pkt_classify(rtp, 1), SC_PKT_UNKNOWN);
	assert_int_equal(sc_pkt_classify(NULL, 0), SC_PKT_UNKNOWN);
}

/* V=2 P=1 X=1 CC=1, M=1 PT=96, seq 0x1234, ts, ssrc, one CSRC, one-byte
 * extensions, payload "abc", 3 bytes of padding. */
static const uint8_t pkt_full[] = {
	0xb1, 0xe0, 0x12, 0x34, 0x00, 0x01, 0x02, 0x03, 0xca, 0xfe, 0xba, 0xbe, /* fixed */
	0x11, 0x22, 0x33, 0x44,							/* CSRC */
	0xbe, 0xde, 0x00, 0x02, /* profile, 2 words */
	0x10, 0xaa,		/* id 1, len 1 */
	0x00,			/* padding */
	0x31, 0xbb, 0xcc,	/* id 3, len 2 */
	0x00, 0x00,		/* padding */
	'a',  'b',  'c',  0x00, 0x00, 0x03,
};

static void test_parse_full(void **state)
{
	const uint8_t *v;
	size_t vl;
	sc_rtp r;

	(void)state;
	assert_int_equal(sc_rtp_parse(pkt_full, sizeof(pkt_full), &r), 0);
	assert_true(r.marker);
	assert_int_equal(r.pt, 96);
	assert_int_equal(r.seq, 0x1234);
	assert_int_equal(r.ts, 0x00010203);
	assert_int_equal(r.ssrc, 0xcafebabe);
	assert_int_equal(r.csrc_count, 1);
	assert_int_equal(r.ext_profile, 0xbede);
	assert_int_equal(r.ext_len, 8);
	assert_ptr_equal(r.ext, pkt_full + 20);
	assert_int_equal(r.payload_len, 3);
	assert_memory_equal(r.payload, "abc", 3);

	assert_int_equal(sc_rtp_ext_find(&r, 1, &v, &vl), 0);
	assert_int_equal(vl, 1);
	assert_int_equal(v[0], 0xaa);
	assert_int_equal(sc_rtp_ext_find(&r, 3, &v, &vl), 0);
	assert_int_equal(vl, 2);
	assert_int_equal(v[0], 0xbb);
	assert_int_equal(v[1], 0xcc);
	assert_int_equal(sc_rtp_ext_find(&r, 2, &v, &vl), -ENOENT);
	assert_int_equal(sc_rtp_ext_find(&r, 15, &v, &vl), -ENOENT);
	assert_int_equal(sc_rtp_ext_find(&r, 0, &v, &vl), -ENOENT);
}

static void test_parse_minimal_and_bad(void **state)
{
	uint8_t p[64];
	sc_rtp r, keep;

	(void)state;
	memset(p, 0, sizeof(p));
	p[0] = 0x80;
	p[1] = 111;
	assert_int_equal(sc_rtp_parse(p, 12, &r), 0);
	assert_int_equal(r.payload_len, 0);
	assert_int_equal(r.ext_profile, 0);
	assert_null(r.ext);
	assert_false(r.marker);

	memset(&keep, 0x5a, sizeof(keep));
	r = keep;
	assert_int_equal(sc_rtp_parse(p, 11, &r), -EBADMSG);
	assert_memory_equal(&r, &keep, sizeof(r)); /* untouched on failure */
	p[0] = 0x40;
	assert_int_equal(sc_rtp_parse(p, 20, &r), -EBADMSG); /* version 1 */
	p[0] = 0x82;					     /* two CSRCs, 8 bytes */
	assert_int_equal(sc_rtp_parse(p, 19, &r), -EBADMSG);
	assert_int_equal(sc_rtp_parse(p, 20, &r), 0);
	p[0] = 0x90; /* extension header cut */
	assert_int_equal(sc_rtp_parse(p, 14, &r), -EBADMSG);
	p[12] = 0xbe;
	p[13] = 0xde;
	p[15] = 2; /* 8 bytes announced, 4 present */
	assert_int_equal(sc_rtp_parse(p, 20, &r), -EBADMSG);
	assert_int_equal(sc_rtp_parse(p, 24, &r), 0);
	assert_int_equal(r.payload_len, 0);
	p[0] = 0xa0; /* padding: count 0 is invalid */
	p[19] = 0;
	assert_int_equal(sc_rtp_parse(p, 20, &r), -EBADMSG);
	p[19] = 9; /* more than the 8 payload bytes */
	assert_int_equal(sc_rtp_parse(p, 20, &r), -EBADMSG);
	p[19] = 8; /* all of it: empty payload */
	assert_int_equal(sc_rtp_parse(p, 20, &r), 0);
	assert_int_equal(r.payload_len, 0);
}

static void test_ext_forms(void **state)
{
	/* Two-byte form (0x1000 + appbits): id 7 len 0, pad, id 20 len 3. */
	static const uint8_t two[] = {0x07, 0x00, 0x00, 0x14, 0x03, 0x01, 0x02, 0x03};
	/* One-byte: id 15 stops processing even though id 2 follows. */
	static const uint8_t stop[] = {0xf0, 0x21, 0x00, 0x00};
	/* One-byte: id 1 claims 4 bytes but only 3 remain. */
	static const uint8_t bad[] = {0x13, 0x01, 0x02, 0x03};
	/* Two-byte: length runs past the end. */
	static const uint8_t bad2[] = {0x05, 0x09, 0x00, 0x00};
	const uint8_t *v;
	size_t vl;
	sc_rtp r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ext_profile = 0x1003;
	r.ext = two;
	r.ext_len = sizeof(two);
	assert_int_equal(sc_rtp_ext_find(&r, 7, &v, &vl), 0);
	assert_int_equal(vl, 0);
	assert_int_equal(sc_rtp_ext_find(&r, 20, &v, &vl), 0);
	assert_int_equal(vl, 3);
	assert_int_equal(v[2], 3);
	assert_int_equal(sc_rtp_ext_find(&r, 21, &v, &vl), -ENOENT);
	r.ext = bad2;
	r.ext_len = sizeof(bad2);
	assert_int_equal(sc_rtp_ext_find(&r, 6, &v, &vl), -EBADMSG);

	r.ext_profile = 0xbede;
	r.ext = stop;
	r.ext_len = sizeof(stop);
	assert_int_equal(sc_rtp_ext_find(&r, 2, &v, &vl), -ENOENT);
	r.ext = bad;
	r.ext_len = sizeof(bad);
	assert_int_equal(sc_rtp_ext_find(&r, 2, &v, &vl), -EBADMSG);

	r.ext_profile = 0x1234; /* not RFC 8285 */
	assert_int_equal(sc_rtp_ext_find(&r, 1, &v, &vl), -ENOENT);
}

static void test_rtx(void **state)
{
	/* RTX packet: PT 97, payload = OSN 0xfffe + "xy". */
	static const uint8_t p[] = {0x80, 97, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe, 'x', 'y'};
	const uint8_t *pl;
	size_t pll;
	uint16_t osn;
	sc_rtp r;

	(void)state;
	assert_int_equal(sc_rtp_parse(p, sizeof(p), &r), 0);
	assert_int_equal(sc_rtp_rtx_unwrap(&r, &osn, &pl, &pll), 0);
	assert_int_equal(osn, 0xfffe);
	assert_int_equal(pll, 2);
	assert_memory_equal(pl, "xy", 2);
	assert_int_equal(sc_rtp_parse(p, 13, &r), 0);
	assert_int_equal(sc_rtp_rtx_unwrap(&r, &osn, &pl, &pll), -EBADMSG);
}

typedef struct {
	int n;
	sc_rtcp_item it[8];
} collect;

static void collect_fn(void *ud, const sc_rtcp_item *it)
{
	collect *c = ud;

	if (c->n < 8)
		c->it[c->n] = *it;
	c->n++;
}

/* SR (no report blocks) + SDES with one CNAME chunk. */
static const uint8_t compound[] = {
	0x80, 200,  0x00, 0x06, 0x11, 0x22, 0x33, 0x44, /* SR, 7 words */
	0xe4, 0x5c, 0x2e, 0x80, 0x80, 0x00, 0x00, 0x00, /* NTP */
	0x00, 0x00, 0x10, 0x00,				/* RTP ts */
	0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x27, 0x10, /* 100 packets, 10000 octets */
	0x81, 202,  0x00, 0x03, 0x11, 0x22, 0x33, 0x44, /* SDES, 1 chunk, 4 words */
	0x01, 0x03, 'a',  'b',	'c',  0x00, 0x00, 0x00, /* CNAME "abc", end, pad */
};

static void test_rtcp_compound(void **state)
{
	uint8_t bad[sizeof(compound)];
	collect c;
	sc_rtcp_sr sr;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(compound, sizeof(compound), collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.it[0].pt, 200);
	assert_int_equal(c.it[0].fmt, 0);
	assert_int_equal(c.it[0].ssrc, 0x11223344);
	assert_int_equal(c.it[0].body_len, 20);
	assert_int_equal(c.it[1].pt, 202);
	assert_int_equal(c.it[1].fmt, 1);
	assert_int_equal(c.it[1].body_len, 8);
	assert_int_equal(c.it[1].body[0], 1);

	assert_int_equal(sc_rtcp_sr_parse(&c.it[0], &sr), 0);
	assert_int_equal(sr.ssrc, 0x11223344);
	assert_true(sr.ntp == 0xe45c2e8080000000ULL);
	assert_int_equal(sr.rtp_ts, 0x1000);
	assert_int_equal(sr.packets, 100);
	assert_int_equal(sr.octets, 10000);
	assert_int_equal(sc_rtcp_sr_parse(&c.it[1], &sr), -EBADMSG);
	assert_true(sc_ntp_to_unix_us(sr.ntp) ==
		    (0xe45c2e80ULL - 2208988800ULL) * 1000000ULL + 500000);

	/* Second length runs past the end: the first item was still seen. */
	memcpy(bad, compound, sizeof(bad));
	bad[31] = 0x04;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(bad, sizeof(bad), collect_fn, &c), -EBADMSG);
	assert_int_equal(c.n, 1);
	/* Truncated header, wrong version. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(compound, 30, collect_fn, &c), -EBADMSG);
	assert_int_equal(c.n, 1);
	bad[31] = 0x03;
	bad[28] = 0x41;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(bad, sizeof(bad), collect_fn, &c), -EBADMSG);
	assert_int_equal(c.n, 1);
	assert_int_equal(sc_rtcp_walk(compound, 0, collect_fn, &c), 0);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_build_rr(void **state)
{
	static const uint8_t want[] = {
		0x82, 201,  0x00, 0x0d, 0x00, 0x00, 0x00, 0x01, /* RR, 2 blocks, 14 words */
		0xaa, 0xaa, 0xaa, 0xaa, 0x40, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x63, 0x12, 0x34, 0x56, 0x78, 0x00, 0x01,
		0x00, 0x00, 0xbb, 0xbb, 0xbb, 0xbb, 0x00, 0xff, 0xff, 0xff, /* cumulative -1 */
		0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00,
	};
	sc_rtcp_report b[2];
	uint8_t out[64];
	collect c;
	int n;

	(void)state;
	memset(b, 0, sizeof(b));
	b[0].ssrc = 0xaaaaaaaa;
	b[0].fraction_lost = 64;
	b[0].cumulative_lost = 5;
	b[0].highest_seq = 0x00010002;
	b[0].jitter = 99;
	b[0].lsr = 0x12345678;
	b[0].dlsr = 0x10000;
	b[1].ssrc = 0xbbbbbbbb;
	b[1].cumulative_lost = -1;
	b[1].highest_seq = 7;
	n = sc_rtcp_build_rr(out, sizeof(out), 1, b, 2);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Independent parse. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(out, (size_t)n, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.it[0].pt, 201);
	assert_int_equal(c.it[0].fmt, 2);
	assert_int_equal(c.it[0].ssrc, 1);
	assert_int_equal(c.it[0].body_len, 48);
	assert_int_equal(be32(c.it[0].body + 24), 0xbbbbbbbb);
	assert_int_equal(sc_rtcp_build_rr(out, 55, 1, b, 2), -ENOBUFS);
	assert_int_equal(sc_rtcp_build_rr(out, 8, 1, NULL, 0), 8);
}

/* Expand the FCI of a generic NACK back into sequence numbers. */
static size_t nack_expand(const uint8_t *p, size_t len, uint16_t *out)
{
	size_t n = 0, i;
	collect c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(p, len, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.it[0].pt, 205);
	assert_int_equal(c.it[0].fmt, 1);
	assert_int_equal(c.it[0].body_len % 4, 0);
	for (i = 4; i < c.it[0].body_len; i += 4) {
		const uint8_t *f = c.it[0].body + i;
		uint16_t pid = (uint16_t)(f[0] << 8 | f[1]), blp = (uint16_t)(f[2] << 8 | f[3]);
		int b;

		out[n++] = pid;
		for (b = 0; b < 16; b++)
			if (blp & (1u << b))
				out[n++] = (uint16_t)(pid + b + 1);
	}
	return n;
}

static void test_build_nack(void **state)
{
	static const uint16_t seqs[] = {5, 3, 3, 20, 21, 65535, 0, 5};
	static const uint8_t want[] = {
		0x81, 205,  0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0xde,
		0xad, 0xbe, 0xef, 0xff, 0xff, 0x00, 0x29, /* PID 65535: +1 (0), +4 (3), +6 (5) */
		0x00, 0x14, 0x00, 0x01,			  /* PID 20: +1 (21) */
	};
	static const uint16_t order[] = {65535, 0, 3, 5, 20, 21};
	uint16_t got[64], many[300];
	uint8_t out[1400];
	size_t i;
	int n;

	(void)state;
	n = sc_rtcp_build_nack(out, sizeof(out), 1, 0xdeadbeef, seqs, 8);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(nack_expand(out, (size_t)n, got), 6);
	assert_memory_equal(got, order, sizeof(order));
	assert_int_equal(sc_rtcp_build_nack(out, 19, 1, 2, seqs, 8), -ENOBUFS);
	assert_int_equal(sc_rtcp_build_nack(out, sizeof(out), 1, 2, seqs, 0), -EINVAL);

	/* 300 seqs two apart, given in reverse, crossing 65535 -> 0. */
	for (i = 0; i < 300; i++)
		many[i] = (uint16_t)(65300 + 2 * (299 - i)); /* reversed, wraps */
	n = sc_rtcp_build_nack(out, sizeof(out), 1, 2, many, 300);
	assert_true(n > 0);
	/* A PID and 8 more (+2 .. +16) per item: 300 / 9 -> 34 items. */
	assert_int_equal(n, 12 + 4 * 34);
	{
		uint16_t exp[300];

		assert_int_equal(nack_expand(out, (size_t)n, exp), 300);
		for (i = 0; i < 300; i++)
			assert_int_equal(exp[i], (uint16_t)(65300 + 2 * i));
	}
}

static void test_build_pli_fir(void **state)
{
	static const uint8_t pli[] = {0x81, 206, 0x00, 0x02, 0, 0, 0, 9, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t fir[] = {0x84, 206, 0x00, 0x04, 0,	   0,	 0, 9, 0, 0,
				      0,    0,	 0x01, 0x02, 0x03, 0x04, 7, 0, 0, 0};
	uint8_t out[32];
	collect c;

	(void)state;
	assert_int_equal(sc_rtcp_build_pli(out, sizeof(out), 9, 0x01020304), 12);
	assert_memory_equal(out, pli, sizeof(pli));
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(out, 12, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.it[0].fmt, 1);
	assert_int_equal(be32(c.it[0].body), 0x01020304);
	assert_int_equal(sc_rtcp_build_fir(out, sizeof(out), 9, 0x01020304, 7), 20);
	assert_memory_equal(out, fir, sizeof(fir));
	memset(&c, 0, sizeof(c));
	assert_int_equal(sc_rtcp_walk(out, 20, collect_fn, &c), 0);
	assert_int_equal(c.it[0].fmt, 4);
	assert_int_equal(c.it[0].body_len, 12);
	assert_int_equal(be32(c.it[0].body + 4), 0x01020304);
	assert_int_equal(sc_rtcp_build_pli(out, 11, 9, 1), -ENOBUFS);
	assert_int_equal(sc_rtcp_build_fir(out, 19, 9, 1, 0), -ENOBUFS);
}

static void test_ntp(void **state)
{
	static const uint64_t us[] = {0,
				      1,
				      999999,
				      1500000,
				      1700000000123456ULL,
				      2085978495999999ULL /* 2036-02-07, after the wrap */};
	size_t i;

	(void)state;
	assert_true(sc_ntp_from_unix_us(0) == 2208988800ULL << 32);
	assert_true(sc_ntp_from_unix_us(1500000) == ((2208988801ULL << 32) | 0x80000000ULL));
	assert_true(sc_ntp_to_unix_us((2208988802ULL << 32) | 0x40000000ULL) == 2250000);
	for (i = 0; i < sizeof(us) / sizeof(us[0]); i++)
		assert_true(sc_ntp_to_unix_us(sc_ntp_from_unix_us(us[i])) == us[i]);
	/* The 2036 wrap: seconds field back to small values. */
	assert_true(sc_ntp_from_unix_us(2085978496000000ULL) >> 32 == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_minimal_and_bad),
		cmocka_unit_test(test_ext_forms),
		cmocka_unit_test(test_rtx),
		cmocka_unit_test(test_rtcp_compound),
		cmocka_unit_test(test_build_rr),
		cmocka_unit_test(test_build_nack),
		cmocka_unit_test(test_build_pli_fir),
		cmocka_unit_test(test_ntp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
