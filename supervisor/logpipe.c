/* SPDX-License-Identifier: ISC */
/*
 * Reading an instance's stdout or stderr pipe, from the plain descriptor of
 * its read end, so that no line is lost when the daemon is killed (kill
 * -9, a crash) while the pipe outlives it (held by the keeper): a byte
 * leaves the app's pipe only once every log sink it went to has written
 * it. A pump tee(2)s the app's pipe into a private pipe (one for the
 * daemon, empty again when the pump returns), skips there the bytes it
 * handed on before, reads the new ones into the line buffer, hands the
 * lines on (logsink.c) and notes a mark (logpipe-mark.c); once the log
 * writer thread has written a mark's bytes, as many leave the app's pipe
 * (spliced to /dev/null). A daemon killed between the write and that
 * leaves written bytes in the pipe, and the next reader writes them
 * again: a duplicate, never a gap. Logs that go nowhere (/dev/null) are
 * consumed at once.
 *
 * Bounds: the bytes read but not consumed are at most the pipe's (each
 * app pipe is raised to 1 MiB with F_SETPIPE_SZ where allowed, else it
 * keeps 64 KiB); with no reader, or a full sink (back-pressure), the app
 * blocks in write(2) once its pipe is full, and nothing is lost. A
 * partial line reaching half of that is handed on as a line, so that the
 * pipe never fills with bytes that cannot go on.
 *
 * The pipes are watched edge-triggered (logpipe-set.c); a partial line
 * waiting also gets a pump a second (kernels 5.5 to 5.13 woke a watcher
 * only at a write to an empty pipe), and a pipe that could not be watched
 * one every LOGPIPE_POLL_MS.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define LOGPIPE_PIECE (64 * 1024)       /* read from the copy in pieces */
#define LOGPIPE_ROUNDS 4                /* pumps of a pipe per event */
#define LOGPIPE_IDLE_MS 1000            /* a partial line's pump */

static int logpipe_priv[2] = { -1, -1 };        /* the private pipe */
static size_t logpipe_priv_size;
static char logpipe_buf[LOGPIPE_PIECE];

static void logpipe_room(struct logfile_waiter *);

/* (Re)makes the private pipe; -1 with errno set when it cannot. */
static int
logpipe_priv_make(void)
{
	if (logpipe_priv[0] != -1) {
		close(logpipe_priv[0]);
		close(logpipe_priv[1]);
		logpipe_priv[0] = logpipe_priv[1] = -1;
	}
	if (pipe2(logpipe_priv, O_CLOEXEC | O_NONBLOCK) == -1) {
		logpipe_priv[0] = logpipe_priv[1] = -1;
		return -1;
	}
	logpipe_priv_size = logpipe_grow(logpipe_priv[0]);
	return 0;
}

static void
logpipe_closed(uv_handle_t *h)
{
	struct logpipe *lp = h->data;

	linebuf_free(&lp->lb);
	lp->closed(lp);
}

/* The timer: a pipe not watched, or a partial line, or more to pump. */
static void
logpipe_tick(uv_timer_t *t)
{
	logpipe_pump(t->data);
}

/*
 * lp, of child's stream (1 stdout, 2 stderr), with no descriptor yet;
 * closed(lp) runs on the loop once logpipe_close() has closed it.
 */
void
logpipe_init(struct logpipe *lp, struct child *child, int stream,
    void (*closed)(struct logpipe *))
{
	memset(lp, 0, sizeof *lp);
	timer_init(D.loop, &lp->timer);
	lp->timer.data = lp;
	lp->fd = -1;
	lp->child = child;
	lp->stream = stream;
	lp->closed = closed;
	lp->waiter.cb = logpipe_room;
	linebuf_init(&lp->lb, LOG_LINE_MAX);
}

/*
 * lp reads the pipe whose read end is fd from logpipe_start() on; lp owns
 * fd from now on (closed on failure too). fresh: the engine made the pipe
 * for this spawn, so it is a pipe and its flags are O_RDONLY (one that
 * came back from the keeper is checked and keeps its flags). Returns 0,
 * or -1 with *cause set.
 */
