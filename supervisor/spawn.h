/* SPDX-License-Identifier: ISC */
/*
 * What to run for an instance, as one struct spawn_plan that the modules
 * fill in turn (spawn.c calls them: appcfg-run.c the argv and envp,
 * cluster.c the sockets, LISTEN_PID and the preload library, triggers.c
 * the identity, limits.c the cgroup, fdlimit.c the file limit) and that
 * the engine runs itself (spawn-exec.c, spawn-clone.c, spawn-child.c),
 * the keeper adopting the process; health checks run it through
 * corral-exec and uv_spawn (spawn-plan.c).
 */
#ifndef CORRAL_SPAWN_H
#define CORRAL_SPAWN_H

#include <sys/types.h>

#include <stddef.h>

#include <uv.h>

/*
 * Free of libuv types (the child always gets a session of its own).
 * Strings and arrays stay the filler's; fds (placed at 3.. in order) and
 * cgroup_dirfd too.
 */
struct spawn_plan {
	char *tag;              /* app name + instance id + spawn generation */
	char *path;             /* NULL: argv[0], searched in envp's PATH */
	char **argv;            /* NULL-terminated: the app's, never wrapped */
	char **envp;            /* NULL-terminated, the whole environment */
	char *cwd;              /* NULL: the keeper's (/ when detached) */
	int drop_privs;         /* setgroups(groups), setgid(gid), setuid(uid) */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	char **cgroup_procs;    /* files to write "0" to: v1 tasks, v2 procs */
	size_t ncgroup_procs;
	int cgroup_dirfd;       /* v2 cgroup directory for clone3, or -1 */
	int *fds;
	size_t nfds;
	int listen_pid;         /* LISTEN_PID = the child's pid */
	char *preload;          /* put first in LD_PRELOAD, or NULL */
	int kill_signal;        /* the keeper's own stop sends it first */
	mode_t umask;
	/* The soft RLIMIT_NOFILE (the keeper's at its start), 0: inherited. */
	unsigned long long nofile;
	uint64_t started_at;    /* set by spawn_run(): the keeper's record */
	const char *refused;    /* why it must not run (triggers_spawn()),
				   or NULL */
};

struct instance;

/* spawn.c */
int instance_spawn(struct instance *, char **);

/* spawn-plan.c */
const char *spawn_exec_path(void);
char **spawn_exec_argv(const struct spawn_plan *, const char *);
int spawn_plan_options(const struct spawn_plan *, uv_process_options_t *,
    char ***, char **);

#endif
