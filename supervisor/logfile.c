/* SPDX-License-Identifier: ISC */
/*
 * The loop's side of a log file (or of the journal sink): open and close
 * it, queue whole lines into its fill buffer, learn whether it is full and
 * wait for room, ask for a reopen or a flush, and read its state. The log
 * writer thread (logwriter.c) does the actual writing; the two meet under
 * logwriter_mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "logwriter-private.h"

static void (*logwriter_written_cb)(void);

static struct logfile *
logfile_new(int kind)
{
	struct logfile *s;

	s = xcalloc(1, sizeof *s);
	s->kind = kind;
	s->fd = -1;
	/* The buffers come with the first line (logfile_append_locked). */
	pthread_mutex_lock(&logwriter_mutex);
	s->all_next = logwriter_all;
	logwriter_all = s;
	pthread_mutex_unlock(&logwriter_mutex);
	return s;
}

/*
 * Frees s, made by logfile_new, once closed and on no list (writer
 * thread, mutex held).
 */
void
logfile_destroy(struct logfile *s)
{
	struct logfile **pp;

	for (pp = &logwriter_all; *pp != NULL; pp = &(*pp)->all_next) {
		if (*pp == s) {
			*pp = s->all_next;
			break;
		}
	}
	logfile_close_fd(s);
	free(s->fill);
	free(s->spare);
	free(s->path);
	free(s);
}

/*
 * A sink for the log file at path.  The writer thread opens the file
 * (creating it, mode 0640, appending, never through a link) when the
 * first lines come, and reports a failure as an event; it may close it
 * again while it is idle.  Never fails.
 */
struct logfile *
logfile_open_file(const char *path, const struct logrotate_opts *ro)
{
	struct logfile *s;

	s = logfile_new(LOGFILE_FILE);
	s->path = xstrdup(path);
	s->ro = *ro;
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
 * Room for a record in the fill buffer. Mutex held. A record larger than
 * the buffer (a long line) fits once the buffer is empty: the buffer then
 * grows for it, and shrinks back once written (logfile-io.c).
 */
static size_t
logfile_room(struct logfile *s)
{
	if (s->fill_len == 0)
		return SIZE_MAX;
	return LOGFILE_BUFSIZE > s->fill_len ? LOGFILE_BUFSIZE - s->fill_len : 0;
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
	r = s->err == 0 && logfile_room(s) < n;
	pthread_mutex_unlock(&logwriter_mutex);
	return r;
}

/* Appends a record of alen + blen bytes. Mutex held. */
static int
logfile_append_locked(struct logfile *s, const char *a, size_t alen,
    const char *b, size_t blen)
{
	const char *p, *end;
	uint64_t lines = 1;

	/* once one record is dropped, all are until recovery: order is kept */
	if (logfile_room(s) < alen + blen ||
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
	if (s->fill_len + alen + blen > s->fill_cap) {
		s->fill_cap = s->fill_len + alen + blen > LOGFILE_BUFSIZE ?
		    s->fill_len + alen + blen : LOGFILE_BUFSIZE;
		s->fill = xrealloc(s->fill, s->fill_cap);
	}
	memcpy(s->fill + s->fill_len, a, alen);
	if (blen > 0)
		memcpy(s->fill + s->fill_len + alen, b, blen);
	s->fill_len += alen + blen;
	s->in_seq += alen + blen;
	if (s->err == 0)
		logwriter_enqueue(s);
	return 0;
}

/*
 * Queues len bytes of whole lines (ending in a newline) for the file.
 * Returns 0 when queued (or dropped and counted, while the sink is failing),
 * -1 when the sink is full: the caller keeps the line, stops its input, and
 * calls logfile_wait. A record larger than LOGFILE_BUFSIZE waits for an
 * empty buffer.
 */
int
logfile_write(struct logfile *s, const char *p, size_t len)
{
	int rc;

	pthread_mutex_lock(&logwriter_mutex);
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
 * Where the bytes queued to s so far end: once logfile_settled() says so
 * for this ticket, they are written (or s is failing and they may be
 * lost with the lines it drops anyway).
 */
uint64_t
logfile_ticket(struct logfile *s)
{
	return s->in_seq;       /* only the loop changes it */
}

/*
 * Whether the bytes of ticket t are written (or s is failing). If not, the
 * callback given to logwriter_on_written runs once s wrote more.
 */
int
logfile_settled(struct logfile *s, uint64_t t)
{
	int r;

	if (__atomic_load_n(&s->out_seq, __ATOMIC_ACQUIRE) >= t)
		return 1;
	pthread_mutex_lock(&logwriter_mutex);
	r = s->out_seq >= t || s->err != 0;
	if (!r)
		s->ack_want = 1;
	pthread_mutex_unlock(&logwriter_mutex);
	return r;
}

/* Loop: tells the callback set with logwriter_on_written, if written. */
void
logwriter_check_written(void)
{
	int acked;

	pthread_mutex_lock(&logwriter_mutex);
	acked = logwriter_acked;
	logwriter_acked = 0;
	pthread_mutex_unlock(&logwriter_mutex);
	if (acked && logwriter_written_cb != NULL)
		logwriter_written_cb();
}

/*
 * Loop: cb runs (on the loop) after a sink a logfile_settled() waited for
 * wrote more or failed.
 */
void
logwriter_on_written(void (*cb)(void))
{
	logwriter_written_cb = cb;
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
		logwriter_wake_loop();
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
