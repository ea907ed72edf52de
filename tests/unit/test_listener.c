/* SPDX-License-Identifier: ISC */
/*
 * Tests of supervisor/listener.c: parsing of listen specs, binding (dual
 * stack for a bare port, the error for a port in use, stale unix sockets)
 * and the socket-activation environment.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "cluster.h"

static void
test_parse_ok(void **state)
{
	struct listener l;
	char buf[128];
	static const struct {
		const char *spec, *formatted, *name;
		int kind, port;
	} cases[] = {
		{ "3000", "[::]:3000", "app", LISTENER_TCP, 3000 },
		{ "*:80", "[::]:80", "app", LISTENER_TCP, 80 },
		{ "127.0.0.1:8080", "127.0.0.1:8080", "app", LISTENER_TCP, 8080 },
		{ "[::1]:9000", "[::1]:9000", "app", LISTENER_TCP, 9000 },
		{ "[::]:65535", "[::]:65535", "app", LISTENER_TCP, 65535 },
		{ "web=0.0.0.0:1", "0.0.0.0:1", "web", LISTENER_TCP, 1 },
		{ "unix:/run/api.sock", "unix:/run/api.sock", "app",
		    LISTENER_UNIX, 0 },
		{ "s.1=unix:/x", "unix:/x", "s.1", LISTENER_UNIX, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(listener_parse(cases[i].spec, "app", &l, NULL),
		    0);
		listener_format(&l, buf, sizeof buf);
		assert_string_equal(buf, cases[i].formatted);
		assert_string_equal(l.name, cases[i].name);
		assert_string_equal(l.spec, cases[i].spec);
		assert_int_equal(l.kind, cases[i].kind);
		assert_int_equal(l.port, cases[i].port);
		assert_int_equal(l.fd, -1);
		listener_clear(&l);
	}
}

static void
test_parse_bad(void **state)
{
	static const char *bad[] = {
		"", "0", "65536", "-1", "abc", "3000x", "::1:80", "[::1]80",
		"[zz]:80", "1.2.3:80", ":80", "localhost:80", "unix:rel.sock",
		"a b=3000", "=3000", "a:b=3000", "127.0.0.1:",
	};
	struct listener l;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (listener_parse(bad[i], "app", &l, &cause) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "invalid listen address"));
		free(cause);
	}
}

/* A port nobody listens on right now (the kernel's choice). */
static int
test_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int s, port;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(s);
	return port;
}

static void
test_open_dual_stack_and_in_use(void **state)
{
	struct listener a, b;
	struct sockaddr_in sin;
	char spec[32], *cause = NULL;
	int c, port;

	(void)state;
	port = test_free_port();
	snprintf(spec, sizeof spec, "%d", port);
	assert_int_equal(listener_parse(spec, "app", &a, NULL), 0);
	assert_int_equal(listener_open(&a, NULL), 0);
	assert_true(a.fd >= 0);

	/* IPv4 clients reach the [::] socket. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof sin), 0);
	close(c);

	snprintf(spec, sizeof spec, "127.0.0.1:%d", port);
	assert_int_equal(listener_parse(spec, "app", &b, NULL), 0);
	assert_int_equal(listener_open(&b, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "address already in use"));
	assert_int_equal(b.fd, -1);
	free(cause);
	listener_clear(&b);
	listener_clear(&a);
}

static void
test_open_unix_stale(void **state)
{
	struct listener l, m;
	struct sockaddr_un sun;
	char spec[128], *cause = NULL;
	int s;

	(void)state;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path,
	    "/tmp/corral-test-listener-%ld.sock", (long)getpid());
	unlink(sun.sun_path);
	/* A stale socket file: bound, then closed. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof sun), 0);
	close(s);
	snprintf(spec, sizeof spec, "unix:%s", sun.sun_path);
	assert_int_equal(listener_parse(spec, "app", &l, NULL), 0);
	assert_int_equal(listener_open(&l, &cause), 0);

	/* A live one is refused. */
	assert_int_equal(listener_parse(spec, "app", &m, NULL), 0);
	assert_int_equal(listener_open(&m, &cause), -1);
	assert_non_null(strstr(cause, "address already in use"));
	free(cause);
	listener_clear(&m);
	assert_int_equal(access(sun.sun_path, F_OK), 0);

	listener_clear(&l);
	assert_int_equal(access(sun.sun_path, F_OK), -1);
}

static void
test_listeners_all_or_none(void **state)
{
	struct listener *v;
	const char *specs[2];
	char a[32], b[32], *cause = NULL;
	int port = test_free_port();

	(void)state;
	snprintf(a, sizeof a, "127.0.0.1:%d", port);
	snprintf(b, sizeof b, "127.0.0.1:%d", port);
	specs[0] = a;
	specs[1] = b;
	assert_int_equal(listeners_open(specs, 2, "app", &v, &cause), -1);
	assert_non_null(strstr(cause, "given twice"));
	assert_null(v);
	free(cause);
	cause = NULL;

	snprintf(b, sizeof b, "x=unix:/nonexistent-dir/%d.sock", port);
	assert_int_equal(listeners_open(specs, 2, "app", &v, &cause), -1);
	assert_non_null(cause);
	free(cause);
	/* The first socket was closed again: the port can be taken. */
	assert_int_equal(listeners_open(specs, 1, "app", &v, NULL), 0);
	listeners_free(v, 1);
}

static void
test_env(void **state)
{
	struct listener *v;
	const char *specs[2];
	char a[32];
	json_t *env;
	int port = test_free_port();

	(void)state;
	snprintf(a, sizeof a, "127.0.0.1:%d", port);
	specs[0] = "ctl=unix:/tmp/corral-test-env.sock";
	specs[1] = a;
	unlink("/tmp/corral-test-env.sock");
	assert_int_equal(listeners_open(specs, 2, "api", &v, NULL), 0);
	env = json_pack("{s:s, s:s}", "LISTEN_PID", "1", "PATH", "/bin");
	listeners_env(v, 2, env);
	assert_string_equal(json_string_value(json_object_get(env,
	    "LISTEN_FDS")), "2");
	assert_string_equal(json_string_value(json_object_get(env,
	    "CORRAL_LISTEN_FDS")), "2");
	assert_string_equal(json_string_value(json_object_get(env,
	    "LISTEN_FDNAMES")), "ctl:api");
	assert_int_equal(atoi(json_string_value(json_object_get(env,
	    "PORT"))), port);
	assert_true(json_is_null(json_object_get(env, "LISTEN_PID")));
	assert_non_null(json_object_get(env, "PATH"));

	json_object_set_new(env, "LISTEN_FDS", json_string("9"));
	listeners_env(NULL, 0, env);
	assert_true(json_is_null(json_object_get(env, "LISTEN_FDS")));
	assert_true(json_is_null(json_object_get(env, "CORRAL_LISTEN_FDS")));
	json_decref(env);
	listeners_free(v, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_open_dual_stack_and_in_use),
		cmocka_unit_test(test_open_unix_stale),
		cmocka_unit_test(test_listeners_all_or_none),
		cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
