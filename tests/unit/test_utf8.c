/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of common/utf8.c and common/jsonb.c: valid UTF-8 kept, any
 * other byte escaped as U+FFFD and two hex digits, and every string (and
 * object key) of a JSON value back as it was after escape and unescape.
 */
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
	size_t n = 12345, m;
	char *out = utf8_escape(in, len, &n), *back;
	json_t *j;

	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
	assert_int_equal(out[n], '\0');
	assert_true(utf8_clean(out, n) || memmem(out, n, R, 3) != NULL);
	assert_int_equal(utf8_clean(in, len), n == len &&
	    memcmp(in, out, n) == 0);
	/* Whatever came in, jansson now takes it ... */
	j = json_stringn(out, n);
	assert_non_null(j);
	json_decref(j);
	/* ... and it comes back as it was. */
	back = utf8_unescape(out, n, &m);
	assert_int_equal(m, len);
	assert_memory_equal(back, in, len);
	free(back);
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
test_utf8_invalid_escaped(void **state)
{
	(void)state;
	CHECK("bad \xff\xfe bytes", "bad " R "FF" R "FE bytes");
	CHECK("\x80", R "80");                  /* lone continuation */
	CHECK("\xc3", R "C3");                  /* cut short at the end */
	CHECK("\xc3(", R "C3(");
	CHECK("\xc0\xaf", R "C0" R "AF");       /* overlong '/' */
	CHECK("\xe0\x80\xaf", R "E0" R "80" R "AF");
	CHECK("\xed\xa0\x80", R "ED" R "A0" R "80");    /* surrogate U+D800 */
	CHECK("\xf4\x90\x80\x80", R "F4" R "90" R "80" R "80");
	CHECK("\xe2\x82x", R "E2" R "82x");
	CHECK("latin-1 caf\xe9!", "latin-1 caf" R "E9!");
}

/* A U+FFFD of the input is escaped too: nothing is ambiguous. */
static void
test_utf8_replacement_char_escaped(void **state)
{
	(void)state;
	CHECK(R, R "EF" R "BF" R "BD");
	CHECK(R "E9", R "EF" R "BF" R "BDE9");
	CHECK("x" R "zz", "x" R "EF" R "BF" R "BDzz");
}

/* Only escapes of bytes 0x80 to 0xff are undone: never a NUL or ASCII. */
static void
test_utf8_unescape_strict(void **state)
{
	static const char *keep[] = { R "00", R "41", R "7F", R "e9", R "E",
	    R "G0", R };
	size_t i, n;
	char *out;

	(void)state;
	for (i = 0; i < nitems(keep); i++) {
		assert_false(utf8_has_escape(keep[i], strlen(keep[i])));
		out = utf8_unescape(keep[i], strlen(keep[i]), &n);
		assert_string_equal(out, keep[i]);
		free(out);
	}
	assert_true(utf8_has_escape("a" R "80", 6));
}

static void
test_utf8_big(void **state)
{
	size_t len = 1 << 20, n;
	char *in = xmalloc(len), *out;

	(void)state;
	memset(in, 0xff, len);
	out = utf8_escape(in, len, &n);
	assert_int_equal(n, 5 * len);
	free(out);
	free(in);
}

/* Strings and keys, nested; the input value is never changed. */
static void
test_jsonb_round_trip(void **state)
{
	json_t *v, *e, *copy;
	char *text;

	(void)state;
	v = json_pack("{s:[o, s, i], s:{s:o}}", "args", json_str("a\xff"),
	    "ok", 1, "env", "K", json_str("caf\xe9"));
	json_object_set_new_nocheck(v, "k\xfe", json_str("v\x80"));
	copy = json_deep_copy(v);
	text = jsonb_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(text);
	assert_true(json_equal(v, copy));       /* not changed */
	e = json_loads(text, 0, NULL);
	assert_non_null(e);
	assert_false(json_equal(e, v));
	jsonb_unescape(e);
	assert_true(json_equal(e, v));
	assert_string_equal(json_string_value(json_object_get(e, "k\xfe")),
	    "v\x80");
	free(text);
	json_decref(e);
	json_decref(copy);
	json_decref(v);
}

/* A clean value is shared, not copied. */
static void
test_jsonb_clean_shared(void **state)
{
	json_t *v = json_pack("{s:[s, s], s:i}", "a", "x", "y", "n", 1), *e;

	(void)state;
	e = jsonb_escape(v);
	assert_ptr_equal(e, v);
	json_decref(e);
	json_decref(v);
}

/* Any message can be encoded: bad bytes, or no message at all. */
static void
test_proto_never_fails(void **state)
{
	char *line, *cause = NULL;
	json_t *m, *err = proto_error("unknown option '-\xe9'", 100);
	size_t len;

	(void)state;
	line = proto_encode(err, &len);
	json_decref(err);
	assert_int_equal(line[len - 1], '\n');
	m = proto_decode(line, len - 1, &cause);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "error")),
	    "unknown option '-\xe9'");
	json_decref(m);
	free(line);
	line = proto_encode(NULL, &len);
	m = proto_decode(line, len - 1, &cause);
	assert_non_null(m);
	assert_true(json_is_false(json_object_get(m, "ok")));
	json_decref(m);
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_kept),
		cmocka_unit_test(test_utf8_invalid_escaped),
		cmocka_unit_test(test_utf8_replacement_char_escaped),
		cmocka_unit_test(test_utf8_unescape_strict),
		cmocka_unit_test(test_utf8_big),
		cmocka_unit_test(test_jsonb_round_trip),
		cmocka_unit_test(test_jsonb_clean_shared),
		cmocka_unit_test(test_proto_never_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
