/* SPDX-License-Identifier: ISC */
/*
 * Where the lines of an app's instances go: its log files (out, error, an
 * optional combined one; one for all instances or one per instance), the
 * journal, and every connection that follows the logs. Lines are cut from
 * each pipe's buffer here, formatted (timestamp, prefix or JSON) and queued
 * to the log writer thread (logwriter.c); when a file's queue is full the
 * pipe stops being read until the writer has room, so a flat-out app is
 * slowed down instead of growing the daemon's memory or losing lines, and
 * other apps, which have queues of their own, are not held up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "corrald.h"

/* A longer line is written in pieces of this size, as core cuts them. */
#define LOGSINK_PIECE LOG_LINE_MAX
/* Lines are formatted and queued in batches of about this size. */
#define LOGSINK_BATCH (32 * 1024)

struct applogs {
	struct logfmt fmt;
	struct logrotate_opts ro;
	int files;                      /* write files */
	int journal;                    /* send to the journal */
	int merge;
	char *out_path;                 /* base names */
	char *err_path;
	struct logfile *out, *err, *comb;
	struct logfile **iout, **ierr;  /* per instance when not merged */
	int ninst;
	char *buf;                      /* a formatted line */
	size_t bufsize;
	uid_t uid;                      /* owner of the folders it makes, */
	gid_t gid;                      /* (uid_t)-1: the daemon's */
};

static struct logfile *logsink_journal_file;

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
	logsink_journal_file = NULL;
}

/* Checks the log settings of c before an app is made of it. */
int
logsink_check(const struct app_config *c, char **cause)
{
	if (c->log_type != NULL && strcmp(c->log_type, "raw") != 0 &&
	    strcmp(c->log_type, "text") != 0 &&
	    strcmp(c->log_type, "json") != 0) {
		xasprintf(cause, "log_type: '%s' is not raw, text or json",
		    c->log_type);
		return -1;
	}
	if (c->log_sink != NULL && strcmp(c->log_sink, "file") != 0 &&
	    strcmp(c->log_sink, "journal") != 0 &&
	    strcmp(c->log_sink, "both") != 0) {
		xasprintf(cause, "log_sink: '%s' is not file, journal or both",
		    c->log_sink);
		return -1;
	}
	if (c->log_date_format != NULL && strlen(c->log_date_format) > 60) {
		xasprintf(cause, "log_date_format: too long");
		return -1;
	}
	return 0;
}

/* base with "-N" before its ".log" (or at its end). The caller frees. */
static char *
logsink_instance_path(const char *base, int index)
{
	size_t n = strlen(base);
	char *p;

	if (n > 4 && strcmp(base + n - 4, ".log") == 0)
		xasprintf(&p, "%.*s-%d.log", (int)(n - 4), base, index);
	else
		xasprintf(&p, "%s-%d", base, index);
	return p;
}

/* The path set for a log file, or logs/<name><suffix>. The caller frees. */
static char *
logsink_path(const char *set, const char *cwd, const char *suffix,
    const char *name)
{
	char *p;

	if (set == NULL)
		xasprintf(&p, "%s/%s%s", D.logs_dir, name, suffix);
	else if (set[0] == '/' || cwd == NULL)
		p = xstrdup(set);
	else
		xasprintf(&p, "%s/%s", cwd, set);
	return p;
}

/* Opens path, after making its folder (owned as l says) if it is missing. */
static struct logfile *
logsink_open_path(struct applogs *l, const char *path, char **cause)
{
	if (strcmp(path, "/dev/null") == 0 || strcmp(path, "NULL") == 0)
		return NULL;
	if (logdir_make(path, l->uid, l->gid, cause) == -1)
		return NULL;
	return logfile_open_file(path, &l->ro, cause);
}