int
logpipe_open(struct logpipe *lp, int fd, int fresh, char **cause)
{
	size_t window;
	int fl;

	if (logpipe_set_init(cause) == -1) {
		close(fd);
		return -1;
	}
	if (logpipe_priv[0] == -1 && logpipe_priv_make() == -1) {
		xasprintf(cause, "log pipes: pipe: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (fresh)
		fl = O_RDONLY;
	if ((!fresh && (fcntl(fd, F_GETPIPE_SZ) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1)) ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		xasprintf(cause, "log pipe: %s", strerror(errno));
		close(fd);
		return -1;
	}
	lp->fd = fd;
	window = logpipe_grow(fd);
	if (window > logpipe_priv_size)
		window = logpipe_priv_size;
	lp->cut = window / 2 < LOG_LINE_MAX ? window / 2 : LOG_LINE_MAX;
	return 0;
}

/*
 * Hands on the lines of lp's buffer (with all, or when what is left is
 * lp->cut long, the rest too) and notes where they end and at which
 * tickets of their sinks. Returns -1 when a sink is full (lp->waiter
 * waits), else 0.
 */
static int
logpipe_hand_on(struct logpipe *lp, int all)
{
	struct logfile *sinks[LOGMARK_SINKS];
	uint64_t tickets[LOGMARK_SINKS], end;
	struct child *child = lp->child;
	int rc, i, n;

	rc = logsink_drain(lp, all);
	if (rc == 0 && !all && lp->lb.len >= lp->cut)
		rc = logsink_drain(lp, 1);
	end = lp->consumed + lp->teed - lp->lb.len;
	if (end > lp->handed) {
		lp->handed = end;
		n = logsink_sinks(child->app, child->index, lp->stream, sinks);
		for (i = 0; i < n; i++)
			tickets[i] = logfile_ticket(sinks[i]);
		logmark_add(&lp->marks, end, sinks, tickets, n);
	}
	return rc;
}

/*
 * Consumes from the app's pipe the bytes the sinks have written; waits
 * for the writer while some are not. Returns -1 when the pipe lacked them
 * (someone else read it), else 0.
 */
static int
logpipe_consume(struct logpipe *lp)
{
	uint64_t end;
	size_t n;

	end = logmark_settle(&lp->marks, logfile_settled);
	if (lp->marks.n > 0)
		logpipe_wait(lp);
	if (end <= lp->consumed)
		return 0;
	n = (size_t)(end - lp->consumed);
	lp->consumed = end;
	lp->teed -= n;
	if (logpipe_discard(lp->fd, n) == -1) {
		log_warn("%s: log pipe: consuming %zu bytes",
		    lp->child->app->cfg.name, n);
		return -1;
	}
	return 0;
}

/*
 * Reads the n new bytes at the private pipe's head into lp's buffer, in
 * pieces, handing the lines on after each; once a sink is full, the rest
 * is dropped from the copy (it stays in the app's pipe). Leaves the
 * private pipe empty (made again when it cannot).
 */
static void
logpipe_take(struct logpipe *lp, size_t n)
{
	ssize_t r;

	while (n > 0 && !lp->paused) {
		r = read(logpipe_priv[0], logpipe_buf, n < sizeof logpipe_buf ?
		    n : sizeof logpipe_buf);
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;
		}
		linebuf_append(&lp->lb, logpipe_buf, (size_t)r);
		lp->teed += (size_t)r;
		n -= (size_t)r;
		if (logpipe_hand_on(lp, 0) == -1)
			lp->paused = 1;
	}
	if (n > 0 && logpipe_discard(logpipe_priv[0], n) == -1 &&
	    logpipe_priv_make() == -1)
		log_warn("log pipes: private pipe");
}

/*
 * Whether lp's pipe is at its end: the app's end is closed and the n
 * bytes copied are all it holds (not only what the copy could take).
 */
static int
logpipe_hup(struct logpipe *lp, size_t n)
{
	struct pollfd pfd;
	int avail;

	pfd.fd = lp->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & (POLLHUP | POLLERR)))
		return 0;
	return ioctl(lp->fd, FIONREAD, &avail) == -1 || (size_t)avail <= n;
}

/* The pipe ended (or failed): what is left is a last line. */
static void
logpipe_eof(struct logpipe *lp)
{
	lp->eof = 1;
	if (logpipe_hand_on(lp, 1) == -1)
		lp->paused = 1;
}

/*
 * Copies the app's pipe and takes what is new. Returns 1 when bytes were
 * new, 0 when none, -1 at the end of the pipe (or when it fails).
 */
static int
logpipe_fill(struct logpipe *lp)
{
	ssize_t n;

	if (logpipe_priv[0] == -1 && logpipe_priv_make() == -1)
		return 0;
	n = tee(lp->fd, logpipe_priv[1], LOGPIPE_SIZE * 4, SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EAGAIN)
		return 0;
	if (n <= 0) {
		if (n == -1)
			log_warn("%s: log pipe: tee", lp->child->app->cfg.name);
		return -1;
	}
	if ((size_t)n < lp->teed || logpipe_discard(logpipe_priv[0],
	    lp->teed) == -1) {
		log_warnx("%s: log pipe: read by another process",
		    lp->child->app->cfg.name);
		if (logpipe_discard(logpipe_priv[0], (size_t)n) == -1)
			(void)logpipe_priv_make();
		return -1;
	}
	if ((size_t)n == lp->teed)
		return logpipe_hup(lp, (size_t)n) ? -1 : 0;
	logpipe_take(lp, (size_t)n - lp->teed);
	return 1;
}

