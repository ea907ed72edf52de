/* SPDX-License-Identifier: ISC */
/*
 * One round of the log writer thread's work on one sink (logwriter.c runs
 * the thread and its lists): take the loop's fill buffer, apply the
 * reopen and flush asked for, write the buffer out to its file or the
 * journal with no lock held, report a failure once, and on a recovery
 * write what was kept, then the notice of the lines lost. A close asked
 * for is done once no list holds the sink.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common.h"
#include "logwriter-private.h"

/* Writer thread: takes the loop's fill buffer, if spare is free. Mutex held. */
static void
logfile_take_fill(struct logfile *s)
{
	char *t;
	size_t cap;

	if (s->spare_len != 0 || s->fill_len == 0)
		return;
	t = s->spare;
	s->spare = s->fill;
	s->spare_len = s->fill_len;
	s->spare_off = 0;
	s->fill = t;
	s->fill_len = 0;
	s->spare_seq = s->in_seq;
	cap = s->spare_cap;
	s->spare_cap = s->fill_cap;
	s->fill_cap = cap;
	if (s->want_wake && !s->on_wake_list) {
		s->want_wake = 0;
		s->on_wake_list = 1;
		s->wake_next = logwriter_wake;
		logwriter_wake = s;
		logwriter_wake_loop();
	}
}

/*
 * Writer thread: what spare held is written; a loop waiting for it hears
 * so. Mutex held.
 */
void
logfile_written(struct logfile *s)
{
	__atomic_store_n(&s->out_seq, s->spare_seq, __ATOMIC_RELEASE);
	if (s->ack_want) {
		s->ack_want = 0;
		logwriter_acked = 1;
		logwriter_wake_loop();
	}
}

/* Writer thread: writes out s's spare buffer (file or journal), no lock. */
static int
logfile_write_out(struct logfile *s)
{
	return s->kind == LOGFILE_FILE ? logfile_write_spare(s) :
	    logfile_send_spare(s);
}

/*
 * Writer thread: s wrote again after failing with olderr. What was kept in
 * fill goes before the drops, then the notice of the lines lost; the
 * recovery is reported once that is written. Mutex held on entry and exit.
 */
static int
logfile_recover(struct logfile *s, int olderr)
{
	uint64_t dropped;
	int rc;

	logfile_take_fill(s);
	dropped = s->dropped;
	s->dropped = 0;
	s->err = 0;
	pthread_mutex_unlock(&logwriter_mutex);
	rc = logfile_write_out(s);
	if (rc == 0)
		logfile_write_notice(s, dropped, olderr);
	pthread_mutex_lock(&logwriter_mutex);
	if (rc != 0) {
		s->err = -rc;
		s->dropped += dropped;
	} else {
		logfile_written(s);
		logwriter_post_event(s, LOGFILE_EV_RECOVERED, olderr, dropped);
	}
	return rc;
}

/*
 * Writer thread: after a round, s goes back on the ready list if more came,
 * and a close asked for is done once no list holds s. Mutex held.
 */
static void
logfile_requeue(struct logfile *s, int ops)
{
	if (s->fill_len > 0 && s->err == 0)
		logwriter_enqueue(s);
	if (!(ops & LOGFILE_OP_CLOSE) && !(s->ops & LOGFILE_OP_CLOSE))
		return;
	if (s->queued || s->on_ev_list || s->on_wake_list) {
		s->ops |= LOGFILE_OP_CLOSE;
		logwriter_enqueue(s);
	} else
		logfile_destroy(s);
}

/*
 * Writer thread: one round of work on s. Mutex held on entry and exit.
 * Returns 1 when s started failing (the writer then retries every second).
 */
int
logfile_service(struct logfile *s)
{
	int ops, rc, olderr, failed = 0;

	ops = s->ops;
	s->ops = 0;
	logfile_take_fill(s);
	pthread_mutex_unlock(&logwriter_mutex);
	/* A file not open now opens at its next line: nothing to do. */
	if ((ops & LOGFILE_OP_REOPEN) && s->kind == LOGFILE_FILE &&
	    s->fd != -1 && (rc = logfile_do_reopen(s)) != 0)
		log_warnx("reopen %s: %s", s->path, strerror(-rc));
	rc = logfile_write_out(s);
	if (ops & LOGFILE_OP_FLUSH)
		logfile_do_flush(s);
	pthread_mutex_lock(&logwriter_mutex);
	olderr = s->err;
	if (rc == 0 || s->kind == LOGFILE_JOURNAL)
		logfile_written(s);     /* a journal record is not retried */
	if (rc != 0 && olderr == 0) {
		s->err = -rc;
		failed = 1;
		logwriter_post_event(s, LOGFILE_EV_ERROR, -rc, 0);
	} else if (rc == 0 && olderr != 0)
		rc = logfile_recover(s, olderr);
	if (s->kind == LOGFILE_JOURNAL && s->err == 0 && rc != 0)
		s->err = -rc;
	if (s->kind == LOGFILE_JOURNAL)
		s->spare_len = s->spare_off = 0; /* a journal is not retried */
	logfile_requeue(s, ops);
	return failed;
}