static void
logsink_free(struct applogs *l)
{
	int i;

	if (l->out != NULL)
		logfile_close(l->out);
	if (l->err != NULL)
		logfile_close(l->err);
	if (l->comb != NULL)
		logfile_close(l->comb);
	for (i = 0; i < l->ninst; i++) {
		if (l->iout[i] != NULL)
			logfile_close(l->iout[i]);
		if (l->ierr[i] != NULL)
			logfile_close(l->ierr[i]);
	}
	free(l->iout);
	free(l->ierr);
	free(l->out_path);
	free(l->err_path);
	free((char *)l->fmt.date_format);
	free(l->buf);
	free(l);
}

/* Opens the app's log files (per-instance ones as their lines come). */
int
logsink_open(struct app *app, char **cause)
{
	const struct app_config *c = &app->cfg;
	struct applogs *l;
	const char *df = c->log_date_format;
	char *path;

	if (logsink_check(c, cause) == -1)
		return -1;
	l = xcalloc(1, sizeof *l);
	logdir_owner(c, &l->uid, &l->gid);
	if (df == NULL && c->time)
		df = LOGFMT_DEFAULT_DATE;
	logfmt_init(&l->fmt, c->log_type != NULL &&
	    strcmp(c->log_type, "json") == 0 ? LOGFMT_JSON : LOGFMT_PLAIN,
	    NULL, 0, (int)c->log_prefix);
	if (df != NULL || l->fmt.type == LOGFMT_JSON)
		l->fmt.date_format = momentfmt_to_strftime(df != NULL ? df :
		    LOGFMT_DEFAULT_DATE);
	l->ro.max_size = c->max_log_size;
	l->ro.retain = (int)c->retain_logs;
	l->ro.compress = (int)c->compress_logs;
	l->ro.max_age_ms = c->max_log_age;
	l->merge = (int)c->merge_logs;
	l->files = !c->disable_logs && (c->log_sink == NULL ||
	    strcmp(c->log_sink, "journal") != 0);
	l->journal = c->log_sink != NULL && strcmp(c->log_sink, "file") != 0;
	l->out_path = logsink_path(c->out_file, c->cwd, "-out.log",
	    c->name);
	l->err_path = logsink_path(c->error_file, c->cwd, "-error.log",
	    c->name);
	free(app->log_out_path);
	free(app->log_err_path);
	app->log_out_path = xstrdup(l->out_path);
	app->log_err_path = xstrdup(l->err_path);
	app->logs = l;
	if (l->journal && logsink_journal_file == NULL)
		logsink_journal_file = logfile_open_journal();
	if (!l->files)
		return 0;
	if (c->log_file != NULL && strcmp(c->log_file, "false") != 0) {
		/* PM2's --log without a path: logs/NAME.log */
		path = logsink_path(strcmp(c->log_file, "true") == 0 ? NULL :
		    c->log_file, c->cwd, ".log", c->name);
		l->comb = logsink_open_path(l, path, cause);
		free(path);
		if (l->comb == NULL && *cause != NULL)
			goto fail;
	}
	if (!l->merge)
		return 0;
	if ((l->out = logsink_open_path(l, l->out_path, cause)) == NULL &&
	    *cause != NULL)
		goto fail;
	if ((l->err = logsink_open_path(l, l->err_path, cause)) == NULL &&
	    *cause != NULL)
		goto fail;
	return 0;
fail:
	app->logs = NULL;
	logsink_free(l);
	return -1;
}

void
logsink_close(struct app *app)
{
	if (app->logs != NULL)
		logsink_free(app->logs);
	app->logs = NULL;
	free(app->log_out_path);
	free(app->log_err_path);
	app->log_out_path = app->log_err_path = NULL;
}

