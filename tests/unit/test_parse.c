/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of common/parse.c: sizes, durations, signals, integers,
 * booleans and instance counts (4, max, -1), and the formatters ls uses.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

static uint64_t
size_ok(const char *s)
{
	uint64_t v = 0;
	char *cause = NULL;

	if (parse_size(s, &v, &cause) != 0)
		fail_msg("parse_size(%s) failed: %s", s, cause);
	assert_null(cause);
	return v;
}

static void
size_bad(const char *s)
{
	uint64_t v = 12345;
	char *cause = NULL;

	if (parse_size(s, &v, &cause) != -1)
		fail_msg("parse_size(%s) accepted", s);
	assert_non_null(cause);
	assert_true(strlen(cause) > 0);
	assert_int_equal(v, 12345);     /* untouched on error */
	free(cause);
}

static void
test_parse_size(void **state)
{
	(void)state;
	assert_int_equal(size_ok("0"), 0);
	assert_int_equal(size_ok("512"), 512);
	assert_int_equal(size_ok("512b"), 512);
	assert_int_equal(size_ok("1k"), 1024);
	assert_int_equal(size_ok("1K"), 1024);
	assert_int_equal(size_ok("2KB"), 2048);
	assert_int_equal(size_ok("3kib"), 3072);
	assert_int_equal(size_ok("512M"), 512ULL << 20);
	assert_int_equal(size_ok("512mb"), 512ULL << 20);
	assert_int_equal(size_ok("1G"), 1ULL << 30);
	assert_int_equal(size_ok("1.5G"), 3ULL << 29);
	assert_int_equal(size_ok("2T"), 2ULL << 40);
	size_bad("");
	size_bad("M");
	size_bad("-1");
	size_bad("-1M");
	size_bad("12X");
	size_bad("1 G");
	size_bad(" 1G");
	size_bad("1GG");
	size_bad("abc");
	size_bad("99999999999T");
	size_bad("1e400");
}

static uint64_t
dur_ok(const char *s)
{
	uint64_t v = 0;
	char *cause = NULL;

	if (parse_duration(s, &v, &cause) != 0)
		fail_msg("parse_duration(%s) failed: %s", s, cause);
	return v;
}

static void
dur_bad(const char *s)
{
	uint64_t v = 777;
	char *cause = NULL;

	if (parse_duration(s, &v, &cause) != -1)
		fail_msg("parse_duration(%s) accepted (%llu)", s,
		    (unsigned long long)v);
	assert_non_null(cause);
	assert_int_equal(v, 777);
	free(cause);
}

static void
test_parse_duration(void **state)
{
	(void)state;
	/* A bare number is milliseconds, as PM2's kill_timeout. */
	assert_int_equal(dur_ok("0"), 0);
	assert_int_equal(dur_ok("1500"), 1500);
	assert_int_equal(dur_ok("1500ms"), 1500);
	assert_int_equal(dur_ok("2s"), 2000);
	assert_int_equal(dur_ok("2S"), 2000);
	assert_int_equal(dur_ok("0.5s"), 500);
	assert_int_equal(dur_ok("1m"), 60000);
	assert_int_equal(dur_ok("1min"), 60000);
	assert_int_equal(dur_ok("1m30s"), 90000);
	assert_int_equal(dur_ok("1h"), 3600000);
	assert_int_equal(dur_ok("1d"), 86400000);
	assert_int_equal(dur_ok("1h1m1s1ms"), 3661001);
	dur_bad("");
	dur_bad("s");
	dur_bad("-1s");
	dur_bad("5x");
	dur_bad("1m30");        /* a unitless number after a unit */
	dur_bad("1 s");
	dur_bad("abc");
	dur_bad("1e30d");
}

static int
sig_ok(const char *s)
{
	int v = 0;
	char *cause = NULL;

	if (parse_signal(s, &v, &cause) != 0)
		fail_msg("parse_signal(%s) failed: %s", s, cause);
	return v;
}

static void
sig_bad(const char *s)
{
	int v = 99;
	char *cause = NULL;

	if (parse_signal(s, &v, &cause) != -1)
		fail_msg("parse_signal(%s) accepted (%d)", s, v);
	assert_non_null(cause);
	assert_int_equal(v, 99);
	free(cause);
}

