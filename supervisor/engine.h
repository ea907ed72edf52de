/* SPDX-License-Identifier: ISC */
/*
 * corrald as the keeper's engine: engine.c (the link, spawns),
 * engine-held.c (the descriptors the keeper holds), engine-adopt.c (the
 * keeper's table matched to the apps), engine-exec.c (corrald without
 * --engine becomes the keeper).
 */
#ifndef CORRAL_ENGINE_H
#define CORRAL_ENGINE_H

#include <sys/queue.h>

#include <stdint.h>

#include "keeper-link.h"
#include "kproto.h"

struct instance;
struct child;

/* A descriptor the keeper holds under tag. */
struct engine_fd {
	char *tag;
	int fd;
	TAILQ_ENTRY(engine_fd) entry;
};
TAILQ_HEAD(engine_fd_list, engine_fd);

struct engine {
	struct keeper_link *link;
	int active;             /* the table is read: the link serves */
	int table_done;
	int lost;               /* the keeper is gone */
	int heard_hello;
	int adopt_fd;           /* the keeper's adopt socket, sending end */
	int kind;               /* KP_KIND_* of the HELLO */
	int replay;             /* serves again what the last one left read */
	int64_t generation;     /* engines the keeper started, this one too */
	char *path;             /* this engine's binary, as the keeper ran it */
	char *reason;           /* why the previous engine went, or NULL */
	char *update_failed;    /* why an update rolled back, or NULL */
	long long update_failures;      /* updates that stopped in this engine */
	int64_t stop_time;      /* the last STOP_TIME sent, -1: none */
	struct engine_fd_list held;     /* the table's, not yet taken */
	struct engine_fd_list taken;    /* the table's, taken back (fd -1) */
};

extern struct engine E;

/* engine.c */
void engine_start(const char *, const char *);
int engine_upgrade(char **);
int engine_reexec(const char *, char **);
void engine_ready(void);
void engine_bye(int);
void engine_stop_time(void);
void engine_stop(void);
int engine_spawn(const struct spawn_plan *, struct keeper_proc *, char **);
void engine_close_fds(int, int, int);

/* engine-held.c */
int engine_take(const char *);
int engine_take_prefix(const char *, char **);
void engine_hold(const char *, int);
void engine_release(const char *);
void engine_release_exited(const char *);
void engine_release_unclaimed(void);
void engine_hold_child(const char *, const struct child *, int);
int engine_take_child(const char *, const char *);
void engine_release_child(const char *, const struct child *);
void engine_mark_ready(struct child *);
int engine_take_ready(struct child *);
void engine_unmark_ready(struct child *);

/* engine-adopt.c */
void engine_adopt_init(void);
void engine_adopt_live(const struct keeper_proc *);
void engine_adopt_exited(const char *, pid_t, int, int, int);
void engine_adopt_restore(void);
void engine_adopt_finish(void);

/* engine-recover.c */
void engine_recover(void);

/* fault.c */
void fault_arm(int);
int fault_wanted(void);
void fault_point(const char *);

/* cmd-update.c */
int update_keeper_done(int, const char *);

/* engine-exec.c */
void engine_exec_keeper(int, char **, int);

#endif
