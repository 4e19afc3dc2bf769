/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_amf0.c - the AMF0 decoder on arbitrary bytes. What decodes is
 * written again with sc_amf0_put_value and must decode to the same values,
 * and write again to the same bytes.
 */
#undef NDEBUG /* the checks are the point */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amf0.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const sc_amf0_value *a, const sc_amf0_value *b)
{
	assert(a && b);
	assert(a->type == b->type);
	switch (a->type) {
	case SC_AMF0_NUMBER:
	case SC_AMF0_DATE:
		assert(memcmp(&a->number, &b->number, sizeof(a->number)) == 0);
		break;
	case SC_AMF0_BOOLEAN:
		assert(a->boolean == b->boolean);
		break;
	case SC_AMF0_STRING:
		assert(a->str_len == b->str_len);
		assert(strlen(a->str) == a->str_len);
		assert(memcmp(a->str, b->str, a->str_len + 1) == 0);
		break;
	case SC_AMF0_OBJECT:
	case SC_AMF0_ECMA_ARRAY:
		assert(a->n_props == b->n_props);
		for (size_t i = 0; i < a->n_props; i++) {
			assert(strcmp(a->props[i].key, b->props[i].key) == 0);
			same(a->props[i].value, b->props[i].value);
		}
		break;
	case SC_AMF0_STRICT_ARRAY:
		assert(a->n_items == b->n_items);
		for (size_t i = 0; i < a->n_items; i++)
			same(a->items[i], b->items[i]);
		break;
	case SC_AMF0_NULL:
	case SC_AMF0_UNDEFINED:
		break;
	default:
		assert(!"unexpected type after decoding");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sc_amf0_value **v, **v2;
	size_t n, n2;
	sc_buf b, b2;
	int r;

	r = sc_amf0_decode_all(data, size, &v, &n);
	if (r < 0) {
		assert(r == -EBADMSG || r == -ENOMEM);
		return 0;
	}
	assert(n <= SC_AMF0_MAX_VALUES);
	sc_buf_init(&b, 64u << 20);
	sc_buf_init(&b2, 64u << 20);
	for (size_t i = 0; i < n; i++) {
		r = sc_amf0_put_value(&b, v[i]);
		assert(r == 0);
	}
	r = sc_amf0_decode_all(b.data, b.len, &v2, &n2);
	assert(r == 0);
	assert(n2 == n);
	for (size_t i = 0; i < n; i++) {
		same(v[i], v2[i]);
		r = sc_amf0_put_value(&b2, v2[i]);
		assert(r == 0);
	}
	assert(b.len == b2.len && (b.len == 0 || memcmp(b.data, b2.data, b.len) == 0));
	/* The lookups must cope with anything decoded. */
	for (size_t i = 0; i < n; i++) {
		(void)sc_amf0_get(v[i], "app");
		(void)sc_amf0_str(v[i]);
		(void)sc_amf0_num(v[i], 0);
	}
	sc_amf0_free_all(v, n);
	sc_amf0_free_all(v2, n2);
	sc_buf_free(&b);
	sc_buf_free(&b2);
	return 0;
}
