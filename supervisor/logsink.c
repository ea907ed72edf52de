/* SPDX-License-Identifier: ISC */
/*
 * Cutting the lines of an app's instances and handing them on: lines are
 * cut from each pipe's buffer here, formatted (timestamp, prefix or JSON)
 * in batches and committed together to the app's sinks (logsink-files.c:
 * its files and the journal, queued to the log writer thread, logwriter.c)
 * and to the connections that follow the logs (logfollow.c). When a
 * file's queue is full the pipe stops being read until the writer has
 * room, so a flat-out app is slowed down instead of growing the daemon's
 * memory or losing lines, and other apps, which have queues of their own,
 * are not held up.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* A longer line is written in pieces of this size, as core cuts them. */
#define LOGSINK_PIECE LOG_LINE_MAX
/* Lines are formatted and queued in batches of about this size. */
#define LOGSINK_BATCH (32 * 1024)

static void
logsink_file_event(struct logfile *f, int kind, int err, uint64_t dropped)
{
	if (kind == LOGFILE_EV_ERROR)
		log_warnx("%s: %s; lines are dropped (and counted) until "
		    "writing works again", logfile_path(f), strerror(err));
	else if (kind == LOGFILE_EV_RECOVERED)
		log_info("%s: writing works again, %llu lines were lost",
		    logfile_path(f), (unsigned long long)dropped);
}

void
logsink_start(void)
{
	char *cause = NULL;

	if (logwriter_start(D.loop, logsink_file_event, &cause) == -1)
		fatalx("log writer: %s", cause);
}

/* Writes out what is queued and stops the writer (daemon exit). */
void
logsink_stop(void)
{
	logwriter_stop();
	logsink_forget_journal();
}

/*
 * The next line of the rem bytes at p: its length without newline in *len
 * and the bytes it takes in *adv. Returns 0 when no whole line is there
 * (unless all). A line longer than LOGSINK_PIECE is cut into pieces.
 */
int
logsink_next(const char *p, size_t rem, int all, size_t *len, size_t *adv)
{
	const char *nl;

	nl = memchr(p, '\n', rem < LOGSINK_PIECE + 1 ? rem : LOGSINK_PIECE + 1);
	if (nl != NULL) {
		*len = (size_t)(nl - p);
		*adv = *len + 1;
		return 1;
	}
	if (rem >= LOGSINK_PIECE || (all && rem > 0)) {
		*len = *adv = rem < LOGSINK_PIECE ? rem : LOGSINK_PIECE;
		return 1;
	}
	return 0;
}

/*
 * The lines of one batch, formatted: one buffer for every app, since a
 * batch is formatted and handed on (or dropped, to be formatted again)
 * before the loop does anything else.
 */
static char *logsink_buf;
static size_t logsink_bufsize;

/* Formats a line into logsink_buf at offset at; returns its length. */
static size_t
logsink_format(struct app *app, int index, int stream, uint64_t t,
    const char *line, size_t len, size_t at)
{
	struct applogs *l = app->logs;
	const char *sname = stream == 2 ? "err" : "out";
	size_t n;

	if (l->fmt.type == LOGFMT_PLAIN && l->fmt.date_format == NULL &&
	    !l->fmt.prefix_instance && at + len + 1 <= logsink_bufsize) {
		memcpy(logsink_buf + at, line, len);
		logsink_buf[at + len] = '\n';
		return len + 1;
	}
	n = logfmt_line(&l->fmt, app->cfg.name, index, sname, t, line, len,
	    logsink_buf + at, logsink_bufsize - at);
	if (at + n > logsink_bufsize) {
		logsink_bufsize = at + n + LOGSINK_BATCH;
		logsink_buf = xrealloc(logsink_buf, logsink_bufsize);
		n = logfmt_line(&l->fmt, app->cfg.name, index, sname, t, line,
		    len, logsink_buf + at, logsink_bufsize - at);
	}
	return n;
}

/* Counts the lines and bytes of [p, p + n) for the metrics. */
static void
logsink_count(struct app *app, int stream, const char *p, size_t n, int all)
{
	const char *end = p + n, *nl;
	uint64_t lines = 0;

	app->counters.log_bytes[stream == 2] += n;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p = nl + 1;
	}
	if (all && p < end)
		lines++;
	app->counters.log_lines[stream == 2] += lines;
}

