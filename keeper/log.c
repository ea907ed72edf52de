/* SPDX-License-Identifier: ISC */
/*
 * The keeper's log: lines appended to $CORRAL_HOME/keeper.log (opened
 * O_APPEND|O_NOFOLLOW|O_CLOEXEC, reopened on SIGUSR1 so that a rotation
 * by rename is followed), or stderr in the foreground. Each line is one
 * write() of at most KLOG_LINE bytes; an error writing it is ignored (the
 * keeper must not stop for a full disk). On stderr a line never waits
 * (common/errout.c): a full pipe to a stalled log collector drops lines,
 * counted, instead of stopping the keeper's loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errout.h"
#include "keeper.h"

#define KLOG_LINE 1024

static int klog_fd = 2;
static struct errout klog_err;          /* stderr, never waited on */

/*
 * Opens path for the log instead of what was in use. Returns 0, or -1 with
 * errno (keeper_open_file()): the log in use stays.
 */
int
klog_open(const char *path)
{
	int fd;

	fd = keeper_open_file(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return -1;
	if (klog_fd > 2)
		close(klog_fd);
	klog_fd = fd;
	errout_reset(&klog_err);
	return 0;
}

void
klog_stderr(void)
{
	if (klog_fd > 2)
		close(klog_fd);
	klog_fd = 2;
	errout_reset(&klog_err);
}

/* Adds what snprintf said it wrote, as far as the line holds it. */
static size_t
klog_add(size_t n, int m, size_t cap)
{
	if (m < 0)
		return n;
	return n + (size_t)m >= cap ? cap - 1 : n + (size_t)m;
}

static void
klog_line(const char *level, const char *fmt, va_list ap, int err)
{
	char line[KLOG_LINE], when[32];
	size_t cap = sizeof line - 1, n;        /* room for the newline */
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	n = klog_add(0, snprintf(line, cap, "%s.%03ld %s keeper[%d]: ", when,
	    ts.tv_nsec / 1000000, level, (int)getpid()), cap);
	n = klog_add(n, vsnprintf(line + n, cap - n, fmt, ap), cap);
	if (err != 0)
		n = klog_add(n, snprintf(line + n, cap - n, ": %s",
		    strerror(err)), cap);
	line[n++] = '\n';
	if (klog_fd == 2)
		errout_write(&klog_err, line, n);
	else
		(void)!write(klog_fd, line, n);
}

void
klog_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	klog_line("info", fmt, ap, 0);
	va_end(ap);
}

void
klog_debug(const char *fmt, ...)
{
	va_list ap;

	if (!K.verbose)
		return;
	va_start(ap, fmt);
	klog_line("debug", fmt, ap, 0);
	va_end(ap);
}

/* With strerror(errno) appended. */
void
klog_warn(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	va_start(ap, fmt);
	klog_line("warn", fmt, ap, err);
	va_end(ap);
}

void
klog_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	klog_line("warn", fmt, ap, 0);
	va_end(ap);
}

/* Start-up failures only. */
void
klog_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	klog_line("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

/* "exited with status N" or "killed by signal N" for a wait status. */
void
klog_status(char *buf, size_t len, int status)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d%s", WTERMSIG(status),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
}
