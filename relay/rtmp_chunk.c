/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtmp_chunk.c - RTMP chunk stream reader and writer (Adobe RTMP 1.0, 5.3).
 *
 * Chunk layout: basic header (1-3 bytes: fmt and chunk stream id), message
 * header (11, 7, 3 or 0 bytes for fmt 0-3), an optional 4-byte extended
 * timestamp, then up to chunk-size payload bytes.
 *
 * The reader copies a header into a small buffer only when it arrives in
 * pieces; otherwise it parses in place. A message that fits in one chunk
 * and arrives whole is handed to the callback straight from the input,
 * without a copy; others are gathered with one memcpy per chunk.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp_chunk.h"

#define TS_EXTENDED 0xFFFFFFu
#define MAX_HEADER  (3 + 11 + 4)
#define MAX_MSG_LEN 0xFFFFFFu /* the length field has 24 bits */
#define MIN_ALLOC   4096
#define FIRST_ALLOC 32768 /* a message's first buffer (most frames fit) */
#define CSID_MIN    2
#define CSID_MAX    65599

static const uint8_t msg_header_len[4] = {11, 7, 3, 0};

typedef struct {
	uint32_t csid;
	uint32_t ts;	/* timestamp of the current (or last) message */
	uint32_t delta; /* last delta; after a fmt 0 header, its timestamp */
	uint32_t len;	/* message length */
	uint32_t msid;
	uint8_t type;
	bool ext;     /* the last full header carried an extended timestamp */
	uint32_t got; /* payload bytes of the current message so far */
	uint8_t *buf;
	size_t cap;
} chunk_stream;

struct sc_rtmp_chunk_reader {
	sc_rtmp_msg_cb cb;
	void *userdata;
	size_t max_msg;
	size_t max_total; /* all partial-message buffers together */
	size_t total_cap;
	uint32_t chunk_size;
	int error; /* sticky */

	uint8_t hdr[MAX_HEADER]; /* a header that arrived in pieces */
	size_t hdr_len;
	chunk_stream *cur; /* set while in a chunk's payload */
	uint32_t chunk_left;

	/* Grown as streams appear: a publisher uses 3 to 5 of the 64 allowed,
	 * and 64 in place cost each connection 3 KB. */
	chunk_stream *cs;
	size_t n_cs, cap_cs;
	char err[128];
};

static inline size_t basic_len(uint8_t b0)
{
	b0 &= 0x3f;
	return b0 == 0 ? 2 : b0 == 1 ? 3 : 1;
}

static inline uint32_t parse_csid(const uint8_t *h)
{
	switch (h[0] & 0x3f) {
	case 0:
		return 64u + h[1];
	case 1:
		return 64u + h[1] + 256u * h[2];
	default:
		return h[0] & 0x3fu;
	}
}

static inline chunk_stream *find_cs(const sc_rtmp_chunk_reader *r, uint32_t csid)
{
	for (size_t i = 0; i < r->n_cs; i++)
		if (r->cs[i].csid == csid)
			return (chunk_stream *)&r->cs[i];
	return NULL;
}

__attribute__((format(printf, 2, 3))) static int fail(sc_rtmp_chunk_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->error = -EPROTO;
	return -EPROTO;
}

sc_rtmp_chunk_reader *sc_rtmp_chunk_reader_new(size_t max_msg, sc_rtmp_msg_cb cb, void *userdata)
{
	sc_rtmp_chunk_reader *r;

	if (!cb)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (max_msg > MAX_MSG_LEN)
		max_msg = MAX_MSG_LEN;
	r->cb = cb;
	r->userdata = userdata;
	r->max_msg = max_msg;
	/* Room for one message at the limit plus others interleaved with it. */
	r->max_total = 2 * max_msg + 16 * MIN_ALLOC;
	r->chunk_size = SC_RTMP_DEFAULT_CHUNK_SIZE;
	return r;
}

void sc_rtmp_chunk_reader_free(sc_rtmp_chunk_reader *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_cs; i++)
		free(r->cs[i].buf);
	free(r->cs);
	free(r);
}

uint32_t sc_rtmp_chunk_reader_chunk_size(const sc_rtmp_chunk_reader *r)
{
	return r->chunk_size;
}

const char *sc_rtmp_chunk_reader_error(const sc_rtmp_chunk_reader *r)
{
	return r->err[0] ? r->err : "no error";
}

