/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_rtmp_chunk.c - the chunk reader on arbitrary bytes, fed in pieces.
 *
 * Input: byte 0 low 3 bits + 1 = k, bytes 1..k = piece sizes used in turn
 * (0: everything left), then the chunk stream. Every message the reader
 * delivers is written again with sc_rtmp_chunk_write and read back by a
 * second reader, which must deliver the same message.
 */
#undef NDEBUG /* the checks are the point */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp_chunk.h"

#define MAX_MSG (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	sc_rtmp_chunk_reader *inner;
	sc_buf out;
	const sc_rtmp_msg *want;
	int got;
} ctx;

static int check_same(void *ud, const sc_rtmp_msg *m)
{
	ctx *c = ud;
	const sc_rtmp_msg *w = c->want;

	assert(c->got == 0);
	c->got = 1;
	assert(m->csid == w->csid);
	assert(m->type == w->type);
	assert(m->msid == w->msid);
	assert(m->timestamp == w->timestamp);
	assert(m->len == w->len);
	assert(m->len == 0 || memcmp(m->payload, w->payload, m->len) == 0);
	return 0;
}

static int on_msg(void *ud, const sc_rtmp_msg *m)
{
	ctx *c = ud;
	int r;

	assert(m->len <= MAX_MSG);
	assert(m->type != SC_RTMP_MSG_SET_CHUNK_SIZE && m->type != SC_RTMP_MSG_ABORT);
	sc_buf_reset(&c->out);
	r = sc_rtmp_chunk_write(&c->out, SC_RTMP_DEFAULT_CHUNK_SIZE, m->csid, m->type, m->msid,
				m->timestamp, m->payload, m->len);
	assert(r == 0);
	assert(c->out.len ==
	       sc_rtmp_chunk_wire_size(SC_RTMP_DEFAULT_CHUNK_SIZE, m->csid, m->timestamp, m->len));
	c->want = m;
	c->got = 0;
	r = sc_rtmp_chunk_reader_feed(c->inner, c->out.data, c->out.len);
	assert(r == 0);
	assert(c->got == 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sizes;
	sc_rtmp_chunk_reader *r;
	size_t k, i = 0;
	ctx c = {0};

	if (size < 1)
		return 0;
	k = (data[0] & 7u) + 1;
	if (size < 1 + k)
		return 0;
	sizes = data + 1;
	data += 1 + k;
	size -= 1 + k;

	c.inner = sc_rtmp_chunk_reader_new(MAX_MSG, check_same, &c);
	r = sc_rtmp_chunk_reader_new(MAX_MSG, on_msg, &c);
	assert(c.inner && r);
	assert(sc_rtmp_chunk_reader_new(MAX_MSG, NULL, NULL) == NULL);
	sc_buf_init(&c.out, 2 * MAX_MSG);
	while (size > 0) {
		size_t n = sizes[i++ % k];
		int ret;

		if (n == 0 || n > size)
			n = size;
		ret = sc_rtmp_chunk_reader_feed(r, data, n);
		if (ret < 0) {
			assert(sc_rtmp_chunk_reader_error(r)[0] != 0);
			/* Errors are sticky. */
			assert(sc_rtmp_chunk_reader_feed(r, data, n) == ret);
			break;
		}
		assert(sc_rtmp_chunk_reader_chunk_size(r) >= 1 &&
		       sc_rtmp_chunk_reader_chunk_size(r) <= SC_RTMP_MAX_CHUNK_SIZE);
		data += n;
		size -= n;
	}
	sc_buf_free(&c.out);
	sc_rtmp_chunk_reader_free(r);
	sc_rtmp_chunk_reader_free(c.inner);
	return 0;
}
