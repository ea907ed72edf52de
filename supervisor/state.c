/* SPDX-License-Identifier: ISC */
/*
 * Keeps $CORRAL_HOME/state.json up to date (the contract is in state.h).
 * A change marks the file stale and arms an idle handle; at the next loop
 * turn the state is made into text on the loop (state-json.c: memory
 * only) and a libuv pool thread writes it: unlink of STATE.tmp, open with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_NONBLOCK (a symlink or FIFO planted there is
 * removed, never followed or opened; one planted again in between fails
 * the write), write, close, rename over state.json (which replaces a
 * symlink there rather than following it). The write is in a thread
 * because a write to the page cache can still wait on the disk (dirty
 * page throttling, a slow or network file system) and the daemon never
 * blocks its loop on a file. No fsync: the file must survive the engine,
 * not the machine. One write at a time: changes during a write make one
 * more write after it. A failed write (full disk, read-only home) is
 * logged at most once a minute and tried again at the next change, or
 * after STATE_RETRY_MS when nothing changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrald.h"

#define STATE_RETRY_MS 10000
#define STATE_WARN_MS 60000

struct state_waiter {
	void (*cb)(void *, int);
	void *arg;
	unsigned long long seq;         /* written once a write has this */
	struct state_waiter *next;
};

static struct {
	char *path;
	char *tmp;
	uv_idle_t idle;
	uv_timer_t retry;
	uv_work_t work;
	int inited, started, stopped, dirty, armed, busy;
	unsigned long long changes;     /* state_changed() calls so far */
	unsigned long long written;     /* changes the file on disk shows */
	char *text;                     /* the thread's while busy */
	size_t len;
	unsigned long long text_seq;    /* changes the text shows */
	char *pending;                  /* made during a write (state_stop) */
	unsigned long long pending_seq;
	int err;                        /* the thread's errno, 0: written */
	const char *stage;              /* what failed */
	uint64_t warned_at;             /* mono ms of the last warning */
	unsigned long failures;         /* since the last write */
	struct state_waiter *waiters;
} S;

static void state_arm(void);

/*
 * The thread's part: the text to STATE.tmp, renamed over state.json.
 * Returns 0, or an errno with S.stage saying what failed; a temporary
 * file it made is removed on failure.
 */
static int
state_write_file(void)
{
	size_t off = 0;
	ssize_t n;
	int fd, err = 0;

	S.stage = "unlink";
	if (unlink(S.tmp) == -1 && errno != ENOENT)
		return errno;
	S.stage = "open";
	if ((fd = open(S.tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600)) == -1)
		return errno;
	S.stage = "write";
	while (off < S.len && err == 0) {
		if ((n = write(fd, S.text + off, S.len - off)) >= 0)
			off += (size_t)n;
		else if (errno != EINTR)
			err = errno;
	}
	if (close(fd) == -1 && err == 0) {
		S.stage = "close";
		err = errno;
	}
	if (err == 0) {
		S.stage = "rename";
		if (rename(S.tmp, S.path) == 0)
			return 0;
		err = errno;
	}
	(void)unlink(S.tmp);
	return err;
}

static void
state_work(uv_work_t *req)
{
	(void)req;
	S.err = state_write_file();
}

static void
state_retry_cb(uv_timer_t *t)
{
	(void)t;
	state_changed();
}

/* A failed write: said at most once a minute, tried again later. */
static void
state_failed(void)
{
	uint64_t now = mono_ms();
	int r;

	if (S.failures++ == 0 || now - S.warned_at >= STATE_WARN_MS) {
		log_warnx("%s: %s: %s (tried again at the next change; %lu "
		    "failure%s so far)", S.stage, S.tmp, strerror(S.err),
		    S.failures, S.failures == 1 ? "" : "s");
		S.warned_at = now;
	}
	if (!S.stopped && (r = uv_timer_start(&S.retry, state_retry_cb,
	    STATE_RETRY_MS, 0)) != 0)
		log_warnx("state retry timer: %s", uv_strerror(r));
}

