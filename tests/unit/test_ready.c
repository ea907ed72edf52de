/* SPDX-License-Identifier: ISC */
/*
 * Tests of supervisor/ready.c: readiness specs, and waits that end by an
 * event, a delay, a timeout (with its reason), a tcp probe and an http
 * probe against a server in the same loop, and cancellation.
 */
#include <sys/socket.h>

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
	struct ready_spec r;

	(void)state;
	assert_int_equal(ready_parse("none", &r, NULL), 0);
	assert_int_equal(r.kind, READY_NONE);
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("listen", &r, NULL), 0);
	assert_int_equal(r.kind, READY_LISTEN);
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("notify", &r, NULL), 0);
	assert_int_equal(r.kind, READY_NOTIFY);
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("delay:1.5s", &r, NULL), 0);
	assert_int_equal(r.kind, READY_DELAY);
	assert_int_equal(r.delay_ms, 1500);
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("tcp:3000", &r, NULL), 0);
	assert_int_equal(r.kind, READY_TCP);
	assert_string_equal(r.host, "127.0.0.1");
	assert_int_equal(r.port, 3000);
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("tcp:[::1]:$PORT", &r, NULL), 0);
	assert_string_equal(r.host, "::1");
	assert_string_equal(r.port_var, "PORT");
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("tcp:localhost:${MY_PORT}", &r, NULL), 0);
	assert_string_equal(r.host, "127.0.0.1");
	assert_string_equal(r.port_var, "MY_PORT");
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("http://127.0.0.1:8080/health?x=1", &r,
	    NULL), 0);
	assert_int_equal(r.kind, READY_HTTP);
	assert_int_equal(r.port, 8080);
	assert_string_equal(r.path, "/health?x=1");
	ready_spec_clear(&r);
	assert_int_equal(ready_parse("http://127.0.0.1", &r, NULL), 0);
	assert_int_equal(r.port, 80);
	assert_string_equal(r.path, "/");
	assert_string_equal(r.text, "http://127.0.0.1");
	ready_spec_clear(&r);
}

static void
test_parse_bad(void **state)
{
	static const char *bad[] = {
		"", "ready", "delay:", "delay:x", "tcp:", "tcp:0", "tcp:70000",
		"tcp:example.com:80", "tcp:$", "tcp:${X", "tcp:$A-B",
		"http://", "http://host.example/", "http://[::1/", "https://x",
		"http://127.0.0.1:x/",
	};
	struct ready_spec r;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		if (ready_parse(bad[i], &r, &cause) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(cause);
		assert_non_null(strstr(cause, "invalid readiness"));
		free(cause);
	}
}

struct test_result {
	int calls;
	int ok;
	char *reason;
};

static void
test_cb(void *arg, int ok, const char *reason)
{
	struct test_result *t = arg;

	t->calls++;
	t->ok = ok;
	t->reason = reason != NULL ? xstrdup(reason) : NULL;
}

static void
test_run(uv_loop_t *loop, struct test_result *t)
{
	int i;

	for (i = 0; i < 100000 && t->calls == 0; i++)
		uv_run(loop, UV_RUN_ONCE);
	assert_int_equal(t->calls, 1);
}

static void
test_finish_loop(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void
test_wait(const char *spec, json_t *env, uint64_t timeout, int event,
    struct test_result *t)
{
	struct ready_spec r;
	struct ready_wait *w;
	uv_loop_t loop;

	memset(t, 0, sizeof *t);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(ready_parse(spec, &r, NULL), 0);
	w = ready_start(&loop, &r, env, timeout, test_cb, t);
	assert_non_null(w);
	if (event != 0)
		ready_event(w, event);
	test_run(&loop, t);
	ready_spec_clear(&r);
	test_finish_loop(&loop);
}

static void
test_simple_waits(void **state)
{
	struct test_result t;

	(void)state;
	test_wait("none", NULL, 0, 0, &t);
	assert_int_equal(t.ok, 1);
	test_wait("delay:20ms", NULL, 60000, 0, &t);
	assert_int_equal(t.ok, 1);
	test_wait("notify", NULL, 60000, READY_EVENT_READY, &t);
	assert_int_equal(t.ok, 1);
	test_wait("listen", NULL, 60000, READY_EVENT_LISTEN, &t);
	assert_int_equal(t.ok, 1);
	test_wait("listen", NULL, 60000, READY_EVENT_READY, &t);
	assert_int_equal(t.ok, 1);

	/* A listen event does not make a notify app ready. */
	test_wait("notify", NULL, 30, READY_EVENT_LISTEN, &t);
	assert_int_equal(t.ok, 0);
	assert_string_equal(t.reason,
	    "not ready after 30ms (no READY=1 on NOTIFY_SOCKET)");
	free(t.reason);
	test_wait("listen", NULL, 30, 0, &t);
	assert_int_equal(t.ok, 0);
	assert_non_null(strstr(t.reason, "no listen() seen"));
	free(t.reason);
}

static void
test_cancel(void **state)
{
	struct test_result t;
	struct ready_spec r;
	struct ready_wait *w;
	uv_loop_t loop;

	(void)state;
	memset(&t, 0, sizeof t);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(ready_parse("tcp:1", &r, NULL), 0);
	w = ready_start(&loop, &r, NULL, 20, test_cb, &t);
	uv_run(&loop, UV_RUN_NOWAIT);
	ready_cancel(w);
	test_finish_loop(&loop);
	assert_int_equal(t.calls, 0);
	ready_spec_clear(&r);
}

/* A port with nobody on it, then a listening socket on it. */
static int
test_port(int *fd, int do_listen)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	if (do_listen)
		assert_int_equal(listen(s, 8), 0);
	*fd = s;
	return ntohs(sin.sin_port);
}

