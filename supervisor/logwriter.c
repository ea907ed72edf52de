/* SPDX-License-Identifier: ISC */
/*
 * The log writer: one thread that owns every log file descriptor and the
 * journal sink, so that the event loop never waits on a disk. Each sink has
 * two buffers of LOGFILE_BUFSIZE bytes: the loop appends whole formatted
 * lines to "fill" under the mutex; the thread swaps it with "spare" and
 * writes spare out with no lock held. A sink whose fill buffer is full
 * refuses the line (logfile_write returns -1): the producer must stop
 * reading its pipe and wait (logfile_wait) until the thread has emptied it,
 * which is the back-pressure that keeps memory bounded without losing a line.
 *
 * Errors: when a write fails (ENOSPC, EFBIG, EIO...), the sink keeps the
 * data it could not write, reports the error once to the loop, accepts new
 * lines as long as its buffer has room and then counts the lines it drops
 * (the apps are not blocked by a full disk), retries every second, and once
 * writing works again writes a notice of how many lines were lost and
 * reports the recovery.
 *
 * Rotation happens here, between two whole lines, and reopen/flush/close
 * requests from the loop are applied by the thread in order with the data.
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
#include "logs.h"

#define LOGFILE_OP_REOPEN 0x1
#define LOGFILE_OP_FLUSH 0x2
#define LOGFILE_OP_CLOSE 0x4

struct logfile {
	int kind;
	char *path;
	struct logrotate_opts ro;
	/* Under logwriter_mutex. */
	char *fill;
	size_t fill_len;
	int queued;             /* on the ready list */
	struct logfile *ready_next;
	int ops;
	int err;                /* errno of the failure in progress, or 0 */
	uint64_t dropped;       /* lines dropped while err != 0 */
	int want_wake;
	int on_wake_list;
	struct logfile *wake_next;
	int ev;                 /* bits 1 << LOGFILE_EV_* to report */
	int ev_err;             /* errno of the error to report */
	int ev_rec_err;         /* errno of the error recovered from */
	uint64_t ev_dropped;
	int on_ev_list;
	struct logfile *ev_next;
	struct logfile *all_next;
	/* Writer thread only. */
	char *spare;
	size_t spare_off, spare_len;
	int fd;
	uint64_t size;
	/* Loop only. */
	struct logfile_waiter *waiters;
	void *user;
	int loop_err;
	uint64_t loop_dropped;
	struct logfile_waiter *dispatch; /* waiters being called */
	int dispatching;        /* its callbacks are running */
	int close_pending;      /* closed by one of them */
};

static pthread_mutex_t logwriter_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t logwriter_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t logwriter_idle_cond = PTHREAD_COND_INITIALIZER;
static pthread_t logwriter_thread;
static int logwriter_running;
static int logwriter_quit;
static int logwriter_busy;
static struct logfile *logwriter_ready, **logwriter_ready_tail = &logwriter_ready;
static struct logfile *logwriter_wake;
static struct logfile *logwriter_events;
static struct logfile *logwriter_all;
static uv_async_t logwriter_async;
static logfile_event_cb logwriter_event_cb;

/* Puts s on the ready list and wakes the thread. Mutex held. */
static void
logwriter_enqueue(struct logfile *s)
{
	if (s->queued)
		return;
	s->queued = 1;
	s->ready_next = NULL;
	*logwriter_ready_tail = s;
	logwriter_ready_tail = &s->ready_next;
	pthread_cond_signal(&logwriter_cond);
}

/* Tells the loop about s (an event or a wake-up). Mutex held. */
static void
logwriter_post_event(struct logfile *s, int ev, int err, uint64_t dropped)
{
	s->ev |= 1 << ev;
	if (ev == LOGFILE_EV_ERROR)
		s->ev_err = err;
	else if (ev == LOGFILE_EV_RECOVERED)
		s->ev_rec_err = err;
	s->ev_dropped += dropped;
	if (!s->on_ev_list) {
		s->on_ev_list = 1;
		s->ev_next = logwriter_events;
		logwriter_events = s;
	}
	uv_async_send(&logwriter_async);
}

