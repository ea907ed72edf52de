/* SPDX-License-Identifier: ISC */
/*
 * An app process started by its engine without the keeper's help
 * (docs/keeper.md "Spawning"): spawn-clone.c makes the pipes and calls
 * clone3(CLONE_PARENT | CLONE_PIDFD), so that the keeper is the parent;
 * spawn-child.c is the child between clone and exec. libc only, no libuv:
 * the keeper's test engine (tests/keeper/fake-engine.c) links both.
 *
 * The child is a copy of one thread of a multi-threaded process: it may
 * call only async-signal-safe functions and must not allocate, so
 * everything it needs is in struct spawn_exec, computed before the clone.
 */
#ifndef CORRAL_SPAWN_CHILD_H
#define CORRAL_SPAWN_CHILD_H

#include <sys/resource.h>
#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

/* close_range(2) flags, for C libraries whose headers lack them */
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SPAWN_EXEC_PIDBUF 24    /* digits of LISTEN_PID, with the NUL */

/* What one spawn runs; every pointer is the caller's, valid until it returns. */
struct spawn_exec {
	const char *tag;        /* the keeper's tag of the process */
	int kill_signal;        /* what the keeper's own stop sends */
	int adopt_fd;           /* the keeper's adopt socket, sending end */
	char *const *argv;
	char *const *envp;      /* the whole environment, NULL-terminated */
	char *listen_pid;       /* in envp: SPAWN_EXEC_PIDBUF bytes to fill
				   with the child's pid, or NULL */
	const char *const *paths;       /* execve each in turn (PATH) */
	size_t npaths;
	const char *cwd;        /* or NULL */
	const char *const *cgroup_procs;        /* "0" written to each */
	size_t ncgroup_procs;
	int cgroup_dirfd;       /* v2 directory for CLONE_INTO_CGROUP, or -1 */
	const int *fds;         /* placed at 3.. in order */
	size_t nfds;
	int setsid;
	int drop_privs;         /* setgroups, setgid, setuid */
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	mode_t umask;
	int set_nofile;         /* RLIMIT_NOFILE to nofile */
	struct rlimit nofile;
	unsigned delay_ms;      /* tests: a pause after the adopt datagram */
	int64_t started_at;     /* wall clock at the spawn, ms: the start
				   time the keeper records and the engine's */
};

/* What spawn_clone() gives back: the caller owns the descriptors. */
struct spawn_result {
	pid_t pid;
	int pidfd;              /* -1 where the kernel has none */
	int out;                /* read ends of stdout and stderr */
	int err;
};

/* Indexes into spawn_stage_names[]: where a spawn failed. */
enum spawn_stage {
	SPAWN_ST_FORK, SPAWN_ST_SETSID, SPAWN_ST_CGROUP, SPAWN_ST_FDS,
	SPAWN_ST_CHDIR, SPAWN_ST_RLIMIT, SPAWN_ST_GROUPS, SPAWN_ST_GID,
	SPAWN_ST_UID, SPAWN_ST_ENV, SPAWN_ST_EXEC, SPAWN_ST_PIPE,
	SPAWN_ST_ADOPT, SPAWN_ST_MAX
};

/*
 * The child's side: spawn_clone() passes what it made. A failure goes to
 * info when the child shares the caller's memory (CLONE_VM | CLONE_VFORK:
 * the caller reads it once the child has exec'd or exited, as glibc's
 * posix_spawn does), else to the report pipe.
 */
struct spawn_child_ctx {
	const struct spawn_exec *x;
	int out[2];
	int err[2];
	int report;             /* write end of the CLOEXEC report pipe, or -1 */
	volatile int *info;     /* { errno, stage } of a failure, or NULL */
	int null_fd;            /* /dev/null, O_RDWR, or -1: the child opens it */
	const sigset_t *reset;  /* dispositions to make SIG_DFL, NULL: all */
	int joined;             /* clone3 put it in its cgroup already */
	int unshare;            /* > 0: shares the engine's table, keeps
				   the descriptors below this (spawn-low.c) */
};

/* spawn-low.c: the child's table, the descriptors below SPAWN_LOW only */
#define SPAWN_LOW 64

struct spawn_low {
	int used[SPAWN_LOW];    /* the placeholders taken */
	int n;
	int fds[SPAWN_LOW];     /* the plan's fds, moved below SPAWN_LOW */
};

int spawn_low_prepare(struct spawn_low *, const struct spawn_child_ctx *,
    struct spawn_child_ctx *, struct spawn_exec *);
void spawn_low_restore(struct spawn_low *);
void spawn_low_off(void);

/* spawn-child.c */
void spawn_child(const struct spawn_child_ctx *) __attribute__((noreturn));

/* spawn-clone.c */
extern const char *const spawn_stage_names[SPAWN_ST_MAX];
int spawn_clone(const struct spawn_exec *, struct spawn_result *,
    const char **);
void spawn_signals_refresh(void);
int spawn_devnull(void);

#endif
