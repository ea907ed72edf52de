/* SPDX-License-Identifier: ISC */
/*
 * Tests of supervisor/notify.c: parsing of sd_notify datagrams, and the
 * receiver fed by a real sd_notify() caller in a child process, which is
 * told apart by its pid (SCM_CREDENTIALS), over a path and an abstract name.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-daemon.h>

#include "common.h"
#include "cluster.h"

static void
test_parse(void **state)
{
	static const char msg[] = "READY=1\nSTATUS=serving 3 clients\n"
	    "WATCHDOG=1\nMAINPID=4242\nBOGUS\nX=Y\nCORRAL_LISTEN=1";
	static const char msg2[] = "STOPPING=1\nREADY=0\nMAINPID=x\n"
	    "STATUS=a\nSTATUS=b";
	struct notify_msg m;

	(void)state;
	notify_parse(msg, sizeof msg - 1, &m);
	assert_int_equal(m.ready, 1);
	assert_int_equal(m.watchdog, 1);
	assert_int_equal(m.listen, 1);
	assert_int_equal(m.stopping, 0);
	assert_int_equal(m.mainpid, 4242);
	assert_string_equal(m.status, "serving 3 clients");
	notify_msg_clear(&m);

	notify_parse(msg2, strlen(msg2), &m);
	assert_int_equal(m.stopping, 1);
	assert_int_equal(m.ready, 0);
	assert_int_equal(m.mainpid, 0);
	assert_string_equal(m.status, "b");
	notify_msg_clear(&m);

	/* Not NUL-terminated, length honoured: "READY=1" cut to "READY=". */
	notify_parse("READY=1", 6, &m);
	assert_int_equal(m.ready, 0);
	notify_msg_clear(&m);
}

struct test_got {
	struct notify n;
	pid_t pid;
	int ready;
	char *status;
	int count;
};

static void
test_cb(void *arg, pid_t pid, const struct notify_msg *m)
{
	struct test_got *g = arg;

	g->count++;
	g->pid = pid;
	g->ready = m->ready;
	free(g->status);
	g->status = m->status != NULL ? xstrdup(m->status) : NULL;
}

static void
test_closed(struct notify *n)
{
	(void)n;
}

static void
test_roundtrip(const char *path)
{
	struct test_got g;
	uv_loop_t loop;
	pid_t child;
	int status, i;

	memset(&g, 0, sizeof g);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(notify_open(&g.n, &loop, path, -1, test_cb, &g, NULL), 0);
	child = fork();
	assert_true(child != -1);
	if (child == 0) {
		setenv("NOTIFY_SOCKET", notify_path(&g.n), 1);
		_exit(sd_notify(0, "READY=1\nSTATUS=up") > 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 1000 && g.count == 0; i++)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(g.count, 1);
	assert_int_equal(g.pid, child);
	assert_int_equal(g.ready, 1);
	assert_string_equal(g.status, "up");
	free(g.status);
	notify_close(&g.n, test_closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	if (path[0] == '/' && strlen(path) < 100)
		assert_int_equal(access(path, F_OK), -1);
}

static void
test_receive_path(void **state)
{
	char path[64];

	(void)state;
	snprintf(path, sizeof path, "/tmp/corral-test-notify-%ld.sock",
	    (long)getpid());
	test_roundtrip(path);
}

static void
test_receive_abstract(void **state)
{
	char path[200];

	(void)state;
	memset(path, 'x', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	test_roundtrip(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_receive_path),
		cmocka_unit_test(test_receive_abstract),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
