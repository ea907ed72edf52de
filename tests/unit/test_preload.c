/* SPDX-License-Identifier: ISC */
/*
 * Tests of libcorral-preload.so: a child started with the library and an
 * inherited listening socket as fd 3 binds "its own" socket to the same
 * port, and the connection made to the held socket is accepted by the
 * child; CORRAL_LISTEN=1 reaches $NOTIFY_SOCKET; a bind() to another port
 * is left alone. The child is this binary run again with "child" arguments.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char test_preload_lib[PATH_MAX];
static char test_self[PATH_MAX];

/* Child: bind (family, addr, port) itself, listen, accept one, say its pid. */
static int
test_child(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;
	char buf[64];
	int s, c, one = 1, n;

	if (argc < 4)
		return 2;
	if (strcmp(argv[2], "inherit") == 0) {
		/* Uses fd 3 as given, like an sd_listen_fds() app. */
		printf("listening\n");
		fflush(stdout);
		c = accept4(3, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1)
			return 8;
		n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
		if (write(c, buf, (size_t)n) != n)
			return 9;
		close(c);
		return 0;
	}
	memset(&ss, 0, sizeof ss);
	if (strcmp(argv[2], "unix") == 0) {
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof sun->sun_path, "%s", argv[3]);
		len = sizeof *sun;
	} else if (strchr(argv[2], ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, argv[2], &sin6->sin6_addr);
		sin6->sin6_port = htons((uint16_t)atoi(argv[3]));
		len = sizeof *sin6;
	} else {
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, argv[2], &sin->sin_addr);
		sin->sin_port = htons((uint16_t)atoi(argv[3]));
		len = sizeof *sin;
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s == -1)
		return 3;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, len) == -1) {
		printf("bind: %s\n", strerror(errno));
		return 4;
	}
	if (!(fcntl(s, F_GETFL) & O_NONBLOCK) || !(fcntl(s, F_GETFD) & FD_CLOEXEC))
		return 5;
	if (listen(s, 5) == -1)
		return 6;
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		if (poll(&pfd, 1, 10000) != 1)
			return 7;
		c = accept(s, NULL, NULL);
		if (c != -1)
			break;
		if (errno != EAGAIN)
			return 8;
	}
	n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (write(c, buf, (size_t)n) != n)
		return 9;
	close(c);
	return 0;
}

