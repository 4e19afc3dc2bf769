/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

static char DEFAULT_LISTEN[] = "0.0.0.0:1935";

/* The option values, reset before each test. */
static char *o_listen;
static char *o_name;
static sc_strlist o_push;
static int64_t o_port;
static bool o_verbose;
static int64_t o_timeout;
static int64_t o_maxsize;
static sc_log_level o_level;

static const sc_option options[] = {
	{"listen", 'l', SC_OPT_ADDR, &o_listen, "ADDR:PORT", "RTMP listen address", 0, 0},
	{"name", 0, SC_OPT_STRING, &o_name, "NAME", "instance name", 0, 0},
	{"push", 'p', SC_OPT_LIST, &o_push, "URL", "push target (repeatable)", 0, 0},
	{"port", 0, SC_OPT_INT, &o_port, "N", "HTTP port", 1, 65535},
	{"verbose", 'v', SC_OPT_BOOL, &o_verbose, NULL, "log more", 0, 0},
	{"timeout", 0, SC_OPT_DURATION, &o_timeout, "TIME", "idle timeout", 0, 0},
	{"max-size", 0, SC_OPT_SIZE, &o_maxsize, "BYTES", "largest segment", 0, 0},
	{"log-level", 0, SC_OPT_LOGLEVEL, &o_level, "LEVEL", "log detail", 0, 0},
};

static const sc_config_spec spec = {
	.program = "stagecast-test",
	.synopsis = "A test program.",
	.epilog = "Exit status: 0 on success.",
	.options = options,
	.n_options = sizeof(options) / sizeof(options[0]),
};

static char tmpdir[] = "/tmp/sc-test-config-XXXXXX";
static char err[256];

static int setup(void **state)
{
	(void)state;
	o_listen = strdup(DEFAULT_LISTEN);
	o_name = NULL;
	o_port = 8080;
	o_verbose = false;
	o_timeout = 5000;
	o_maxsize = 8 << 20;
	o_level = SC_LOG_INFO;
	sc_strlist_clear(&o_push);
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(o_listen);
	free(o_name);
	o_name = NULL;
	o_listen = NULL;
	sc_strlist_clear(&o_push);
	return 0;
}

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int parse(int argc, const char **argv)
{
	return sc_config_parse(&spec, argc, (char **)argv, err, sizeof(err));
}

#define PARSE(...)                                                \
	({                                                        \
		const char *a_[] = {"prog", __VA_ARGS__, NULL};   \
		parse((int)(sizeof(a_) / sizeof(a_[0])) - 1, a_); \
	})

static void test_defaults_kept(void **state)
{
	const char *argv[] = {"prog", NULL};

	(void)state;
	assert_int_equal(parse(1, argv), 0);
	assert_string_equal(o_listen, DEFAULT_LISTEN);
	assert_null(o_name);
	assert_int_equal(o_port, 8080);
	assert_int_equal(o_push.n, 0);
	assert_int_equal(o_level, SC_LOG_INFO);
}

static void test_flags(void **state)
{
	(void)state;
	assert_int_equal(PARSE("--listen", "127.0.0.1:1936", "--name=relay-1", "-p",
			       "rtmp://a/live/x", "--push", "rtmp://b/live/y", "--port", "9000",
			       "-v", "--timeout", "250ms", "--max-size", "512k"),
			 0);
	assert_string_equal(o_listen, "127.0.0.1:1936");
	assert_string_equal(o_name, "relay-1");
	assert_int_equal(o_push.n, 2);
	assert_string_equal(o_push.v[0], "rtmp://a/live/x");
	assert_string_equal(o_push.v[1], "rtmp://b/live/y");
	assert_null(o_push.v[2]);
	assert_int_equal(o_port, 9000);
	assert_true(o_verbose);
	assert_int_equal(o_timeout, 250);
	assert_int_equal(o_maxsize, 512 * 1024);
}

static void test_flag_given_twice(void **state)
{
	(void)state;
	/* The last one wins and the first copy is not leaked (ASan checks). */
	assert_int_equal(PARSE("--name", "a", "--name", "b", "--verbose=no"), 0);
	assert_string_equal(o_name, "b");
	assert_false(o_verbose);
}

static void test_file(void **state)
{
	const char *path = write_file("a.conf", "; comment\n"
						"# another\n"
						"[relay]\n"
						"listen = [::1]:1935\n"
						"name = from-file\n"
						"push = rtmp://a/live/1\n"
						"push = rtmp://b/live/2\n"
						"port = 81\n"
						"verbose = yes\n"
						"timeout = 2m\n"
						"max_size = 1G\n");

	(void)state;
	assert_int_equal(PARSE("--config", path), 0);
	assert_string_equal(o_listen, "[::1]:1935");
	assert_string_equal(o_name, "from-file");
	assert_int_equal(o_push.n, 2);
	assert_string_equal(o_push.v[1], "rtmp://b/live/2");
	assert_int_equal(o_port, 81);
	assert_true(o_verbose);
	assert_int_equal(o_timeout, 120000);
	assert_int_equal(o_maxsize, 1LL << 30);
}

