/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.h - a growable byte buffer with a hard maximum (like curl's dynbuf).
 * Every append either fits under max or fails with -ENOBUFS and leaves the
 * buffer as it was; -ENOMEM if allocation fails.
 */
#ifndef SC_BUF_H
#define SC_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t *data;
	size_t len, cap, max;
} sc_buf;

void sc_buf_init(sc_buf *b, size_t max);
void sc_buf_free(sc_buf *b);
void sc_buf_reset(sc_buf *b); /* len = 0, keeps memory */
int sc_buf_reserve(sc_buf *b, size_t extra);
int sc_buf_append(sc_buf *b, const void *p, size_t n);
int sc_buf_append_u8(sc_buf *b, uint8_t v);
int sc_buf_append_be16(sc_buf *b, uint16_t v);
int sc_buf_append_be24(sc_buf *b, uint32_t v);
int sc_buf_append_be32(sc_buf *b, uint32_t v);
int sc_buf_append_le32(sc_buf *b, uint32_t v);
int sc_buf_printf(sc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop n bytes from the front. */
void sc_buf_consume(sc_buf *b, size_t n);
/* Hand the memory over; b is reset to empty. */
uint8_t *sc_buf_steal(sc_buf *b, size_t *ret_len);

static inline uint16_t sc_rd_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t sc_rd_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t sc_rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t sc_rd_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static inline void sc_wr_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void sc_wr_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}
static inline void sc_wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void sc_wr_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
