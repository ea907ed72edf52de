/* SPDX-License-Identifier: ISC */
/*
 * The daemon's log pipeline: line formatting (timestamps, JSON lines,
 * prefixes), the log writer thread that owns every log file and the journal
 * sink so that the event loop never waits on a disk, rotation by size, count
 * and age with optional gzip done off the event loop, and the bounded queue
 * that feeds a subscribed client without ever growing past its limit.
 *
 * Threads: everything here is called from the event loop thread, except the
 * functions marked "writer thread" which only logwriter.c calls.
 */
#ifndef CORRAL_LOGS_H
#define CORRAL_LOGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

/* logfmt.c */
#define LOGFMT_PLAIN 0
#define LOGFMT_JSON 1
#define LOGFMT_DEFAULT_DATE "%Y-%m-%dT%H:%M:%S.%L"
struct logfmt {
	int type;               /* LOGFMT_PLAIN or LOGFMT_JSON */
	const char *date_format; /* strftime(3) with %L = ms; NULL: none */
	int utc;                /* format times in UTC, not local time */
	int prefix_instance;    /* plain: "[N] " before the line */
	/* cache of the last second formatted, owned by the struct */
	int64_t cache_sec;
	char cache_pre[64];     /* the text before %L */
	char cache_post[64];    /* the text after %L */
	int cache_has_ms;
};
void logfmt_init(struct logfmt *, int, const char *, int, int);
size_t logfmt_time(struct logfmt *, uint64_t, char *, size_t);
size_t logfmt_line(struct logfmt *, const char *, int, const char *,
    uint64_t, const char *, size_t, char *, size_t);
size_t logfmt_json_escape(const char *, size_t, char *, size_t);
int logfmt_parse_time(const char *, const char *, int, size_t,
    uint64_t *, size_t *);
uint64_t logfmt_now_ms(void);

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
void logrotate_gzip_enqueue(const char *, int, dev_t, ino_t);
void logrotate_gzip_stop(void);
void logrotate_gzip_wait_idle(void);
void logrotate_lock(void);
void logrotate_unlock(void);

/* logwriter.c */
#define LOGSINK_FILE 0
#define LOGSINK_JOURNAL 1
#define LOGSINK_BUFSIZE (128 * 1024)    /* per sink, x2 (double buffer) */

struct logsink;
/* A producer that found a sink full waits for it with one of these, which
 * it owns (embedded in its own struct). cb runs on the loop once the sink
 * has room again; the waiter is then no longer linked. */
struct logsink_waiter {
	void (*cb)(struct logsink_waiter *);
	struct logsink_waiter *next;
	struct logsink *sink;
};
/* What the loop hears about a sink (set with logwriter_start). */
#define LOGSINK_EV_ERROR 1      /* writing failed: err is the errno */
#define LOGSINK_EV_RECOVERED 2  /* writing works again; dropped = lost lines */
#define LOGSINK_EV_ROTATED 3
typedef void (*logsink_event_cb)(struct logsink *, int, int, uint64_t);

int logwriter_start(uv_loop_t *, logsink_event_cb, char **);
void logwriter_stop(void);
void logwriter_reopen_all(void);
void logwriter_sync(void);

struct logsink *logsink_open_file(const char *, const struct logrotate_opts *,
    char **);
struct logsink *logsink_open_journal(void);
void logsink_close(struct logsink *);
int logsink_write(struct logsink *, const char *, size_t);
int logsink_journal(struct logsink *, const char *, int, int,
    const char *, size_t);
size_t logsink_space(struct logsink *);
void logsink_wait(struct logsink *, struct logsink_waiter *);
void logsink_cancel_wait(struct logsink_waiter *);
void logsink_flush(struct logsink *);
void logsink_reopen(struct logsink *);
const char *logsink_path(struct logsink *);
int logsink_error(struct logsink *, uint64_t *);
void logsink_set_user(struct logsink *, void *);
void *logsink_user(struct logsink *);

/* logjournal.c (writer thread) */
int logjournal_available(void);
int logjournal_send(const char *, int, int, int, const char *, size_t);

/* subq.c */
struct subq_msg {
	struct subq_msg *next;
	size_t len;
	char data[];
};
struct subq {
	struct subq_msg *head;
	struct subq_msg **tail;
	size_t bytes;           /* queued */
	size_t limit;           /* at most this many bytes queued */
	uint64_t missed;        /* dropped since the last notice */
	uint64_t missed_total;
};
#define SUBQ_DEFAULT_LIMIT (256 * 1024)
void subq_init(struct subq *, size_t);
void subq_free(struct subq *);
int subq_push(struct subq *, const char *, size_t);
struct subq_msg *subq_pop(struct subq *);
int subq_empty(const struct subq *);

#endif
