/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of subq.c: a subscriber's queue never holds more than its
 * limit, counts what it drops, and tells the reader with a "missed" event
 * before the next line it gets, or as soon as it has drained.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logs.h"

static void
test_order_and_limit(void **state)
{
	struct subq q;
	struct subq_msg *m;
	char line[32];
	int i, queued = 0, dropped = 0;

	(void)state;
	subq_init(&q, 100);
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof line, "line %04d\n", i); /* 10 bytes */
		if (subq_push(&q, line, 10) == 0)
			queued++;
		else
			dropped++;
		assert_true(q.bytes <= q.limit);
	}
	assert_int_equal(queued, 10);
	assert_int_equal(dropped, 10);
	assert_int_equal(q.missed, 10);
	for (i = 0; i < 10; i++) {
		m = subq_pop(&q);
		assert_non_null(m);
		snprintf(line, sizeof line, "line %04d\n", i);
		assert_int_equal(m->len, 10);
		assert_memory_equal(m->data, line, 10);
		free(m);
	}
	/* drained: the notice comes next */
	m = subq_pop(&q);
	assert_non_null(m);
	assert_memory_equal(m->data, "{\"event\":\"missed\",\"count\":10}\n",
	    m->len);
	free(m);
	assert_null(subq_pop(&q));
	assert_true(subq_empty(&q));
	assert_int_equal(q.missed_total, 10);
	subq_free(&q);
}

static void
test_notice_before_next_line(void **state)
{
	const char big[] = "0123456789012345678901234567890123456789\n";
	struct subq q;
	struct subq_msg *m;

	(void)state;
	subq_init(&q, 80);
	assert_int_equal(subq_push(&q, big, 41), 0);
	assert_int_equal(subq_push(&q, big, 41), -1);
	assert_int_equal(subq_push(&q, big, 41), -1);
	/* the notice (29 bytes) and the line must both fit */
	assert_int_equal(subq_push(&q, "x\n", 2), 0);
	assert_true(q.bytes <= q.limit);
	m = subq_pop(&q);
	assert_memory_equal(m->data, big, 41);
	free(m);
	m = subq_pop(&q);
	assert_non_null(m);
	assert_memory_equal(m->data, "{\"event\":\"missed\",\"count\":2}\n",
	    m->len);
	free(m);
	m = subq_pop(&q);
	assert_memory_equal(m->data, "x\n", 2);
	free(m);
	assert_null(subq_pop(&q));
	subq_free(&q);
}

static void
test_free_nonempty(void **state)
{
	struct subq q;

	(void)state;
	subq_init(&q, 0);
	assert_int_equal(q.limit, SUBQ_DEFAULT_LIMIT);
	assert_int_equal(subq_push(&q, "a\n", 2), 0);
	assert_int_equal(subq_push(&q, "b\n", 2), 0);
	subq_free(&q);
	assert_true(subq_empty(&q));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_limit),
		cmocka_unit_test(test_notice_before_next_line),
		cmocka_unit_test(test_free_nonempty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
