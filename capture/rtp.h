/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtp.h - RTP and RTCP packets (RFC 3550, RFC 4585, RFC 5104, RFC 4588,
 * RFC 8285): parsing into views that point into the caller's buffer, and
 * building the RTCP that a receiver sends (RR, generic NACK, PLI, FIR).
 *
 * Parsers never read past len and reject anything malformed with -EBADMSG.
 * Any thread; no state.
 */
#ifndef SC_RTP_H
#define SC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 7983 / RFC 5761: what a packet on the ICE socket is. */
typedef enum {
	SC_PKT_UNKNOWN,
	SC_PKT_STUN, /* first byte 0..3 (libnice consumes these) */
	SC_PKT_DTLS, /* 20..63 */
	SC_PKT_RTP,  /* 128..191 and not RTCP */
	SC_PKT_RTCP, /* 128..191, payload type 192..223 (marker bit included) */
} sc_pkt_kind;
sc_pkt_kind sc_pkt_classify(const uint8_t *p, size_t len);

typedef struct {
	bool marker;
	uint8_t pt;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t csrc_count;
	/* RFC 8285 header extensions (one-byte 0xBEDE or two-byte 0x100X). */
	uint16_t ext_profile; /* 0: none */
	const uint8_t *ext;
	size_t ext_len;
	const uint8_t *payload; /* padding removed */
	size_t payload_len;
} sc_rtp;

int sc_rtp_parse(const uint8_t *p, size_t len, sc_rtp *ret);
/* Find extension element id in pkt's header extension: 0 with a view of
 * its bytes, -ENOENT if absent, -EBADMSG if the block is malformed. */
int sc_rtp_ext_find(const sc_rtp *pkt, uint8_t id, const uint8_t **ret, size_t *ret_len);
/* RFC 4588: the original sequence number of an RTX packet, and its
 * payload without the OSN. -EBADMSG if the payload is shorter than 2. */
int sc_rtp_rtx_unwrap(const sc_rtp *rtx, uint16_t *ret_osn, const uint8_t **ret_payload,
		      size_t *ret_len);

/* ---- RTCP (one compound packet may hold several) */

typedef struct {
	uint32_t ssrc;
	uint64_t ntp;	 /* 32.32 fixed point */
	uint32_t rtp_ts; /* the RTP time of that same instant */
	uint32_t packets, octets;
} sc_rtcp_sr;

typedef struct {
	uint8_t pt;  /* 200 SR, 201 RR, 202 SDES, 203 BYE, 205 RTPFB, 206 PSFB */
	uint8_t fmt; /* count / feedback message type */
	uint32_t ssrc;
	const uint8_t *body; /* after the 8-byte header (4 for SR/RR's sender) */
	size_t body_len;
} sc_rtcp_item;

/*
 * Walk a compound RTCP packet: calls fn for each packet in it. Returns 0,
 * or -EBADMSG at the first malformed length (items before it were seen).
 */
int sc_rtcp_walk(const uint8_t *p, size_t len, void (*fn)(void *ud, const sc_rtcp_item *it),
		 void *ud);
/* Sender info of an SR item. 0 or -EBADMSG. */
int sc_rtcp_sr_parse(const sc_rtcp_item *it, sc_rtcp_sr *ret);

/* One report block (RFC 3550 6.4.1). */
typedef struct {
	uint32_t ssrc;
	uint8_t fraction_lost;
	int32_t cumulative_lost; /* 24-bit signed */
	uint32_t highest_seq;	 /* extended */
	uint32_t jitter;
	uint32_t lsr, dlsr;
} sc_rtcp_report;

/*
 * Builders append to out[0..cap) and return the bytes written, or -ENOBUFS.
 * sender_ssrc is ours (any fixed value; we send no media).
 */
int sc_rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc,
		     const sc_rtcp_report *blocks, size_t n);
/* Generic NACK (RFC 4585 6.2.1) for the sequence numbers in seqs (any
 * order, duplicates allowed); packs them into PID+BLP pairs. */
int sc_rtcp_build_nack(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
		       const uint16_t *seqs, size_t n);
int sc_rtcp_build_pli(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
int sc_rtcp_build_fir(uint8_t *out, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
		      uint8_t seq_nr);

/* Wall clock <-> NTP 32.32 (RFC 3550), for LSR/DLSR and SR mapping. */
uint64_t sc_ntp_from_unix_us(uint64_t us);
uint64_t sc_ntp_to_unix_us(uint64_t ntp);

#endif
