/* SPDX-License-Identifier: ISC */
/*
 * Tests of supervisor/keeper-link.c, the engine's side of the keeper
 * protocol, on a real libuv loop: this test plays the keeper on the other
 * end of a socketpair with common/kproto-conn.c. The table and the events
 * reach the callbacks in order with their descriptors; HOLD,
 * READY and BYE arrive as the keeper decodes them; heartbeats follow
 * HELLO; a closed keeper is reported once.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
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
#include "kproto.h"
#include "keeper-link.h"

struct got {
	char log[1024];
	int held_fd;
	int live_out;
	int adopt_fd;
	int table_end;
	int lost;
	int64_t heartbeat_ms;
};

static void
got_add(struct got *g, const char *s)
{
	strncat(g->log, s, sizeof g->log - strlen(g->log) - 1);
	strncat(g->log, ";", sizeof g->log - strlen(g->log) - 1);
}

static void
cb_hello(const struct keeper_hello *h, void *arg)
{
	struct got *g = arg;
	char buf[128];

	snprintf(buf, sizeof buf, "hello %s %s", h->kind_name,
	    h->reason != NULL ? h->reason : "-");
	g->heartbeat_ms = h->heartbeat_ms;
	g->adopt_fd = h->adopt_fd;
	got_add(g, buf);
}

static void
cb_held(const char *tag, int fd, void *arg)
{
	struct got *g = arg;
	char buf[64];

	snprintf(buf, sizeof buf, "held %s", tag);
	g->held_fd = fd;
	got_add(g, buf);
}

static void
cb_live(const struct keeper_proc *p, void *arg)
{
	struct got *g = arg;
	char buf[64];

	snprintf(buf, sizeof buf, "live %s %d %d", p->tag, (int)p->pid,
	    p->pidfd >= 0);
	g->live_out = p->out;
	close(p->err);
	if (p->pidfd >= 0)
		close(p->pidfd);
	got_add(g, buf);
}

static void
cb_exited(const char *tag, pid_t pid, int status, int out, int err,
    void *arg)
{
	char buf[64];

	snprintf(buf, sizeof buf, "exited %s %d %d %d", tag != NULL ? tag : "-",
	    (int)pid, status,
	    out >= 0 && err >= 0);
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	got_add(arg, buf);
}

static void
cb_table_end(void *arg)
{
	struct got *g = arg;

	g->table_end = 1;
	got_add(g, "end");
}

static void
cb_update_failed(const char *why, void *arg)
{
	char buf[128];

	snprintf(buf, sizeof buf, "update_failed %s", why);
	got_add(arg, buf);
}

static void
cb_term(void *arg)
{
	got_add(arg, "term");
}

static void
cb_lost(const char *why, void *arg)
{
	struct got *g = arg;

	(void)why;
	g->lost++;
}

static const struct keeper_link_cbs cbs = {
	.hello = cb_hello, .held = cb_held, .live = cb_live,
	.exited = cb_exited, .table_end = cb_table_end,
	.update_failed = cb_update_failed, .term = cb_term, .lost = cb_lost,
};

/* Runs the loop until *flag is set (or 10 s pass). */
static void
run_until(uv_loop_t *loop, volatile int *flag)
{
	int i;

	for (i = 0; i < 10000 && !*flag; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(1000);
	}
	assert_true(*flag);
}

static void
keeper_send(struct kproto_conn *k, struct kproto_msg *m)
{
	assert_int_equal(kproto_conn_send(k, m), 0);
	assert_int_equal(kproto_conn_flush(k), 0);
}

/* The keeper's end reads one message (waiting on the loop meanwhile). */
static void
keeper_recv(uv_loop_t *loop, struct kproto_conn *k, struct kproto_msg *m)
{
	int i, r = KPROTO_AGAIN;

	for (i = 0; i < 10000 && r == KPROTO_AGAIN; i++) {
		uv_run(loop, UV_RUN_NOWAIT);
		if ((r = kproto_conn_recv(k, m)) == KPROTO_AGAIN)
			usleep(1000);
	}
	assert_int_equal(r, KPROTO_MSG);
}

static void
send_table(struct kproto_conn *k, int pipefd)
{
	struct kproto_msg m;

	kproto_msg_init(&m, KP_HELLO);
	m.version = KPROTO_VERSION;
	m.kind = KP_KIND_RESTART;
	m.heartbeat_ms = 400;
	m.text = "engine killed by signal 9";
	m.fds[0] = pipefd;      /* stands for the adopt socket */
	m.nfds = 1;
	keeper_send(k, &m);
	kproto_msg_init(&m, KP_HELD);
	m.tag = "listen:web";
	m.fds[0] = pipefd;
	m.nfds = 1;
	keeper_send(k, &m);
	kproto_msg_init(&m, KP_LIVE);
	m.tag = "web:0:1";
	m.pid = 4242;
	m.fds[0] = m.fds[1] = pipefd;
	m.nfds = 2;
	keeper_send(k, &m);
	kproto_msg_init(&m, KP_EXITED);
	m.tag = "web:1:1";
	m.pid = 4343;
	m.status = 256;
	m.fds[0] = m.fds[1] = pipefd;
	m.nfds = 2;
	keeper_send(k, &m);
	kproto_msg_init(&m, KP_TABLE_END);
	keeper_send(k, &m);
}

