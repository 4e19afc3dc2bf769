/* SPDX-License-Identifier: Apache-2.0 */
/*
 * buf.c - growable byte buffer with a hard maximum.
 *
 * The length never passes max. The allocation may hold one byte more than
 * max so that sc_buf_printf() can always NUL-terminate what it wrote.
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sc_buf_init(sc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void sc_buf_free(sc_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void sc_buf_reset(sc_buf *b)
{
	b->len = 0;
}

/* Make room for need bytes in total; need was checked against max by the caller. */
static int buf_grow(sc_buf *b, size_t need)
{
	size_t ncap, limit;
	uint8_t *p;

	if (need <= b->cap)
		return 0;
	limit = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if (ncap > limit)
		ncap = limit;
	if (ncap < need)
		ncap = need;
	p = realloc(b->data, ncap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int sc_buf_reserve(sc_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return -ENOBUFS;
	return buf_grow(b, b->len + extra);
}

int sc_buf_append(sc_buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = sc_buf_reserve(b, n);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int sc_buf_append_u8(sc_buf *b, uint8_t v)
{
	return sc_buf_append(b, &v, 1);
}

int sc_buf_append_be16(sc_buf *b, uint16_t v)
{
	uint8_t t[2];

	sc_wr_be16(t, v);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_buf_append_be24(sc_buf *b, uint32_t v)
{
	uint8_t t[3];

	sc_wr_be24(t, v);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_buf_append_be32(sc_buf *b, uint32_t v)
{
	uint8_t t[4];

	sc_wr_be32(t, v);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_buf_append_le32(sc_buf *b, uint32_t v)
{
	uint8_t t[4];

	sc_wr_le32(t, v);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_buf_printf(sc_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n, r;

	room = b->cap - b->len;
	va_start(ap, fmt);
	n = vsnprintf(room ? (char *)b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > b->max || b->len > b->max - (size_t)n)
		return -ENOBUFS;
	if ((size_t)n < room) {
		b->len += (size_t)n;
		return 0;
	}
	r = buf_grow(b, b->len + (size_t)n + 1);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sc_buf_consume(sc_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

uint8_t *sc_buf_steal(sc_buf *b, size_t *ret_len)
{
	uint8_t *p = b->data;

	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
