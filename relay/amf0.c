/* SPDX-License-Identifier: Apache-2.0 */
/*
 * amf0.c - AMF0 decoder and writer (Adobe AMF0 specification, 2007).
 *
 * The decoder is recursive, bounded by SC_AMF0_MAX_DEPTH, so the stack it
 * uses is small and fixed. Every read checks the bytes left first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"

typedef struct {
	const uint8_t *p;
	size_t left;
	size_t values; /* decoded so far, nested ones included */
} dec;

static double rd_double(const uint8_t *p)
{
	uint64_t u = 0;
	double d;

	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	memcpy(&d, &u, sizeof(d));
	return d;
}

static void wr_double(uint8_t *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)u;
		u >>= 8;
	}
}

/* A NUL-terminated copy of n input bytes; NULL on embedded NUL or OOM. */
static int take_string(dec *d, size_t n, char **ret)
{
	char *s;

	if (n > SC_AMF0_MAX_STRING || n > d->left)
		return -EBADMSG;
	if (memchr(d->p, 0, n))
		return -EBADMSG;
	s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, d->p, n);
	s[n] = 0;
	d->p += n;
	d->left -= n;
	*ret = s;
	return 0;
}

static int decode_value(dec *d, int depth, sc_amf0_value **ret);

/* Properties up to the empty key + object-end marker. */
static int decode_props(dec *d, int depth, sc_amf0_value *v)
{
	size_t cap = 0;

	for (;;) {
		sc_amf0_prop *np;
		size_t klen;
		char *key;
		int r;

		if (d->left < 2)
			return -EBADMSG;
		klen = sc_rd_be16(d->p);
		d->p += 2;
		d->left -= 2;
		if (klen == 0) {
			if (d->left < 1 || d->p[0] != SC_AMF0_OBJECT_END)
				return -EBADMSG;
			d->p++;
			d->left--;
			return 0;
		}
		if (v->n_props == cap) {
			cap = cap ? cap * 2 : 8;
			np = realloc(v->props, cap * sizeof(*np));
			if (!np)
				return -ENOMEM;
			v->props = np;
		}
		r = take_string(d, klen, &key);
		if (r < 0)
			return r;
		v->props[v->n_props].key = key;
		v->props[v->n_props].value = NULL;
		v->n_props++;
		r = decode_value(d, depth, &v->props[v->n_props - 1].value);
		if (r < 0)
			return r;
	}
}

static int decode_body(dec *d, int depth, sc_amf0_value *v, uint8_t marker)
{
	uint32_t n32;

	switch (marker) {
	case SC_AMF0_NUMBER:
	case SC_AMF0_DATE:
		if (d->left < (marker == SC_AMF0_DATE ? 10u : 8u))
			return -EBADMSG;
		v->type = marker;
		v->number = rd_double(d->p);
		d->p += marker == SC_AMF0_DATE ? 10 : 8; /* the time zone is ignored */
		d->left -= marker == SC_AMF0_DATE ? 10 : 8;
		return 0;
	case SC_AMF0_BOOLEAN:
		if (d->left < 1)
			return -EBADMSG;
		v->type = SC_AMF0_BOOLEAN;
		v->boolean = d->p[0] != 0;
		d->p++;
		d->left--;
		return 0;
	case SC_AMF0_STRING:
	case SC_AMF0_LONG_STRING:
		if (d->left < (marker == SC_AMF0_STRING ? 2u : 4u))
			return -EBADMSG;
		n32 = marker == SC_AMF0_STRING ? sc_rd_be16(d->p) : sc_rd_be32(d->p);
		d->p += marker == SC_AMF0_STRING ? 2 : 4;
		d->left -= marker == SC_AMF0_STRING ? 2 : 4;
		v->type = SC_AMF0_STRING;
		v->str_len = n32;
		return take_string(d, n32, &v->str);
	case SC_AMF0_NULL:
	case SC_AMF0_UNDEFINED:
		v->type = marker;
		return 0;
	case SC_AMF0_REFERENCE:
		if (d->left < 2)
			return -EBADMSG;
		v->type = SC_AMF0_NUMBER;
		v->number = sc_rd_be16(d->p);
		d->p += 2;
		d->left -= 2;
		return 0;
	case SC_AMF0_OBJECT:
	case SC_AMF0_ECMA_ARRAY:
		if (depth >= SC_AMF0_MAX_DEPTH)
			return -EBADMSG;
		if (marker == SC_AMF0_ECMA_ARRAY) {
			/* The count is a hint that encoders get wrong: ignored. */
			if (d->left < 4)
				return -EBADMSG;
			d->p += 4;
			d->left -= 4;
		}
		v->type = marker;
		return decode_props(d, depth + 1, v);
	case SC_AMF0_STRICT_ARRAY:
		if (depth >= SC_AMF0_MAX_DEPTH || d->left < 4)
			return -EBADMSG;
		n32 = sc_rd_be32(d->p);
		d->p += 4;
		d->left -= 4;
		/* Every item takes at least one byte and one value. */
		if (n32 > d->left || n32 > SC_AMF0_MAX_VALUES - d->values)
			return -EBADMSG;
		v->type = SC_AMF0_STRICT_ARRAY;
		if (n32 == 0)
			return 0;
		v->items = calloc(n32, sizeof(*v->items));
		if (!v->items)
			return -ENOMEM;
		for (uint32_t i = 0; i < n32; i++) {
			int r = decode_value(d, depth + 1, &v->items[i]);

			if (r < 0)
				return r;
			v->n_items++;
		}
		return 0;
	default: /* object end out of place, AMF3 switch, XML, typed objects */
		return -EBADMSG;
	}
}

