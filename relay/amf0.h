/* SPDX-License-Identifier: Apache-2.0 */
/*
 * amf0.h - Action Message Format 0, as RTMP commands and onMetaData use it.
 *
 * The decoder turns a byte sequence into a flat array of top-level values
 * (a command is: name, transaction id, command object, arguments...). It
 * refuses anything past its bounds (nesting depth, value count, string
 * length) with -EBADMSG, so hostile input costs at most a few kilobytes.
 * The writer appends to an sc_buf. Any thread; no shared state.
 */
#ifndef SC_AMF0_H
#define SC_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef enum {
	SC_AMF0_NUMBER = 0x00,
	SC_AMF0_BOOLEAN = 0x01,
	SC_AMF0_STRING = 0x02,
	SC_AMF0_OBJECT = 0x03,
	SC_AMF0_NULL = 0x05,
	SC_AMF0_UNDEFINED = 0x06,
	SC_AMF0_REFERENCE = 0x07,
	SC_AMF0_ECMA_ARRAY = 0x08,
	SC_AMF0_OBJECT_END = 0x09,
	SC_AMF0_STRICT_ARRAY = 0x0a,
	SC_AMF0_DATE = 0x0b,
	SC_AMF0_LONG_STRING = 0x0c,
} sc_amf0_type;

#define SC_AMF0_MAX_DEPTH  16
#define SC_AMF0_MAX_VALUES 4096	      /* all values, nested ones included */
#define SC_AMF0_MAX_STRING (1u << 20) /* bytes, long strings included */

typedef struct sc_amf0_value sc_amf0_value;
typedef struct {
	char *key; /* NUL-terminated; keys with NUL bytes are refused */
	sc_amf0_value *value;
} sc_amf0_prop;

struct sc_amf0_value {
	sc_amf0_type type; /* LONG_STRING decodes as STRING; REFERENCE as NUMBER (index) */
	double number;	   /* NUMBER, DATE */
	bool boolean;
	char *str; /* STRING: NUL-terminated copy (embedded NULs refused) */
	size_t str_len;
	sc_amf0_prop *props; /* OBJECT, ECMA_ARRAY */
	size_t n_props;
	sc_amf0_value **items; /* STRICT_ARRAY */
	size_t n_items;
};

/*
 * Decode every value in p[0..n). On success returns 0 and an array of
 * top-level values in *ret (free with sc_amf0_free_all). Errors: -EBADMSG
 * (malformed, truncated or past a bound), -ENOMEM.
 */
int sc_amf0_decode_all(const uint8_t *p, size_t n, sc_amf0_value ***ret, size_t *ret_n);
void sc_amf0_free_all(sc_amf0_value **v, size_t n);
void sc_amf0_free(sc_amf0_value *v);

/* Lookups that tolerate NULL and the wrong type (they return NULL / dflt). */
const sc_amf0_value *sc_amf0_get(const sc_amf0_value *obj, const char *key);
const char *sc_amf0_str(const sc_amf0_value *v);
double sc_amf0_num(const sc_amf0_value *v, double dflt);

/* Writers. Each returns 0 or the sc_buf error. */
int sc_amf0_put_number(sc_buf *b, double v);
int sc_amf0_put_bool(sc_buf *b, bool v);
int sc_amf0_put_string(sc_buf *b, const char *s); /* long string if > 65535 */
int sc_amf0_put_null(sc_buf *b);
int sc_amf0_put_object_begin(sc_buf *b);
int sc_amf0_put_ecma_begin(sc_buf *b, uint32_t count);
int sc_amf0_put_key(sc_buf *b, const char *key); /* property name, no marker */
int sc_amf0_put_object_end(sc_buf *b);		 /* also ends ECMA arrays */
/* Convenience: key + value. */
int sc_amf0_put_prop_string(sc_buf *b, const char *key, const char *v);
int sc_amf0_put_prop_number(sc_buf *b, const char *key, double v);
int sc_amf0_put_prop_bool(sc_buf *b, const char *key, bool v);
/* Any decoded value, recursively (round trips). */
int sc_amf0_put_value(sc_buf *b, const sc_amf0_value *v);

#endif
