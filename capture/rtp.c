/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtp.c - RTP/RTCP parsing and the RTCP a receiver sends. Written from
 * RFC 3550 (5.1, 6.4, A.1), RFC 4585 (6.1, 6.2.1, 6.3.1), RFC 5104 (4.3.1),
 * RFC 4588 (4), RFC 8285 (4.2, 4.3) and RFC 7983.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rtp.h"

#define RTP_HDR	      12
#define NTP_UNIX_DIFF 2208988800ULL /* seconds from 1900 to 1970 */

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

sc_pkt_kind sc_pkt_classify(const uint8_t *p, size_t len)
{
	if (!p || len < 1)
		return SC_PKT_UNKNOWN;
	if (p[0] <= 3)
		return SC_PKT_STUN;
	if (p[0] >= 20 && p[0] <= 63)
		return SC_PKT_DTLS;
	if (p[0] >= 128 && p[0] <= 191) {
		if (len < 2)
			return SC_PKT_UNKNOWN;
		if (p[1] >= 192 && p[1] <= 223)
			return SC_PKT_RTCP;
		return SC_PKT_RTP;
	}
	return SC_PKT_UNKNOWN;
}

int sc_rtp_parse(const uint8_t *p, size_t len, sc_rtp *ret)
{
	sc_rtp r;
	size_t hdr, pad = 0;

	if (!p || !ret || len < RTP_HDR || (p[0] >> 6) != 2)
		return -EBADMSG;
	memset(&r, 0, sizeof(r));
	r.marker = (p[1] & 0x80) != 0;
	r.pt = p[1] & 0x7f;
	r.seq = rd16(p + 2);
	r.ts = rd32(p + 4);
	r.ssrc = rd32(p + 8);
	r.csrc_count = p[0] & 0x0f;
	hdr = RTP_HDR + 4u * r.csrc_count;
	if (hdr > len)
		return -EBADMSG;
	if (p[0] & 0x10) {
		size_t words;

		if (len - hdr < 4)
			return -EBADMSG;
		r.ext_profile = rd16(p + hdr);
		words = rd16(p + hdr + 2);
		if (len - hdr - 4 < words * 4)
			return -EBADMSG;
		r.ext = p + hdr + 4;
		r.ext_len = words * 4;
		hdr += 4 + words * 4;
	}
	if (p[0] & 0x20) {
		/* The last octet counts the padding, itself included. */
		pad = p[len - 1];
		if (pad == 0 || pad > len - hdr)
			return -EBADMSG;
	}
	r.payload = p + hdr;
	r.payload_len = len - hdr - pad;
	*ret = r;
	return 0;
}

static int ext_find_one_byte(const uint8_t *e, size_t len, uint8_t id, const uint8_t **ret,
			     size_t *ret_len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t b = e[i], eid = b >> 4;
		size_t l;

		if (b == 0) { /* padding */
			i++;
			continue;
		}
		if (eid == 15) /* reserved: stop processing */
			return -ENOENT;
		l = (size_t)(b & 0x0f) + 1;
		if (l > len - i - 1)
			return -EBADMSG;
		if (eid == id) {
			*ret = e + i + 1;
			*ret_len = l;
			return 0;
		}
		i += 1 + l;
	}
	return -ENOENT;
}

static int ext_find_two_byte(const uint8_t *e, size_t len, uint8_t id, const uint8_t **ret,
			     size_t *ret_len)
{
	size_t i = 0;

	while (i < len) {
		size_t l;

		if (e[i] == 0) { /* padding */
			i++;
			continue;
		}
		if (len - i < 2)
			return -EBADMSG;
		l = e[i + 1];
		if (l > len - i - 2)
			return -EBADMSG;
		if (e[i] == id) {
			*ret = e + i + 2;
			*ret_len = l;
			return 0;
		}
		i += 2 + l;
	}
	return -ENOENT;
}