static int
logfile_open_fd(const char *path, int *fd, uint64_t *size)
{
	struct stat st;
	int nfd;

	nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (nfd == -1)
		return -errno;
	if (fstat(nfd, &st) == -1) {
		close(nfd);
		return -errno;
	}
	*fd = nfd;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Writer thread: closes and opens the file again under its name. */
static int
logfile_do_reopen(struct logfile *s)
{
	int fd, rc;
	uint64_t size;

	if ((rc = logfile_open_fd(s->path, &fd, &size)) != 0)
		return rc;
	if (s->fd != -1)
		close(s->fd);
	s->fd = fd;
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
static int
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
	return 0;
}

/* Writer thread: sends the journal records held in spare; 0 or -errno. */
static int
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
	return rc;
}

static void
logfile_do_flush(struct logfile *s)
{
	char *name;
	int k, gz, retain = s->ro.retain > 0 ? s->ro.retain : 1;

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
static void
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

/* Writer thread: takes the loop's fill buffer, if spare is free. Mutex held. */
static void
logfile_take_fill(struct logfile *s)
{
	char *t;

	if (s->spare_len != 0 || s->fill_len == 0)
		return;
	t = s->spare;
	s->spare = s->fill;
	s->spare_len = s->fill_len;
	s->spare_off = 0;
	s->fill = t;
	s->fill_len = 0;
	if (s->want_wake && !s->on_wake_list) {
		s->want_wake = 0;
		s->on_wake_list = 1;
		s->wake_next = logwriter_wake;
		logwriter_wake = s;
		uv_async_send(&logwriter_async);
	}
}

static void
logfile_destroy(struct logfile *s)
{
	struct logfile **pp;

	for (pp = &logwriter_all; *pp != NULL; pp = &(*pp)->all_next) {
		if (*pp == s) {
			*pp = s->all_next;
			break;
		}
	}
	if (s->fd != -1)
		close(s->fd);
	free(s->fill);
	free(s->spare);
	free(s->path);
	free(s);
}

/* Writer thread: one round of work on s. Mutex held on entry and exit. */
static void
logfile_service(struct logfile *s)
{
	int ops, rc, olderr;
	uint64_t dropped = 0;

	ops = s->ops;
	s->ops = 0;
	logfile_take_fill(s);
	pthread_mutex_unlock(&logwriter_mutex);
	if ((ops & LOGFILE_OP_REOPEN) && s->kind == LOGFILE_FILE &&
	    (rc = logfile_do_reopen(s)) != 0)
		log_warnx("reopen %s: %s", s->path, strerror(-rc));
	if (s->kind == LOGFILE_FILE)
		rc = logfile_write_spare(s);
	else
		rc = logfile_send_spare(s);
	if (ops & LOGFILE_OP_FLUSH)
		logfile_do_flush(s);
	pthread_mutex_lock(&logwriter_mutex);
	olderr = s->err;
	if (rc != 0 && olderr == 0) {
		s->err = -rc;
		logwriter_post_event(s, LOGFILE_EV_ERROR, -rc, 0);
	} else if (rc == 0 && olderr != 0) {
		/* What was kept in fill went before the drops; then the notice. */
		logfile_take_fill(s);
		dropped = s->dropped;
		s->dropped = 0;
		s->err = 0;
		pthread_mutex_unlock(&logwriter_mutex);
		rc = s->kind == LOGFILE_FILE ? logfile_write_spare(s) :
		    logfile_send_spare(s);
		if (rc == 0)
			logfile_write_notice(s, dropped, olderr);
		pthread_mutex_lock(&logwriter_mutex);
		if (rc != 0) {
			s->err = -rc;
			s->dropped += dropped;
		} else
			logwriter_post_event(s, LOGFILE_EV_RECOVERED, olderr,
			    dropped);
	}
	if (s->kind == LOGFILE_JOURNAL && s->err == 0 && rc != 0)
		s->err = -rc;
	if (s->kind == LOGFILE_JOURNAL)
		s->spare_len = s->spare_off = 0; /* a journal is not retried */
	if (s->fill_len > 0 && s->err == 0)
		logwriter_enqueue(s);
	if ((ops & LOGFILE_OP_CLOSE) || (s->ops & LOGFILE_OP_CLOSE)) {
		if (s->queued || s->on_ev_list || s->on_wake_list) {
			s->ops |= LOGFILE_OP_CLOSE;
			logwriter_enqueue(s);
		} else
			logfile_destroy(s);
	}
}

/* Writer thread: puts every failed sink back on the ready list. Mutex held. */
static int
logwriter_retry_failed(void)
{
	struct logfile *s;
	int n = 0;

	for (s = logwriter_all; s != NULL; s = s->all_next) {
		if (s->err != 0) {
			logwriter_enqueue(s);
			n++;
		}
	}
	return n;
}

static int
logwriter_any_failed(void)
{
	struct logfile *s;

	for (s = logwriter_all; s != NULL; s = s->all_next) {
		if (s->err != 0)
			return 1;
	}
	return 0;
}

static void *
logwriter_main(void *arg)
{
	struct logfile *s;
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&logwriter_mutex);
	for (;;) {
		while (logwriter_ready == NULL && !logwriter_quit) {
			logwriter_busy = 0;
			pthread_cond_broadcast(&logwriter_idle_cond);
			if (logwriter_any_failed()) {
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1;
				if (pthread_cond_timedwait(&logwriter_cond,
				    &logwriter_mutex, &ts) == ETIMEDOUT)
					logwriter_retry_failed();
			} else
				pthread_cond_wait(&logwriter_cond,
				    &logwriter_mutex);
		}
		if (logwriter_ready == NULL && logwriter_quit)
			break;
		logwriter_busy = 1;
		s = logwriter_ready;
		logwriter_ready = s->ready_next;
		if (logwriter_ready == NULL)
			logwriter_ready_tail = &logwriter_ready;
		s->queued = 0;
		logfile_service(s);
	}
	logwriter_busy = 0;
	pthread_cond_broadcast(&logwriter_idle_cond);
	pthread_mutex_unlock(&logwriter_mutex);
	return NULL;
}