static void
test_tcp_probe(void **state)
{
	struct test_result t;
	json_t *env;
	char spec[64], port_s[16];
	int fd, port;

	(void)state;
	port = test_port(&fd, 1);
	snprintf(port_s, sizeof port_s, "%d", port);
	env = json_pack("{s:s}", "PORT", port_s);
	test_wait("tcp:127.0.0.1:$PORT", env, 60000, 0, &t);
	assert_int_equal(t.ok, 1);
	close(fd);

	/*
	 * Bound but not listening: refused until the timeout (long enough
	 * for an attempt to end on a loaded machine; one still in flight
	 * then does not hide the last attempt's reason).
	 */
	port = test_port(&fd, 0);
	snprintf(spec, sizeof spec, "tcp:%d", port);
	test_wait(spec, NULL, 1000, 0, &t);
	assert_int_equal(t.ok, 0);
	assert_non_null(strstr(t.reason, "connection refused"));
	free(t.reason);
	close(fd);
	json_decref(env);
}

/* An HTTP server in the loop: 503 to the first request, then 200. */
struct test_http {
	uv_tcp_t server;
	int served;
};

static void
test_http_closed(uv_handle_t *h)
{
	free(h);
}

static void
test_http_written(uv_write_t *req, int status)
{
	(void)status;
	uv_close((uv_handle_t *)req->handle, test_http_closed);
	free(req);
}

static void
test_http_conn(uv_stream_t *server, int status)
{
	static const char busy[] = "HTTP/1.1 503 Busy\r\n\r\n";
	static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
	struct test_http *h = server->data;
	uv_tcp_t *c = xmalloc(sizeof *c);
	uv_write_t *req = xmalloc(sizeof *req);
	uv_buf_t b;

	assert_int_equal(status, 0);
	uv_tcp_init(server->loop, c);
	assert_int_equal(uv_accept(server, (uv_stream_t *)c), 0);
	if (h->served++ == 0)
		b = uv_buf_init((char *)busy, sizeof busy - 1);
	else
		b = uv_buf_init((char *)ok, sizeof ok - 1);
	uv_write(req, (uv_stream_t *)c, &b, 1, test_http_written);
}

static void
test_http_probe(void **state)
{
	struct test_result t;
	struct test_http h;
	struct ready_spec r;
	struct sockaddr_in sin;
	struct ready_wait *w;
	uv_loop_t loop;
	char spec[64];
	int fd, port;

	(void)state;
	memset(&t, 0, sizeof t);
	memset(&h, 0, sizeof h);
	assert_int_equal(uv_loop_init(&loop), 0);
	port = test_port(&fd, 0);
	close(fd);
	uv_tcp_init(&loop, &h.server);
	h.server.data = &h;
	uv_ip4_addr("127.0.0.1", port, &sin);
	assert_int_equal(uv_tcp_bind(&h.server, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&h.server, 8,
	    test_http_conn), 0);
	snprintf(spec, sizeof spec, "http://127.0.0.1:%d/health", port);
	assert_int_equal(ready_parse(spec, &r, NULL), 0);
	w = ready_start(&loop, &r, NULL, 60000, test_cb, &t);
	assert_non_null(w);
	test_run(&loop, &t);
	assert_int_equal(t.ok, 1);
	assert_int_equal(h.served, 2);
	uv_close((uv_handle_t *)&h.server, NULL);
	ready_spec_clear(&r);
	test_finish_loop(&loop);
}

static void
test_missing_port_var(void **state)
{
	struct test_result t;

	(void)state;
	test_wait("tcp:$PORT", NULL, 60000, 0, &t);
	assert_int_equal(t.ok, 0);
	assert_non_null(strstr(t.reason, "$PORT"));
	free(t.reason);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_simple_waits),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_tcp_probe),
		cmocka_unit_test(test_http_probe),
		cmocka_unit_test(test_missing_port_var),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