/*
 * The size of the header that starts at h, judging from the first `have`
 * bytes: complete when the result is <= have.
 */
static size_t header_size(const sc_rtmp_chunk_reader *r, const uint8_t *h, size_t have)
{
	const chunk_stream *cs;
	size_t bl, base;
	unsigned fmt;

	if (have < 1)
		return 1;
	fmt = h[0] >> 6;
	bl = basic_len(h[0]);
	base = bl + msg_header_len[fmt];
	if (have < base)
		return base;
	if (fmt < 3)
		return base + (sc_rd_be24(h + bl) == TS_EXTENDED ? 4 : 0);
	cs = find_cs(r, parse_csid(h));
	return base + (cs && cs->ext ? 4 : 0);
}

/* Make room for `need` payload bytes in cs, within the reader's bounds. */
static int grow(sc_rtmp_chunk_reader *r, chunk_stream *cs, size_t need)
{
	/* Doubling, so that a peer that declares a big message and sends
	 * little of it gets little room. */
	size_t nc = cs->cap ? cs->cap * 2 : FIRST_ALLOC;
	uint8_t *nb;

	if (nc < need)
		nc = need;
	if (nc < MIN_ALLOC)
		nc = MIN_ALLOC;
	if (nc > cs->len && cs->len >= MIN_ALLOC)
		nc = cs->len;
	if (r->total_cap - cs->cap + nc > r->max_total) {
		/* Give back the buffers of idle chunk streams first. */
		for (size_t i = 0; i < r->n_cs; i++) {
			chunk_stream *o = &r->cs[i];

			if (o != cs && o->got == 0 && o->buf) {
				r->total_cap -= o->cap;
				free(o->buf);
				o->buf = NULL;
				o->cap = 0;
			}
		}
		if (r->total_cap - cs->cap + nc > r->max_total)
			return fail(r, "partial messages hold over %zu bytes", r->max_total);
	}
	nb = realloc(cs->buf, nc);
	if (!nb) {
		snprintf(r->err, sizeof(r->err), "out of memory for a %u-byte message", cs->len);
		r->error = -ENOMEM;
		return -ENOMEM;
	}
	r->total_cap = r->total_cap - cs->cap + nc;
	cs->buf = nb;
	cs->cap = nc;
	return 0;
}

/* A big buffer goes back once its message is delivered or aborted: kept,
 * every publisher would pin the size of its largest frame. */
static void release(sc_rtmp_chunk_reader *r, chunk_stream *cs)
{
	if (cs->cap <= MIN_ALLOC)
		return;
	r->total_cap -= cs->cap;
	free(cs->buf);
	cs->buf = NULL;
	cs->cap = 0;
}

/* A complete message: protocol control types 1 and 2 are ours. */
static int deliver(sc_rtmp_chunk_reader *r, const chunk_stream *cs, const uint8_t *payload)
{
	sc_rtmp_msg m;
	chunk_stream *o;
	uint32_t v;
	int ret;

	switch (cs->type) {
	case SC_RTMP_MSG_SET_CHUNK_SIZE:
		if (cs->len < 4)
			return fail(r, "Set Chunk Size of %u bytes", cs->len);
		v = sc_rd_be32(payload);
		if (v == 0 || v > SC_RTMP_MAX_CHUNK_SIZE)
			return fail(r, "chunk size %u out of range", v);
		r->chunk_size = v;
		return 0;
	case SC_RTMP_MSG_ABORT:
		if (cs->len < 4)
			return fail(r, "Abort of %u bytes", cs->len);
		o = find_cs(r, sc_rd_be32(payload));
		if (o) {
			o->got = 0;
			release(r, o);
		}
		return 0;
	default:
		m.csid = cs->csid;
		m.type = cs->type;
		m.msid = cs->msid;
		m.timestamp = cs->ts;
		m.payload = payload;
		m.len = cs->len;
		ret = r->cb(r->userdata, &m);
		if (ret < 0) {
			snprintf(r->err, sizeof(r->err), "stopped by the message handler (%d)",
				 ret);
			r->error = ret;
		}
		return ret;
	}
}

