/* SPDX-License-Identifier: ISC */
/*
 * The log writer thread's file work: opening a log file, writing a buffer
 * out in whole lines, rotating between two lines when the size limit is
 * reached, sending journal records, emptying a file for `corral flush`, and
 * the notice of lines lost after a failure. Only the writer thread calls
 * these, so they take no lock except to post an event.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "logwriter-private.h"

/* After a long line: the spare buffer back to its usual size. */
static void
logfile_shrink_spare(struct logfile *s)
{
	if (s->spare_cap > LOGFILE_BUFSIZE) {
		s->spare = xrealloc(s->spare, LOGFILE_BUFSIZE);
		s->spare_cap = LOGFILE_BUFSIZE;
	}
}

/*
 * Opens (creating it when create is set, mode 0640, appending) the log
 * file at path: never through a symbolic link (ELOOP), never anything but
 * a regular file (a FIFO there would stall the writer: EINVAL). 0 or
 * -errno.
 */
int
logfile_open_fd(const char *path, int create, int *fd, uint64_t *size)
{
	struct stat st;
	int nfd, err;

	nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK | (create ? O_CREAT : 0), 0640);
	if (nfd == -1)
		return -errno;
	err = fstat(nfd, &st) == -1 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
	if (err != 0) {
		close(nfd);
		return -err;
	}
	*fd = nfd;
	*size = (uint64_t)st.st_size;
	return 0;
}

/*
 * The open files, newest use first (writer thread only): at most
 * LOGFILE_MAX_OPEN stay open, and one unused for LOGFILE_IDLE_MS closes,
 * so that the daemon's descriptors do not grow with the number of apps
 * that print.  A closed file opens again at its next line.
 */
static struct logfile *logfile_lru, *logfile_lru_tail;
static int logfile_nopen;