/* Runs the child with fd (if >= 0) as fd 3; returns its pid, stdout in *out. */
static pid_t
test_spawn(int held, const char *notify, int *out, const char *a1,
    const char *a2)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		if (held >= 0) {
			if (held != 3)
				dup2(held, 3);
			setenv("LISTEN_FDS", "1", 1);
		} else
			unsetenv("LISTEN_FDS");
		unsetenv("CORRAL_LISTEN_FDS");
		if (notify != NULL)
			setenv("NOTIFY_SOCKET", notify, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		setenv("LD_PRELOAD", test_preload_lib, 1);
		/* A sanitizer build of this test runs as the child too. */
		setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
		execl(test_self, test_self, "child", a1, a2, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

static void
test_expect_line(int fd, const char *want)
{
	char buf[128];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof buf - 1) {
		n = read(fd, buf + len, 1);
		assert_int_equal(n, 1);
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	assert_string_equal(buf, want);
}

static int
test_listen_tcp(int family, const char *addr, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int s, off = 0;

	memset(&ss, 0, sizeof ss);
	s = socket(family, SOCK_STREAM, 0);
	assert_true(s >= 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &sin6->sin6_addr);
		len = sizeof *sin6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &sin->sin_addr);
		len = sizeof *sin;
	}
	assert_int_equal(bind(s, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(s, 64), 0);
	len = sizeof ss;
	assert_int_equal(getsockname(s, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return s;
}

static pid_t
test_connect_read_pid(int family, const struct sockaddr *sa, socklen_t len)
{
	char buf[64];
	ssize_t n;
	size_t got = 0;
	int c;

	c = socket(family, SOCK_STREAM, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, sa, len), 0);
	while ((n = read(c, buf + got, sizeof buf - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(c);
	return (pid_t)atol(buf);
}

static void
test_wait_ok(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The held socket is dual-stack [::]; the child binds 0.0.0.0:port. */
static void
test_bind_shared_tcp(void **state)
{
	struct sockaddr_in sin;
	char port_s[16];
	int held, port, out;
	pid_t pid;

	(void)state;
	held = test_listen_tcp(AF_INET6, "::", &port);
	snprintf(port_s, sizeof port_s, "%d", port);
	pid = test_spawn(held, NULL, &out, "0.0.0.0", port_s);
	test_expect_line(out, "listening\n");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(test_connect_read_pid(AF_INET,
	    (struct sockaddr *)&sin, sizeof sin), pid);
	test_wait_ok(pid);
	close(out);
	close(held);
}

/* Without the held socket the same bind fails: the test can fail. */
static void
test_bind_not_held_fails(void **state)
{
	char port_s[16];
	int held, port, out, status;
	pid_t pid;

	(void)state;
	held = test_listen_tcp(AF_INET, "127.0.0.1", &port);
	snprintf(port_s, sizeof port_s, "%d", port);
	pid = test_spawn(-1, NULL, &out, "127.0.0.1", port_s);
	test_expect_line(out, "bind: Address already in use\n");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 4);
	close(out);
	close(held);
}

/* A bind to another port goes to libc: the child listens on its own port. */
static void
test_bind_other_port(void **state)
{
	struct sockaddr_in sin;
	char port_s[16];
	int held, port, other, tmp, out;
	pid_t pid;

	(void)state;
	held = test_listen_tcp(AF_INET, "127.0.0.1", &port);
	tmp = test_listen_tcp(AF_INET, "127.0.0.1", &other);
	close(tmp);
	snprintf(port_s, sizeof port_s, "%d", other);
	pid = test_spawn(held, NULL, &out, "127.0.0.1", port_s);
	test_expect_line(out, "listening\n");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)other);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(test_connect_read_pid(AF_INET,
	    (struct sockaddr *)&sin, sizeof sin), pid);
	test_wait_ok(pid);
	close(out);
	close(held);
}

static void
test_notify_listen(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char path[64], port_s[16], buf[64];
	int held, port, out, ns;
	ssize_t n;
	pid_t pid;

	(void)state;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(path, sizeof path, "/tmp/corral-test-notify-%ld.sock",
	    (long)getpid());
	unlink(path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	ns = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(ns, (struct sockaddr *)&sun, sizeof sun), 0);

	held = test_listen_tcp(AF_INET, "127.0.0.1", &port);
	snprintf(port_s, sizeof port_s, "%d", port);
	pid = test_spawn(held, path, &out, "127.0.0.1", port_s);
	test_expect_line(out, "listening\n");
	n = recv(ns, buf, sizeof buf - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "CORRAL_LISTEN=1\n");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(test_connect_read_pid(AF_INET,
	    (struct sockaddr *)&sin, sizeof sin), pid);
	test_wait_ok(pid);
	close(out);
	close(held);
	close(ns);
	unlink(path);
}

/* An app that accepts on fd 3 itself is reported on its first accept(). */
static void
test_notify_accept(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	char path[64], buf[64];
	int held, port, out, ns;
	ssize_t n;
	pid_t pid;

	(void)state;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(path, sizeof path, "/tmp/corral-test-notify2-%ld.sock",
	    (long)getpid());
	unlink(path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	ns = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(ns, (struct sockaddr *)&sun, sizeof sun), 0);
	held = test_listen_tcp(AF_INET, "127.0.0.1", &port);
	pid = test_spawn(held, path, &out, "inherit", "-");
	test_expect_line(out, "listening\n");
	n = recv(ns, buf, sizeof buf - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "CORRAL_LISTEN=1\n");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(test_connect_read_pid(AF_INET,
	    (struct sockaddr *)&sin, sizeof sin), pid);
	test_wait_ok(pid);
	close(out);
	close(held);
	close(ns);
	unlink(path);
}

static void
test_bind_shared_unix(void **state)
{
	struct sockaddr_un sun;
	char path[64];
	int held, out;
	pid_t pid;

	(void)state;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(path, sizeof path, "/tmp/corral-test-preload-%ld.sock",
	    (long)getpid());
	unlink(path);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	held = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(held, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(held, 16), 0);
	pid = test_spawn(held, NULL, &out, "unix", path);
	test_expect_line(out, "listening\n");
	assert_int_equal(test_connect_read_pid(AF_UNIX,
	    (struct sockaddr *)&sun, sizeof sun), pid);
	test_wait_ok(pid);
	close(out);
	close(held);
	unlink(path);
}

static void
test_find_library(const char *argv0)
{
	const char *env = getenv("CORRAL_PRELOAD");
	char *slash;
	ssize_t n;

	(void)argv0;
	n = readlink("/proc/self/exe", test_self, sizeof test_self - 1);
	if (n <= 0)
		exit(1);
	test_self[n] = '\0';
	if (env != NULL) {
		snprintf(test_preload_lib, sizeof test_preload_lib, "%s", env);
		return;
	}
	snprintf(test_preload_lib, sizeof test_preload_lib, "%s", test_self);
	slash = strrchr(test_preload_lib, '/');
	*slash = '\0';
	slash = strrchr(test_preload_lib, '/');
	if (slash == NULL)
		exit(1);
	snprintf(slash, sizeof test_preload_lib - (size_t)(slash -
	    test_preload_lib), "/libcorral-preload.so");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_shared_tcp),
		cmocka_unit_test(test_bind_not_held_fails),
		cmocka_unit_test(test_bind_other_port),
		cmocka_unit_test(test_notify_listen),
		cmocka_unit_test(test_notify_accept),
		cmocka_unit_test(test_bind_shared_unix),
	};

	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return test_child(argc, argv);
	test_find_library(argv[0]);
	if (access(test_preload_lib, R_OK) != 0) {
		fprintf(stderr, "%s: not found (set CORRAL_PRELOAD)\n",
		    test_preload_lib);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