/* Loop: pops the next sink of list *head, clearing its flag; NULL if none. */
static struct logfile *
logwriter_pop(struct logfile **head, int wake)
{
	struct logfile *s;

	pthread_mutex_lock(&logwriter_mutex);
	if ((s = *head) != NULL) {
		if (wake) {
			*head = s->wake_next;
			s->on_wake_list = 0;
		} else {
			*head = s->ev_next;
			s->on_ev_list = 0;
		}
	}
	pthread_mutex_unlock(&logwriter_mutex);
	return s;
}

/* Loop: reports event kind if it is among bits, unless s was closed. */
static void
logwriter_report(struct logfile *s, int bits, int kind, int err,
    uint64_t dropped)
{
	if (!(bits & (1 << kind)) || s->close_pending)
		return;
	if (kind == LOGFILE_EV_ERROR)
		s->loop_err = err;
	else if (kind == LOGFILE_EV_RECOVERED) {
		s->loop_err = 0;
		s->loop_dropped += dropped;
	}
	if (logwriter_event_cb != NULL)
		logwriter_event_cb(s, kind, err, dropped);
}

/*
 * Loop: runs the waiters of the sinks that have room, then reports events.
 * A callback may close any sink: logfile_close sees s->dispatching and
 * leaves the actual close to the end of the dispatch.
 */
static void
logwriter_async_cb(uv_async_t *h)
{
	struct logfile *s;
	struct logfile_waiter *w;
	int bits, err, rec_err, failing;
	uint64_t dropped;

	(void)h;
	while ((s = logwriter_pop(&logwriter_wake, 1)) != NULL) {
		s->dispatching = 1;
		/* a callback may wait again: that goes to a new list */
		s->dispatch = s->waiters;
		s->waiters = NULL;
		while ((w = s->dispatch) != NULL && !s->close_pending) {
			s->dispatch = w->next;
			w->next = NULL;
			w->sink = NULL;
			w->cb(w);
		}
		s->dispatching = 0;
		if (s->close_pending)
			logfile_close(s);
	}
	while ((s = logwriter_pop(&logwriter_events, 0)) != NULL) {
		pthread_mutex_lock(&logwriter_mutex);
		bits = s->ev;
		err = s->ev_err;
		rec_err = s->ev_rec_err;
		dropped = s->ev_dropped;
		failing = s->err != 0;
		s->ev = 0;
		s->ev_dropped = 0;
		pthread_mutex_unlock(&logwriter_mutex);
		s->dispatching = 1;
		/* both pending: the one that matches the state now goes last */
		if (!failing)
			logwriter_report(s, bits, LOGFILE_EV_ERROR, err, 0);
		logwriter_report(s, bits, LOGFILE_EV_RECOVERED, rec_err, dropped);
		if (failing)
			logwriter_report(s, bits, LOGFILE_EV_ERROR, err, 0);
		logwriter_report(s, bits, LOGFILE_EV_ROTATED, 0, 0);
		s->dispatching = 0;
		if (s->close_pending)
			logfile_close(s);
	}
}

