/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of what corrald's observing parts parse and read: the address
 * of the metrics endpoint (common/httpaddr.c), liveness check specs
 * (healthspec.c), autoscaling ranges and their cap (autoscale.c, through
 * the settings table of appcfg.c: instances = MIN..MAX), and the accept
 * queue of a real listening socket (sockstat.c).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"

/* main.c's globals and helpers, which the linked objects refer to. */
struct daemon D;
uint64_t now_ms(void) { return 0; }
uint64_t mono_ms(void) { return 0; }
void daemon_check_shutdown(void) { }
void daemon_shutdown(struct conn *c) { (void)c; }
void daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	(void)n;
	b->base = NULL;
	b->len = 0;
}

static void
addr_ok(const char *s, const char *want, int loopback)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *cause = NULL, buf[80];

	if (httpaddr_parse(s, &ss, &len, &cause) != 0)
		fail_msg("httpaddr_parse(%s): %s", s, cause);
	httpaddr_format(&ss, buf, sizeof buf);
	assert_string_equal(buf, want);
	assert_int_equal(httpaddr_is_loopback(&ss), loopback);
}

static void
addr_bad(const char *s, const char *why)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *cause = NULL;

	if (httpaddr_parse(s, &ss, &len, &cause) != -1)
		fail_msg("httpaddr_parse(%s) accepted", s);
	if (strstr(cause, why) == NULL)
		fail_msg("httpaddr_parse(%s): '%s' lacks '%s'", s, cause, why);
	free(cause);
}

static void
test_httpaddr(void **state)
{
	(void)state;
	addr_ok("9100", "127.0.0.1:9100", 1);
	addr_ok("0", "127.0.0.1:0", 1);
	addr_ok("localhost:80", "127.0.0.1:80", 1);
	addr_ok("127.1.2.3:80", "127.1.2.3:80", 1);
	addr_ok("0.0.0.0:9100", "0.0.0.0:9100", 0);
	addr_ok("10.0.0.7:9100", "10.0.0.7:9100", 0);
	addr_ok("[::1]:9100", "[::1]:9100", 1);
	addr_ok("[::]:9100", "[::]:9100", 0);
	addr_bad("", "empty");
	addr_bad(":9100", "no host");
	addr_bad("[]:9100", "no host");
	addr_bad("host:9100", "numeric");
	addr_bad("::1:9100", "brackets");
	addr_bad("[::1]", "[IPV6]:PORT");
	addr_bad("1.2.3.4:65536", "bad port");
	addr_bad("1.2.3.4:-1", "bad port");
	addr_bad("port", "expected PORT");
}

static void
test_health_parse(void **state)
{
	struct health_spec h;
	char *cause = NULL;

	(void)state;
	assert_int_equal(health_parse("http://127.0.0.1:$PORT/health", &h,
	    &cause), 0);
	assert_int_equal(h.kind, HEALTH_HTTP);
	assert_string_equal(h.probe.port_var, "PORT");
	assert_string_equal(h.probe.path, "/health");
	health_spec_clear(&h);
	assert_int_equal(health_parse("tcp:8080", &h, &cause), 0);
	assert_int_equal(h.kind, HEALTH_TCP);
	assert_int_equal(h.probe.port, 8080);
	health_spec_clear(&h);
	assert_int_equal(health_parse("exec:  curl -f http://x/", &h, &cause),
	    0);
	assert_int_equal(h.kind, HEALTH_EXEC);
	assert_string_equal(h.cmd, "curl -f http://x/");
	health_spec_clear(&h);
	assert_int_equal(health_parse("exec: ", &h, &cause), -1);
	assert_non_null(strstr(cause, "no command"));
	free(cause);
	assert_int_equal(health_parse("listen", &h, &cause), -1);
	assert_non_null(strstr(cause, "invalid health check 'listen'"));
	free(cause);
	assert_int_equal(health_parse("http://name/", &h, &cause), -1);
	assert_string_equal(cause, "invalid health check 'http://name/': "
	    "expected http://HOST[:PORT]/PATH with a numeric HOST");
	free(cause);
}

