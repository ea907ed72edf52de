/* SPDX-License-Identifier: ISC */
/*
 * Tests of keeper/table.c, the keeper's table of children: lookups by tag
 * and by pid through its chains, at the keeper's bound, with pids that
 * share a chain, a pid taken again while its exited owner waits for its
 * RELEASE, and entries freed from the middle of a chain; the held
 * descriptors by tag, a full table of them, and a tag not taken twice.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keeper.h"

struct keeper K;

static int
setup(void **state)
{
	(void)state;
	memset(&K, 0, sizeof K);
	TAILQ_INIT(&K.held);
	TAILQ_INIT(&K.children);
	return 0;
}

static struct kchild *
add(const char *tag, pid_t pid)
{
	struct kchild *c = table_child_add(tag, pid, -1, -1, 0);

	assert_non_null(c);
	return c;
}

static void
free_all(void)
{
	struct kchild *c;

	while ((c = TAILQ_FIRST(&K.children)) != NULL)
		table_child_free(c);
	assert_int_equal(K.nchildren, 0);
}

/* Every child of a full table is found by its tag and its pid. */
static void
test_full_table(void **state)
{
	struct kchild *c[KEEPER_MAX_CHILDREN];
	char tag[32];
	int i;

	(void)state;
	for (i = 0; i < KEEPER_MAX_CHILDREN; i++) {
		snprintf(tag, sizeof tag, "app-%d/0", i);
		c[i] = add(tag, 1000 + 7 * i);
	}
	for (i = 0; i < KEEPER_MAX_CHILDREN; i++) {
		snprintf(tag, sizeof tag, "app-%d/0", i);
		assert_ptr_equal(table_child_find(tag), c[i]);
		assert_ptr_equal(table_child_by_pid(1000 + 7 * i), c[i]);
	}
	assert_null(table_child_find("app-x/0"));
	assert_null(table_child_by_pid(999));
	/* every other one goes: the rest are still found, not those */
	for (i = 0; i < KEEPER_MAX_CHILDREN; i += 2)
		table_child_free(c[i]);
	for (i = 0; i < KEEPER_MAX_CHILDREN; i++) {
		snprintf(tag, sizeof tag, "app-%d/0", i);
		assert_ptr_equal(table_child_find(tag), i % 2 ? c[i] : NULL);
		assert_ptr_equal(table_child_by_pid(1000 + 7 * i),
		    i % 2 ? c[i] : NULL);
	}
	free_all();
}

/* Pids 4,096 apart share a chain: freeing its head, middle or tail. */
static void
test_shared_chain(void **state)
{
	struct kchild *c[5];
	char tag[16];
	int i, gone;

	(void)state;
	for (gone = 0; gone < 5; gone++) {
		for (i = 0; i < 5; i++) {
			snprintf(tag, sizeof tag, "s%d", i);
			c[i] = add(tag, 42 + 4096 * i);
		}
		table_child_free(c[gone]);
		for (i = 0; i < 5; i++) {
			snprintf(tag, sizeof tag, "s%d", i);
			assert_ptr_equal(table_child_by_pid(42 + 4096 * i),
			    i == gone ? NULL : c[i]);
			assert_ptr_equal(table_child_find(tag),
			    i == gone ? NULL : c[i]);
		}
		free_all();
	}
}

/*
 * An exited child keeps its entry until RELEASE; its pid, taken again by
 * a new child, finds the live one, also after the old one's release.
 */
static void
test_pid_taken_again(void **state)
{
	struct kchild *old, *new;

	(void)state;
	old = add("a/0", 300);
	assert_int_equal(table_release("a/0"), -1);
	assert_int_equal(errno, EBUSY);
	old->exited = 1;
	assert_null(table_child_by_pid(300));
	new = add("b/0", 300);
	assert_ptr_equal(table_child_by_pid(300), new);
	assert_int_equal(table_release("a/0"), 0);
	assert_null(table_child_find("a/0"));
	assert_ptr_equal(table_child_by_pid(300), new);
	assert_ptr_equal(table_child_find("b/0"), new);
	assert_int_equal(table_release("a/0"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(K.nchildren, 1);
	free_all();
}

/*
 * A full table of held descriptors (more than its chains): each found by
 * its tag, every other one released (its descriptor closed), the rest
 * still found; a tag held or spawned already is refused, so is one more.
 */
static void
test_held(void **state)
{
	char tag[32];
	int i, fd;

	(void)state;
	/*
	 * Real descriptors for the first thousand; the cap is far above the
	 * descriptor limit, so the others hold -1 (closing it does nothing).
	 */
	for (i = 0; i < KEEPER_MAX_HELD; i++) {
		snprintf(tag, sizeof tag, "ready/app-%d/0/1", i);
		fd = i < 1000 ? dup(0) : -1;
		assert_true(i >= 1000 || fd >= 0);
		assert_int_equal(table_hold(tag, fd), 0);
	}
	assert_int_equal(table_hold("one/more", 0), -1);
	assert_int_equal(errno, EMFILE);
	for (i = 0; i < KEEPER_MAX_HELD; i++) {
		snprintf(tag, sizeof tag, "ready/app-%d/0/1", i);
		assert_non_null(table_held_find(tag));
		assert_string_equal(table_held_find(tag)->tag, tag);
	}
	for (i = 0; i < KEEPER_MAX_HELD; i += 2) {
		snprintf(tag, sizeof tag, "ready/app-%d/0/1", i);
		assert_int_equal(table_release(tag), 0);
	}
	for (i = 0; i < KEEPER_MAX_HELD; i++) {
		snprintf(tag, sizeof tag, "ready/app-%d/0/1", i);
		assert_true((table_held_find(tag) != NULL) == (i % 2 == 1));
	}
	assert_int_equal(K.nheld, KEEPER_MAX_HELD / 2);
	assert_int_equal(table_hold("ready/app-1/0/1", 0), -1);
	assert_int_equal(errno, EEXIST);
	add("app-x/0/1", 400);
	assert_int_equal(table_hold("app-x/0/1", 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(table_release("ready/app-0/0/1"), -1);
	assert_int_equal(errno, ENOENT);
	while (!TAILQ_EMPTY(&K.held))
		table_held_free(TAILQ_FIRST(&K.held));
	assert_int_equal(K.nheld, 0);
	assert_null(table_held_find("ready/app-1/0/1"));
	free_all();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_full_table, setup),
		cmocka_unit_test_setup(test_shared_chain, setup),
		cmocka_unit_test_setup(test_pid_taken_again, setup),
		cmocka_unit_test_setup(test_held, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