/*
 * Starts the writer thread; cb (may be NULL) hears about errors,
 * recoveries and rotations on the loop. Returns 0, or -1 with *cause set.
 */
int
logwriter_start(uv_loop_t *loop, logfile_event_cb cb, char **cause)
{
	int rc;

	if (logwriter_running)
		return 0;
	logwriter_event_cb = cb;
	if ((rc = uv_async_init(loop, &logwriter_async, logwriter_async_cb))
	    != 0) {
		xasprintf(cause, "uv_async_init: %s", uv_strerror(rc));
		return -1;
	}
	logwriter_quit = 0;
	if ((rc = pthread_create(&logwriter_thread, NULL, logwriter_main,
	    NULL)) != 0) {
		uv_close((uv_handle_t *)&logwriter_async, NULL);
		xasprintf(cause, "pthread_create: %s", strerror(rc));
		return -1;
	}
	uv_unref((uv_handle_t *)&logwriter_async);
	logwriter_running = 1;
	logrotate_gzip_start();
	return 0;
}

/*
 * Writes out what every sink holds, frees every sink still open, stops the
 * thread and the compressor. No sink may be used afterwards.
 */
void
logwriter_stop(void)
{
	struct logfile *s;

	if (!logwriter_running)
		return;
	pthread_mutex_lock(&logwriter_mutex);
	for (s = logwriter_all; s != NULL; s = s->all_next) {
		s->ops |= LOGFILE_OP_CLOSE;
		s->on_ev_list = s->on_wake_list = 0;
		logwriter_enqueue(s);
	}
	logwriter_events = logwriter_wake = NULL;
	logwriter_quit = 1;
	pthread_cond_signal(&logwriter_cond);
	pthread_mutex_unlock(&logwriter_mutex);
	pthread_join(logwriter_thread, NULL);
	uv_close((uv_handle_t *)&logwriter_async, NULL);
	logwriter_running = 0;
	logrotate_gzip_stop();
}

/* Blocks until the thread has written everything queued (tests, exit). */
void
logwriter_sync(void)
{
	pthread_mutex_lock(&logwriter_mutex);
	while (logwriter_running && (logwriter_ready != NULL ||
	    logwriter_busy))
		pthread_cond_wait(&logwriter_idle_cond, &logwriter_mutex);
	pthread_mutex_unlock(&logwriter_mutex);
}

/* Asks every file sink to reopen its file (SIGUSR1, `corral reloadLogs`). */
void
logwriter_reopen_all(void)
{
	struct logfile *s;

	pthread_mutex_lock(&logwriter_mutex);
	for (s = logwriter_all; s != NULL; s = s->all_next) {
		if (s->kind == LOGFILE_FILE && !(s->ops & LOGFILE_OP_CLOSE)) {
			s->ops |= LOGFILE_OP_REOPEN;
			logwriter_enqueue(s);
		}
	}
	pthread_mutex_unlock(&logwriter_mutex);
}

static struct logfile *
logfile_new(int kind)
{
	struct logfile *s;

	s = xcalloc(1, sizeof *s);
	s->kind = kind;
	s->fd = -1;
	s->fill = xmalloc(LOGFILE_BUFSIZE);
	s->spare = xmalloc(LOGFILE_BUFSIZE);
	pthread_mutex_lock(&logwriter_mutex);
	s->all_next = logwriter_all;
	logwriter_all = s;
	pthread_mutex_unlock(&logwriter_mutex);
	return s;
}

/*
 * Opens (creating, mode 0640, appending) the log file path. Returns the
 * sink, or NULL with *cause set (the caller frees).
 */
