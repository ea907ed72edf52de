/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of ctl/jscan.c: it takes exactly the texts jansson takes (an
 * object or array at the top), and gives back the values proto_decode()
 * would: integers, reals, decoded strings with the bytes jsonb_escape()
 * escaped restored, members by key, elements in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corral.h"

/* Whether jscan and jansson agree on whether text is JSON. */
static void
agree(const char *text)
{
	struct jscan js;
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	int ok = jscan_parse(&js, text, strlen(text)) == 0;

	if (ok != (j != NULL))
		fail_msg("jscan %s, jansson %s: %s", ok ? "takes" : "refuses",
		    j != NULL ? "takes" : "refuses", text);
	json_decref(j);
	jscan_free(&js);
}

static void
test_jscan_takes_what_jansson_takes(void **state)
{
	static const char *const texts[] = {
		"{}", "[]", " \t\r\n{ } \n", "[1,2,3]", "[-0]", "[0.5e-3]",
		"[1E+2]", "[-1.5]", "{\"a\":{\"b\":[true,false,null]}}",
		"[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "[\"\\u00e9\\uD83D\\uDE00\"]",
		"[\"caf\xc3\xa9\"]", "[9223372036854775807]",
		"[-9223372036854775808]", "[1e-400]", "[1000000000000000000]",
		"[-999999999999999999]", "[123456789012345678.5]",
		/* refused by both */
		"", "1", "\"s\"", "true", "null", "[", "{", "[1,]", "[,1]",
		"{\"a\"}", "{\"a\":}", "{a:1}", "[01]", "[1.]", "[.5]", "[-]",
		"[1e]", "[+1]", "[tru]", "[nul]", "[\"a]", "[\"\\x\"]",
		"[\"\\u12\"]", "[\"\\u0000\"]", "[\"\\uD800\"]",
		"[\"\\uDC00\"]", "[\"\\uD800\\u0041\"]", "[\"a\tb\"]",
		"[\"\xe9\"]", "[\"\xc0\xaf\"]", "[9223372036854775808]",
		"[-9223372036854775809]", "[1e400]", "{} {}", "[] x",
		"{\"a\":1,}", "[1 2]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
		agree(texts[i]);
}

/* Long numbers: in range or not, as jansson says. */
static void
test_jscan_long_numbers(void **state)
{
	char text[700];
	size_t n;
	struct jscan js;

	(void)state;
	for (n = 1; n < 640; n += 7) {
		text[0] = '[';
		memset(text + 1, '9', n);
		strcpy(text + 1 + n, "]");
		agree(text);
		strcpy(text + 1 + n, ".5]");
		agree(text);
		strcpy(text + 1 + n, "e5]");
		agree(text);
	}
	strcpy(text, "[-9223372036854775807, 1234567890123456789]");
	assert_int_equal(jscan_parse(&js, text, strlen(text)), 0);
	assert_true(jscan_int(&js, jscan_first(&js, JSCAN_ROOT)) ==
	    -9223372036854775807LL);
	assert_true(jscan_int(&js, jscan_next(&js, JSCAN_ROOT, jscan_first(&js,
	    JSCAN_ROOT))) == 1234567890123456789LL);
	jscan_free(&js);
}

static void
test_jscan_depth(void **state)
{
	char *deep = malloc(2 * 3000 + 1);
	size_t n;

	(void)state;
	for (n = 2040; n < 2060; n++) {
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		deep[2 * n] = '\0';
		agree(deep);
	}
	free(deep);
}

static void
test_jscan_values(void **state)
{
	static const char text[] = "{\"v\":1,\"ok\":true,\"data\":[{\"id\":7,"
	    "\"name\":\"web\\u00e9\",\"cpu\":12.5,\"memory\":123456789012,"
	    "\"h\":{\"status\":\"ok\"}},{\"id\":8}],\"k\\u0065y\":\"x\"}";
	struct jscan js;
	size_t data, o;
	char *s;

	(void)state;
	assert_int_equal(jscan_parse(&js, text, sizeof text - 1), 0);
	assert_int_equal(jscan_int(&js, jscan_get(&js, JSCAN_ROOT, "v")), 1);
	assert_int_equal(jscan_type(&js, jscan_get(&js, JSCAN_ROOT, "ok")),
	    JSCAN_TRUE);
	assert_int_equal(jscan_get(&js, JSCAN_ROOT, "missing"), 0);
	data = jscan_get(&js, JSCAN_ROOT, "data");
	assert_int_equal(jscan_type(&js, data), JSCAN_ARRAY);
	o = jscan_first(&js, data);
	assert_int_equal(jscan_int(&js, jscan_get(&js, o, "id")), 7);
	assert_int_equal(jscan_int(&js, jscan_get(&js, o, "memory")),
	    123456789012LL);
	assert_true(jscan_real(&js, jscan_get(&js, o, "cpu")) == 12.5);
	/* As jansson: an integer is no real, a real no integer. */
	assert_true(jscan_real(&js, jscan_get(&js, o, "id")) == 0.0);
	assert_int_equal(jscan_int(&js, jscan_get(&js, o, "cpu")), 0);
	s = jscan_str(&js, jscan_get(&js, o, "name"));
	assert_string_equal(s, "web\xc3\xa9");
	free(s);
	s = jscan_str(&js, jscan_get(&js, jscan_get(&js, o, "h"), "status"));
	assert_string_equal(s, "ok");
	free(s);
	/* A member of no object, a string of no string: none, "". */
	assert_int_equal(jscan_get(&js, jscan_get(&js, o, "nothing"), "x"), 0);
	s = jscan_str(&js, jscan_get(&js, o, "id"));
	assert_string_equal(s, "");
	free(s);
	o = jscan_next(&js, data, o);
	assert_int_equal(jscan_int(&js, jscan_get(&js, o, "id")), 8);
	assert_int_equal(jscan_next(&js, data, o), 0);
	/* A key with an escape is found by what it means. */
	s = jscan_str(&js, jscan_get(&js, JSCAN_ROOT, "key"));
	assert_string_equal(s, "x");
	free(s);
	assert_int_equal(jscan_first(&js, jscan_get(&js, JSCAN_ROOT, "v")), 0);
	jscan_free(&js);
	assert_int_equal(jscan_parse(&js, "[]", 2), 0);
	assert_int_equal(jscan_first(&js, JSCAN_ROOT), 0);
	jscan_free(&js);
}

/* Every string proto_encode() can send comes back as proto_decode() has it. */
static void
test_jscan_strings_as_proto(void **state)
{
	static const char *const strings[] = {
		"", "plain", "quote \" backslash \\ slash /",
		"\b\f\n\r\t\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		"latin-1 caf\xe9", "\xff\xfe", "\xef\xbf\xbd" "E9 kept",
		"\xef\xbf\xbd", "mixed \xe9\xc3\xa9\xed\xa0\x80 end",
	};
	struct jscan js;
	json_t *msg, *m;
	size_t i, len;
	char *line, *s, *cause = NULL;

	(void)state;
	for (i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		msg = json_object();
		json_object_set_new(msg, "s", json_str(strings[i]));
		line = proto_encode(msg, &len);
		json_decref(msg);
		m = proto_decode(line, len - 1, &cause);
		assert_non_null(m);
		assert_int_equal(jscan_parse(&js, line, len - 1), 0);
		s = jscan_str(&js, jscan_get(&js, JSCAN_ROOT, "s"));
		assert_string_equal(s, strings[i]);
		assert_string_equal(s, json_string_value(json_object_get(m,
		    "s")));
		free(s);
		jscan_free(&js);
		json_decref(m);
		free(line);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jscan_takes_what_jansson_takes),
		cmocka_unit_test(test_jscan_long_numbers),
		cmocka_unit_test(test_jscan_depth),
		cmocka_unit_test(test_jscan_values),
		cmocka_unit_test(test_jscan_strings_as_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
