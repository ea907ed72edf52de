/* SPDX-License-Identifier: ISC */
/* Unit tests of common/utf8.c: valid UTF-8 kept, anything else U+FFFD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

#define R "\xef\xbf\xbd"

static void
check(const char *in, size_t len, const char *want, size_t want_len)
{
	size_t n = 12345;
	char *out = utf8_sanitize(in, len, &n);
	json_t *j;

	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[n], '\0');
	/* Whatever came in, jansson now takes it. */
	j = json_stringn(out, n);
	assert_non_null(j);
	json_decref(j);
	free(out);
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want, sizeof(want) - 1)

static void
test_utf8_valid_kept(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("plain ascii", "plain ascii");
	CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x84", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x84");
	CHECK("a\0b", "a\0b");                          /* NUL kept */
	CHECK("\xed\x9f\xbf", "\xed\x9f\xbf");          /* U+D7FF */
	CHECK("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");  /* U+10FFFF */
}

static void
test_utf8_invalid_replaced(void **state)
{
	(void)state;
	CHECK("bad \xff\xfe bytes", "bad " R R " bytes");
	CHECK("\x80", R);                       /* lone continuation */
	CHECK("\xc3", R);                       /* cut short at the end */
	CHECK("\xc3(", R "(");
	CHECK("\xc0\xaf", R R);                 /* overlong '/' */
	CHECK("\xe0\x80\xaf", R R R);           /* overlong */
	CHECK("\xed\xa0\x80", R R R);           /* surrogate U+D800 */
	CHECK("\xf4\x90\x80\x80", R R R R);     /* above U+10FFFF */
	CHECK("\xf5\x80\x80\x80", R R R R);
	CHECK("\xe2\x82", R R);
	CHECK("\xe2\x82x", R R "x");
	CHECK("latin-1 caf\xe9!", "latin-1 caf" R "!");
}

static void
test_utf8_big(void **state)
{
	size_t len = 1 << 20, n;
	char *in = xmalloc(len), *out;

	(void)state;
	memset(in, 0xff, len);
	out = utf8_sanitize(in, len, &n);
	assert_int_equal(n, 3 * len);
	free(out);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_kept),
		cmocka_unit_test(test_utf8_invalid_replaced),
		cmocka_unit_test(test_utf8_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
