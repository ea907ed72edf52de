/* SPDX-License-Identifier: ISC */
/*
 * corral-keeper: the small parent of every app and of the engine (corrald
 * --engine). It holds the descriptors that must outlive an engine, adopts
 * the apps the engine spawns (CLONE_PARENT makes them the keeper's
 * children) and reaps them, restarts a dead or hung engine, swaps it on
 * UPGRADE and re-executes itself on REEXEC (docs/keeper.md). libc only;
 * one thread; a poll() loop over a signalfd, the engine's socket and the
 * adopt socket.
 */
#ifndef CORRAL_KEEPER_H
#define CORRAL_KEEPER_H

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <stdint.h>

#include "kproto.h"

#define KEEPER_VERSION "0.1.0"
/*
 * Bounds against a runaway engine, far above what descriptors allow (an
 * app process holds two; 20,000 is a usual hard limit): 10,000 apps
 * must fit (issue 11).
 */
#define KEEPER_MAX_HELD 65536
#define KEEPER_MAX_CHILDREN 65536
#define KEEPER_STABLE_MS 1000           /* served this long after READY */
#define KEEPER_BACKOFF_MIN_MS 100
#define KEEPER_BACKOFF_MAX_MS 15000
#define KEEPER_CHECK_MS 5000            /* REEXEC: the new binary answers */

/* Exit statuses (docs/keeper.md); a BYE's status is the engine's own. */
#define KEEPER_EXIT_FAILED 1    /* apps stopped by the keeper, SIGTERM */
#define KEEPER_EXIT_KILLED 2    /* ... and some needed SIGKILL */
#define KEEPER_EXIT_USAGE 100

#if defined(__GNUC__)
#define KEEPER_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define KEEPER_NORETURN __attribute__((noreturn))
#else
#define KEEPER_PRINTF(a, b)
#define KEEPER_NORETURN
#endif

/* A descriptor the engine asked the keeper to hold. */
struct kheld {
	TAILQ_ENTRY(kheld) entry;
	struct kheld *tag_next;         /* table.c's chains, by tag */
	char *tag;
	int fd;
};

/*
 * A spawned app process: live, or exited (status kept) until the engine
 * RELEASEs its tag. out and err are the read ends of its stdout and
 * stderr pipes, held for as long as the entry.
 */
struct kchild {
	TAILQ_ENTRY(kchild) entry;
	struct kchild *tag_next;        /* table.c's chains, by tag */
	struct kchild *pid_next;        /* and by pid */
	char *tag;
	pid_t pid;
	int out;
	int err;
	int64_t started_at;
	int exited;
	int status;
	int kill_signal;        /* what the keeper's own stop sends first */
	unsigned tab_gen;       /* K.tab_gen once in the table being sent */
};

TAILQ_HEAD(kheld_list, kheld);
TAILQ_HEAD(kchild_list, kchild);

struct keeper {
	char *home;
	int foreground;
	int verbose;
	char *self_argv0;
	char *engine_path;      /* argv[0] of the engines */
	char **engine_args;     /* passed through after "--" */
	int nengine_args;
	int64_t heartbeat_ms;
	int64_t ready_ms;       /* an upgraded engine says READY within */
	int64_t stop_ms;        /* SIGTERM to SIGKILL when stopping alone */
	int64_t term_ms;        /* TERM to the engine's BYE and exit */
	int64_t apps_stop_ms;   /* the engine's STOP_TIME: its apps' longest
				   graceful stop (0: none said) */
	struct rlimit nofile;   /* as the keeper found it: for the apps */
	int sigfd;
	int adopt_rx;           /* the adopt socket (adopt.c), both ends */
	int adopt_tx;
	int lock_fd;
	int ready_fd;           /* the starting client waits on it, or -1 */