struct logfile *
logfile_open_file(const char *path, const struct logrotate_opts *ro,
    char **cause)
{
	struct logfile *s;
	uint64_t size;
	int fd, rc;

	if ((rc = logfile_open_fd(path, &fd, &size)) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(-rc));
		return NULL;
	}
	s = logfile_new(LOGFILE_FILE);
	s->path = xstrdup(path);
	s->ro = *ro;
	s->fd = fd;
	s->size = size;
	return s;
}

/* The journal sink; logjournal_available() says whether it can work. */
struct logfile *
logfile_open_journal(void)
{
	struct logfile *s;

	s = logfile_new(LOGFILE_JOURNAL);
	s->path = xstrdup("journal");
	return s;
}

/*
 * Closes s once what it holds is written. Its waiters are forgotten; the
 * caller must not use s afterwards, nor expect an event about it.
 */
void
logfile_close(struct logfile *s)
{
	struct logfile **pp;
	struct logfile_waiter *w;

	for (w = s->waiters; w != NULL; w = w->next)
		w->sink = NULL;
	for (w = s->dispatch; w != NULL; w = w->next)
		w->sink = NULL;
	s->waiters = NULL;
	s->dispatch = NULL;
	if (s->dispatching) {
		s->close_pending = 1;
		return;
	}
	pthread_mutex_lock(&logwriter_mutex);
	for (pp = &logwriter_wake; *pp != NULL; pp = &(*pp)->wake_next) {
		if (*pp == s) {
			*pp = s->wake_next;
			break;
		}
	}
	for (pp = &logwriter_events; *pp != NULL; pp = &(*pp)->ev_next) {
		if (*pp == s) {
			*pp = s->ev_next;
			break;
		}
	}
	s->on_wake_list = s->on_ev_list = 0;
	s->ops |= LOGFILE_OP_CLOSE;
	logwriter_enqueue(s);
	pthread_mutex_unlock(&logwriter_mutex);
}

/*
 * Whether a record of n bytes would be refused now (the caller then waits);
 * never while the file is failing, since lines are then dropped and counted.
 */
int
logfile_blocks(struct logfile *s, size_t n)
{
	int r;

	pthread_mutex_lock(&logwriter_mutex);
	r = s->err == 0 && LOGFILE_BUFSIZE - s->fill_len < n;
	pthread_mutex_unlock(&logwriter_mutex);
	return r;
}

/* Room left in the fill buffer. */
size_t
logfile_space(struct logfile *s)
{
	size_t n;

	pthread_mutex_lock(&logwriter_mutex);
	n = LOGFILE_BUFSIZE - s->fill_len;
	pthread_mutex_unlock(&logwriter_mutex);
	return n;
}

/* Appends record (len bytes, at most LOGFILE_BUFSIZE). Mutex held. */
static int
logfile_append_locked(struct logfile *s, const char *a, size_t alen,
    const char *b, size_t blen)
{
	const char *p, *end;
	uint64_t lines = 1;

	/* once one record is dropped, all are until recovery: order is kept */
	if (LOGFILE_BUFSIZE - s->fill_len < alen + blen ||
	    (s->err != 0 && s->dropped > 0)) {
		if (s->err != 0) {
			if (s->kind == LOGFILE_FILE) {
				lines = 0;
				for (p = a, end = a + alen; (p = memchr(p, '\n',
				    (size_t)(end - p))) != NULL; p++)
					lines++;
				for (p = b, end = b + blen; blen > 0 &&
				    (p = memchr(p, '\n', (size_t)(end - p))) !=
				    NULL; p++)
					lines++;
			}
			s->dropped += lines;
			return 0;
		}
		s->want_wake = 1;
		return -1;
	}
	memcpy(s->fill + s->fill_len, a, alen);
	if (blen > 0)
		memcpy(s->fill + s->fill_len + alen, b, blen);
	s->fill_len += alen + blen;
	if (s->err == 0)
		logwriter_enqueue(s);
	return 0;
}

/*
 * Queues len bytes of whole lines (ending in a newline) for the file.
 * Returns 0 when queued (or dropped and counted, while the sink is failing),
 * -1 when the sink is full: the caller keeps the line, stops its input, and
 * calls logfile_wait. A line longer than the buffer is cut to fit.
 */