static void test_flags_override_file(void **state)
{
	const char *path = write_file("b.conf", "name = from-file\n"
						"port = 81\n"
						"verbose = on\n"
						"push = rtmp://file/live/1\n"
						"timeout = 10\n");

	(void)state;
	/* Flags before and after --config both win over the file. */
	assert_int_equal(PARSE("--port", "82", "-c", path, "--name", "from-flag", "--verbose=off",
			       "--push", "rtmp://flag/live/1"),
			 0);
	assert_string_equal(o_name, "from-flag");
	assert_int_equal(o_port, 82);
	assert_false(o_verbose);
	/* A list given on the command line replaces the file's list. */
	assert_int_equal(o_push.n, 1);
	assert_string_equal(o_push.v[0], "rtmp://flag/live/1");
	/* Not given as a flag: the file's value stays. */
	assert_int_equal(o_timeout, 10000);
}

static void test_parse_helpers(void **state)
{
	int64_t v = -1;
	bool b = false;
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(sc_parse_duration_ms("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(sc_parse_duration_ms("2s", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(sc_parse_duration_ms("1m", &v), 0);
	assert_int_equal(v, 60000);
	assert_int_equal(sc_parse_duration_ms("3", &v), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(sc_parse_duration_ms("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(sc_parse_duration_ms("7d", &v), 0);
	assert_int_equal(v, 7 * 86400000LL);
	v = 7;
	assert_int_equal(sc_parse_duration_ms("", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("-1s", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("1.5s", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("2 s", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("5w", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("99999999999999999999", &v), -EINVAL);
	assert_int_equal(sc_parse_duration_ms("9223372036854775807s", &v), -EINVAL);
	assert_int_equal(v, 7); /* untouched on error */

	assert_int_equal(sc_parse_size("100", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(sc_parse_size("512k", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(sc_parse_size("8M", &v), 0);
	assert_int_equal(v, 8 << 20);
	assert_int_equal(sc_parse_size("1G", &v), 0);
	assert_int_equal(v, 1 << 30);
	assert_int_equal(sc_parse_size("1kb", &v), -EINVAL);
	assert_int_equal(sc_parse_size("k", &v), -EINVAL);
	assert_int_equal(sc_parse_size("-1", &v), -EINVAL);
	assert_int_equal(sc_parse_size("9999999999999T", &v), -EINVAL);

	assert_int_equal(sc_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(sc_parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(sc_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(sc_parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(sc_parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(sc_parse_bool("", &b), -EINVAL);

	assert_int_equal(sc_parse_hostport("example.com:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "example.com");
	assert_int_equal(port, 80);
	assert_int_equal(sc_parse_hostport("[::1]:1935", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1935);
	assert_int_equal(sc_parse_hostport(":8080", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 8080);
	assert_int_equal(sc_parse_hostport("host", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("host:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("host:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("host:8o", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("[zz]:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("[::1]80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("a b:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(sc_parse_hostport("verylonghostname:80", host, 8, &port), -EINVAL);
	assert_int_equal(port, 8080);
}

static void expect_error(int r, const char *needle)
{
	assert_int_equal(r, -EINVAL);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	/* Values applied before the error belong to the caller: free them. */
	teardown(NULL);
	setup(NULL);
}

static void test_bad_values(void **state)
{
	(void)state;
	expect_error(PARSE("--port", "abc"), "--port");
	expect_error(PARSE("--port", "0"), "between 1 and 65535");
	expect_error(PARSE("--port", "70000"), "--port");
	expect_error(PARSE("--timeout", "soon"), "--timeout");
	expect_error(PARSE("--max-size", "big"), "--max-size");
	expect_error(PARSE("--listen", "nowhere"), "--listen");
	expect_error(PARSE("--verbose=perhaps"), "--verbose");
	expect_error(PARSE("--bogus"), "--bogus");
	expect_error(PARSE("-x"), "-x");
	expect_error(PARSE("--port"), "--port");
	expect_error(PARSE("--help=yes"), "--help");
	expect_error(PARSE("stray"), "stray");
	expect_error(PARSE("--config", "/nonexistent/sc.conf"), "/nonexistent/sc.conf");
}

static void test_bad_file(void **state)
{
	const char *p;
	char want[600], longline[400];

	(void)state;
	p = write_file("bad1.conf", "name = ok\n\nport = nope\n");
	expect_error(PARSE("--config", p), ":3: port");
	expect_error(PARSE("--config", p), "nope");

	p = write_file("bad2.conf", "[s]\nunknown-key = 1\n");
	snprintf(want, sizeof(want), "%s:2: unknown option \"unknown-key\"", p);
	expect_error(PARSE("--config", p), want);

	p = write_file("bad3.conf", "name = a\nthis line has no equals sign\n");
	snprintf(want, sizeof(want), "%s:2:", p);
	expect_error(PARSE("--config", p), want);

	/* A line longer than the parser takes is an error, not a truncated value. */
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	memcpy(longline, "name = ", 7);
	p = write_file("bad4.conf", longline);
	expect_error(PARSE("--config", p), "too long");
}

static void test_help_and_version(void **state)
{
	char out[4096];
	FILE *f;
	size_t n;
	int fd, saved;
	const char *path;

	(void)state;
	sc_strlist_add(&o_push, "rtmp://default/live/x");
	path = write_file("help.txt", "");
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	assert_int_equal(PARSE("--port", "1", "--help"), 1);
	assert_int_equal(PARSE("-h"), 1);
	assert_int_equal(PARSE("--version"), 1);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);

	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	fclose(f);
	out[n] = '\0';
	assert_non_null(strstr(out, "Usage: stagecast-test"));
	assert_non_null(strstr(out, "A test program."));
	assert_non_null(strstr(out, "-l, --listen ADDR:PORT"));
	assert_non_null(strstr(out, "RTMP listen address (default: 0.0.0.0:1935)"));
	assert_non_null(strstr(out, "HTTP port (default: 8080)"));
	assert_non_null(strstr(out, "log more (default: no)"));
	assert_non_null(strstr(out, "idle timeout (default: 5s)"));
	assert_non_null(strstr(out, "largest segment (default: 8M)"));
	assert_non_null(strstr(out, "--log-level LEVEL"));
	assert_non_null(strstr(out, "log detail (default: info)"));
	assert_non_null(strstr(out, "(default: rtmp://default/live/x)"));
	assert_non_null(strstr(out, "--config FILE"));
	assert_non_null(strstr(out, "Exit status: 0 on success."));
	assert_non_null(strstr(out, "stagecast-test 0."));
	/* --help is handled before any value is applied. */
	assert_int_equal(o_port, 8080);
}

static void test_log_level(void **state)
{
	char good[512], bad[512], want[600];

	(void)state;
	/* write_file returns one static buffer: keep copies. */
	snprintf(good, sizeof(good), "%s", write_file("level.conf", "log_level = warn\n"));
	snprintf(bad, sizeof(bad), "%s",
		 write_file("badlevel.conf", "name = x\nlog-level = loud\n"));
	assert_int_equal(PARSE("--log-level", "debug"), 0);
	assert_int_equal(o_level, SC_LOG_DEBUG);
	assert_int_equal(PARSE("--log-level=ERROR"), 0);
	assert_int_equal(o_level, SC_LOG_ERROR);
	assert_int_equal(PARSE("--config", good), 0);
	assert_int_equal(o_level, SC_LOG_WARN);
	/* The flag wins over the file. */
	assert_int_equal(PARSE("--config", good, "--log-level", "info"), 0);
	assert_int_equal(o_level, SC_LOG_INFO);

	o_level = SC_LOG_DEBUG;
	assert_int_equal(PARSE("--log-level", "bogus"), -EINVAL);
	assert_string_equal(err, "--log-level: invalid value \"bogus\": must be error, warn, "
				 "info or debug");
	assert_int_equal(o_level, SC_LOG_DEBUG); /* untouched on error */
	expect_error(PARSE("--log-level", ""), "--log-level");
	expect_error(PARSE("--log-level"), "--log-level: a value is required");
	snprintf(want, sizeof(want),
		 "%s:2: log-level: invalid value \"loud\": must be error, warn,", bad);
	expect_error(PARSE("--config", bad), want);
}

static void test_strlist(void **state)
{
	sc_strlist l = {0};

	(void)state;
	sc_strlist_add(&l, "a");
	sc_strlist_add(&l, "b");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "a");
	assert_null(l.v[2]);
	sc_strlist_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	sc_strlist_clear(&l);
	sc_strlist_clear(NULL);
}

static void cleanup_tmpdir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flag_given_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_override_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help_and_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_level, setup, teardown),
		cmocka_unit_test(test_strlist),
	};
	int r;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	r = cmocka_run_group_tests(tests, NULL, NULL);
	cleanup_tmpdir();
	return r;
}