	/* the engine */
	pid_t engine_pid;       /* 0: none */
	struct kproto_conn conn;        /* fd -1: no link */
	int exe_fd;             /* the engine binary in use */
	int trial_fd;           /* an upgrade's new binary, until READY */
	char *trial_path;
	char *upgrade_path;     /* UPGRADE received, old engine leaving */
	int engine_ready;
	int ever_ready;         /* some engine said READY */
	uint64_t engine_started;
	uint64_t engine_ready_at;       /* 0: not READY yet */
	uint64_t last_heard;
	uint64_t deadline;      /* leave (UPGRADE) or READY (trial) by */
	uint64_t restart_at;    /* 0: none planned */
	int failures;
	int64_t generation;
	int64_t next_kind;
	char *next_reason;      /* HELLO text of the next engine */
	char *update_failed;    /* sent after the next engine's table */
	char *kill_reason;      /* why the keeper killed the engine */
	/* the table being sent (link.c): the next entries, its number */
	struct kheld *tab_held;
	struct kchild *tab_child;
	int tab_sending;
	unsigned tab_gen;

	/* stopping */
	int stopping;           /* SIGTERM/SIGINT: TERM sent to the engine */
	uint64_t term_deadline; /* the engine has said BYE and left by */
	int bye;
	int bye_status;
	int alone;              /* stopping the apps without an engine */
	int alone_killed;
	uint64_t alone_deadline;

	struct kheld_list held;
	struct kchild_list children;
	int nheld;
	int nchildren;
};

extern struct keeper K;

/* main.c */
uint64_t keeper_mono_ms(void);
void keeper_default_signals(void);
int64_t keeper_real_ms(void);
void keeper_exit(int) KEEPER_NORETURN;

/* file.c */
void keeper_cloexec(int, int);
int keeper_open_file(const char *, int, mode_t);
const char *keeper_open_error(int);

/* log.c */
int klog_open(const char *);
void klog_stderr(void);
void klog_info(const char *, ...) KEEPER_PRINTF(1, 2);
void klog_debug(const char *, ...) KEEPER_PRINTF(1, 2);
void klog_warn(const char *, ...) KEEPER_PRINTF(1, 2);
void klog_warnx(const char *, ...) KEEPER_PRINTF(1, 2);
void klog_fatal(const char *, ...) KEEPER_PRINTF(1, 2) KEEPER_NORETURN;
void klog_status(char *, size_t, int);

/* table.c */
struct kheld *table_held_find(const char *);
int table_hold(const char *, int);
void table_held_free(struct kheld *);
struct kchild *table_child_find(const char *);
struct kchild *table_child_by_pid(pid_t);
struct kchild *table_child_add(const char *, pid_t, int, int, int64_t);
void table_child_free(struct kchild *);
int table_release(const char *);
int table_live_count(void);

/* adopt.c */
void adopt_init(void);
void adopt_drain(pid_t);

/* engine.c */
void engine_start(void);
void engine_exited(int);
void engine_kill(const char *);
void engine_tick(uint64_t);
uint64_t engine_next_deadline(void);
int engine_send(struct kproto_msg *);
int engine_send_later(struct kproto_msg *);
void engine_upgrade(const char *);

/* link.c */
void link_hello(void);
void link_broken(const char *, int);
void link_input(void);
void link_output(void);
void link_send_table(void);
void link_table_more(void);
void link_exited(struct kchild *);
void link_error(const char *, int, const char *);

/* reap.c */
void reap_children(void);
void stop_time(int64_t);
void stop_request(const char *);
void stop_alone(const char *);
void stop_tick(uint64_t);
uint64_t stop_next_deadline(void);

/* sweep.c */
void sweep_start(int);
void sweep_check(void);
void sweep_tick(uint64_t);
uint64_t sweep_next_deadline(void);
int sweep_active(void);

/* notify.c */
void notify_init(void);
void notify_env_put(void);
void notify_env_strip(void);
void notify_listen_child(void);
void notify_listen_done(void);
void notify_ready(void);
void notify_stopping(int64_t, const char *, ...) KEEPER_PRINTF(2, 3);
void notify_status(const char *, ...) KEEPER_PRINTF(1, 2);
void notify_tick(uint64_t);
uint64_t notify_next_deadline(void);

/* reexec.c, restore.c */
void reexec_run(const char *);
int reexec_reaped(pid_t);
int reexec_check_fd(void);
void reexec_check_input(void);
void reexec_tick(uint64_t);
uint64_t reexec_next_deadline(void);
void reexec_exec(int, const char *, int, int, const char *);
void reexec_cloexec(int);
void restore_run(int, int, const char *);

#endif
