/* SPDX-License-Identifier: ISC */
/*
 * Rotation of log files by renaming, never by copying and truncating: the
 * file being written is renamed to NAME.1 (older ones shift to NAME.2 ...,
 * the oldest past the count is removed) and the writer opens a new NAME, so
 * no line is lost or split. Rotated files may be gzipped by a thread of
 * their own so that neither the event loop nor the log writer waits for
 * zlib; since a rotation can shift a file while it is being compressed, the
 * compressor follows the file by inode and puts NAME.k.gz wherever NAME.k is
 * when it finishes, holding the rotation lock. Each job holds the file open
 * from its rotation on, so that its inode number cannot go to another file
 * (the next live one) once a later rotation removes it. A compressor that
 * lags drops the oldest jobs and later scans their logs for plain rotated
 * files, so all of them end up compressed. Rotated files older than an age
 * limit are removed at each rotation.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "logs.h"

#define LOGROTATE_MAX_JOBS 16
#define LOGROTATE_MAX_BEHIND 64

struct logrotate_job {
	char *path;             /* the live file's name (NAME) */
	int retain;
	int fd;                 /* the rotated file, open; the job closes it */
	dev_t dev;
	ino_t ino;
};

static pthread_mutex_t logrotate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t logrotate_qmutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t logrotate_qcond = PTHREAD_COND_INITIALIZER;
static struct logrotate_job logrotate_jobs[LOGROTATE_MAX_JOBS];
static int logrotate_njobs;
/* Logs whose oldest job was dropped: compressed by a scan once idle. */
static struct {
	char *path;
	int retain;
} logrotate_behind[LOGROTATE_MAX_BEHIND];
static int logrotate_nbehind;
static int logrotate_busy;
static int logrotate_running;
static int logrotate_quit;
static pthread_t logrotate_thread;

void
logrotate_lock(void)
{
	pthread_mutex_lock(&logrotate_mutex);
}

void
logrotate_unlock(void)
{
	pthread_mutex_unlock(&logrotate_mutex);
}

/* NAME.k or NAME.k.gz; NAME itself for k == 0. The caller frees. */
char *
logrotate_name(const char *path, int k, int gz)
{
	char *s;

	if (k == 0)
		return xstrdup(path);
	xasprintf(&s, "%s.%d%s", path, k, gz ? ".gz" : "");
	return s;
}

