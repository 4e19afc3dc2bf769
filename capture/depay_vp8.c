/* SPDX-License-Identifier: Apache-2.0 */
/*
 * depay_vp8.c - RFC 7741: each packet is a VP8 payload descriptor and a
 * piece of the frame; the pieces, in order, are the frame (RFC 6386).
 *
 *   descriptor   |X|R|N|S|R| PID |        S: start of a partition
 *   if X         |I|L|T|K| RSV   |        PID: partition index
 *   if I         |M| PictureID   | (+1 byte if M: 15 bits)
 *   if L         |   TL0PICIDX   |
 *   if T or K    |TID|Y| KEYIDX  |
 *
 * A frame starts with S=1 and PID=0 and with the 3-byte frame tag of
 * RFC 6386 9.1: P bit (0: key frame), version, show_frame, size of the
 * first partition; a key frame goes on with the start code 9d 01 2a and
 * 14-bit width and height (plus 2 bits of scaling each), little endian.
 */
#include "depay.h"

#include <errno.h>

/* The length of the payload descriptor at p, or -EBADMSG if it does not
 * fit in len. */
static int vp8_descriptor(const uint8_t *p, size_t len, bool *ret_start, unsigned *ret_pid)
{
	size_t i = 1;

	if (len < 1)
		return -EBADMSG;
	if (p[0] & 0x80) {
		uint8_t x;

		if (len < 2)
			return -EBADMSG;
		x = p[1];
		i = 2;
		if (x & 0x80) { /* I: PictureID, 15 bits if M */
			if (i >= len)
				return -EBADMSG;
			i += (p[i] & 0x80) ? 2 : 1;
		}
		if (x & 0x40) /* L: TL0PICIDX */
			i++;
		if (x & 0x30) /* T or K: TID/Y/KEYIDX */
			i++;
		if (i > len)
			return -EBADMSG;
	}
	*ret_start = (p[0] & 0x10) != 0;
	*ret_pid = p[0] & 0x07;
	return (int)i;
}

/* RFC 6386 9.1 and 9.2: the uncompressed header of the frame. */
static int vp8_check_header(const uint8_t *p, size_t len, bool *ret_key)
{
	uint32_t tag, first_part;
	unsigned w, h;
	bool key;

	if (len < 3)
		return -EBADMSG;
	tag = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	key = (tag & 1) == 0;
	first_part = tag >> 5;
	if (key) {
		if (len < 10)
			return -EBADMSG;
		if (p[3] != 0x9d || p[4] != 0x01 || p[5] != 0x2a)
			return -EBADMSG;
		w = (unsigned)(p[6] | p[7] << 8) & 0x3fff;
		h = (unsigned)(p[8] | p[9] << 8) & 0x3fff;
		if (w == 0 || h == 0)
			return -EBADMSG;
		if (first_part > len - 10)
			return -EBADMSG;
	} else if (first_part > len - 3) {
		return -EBADMSG;
	}
	*ret_key = key;
	return 0;
}

static int vp8_frame(void *priv, const sc_jb_frame *f, sc_buf *out, bool *ret_key)
{
	size_t start = out->len, i, total = 0;
	bool key = false;
	int r;

	(void)priv;
	for (i = 0; i < f->n; i++) {
		const sc_rtp *pkt = &f->pkts[i];
		const uint8_t *p = pkt->payload;
		size_t len = pkt->payload_len, plen;
		unsigned pid;
		bool s;
		int dl;

		if (!p && len)
			goto bad;
		dl = vp8_descriptor(p, len, &s, &pid);
		if (dl < 0)
			goto bad;
		/* The first packet starts the frame; no later one may. */
		if (i == 0 && !(s && pid == 0))
			goto bad;
		if (i > 0 && s && pid == 0)
			goto bad;
		plen = len - (size_t)dl;
		if (plen > SC_DEPAY_MAX_FRAME - total) {
			r = -EMSGSIZE;
			goto fail;
		}
		r = sc_buf_append(out, p + dl, plen);
		if (r < 0)
			goto fail;
		total += plen;
	}
	r = vp8_check_header(out->data ? out->data + start : NULL, total, &key);
	if (r < 0)
		goto fail;
	*ret_key = key;
	return 0;
bad:
	r = -EBADMSG;
fail:
	out->len = start;
	return r;
}

const sc_depay_ops sc_depay_vp8 = {
	.name = "vp8",
	.priv_size = 0,
	.uninit = NULL,
	.frame = vp8_frame,
};