/* The file for a line of instance index on stream, opened if need be. */
static struct logfile *
logsink_file(struct app *app, int index, int stream)
{
	struct applogs *l = app->logs;
	struct logfile **slot;
	char *path, *cause = NULL;
	int i;

	if (l->merge)
		return stream == 2 ? l->err : l->out;
	if (index < 0 || index > 65535)
		return NULL;
	if (index >= l->ninst) {
		l->iout = xreallocarray(l->iout, (size_t)index + 1, sizeof *l->iout);
		l->ierr = xreallocarray(l->ierr, (size_t)index + 1, sizeof *l->ierr);
		for (i = l->ninst; i <= index; i++)
			l->iout[i] = l->ierr[i] = NULL;
		l->ninst = index + 1;
	}
	slot = stream == 2 ? &l->ierr[index] : &l->iout[index];
	if (*slot == NULL) {
		path = logsink_instance_path(stream == 2 ? l->err_path :
		    l->out_path, index);
		if ((*slot = logsink_open_path(l, path, &cause)) == NULL &&
		    cause != NULL) {
			log_warnx("%s: %s", app->cfg.name, cause);
			free(cause);
		}
		free(path);
	}
	return *slot;
}

/* Whether a connection follows app's lines. */
static int
logsink_followed(struct app *app)
{
	struct conn *c;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (c->streaming && !c->closing && (c->log_filter == NULL ||
		    strcmp(c->log_filter, app->cfg.name) == 0))
			return 1;
	}
	return 0;
}

static json_t *
logsink_event(struct app *app, int index, int stream, const char *line,
    size_t len, uint64_t t)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s%, s:I}", "event", "log",
	    "app", app->cfg.name, "instance", index,
	    "stream", stream == 2 ? "err" : "out", "line", line, len,
	    "time", (json_int_t)t);
}

static void
logsink_broadcast(struct app *app, int index, int stream, const char *line,
    size_t len, uint64_t t)
{
	struct conn *c;
	json_t *ev = NULL;
	char *clean = NULL;
	size_t clean_len;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (!c->streaming || c->closing)
			continue;
		if (c->log_filter != NULL && strcmp(c->log_filter,
		    app->cfg.name) != 0)
			continue;
		if (ev == NULL)
			ev = logsink_event(app, index, stream, line, len, t);
		if (ev == NULL && clean == NULL) {
			/* Not UTF-8: the file has the bytes, readers get U+FFFD. */
			clean = utf8_sanitize(line, len, &clean_len);
			ev = logsink_event(app, index, stream, clean, clean_len,
			    t);
		}
		if (ev != NULL)
			conn_event(c, ev);
	}
	json_decref(ev);
	free(clean);
}

/* Whether f cannot take n bytes now; if so, w waits for it. */
static int
logsink_full(struct logfile *f, size_t n, struct logfile_waiter *w)
{
	if (f == NULL || !logfile_blocks(f, n))
		return 0;
	if (w != NULL)
		logfile_wait(f, w);
	return 1;
}

/*
 * The next line of the rem bytes at p: its length without newline in *len
 * and the bytes it takes in *adv. Returns 0 when no whole line is there
 * (unless all). A line longer than LOGSINK_PIECE is cut into pieces.
 */
static int
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

