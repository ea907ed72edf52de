/* SPDX-License-Identifier: ISC */
/*
 * The daemon's side of an app's logs, above the log writer (logs.h): lines
 * cut from the children's pipes (logsink.c), committed to the app's files
 * and the journal (logsink-files.c, where they are: logsink-paths.c,
 * their folders: logdir.c), streamed to followers (logfollow.c), and what
 * describe, the metrics and `corral logs` learn of them (logsink-status.c).
 * Everything here runs on the event loop.
 */
#ifndef CORRAL_LOGSINK_H
#define CORRAL_LOGSINK_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "logs.h"

struct app;
struct app_config;
struct logpipe;

#define LOG_LINE_MAX (1024 * 1024)      /* a longer line is cut */

/* An app's log settings and its sinks (all may be NULL; logsink-files.c). */
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

/* logsink.c */
int logsink_next(const char *, size_t, int, size_t *, size_t *);
int logsink_drain(struct logpipe *, int);
void logsink_start(void);
void logsink_stop(void);

/* logsink-files.c */
int logsink_open(struct app *, char **);
void logsink_close(struct app *);
void logsink_idle(struct app *);
void logsink_each(struct applogs *, void (*)(struct logfile *));
void logsink_forget_journal(void);
int logsink_blocked(struct app *, int, int, size_t, size_t,
    struct logfile_waiter *);
void logsink_write(struct app *, int, int, const char *, size_t);
int logsink_sinks(struct app *, int, int, struct logfile **);
void logsink_write_journal(struct app *, int, int, const char *, size_t);
int logsink_flush(struct app *);
void logsink_reopen_all(void);

/* logsink-paths.c */
char *logsink_instance_path(const char *, int);
char *logsink_path(const char *, const char *, const char *, const char *);
int logsink_no_file(const char *);
int logsink_comb_set(const struct app_config *, const char **);
int logsink_check(const struct app_config *, char **);
int logsink_check_values(const struct app_config *, char **);
int logsink_check_folders(const struct app_config *, char **);

/* logsink-status.c */
json_t *logsink_status(struct app *);
int logsink_dropped(struct app *, uint64_t *);
void logsink_files(struct app *, json_t *, int, int);

/* logfollow.c */
int logfollow_wanted(struct app *);
void logfollow_send(struct app *, int, int, const char *, size_t, uint64_t);

/* logdir.c */
void logdir_owner(const struct app_config *, uid_t *, gid_t *);
int logdir_make(const char *, uid_t, gid_t, char **);
void logdir_retry(struct app *);
void logdir_tick(void);

#endif