int sc_rtp_ext_find(const sc_rtp *pkt, uint8_t id, const uint8_t **ret, size_t *ret_len)
{
	if (!pkt || !ret || !ret_len || id == 0 || !pkt->ext || pkt->ext_profile == 0)
		return -ENOENT;
	if (pkt->ext_profile == 0xBEDE) {
		if (id >= 15)
			return -ENOENT;
		return ext_find_one_byte(pkt->ext, pkt->ext_len, id, ret, ret_len);
	}
	if ((pkt->ext_profile & 0xFFF0) == 0x1000)
		return ext_find_two_byte(pkt->ext, pkt->ext_len, id, ret, ret_len);
	return -ENOENT; /* some other profile: no RFC 8285 elements */
}

int sc_rtp_rtx_unwrap(const sc_rtp *rtx, uint16_t *ret_osn, const uint8_t **ret_payload,
		      size_t *ret_len)
{
	if (!rtx || !rtx->payload || rtx->payload_len < 2)
		return -EBADMSG;
	*ret_osn = rd16(rtx->payload);
	*ret_payload = rtx->payload + 2;
	*ret_len = rtx->payload_len - 2;
	return 0;
}

int sc_rtcp_walk(const uint8_t *p, size_t len, void (*fn)(void *ud, const sc_rtcp_item *it),
		 void *ud)
{
	size_t off = 0;

	if (!p && len)
		return -EBADMSG;
	while (off < len) {
		const uint8_t *h = p + off;
		size_t plen, body_len;
		sc_rtcp_item it;

		if (len - off < 4 || (h[0] >> 6) != 2)
			return -EBADMSG;
		plen = ((size_t)rd16(h + 2) + 1) * 4;
		if (plen > len - off)
			return -EBADMSG;
		memset(&it, 0, sizeof(it));
		it.pt = h[1];
		it.fmt = h[0] & 0x1f;
		body_len = plen - 4;
		if (h[0] & 0x20) {
			size_t pad = h[plen - 1];

			if (pad == 0 || pad > body_len)
				return -EBADMSG;
			body_len -= pad;
		}
		if (body_len >= 4) {
			it.ssrc = rd32(h + 4);
			it.body = h + 8;
			it.body_len = body_len - 4;
		} else {
			it.body = h + 4;
			it.body_len = 0;
		}
		if (fn)
			fn(ud, &it);
		off += plen;
	}
	return 0;
}

int sc_rtcp_sr_parse(const sc_rtcp_item *it, sc_rtcp_sr *ret)
{
	const uint8_t *b;

	if (!it || !ret || it->pt != 200 || !it->body || it->body_len < 20)
		return -EBADMSG;
	b = it->body;
	ret->ssrc = it->ssrc;
	ret->ntp = (uint64_t)rd32(b) << 32 | rd32(b + 4);
	ret->rtp_ts = rd32(b + 8);
	ret->packets = rd32(b + 12);
	ret->octets = rd32(b + 16);
	return 0;
}

/* Common header: V=2, P=0, count/fmt, pt, length in words minus one. */
static void rtcp_header(uint8_t *out, uint8_t count, uint8_t pt, size_t bytes)
{
	out[0] = (uint8_t)(0x80 | (count & 0x1f));
	out[1] = pt;
	wr16(out + 2, (uint16_t)(bytes / 4 - 1));
}

