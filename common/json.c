/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.c - request-body helpers over jansson.
 */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* API bodies are small; anything bigger is refused before parsing. */
#define JSON_BODY_MAX (1024 * 1024)
/* Longest field name quoted back in an error message. */
#define JSON_KEY_QUOTE_MAX 64

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A client-supplied key, shortened and made printable for a message. */
static void quote_key(const char *key, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; key[i] && n + 4 < outlen; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i == JSON_KEY_QUOTE_MAX) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
	}
	out[n] = '\0';
}

json_t *sc_json_parse_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *v;
	size_t i;

	for (i = 0; body && i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' && body[i] != '\n')
			break;
	if (!body || i == len) {
		set_err(err, errlen, "body is empty");
		return NULL;
	}
	if (len > JSON_BODY_MAX) {
		set_err(err, errlen, "body is too large (at most %d bytes)", JSON_BODY_MAX);
		return NULL;
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		set_err(err, errlen, "body is not valid JSON: %s at line %d column %d", jerr.text,
			jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		set_err(err, errlen, "body must be a JSON object");
		return NULL;
	}
	return v;
}

int sc_json_check_fields(json_t *obj, const char *const *allowed, char *err, size_t errlen)
{
	const char *key;
	json_t *val;
	char q[JSON_KEY_QUOTE_MAX + 8];

	if (!json_is_object(obj)) {
		set_err(err, errlen, "body must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(obj, key, val)
	{
		size_t i;
		bool ok = false;

		for (i = 0; allowed && allowed[i]; i++) {
			if (strcmp(key, allowed[i]) == 0) {
				ok = true;
				break;
			}
		}
		if (!ok) {
			quote_key(key, q, sizeof(q));
			set_err(err, errlen, "unknown field \"%s\"", q);
			return -EINVAL;
		}
	}
	return 0;
}

/* Common part of the getters: 0 with *ret_v, or -ENOENT / -EINVAL. */
static int get_member(json_t *obj, const char *key, bool required, json_t **ret_v, char *err,
		      size_t errlen)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (!v || json_is_null(v)) {
		if (!required)
			return -ENOENT;
		set_err(err, errlen, "missing field \"%s\"", key);
		return -EINVAL;
	}
	*ret_v = v;
	return 0;
}

int sc_json_get_string(json_t *obj, const char *key, bool required, const char **ret, char *err,
		       size_t errlen)
{
	json_t *v;
	int r = get_member(obj, key, required, &v, err, errlen);

	if (r < 0)
		return r;
	if (!json_is_string(v)) {
		set_err(err, errlen, "field \"%s\" must be a string", key);
		return -EINVAL;
	}
	*ret = json_string_value(v);
	return 0;
}

int sc_json_get_int(json_t *obj, const char *key, bool required, long long *ret, char *err,
		    size_t errlen)
{
	json_t *v;
	int r = get_member(obj, key, required, &v, err, errlen);

	if (r < 0)
		return r;
	if (!json_is_integer(v)) {
		set_err(err, errlen, "field \"%s\" must be an integer", key);
		return -EINVAL;
	}
	*ret = (long long)json_integer_value(v);
	return 0;
}

int sc_json_get_bool(json_t *obj, const char *key, bool required, bool *ret, char *err,
		     size_t errlen)
{
	json_t *v;
	int r = get_member(obj, key, required, &v, err, errlen);

	if (r < 0)
		return r;
	if (!json_is_boolean(v)) {
		set_err(err, errlen, "field \"%s\" must be a boolean", key);
		return -EINVAL;
	}
	*ret = json_is_true(v);
	return 0;
}

char *sc_json_dump(const json_t *v, size_t *ret_len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s && ret_len)
		*ret_len = strlen(s);
	return s;
}