static void
scale_bad(const char *s)
{
	long long min = 7, max = 7;
	char *cause = NULL;

	if (autoscale_parse(s, &min, &max, &cause) != -1)
		fail_msg("autoscale_parse(%s) accepted", s);
	assert_non_null(strstr(cause, "scale"));
	free(cause);
}

static void
test_autoscale_range(void **state)
{
	struct app_config c;
	long long min, max;
	char *cause = NULL;
	json_t *j;

	(void)state;
	assert_int_equal(autoscale_parse("2..8", &min, &max, &cause), 0);
	assert_int_equal(min, 2);
	assert_int_equal(max, 8);
	assert_int_equal(autoscale_parse("1..max", &min, &max, &cause), 0);
	assert_int_equal(max, -1);
	assert_int_equal(autoscale_parse("3..3", &min, &max, &cause), 0);
	scale_bad("0..2");
	scale_bad("3..2");
	scale_bad("2..");
	scale_bad("..4");
	scale_bad("2-4");
	scale_bad("2..4097");

	appcfg_init(&c);
	assert_int_equal(appcfg_set_string(&c, "instances", "2..8", &cause), 0);
	assert_int_equal(c.instances, 2);
	assert_int_equal(c.scale_min, 2);
	assert_int_equal(c.scale_max, 8);
	assert_int_equal(appcfg_set_string(&c, "scale_above_cpus", "true",
	    &cause), 0);
	assert_int_equal(autoscale_max(&c), 8);
	assert_int_equal(appcfg_set_string(&c, "scale_above_cpus", "false",
	    &cause), 0);
	assert_int_equal(autoscale_max(&c), sys_ncpu() < 8 ?
	    (sys_ncpu() < 2 ? 2 : sys_ncpu()) : 8);
	j = appcfg_to_json(&c);
	assert_string_equal(json_string_value(json_object_get(j, "scale")),
	    "2..8");
	json_decref(j);
	/* a count above the new range comes down into it */
	c.instances = 9;
	assert_int_equal(appcfg_set_string(&c, "scale", "1..max", &cause), 0);
	assert_int_equal(c.instances, 9);   /* max: the autoscaler's business */
	assert_int_equal(appcfg_set_string(&c, "scale", "1..4", &cause), 0);
	assert_int_equal(c.instances, 4);
	j = appcfg_to_json(&c);
	assert_string_equal(json_string_value(json_object_get(j, "scale")),
	    "1..4");
	json_decref(j);
	assert_int_equal(appcfg_set_string(&c, "scale", "none", &cause), 0);
	assert_int_equal(autoscale_max(&c), 0);
	j = appcfg_to_json(&c);
	assert_true(json_is_null(json_object_get(j, "scale")));
	json_decref(j);
	assert_int_equal(appcfg_set_string(&c, "health", "ftp://x", &cause),
	    -1);
	free(cause);
	assert_null(c.health);
	appcfg_free(&c);
}

static void
test_sockstat(void **state)
{
	struct sockaddr_in sin;
	struct sockstat st;
	socklen_t len = sizeof sin;
	int l, c[3], i, u;

	(void)state;
	l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(sockstat_read(l, &st), -1);    /* not listening */
	assert_int_equal(listen(l, 7), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(sockstat_read(l, &st), 0);
	assert_int_equal(st.queue, 0);
	assert_int_equal(st.backlog, 7);
	for (i = 0; i < 3; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c[i], (struct sockaddr *)&sin,
		    sizeof sin), 0);
	}
	assert_int_equal(sockstat_read(l, &st), 0);
	assert_int_equal(st.queue, 3);
	close(accept(l, NULL, NULL));
	assert_int_equal(sockstat_read(l, &st), 0);
	assert_int_equal(st.queue, 2);
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(sockstat_read(u, &st), -1);
	close(u);
	for (i = 0; i < 3; i++)
		close(c[i]);
	close(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httpaddr),
		cmocka_unit_test(test_health_parse),
		cmocka_unit_test(test_autoscale_range),
		cmocka_unit_test(test_sockstat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