int sc_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, const sc_rtcp_report *blocks,
		     size_t n)
{
	size_t need = 8 + 24 * n, i;

	if (n > 31 || (n && !blocks))
		return -EINVAL;
	if (!out || cap < need)
		return -ENOBUFS;
	rtcp_header(out, (uint8_t)n, 201, need);
	wr32(out + 4, sender_ssrc);
	for (i = 0; i < n; i++) {
		const sc_rtcp_report *b = &blocks[i];
		uint8_t *q = out + 8 + 24 * i;
		int32_t cl = b->cumulative_lost;

		if (cl > 0x7fffff)
			cl = 0x7fffff;
		if (cl < -0x800000)
			cl = -0x800000;
		wr32(q, b->ssrc);
		wr32(q + 4, (uint32_t)b->fraction_lost << 24 | ((uint32_t)cl & 0xffffff));
		wr32(q + 8, b->highest_seq);
		wr32(q + 12, b->jitter);
		wr32(q + 16, b->lsr);
		wr32(q + 20, b->dlsr);
	}
	return (int)need;
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

int sc_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
		       const uint16_t *seqs, size_t n)
{
	uint16_t stackbuf[128], *s = stackbuf;
	size_t m = 0, i, start = 0, gap_best = 0, items = 0, k, need;
	int ret;

	if (!seqs || n == 0 || n > 65536)
		return -EINVAL;
	if (!out || cap < 16)
		return -ENOBUFS;
	if (n > sizeof(stackbuf) / sizeof(stackbuf[0])) {
		s = malloc(n * sizeof(*s));
		if (!s)
			return -ENOMEM;
	}
	memcpy(s, seqs, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u16);
	for (i = 0; i < n; i++)
		if (m == 0 || s[i] != s[m - 1])
			s[m++] = s[i];
	/*
	 * Wraparound: the list starts after the largest gap between
	 * neighbours on the 16-bit circle, so 65534, 65535, 0, 1 stay in
	 * that order.
	 */
	gap_best = (size_t)s[0] + 65536 - s[m - 1];
	for (i = 0; i + 1 < m; i++) {
		size_t g = (size_t)s[i + 1] - s[i];

		if (g > gap_best) {
			gap_best = g;
			start = i + 1;
		}
	}
	/* Count the PID+BLP items first, so nothing is written on -ENOBUFS. */
	for (k = 0; k < m;) {
		uint16_t pid = s[(start + k) % m];

		items++;
		k++;
		while (k < m && (uint16_t)(s[(start + k) % m] - pid) <= 16)
			k++;
	}
	need = 12 + 4 * items;
	if (need > cap || need / 4 - 1 > 0xffff) {
		ret = -ENOBUFS;
		goto out;
	}
	rtcp_header(out, 1, 205, need);
	wr32(out + 4, sender_ssrc);
	wr32(out + 8, media_ssrc);
	items = 0;
	for (k = 0; k < m;) {
		uint16_t pid = s[(start + k) % m], blp = 0;

		k++;
		while (k < m) {
			uint16_t d = (uint16_t)(s[(start + k) % m] - pid);

			if (d > 16)
				break;
			blp |= (uint16_t)(1u << (d - 1));
			k++;
		}
		wr16(out + 12 + 4 * items, pid);
		wr16(out + 14 + 4 * items, blp);
		items++;
	}
	ret = (int)need;
out:
	if (s != stackbuf)
		free(s);
	return ret;
}

int sc_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
	if (!out || cap < 12)
		return -ENOBUFS;
	rtcp_header(out, 1, 206, 12);
	wr32(out + 4, sender_ssrc);
	wr32(out + 8, media_ssrc);
	return 12;
}

int sc_rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
		      uint8_t seq_nr)
{
	if (!out || cap < 20)
		return -ENOBUFS;
	rtcp_header(out, 4, 206, 20);
	wr32(out + 4, sender_ssrc);
	wr32(out + 8, 0); /* RFC 5104 4.3.1.2: media source SSRC is 0 */
	wr32(out + 12, media_ssrc);
	out[16] = seq_nr;
	out[17] = out[18] = out[19] = 0;
	return 20;
}

/*
 * NTP seconds wrap in 2036; values below the 1970 offset are taken as era
 * 1, so the mapping holds from 1968 to 2104.
 */
uint64_t sc_ntp_from_unix_us(uint64_t us)
{
	uint64_t secs = us / 1000000 + NTP_UNIX_DIFF;
	uint64_t frac = ((us % 1000000) << 32) / 1000000;

	return (secs & 0xffffffffULL) << 32 | frac;
}

uint64_t sc_ntp_to_unix_us(uint64_t ntp)
{
	uint64_t secs = ntp >> 32, frac = ntp & 0xffffffffULL;

	if (secs < NTP_UNIX_DIFF)
		secs += 1ULL << 32;
	return (secs - NTP_UNIX_DIFF) * 1000000 + ((frac * 1000000 + (1ULL << 31)) >> 32);
}
