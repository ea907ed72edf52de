/* SPDX-License-Identifier: ISC */
/*
 * The daemon's own log: timestamped lines appended to a file (corrald.log,
 * never through a symbolic link) or written to stderr in the foreground
 * (and there only, reopen or not). log_reopen() lets an external rotation
 * (SIGUSR1) move the file away. It also rotates by itself: past a size set
 * with log_set_rotate(), the file is renamed to .1 (older ones shift, the
 * oldest past the count goes) and a new one is opened, between two lines.
 * Every call keeps errno as it found it; calls from several threads (the
 * daemon's log writer) are serialized.
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

static FILE *log_file;
static char *log_file_path;
static int log_stderr;                  /* LOG_TO_STDERR: never a file */
static int log_verbose;
static uint64_t log_rotate_size;        /* 0: never */
static int log_rotate_keep;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;

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
	return 0;
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

/*
 * Writes the message as one line of valid UTF-8: control characters as
 * \n, \r or \xNN (a name or path given by a user cannot start a line of
 * its own), bytes that are not UTF-8 escaped by utf8_escape().
 */
static void
log_put(FILE *f, const char *msg)
{
	const char *p;
	char *clean;
	size_t n;

	clean = utf8_escape(msg, strlen(msg), &n);
	for (p = clean; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\r')
			fputs("\\r", f);
		else if ((*p > 0 && *p < 0x20 && *p != '\t') || *p == 0x7f)
			fprintf(f, "\\x%02x", (unsigned)*p);
		else
			fputc(*p, f);
	}
	free(clean);
}

static void PRINTFLIKE(2, 0)
log_vwrite(const char *level, const char *fmt, va_list ap, const char *err)
{
	struct timespec ts;
	struct tm tm;
	char when[32], *msg, *line = NULL;
	size_t len = 0;
	FILE *f, *m, *out;
	struct stat st;

	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	/*
	 * The line is made in memory and written with one write(2): stderr
	 * is unbuffered, and a foreground daemon shares it with its keeper,
	 * whose lines must not land inside ours.
	 */
	if ((m = open_memstream(&line, &len)) == NULL)
		line = NULL;
	pthread_mutex_lock(&log_mutex);
	f = log_file != NULL ? log_file : stderr;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	out = m != NULL ? m : f;
	fprintf(out, "%s.%03ld %s ", when, ts.tv_nsec / 1000000, level);
	log_put(out, msg != NULL ? msg : fmt);
	free(msg);
	if (err != NULL)
		fprintf(out, ": %s", err);
	fputc('\n', out);
	if (m != NULL && fclose(m) == 0 && line != NULL)
		(void)fwrite(line, 1, len, f);
	free(line);
	fflush(f);
	if (log_rotate_size > 0 && f != stderr && log_file_path != NULL &&
	    fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size >= log_rotate_size)
		log_rotate();
	pthread_mutex_unlock(&log_mutex);
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