static int decode_value(dec *d, int depth, sc_amf0_value **ret)
{
	sc_amf0_value *v;
	uint8_t marker;
	int r;

	if (d->left < 1 || d->values >= SC_AMF0_MAX_VALUES)
		return -EBADMSG;
	marker = d->p[0];
	d->p++;
	d->left--;
	d->values++;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = decode_body(d, depth, v, marker);
	if (r < 0) {
		sc_amf0_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

int sc_amf0_decode_all(const uint8_t *p, size_t n, sc_amf0_value ***ret, size_t *ret_n)
{
	dec d = {.p = p, .left = n};
	sc_amf0_value **vals = NULL;
	size_t nvals = 0, cap = 0;
	int r;

	while (d.left > 0) {
		if (nvals == cap) {
			sc_amf0_value **nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(vals, cap * sizeof(*nv));
			if (!nv) {
				r = -ENOMEM;
				goto fail;
			}
			vals = nv;
		}
		r = decode_value(&d, 0, &vals[nvals]);
		if (r < 0)
			goto fail;
		nvals++;
	}
	*ret = vals;
	*ret_n = nvals;
	return 0;
fail:
	sc_amf0_free_all(vals, nvals);
	return r;
}

void sc_amf0_free(sc_amf0_value *v)
{
	if (!v)
		return;
	free(v->str);
	for (size_t i = 0; i < v->n_props; i++) {
		free(v->props[i].key);
		sc_amf0_free(v->props[i].value);
	}
	free(v->props);
	for (size_t i = 0; i < v->n_items; i++)
		sc_amf0_free(v->items[i]);
	free(v->items);
	free(v);
}

void sc_amf0_free_all(sc_amf0_value **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		sc_amf0_free(v[i]);
	free(v);
}

const sc_amf0_value *sc_amf0_get(const sc_amf0_value *obj, const char *key)
{
	if (!obj || !key || (obj->type != SC_AMF0_OBJECT && obj->type != SC_AMF0_ECMA_ARRAY))
		return NULL;
	for (size_t i = 0; i < obj->n_props; i++)
		if (strcmp(obj->props[i].key, key) == 0)
			return obj->props[i].value;
	return NULL;
}

const char *sc_amf0_str(const sc_amf0_value *v)
{
	return v && v->type == SC_AMF0_STRING ? v->str : NULL;
}

double sc_amf0_num(const sc_amf0_value *v, double dflt)
{
	return v && v->type == SC_AMF0_NUMBER ? v->number : dflt;
}

/* Writers: each builds its bytes and appends them at once, so a failed
 * append leaves the buffer as it was. */

int sc_amf0_put_number(sc_buf *b, double v)
{
	uint8_t t[9];

	t[0] = SC_AMF0_NUMBER;
	wr_double(t + 1, v);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_amf0_put_bool(sc_buf *b, bool v)
{
	uint8_t t[2] = {SC_AMF0_BOOLEAN, v ? 1 : 0};

	return sc_buf_append(b, t, sizeof(t));
}

static int put_string_n(sc_buf *b, const char *s, size_t n)
{
	uint8_t t[5];
	size_t hl;
	int r;

	if (n > UINT32_MAX)
		return -EINVAL;
	if (n > 0xFFFF) {
		t[0] = SC_AMF0_LONG_STRING;
		sc_wr_be32(t + 1, (uint32_t)n);
		hl = 5;
	} else {
		t[0] = SC_AMF0_STRING;
		sc_wr_be16(t + 1, (uint16_t)n);
		hl = 3;
	}
	r = sc_buf_reserve(b, hl + n);
	if (r < 0)
		return r;
	sc_buf_append(b, t, hl);
	return sc_buf_append(b, s, n);
}

int sc_amf0_put_string(sc_buf *b, const char *s)
{
	return put_string_n(b, s, strlen(s));
}

int sc_amf0_put_null(sc_buf *b)
{
	return sc_buf_append_u8(b, SC_AMF0_NULL);
}

int sc_amf0_put_object_begin(sc_buf *b)
{
	return sc_buf_append_u8(b, SC_AMF0_OBJECT);
}

int sc_amf0_put_ecma_begin(sc_buf *b, uint32_t count)
{
	uint8_t t[5];

	t[0] = SC_AMF0_ECMA_ARRAY;
	sc_wr_be32(t + 1, count);
	return sc_buf_append(b, t, sizeof(t));
}

int sc_amf0_put_key(sc_buf *b, const char *key)
{
	size_t n = strlen(key);
	int r;

	if (n == 0 || n > 0xFFFF)
		return -EINVAL;
	r = sc_buf_reserve(b, 2 + n);
	if (r < 0)
		return r;
	sc_buf_append_be16(b, (uint16_t)n);
	return sc_buf_append(b, key, n);
}

int sc_amf0_put_object_end(sc_buf *b)
{
	static const uint8_t t[3] = {0, 0, SC_AMF0_OBJECT_END};

	return sc_buf_append(b, t, sizeof(t));
}

int sc_amf0_put_prop_string(sc_buf *b, const char *key, const char *v)
{
	int r = sc_amf0_put_key(b, key);

	return r < 0 ? r : sc_amf0_put_string(b, v);
}

int sc_amf0_put_prop_number(sc_buf *b, const char *key, double v)
{
	int r = sc_amf0_put_key(b, key);

	return r < 0 ? r : sc_amf0_put_number(b, v);
}

int sc_amf0_put_prop_bool(sc_buf *b, const char *key, bool v)
{
	int r = sc_amf0_put_key(b, key);

	return r < 0 ? r : sc_amf0_put_bool(b, v);
}

static int put_value(sc_buf *b, const sc_amf0_value *v, int depth)
{
	uint8_t t[11];
	int r;

	if (!v)
		return -EINVAL;
	switch (v->type) {
	case SC_AMF0_NUMBER:
		return sc_amf0_put_number(b, v->number);
	case SC_AMF0_BOOLEAN:
		return sc_amf0_put_bool(b, v->boolean);
	case SC_AMF0_STRING:
	case SC_AMF0_LONG_STRING:
		return put_string_n(b, v->str ? v->str : "", v->str ? v->str_len : 0);
	case SC_AMF0_NULL:
	case SC_AMF0_UNDEFINED:
		return sc_buf_append_u8(b, (uint8_t)v->type);
	case SC_AMF0_REFERENCE:
		t[0] = SC_AMF0_REFERENCE;
		sc_wr_be16(t + 1, (uint16_t)v->number);
		return sc_buf_append(b, t, 3);
	case SC_AMF0_DATE:
		t[0] = SC_AMF0_DATE;
		wr_double(t + 1, v->number);
		t[9] = t[10] = 0; /* time zone: UTC, as the spec recommends */
		return sc_buf_append(b, t, 11);
	case SC_AMF0_OBJECT:
	case SC_AMF0_ECMA_ARRAY:
		if (depth >= SC_AMF0_MAX_DEPTH)
			return -EINVAL;
		r = v->type == SC_AMF0_OBJECT ? sc_amf0_put_object_begin(b)
					      : sc_amf0_put_ecma_begin(b, (uint32_t)v->n_props);
		for (size_t i = 0; r == 0 && i < v->n_props; i++) {
			r = sc_amf0_put_key(b, v->props[i].key);
			if (r == 0)
				r = put_value(b, v->props[i].value, depth + 1);
		}
		return r < 0 ? r : sc_amf0_put_object_end(b);
	case SC_AMF0_STRICT_ARRAY:
		if (depth >= SC_AMF0_MAX_DEPTH || v->n_items > UINT32_MAX)
			return -EINVAL;
		t[0] = SC_AMF0_STRICT_ARRAY;
		sc_wr_be32(t + 1, (uint32_t)v->n_items);
		r = sc_buf_append(b, t, 5);
		for (size_t i = 0; r == 0 && i < v->n_items; i++)
			r = put_value(b, v->items[i], depth + 1);
		return r;
	default:
		return -EINVAL;
	}
}

int sc_amf0_put_value(sc_buf *b, const sc_amf0_value *v)
{
	return put_value(b, v, 0);
}
