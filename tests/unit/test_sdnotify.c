/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of corrald's sd_notify messages, watchdog pings and socket
 * activation, against a test NOTIFY_SOCKET. Without libsystemd the
 * functions are no-ops, which is checked too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "corrald.h"

static char dir[] = "/tmp/corral-test-sdnotify-XXXXXX";
static char sockpath[200];
static int sock = -1;

static int
setup(void **state)
{
	struct sockaddr_un sun;
	struct timeval tv = { 5, 0 };

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sockpath, sizeof sockpath, "%s/notify", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, sockpath);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock == -1 || bind(sock, (struct sockaddr *)&sun, sizeof sun) ==
	    -1)
		return -1;
	setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setenv("NOTIFY_SOCKET", sockpath, 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(sock);
	unlink(sockpath);
	rmdir(dir);
	return 0;
}

#ifdef HAVE_LIBSYSTEMD
static void
expect(const char *msg)
{
	char buf[256];
	ssize_t n = recv(sock, buf, sizeof buf - 1, 0);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, msg);
}

static void
test_messages(void **state)
{
	(void)state;
	sdnotify_ready();
	expect("READY=1");
	sdnotify_status("%d online, %d errored", 3, 1);
	expect("STATUS=3 online, 1 errored");
	sdnotify_stopping();
	expect("STOPPING=1");
}

static void
stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void
test_watchdog(void **state)
{
	uv_loop_t loop;
	uv_timer_t t;
	char pid[32];

	(void)state;
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("WATCHDOG_USEC", "40000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(sdnotify_init(&loop, NULL), 0);
	/* the first ping is immediate, the next after 20 ms */
	assert_int_equal(uv_timer_init(&loop, &t), 0);
	assert_int_equal(uv_timer_start(&t, stop_loop, 50, 0), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	expect("WATCHDOG=1");
	expect("WATCHDOG=1");
	sdnotify_close();
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static void
test_socket_activation(void **state)
{
	struct sockaddr_un sun;
	char path[200], pid[32];
	int fd;

	(void)state;
	snprintf(path, sizeof path, "%s/corral.sock", dir);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(dup2(fd, 3), 3);
	if (fd != 3)
		close(fd);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	/* a socket bound elsewhere is not taken */
	assert_int_equal(sdnotify_listen_fd("/nonexistent/corral.sock"), -1);
	assert_null(getenv("LISTEN_FDS"));
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	assert_int_equal(sdnotify_listen_fd(path), 3);
	assert_null(getenv("LISTEN_PID"));
	/* nothing passed */
	assert_int_equal(sdnotify_listen_fd(path), -1);
	close(3);
	unlink(path);
}
#else
static void
test_noop(void **state)
{
	char buf[16];

	(void)state;
	sdnotify_ready();
	sdnotify_status("x");
	assert_int_equal(recv(sock, buf, sizeof buf, MSG_DONTWAIT), -1);
	assert_int_equal(sdnotify_listen_fd("/x"), -1);
}
#endif

static void
test_private_env(void **state)
{
	(void)state;
	assert_true(sdnotify_private_env("NOTIFY_SOCKET", 13));
	assert_true(sdnotify_private_env("LISTEN_FDS=3", 10));
	assert_false(sdnotify_private_env("LISTEN_FD", 9));
	assert_false(sdnotify_private_env("PATH", 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef HAVE_LIBSYSTEMD
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_socket_activation),
#else
		cmocka_unit_test(test_noop),
#endif
		cmocka_unit_test(test_private_env),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
