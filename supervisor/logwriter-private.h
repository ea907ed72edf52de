/* SPDX-License-Identifier: ISC */
/*
 * The log writer's private header, for its own files only (logwriter.c,
 * logfile.c, logfile-io.c, logjournal.c; and its white-box unit test): a
 * sink's state shared by the loop and the writer thread, the lists that
 * link them, and the functions the writer thread runs. The rest of the
 * daemon sees a sink only as the opaque struct logfile of logs.h.
 */
#ifndef CORRAL_LOGWRITER_PRIVATE_H
#define CORRAL_LOGWRITER_PRIVATE_H

#include <pthread.h>
#include <stdint.h>

#include <uv.h>

#include "logs.h"

/* A log file's state, shared by the loop and the writer thread under
 * logwriter_mutex. */
#define LOGFILE_OP_REOPEN 0x1
#define LOGFILE_OP_FLUSH 0x2
#define LOGFILE_OP_CLOSE 0x4

struct logfile {
	int kind;
	char *path;
	struct logrotate_opts ro;
	/* Under logwriter_mutex. */
	char *fill;
	size_t fill_len, fill_cap;
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
	uint64_t in_seq;        /* bytes ever queued, not dropped (the loop's) */
	uint64_t spare_seq;     /* in_seq when spare was taken */
	uint64_t out_seq;       /* in_seq up to which the bytes are written
				   (stored atomically: read without the mutex) */
	int ack_want;           /* the loop waits for out_seq to move */
	/* Writer thread only. */
	char *spare;
	size_t spare_off, spare_len, spare_cap;
	int fd;                 /* -1 until lines come, or once idle */
	uint64_t size;
	uint64_t used;          /* monotonic ms of its last write */
	struct logfile *lru_prev, *lru_next;    /* open ones, newest first */
	/* Loop only. */
	struct logfile_waiter *waiters;
	int loop_err;
	uint64_t loop_dropped;
	struct logfile_waiter *dispatch; /* waiters being called */
	int dispatching;        /* its callbacks are running */
	int close_pending;      /* closed by one of them */
};

extern pthread_mutex_t logwriter_mutex;
extern struct logfile *logwriter_wake, *logwriter_events, *logwriter_all;
extern uv_async_t logwriter_async;
extern int logwriter_acked;
void logwriter_enqueue(struct logfile *);
void logwriter_wake_loop(void);
void logwriter_post_event(struct logfile *, int, int, uint64_t);
void logfile_destroy(struct logfile *);
void logfile_written(struct logfile *);
void logwriter_check_written(void);

/* logwriter-sink.c (writer thread) */
int logfile_service(struct logfile *);

/* logfile-io.c (writer thread) */
#define LOGFILE_MAX_OPEN 256    /* descriptors the writer keeps open */
#define LOGFILE_IDLE_MS 10000   /* an fd unused this long is closed */
int logfile_open_fd(const char *, int, int *, uint64_t *);
int logfile_do_reopen(struct logfile *);
void logfile_close_fd(struct logfile *);
int logfile_close_idle(uint64_t);
int logfile_write_spare(struct logfile *);
int logfile_send_spare(struct logfile *);
void logfile_do_flush(struct logfile *);
void logfile_write_notice(struct logfile *, uint64_t, int);

/* logjournal.c (writer thread) */
int logjournal_available(void);
int logjournal_send(const char *, int, int, int, const char *, size_t);

#endif
