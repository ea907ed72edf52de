/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the deferred removals (cgroup-gc.c) and the kept slots
 * (cgroup-slot.c), on plain directories of a temporary folder (rmdir
 * treats them as it treats cgroups): a batch removes no more than asked
 * and nothing before it is due, an instance's directory takes its app's
 * with it once the app's is empty, a busy one waits a second, a reused
 * one is forgotten, and a slot is found by its name, once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cgroup.h"

#define NDIRS 100

static char base[] = "/tmp/cgroup-gc.XXXXXX";

static struct cgroup_root *
root_new(void)
{
	struct cgroup_root	*root = xcalloc(1, sizeof *root);

	hmap_init(&root->slots);
	TAILQ_INIT(&root->slot_list);
	return root;
}

static char *
dir_of(const char *app, int i)
{
	char	*dir;

	if (i < 0)
		xasprintf(&dir, "%s/%s.app", base, app);
	else
		xasprintf(&dir, "%s/%s.app/%d", base, app, i);
	return dir;
}

static int
exists(const char *app, int i)
{
	char	*dir = dir_of(app, i);
	int	 r = access(dir, F_OK) == 0;

	free(dir);
	return r;
}

/* Makes app.app/0..n-1 and queues them, due after delay_ms. */
static void
make_and_queue(struct cgroup_root *root, const char *app, int n,
    int delay_ms)
{
	char	*dir;
	int	 i;

	dir = dir_of(app, -1);
	assert_int_equal(mkdir(dir, 0755), 0);
	free(dir);
	for (i = 0; i < n; i++) {
		dir = dir_of(app, i);
		assert_int_equal(mkdir(dir, 0755), 0);
		cgroup_root_pending_defer(root, dir, delay_ms);
		free(dir);
	}
}

static void
test_batch_is_bounded(void **state)
{
	struct cgroup_root	*root = root_new();
	int			 i, left;
	int64_t			 next;

	(void)state;
	make_and_queue(root, "many", NDIRS, 0);
	assert_int_equal(cgroup_root_gc_batch(root, 0), 0);
	assert_int_equal(root->npending, NDIRS);
	/* At most 10, fewer if 2 ms passed first (a loaded machine). */
	next = cgroup_root_gc_batch(root, 10);
	assert_int_equal(next, 0);
	assert_true(root->npending >= NDIRS - 10 && root->npending < NDIRS);
	for (i = 0, left = 0; i < NDIRS; i++)
		left += exists("many", i);
	assert_int_equal(left, (int)root->npending);
	assert_true(exists("many", -1));
	while ((next = cgroup_root_gc_batch(root, 10)) == 0)
		;
	assert_int_equal(next, -1);
	assert_int_equal(root->npending, 0);
	assert_false(exists("many", -1));
	cgroup_root_pending_free(root);
	free(root);
}

static void
test_not_before_due_and_dropped_when_reused(void **state)
{
	struct cgroup_root	*root = root_new();
	char			*dir;
	int64_t			 next;

	(void)state;
	make_and_queue(root, "later", 2, 60000);
	next = cgroup_root_gc_batch(root, 100);
	assert_true(next > 50000 && next <= 60000);
	assert_true(exists("later", 0) && exists("later", 1));
	/* Instance 1 runs again: its removal is forgotten, 0's stays. */
	dir = dir_of("later", 1);
	cgroup_root_pending_drop(root, dir);
	free(dir);
	assert_int_equal(root->npending, 1);
	/* Shutdown does not wait for due times. */
	cgroup_root_gc_all(root, 1000);
	assert_int_equal(root->npending, 0);
	assert_false(exists("later", 0));
	assert_true(exists("later", 1));
	dir = dir_of("later", 1);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
	dir = dir_of("later", -1);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
	cgroup_root_pending_free(root);
	free(root);
}

static void
test_busy_waits_a_second(void **state)
{
	struct cgroup_root	*root = root_new();
	char			*file;
	int64_t			 next;

	(void)state;
	make_and_queue(root, "busy", 1, 0);
	xasprintf(&file, "%s/busy.app/0/held", base);
	assert_int_equal(mkdir(file, 0755), 0);
	next = cgroup_root_gc_batch(root, 10);
	assert_true(next > 900 && next <= 1000);
	assert_int_equal(root->npending, 1);
	assert_int_equal(rmdir(file), 0);
	free(file);
	cgroup_root_gc_all(root, 1000);
	assert_false(exists("busy", 0));
	assert_false(exists("busy", -1));
	cgroup_root_pending_free(root);
	free(root);
}

static void
test_slots(void **state)
{
	struct cgroup_root	*root = root_new();
	struct cgroup_slot	*slot;
	char			 rel[32];
	int			 i;

	(void)state;
	for (i = 0; i < NDIRS; i++) {
		slot = xcalloc(1, sizeof *slot);
		snprintf(rel, sizeof rel, "app.app/%d", i);
		slot->rel = xstrdup(rel);
		slot->known = 1;
		slot->applied.max_pids = (uint64_t)i;
		cgroup_slot_put(root, slot);
	}
	assert_null(cgroup_slot_take(root, "app.app/100"));
	slot = cgroup_slot_take(root, "app.app/42");
	assert_non_null(slot);
	assert_int_equal(slot->applied.max_pids, 42);
	assert_null(cgroup_slot_take(root, "app.app/42"));
	free(slot->rel);
	free(slot);
	assert_int_equal(root->slots.n, NDIRS - 1);
	cgroup_slots_free(root, 0);
	assert_int_equal(root->slots.n, 0);
	free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_is_bounded),
		cmocka_unit_test(test_not_before_due_and_dropped_when_reused),
		cmocka_unit_test(test_busy_waits_a_second),
		cmocka_unit_test(test_slots),
	};
	int	 r;

	if (mkdtemp(base) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(base);
	return r;
}
