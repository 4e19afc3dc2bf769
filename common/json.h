/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h - small helpers over jansson for API request bodies: parse with a
 * size bound, refuse unknown fields, fetch typed members with an error
 * message a client can act on.
 */
#ifndef SC_JSON_H
#define SC_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Parse a request body that must be one JSON object. Returns a new
 * reference, or NULL with a message in err ("body is not valid JSON: ...
 * at line 1 column 7", "body must be a JSON object", "body is empty").
 */
json_t *sc_json_parse_object(const char *body, size_t len, char *err, size_t errlen);

/* -EINVAL with "unknown field \"x\"" if obj has a key not in allowed
 * (NULL-terminated). */
int sc_json_check_fields(json_t *obj, const char *const *allowed, char *err, size_t errlen);

/*
 * Typed getters. A missing member: -ENOENT if required is false (ret is
 * untouched), -EINVAL with "missing field \"x\"" if required. A member of
 * the wrong type: -EINVAL with "field \"x\" must be a string". Strings are
 * borrowed from obj.
 */
int sc_json_get_string(json_t *obj, const char *key, bool required, const char **ret, char *err,
		       size_t errlen);
int sc_json_get_int(json_t *obj, const char *key, bool required, long long *ret, char *err,
		    size_t errlen);
int sc_json_get_bool(json_t *obj, const char *key, bool required, bool *ret, char *err,
		     size_t errlen);

/* json_dumps with compact encoding; caller frees. NULL on OOM. */
char *sc_json_dump(const json_t *v, size_t *ret_len);

#endif
