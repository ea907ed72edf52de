/* SPDX-License-Identifier: ISC */
/*
 * Reading an instance's stdout or stderr pipe from a plain descriptor,
 * without losing a line when the daemon is killed (logpipe.c), what the
 * pipes share (logpipe-set.c), and the FIFO of handed-on chunks waiting
 * to be written (logpipe-mark.c).
 * Everything here runs on the event loop.
 */
#ifndef CORRAL_LOGPIPE_H
#define CORRAL_LOGPIPE_H

#include <sys/queue.h>

#include <stdint.h>
#include <uv.h>

#include "common.h"
#include "logs.h"

struct child;
struct logfile;

#define LOGPIPE_SIZE (1024 * 1024)      /* app pipes raised to this */
#define LOGPIPE_POLL_MS 100             /* a pipe not in the epoll set */
#define LOGMARK_MAX 16                  /* chunks waiting per pipe */
#define LOGMARK_MIN (32 * 1024)         /* a smaller one grows instead */
#define LOGMARK_SINKS 3                 /* its file, the combined one, journal */

/* Bytes of the pipe up to end went to these sinks, ending at these tickets. */
struct logmark {
	uint64_t end;
	int n;
	struct logfile *sink[LOGMARK_SINKS];
	uint64_t ticket[LOGMARK_SINKS];
};

struct logmarks {
	struct logmark m[LOGMARK_MAX];
	int n;
};

/*
 * One pipe of a child (offsets count the pipe's bytes since it was made):
 * consumed bytes left the pipe; the teed ones after them are in lb or
 * handed on, and stay in the pipe until their marks are written.
 */
struct logpipe {
	uv_timer_t timer;               /* its close ends the logpipe */
	int fd;                         /* the read end, -1 none */
	struct linebuf lb;
	struct child *child;
	int stream;                     /* 1 stdout, 2 stderr */
	int started;                    /* logpipe_start() was called */
	int watched;                    /* in the epoll set */
	int closing;
	int paused;                     /* a sink is full: waiter waits */
	int eof;                        /* the app closed it; close once done */
	size_t cut;                     /* a partial line this long is handed on */
	uint64_t consumed;
	size_t teed;
	uint64_t handed;                /* offset up to which lines went on */
	struct logmarks marks;
	int waiting;                    /* on the list waiting for the writer */
	TAILQ_ENTRY(logpipe) wentry;
	struct logfile_waiter waiter;
	void (*closed)(struct logpipe *);
};

/* logpipe.c */
void logpipe_init(struct logpipe *, struct child *, int,
    void (*)(struct logpipe *));
int logpipe_open(struct logpipe *, int, int, char **);
void logpipe_start(struct logpipe *, int);
void logpipe_flush(struct logpipe *);
void logpipe_close(struct logpipe *);
void logpipe_pump(struct logpipe *);
void logpipe_pump_hup(struct logpipe *);

/* logpipe-set.c (for logpipe.c) */
int logpipe_set_init(char **);
void logpipe_watch(struct logpipe *);
void logpipe_unwatch(struct logpipe *);
void logpipe_wait(struct logpipe *);
void logpipe_unwait(struct logpipe *);
size_t logpipe_grow(int);
int logpipe_discard(int, size_t);

/* logpipe-mark.c */
void logmark_add(struct logmarks *, uint64_t, struct logfile **,
    const uint64_t *, int);
uint64_t logmark_settle(struct logmarks *, int (*)(struct logfile *,
    uint64_t));

#endif