/*
 * Calls the waiters the last write served (rc: 0 written, -1 not). Each
 * search starts again at the head: a callback may close a client, whose
 * waits go from the list (state_unhold()).
 */
static void
state_wake(unsigned long long seq, int rc)
{
	struct state_waiter **wp, *w;

	for (;;) {
		for (wp = &S.waiters; (w = *wp) != NULL && w->seq > seq &&
		    rc == 0; wp = &w->next)
			;
		if (w == NULL)
			return;
		*wp = w->next;
		w->cb(w->arg, rc);
		free(w);
	}
}

static void state_queue(char *, size_t, unsigned long long);

/* After state_stop() and its last write: the memory goes. */
static void
state_release(void)
{
	if (!S.stopped || S.busy)
		return;
	free(S.path);
	free(S.tmp);
	S.path = S.tmp = NULL;
}

static void
state_after_work(uv_work_t *req, int status)
{
	unsigned long long seq = S.text_seq;

	(void)req;
	S.busy = 0;
	free(S.text);
	S.text = NULL;
	if (status != 0) {
		S.err = -status;
		S.stage = "queue";
	}
	if (S.err != 0)
		state_failed();
	else {
		S.written = seq;
		if (S.failures > 0)
			log_info("%s written again after %lu failure%s",
			    S.path, S.failures, S.failures == 1 ? "" : "s");
		S.failures = 0;
	}
	state_wake(seq, S.err != 0 ? -1 : 0);
	if (S.pending != NULL) {
		state_queue(S.pending, strlen(S.pending), S.pending_seq);
		S.pending = NULL;
	} else if (S.dirty)
		state_arm();
	state_release();
}

/* Hands text (taken) to the pool; the thread writes it. */
static void
state_queue(char *text, size_t len, unsigned long long seq)
{
	int r;

	S.text = text;
	S.len = len;
	S.text_seq = seq;
	S.busy = 1;
	if ((r = uv_queue_work(S.idle.loop, &S.work, state_work,
	    state_after_work)) != 0) {
		S.busy = 0;
		S.err = -r;
		S.stage = "queue";
		free(S.text);
		S.text = NULL;
		state_failed();
		state_wake(seq, -1);
	}
}

/* Makes the text of the state now; written now or after the write running. */
static void
state_write(void)
{
	size_t len;
	char *t = state_render(&len);

	S.dirty = 0;
	if (!S.busy) {
		state_queue(t, len, S.changes);
		return;
	}
	free(S.pending);
	S.pending = t;
	S.pending_seq = S.changes;
}

static void
state_idle_cb(uv_idle_t *h)
{
	uv_idle_stop(h);
	S.armed = 0;
	if (S.dirty && !S.busy && !S.stopped)
		state_write();
}

/* A write at the next loop turn, unless one runs (it re-arms after). */
static void
state_arm(void)
{
	int r;

	if (!S.started || S.stopped || S.busy || S.armed)
		return;
	if ((r = uv_idle_start(&S.idle, state_idle_cb)) != 0) {
		log_warnx("state: idle handle: %s", uv_strerror(r));
		return;
	}
	S.armed = 1;
}

/*
 * Sets up the writer for home/state.json; nothing is written before
 * state_start(). Call once, with the loop running the daemon.
 */
void
state_init(uv_loop_t *loop, const char *home)
{
	int r;

	S.path = paths_file(home, STATE_FILE);
	xasprintf(&S.tmp, "%s.tmp", S.path);
	if ((r = uv_idle_init(loop, &S.idle)) != 0 ||
	    (r = uv_timer_init(loop, &S.retry)) != 0)
		fatalx("state: %s", uv_strerror(r));
	uv_unref((uv_handle_t *)&S.retry);
	S.inited = 1;
}