int
logfile_write(struct logfile *s, const char *p, size_t len)
{
	int rc;

	pthread_mutex_lock(&logwriter_mutex);
	if (len > LOGFILE_BUFSIZE) {
		if (s->fill_len != 0) {
			rc = logfile_append_locked(s, p, LOGFILE_BUFSIZE, NULL,
			    0);
		} else {
			rc = logfile_append_locked(s, p, LOGFILE_BUFSIZE - 1,
			    "\n", 1);
		}
	} else
		rc = logfile_append_locked(s, p, len, NULL, 0);
	pthread_mutex_unlock(&logwriter_mutex);
	return rc;
}

/*
 * Queues one line for the journal with the app's name and instance and
 * priority prio. Same contract as logfile_write.
 */
int
logfile_journal(struct logfile *s, const char *app, int instance, int prio,
    const char *line, size_t len)
{
	char hdr[16 + 257];
	uint32_t total, applen = (uint32_t)strlen(app);
	int32_t inst = instance, pr = prio;
	int rc;

	if (applen > 256)
		applen = 256;
	if (len > LOGFILE_BUFSIZE / 2)
		len = LOGFILE_BUFSIZE / 2;
	total = (uint32_t)(16 + applen + 1 + len);
	memcpy(hdr, &total, 4);
	memcpy(hdr + 4, &inst, 4);
	memcpy(hdr + 8, &pr, 4);
	memcpy(hdr + 12, &applen, 4);
	memcpy(hdr + 16, app, applen);
	hdr[16 + applen] = (char)prio;
	pthread_mutex_lock(&logwriter_mutex);
	rc = logfile_append_locked(s, hdr, 16 + applen + 1, line, len);
	pthread_mutex_unlock(&logwriter_mutex);
	return rc;
}

/*
 * Calls w->cb on the loop once s has room. w must stay valid until then or
 * until logfile_cancel_wait(w).
 */
void
logfile_wait(struct logfile *s, struct logfile_waiter *w)
{
	struct logfile_waiter *x;

	for (x = s->waiters; x != NULL; x = x->next) {
		if (x == w)
			return;
	}
	w->sink = s;
	w->next = s->waiters;
	s->waiters = w;
	pthread_mutex_lock(&logwriter_mutex);
	if (s->fill_len == 0 || s->err != 0) {
		/* already emptied (or failing and dropping): wake at once */
		if (!s->on_wake_list) {
			s->on_wake_list = 1;
			s->wake_next = logwriter_wake;
			logwriter_wake = s;
		}
		uv_async_send(&logwriter_async);
	} else
		s->want_wake = 1;
	pthread_mutex_unlock(&logwriter_mutex);
}

void
logfile_cancel_wait(struct logfile_waiter *w)
{
	struct logfile_waiter **pp;

	if (w->sink == NULL)
		return;
	for (pp = &w->sink->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	for (pp = &w->sink->dispatch; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->sink = NULL;
	w->next = NULL;
}

/* Empties the file and removes its rotated copies (`corral flush`). */
void
logfile_flush(struct logfile *s)
{
	pthread_mutex_lock(&logwriter_mutex);
	s->ops |= LOGFILE_OP_FLUSH;
	logwriter_enqueue(s);
	pthread_mutex_unlock(&logwriter_mutex);
}

void
logfile_reopen(struct logfile *s)
{
	pthread_mutex_lock(&logwriter_mutex);
	s->ops |= LOGFILE_OP_REOPEN;
	logwriter_enqueue(s);
	pthread_mutex_unlock(&logwriter_mutex);
}

const char *
logfile_path(struct logfile *s)
{
	return s->path;
}

/* The errno of the failure in progress (0 if none) and the lines lost. */
int
logfile_error(struct logfile *s, uint64_t *dropped)
{
	if (dropped != NULL) {
		pthread_mutex_lock(&logwriter_mutex);
		*dropped = s->loop_dropped + s->dropped;
		pthread_mutex_unlock(&logwriter_mutex);
	}
	return s->loop_err;
}

void
logfile_set_user(struct logfile *s, void *user)
{
	s->user = user;
}

void *
logfile_user(struct logfile *s)
{
	return s->user;
}
