/* SPDX-License-Identifier: ISC */
/*
 * The daemon's own log: timestamped lines appended to a file (corrald.log,
 * never through a symbolic link) or written to stderr in the foreground
 * (and there only, reopen or not). log_reopen() lets an external rotation
 * (SIGUSR1) move the file away. It also rotates by itself: past a size set
 * with log_set_rotate(), the file is renamed to .1 (older ones shift, the
 * oldest past the count goes) and a new one is opened, between two lines.
 * The size is counted as lines are written, not asked of the file after
 * each (a stop of 500 instances writes 1,000 lines): it is read again
 * every LOG_RESTAT_LINES lines and before a rotation, so that a file
 * truncated by someone else is not rotated early, nor one appended by
 * someone else rotated much late.
 * Every call keeps errno as it found it; calls from several threads (the
 * daemon's log writer) are serialized. On stderr a line never waits
 * (errout.c): a full pipe to a stalled log collector drops lines, counted,
 * instead of stalling the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "errout.h"

#define LOG_LINE 512             /* a line's bytes made without malloc */
#define LOG_RESTAT_LINES 256    /* lines written between two fstat()s */

/* A line being made: in place, on the heap once it outgrows that. */
struct log_line {
	char *p;
	size_t len, cap;
	char inplace[LOG_LINE];
};

static FILE *log_file;
static char *log_file_path;
static uint64_t log_size;               /* the file's, as counted */
static unsigned log_unstat;             /* lines since the last fstat */
static time_t log_stamp_sec = -1;       /* the second log_stamp shows */
static char log_stamp[32];
static int log_stderr;                  /* LOG_TO_STDERR: never a file */
static int log_verbose;
static uint64_t log_rotate_size;        /* 0: never */
static int log_rotate_keep;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct errout log_err;           /* stderr, never waited on */

void
log_set_rotate(uint64_t size, int keep)
{
	log_rotate_size = size;
	log_rotate_keep = keep > 0 ? keep : 1;
}

static int log_reopen_locked(void);

/* Renames the file away (.1 ... .keep) and opens a new one. Mutex held. */
static void
log_rotate(void)
{
	char *from, *to;
	int k;

	for (k = log_rotate_keep - 1; k >= 0; k--) {
		if (k == 0)
			from = xstrdup(log_file_path);
		else
			xasprintf(&from, "%s.%d", log_file_path, k);
		xasprintf(&to, "%s.%d", log_file_path, k + 1);
		if (k == log_rotate_keep - 1)
			(void)unlink(to);
		(void)rename(from, to);
		free(from);
		free(to);
	}
	(void)log_reopen_locked();
}

void
log_init(const char *path, int flags)
{
	free(log_file_path);
	log_file_path = path != NULL ? xstrdup(path) : NULL;
	log_stderr = (flags & LOG_TO_STDERR) != 0;
	if (log_stderr || path == NULL) {
		log_file = stderr;
		return;
	}
	if (log_reopen() == -1)
		log_file = stderr;
}

int
log_reopen(void)
{
	int rc;

	pthread_mutex_lock(&log_mutex);
	rc = log_reopen_locked();
	pthread_mutex_unlock(&log_mutex);
	return rc;
}

