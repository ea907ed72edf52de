/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of supervisor/promtext.c, Prometheus' text format: escaping of
 * HELP text and label values, numbers written without printf, sample lines
 * with and without labels, and the buffer growing past its first size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corrald.h"

/* The text so far as a C string (the buffer is not NUL-terminated). */
static const char *
text(struct promtext *t)
{
	static char out[4096];

	assert_true(t->len < sizeof out);
	memcpy(out, t->buf, t->len);
	out[t->len] = '\0';
	return out;
}

static void
test_promtext_family_and_escapes(void **state)
{
	struct promtext t;

	(void)state;
	promtext_init(&t, 8);
	promtext_family(&t, "corral_x", "gauge", "a \\ b\nc \"q\"");
	assert_string_equal(text(&t), "# HELP corral_x a \\\\ b\\nc \"q\"\n"
	    "# TYPE corral_x gauge\n");
	t.len = 0;
	promtext_label(&t, "app", "we\"ird\\na\nme", 1);
	promtext_label(&t, "index", "3", 0);
	assert_string_equal(text(&t),
	    "app=\"we\\\"ird\\\\na\\nme\",index=\"3\"");
	promtext_free(&t);
}

static void
test_promtext_numbers(void **state)
{
	struct promtext t;

	(void)state;
	promtext_init(&t, 1);
	promtext_u64(&t, 0);
	promtext_raw(&t, " ", 1);
	promtext_u64(&t, UINT64_MAX);
	promtext_raw(&t, " ", 1);
	promtext_i64(&t, -42);
	promtext_raw(&t, " ", 1);
	promtext_i64(&t, INT64_MIN);
	promtext_raw(&t, " ", 1);
	promtext_fixed(&t, 1234567, 6);
	promtext_raw(&t, " ", 1);
	promtext_fixed(&t, 5, 3);
	promtext_raw(&t, " ", 1);
	promtext_fixed(&t, 1700000000123ULL, 3);
	promtext_raw(&t, " ", 1);
	promtext_fixed(&t, 77, 0);
	assert_string_equal(text(&t), "0 18446744073709551615 -42 "
	    "-9223372036854775808 1.234567 0.005 1700000000.123 77");
	promtext_free(&t);
}

static void
test_promtext_samples(void **state)
{
	struct promtext t;
	const char *l = "app=\"a\"";
	char *p;
	size_t len;

	(void)state;
	promtext_init(&t, 16);
	promtext_sample(&t, "m", "", 0, NULL);
	promtext_u64(&t, 1);
	promtext_end(&t);
	promtext_sample(&t, "m", l, strlen(l), NULL);
	promtext_u64(&t, 2);
	promtext_end(&t);
	promtext_sample(&t, "m", l, strlen(l), "state=\"online\"");
	promtext_u64(&t, 3);
	promtext_end(&t);
	promtext_sample(&t, "m", "", 0, "version=\"1\"");
	promtext_u64(&t, 4);
	promtext_end(&t);
	assert_string_equal(text(&t), "m 1\nm{app=\"a\"} 2\n"
	    "m{app=\"a\",state=\"online\"} 3\nm{version=\"1\"} 4\n");
	p = promtext_take(&t, &len);
	assert_int_equal(len, strlen("m 1\nm{app=\"a\"} 2\n"
	    "m{app=\"a\",state=\"online\"} 3\nm{version=\"1\"} 4\n"));
	assert_null(t.buf);
	free(p);
}

static void
test_promtext_grows(void **state)
{
	struct promtext t;
	size_t i;

	(void)state;
	promtext_init(&t, 64);
	for (i = 0; i < 100000; i++)
		promtext_raw(&t, "0123456789", 10);
	assert_int_equal(t.len, 1000000);
	assert_true(t.cap >= t.len);
	assert_memory_equal(t.buf + 999990, "0123456789", 10);
	promtext_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_promtext_family_and_escapes),
		cmocka_unit_test(test_promtext_numbers),
		cmocka_unit_test(test_promtext_samples),
		cmocka_unit_test(test_promtext_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
