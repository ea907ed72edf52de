/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of logpipe.c and logpipe-mark.c: bytes leave an app's pipe
 * only once the log writer has written them (the writer is held in a
 * flush while the test holds the rotation lock; a second descriptor of
 * the pipe, as the keeper holds, sees them still there), a last line
 * without newline is written at the end of the pipe, logs that go
 * nowhere are consumed at once, and the marks settle oldest first.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"
#include "logwriter-private.h"

struct daemon D;                /* main.c's, which the tests do not link */
static char tmpdir[64];
static int nclosed;
static uv_timer_t keepalive;    /* the pipes' handle keeps no loop alive */

/* What the log code's neighbours in the library want from main.c. */
void daemon_shutdown(struct conn *c) { (void)c; }
void daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	(void)n;
	b->base = NULL;
	b->len = 0;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
mono_ms(void)
{
	return uv_now(D.loop);
}

static void
test_closed(struct logpipe *lp)
{
	(void)lp;
	nclosed++;
}

/* Runs the loop until done(arg) or 20 s have passed. */
static void
run_until(int (*done)(void *), void *arg)
{
	time_t end = time(NULL) + 20;
	struct timespec ts = { 0, 1000000 };

	while (!done(arg) && time(NULL) < end) {
		uv_run(D.loop, UV_RUN_NOWAIT);
		nanosleep(&ts, NULL);
	}
	assert_true(done(arg));
}

static int
pipe_bytes(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static uint64_t target;

static int
handed(void *arg)
{
	struct logpipe *lp = arg;

	return lp->handed >= target;
}

static int
emptied(void *arg)
{
	return pipe_bytes(*(int *)arg) == 0;
}

static int
closed_once(void *arg)
{
	(void)arg;
	return nclosed == 1;
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY)) == -1)
		return buf;
	n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* An app whose stdout goes to out (NULL: /dev/null), and its child. */
static struct child *
make_child(const char *out)
{
	struct app *app = xcalloc(1, sizeof *app);
	struct child *child = xcalloc(1, sizeof *child);
	char *cause = NULL, *path;

	app->cfg.name = xstrdup("t");
	app->cfg.cwd = xstrdup(tmpdir);
	xasprintf(&path, "%s/%s", tmpdir, out != NULL ? out : "x");
	app->cfg.out_file = out != NULL ? path : xstrdup("/dev/null");
	app->cfg.error_file = xstrdup("/dev/null");
	app->cfg.merge_logs = 1;
	if (out == NULL)
		free(path);
	assert_int_equal(logsink_open(app, &cause), 0);
	app->nchildren = 1;
	child->app = app;
	return child;
}

static void
free_child(struct child *child)
{
	logsink_close(child->app);
	appcfg_free(&child->app->cfg);
	free(child->app);
	free(child);
}

/*
 * lp reads a new pipe (as one from the keeper, not fresh); *keep gets a
 * second read end, *w the write end.
 */
static void
open_pipe(struct child *child, int *keep, int *w)
{
	int p[2];
	char *cause = NULL;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	*keep = dup(p[0]);
	*w = p[1];
	nclosed = 0;
	logpipe_init(&child->out, child, 1, test_closed);
	assert_int_equal(logpipe_open(&child->out, p[0], 0, &cause), 0);
	logpipe_start(&child->out, 0);
}

static void
test_consumed_once_written(void **state)
{
	struct child *child = make_child("out.log");
	struct logfile *s;
	char path[128];
	int keep, w;

	(void)state;
	snprintf(path, sizeof path, "%s/out.log", tmpdir);
	open_pipe(child, &keep, &w);
	assert_int_equal(write(w, "zero\n", 5), 5);
	run_until(emptied, &keep);
	assert_string_equal(slurp(path), "zero\n");
	/* the writer stops in a flush of the file, behind the lock */
	s = child->app->logs->out;
	assert_non_null(s);
	logrotate_lock();
	logfile_flush(s);
	for (;;) {
		pthread_mutex_lock(&logwriter_mutex);
		if (s->ops == 0 && !s->queued) {
			pthread_mutex_unlock(&logwriter_mutex);
			break;
		}
		pthread_mutex_unlock(&logwriter_mutex);
	}
	assert_int_equal(write(w, "one\ntwo\nthr", 11), 11);
	target = 5 + 8;
	run_until(handed, &child->out);
	assert_int_equal(pipe_bytes(keep), 11);   /* "thr" waits for its line */
	assert_int_equal(write(w, "ee\n", 3), 3);
	target = 5 + 14;
	run_until(handed, &child->out);
	assert_int_equal(pipe_bytes(keep), 14);
	logrotate_unlock();
	run_until(emptied, &keep);
	assert_string_equal(slurp(path), "one\ntwo\nthree\n");
	/* a last line without newline, at the end of the pipe */
	assert_int_equal(write(w, "last", 4), 4);
	close(w);
	run_until(closed_once, NULL);
	assert_int_equal(pipe_bytes(keep), 0);
	assert_string_equal(slurp(path), "one\ntwo\nthree\nlast\n");
	close(keep);
	free_child(child);
}