static int
log_reopen_locked(void)
{
	struct stat st;
	FILE *f;
	int fd;

	if (log_file_path == NULL || log_stderr)
		return 0;
	fd = open(log_file_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0600);
	/* Only a regular file: a FIFO planted there must not stall us. */
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd == -1 || (f = fdopen(fd, "a")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file != NULL && log_file != stderr)
		fclose(log_file);
	log_file = f;
	log_size = (uint64_t)st.st_size;
	log_unstat = 0;
	return 0;
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

static void
log_line_put(struct log_line *l, const char *p, size_t n)
{
	size_t cap;

	if (n > l->cap - l->len) {
		cap = l->cap * 2 > l->len + n ? l->cap * 2 : l->len + n;
		if (l->p == l->inplace) {
			l->p = xmalloc(cap);
			memcpy(l->p, l->inplace, l->len);
		} else
			l->p = xrealloc(l->p, cap);
		l->cap = cap;
	}
	memcpy(l->p + l->len, p, n);
	l->len += n;
}

/* Whether msg is written as it is: printable ASCII and tabs only. */
static int
log_plain(const char *msg)
{
	const unsigned char *p;

	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Adds the message as one line of valid UTF-8: control characters as
 * \n, \r or \xNN (a name or path given by a user cannot start a line of
 * its own), bytes that are not UTF-8 escaped by utf8_escape().
 */
static void
log_put(struct log_line *l, const char *msg)
{
	const char *p;
	char *clean, x[8];
	size_t n;

	if (log_plain(msg)) {
		log_line_put(l, msg, strlen(msg));
		return;
	}
	clean = utf8_escape(msg, strlen(msg), &n);
	for (p = clean; *p != '\0'; p++) {
		if (*p == '\n')
			log_line_put(l, "\\n", 2);
		else if (*p == '\r')
			log_line_put(l, "\\r", 2);
		else if ((*p > 0 && *p < 0x20 && *p != '\t') || *p == 0x7f) {
			snprintf(x, sizeof x, "\\x%02x",
			    (unsigned)(unsigned char)*p);
			log_line_put(l, x, 4);
		} else
			log_line_put(l, p, 1);
	}
	free(clean);
}

/*
 * "2026-01-02T03:04:05.678 ": the local time of the second is made once
 * a second (localtime_r() and strftime() are most of a short line's
 * cost). Mutex held.
 */
static void
log_put_stamp(struct log_line *l)
{
	struct timespec ts;
	struct tm tm;
	char ms[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != log_stamp_sec) {
		localtime_r(&ts.tv_sec, &tm);
		if (strftime(log_stamp, sizeof log_stamp, "%Y-%m-%dT%H:%M:%S",
		    &tm) == 0)
			log_stamp[0] = '\0';
		log_stamp_sec = ts.tv_sec;
	}
	log_line_put(l, log_stamp, strlen(log_stamp));
	snprintf(ms, sizeof ms, ".%03ld ", ts.tv_nsec / 1000000 % 1000);
	log_line_put(l, ms, strlen(ms));
}

/*
 * Counts n bytes written to f and rotates the file once it has reached
 * the size: only then, and every LOG_RESTAT_LINES lines, is the file's
 * own size asked for. Mutex held.
 */
static void
log_count(FILE *f, size_t n)
{
	struct stat st;

	if (log_rotate_size == 0 || f == stderr || log_file_path == NULL)
		return;
	log_size += n;
	if (log_size < log_rotate_size && ++log_unstat < LOG_RESTAT_LINES)
		return;
	log_unstat = 0;
	if (fstat(fileno(f), &st) == -1)
		return;
	log_size = (uint64_t)st.st_size;
	if (log_size >= log_rotate_size)
		log_rotate();
}

static void PRINTFLIKE(2, 0)
log_vwrite(const char *level, const char *fmt, va_list ap, const char *err)
{
	struct log_line l;
	char buf[LOG_LINE], *msg = buf;
	va_list aq;
	FILE *f;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0)
		msg = NULL;
	else if ((size_t)n >= sizeof buf && vasprintf(&msg, fmt, aq) == -1)
		msg = NULL;
	va_end(aq);
	l.p = l.inplace;
	l.len = 0;
	l.cap = sizeof l.inplace;
	/*
	 * The line is made in memory and written with one write(2): stderr
	 * is unbuffered, and a foreground daemon shares it with its keeper,
	 * whose lines must not land inside ours.
	 */
	pthread_mutex_lock(&log_mutex);
	f = log_file != NULL ? log_file : stderr;
	log_put_stamp(&l);
	log_line_put(&l, level, strlen(level));
	log_line_put(&l, " ", 1);
	log_put(&l, msg != NULL ? msg : fmt);
	if (err != NULL) {
		log_line_put(&l, ": ", 2);
		log_line_put(&l, err, strlen(err));
	}
	log_line_put(&l, "\n", 1);
	if (f == stderr)
		errout_write(&log_err, l.p, l.len);
	else {
		(void)fwrite(l.p, 1, l.len, f);
		fflush(f);
	}
	log_count(f, l.len);
	pthread_mutex_unlock(&log_mutex);
	if (msg != buf)
		free(msg);
	if (l.p != l.inplace)
		free(l.p);
}

#define LOG_BODY(level, with_errno) do {				\
	int saved = errno;						\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vwrite(level, fmt, ap, with_errno ? strerror(saved) : NULL);\
	va_end(ap);							\
	errno = saved;							\
} while (0)

void
log_info(const char *fmt, ...)
{
	LOG_BODY("info", 0);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY("debug", 0);
}

void
log_warn(const char *fmt, ...)
{
	LOG_BODY("warn", 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY("warn", 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY("fatal", 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal", 0);
	exit(1);
}
