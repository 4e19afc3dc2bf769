/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char err[256];

static json_t *parse(const char *s)
{
	err[0] = '\0';
	return sc_json_parse_object(s, strlen(s), err, sizeof(err));
}

static void test_parse(void **state)
{
	json_t *o;

	(void)state;
	o = parse("{\"name\":\"k1\",\"fence\":5}");
	assert_non_null(o);
	assert_true(json_is_object(o));
	json_decref(o);

	assert_null(parse(""));
	assert_string_equal(err, "body is empty");
	assert_null(parse("  \r\n"));
	assert_string_equal(err, "body is empty");
	assert_null(sc_json_parse_object(NULL, 0, err, sizeof(err)));
	assert_string_equal(err, "body is empty");

	assert_null(parse("[1,2]"));
	assert_string_equal(err, "body must be a JSON object");
	assert_null(parse("\"str\""));
	assert_string_equal(err, "body must be a JSON object");

	assert_null(parse("{\"a\":}"));
	assert_int_equal(strncmp(err, "body is not valid JSON: ", 24), 0);
	assert_non_null(strstr(err, "at line 1 column 6"));

	assert_null(parse("{\"a\":1} {}"));
	assert_int_equal(strncmp(err, "body is not valid JSON", 22), 0);
	/* Duplicate keys are refused: which one wins would be a guess. */
	assert_null(parse("{\"a\":1,\"a\":2}"));
	assert_int_equal(strncmp(err, "body is not valid JSON", 22), 0);
	/* Not NUL-terminated: only len bytes are read. */
	o = sc_json_parse_object("{\"a\":1}garbage", 7, err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
	/* Works with no room for a message. */
	assert_null(sc_json_parse_object("x", 1, NULL, 0));
}

static void test_too_large(void **state)
{
	size_t n = 2 * 1024 * 1024;
	char *big = malloc(n);
	json_t *o;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	o = sc_json_parse_object(big, n, err, sizeof(err));
	assert_null(o);
	assert_non_null(strstr(err, "too large"));
	free(big);
}

static void test_check_fields(void **state)
{
	static const char *const allowed[] = {"name", "url", "fence", NULL};
	json_t *o;

	(void)state;
	o = parse("{\"name\":\"k1\",\"url\":\"rtmp://h/l/k\"}");
	assert_non_null(o);
	assert_int_equal(sc_json_check_fields(o, allowed, err, sizeof(err)), 0);
	json_decref(o);

	o = parse("{\"name\":\"k1\",\"nmae\":1}");
	assert_non_null(o);
	assert_int_equal(sc_json_check_fields(o, allowed, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown field \"nmae\"");
	json_decref(o);

	/* A hostile key is shortened and made printable in the message. */
	o = parse("{\"a\\nb\\\"c\":1}");
	assert_non_null(o);
	assert_int_equal(sc_json_check_fields(o, allowed, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown field \"a?b?c\"");
	json_decref(o);

	o = parse("{}");
	assert_int_equal(sc_json_check_fields(o, allowed, err, sizeof(err)), 0);
	json_decref(o);
}

static void test_getters(void **state)
{
	const char *s = "untouched";
	long long i = -1;
	bool b = false;
	json_t *o;

	(void)state;
	o = parse("{\"name\":\"k1\",\"fence\":4294967296,\"live\":true,\"real\":1.5,\"nul\":null}");
	assert_non_null(o);

	assert_int_equal(sc_json_get_string(o, "name", true, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "k1");
	assert_int_equal(sc_json_get_int(o, "fence", true, &i, err, sizeof(err)), 0);
	assert_true(i == 4294967296LL);
	assert_int_equal(sc_json_get_bool(o, "live", true, &b, err, sizeof(err)), 0);
	assert_true(b);

	/* Missing, optional: -ENOENT and untouched. */
	s = "untouched";
	assert_int_equal(sc_json_get_string(o, "url", false, &s, err, sizeof(err)), -ENOENT);
	assert_string_equal(s, "untouched");
	assert_int_equal(sc_json_get_int(o, "nul", false, &i, err, sizeof(err)), -ENOENT);
	/* Missing, required. */
	assert_int_equal(sc_json_get_string(o, "url", true, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing field \"url\"");
	/* Wrong types. */
	assert_int_equal(sc_json_get_string(o, "fence", true, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field \"fence\" must be a string");
	assert_int_equal(sc_json_get_int(o, "real", false, &i, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field \"real\" must be an integer");
	assert_int_equal(sc_json_get_int(o, "name", false, &i, err, sizeof(err)), -EINVAL);
	assert_int_equal(sc_json_get_bool(o, "fence", false, &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field \"fence\" must be a boolean");
	assert_string_equal(s, "untouched");
	assert_true(i == 4294967296LL);
	json_decref(o);
}

static void test_dump(void **state)
{
	json_t *o = json_pack("{s:s, s:i, s:[i,i]}", "name", "k1", "fence", 3, "a", 1, 2);
	size_t len = 0;
	char *s;

	(void)state;
	assert_non_null(o);
	s = sc_json_dump(o, &len);
	assert_non_null(s);
	assert_string_equal(s, "{\"name\":\"k1\",\"fence\":3,\"a\":[1,2]}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(o);

	o = json_string("x");
	s = sc_json_dump(o, NULL);
	assert_string_equal(s, "\"x\"");
	free(s);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	     cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_check_fields), cmocka_unit_test(test_getters),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