/* Apply a complete chunk header h; sets up the payload phase. */
static int process_header(sc_rtmp_chunk_reader *r, const uint8_t *h)
{
	unsigned fmt = h[0] >> 6;
	size_t bl = basic_len(h[0]);
	uint32_t csid = parse_csid(h);
	const uint8_t *mh = h + bl;
	chunk_stream *cs = find_cs(r, csid);
	uint32_t t;

	if (!cs) {
		/* A stream that starts without a fmt 0 header gets zero
		 * defaults, as other servers do. */
		if (r->n_cs == SC_RTMP_MAX_CSIDS)
			return fail(r, "more than %d chunk streams", SC_RTMP_MAX_CSIDS);
		if (r->n_cs == r->cap_cs) {
			size_t cap = r->cap_cs ? r->cap_cs * 2 : 4;
			chunk_stream *n = realloc(r->cs, cap * sizeof(*n));

			if (!n) {
				snprintf(r->err, sizeof(r->err), "out of memory for chunk streams");
				r->error = -ENOMEM;
				return -ENOMEM;
			}
			r->cs = n;
			r->cap_cs = cap;
		}
		cs = &r->cs[r->n_cs++];
		memset(cs, 0, sizeof(*cs));
		cs->csid = csid;
	}
	if (fmt < 3 && cs->got > 0)
		return fail(r, "chunk stream %u: type-%u header in the middle of a message", csid,
			    fmt);
	if (fmt < 3) {
		t = sc_rd_be24(mh);
		cs->ext = t == TS_EXTENDED;
		if (cs->ext)
			t = sc_rd_be32(mh + msg_header_len[fmt]);
		if (fmt < 2) {
			cs->len = sc_rd_be24(mh + 3);
			cs->type = mh[6];
		}
		if (fmt == 0) {
			cs->msid = sc_rd_le32(mh + 7);
			cs->ts = t;
		} else {
			cs->ts += t;
		}
		cs->delta = t;
		if (cs->len > r->max_msg)
			return fail(r, "message of %u bytes over the %zu-byte limit", cs->len,
				    r->max_msg);
	} else if (cs->got == 0) {
		/* fmt 3 starting a new message: same header, same delta. */
		cs->ts += cs->delta;
		if (cs->len > r->max_msg)
			return fail(r, "message of %u bytes over the %zu-byte limit", cs->len,
				    r->max_msg);
	}
	t = cs->len - cs->got;
	r->chunk_left = t < r->chunk_size ? t : r->chunk_size;
	r->cur = cs;
	if (cs->len == 0) {
		r->cur = NULL;
		return deliver(r, cs, (const uint8_t *)"");
	}
	return 0;
}

int sc_rtmp_chunk_reader_feed(sc_rtmp_chunk_reader *r, const uint8_t *p, size_t n)
{
	int ret;

	if (r->error)
		return r->error;
	while (n > 0) {
		chunk_stream *cs = r->cur;
		size_t take;

		if (!cs) {
			const uint8_t *h;
			size_t hs;

			if (r->hdr_len == 0 && (hs = header_size(r, p, n)) <= n) {
				h = p; /* whole header in the input: parse in place */
			} else {
				for (;;) {
					hs = header_size(r, r->hdr, r->hdr_len);
					if (hs <= r->hdr_len)
						break;
					take = hs - r->hdr_len < n ? hs - r->hdr_len : n;
					memcpy(r->hdr + r->hdr_len, p, take);
					r->hdr_len += take;
					p += take;
					n -= take;
					if (r->hdr_len < hs)
						return 0;
				}
				h = r->hdr;
				hs = 0;
				r->hdr_len = 0;
			}
			p += hs;
			n -= hs;
			ret = process_header(r, h);
			if (ret < 0)
				return ret;
			continue;
		}

		take = r->chunk_left < n ? r->chunk_left : n;
		if (cs->got == 0 && take == cs->len) {
			/* The whole message is here: no copy. */
			r->cur = NULL;
			r->chunk_left = 0;
			p += take;
			n -= take;
			ret = deliver(r, cs, p - take);
			if (ret < 0)
				return ret;
			continue;
		}
		if (cs->got + take > cs->cap) {
			ret = grow(r, cs, cs->got + take);
			if (ret < 0)
				return ret;
		}
		memcpy(cs->buf + cs->got, p, take);
		cs->got += (uint32_t)take;
		r->chunk_left -= (uint32_t)take;
		p += take;
		n -= take;
		if (r->chunk_left == 0)
			r->cur = NULL;
		if (cs->got == cs->len) {
			cs->got = 0;
			ret = deliver(r, cs, cs->buf);
			if (ret < 0)
				return ret;
			release(r, cs);
		}
	}
	return 0;
}