/* Starts lp's timer for ms, or stops it (ms < 0). */
static void
logpipe_timer(struct logpipe *lp, int ms)
{
	if (ms < 0)
		uv_timer_stop(&lp->timer);
	else
		(void)timer_start(&lp->timer, logpipe_tick, (uint64_t)ms, 0);
}

/*
 * Reads and hands on what the app wrote, as long as the sinks take it,
 * and consumes what they have written; closes lp once the app closed its
 * end and everything is written.
 */
void
logpipe_pump(struct logpipe *lp)
{
	int i, r = 0;

	if (lp->closing || !lp->started)
		return;
	if (logpipe_consume(lp) == -1 && !lp->eof)
		logpipe_eof(lp);
	for (i = 0; i < LOGPIPE_ROUNDS && !lp->paused && !lp->eof; i++) {
		if ((r = logpipe_fill(lp)) == 0)
			break;
		if (r == -1)
			logpipe_eof(lp);
		if (logpipe_consume(lp) == -1 && !lp->eof)
			logpipe_eof(lp);
	}
	if (lp->eof && !lp->paused && lp->lb.len == 0 && lp->marks.n == 0) {
		logpipe_close(lp);
		return;
	}
	if (r == 1 && i == LOGPIPE_ROUNDS)
		logpipe_timer(lp, 0);   /* more to read: after the others */
	else if (!lp->watched && !lp->eof)
		logpipe_timer(lp, LOGPIPE_POLL_MS);
	else if (lp->teed > 0 && lp->marks.n == 0 && !lp->paused && !lp->eof)
		logpipe_timer(lp, LOGPIPE_IDLE_MS);
	else
		logpipe_timer(lp, -1);
}

/*
 * The epoll set saw lp's pipe with no writer left and nothing in it
 * (EPOLLHUP without EPOLLIN; the events are those of the moment they are
 * read): its end, known without the tee(2) that would return 0, one
 * system call less for each pipe of each exit. Bytes handed on and not
 * yet consumed (teed) would be in the pipe: then the pump finds the end.
 */
void
logpipe_pump_hup(struct logpipe *lp)
{
	if (!lp->closing && lp->started && !lp->eof && lp->teed == 0)
		logpipe_eof(lp);
	logpipe_pump(lp);
}

/* A full sink had room again: hands on what lp holds, reads on. */
static void
logpipe_room(struct logfile_waiter *w)
{
	struct logpipe *lp = (struct logpipe *)(void *)((char *)w -
	    offsetof(struct logpipe, waiter));

	if (logpipe_hand_on(lp, lp->eof) == -1)
		return;
	lp->paused = 0;
	logpipe_pump(lp);
}

/*
 * The child runs: lp reads its pipe from now on. A fresh pipe (the
 * engine's own, logpipe_open()) in the epoll set is not pumped now: the
 * set reports it at once when the app wrote to it (or closed it) before
 * it joined (an edge-triggered watch starts with the pipe's readiness),
 * and a tee of a pipe that holds nothing is a system call for nothing.
 * A pipe from the keeper is pumped at once, as before.
 */
void
logpipe_start(struct logpipe *lp, int fresh)
{
	if (lp->fd == -1 || lp->started || lp->closing)
		return;
	lp->started = 1;
	logpipe_watch(lp);
	if (!fresh || !lp->watched)
		logpipe_pump(lp);
}

/*
 * Shutdown: hands on the rest of what lp holds, as far as the sinks take
 * it (what they do not take stays in the pipe for the next reader).
 */
void
logpipe_flush(struct logpipe *lp)
{
	if (lp->closing || !lp->started)
		return;
	if (logpipe_hand_on(lp, 1) == -1)
		logfile_cancel_wait(&lp->waiter);
	lp->paused = 0;
}

/*
 * Consumes what the sinks have written and closes lp now (at once: a
 * process that left the instance's group may hold the pipe); lp->closed
 * runs on the loop afterwards. For a pipe never opened or started too.
 */
void
logpipe_close(struct logpipe *lp)
{
	if (lp->closing)
		return;
	if (lp->started)
		(void)logpipe_consume(lp);
	lp->closing = 1;
	logfile_cancel_wait(&lp->waiter);
	logpipe_unwait(lp);
	logpipe_unwatch(lp);
	if (lp->fd != -1)
		close(lp->fd);
	lp->fd = -1;
	uv_close((uv_handle_t *)&lp->timer, logpipe_closed);
}