static int
logrotate_unlink(const char *path, char **cause)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		if (cause != NULL)
			xasprintf(cause, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
logrotate_rename(const char *from, const char *to, char **cause)
{
	if (rename(from, to) == -1 && errno != ENOENT) {
		if (cause != NULL)
			xasprintf(cause, "rename %s: %s", from, strerror(errno));
		return -1;
	}
	return 0;
}

static int
logrotate_exists(const char *path, int k)
{
	struct stat st;
	char *name;
	int gz, found = 0;

	for (gz = 0; gz <= 1 && !found; gz++) {
		name = logrotate_name(path, k, gz);
		found = lstat(name, &st) == 0;
		free(name);
	}
	return found;
}

/*
 * Moves NAME.k (and NAME.k.gz) to NAME.k+1 for k = g-1 .. 0, where g is the
 * first free number (at most retain, whose files are removed first): the
 * cost follows the files there are, not the count allowed.
 */
static int
logrotate_shift_locked(const char *path, int retain, char **cause)
{
	char *from, *to;
	int k, g, gz, rc = 0;

	for (g = 1; g < retain && logrotate_exists(path, g); g++)
		/* nothing */;
	if (g == retain) {
		for (gz = 0; gz <= 1; gz++) {
			to = logrotate_name(path, retain, gz);
			rc |= logrotate_unlink(to, rc == 0 ? cause : NULL);
			free(to);
		}
	}
	for (k = g - 1; k >= 0; k--) {
		for (gz = 0; gz <= (k > 0); gz++) {
			from = logrotate_name(path, k, gz);
			to = logrotate_name(path, k + 1, gz);
			rc |= logrotate_rename(from, to, rc == 0 ? cause : NULL);
			free(from);
			free(to);
		}
	}
	return rc == 0 ? 0 : -1;
}

/*
 * Rotates NAME (the caller reopens it afterwards). Returns 0, or -1 with
 * *cause set (the caller frees) when a rename failed.
 */
int
logrotate_shift(const char *path, const struct logrotate_opts *o,
    char **cause)
{
	char *name;
	int retain = o->retain > 0 ? o->retain : 1, fd = -1, rc;

	logrotate_lock();
	rc = logrotate_shift_locked(path, retain, cause);
	if (rc == 0 && o->compress) {
		name = logrotate_name(path, 1, 0);
		fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		free(name);
	}
	logrotate_unlock();
	if (fd != -1)
		logrotate_gzip_enqueue(path, retain, fd);
	if (o->max_age_ms > 0)
		logrotate_expire(path, o, logfmt_now_ms());
	return rc;
}

/* Removes rotated files last modified before now - max_age; returns how many. */
int
logrotate_expire(const char *path, const struct logrotate_opts *o,
    uint64_t now_ms)
{
	struct stat st;
	uint64_t mtime;
	char *name;
	int k, gz, n = 0, retain = o->retain > 0 ? o->retain : 1;

	if (o->max_age_ms == 0)
		return 0;
	logrotate_lock();
	for (k = 1; k <= retain; k++) {
		for (gz = 0; gz <= 1; gz++) {
			name = logrotate_name(path, k, gz);
			if (stat(name, &st) == 0) {
				mtime = (uint64_t)st.st_mtim.tv_sec * 1000 +
				    (uint64_t)st.st_mtim.tv_nsec / 1000000;
				if (mtime + o->max_age_ms < now_ms &&
				    unlink(name) == 0)
					n++;
			}
			free(name);
		}
	}
	logrotate_unlock();
	return n;
}

/* Which NAME.k holds inode (dev, ino) now; 0 if none. Rotation lock held. */
static int
logrotate_find(const char *path, int retain, dev_t dev, ino_t ino)
{
	struct stat st;
	char *name;
	int k, found = 0;

	for (k = 1; k <= retain && !found; k++) {
		name = logrotate_name(path, k, 0);
		if (stat(name, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
			found = k;
		free(name);
	}
	return found;
}

/* Compresses the job's file, which it then closes. */
static void
logrotate_run_job(struct logrotate_job *j)
{
	char *name, *gzname, *tmp, *cause = NULL;
	int k;

	logrotate_lock();
	k = logrotate_find(j->path, j->retain, j->dev, j->ino);
	logrotate_unlock();
	if (k == 0) {           /* removed by the count limit meanwhile */
		close(j->fd);
		return;
	}
	xasprintf(&tmp, "%s.gz-%llu.tmp", j->path, (unsigned long long)j->ino);
	if (logrotate_gzip_fd(j->fd, tmp, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
		close(j->fd);
		free(tmp);
		return;
	}
	logrotate_lock();
	if ((k = logrotate_find(j->path, j->retain, j->dev, j->ino)) != 0) {
		name = logrotate_name(j->path, k, 0);
		gzname = logrotate_name(j->path, k, 1);
		if (rename(tmp, gzname) == 0)
			unlink(name);
		else
			unlink(tmp);
		free(name);
		free(gzname);
	} else
		unlink(tmp);
	logrotate_unlock();
	close(j->fd);
	free(tmp);
}

/* Compresses each plain NAME.k, oldest first; returns how many it found. */
static int
logrotate_catch_up_pass(char *path, int retain)
{
	struct logrotate_job j;
	struct stat st;
	char *name;
	int k, found = 0;

	for (k = retain; k >= 1; k--) {
		logrotate_lock();
		name = logrotate_name(path, k, 0);
		j.fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    O_NONBLOCK);
		free(name);
		logrotate_unlock();
		if (j.fd == -1)
			continue;
		found++;
		if (fstat(j.fd, &st) != 0) {
			close(j.fd);
			continue;
		}
		j.path = path;
		j.retain = retain;
		j.dev = st.st_dev;
		j.ino = st.st_ino;
		logrotate_run_job(&j);
	}
	return found;
}

/*
 * Compresses every plain NAME.k that the jobs dropped while the compressor
 * lagged left behind. A rotation during a pass shifts the files up, so one
 * not yet reached may move where the pass has been: passes go on while
 * each finds fewer (one that cannot be compressed stops them).
 */
static void
logrotate_catch_up(char *path, int retain)
{
	int n, last = INT_MAX;

	while ((n = logrotate_catch_up_pass(path, retain)) > 0 && n < last)
		last = n;
}

static void *
logrotate_main(void *arg)
{
	struct logrotate_job j;
	int scan;

	(void)arg;
	pthread_mutex_lock(&logrotate_qmutex);
	for (;;) {
		while (logrotate_njobs == 0 && logrotate_nbehind == 0 &&
		    !logrotate_quit)
			pthread_cond_wait(&logrotate_qcond, &logrotate_qmutex);
		if (logrotate_njobs == 0 && logrotate_nbehind == 0)
			break;
		if ((scan = logrotate_njobs == 0)) {
			j.path = logrotate_behind[--logrotate_nbehind].path;
			j.retain = logrotate_behind[logrotate_nbehind].retain;
		} else {
			j = logrotate_jobs[0];
			memmove(&logrotate_jobs[0], &logrotate_jobs[1],
			    (size_t)(--logrotate_njobs) * sizeof j);
		}
		logrotate_busy = 1;
		pthread_mutex_unlock(&logrotate_qmutex);
		if (scan)
			logrotate_catch_up(j.path, j.retain);
		else
			logrotate_run_job(&j);
		free(j.path);
		pthread_mutex_lock(&logrotate_qmutex);
		logrotate_busy = 0;
		pthread_cond_broadcast(&logrotate_qcond);
	}
	pthread_mutex_unlock(&logrotate_qmutex);
	return NULL;
}

int
logrotate_gzip_start(void)
{
	int rc = 0;

	pthread_mutex_lock(&logrotate_qmutex);
	if (!logrotate_running) {
		logrotate_quit = 0;
		rc = pthread_create(&logrotate_thread, NULL, logrotate_main,
		    NULL);
		if (rc == 0)
			logrotate_running = 1;
	}
	pthread_mutex_unlock(&logrotate_qmutex);
	return rc == 0 ? 0 : -1;
}

/* Notes that a job of path was dropped. Queue mutex held. */
static void
logrotate_behind_add(const char *path, int retain)
{
	int i;

	for (i = 0; i < logrotate_nbehind; i++) {
		if (strcmp(logrotate_behind[i].path, path) == 0) {
			logrotate_behind[i].retain = retain;
			return;
		}
	}
	if (logrotate_nbehind == LOGROTATE_MAX_BEHIND)
		return;         /* its files stay plain until the count removes them */
	logrotate_behind[logrotate_nbehind].path = xstrdup(path);
	logrotate_behind[logrotate_nbehind++].retain = retain;
}

/*
 * Queues the compression of the file just rotated from path, open on fd
 * (the job owns it). When the compressor lags too far behind, the oldest
 * job is dropped (its descriptor closed, so the queue holds few), and
 * once the queue is empty the compressor scans that log for the plain
 * rotated files left.
 */
void
logrotate_gzip_enqueue(const char *path, int retain, int fd)
{
	struct logrotate_job *j;
	struct stat st;

	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&logrotate_qmutex);
	if (logrotate_njobs == LOGROTATE_MAX_JOBS) {
		logrotate_behind_add(logrotate_jobs[0].path,
		    logrotate_jobs[0].retain);
		free(logrotate_jobs[0].path);
		close(logrotate_jobs[0].fd);
		memmove(&logrotate_jobs[0], &logrotate_jobs[1],
		    (LOGROTATE_MAX_JOBS - 1) * sizeof *j);
		logrotate_njobs--;
	}
	j = &logrotate_jobs[logrotate_njobs++];
	j->path = xstrdup(path);
	j->retain = retain;
	j->fd = fd;
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	pthread_cond_broadcast(&logrotate_qcond);
	pthread_mutex_unlock(&logrotate_qmutex);
	if (!logrotate_running)
		logrotate_gzip_start();
}

/* Waits until every queued compression is done (tests, shutdown). */
void
logrotate_gzip_wait_idle(void)
{
	pthread_mutex_lock(&logrotate_qmutex);
	while (logrotate_running && (logrotate_njobs > 0 ||
	    logrotate_nbehind > 0 || logrotate_busy))
		pthread_cond_wait(&logrotate_qcond, &logrotate_qmutex);
	pthread_mutex_unlock(&logrotate_qmutex);
}

/* Finishes the queued jobs and joins the compressor. */
void
logrotate_gzip_stop(void)
{
	int running;

	pthread_mutex_lock(&logrotate_qmutex);
	running = logrotate_running;
	logrotate_quit = 1;
	pthread_cond_broadcast(&logrotate_qcond);
	pthread_mutex_unlock(&logrotate_qmutex);
	if (running)
		pthread_join(logrotate_thread, NULL);
	pthread_mutex_lock(&logrotate_qmutex);
	logrotate_running = 0;
	pthread_mutex_unlock(&logrotate_qmutex);
}
