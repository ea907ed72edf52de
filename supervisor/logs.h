/* SPDX-License-Identifier: ISC */
/*
 * The daemon's log pipeline below logsink.c: the log writer thread that
 * owns every log file and the journal sink so that the event loop never
 * waits on a disk, and rotation by size, count and age with optional gzip
 * done off the event loop. Line formatting is common/logfmt.h.
 *
 * Everything here is called from the event loop thread. The writer's own
 * structures and its thread's functions are in logwriter-private.h, which
 * only the writer's files (logwriter.c, logfile.c, logfile-io.c,
 * logjournal.c) include.
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
int logrotate_gzip_start(void);
void logrotate_gzip_enqueue(const char *, int, int);
void logrotate_gzip_stop(void);
void logrotate_gzip_wait_idle(void);
void logrotate_lock(void);
void logrotate_unlock(void);

/* logrotate-gzip.c */
int logrotate_gzip(const char *, const char *, char **);
int logrotate_gzip_fd(int, const char *, char **);

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
void logwriter_on_written(void (*)(void));

/* logfile.c */
struct logfile *logfile_open_file(const char *, const struct logrotate_opts *);
struct logfile *logfile_open_journal(void);
void logfile_close(struct logfile *);
int logfile_write(struct logfile *, const char *, size_t);
int logfile_journal(struct logfile *, const char *, int, int,
    const char *, size_t);
int logfile_blocks(struct logfile *, size_t);
uint64_t logfile_ticket(struct logfile *);
int logfile_settled(struct logfile *, uint64_t);
void logfile_wait(struct logfile *, struct logfile_waiter *);
void logfile_cancel_wait(struct logfile_waiter *);
void logfile_flush(struct logfile *);
const char *logfile_path(struct logfile *);
int logfile_error(struct logfile *, uint64_t *);

#endif
