/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of file watching: a change under a watched folder calls back
 * once per burst, folders created later are watched too, ignored paths
 * are not. Waits are bounded by a 10 s deadline, never by a sleep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "corrald.h"

static char dir[] = "/tmp/corral-test-watch-XXXXXX";
static uv_loop_t loop;
static int fired;
static char last[512];

static void
on_change(void *arg, const char *path)
{
	(void)arg;
	fired++;
	snprintf(last, sizeof last, "%s", path);
	uv_stop(&loop);
}

static void
on_deadline(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void
touch(const char *rel)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	f = fopen(p, "a");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

/* Runs the loop until the callback or ms milliseconds. */
static void
run_for(uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(&loop, &t);
	uv_timer_start(&t, on_deadline, ms, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
}

static void
test_watch(void **state)
{
	struct watch *w;
	json_t *paths = json_pack("[s]", "."), *ignore = json_pack("[s]",
	    "*.tmp");
	char *cause = NULL, p[600];
	int before;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof p, "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/node_modules", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	w = watch_create(&loop, dir, paths, ignore, 50, on_change, NULL,
	    &cause);
	assert_non_null(w);
	assert_int_equal(watch_count(w), 2);    /* dir and sub */

	/* ignored: by default and by pattern; nothing may fire */
	touch("node_modules/x.js");
	touch("sub/y.tmp");
	run_for(500);
	assert_int_equal(fired, 0);

	/* a burst of changes in a sub-folder: one call */
	touch("sub/a.js");
	touch("sub/a.js");
	touch("sub/b.js");
	run_for(10000);
	assert_int_equal(fired, 1);
	assert_non_null(strstr(last, "/sub/"));

	/* a folder created later is watched */
	snprintf(p, sizeof p, "%s/new", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	run_for(10000);
	assert_int_equal(fired, 2);
	assert_int_equal(watch_count(w), 3);
	before = fired;
	touch("new/c.js");
	run_for(10000);
	assert_int_equal(fired, before + 1);
	assert_non_null(strstr(last, "/new/c.js"));

	watch_free(w);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_decref(paths);
	json_decref(ignore);
	snprintf(p, sizeof p, "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
}

static void
test_missing_path(void **state)
{
	json_t *paths = json_pack("[s]", "/nonexistent/corral/x");
	char *cause = NULL;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_null(watch_create(&loop, "/", paths, NULL, 50, on_change, NULL,
	    &cause));
	assert_non_null(strstr(cause, "/nonexistent/corral/x"));
	free(cause);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_decref(paths);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_missing_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