/* Writer. */

static inline size_t basic_size(uint32_t csid)
{
	return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static inline uint8_t *put_basic(uint8_t *p, unsigned fmt, uint32_t csid)
{
	if (csid < 64) {
		*p++ = (uint8_t)(fmt << 6 | csid);
	} else if (csid < 320) {
		*p++ = (uint8_t)(fmt << 6);
		*p++ = (uint8_t)(csid - 64);
	} else {
		*p++ = (uint8_t)(fmt << 6 | 1);
		*p++ = (uint8_t)((csid - 64) & 0xff);
		*p++ = (uint8_t)((csid - 64) >> 8);
	}
	return p;
}

size_t sc_rtmp_chunk_wire_size(uint32_t chunk_size, uint32_t csid, uint32_t timestamp, size_t len)
{
	size_t bs = basic_size(csid), ext = timestamp >= TS_EXTENDED ? 4 : 0;
	size_t chunks;

	if (chunk_size == 0)
		return 0;
	chunks = len / chunk_size + (len % chunk_size != 0);
	if (chunks == 0)
		chunks = 1;
	return bs + 11 + ext + (chunks - 1) * (bs + ext) + len;
}

int sc_rtmp_chunk_write(sc_buf *out, uint32_t chunk_size, uint32_t csid, uint8_t type,
			uint32_t msid, uint32_t timestamp, const uint8_t *payload, size_t len)
{
	bool ext = timestamp >= TS_EXTENDED;
	size_t size, off = 0;
	uint8_t *p;
	int r;

	if (chunk_size == 0 || csid < CSID_MIN || csid > CSID_MAX || len > MAX_MSG_LEN)
		return -EINVAL;
	size = sc_rtmp_chunk_wire_size(chunk_size, csid, timestamp, len);
	r = sc_buf_reserve(out, size);
	if (r < 0)
		return r;
	p = out->data + out->len;
	p = put_basic(p, 0, csid);
	sc_wr_be24(p, ext ? TS_EXTENDED : timestamp);
	sc_wr_be24(p + 3, (uint32_t)len);
	p[6] = type;
	sc_wr_le32(p + 7, msid);
	p += 11;
	for (;;) {
		size_t n = len - off < chunk_size ? len - off : chunk_size;

		if (ext) {
			sc_wr_be32(p, timestamp);
			p += 4;
		}
		if (n)
			memcpy(p, payload + off, n);
		p += n;
		off += n;
		if (off == len)
			break;
		p = put_basic(p, 3, csid);
	}
	out->len += size;
	return 0;
}

static int write_control(sc_buf *out, uint8_t type, const uint8_t *payload, size_t len)
{
	return sc_rtmp_chunk_write(out, SC_RTMP_DEFAULT_CHUNK_SIZE, SC_RTMP_CSID_CONTROL, type, 0,
				   0, payload, len);
}

int sc_rtmp_write_set_chunk_size(sc_buf *out, uint32_t size)
{
	uint8_t b[4];

	if (size == 0 || size > SC_RTMP_MAX_CHUNK_SIZE)
		return -EINVAL;
	sc_wr_be32(b, size);
	return write_control(out, SC_RTMP_MSG_SET_CHUNK_SIZE, b, sizeof(b));
}

int sc_rtmp_write_ack(sc_buf *out, uint32_t seq)
{
	uint8_t b[4];

	sc_wr_be32(b, seq);
	return write_control(out, SC_RTMP_MSG_ACK, b, sizeof(b));
}

int sc_rtmp_write_window_ack_size(sc_buf *out, uint32_t size)
{
	uint8_t b[4];

	sc_wr_be32(b, size);
	return write_control(out, SC_RTMP_MSG_WINDOW_ACK_SIZE, b, sizeof(b));
}

int sc_rtmp_write_set_peer_bw(sc_buf *out, uint32_t size, uint8_t limit_type)
{
	uint8_t b[5];

	sc_wr_be32(b, size);
	b[4] = limit_type;
	return write_control(out, SC_RTMP_MSG_SET_PEER_BW, b, sizeof(b));
}

int sc_rtmp_write_user_control(sc_buf *out, uint16_t event, uint32_t value)
{
	uint8_t b[6];

	sc_wr_be16(b, event);
	sc_wr_be32(b + 2, value);
	return write_control(out, SC_RTMP_MSG_USER_CONTROL, b, sizeof(b));
}