/* Writes are on from now: the first one at the next loop turn. */
void
state_start(void)
{
	if (!S.inited || S.stopped)
		return;
	S.started = 1;
	state_changed();
}

/*
 * An instance changed, and nothing else: the file is written at the next
 * turn, with the apps' configurations as the last write made them.
 */
void
state_instances_changed(void)
{
	if (!S.inited || S.stopped)
		return;
	S.changes++;
	S.dirty = 1;
	state_arm();
}

/*
 * Anything may have changed (an app declared, reconfigured, resized,
 * deleted, set, reset, a socket bound on demand): the file is written at
 * the next turn, each app's configuration made into text again.
 */
void
state_changed(void)
{
	state_configs_changed();
	state_instances_changed();
}

/* cb(arg, rc) after the write that shows the changes made so far. */
static void
state_wait(void (*cb)(void *, int), void *arg)
{
	struct state_waiter *w = xcalloc(1, sizeof *w);

	w->cb = cb;
	w->arg = arg;
	w->seq = S.changes;
	w->next = S.waiters;
	S.waiters = w;
}

/*
 * Calls cb(arg, 0) once state.json shows the state of now, or cb(arg, -1)
 * when that write failed. cb runs from the loop, never from here, except
 * when writes are off (before state_start(), after state_stop()): then
 * cb(arg, -1) at once.
 */
void
state_flush(void (*cb)(void *, int), void *arg)
{
	state_configs_changed();
	state_after_turn(cb, arg);
}

/*
 * cb(arg, rc) once state.json shows what changes in this loop turn (an
 * exit handled after the call, in the same turn, included): as
 * state_flush(), without making the apps' configurations into text
 * again. What the keeper lets go of an exit waits for it (engine-held.c).
 */
void
state_after_turn(void (*cb)(void *, int), void *arg)
{
	if (!S.inited || !S.started || S.stopped) {
		cb(arg, -1);
		return;
	}
	state_instances_changed();
	state_wait(cb, arg);
}

/* The number of changes so far: what state_hold() compares with. */
unsigned long long
state_mark(void)
{
	return S.changes;
}

/*
 * A reply that must not reach its client before the change it reports
 * is on disk (an engine killed right after the reply would otherwise be
 * followed by one that never heard of it, and kills the processes of an
 * app it does not know). Returns 1 when something changed since mark and
 * a write of it is under way or due: cb(arg, 0) is called from the loop
 * once state.json shows it, cb(arg, -1) when that write failed (the
 * reply goes anyway: a full disk must not hang the clients). Returns 0,
 * and cb is never called, when there is nothing to wait for.
 */
int
state_hold(unsigned long long mark, void (*cb)(void *, int), void *arg)
{
	if (!S.inited || !S.started || S.changes == mark ||
	    S.written >= S.changes || !(S.busy || (S.armed && !S.stopped)))
		return 0;
	state_wait(cb, arg);
	return 1;
}

/* Forgets the waits of arg (its client went away): cb is not called. */
void
state_unhold(void *arg)
{
	struct state_waiter **wp = &S.waiters, *w;

	while ((w = *wp) != NULL) {
		if (w->arg != arg) {
			wp = &w->next;
			continue;
		}
		*wp = w->next;
		free(w);
	}
}

static void
state_closed(uv_handle_t *h)
{
	(void)h;
}

/*
 * The last write, made now (while the apps still exist): the loop runs
 * until it is written. No write after it; handles closed.
 */
void
state_stop(void)
{
	if (!S.inited || S.stopped)
		return;
	if (S.started && (S.dirty || S.busy))
		state_write();
	S.stopped = 1;
	S.dirty = 0;
	if (!uv_is_closing((uv_handle_t *)&S.idle))
		uv_close((uv_handle_t *)&S.idle, state_closed);
	if (!uv_is_closing((uv_handle_t *)&S.retry))
		uv_close((uv_handle_t *)&S.retry, state_closed);
	state_release();
}
