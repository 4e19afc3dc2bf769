/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char path[] = "/tmp/sc-test-log-XXXXXX";
static int saved_stderr = -1;
static char got[8192];

/* Point stderr at an empty file. */
static void capture_start(void)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static const char *capture_end(void)
{
	FILE *f;
	size_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	return got;
}

static void test_format(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	sc_log_init("relay");
	sc_log_set_level(SC_LOG_INFO);
	capture_start();
	sc_log_info("k1", "publish from %s", "10.0.0.1");
	sc_log_warn("k1", "push %s failed, retry in %ds", "rtmp://a/live/***", 4);
	sc_log_error(NULL, "cannot bind: %s", "Address in use");
	sc_log_debug("k1", "not shown at info");
	sc_log_info(NULL, "trailing newline is dropped\n");
	sc_log_info("k1", "embedded\nnewline\x1b[31m");
	assert_string_equal(capture_end(),
			    "relay[k1]: publish from 10.0.0.1\n"
			    "relay[k1]: warning: push rtmp://a/live/*** failed, retry in 4s\n"
			    "relay: error: cannot bind: Address in use\n"
			    "relay: trailing newline is dropped\n"
			    "relay[k1]: embedded newline [31m\n");
}

static void test_levels(void **state)
{
	sc_log_level l = SC_LOG_ERROR;

	(void)state;
	sc_log_init("capture");
	sc_log_set_level(SC_LOG_WARN);
	assert_int_equal(sc_log_get_level(), SC_LOG_WARN);
	capture_start();
	sc_log_info("s", "hidden");
	sc_log_warn("s", "shown");
	sc_log_set_level(SC_LOG_DEBUG);
	sc_log_debug("s", "debug %d", 1);
	assert_string_equal(capture_end(),
			    "capture[s]: warning: shown\ncapture[s]: debug: debug 1\n");

	assert_int_equal(sc_log_level_parse("debug", &l), 0);
	assert_int_equal(l, SC_LOG_DEBUG);
	assert_int_equal(sc_log_level_parse("WARN", &l), 0);
	assert_int_equal(l, SC_LOG_WARN);
	assert_int_equal(sc_log_level_parse("error", &l), 0);
	assert_int_equal(l, SC_LOG_ERROR);
	assert_int_equal(sc_log_level_parse("info", &l), 0);
	assert_int_equal(l, SC_LOG_INFO);
	assert_int_equal(sc_log_level_parse("loud", &l), -EINVAL);
	assert_int_equal(l, SC_LOG_INFO);
	sc_log_set_level(SC_LOG_INFO);
}

static void test_journal(void **state)
{
	struct stat st;
	char env[64];

	(void)state;
	assert_int_equal(stat(path, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	capture_start();
	sc_log_init("scaler");
	sc_log_set_level(SC_LOG_DEBUG);
	sc_log_error("k1", "e");
	sc_log_warn("k1", "w");
	sc_log_info(NULL, "i");
	sc_log_debug(NULL, "d");
	assert_string_equal(capture_end(),
			    "<3>scaler[k1]: e\n<4>scaler[k1]: w\n<6>scaler: i\n<7>scaler: d\n");
	unsetenv("JOURNAL_STREAM");
	sc_log_init("scaler");
	sc_log_set_level(SC_LOG_INFO);
}

static void test_truncation(void **state)
{
	char *big = malloc(10000);
	const char *out;
	size_t n;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	sc_log_init("relay");
	capture_start();
	errno = EAGAIN;
	sc_log_info("k1", "%s", big);
	assert_int_equal(errno, EAGAIN); /* errno is preserved */
	out = capture_end();
	n = strlen(out);
	assert_true(n <= 2048);
	assert_int_equal(strncmp(out, "relay[k1]: xxx", 14), 0);
	assert_string_equal(out + n - 4, "...\n");
	assert_null(strchr(out, '\n') == out + n - 1 ? NULL : "more than one line");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_truncation),
	};
	int fd, r;

	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return r;
}
