/* SPDX-License-Identifier: ISC */
/* Unit tests of the cron_restart expression parser and next-fire search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common.h"
#include "cron.h"

/* Seconds since the epoch of a UTC date (the tests run with TZ=UTC0). */
static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static time_t
next_of(const char *expr, time_t after)
{
	struct cron c;
	char *cause = NULL;

	if (cron_parse(expr, &c, &cause) != 0) {
		print_error("%s: %s\n", expr, cause);
		free(cause);
		fail();
	}
	return cron_next(&c, after);
}

static void
test_every_minute(void **state)
{
	(void)state;
	assert_int_equal(next_of("* * * * *", utc(2026, 1, 1, 10, 0, 0)),
	    utc(2026, 1, 1, 10, 1, 0));
	assert_int_equal(next_of("* * * * *", utc(2026, 1, 1, 10, 0, 59)),
	    utc(2026, 1, 1, 10, 1, 0));
	/* year rollover */
	assert_int_equal(next_of("* * * * *", utc(2026, 12, 31, 23, 59, 30)),
	    utc(2027, 1, 1, 0, 0, 0));
}

static void
test_fields(void **state)
{
	(void)state;
	assert_int_equal(next_of("30 4 * * *", utc(2026, 3, 10, 5, 0, 0)),
	    utc(2026, 3, 11, 4, 30, 0));
	assert_int_equal(next_of("*/15 * * * *", utc(2026, 3, 10, 5, 16, 0)),
	    utc(2026, 3, 10, 5, 30, 0));
	assert_int_equal(next_of("0 9-17/4 * * *", utc(2026, 3, 10, 10, 0, 0)),
	    utc(2026, 3, 10, 13, 0, 0));
	assert_int_equal(next_of("0 0 1 jan,jul *", utc(2026, 2, 1, 0, 0, 0)),
	    utc(2026, 7, 1, 0, 0, 0));
	assert_int_equal(next_of("5/20 * * * *", utc(2026, 3, 10, 5, 26, 0)),
	    utc(2026, 3, 10, 5, 45, 0));
	assert_int_equal(next_of("0 0 29 2 *", utc(2026, 3, 1, 0, 0, 0)),
	    utc(2028, 2, 29, 0, 0, 0));
	assert_int_equal(next_of("@hourly", utc(2026, 3, 10, 5, 0, 0)),
	    utc(2026, 3, 10, 6, 0, 0));
	assert_int_equal(next_of("@daily", utc(2026, 3, 10, 5, 0, 0)),
	    utc(2026, 3, 11, 0, 0, 0));
}

static void
test_weekdays(void **state)
{
	(void)state;
	/* 2026-03-10 is a Tuesday */
	assert_int_equal(next_of("0 0 * * sun", utc(2026, 3, 10, 0, 0, 0)),
	    utc(2026, 3, 15, 0, 0, 0));
	assert_int_equal(next_of("0 0 * * 7", utc(2026, 3, 10, 0, 0, 0)),
	    utc(2026, 3, 15, 0, 0, 0));
	assert_int_equal(next_of("0 0 * * mon-fri", utc(2026, 3, 13, 1, 0, 0)),
	    utc(2026, 3, 16, 0, 0, 0));
	/* both day fields restricted: either matches */
	assert_int_equal(next_of("0 0 20 * mon", utc(2026, 3, 10, 1, 0, 0)),
	    utc(2026, 3, 16, 0, 0, 0));
	assert_int_equal(next_of("0 0 12 * mon", utc(2026, 3, 10, 1, 0, 0)),
	    utc(2026, 3, 12, 0, 0, 0));
}

static void
test_seconds(void **state)
{
	(void)state;
	assert_int_equal(next_of("*/2 * * * * *", utc(2026, 3, 10, 5, 0, 0)),
	    utc(2026, 3, 10, 5, 0, 2));
	assert_int_equal(next_of("10 * * * * *", utc(2026, 3, 10, 5, 0, 10)),
	    utc(2026, 3, 10, 5, 1, 10));
}

static void
test_never(void **state)
{
	(void)state;
	assert_int_equal(next_of("0 0 30 2 *", utc(2026, 1, 1, 0, 0, 0)), -1);
}

static void
test_errors(void **state)
{
	static const char *bad[] = { "", "* * * *", "* * * * * * *",
	    "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
	    "* * * * 8", "*/0 * * * *", "5-1 * * * *", "a * * * *",
	    "1,,2 * * * *", "* * * foo *", "1- * * * *", "*/x * * * *",
	    "@never" };
	struct cron c;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (cron_parse(bad[i], &c, &cause) != -1) {
			print_error("accepted '%s'\n", bad[i]);
			fail();
		}
		assert_non_null(cause);
		free(cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_minute),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_errors),
	};

	setenv("TZ", "UTC0", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
