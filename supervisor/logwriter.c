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
 * Rotation happens in the thread, between two whole lines (logfile-io.c),
 * and reopen/flush/close requests from the loop (logfile.c) are applied by
 * the thread in order with the data. One round of work on one sink is
 * logwriter-sink.c's; this file runs the thread, its lists and the loop's
 * side.
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

pthread_mutex_t logwriter_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t logwriter_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t logwriter_idle_cond = PTHREAD_COND_INITIALIZER;
static pthread_t logwriter_thread;
static int logwriter_running;
static int logwriter_quit;
static int logwriter_busy;
static struct logfile *logwriter_ready, **logwriter_ready_tail = &logwriter_ready;
struct logfile *logwriter_wake;
struct logfile *logwriter_events;
struct logfile *logwriter_all;
uv_async_t logwriter_async;
int logwriter_acked;            /* a waited-for sink wrote, or failed */
static logfile_event_cb logwriter_event_cb;
static int logwriter_failing;  /* some sink failed: retry in a second */

/* Puts s on the ready list and wakes the thread. Mutex held. */
void
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

/*
 * Wakes the loop's logwriter_async_cb (any thread). uv_async_send fails
 * only on a handle being closed, after logwriter_stop: nothing to wake.
 */
void
logwriter_wake_loop(void)
{
	int rc;

	if ((rc = uv_async_send(&logwriter_async)) != 0)
		log_debug("log writer: uv_async_send: %s", uv_strerror(rc));
}

/* Tells the loop about s (an event or a wake-up). Mutex held. */
void
logwriter_post_event(struct logfile *s, int ev, int err, uint64_t dropped)
{
	s->ev |= 1 << ev;
	if (ev == LOGFILE_EV_ERROR)
		s->ev_err = err;
	else if (ev == LOGFILE_EV_RECOVERED)
		s->ev_rec_err = err;
	s->ev_dropped += dropped;
	if (ev == LOGFILE_EV_ERROR)
		logwriter_acked = 1;    /* a failing sink settles its tickets */
	if (!s->on_ev_list) {
		s->on_ev_list = 1;
		s->ev_next = logwriter_events;
		logwriter_events = s;
	}
	logwriter_wake_loop();
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

static uint64_t
logwriter_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Writer thread, mutex held: once a second at most, whatever the traffic
 * of the other sinks (a busy writer never times out its wait), failed
 * sinks are tried again and idle files closed.
 */
static void
logwriter_periodic(uint64_t *last)
{
	uint64_t now = logwriter_now_ms();

	if (now - *last < 1000)
		return;
	*last = now;
	if ((logwriter_failing = logwriter_any_failed()))
		logwriter_retry_failed();
	(void)logfile_close_idle(now);
}

static void *
logwriter_main(void *arg)
{
	struct logfile *s;
	struct timespec ts;
	uint64_t last = 0;

	(void)arg;
	pthread_mutex_lock(&logwriter_mutex);
	for (;;) {
		while (logwriter_ready == NULL && !logwriter_quit) {
			logwriter_busy = 0;
			pthread_cond_broadcast(&logwriter_idle_cond);
			logwriter_periodic(&last);
			if (logwriter_ready != NULL)
				break;
			/* a timed wait while files are failing or open */
			if (!logwriter_failing && logfile_close_idle(0) == 0) {
				pthread_cond_wait(&logwriter_cond,
				    &logwriter_mutex);
				continue;
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&logwriter_cond, &logwriter_mutex,
			    &ts);
		}
		if (logwriter_ready == NULL && logwriter_quit)
			break;
		logwriter_periodic(&last);
		if (logwriter_ready == NULL)
			continue;
		logwriter_busy = 1;
		s = logwriter_ready;
		logwriter_ready = s->ready_next;
		if (logwriter_ready == NULL)
			logwriter_ready_tail = &logwriter_ready;
		s->queued = 0;
		if (logfile_service(s))
			logwriter_failing = 1;
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
	logwriter_check_written();
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
