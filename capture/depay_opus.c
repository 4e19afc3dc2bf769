/* SPDX-License-Identifier: Apache-2.0 */
/*
 * depay_opus.c - RFC 7587: the RTP payload is one Opus packet (RFC 6716),
 * and the jitter buffer gives one RTP packet per audio frame. Every Opus
 * packet decodes on its own, so every frame is a key frame.
 */
#include "depay.h"

#include <errno.h>

static int opus_frame(void *priv, const sc_jb_frame *f, sc_buf *out, bool *ret_key)
{
	const sc_rtp *pkt;
	int r;

	(void)priv;
	if (f->n != 1)
		return -EBADMSG;
	pkt = &f->pkts[0];
	if (pkt->payload_len == 0 || !pkt->payload)
		return -EBADMSG;
	if (pkt->payload_len > SC_DEPAY_MAX_FRAME)
		return -EMSGSIZE;
	r = sc_buf_append(out, pkt->payload, pkt->payload_len);
	if (r < 0)
		return r;
	*ret_key = true;
	return 0;
}

const sc_depay_ops sc_depay_opus = {
	.name = "opus",
	.priv_size = 0,
	.uninit = NULL,
	.frame = opus_frame,
};