static void
test_table_and_events(void **state)
{
	uv_loop_t loop;
	struct keeper_link *l;
	struct kproto_conn k;
	struct kproto_msg m;
	struct got g;
	char *cause = NULL, c;
	int sp[2], p[2];

	(void)state;
	memset(&g, 0, sizeof g);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp), 0);
	assert_int_equal(pipe(p), 0);
	kproto_conn_init(&k, sp[0]);
	l = keeper_link_create(&loop, sp[1], &cbs, &g, &cause);
	assert_non_null(l);
	send_table(&k, p[1]);
	run_until(&loop, &g.table_end);
	assert_string_equal(g.log, "hello restart engine killed by signal 9;"
	    "held listen:web;live web:0:1 4242 0;exited web:1:1 4343 256 1;"
	    "end;");
	assert_int_equal(g.heartbeat_ms, 400);
	/* the descriptors are the keeper's pipe */
	assert_int_equal(write(g.held_fd, "h", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'h');
	close(g.held_fd);
	close(g.live_out);

	/* heartbeats come by themselves */
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_HEARTBEAT);
	kproto_msg_free(&m);

	/* an exit the keeper never adopted: by pid, without a tag */
	kproto_msg_init(&m, KP_EXITED);
	m.pid = 5000;
	m.status = 9;
	keeper_send(&k, &m);
	kproto_msg_init(&m, KP_UPDATE_FAILED);
	m.text = "new engine exited with status 1";
	keeper_send(&k, &m);
	kproto_msg_init(&m, KP_TERM);
	keeper_send(&k, &m);
	g.table_end = 0;
	while (strstr(g.log, "term;") == NULL)
		uv_run(&loop, UV_RUN_ONCE);
	assert_non_null(strstr(g.log, "end;exited - 5000 9 0;update_failed "
	    "new engine exited with status 1;term;"));
	assert_true(g.adopt_fd >= 0);
	close(g.adopt_fd);

	/* the keeper closes: lost, once */
	kproto_conn_close(&k);
	run_until(&loop, &g.lost);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(g.lost, 1);
	assert_int_equal(keeper_link_ready(l, &cause), -1);
	free(cause);
	keeper_link_free(l);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	close(p[0]);
	close(p[1]);
}

static void
test_requests(void **state)
{
	uv_loop_t loop;
	struct keeper_link *l;
	struct kproto_conn k;
	struct kproto_msg m;
	struct got g;
	char *cause = NULL;
	int sp[2], p[2];

	(void)state;
	memset(&g, 0, sizeof g);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp), 0);
	assert_int_equal(pipe(p), 0);
	kproto_conn_init(&k, sp[0]);
	l = keeper_link_create(&loop, sp[1], &cbs, &g, &cause);
	assert_non_null(l);

	assert_int_equal(keeper_link_hold(l, "listen:api", p[0], &cause), 0);
	assert_int_equal(keeper_link_release(l, "old", &cause), 0);
	assert_int_equal(keeper_link_ready(l, &cause), 0);
	assert_int_equal(keeper_link_upgrade(l, "/usr/bin/corrald", &cause), 0);
	assert_int_equal(keeper_link_bye(l, 0, &cause), 0);

	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_HOLD);
	assert_string_equal(m.tag, "listen:api");
	assert_int_equal(m.nfds, 1);
	kproto_msg_free(&m);
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_RELEASE);
	kproto_msg_free(&m);
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_READY);
	assert_string_equal(m.text, CORRAL_VERSION);
	kproto_msg_free(&m);
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_UPGRADE);
	assert_string_equal(m.text, "/usr/bin/corrald");
	kproto_msg_free(&m);
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_BYE);
	assert_int_equal(m.status, 0);
	kproto_msg_free(&m);

	/* a RELEASE alone waits for the loop's poll, then goes */
	assert_int_equal(keeper_link_release(l, "alone", &cause), 0);
	keeper_recv(&loop, &k, &m);
	assert_int_equal(m.type, KP_RELEASE);
	assert_string_equal(m.tag, "alone");
	kproto_msg_free(&m);

	/* garbage from the keeper: lost */
	assert_int_equal(write(k.fd, "\x01\x00\x00\x00\x00\x00\x00\x00"
	    "\xff\xff\xff\xff", 12), 12);
	run_until(&loop, &g.lost);
	keeper_link_free(l);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	kproto_conn_close(&k);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_and_events),
		cmocka_unit_test(test_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