static void
test_nowhere_consumed_at_once(void **state)
{
	struct child *child = make_child(NULL);
	int keep, w;

	(void)state;
	open_pipe(child, &keep, &w);
	assert_int_equal(write(w, "a\nb\n", 4), 4);
	run_until(emptied, &keep);
	close(w);
	run_until(closed_once, NULL);
	close(keep);
	free_child(child);
}

/*
 * A fresh pipe (a spawn's own) is not pumped at its start: what the app
 * wrote before it, and its end, still come (the epoll set reports a pipe
 * ready when it joins).
 */
static void
test_fresh_written_before_start(void **state)
{
	struct child *child = make_child("fresh.log");
	char path[128], *cause = NULL;
	int p[2], keep;

	(void)state;
	snprintf(path, sizeof path, "%s/fresh.log", tmpdir);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	keep = dup(p[0]);
	assert_int_equal(write(p[1], "early\n", 6), 6);
	close(p[1]);
	nclosed = 0;
	logpipe_init(&child->out, child, 1, test_closed);
	assert_int_equal(logpipe_open(&child->out, p[0], 1, &cause), 0);
	logpipe_start(&child->out, 1);
	assert_true(child->out.watched);
	run_until(closed_once, NULL);
	assert_int_equal(pipe_bytes(keep), 0);
	assert_string_equal(slurp(path), "early\n");
	close(keep);
	free_child(child);
}

/* The fake sinks: 1 and 2, written up to these tickets. */
static uint64_t written[3];

static int
fake_settled(struct logfile *s, uint64_t t)
{
	return written[(uintptr_t)s] >= t;
}

static void
test_marks_settle_oldest_first(void **state)
{
	struct logmarks ms;
	struct logfile *sinks[2] = { (struct logfile *)1,
	    (struct logfile *)2 };
	uint64_t t[2];
	int i;

	(void)state;
	memset(&ms, 0, sizeof ms);
	memset(written, 0, sizeof written);
	t[0] = 10, t[1] = 5;
	logmark_add(&ms, LOGMARK_MIN, sinks, t, 2);
	t[0] = 20, t[1] = 6;
	logmark_add(&ms, 2 * LOGMARK_MIN, sinks, t, 2);
	assert_int_equal(ms.n, 2);
	assert_int_equal(logmark_settle(&ms, fake_settled), 0);
	written[1] = 20;        /* sink 2 holds both back */
	assert_int_equal(logmark_settle(&ms, fake_settled), 0);
	written[2] = 5;
	assert_int_equal(logmark_settle(&ms, fake_settled), LOGMARK_MIN);
	assert_int_equal(ms.n, 1);
	written[2] = 6;
	assert_int_equal(logmark_settle(&ms, fake_settled), 2 * LOGMARK_MIN);
	assert_int_equal(ms.n, 0);
	/* a small chunk grows the mark before it; a full FIFO grows the last */
	logmark_add(&ms, 1, sinks, t, 0);
	logmark_add(&ms, 2, sinks, t, 0);
	logmark_add(&ms, 3, sinks, t, 0);
	assert_int_equal(ms.n, 2);
	assert_int_equal(ms.m[1].end, 3);
	for (i = 0; i < 2 * LOGMARK_MAX; i++)
		logmark_add(&ms, 3 + (uint64_t)(i + 1) * LOGMARK_MIN, sinks,
		    t, 1);
	assert_int_equal(ms.n, LOGMARK_MAX);
	assert_int_equal(ms.m[LOGMARK_MAX - 1].end, 3 + 2 * LOGMARK_MAX *
	    (uint64_t)LOGMARK_MIN);
	written[1] = 0;         /* the mark of no sink only */
	assert_int_equal(logmark_settle(&ms, fake_settled), 1);
}

static void
keepalive_cb(uv_timer_t *t)
{
	(void)t;
}

static int
setup(void **state)
{
	char *cause = NULL;

	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/corral-logpipe.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	D.loop = uv_default_loop();
	assert_int_equal(uv_timer_init(D.loop, &keepalive), 0);
	assert_int_equal(uv_timer_start(&keepalive, keepalive_cb,
	    3600 * 1000, 0), 0);
	if (logwriter_start(D.loop, NULL, &cause) == -1)
		fail_msg("%s", cause);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	logwriter_stop();
	uv_close((uv_handle_t *)&keepalive, NULL);
	uv_run(D.loop, UV_RUN_NOWAIT);
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consumed_once_written),
		cmocka_unit_test(test_nowhere_consumed_at_once),
		cmocka_unit_test(test_fresh_written_before_start),
		cmocka_unit_test(test_marks_settle_oldest_first),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