static uint64_t
logfile_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
logfile_lru_unlink(struct logfile *s)
{
	if (s->lru_prev != NULL)
		s->lru_prev->lru_next = s->lru_next;
	else if (logfile_lru == s)
		logfile_lru = s->lru_next;
	if (s->lru_next != NULL)
		s->lru_next->lru_prev = s->lru_prev;
	else if (logfile_lru_tail == s)
		logfile_lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

/* s (open) was used now: first in the list. */
static void
logfile_lru_touch(struct logfile *s)
{
	s->used = logfile_now_ms();
	if (logfile_lru == s)
		return;
	logfile_lru_unlink(s);
	s->lru_next = logfile_lru;
	if (logfile_lru != NULL)
		logfile_lru->lru_prev = s;
	logfile_lru = s;
	if (logfile_lru_tail == NULL)
		logfile_lru_tail = s;
}

/* Closes s's descriptor, if open; its next line opens it again. */
void
logfile_close_fd(struct logfile *s)
{
	if (s->fd == -1)
		return;
	close(s->fd);
	s->fd = -1;
	logfile_lru_unlink(s);
	logfile_nopen--;
}

/* s has a new descriptor fd: counted, first in the list, others closed. */
static void
logfile_set_fd(struct logfile *s, int fd)
{
	if (s->fd == -1)
		logfile_nopen++;
	else
		close(s->fd);
	s->fd = fd;
	logfile_lru_touch(s);
	while (logfile_nopen > LOGFILE_MAX_OPEN && logfile_lru_tail != s)
		logfile_close_fd(logfile_lru_tail);
}

/*
 * Closes the descriptors unused since LOGFILE_IDLE_MS before now_ms (0:
 * now).  Returns how many stay open.
 */
int
logfile_close_idle(uint64_t now_ms)
{
	if (now_ms == 0)
		now_ms = logfile_now_ms();
	while (logfile_lru_tail != NULL &&
	    logfile_lru_tail->used + LOGFILE_IDLE_MS <= now_ms)
		logfile_close_fd(logfile_lru_tail);
	return logfile_nopen;
}

/* Writer thread: (re)opens the file under its name, creating it. */
int
logfile_do_reopen(struct logfile *s)
{
	int fd, rc;
	uint64_t size;

	if ((rc = logfile_open_fd(s->path, 1, &fd, &size)) != 0)
		return rc;
	logfile_set_fd(s, fd);
	s->size = size;
	return 0;
}

/* Writer thread: renames the file away and opens a new one. */
static void
logfile_do_rotate(struct logfile *s)
{
	char *cause = NULL;

	if (logrotate_shift(s->path, &s->ro, &cause) == -1) {
		log_warnx("rotate %s: %s", s->path, cause);
		free(cause);
		s->size = 0;    /* grow on rather than retry at every line */
		return;
	}
	if (logfile_do_reopen(s) != 0) {
		/* keep writing to the renamed file rather than lose lines */
		s->size = 0;
	}
	pthread_mutex_lock(&logwriter_mutex);
	logwriter_post_event(s, LOGFILE_EV_ROTATED, 0, 0);
	pthread_mutex_unlock(&logwriter_mutex);
}

static int
logfile_write_all(struct logfile *s, const char *p, size_t n, size_t *done)
{
	ssize_t w;

	*done = 0;
	if (s->fd == -1)
		return -EBADF;
	logfile_lru_touch(s);
	while (*done < n) {
		w = write(s->fd, p + *done, n - *done);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		*done += (size_t)w;
		s->size += (uint64_t)w;
	}
	return 0;
}

/*
 * Writer thread: how much of the len bytes at p to write before rotating,
 * cut after a newline so that no line is split across two files. Returns
 * len when no rotation is due, 0 when the file must rotate first.
 */
static size_t
logfile_cut(const struct logfile *s, const char *p, size_t len)
{
	uint64_t max = s->ro.max_size;
	size_t room, i;
	const char *nl;

	if (max == 0 || s->kind != LOGFILE_FILE || s->size + len <= max)
		return len;
	room = s->size < max ? (size_t)(max - s->size) : 0;
	for (i = room; i > 0; i--) {
		if (p[i - 1] == '\n')
			return i;
	}
	if (s->size > 0)
		return 0;
	nl = memchr(p, '\n', len);
	return nl != NULL ? (size_t)(nl - p) + 1 : len;
}

/* Writer thread: writes spare out, rotating as needed; 0 or -errno. */
int
logfile_write_spare(struct logfile *s)
{
	size_t n, done;
	int rc;

	if (s->fd == -1 && (rc = logfile_do_reopen(s)) != 0)
		return rc;
	while (s->spare_len > s->spare_off) {
		n = logfile_cut(s, s->spare + s->spare_off,
		    s->spare_len - s->spare_off);
		if (n == 0) {
			logfile_do_rotate(s);
			continue;
		}
		rc = logfile_write_all(s, s->spare + s->spare_off, n, &done);
		s->spare_off += done;
		if (rc != 0)
			return rc;
	}
	s->spare_off = s->spare_len = 0;
	logfile_shrink_spare(s);
	return 0;
}

/* Writer thread: sends the journal records held in spare; 0 or -errno. */
int
logfile_send_spare(struct logfile *s)
{
	uint32_t total, applen;
	int32_t instance, prio;
	const char *p;
	int rc = 0, r;

	while (s->spare_off < s->spare_len) {
		p = s->spare + s->spare_off;
		memcpy(&total, p, 4);
		memcpy(&instance, p + 4, 4);
		memcpy(&prio, p + 8, 4);
		memcpy(&applen, p + 12, 4);
		r = logjournal_send(p + 16, (int)applen, instance, prio,
		    p + 16 + applen + 1, total - 16 - applen - 1);
		if (r != 0 && rc == 0)
			rc = r;
		s->spare_off += total;
	}
	s->spare_off = s->spare_len = 0;
	logfile_shrink_spare(s);
	return rc;
}

/*
 * Writer thread: empties the file through a descriptor (one opened now,
 * without creating the file, when it was closed) and removes its rotated
 * copies.
 */
void
logfile_do_flush(struct logfile *s)
{
	char *name;
	uint64_t size;
	int k, gz, fd, retain = s->ro.retain > 0 ? s->ro.retain : 1;

	if (s->fd == -1 && logfile_open_fd(s->path, 0, &fd, &size) == 0)
		logfile_set_fd(s, fd);
	if (s->fd != -1 && ftruncate(s->fd, 0) == 0)
		s->size = 0;
	logrotate_lock();
	for (k = 1; k <= retain; k++) {
		for (gz = 0; gz <= 1; gz++) {
			name = logrotate_name(s->path, k, gz);
			unlink(name);
			free(name);
		}
	}
	logrotate_unlock();
}

/* Writer thread: writes, after a failure, how many lines were lost. */
void
logfile_write_notice(struct logfile *s, uint64_t dropped, int err)
{
	char buf[256];
	size_t done;
	int n;

	if (s->kind != LOGFILE_FILE || dropped == 0)
		return;
	n = snprintf(buf, sizeof buf,
	    "[corral] %llu lines lost while writing failed: %s\n",
	    (unsigned long long)dropped, strerror(err));
	if (n > 0)
		logfile_write_all(s, buf, (size_t)n, &done);
}