/*
 * Hands on the lines of [from, to) of p (formatted as the n bytes at data
 * for the files; jneed bytes for the journal) to the app's files, journal
 * and followers: all of them, or none and returns -1 with w waiting for
 * the full sink.
 */
static int
logsink_commit(struct app *app, int index, int stream, uint64_t t,
    const char *p, size_t from, size_t to, const char *data, size_t n,
    size_t jneed, int all, struct logfile_waiter *w)
{
	int journal = app->logs != NULL && app->logs->journal;
	size_t off, len, adv;

	if (logsink_blocked(app, index, stream, n, jneed, w))
		return -1;
	logsink_count(app, stream, p + from, to - from, all);
	logsink_write(app, index, stream, data, n);
	if (!journal && !logfollow_wanted(app))
		return 0;
	for (off = from; off < to && logsink_next(p + off, to - off, all, &len,
	    &adv); off += adv) {
		if (journal)
			logsink_write_journal(app, index, stream, p + off, len);
		logfollow_send(app, index, stream, p + off, len, t);
	}
	return 0;
}

/*
 * Whether the app's lines go to its files as they are and nowhere else:
 * then the whole lines of a buffer are handed on at once, without a copy.
 */
static int
logsink_verbatim(const struct applogs *l)
{
	return l != NULL && l->files && !l->journal &&
	    l->fmt.type == LOGFMT_PLAIN && l->fmt.date_format == NULL &&
	    !l->fmt.prefix_instance;
}

/*
 * Hands the lines of lp's buffer from *done on in batches of about
 * LOGSINK_BATCH formatted bytes; *done moves past each batch handed on.
 * Returns -1 when a sink is full (lp->waiter waits), else 0.
 */
static int
logsink_batches(struct logpipe *lp, int all, uint64_t t, size_t *done)
{
	struct linebuf *lb = &lp->lb;
	struct child *child = lp->child;
	struct app *app = child->app;
	int files = app->logs != NULL && app->logs->files;
	size_t off = *done, n = 0, jneed = 0, len, adv;

	for (;;) {
		if (off == lb->len || !logsink_next(lb->buf + off,
		    lb->len - off, all, &len, &adv) || n >= LOGSINK_BATCH) {
			if (off > *done && logsink_commit(app, child->index,
			    lp->stream, t, lb->buf, *done, off, logsink_buf, n,
			    jneed, all, &lp->waiter) == -1)
				return -1;
			*done = off;
			n = jneed = 0;
			if (off == lb->len || !logsink_next(lb->buf + off,
			    lb->len - off, all, &len, &adv))
				return 0;
		}
		if (files)
			n += logsink_format(app, child->index, lp->stream, t,
			    lb->buf + off, len, n);
		jneed += 17 + strlen(app->cfg.name) + len;
		off += adv;
	}
}

/*
 * Hands the whole lines of lp's buffer (with all, the rest too) to the
 * app's logs, in batches. Returns 0 when done, -1 when a log file is full:
 * the caller stops reading lp; lp->waiter's callback runs once there is
 * room.
 */
int
logsink_drain(struct logpipe *lp, int all)
{
	struct linebuf *lb = &lp->lb;
	struct child *child = lp->child;
	uint64_t t = now_ms();
	size_t done = 0;
	const char *nl;
	int rc;

	/* Shorter than a piece: no line is cut. */
	if (logsink_verbatim(child->app->logs) && lb->len > 0 &&
	    lb->len < LOGSINK_PIECE &&
	    (nl = memrchr(lb->buf, '\n', lb->len)) != NULL) {
		done = (size_t)(nl - lb->buf) + 1;
		if (logsink_commit(child->app, child->index, lp->stream, t,
		    lb->buf, 0, done, lb->buf, done, 0, all, &lp->waiter) == -1)
			return -1;
	}
	rc = logsink_batches(lp, all, t, &done);
	if (done > 0) {
		memmove(lb->buf, lb->buf + done, lb->len - done);
		lb->len -= done;
		lb->buf[lb->len] = '\0';
	}
	if (logsink_bufsize > 4 * LOGSINK_BATCH) {
		/* after a long line: back to the usual size */
		logsink_bufsize = 2 * LOGSINK_BATCH;
		logsink_buf = xrealloc(logsink_buf, logsink_bufsize);
	}
	return rc;
}