/* Formats a line into l->buf at offset at; returns its length. */
static size_t
logsink_format(struct app *app, int index, int stream, uint64_t t,
    const char *line, size_t len, size_t at)
{
	struct applogs *l = app->logs;
	const char *sname = stream == 2 ? "err" : "out";
	size_t n;

	if (l->fmt.type == LOGFMT_PLAIN && l->fmt.date_format == NULL &&
	    !l->fmt.prefix_instance && at + len + 1 <= l->bufsize) {
		memcpy(l->buf + at, line, len);
		l->buf[at + len] = '\n';
		return len + 1;
	}
	n = logfmt_line(&l->fmt, app->cfg.name, index, sname, t, line, len,
	    l->buf + at, l->bufsize - at);
	if (at + n > l->bufsize) {
		l->bufsize = at + n + LOGSINK_BATCH;
		l->buf = xrealloc(l->buf, l->bufsize);
		n = logfmt_line(&l->fmt, app->cfg.name, index, sname, t, line,
		    len, l->buf + at, l->bufsize - at);
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
 * for the files; jneed bytes for the journal): all of them, or none and
 * returns -1 with w waiting for the full file.
 */
static int
logsink_commit(struct app *app, int index, int stream, uint64_t t,
    const char *p, size_t from, size_t to, const char *data, size_t n,
    size_t jneed, int all, struct logfile_waiter *w)
{
	struct applogs *l = app->logs;
	struct logfile *f = NULL, *j = NULL;
	size_t off, len, adv;

	if (l != NULL && l->files)
		f = logsink_file(app, index, stream);
	if (l != NULL && l->journal)
		j = logsink_journal_file;
	if (logsink_full(f, n, w) || logsink_full(l != NULL ? l->comb : NULL,
	    n, w) || logsink_full(j, jneed, w))
		return -1;
	logsink_count(app, stream, p + from, to - from, all);
	if (f != NULL && n > 0)
		logfile_write(f, data, n);
	if (l != NULL && l->comb != NULL && n > 0)
		logfile_write(l->comb, data, n);
	if (j == NULL && !logsink_followed(app))
		return 0;
	for (off = from; off < to && logsink_next(p + off, to - off, all, &len,
	    &adv); off += adv) {
		if (j != NULL)
			logfile_journal(j, app->cfg.name, index, stream == 2 ?
			    LOG_ERR : LOG_INFO, p + off, len);
		logsink_broadcast(app, index, stream, p + off, len, t);
	}
	return 0;
}

/* One line from outside a pipe (never waits: a full file drops it). */
void
logsink_line(struct app *app, int index, int stream, const char *line,
    size_t len)
{
	size_t n = 0;

	if (len > LOGSINK_PIECE)
		len = LOGSINK_PIECE;
	if (app->logs != NULL)
		n = logsink_format(app, index, stream, now_ms(), line, len, 0);
	(void)logsink_commit(app, index, stream, now_ms(), line, 0, len,
	    app->logs != NULL ? app->logs->buf : NULL, n, len + 300, 1, NULL);
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
	struct app *app = child->app;
	int files = app->logs != NULL && app->logs->files;
	uint64_t t = now_ms();
	size_t done = 0, off = 0, n = 0, jneed = 0, len, adv;
	const char *nl;
	int rc = 0;

	/*
	 * Lines written as they are, no journal: the whole lines of the buffer
	 * go at once, without a copy. (Shorter than a piece: none is cut.)
	 */
	if (files && !app->logs->journal && app->logs->fmt.type ==
	    LOGFMT_PLAIN && app->logs->fmt.date_format == NULL &&
	    !app->logs->fmt.prefix_instance && lb->len > 0 &&
	    lb->len < LOGSINK_PIECE &&
	    (nl = memrchr(lb->buf, '\n', lb->len)) != NULL) {
		off = (size_t)(nl - lb->buf) + 1;
		if (logsink_commit(app, child->index, lp->stream, t, lb->buf, 0,
		    off, lb->buf, off, 0, all, &lp->waiter) == -1)
			return -1;
		done = off;
	}
	for (;;) {
		if (off == lb->len || !logsink_next(lb->buf + off,
		    lb->len - off, all, &len, &adv) || n >= LOGSINK_BATCH) {
			if (off > done && logsink_commit(app, child->index,
			    lp->stream, t, lb->buf, done, off, app->logs != NULL ?
			    app->logs->buf : NULL, n, jneed, all,
			    &lp->waiter) == -1) {
				rc = -1;
				break;
			}
			done = off;
			n = jneed = 0;
			if (off == lb->len || !logsink_next(lb->buf + off,
			    lb->len - off, all, &len, &adv))
				break;
		}
		if (files)
			n += logsink_format(app, child->index, lp->stream, t,
			    lb->buf + off, len, n);
		jneed += 17 + strlen(app->cfg.name) + len;
		off += adv;
	}
	if (done > 0) {
		memmove(lb->buf, lb->buf + done, lb->len - done);
		lb->len -= done;
		lb->buf[lb->len] = '\0';
	}
	if (app->logs != NULL && app->logs->bufsize > 4 * LOGSINK_BATCH) {
		/* after a long line: back to the usual size */
		app->logs->bufsize = 2 * LOGSINK_BATCH;
		app->logs->buf = xrealloc(app->logs->buf, app->logs->bufsize);
	}
	return rc;
}

static void
logsink_each(struct app *app, void (*fn)(struct logfile *))
{
	struct applogs *l = app->logs;
	int i;

	if (l == NULL)
		return;
	if (l->out != NULL)
		fn(l->out);
	if (l->err != NULL)
		fn(l->err);
	if (l->comb != NULL)
		fn(l->comb);
	for (i = 0; i < l->ninst; i++) {
		if (l->iout[i] != NULL)
			fn(l->iout[i]);
		if (l->ierr[i] != NULL)
			fn(l->ierr[i]);
	}
}

/* Empties the app's files and removes their rotated copies (corral flush). */
int
logsink_flush(struct app *app)
{
	logsink_each(app, logfile_flush);
	return 0;
}

/* Reopens every file, after an outside rotation (SIGUSR1, reloadLogs). */
void
logsink_reopen_all(void)
{
	if (log_reopen() == -1)
		log_warn("reopening the daemon's log");
	logwriter_reopen_all();
}

static json_t *logsink_status_json;

static void
logsink_status_one(struct logfile *f)
{
	uint64_t lost;
	int err = logfile_error(f, &lost);

	if (err == 0 && lost == 0)
		return;
	json_array_append_new(logsink_status_json, json_pack("{s:s, s:s?, s:I}",
	    "path", logfile_path(f), "error", err != 0 ? strerror(err) : NULL,
	    "lines_lost", (json_int_t)lost));
}

static uint64_t logsink_dropped_sum;

static void
logsink_dropped_one(struct logfile *f)
{
	uint64_t lost;

	(void)logfile_error(f, &lost);
	logsink_dropped_sum += lost;
}

/* Lines of app lost to write errors of its files, in *n; -1 without files. */
int
logsink_dropped(struct app *app, uint64_t *n)
{
	if (app->logs == NULL)
		return -1;
	logsink_dropped_sum = 0;
	logsink_each(app, logsink_dropped_one);
	*n = logsink_dropped_sum;
	return 0;
}

/* The files of app that fail or have lost lines, for describe. */
json_t *
logsink_status(struct app *app)
{
	json_t *a = json_array();

	logsink_status_json = a;
	logsink_each(app, logsink_status_one);
	logsink_status_json = NULL;
	return a;
}

static void
logsink_file_json(json_t *files, struct app *app, const char *stream,
    struct logfile *f, int instance)
{
	struct applogs *l = app->logs;

	if (f == NULL)
		return;
	json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:s?, s:s, "
	    "s:i}", "app", app->cfg.name, "stream", stream, "path",
	    logfile_path(f), "date_format", l->fmt.type == LOGFMT_JSON ? NULL :
	    l->fmt.date_format, "type", l->fmt.type == LOGFMT_JSON ? "json" :
	    "raw", "instance", instance));
}

/* Appends the app's log files (stdout ones if out, stderr if err) to files. */
void
logsink_files(struct app *app, json_t *files, int out, int err)
{
	struct applogs *l = app->logs;
	int i;

	if (l == NULL)
		return;
	if (out)
		logsink_file_json(files, app, "out", l->out, -1);
	if (err)
		logsink_file_json(files, app, "err", l->err, -1);
	for (i = 0; i < l->ninst; i++) {
		if (out)
			logsink_file_json(files, app, "out", l->iout[i], i);
		if (err)
			logsink_file_json(files, app, "err", l->ierr[i], i);
	}
}
