/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of logfmt.c: timestamps per line with milliseconds, the
 * instance prefix, JSON lines that parse whatever bytes the app wrote, and
 * the parsing of a timestamp back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common.h"
#include "logfmt.h"

/* 2023-11-14T22:13:20.123Z */
#define T0 1700000000123ULL

static void
test_plain_no_time(void **state)
{
	struct logfmt f;
	char out[64];
	size_t n;

	(void)state;
	logfmt_init(&f, LOGFMT_PLAIN, NULL, 1, 0);
	n = logfmt_line(&f, "api", 0, "out", T0, "hello", 5, out, sizeof out);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "hello\n", 6);
}

static void
test_plain_time_ms(void **state)
{
	struct logfmt f;
	char out[128];
	size_t n;

	(void)state;
	logfmt_init(&f, LOGFMT_PLAIN, LOGFMT_DEFAULT_DATE, 1, 0);
	n = logfmt_line(&f, "api", 0, "out", T0, "a b", 3, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "2023-11-14T22:13:20.123 a b\n");
	/* same second, from the cache, with other milliseconds */
	n = logfmt_line(&f, "api", 0, "out", T0 + 800, "c", 1, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "2023-11-14T22:13:20.923 c\n");
	/* the next second */
	n = logfmt_line(&f, "api", 0, "out", T0 + 877, "d", 1, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "2023-11-14T22:13:21.000 d\n");
}

static void
test_custom_format(void **state)
{
	struct logfmt f;
	char out[128];
	size_t n;

	(void)state;
	logfmt_init(&f, LOGFMT_PLAIN, "[%H:%M:%S,%L UTC]", 1, 1);
	n = logfmt_line(&f, "api", 3, "err", T0 + 5, "x", 1, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "[22:13:20,128 UTC] [3] x\n");
	logfmt_init(&f, LOGFMT_PLAIN, "%s", 1, 0);
	n = logfmt_line(&f, "api", 3, "err", T0, "y", 1, out, sizeof out);
	out[n] = '\0';
	assert_string_equal(out, "1700000000 y\n");
}

static void
test_truncated_output(void **state)
{
	struct logfmt f;
	char out[8];
	size_t n;

	(void)state;
	logfmt_init(&f, LOGFMT_PLAIN, NULL, 1, 1);
	memset(out, 'Z', sizeof out);
	n = logfmt_line(&f, "api", 12, "out", T0, "abcdefgh", 8, out,
	    sizeof out - 2);
	assert_int_equal(n, 5 + 8 + 1);
	assert_memory_equal(out, "[12] a", 6);
	assert_int_equal(out[6], 'Z');
	memset(out, 'Z', sizeof out);
	f.type = LOGFMT_JSON;
	f.date_format = LOGFMT_DEFAULT_DATE;
	n = logfmt_line(&f, "api", 12, "out", T0, "abcdefgh", 8, out, 4);
	assert_true(n > 60);
	assert_int_equal(out[4], 'Z');
}

static void
test_json_lines_parse(void **state)
{
	const char msg[] = "say \"hi\"\\ \t\x01 caf\xc3\xa9 \xff\xfe end";
	struct logfmt f;
	json_error_t jerr;
	json_t *j;
	char out[512];
	size_t n;

	(void)state;
	logfmt_init(&f, LOGFMT_JSON, NULL, 1, 0);
	n = logfmt_line(&f, "my\"app", 2, "err", T0, msg, sizeof msg - 1, out,
	    sizeof out);
	assert_true(n < sizeof out);
	assert_int_equal(out[n - 1], '\n');
	j = json_loadb(out, n, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "app")),
	    "my\"app");
	assert_int_equal(json_integer_value(json_object_get(j, "instance")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "stream")),
	    "err");
	assert_string_equal(json_string_value(json_object_get(j, "time")),
	    "2023-11-14T22:13:20.123");
	assert_int_equal(json_integer_value(json_object_get(j, "timestamp")),
	    (json_int_t)T0);
	/* Bytes that are not UTF-8 are escaped, never dropped. */
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "say \"hi\"\\ \t\x01 caf\xc3\xa9 \xef\xbf\xbd" "FF\xef\xbf\xbd" "FE end");
	jsonb_unescape(j);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    msg);
	json_decref(j);
}

static void
test_json_overlong_utf8(void **state)
{
	/* overlong "/", a surrogate, a truncated sequence */
	const char msg[] = "\xc0\xaf \xed\xa0\x80 \xe2\x82";
	char out[128];
	json_t *j;
	size_t n;

	(void)state;
	n = logfmt_json_escape(msg, sizeof msg - 1, out + 1, sizeof out - 2);
	out[0] = '"';
	out[n + 1] = '"';
	j = json_loadb(out, n + 2, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	assert_null(strchr(json_string_value(j), '/'));
	json_decref(j);
}

static void
test_parse_time(void **state)
{
	struct logfmt f;
	char out[128];
	uint64_t ms;
	size_t n, used;

	(void)state;
	logfmt_init(&f, LOGFMT_PLAIN, LOGFMT_DEFAULT_DATE, 0, 0);
	n = logfmt_line(&f, "api", 0, "out", T0 + 42, "line", 4, out,
	    sizeof out);
	assert_int_equal(logfmt_parse_time(LOGFMT_DEFAULT_DATE, out, 0, n,
	    &ms, &used), 0);
	assert_int_equal(ms, T0 + 42);
	assert_memory_equal(out + used, " line\n", 6);
	assert_int_equal(logfmt_parse_time(LOGFMT_DEFAULT_DATE, "hello", 0, 5,
	    &ms, &used), -1);
	assert_int_equal(logfmt_parse_time("[%H:%M:%S,%L UTC]",
	    "[22:13:20,128 UTC] x", 1, 20, &ms, &used), 0);
	assert_int_equal(ms % 86400000ULL, (T0 + 5) % 86400000ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_no_time),
		cmocka_unit_test(test_plain_time_ms),
		cmocka_unit_test(test_custom_format),
		cmocka_unit_test(test_truncated_output),
		cmocka_unit_test(test_json_lines_parse),
		cmocka_unit_test(test_json_overlong_utf8),
		cmocka_unit_test(test_parse_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