static void
test_parse_signal(void **state)
{
	(void)state;
	assert_int_equal(sig_ok("SIGTERM"), SIGTERM);
	assert_int_equal(sig_ok("TERM"), SIGTERM);
	assert_int_equal(sig_ok("term"), SIGTERM);
	assert_int_equal(sig_ok("sigint"), SIGINT);
	assert_int_equal(sig_ok("SIGKILL"), SIGKILL);
	assert_int_equal(sig_ok("USR1"), SIGUSR1);
	assert_int_equal(sig_ok("SIGUSR2"), SIGUSR2);
	assert_int_equal(sig_ok("HUP"), SIGHUP);
	assert_int_equal(sig_ok("SIGWINCH"), SIGWINCH);
	assert_int_equal(sig_ok("15"), 15);
	assert_int_equal(sig_ok("9"), 9);
	assert_int_equal(sig_ok("64"), 64);
	sig_bad("");
	sig_bad("SIG");
	sig_bad("SIGNOPE");
	sig_bad("TERMX");
	sig_bad("0");
	sig_bad("65");
	sig_bad("-15");
	sig_bad("15x");
	sig_bad(" 15");
}

static void
test_signal_name(void **state)
{
	const char *a, *b;

	(void)state;
	assert_string_equal(signal_name(SIGTERM), "SIGTERM");
	assert_string_equal(signal_name(SIGKILL), "SIGKILL");
	assert_string_equal(signal_name(SIGUSR1), "SIGUSR1");
	/* Two results stay valid together (used in one message). */
	a = signal_name(SIGINT);
	b = signal_name(SIGHUP);
	assert_string_equal(a, "SIGINT");
	assert_string_equal(b, "SIGHUP");
	/* An unknown number still names something printable. */
	a = signal_name(60);
	assert_non_null(a);
	assert_non_null(strstr(a, "60"));
	/* Round trip over every name parse_signal knows. */
	for (int s = 1; s < 32; s++) {
		int back = -1;
		char *cause = NULL;

		if (parse_signal(signal_name(s), &back, &cause) == 0)
			assert_int_equal(back, s);
		else
			free(cause);
	}
}

static void
test_parse_int(void **state)
{
	long long v = 0;
	char *cause = NULL;

	(void)state;
	assert_int_equal(parse_int("42", 0, 100, &v, &cause), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int("-5", -10, 10, &v, &cause), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_int("0", 0, 0, &v, &cause), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_int("9223372036854775807", 0, INT64_MAX, &v,
	    &cause), 0);
	assert_true(v == INT64_MAX);

	v = 7;
	const char *bad[] = { "", "x", "4x", "1.5", " 4", "4 ", "0x10",
	    "9223372036854775808", "-9223372036854775809" };
	for (size_t i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (parse_int(bad[i], INT64_MIN, INT64_MAX, &v, &cause) != -1)
			fail_msg("parse_int(\"%s\") accepted", bad[i]);
		assert_non_null(cause);
		free(cause);
		assert_int_equal(v, 7);
	}
	cause = NULL;
	assert_int_equal(parse_int("101", 0, 100, &v, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "101"));
	free(cause);
	cause = NULL;
	assert_int_equal(parse_int("-1", 0, 100, &v, &cause), -1);
	free(cause);
	/* A NULL cause is allowed. */
	assert_int_equal(parse_int("z", 0, 1, &v, NULL), -1);
}

static int
inst_ok(const char *s, int ncpu)
{
	int v = -99;
	char *cause = NULL;

	if (parse_instances(s, ncpu, &v, &cause) != 0)
		fail_msg("parse_instances(%s, %d) failed: %s", s, ncpu, cause);
	return v;
}

