/* SPDX-License-Identifier: ISC */
/*
 * The daemon's log pipeline below logsink.c: the log writer thread that
 * owns every log file and the journal sink so that the event loop never
 * waits on a disk, and rotation by size, count and age with optional gzip
 * done off the event loop. Line formatting is common/logfmt.h.
 *
 * Threads: everything here is called from the event loop thread, except the
 * functions marked "writer thread" which only logwriter.c calls.
 */
#ifndef CORRAL_LOGS_H
#define CORRAL_LOGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pthread.h>

#include <uv.h>

#include "logfmt.h"

/* logrotate.c */
struct logrotate_opts {
	uint64_t max_size;      /* bytes; 0: never rotate by size */
	int retain;             /* rotated files kept, at least 1 */
	int compress;           /* gzip rotated files */
	uint64_t max_age_ms;    /* remove rotated files older; 0: keep */
};
#define LOGROTATE_DEFAULT_SIZE (10ULL * 1024 * 1024)
#define LOGROTATE_DEFAULT_RETAIN 10
char *logrotate_name(const char *, int, int);
int logrotate_shift(const char *, const struct logrotate_opts *, char **);
int logrotate_expire(const char *, const struct logrotate_opts *, uint64_t);
int logrotate_gzip(const char *, const char *, char **);
int logrotate_gzip_start(void);
void logrotate_gzip_enqueue(const char *, int, int);
void logrotate_gzip_stop(void);
void logrotate_gzip_wait_idle(void);
void logrotate_lock(void);
void logrotate_unlock(void);

/* logsink-files.c: an app's log settings and its sinks (all may be NULL). */
struct applogs {
	struct logfmt fmt;
	struct logrotate_opts ro;
	int files;                      /* write files */
	int journal;                    /* send to the journal */
	int merge;
	char *out_path;                 /* base names */
	char *err_path;
	char *comb_path;                /* log_file, or NULL */
	struct logfile *out, *err, *comb;
	struct logfile **iout, **ierr;  /* per instance when not merged */
	int ninst;
	uid_t uid;                      /* owner of the folders it makes, */
	gid_t gid;                      /* (uid_t)-1: the daemon's */
};

/* logwriter.c */
#define LOGFILE_FILE 0
#define LOGFILE_JOURNAL 1
#define LOGFILE_BUFSIZE (256 * 1024)    /* per file, x2 (double buffer) */

struct logfile;
/* A producer that found a sink full waits for it with one of these, which
 * it owns (embedded in its own struct). cb runs on the loop once the sink
 * has room again; the waiter is then no longer linked. */
struct logfile_waiter {
	void (*cb)(struct logfile_waiter *);
	struct logfile_waiter *next;
	struct logfile *sink;
};
/* What the loop hears about a sink (set with logwriter_start). */
#define LOGFILE_EV_ERROR 1      /* writing failed: err is the errno */
#define LOGFILE_EV_RECOVERED 2  /* writing works again; dropped = lost lines */
#define LOGFILE_EV_ROTATED 3
typedef void (*logfile_event_cb)(struct logfile *, int, int, uint64_t);

int logwriter_start(uv_loop_t *, logfile_event_cb, char **);
void logwriter_stop(void);
void logwriter_reopen_all(void);
void logwriter_sync(void);

/* logfile.c */
struct logfile *logfile_open_file(const char *, const struct logrotate_opts *);
struct logfile *logfile_open_journal(void);
void logfile_close(struct logfile *);
int logfile_write(struct logfile *, const char *, size_t);
int logfile_journal(struct logfile *, const char *, int, int,
    const char *, size_t);
size_t logfile_space(struct logfile *);
int logfile_blocks(struct logfile *, size_t);
void logfile_wait(struct logfile *, struct logfile_waiter *);
void logfile_cancel_wait(struct logfile_waiter *);
void logfile_flush(struct logfile *);
void logfile_reopen(struct logfile *);
const char *logfile_path(struct logfile *);
int logfile_error(struct logfile *, uint64_t *);
void logfile_set_user(struct logfile *, void *);
void *logfile_user(struct logfile *);

/*
 * Private to logwriter.c, logfile.c and logfile-io.c: a log file's state,
 * shared by the loop and the writer thread under logwriter_mutex.
 */
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
	/* Writer thread only. */
	char *spare;
	size_t spare_off, spare_len, spare_cap;
	int fd;                 /* -1 until lines come, or once idle */
	uint64_t size;
	uint64_t used;          /* monotonic ms of its last write */
	struct logfile *lru_prev, *lru_next;    /* open ones, newest first */
	/* Loop only. */
	struct logfile_waiter *waiters;
	void *user;
	int loop_err;
	uint64_t loop_dropped;
	struct logfile_waiter *dispatch; /* waiters being called */
	int dispatching;        /* its callbacks are running */
	int close_pending;      /* closed by one of them */
};

extern pthread_mutex_t logwriter_mutex;
extern struct logfile *logwriter_wake, *logwriter_events, *logwriter_all;
extern uv_async_t logwriter_async;
void logwriter_enqueue(struct logfile *);
void logwriter_post_event(struct logfile *, int, int, uint64_t);
void logfile_destroy(struct logfile *);

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
