/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of common/linebuf.c (the framing of the control protocol and of
 * log pipes) and common/proto.c (the JSON-line messages): lines split across
 * appends, lines over the maximum cut into bounded pieces, the unterminated
 * rest on flush, and the protocol's refusal of anything but a versioned
 * object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

/* Takes the next line as a fresh string, or NULL. */
static char *
next_line(struct linebuf *lb, int flush)
{
	size_t len;
	char *line = linebuf_line(lb, &len, flush), *copy;

	if (line == NULL)
		return NULL;
	copy = xstrndup(line, len);
	assert_int_equal(strlen(copy), len);
	linebuf_consume(lb, len);
	return copy;
}

static void
expect_line(struct linebuf *lb, int flush, const char *want)
{
	char *got = next_line(lb, flush);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("expected no line, got \"%s\"", got);
		return;
	}
	if (got == NULL)
		fail_msg("expected \"%s\", got no line", want);
	assert_string_equal(got, want);
	free(got);
}

static void
test_linebuf_split_appends(void **state)
{
	struct linebuf lb;
	const char *data = "first\nsecond line\n\nfourth";

	(void)state;
	linebuf_init(&lb, 0);
	expect_line(&lb, 0, NULL);
	expect_line(&lb, 1, NULL);      /* nothing buffered, even on flush */
	/* One byte at a time: lines appear only when their newline does. */
	for (size_t i = 0; i < strlen(data); i++) {
		linebuf_append(&lb, data + i, 1);
		if (data[i] == 'f' && i == 0)
			expect_line(&lb, 0, NULL);
	}
	expect_line(&lb, 0, "first");
	expect_line(&lb, 0, "second line");
	expect_line(&lb, 0, "");
	expect_line(&lb, 0, NULL);      /* "fourth" has no newline yet */
	linebuf_append(&lb, " part\n", 6);
	expect_line(&lb, 0, "fourth part");
	expect_line(&lb, 0, NULL);
	assert_int_equal(lb.len, 0);
	linebuf_free(&lb);
}

static void
test_linebuf_flush_rest(void **state)
{
	struct linebuf lb;

	(void)state;
	linebuf_init(&lb, 0);
	linebuf_append(&lb, "a\nno newline at exit", 20);
	expect_line(&lb, 0, "a");
	expect_line(&lb, 0, NULL);
	expect_line(&lb, 1, "no newline at exit");
	expect_line(&lb, 1, NULL);
	linebuf_free(&lb);
}

static void
test_linebuf_max_cuts_long_lines(void **state)
{
	struct linebuf lb;
	char big[100];
	char *piece;

	(void)state;
	memset(big, 'x', sizeof big);
	linebuf_init(&lb, 40);
	linebuf_append(&lb, big, sizeof big);
	/* Pieces of exactly max bytes; memory stays bounded by the reader. */
	piece = next_line(&lb, 0);
	assert_non_null(piece);
	assert_int_equal(strlen(piece), 40);
	free(piece);
	piece = next_line(&lb, 0);
	assert_int_equal(strlen(piece), 40);
	free(piece);
	expect_line(&lb, 0, NULL);      /* 20 left, under max, no newline */
	linebuf_append(&lb, "yy\nz\n", 5);
	piece = next_line(&lb, 0);
	assert_int_equal(strlen(piece), 22);
	assert_memory_equal(piece + 20, "yy", 2);
	free(piece);
	expect_line(&lb, 0, "z");
	/* A line of exactly max bytes loses its newline, not a byte of data. */
	linebuf_append(&lb, big, 40);
	linebuf_append(&lb, "\nnext\n", 6);
	piece = next_line(&lb, 0);
	assert_int_equal(strlen(piece), 40);
	free(piece);
	expect_line(&lb, 0, "next");
	expect_line(&lb, 1, NULL);
	linebuf_free(&lb);
}

static void
test_linebuf_big_volume(void **state)
{
	struct linebuf lb;
	char chunk[1000];
	size_t n = 0, total = 0;
	char *line;

	(void)state;
	linebuf_init(&lb, 1 << 20);
	/* 2000 lines of 99 bytes + newline, appended in 1000-byte chunks. */
	for (int i = 0; i < 200; i++) {
		for (int j = 0; j < 1000; j++)
			chunk[j] = (j % 100 == 99) ? '\n' : (char)('a' + j % 26);
		linebuf_append(&lb, chunk, sizeof chunk);
		while ((line = next_line(&lb, 0)) != NULL) {
			assert_int_equal(strlen(line), 99);
			total += strlen(line);
			n++;
			free(line);
		}
	}
	assert_int_equal(n, 2000);
	assert_int_equal(total, 2000 * 99);
	assert_int_equal(lb.len, 0);
	linebuf_free(&lb);
}

static void
test_proto_round_trip(void **state)
{
	json_t *msg, *back;
	char *line, *cause = NULL;
	size_t len;

	(void)state;
	msg = json_pack("{s:s, s:[s,s]}", "cmd", "start", "argv", "a\nb", "é");
	line = proto_encode(msg, &len);
	assert_int_equal(strlen(line), len);
	assert_int_equal(line[len - 1], '\n');
	/* One line: no raw newline inside, whatever the strings hold. */
	assert_null(memchr(line, '\n', len - 1));
	back = proto_decode(line, len - 1, &cause);
	assert_non_null(back);
	assert_null(cause);
	assert_int_equal(json_integer_value(json_object_get(back, "v")),
	    PROTO_VERSION);
	assert_true(json_equal(json_object_get(back, "argv"),
	    json_object_get(msg, "argv")));
	json_decref(back);
	json_decref(msg);
	free(line);
}

static void
test_proto_refuses(void **state)
{
	const char *bad[] = {
		"", "garbage", "{", "[1,2]", "\"s\"", "{}", "{\"cmd\":\"ping\"}",
		"{\"v\":2,\"cmd\":\"ping\"}", "{\"v\":\"1\"}", "{\"v\":1.0}",
		"{\"v\":1,\"v\":1}", "{\"v\":1} trailing",
	};

	(void)state;
	for (size_t i = 0; i < nitems(bad); i++) {
		char *cause = NULL;
		json_t *m = proto_decode(bad[i], strlen(bad[i]), &cause);

		if (m != NULL)
			fail_msg("proto_decode accepted '%s'", bad[i]);
		assert_non_null(cause);
		free(cause);
	}
}

static void
test_proto_replies(void **state)
{
	json_t *e, *ok;

	(void)state;
	e = proto_error("unknown app or id 'foo'", EXIT_FAILURE_);
	assert_true(json_is_false(json_object_get(e, "ok")));
	assert_string_equal(json_string_value(json_object_get(e, "error")),
	    "unknown app or id 'foo'");
	assert_int_equal(json_integer_value(json_object_get(e, "exit")), 1);
	json_decref(e);
	ok = proto_ok("message", json_string("pong"));
	assert_true(json_is_true(json_object_get(ok, "ok")));
	assert_string_equal(json_string_value(json_object_get(ok, "kind")),
	    "message");
	assert_string_equal(json_string_value(json_object_get(ok, "data")),
	    "pong");
	json_decref(ok);
	ok = proto_ok("list", NULL);
	assert_null(json_object_get(ok, "data"));
	json_decref(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linebuf_split_appends),
		cmocka_unit_test(test_linebuf_flush_rest),
		cmocka_unit_test(test_linebuf_max_cuts_long_lines),
		cmocka_unit_test(test_linebuf_big_volume),
		cmocka_unit_test(test_proto_round_trip),
		cmocka_unit_test(test_proto_refuses),
		cmocka_unit_test(test_proto_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