static void
test_parse_instances(void **state)
{
	const char *bad[] = { "", "abc", "max1", "1.5", "2x", "--1", "MAXX",
	    "99999999999" };

	(void)state;
	assert_int_equal(inst_ok("1", 8), 1);
	assert_int_equal(inst_ok("4", 2), 4);   /* more than the CPUs: as asked */
	assert_int_equal(inst_ok("max", 8), 8);
	assert_int_equal(inst_ok("MAX", 3), 3);
	assert_int_equal(inst_ok("max", 1), 1);
	assert_int_equal(inst_ok("-1", 8), 7);
	assert_int_equal(inst_ok("-1", 2), 1);
	assert_int_equal(inst_ok("-1", 1), 1);  /* never below one */
	assert_int_equal(inst_ok("-3", 2), 1);
	assert_int_equal(inst_ok("-2", 4), 2);
	assert_int_equal(inst_ok("max", 0), 1); /* an unknown CPU count is one */
	assert_int_equal(inst_ok("0", 4), 4);   /* 0 means max, as in PM2 */
	for (size_t i = 0; i < nitems(bad); i++) {
		int v = -99;
		char *cause = NULL;

		if (parse_instances(bad[i], 4, &v, &cause) != -1)
			fail_msg("parse_instances(\"%s\") accepted (%d)", bad[i], v);
		assert_non_null(cause);
		assert_int_equal(v, -99);
		free(cause);
	}
}

static void
test_parse_bool(void **state)
{
	const char *yes[] = { "1", "true", "TRUE", "yes", "on", "True" };
	const char *no[] = { "0", "false", "FALSE", "no", "off" };
	const char *bad[] = { "", "2", "maybe", "truee", "y" };
	int v;

	(void)state;
	for (size_t i = 0; i < nitems(yes); i++) {
		v = -1;
		assert_int_equal(parse_bool(yes[i], &v, NULL), 0);
		assert_int_equal(v, 1);
	}
	for (size_t i = 0; i < nitems(no); i++) {
		v = -1;
		assert_int_equal(parse_bool(no[i], &v, NULL), 0);
		assert_int_equal(v, 0);
	}
	for (size_t i = 0; i < nitems(bad); i++) {
		char *cause = NULL;

		v = -1;
		if (parse_bool(bad[i], &v, &cause) != -1)
			fail_msg("parse_bool(\"%s\") accepted", bad[i]);
		assert_non_null(cause);
		assert_int_equal(v, -1);
		free(cause);
	}
}

/* The one rule for app names, from every source. */
static void
test_parse_app_name(void **state)
{
	static const char *good[] = { "api", "a+b", "c+d", "my.app", "w_1",
	    "x-y", "u@host", "cgroup.procs", "tasks", "0x", "A",
	    "a234567890123456789012345678901234567890123456789012345678901234" };
	static const char *bad[] = { "", ".hid", ".hid2", "-x", "12", "all",
	    "a b", "a/b", "caf\xc3\xa9", "x\xff", "a:b", "a\nb",
	    "a2345678901234567890123456789012345678901234567890123456789012345" };
	char *cause = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(good); i++)
		assert_int_equal(parse_app_name(good[i], &cause), 0);
	for (i = 0; i < nitems(bad); i++) {
		assert_int_equal(parse_app_name(bad[i], &cause), -1);
		assert_non_null(strstr(cause, "invalid name"));
		free(cause);
		cause = NULL;
	}
}

static void
test_format(void **state)
{
	char buf[32];

	(void)state;
	format_duration(0, buf, sizeof buf);
	assert_string_equal(buf, "0ms");
	format_duration(999, buf, sizeof buf);
	assert_string_equal(buf, "999ms");
	format_duration(5230, buf, sizeof buf);
	assert_string_equal(buf, "5s");
	format_duration(90000, buf, sizeof buf);
	assert_string_equal(buf, "1m");
	format_duration(3 * 3600000ULL, buf, sizeof buf);
	assert_string_equal(buf, "3h");
	format_duration(2 * 86400000ULL + 5, buf, sizeof buf);
	assert_string_equal(buf, "2d");
	format_size(512, buf, sizeof buf);
	assert_string_equal(buf, "512b");
	format_size(1536, buf, sizeof buf);
	assert_string_equal(buf, "1.5kb");
	format_size(12345678, buf, sizeof buf);
	assert_string_equal(buf, "11.8mb");
	format_size(3ULL << 30, buf, sizeof buf);
	assert_string_equal(buf, "3.0gb");
	/* A small buffer is cut, never overrun. */
	format_size(12345678, buf, 4);
	assert_int_equal(strlen(buf), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_signal),
		cmocka_unit_test(test_signal_name),
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_parse_instances),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_parse_app_name),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
