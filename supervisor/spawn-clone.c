/* SPDX-License-Identifier: ISC */
/*
 * An app process started by its engine: the stdout and stderr pipes and
 * a CLOEXEC report pipe, then clone3 with CLONE_PARENT (the keeper, the
 * engine's parent, becomes the app's: it reaps it and hears its exit
 * whatever happens to the engine), CLONE_PIDFD, and CLONE_INTO_CGROUP
 * when given a cgroup v2 directory (without it when the kernel refuses).
 * The child (spawn-child.c) tells the keeper it runs, sets itself up and
 * execs. The child shares the engine's memory (CLONE_VM|CLONE_VFORK,
 * below: it writes the errno and stage of a failure there, as glibc's
 * posix_spawn does) or is a copy of the calling thread (under ASan, or
 * into a cgroup v2 directory: the caller waits on a report pipe as
 * uv_spawn does, EOF is the exec, 8 bytes the errno and stage of a
 * failure); either way every signal is blocked until it has reset the
 * dispositions the engine changed (no handler of the engine runs in it)
 * and it allocates nothing.
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "spawn-child.h"

#define SPAWN_CLONE_PIDFD 0x00001000ULL
#define SPAWN_CLONE_PARENT 0x00008000ULL
#define SPAWN_CLONE_INTO_CGROUP 0x200000000ULL
#define SPAWN_STACK (64 * 1024)

/*
 * CLONE_VM | CLONE_VFORK (as posix_spawn): no copy of the engine's page
 * tables, and no copy-on-write fault on each page the engine writes after
 * the spawn, a cost that grows with the engine (500 instances: start all
 * took 2-4 times as long with a copy). Not under ASan, whose shadow and
 * allocator a child sharing the memory must not touch; not with a cgroup
 * v2 directory (CLONE_INTO_CGROUP is clone3's, whose child cannot start
 * on a stack of its own without assembly).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_VFORK 0
#else
#define SPAWN_VFORK 1
#endif

/* struct clone_args of clone3(2), to version 2 (cgroup). */
struct spawn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};

const char *const spawn_stage_names[SPAWN_ST_MAX] = {
	"fork", "setsid", "cgroup", "fds", "chdir", "rlimit", "groups", "gid",
	"uid", "env", "exec", "pipe", "adopt"
};

/*
 * The child's stack (the calling thread's: the spawns of one thread are
 * serial, CLONE_VFORK pauses it until the exec), made at its first spawn
 * and kept.
 */
static __thread void *spawn_stack;
static int spawn_null = -1;

/*
 * /dev/null, read and write, opened once and held (the children's stdin;
 * the log pipes drop bytes into it, logpipe-set.c), or -1 when it cannot
 * be opened (again at the next call).
 */
int
spawn_devnull(void)
{
	if (spawn_null < 0)
		spawn_null = open("/dev/null", O_RDWR | O_CLOEXEC);
	return spawn_null;
}

/*
 * The signals whose disposition the children reset to SIG_DFL before
 * they unblock them: every one found caught or ignored since the first
 * spawn (a union: one reset that was not needed costs a system call, a
 * handler of the engine left in a child would run there), and SIGCHLD,
 * which libuv may catch from the engine's first uv_spawn (an exec check)
 * on. execve resets the rest. Code that makes a signal caught or ignored
 * after the engine's start calls spawn_signals_refresh().
 */
static sigset_t spawn_sigs;
static int spawn_sigs_known;

void
spawn_signals_refresh(void)
{
	struct sigaction old;
	int sig;

	if (!spawn_sigs_known) {
		sigemptyset(&spawn_sigs);
		sigaddset(&spawn_sigs, SIGCHLD);
		spawn_sigs_known = 1;
	}
	for (sig = 1; sig < NSIG; sig++) {
		/* glibc's own (SIGCANCEL, SIGSETXID) fail: as in the child */
		if (sig != SIGKILL && sig != SIGSTOP &&
		    sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler != SIG_DFL)
			sigaddset(&spawn_sigs, sig);
	}
}

/*
 * clone3 into the cgroup directory (when given and the kernel can), else
 * clone3 alone, else clone (no pidfd: *pidfd stays -1). *joined says
 * whether the kernel placed it in its cgroup.
 */
static long
spawn_clone3(int cgroup_fd, int *pidfd, int *joined)
{
	struct spawn_clone_args a;
	long pid;

	memset(&a, 0, sizeof a);
	a.flags = SPAWN_CLONE_PARENT | SPAWN_CLONE_PIDFD;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	/* 0: with CLONE_PARENT, the kernel takes the engine's own (SIGCHLD) */
	a.exit_signal = 0;
	*joined = 0;
	if (cgroup_fd >= 0) {
		a.flags |= SPAWN_CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup_fd;
		if ((pid = syscall(SYS_clone3, &a, sizeof a)) >= 0) {
			*joined = 1;
			return pid;
		}
		if (errno != ENOSYS && errno != EINVAL && errno != E2BIG)
			return -1;
		a.flags &= ~SPAWN_CLONE_INTO_CGROUP;
		a.cgroup = 0;
	}
	if ((pid = syscall(SYS_clone3, &a, sizeof a)) >= 0 || errno != ENOSYS)
		return pid;
	/* before Linux 5.3; flags and a NULL stack come first everywhere */
	*pidfd = -1;
	return syscall(SYS_clone, SPAWN_CLONE_PARENT, NULL, NULL, NULL, NULL);
}

static void
spawn_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * A child that shares the engine's descriptor table takes its own copy of
 * the descriptors below c->unshare first, before it changes any; if it
 * cannot, it fails at the "fds" stage (the engine then stops sharing).
 */
static int
spawn_vfork_child(void *arg)
{
	const struct spawn_child_ctx *c = arg;

	if (c->unshare > 0 && syscall(SYS_close_range, (unsigned)c->unshare,
	    ~0U, CLOSE_RANGE_UNSHARE) == -1) {
		c->info[0] = errno;
		c->info[1] = SPAWN_ST_FDS;
		_exit(127);
	}
	spawn_child(c);
}

/*
 * The child on a stack of its own, the engine's thread paused until exec;
 * with the small table of spawn-low.c where it can.
 */
static long
spawn_vfork(struct spawn_child_ctx *c, int *pidfd)
{
	struct spawn_child_ctx lc;
	struct spawn_exec lx;
	struct spawn_low low;
	void *stack;
	long pid;
	int files = 0;

	if (spawn_stack == NULL) {
		stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED)
			return -1;
		spawn_stack = stack;
	}
	c->joined = 0;
	c->unshare = 0;
	if (spawn_low_prepare(&low, c, &lc, &lx) == 0)
		files = CLONE_FILES;
	pid = clone(spawn_vfork_child, (char *)spawn_stack + SPAWN_STACK,
	    CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD | SIGCHLD |
	    files, files ? &lc : c, pidfd);
	if (files) {
		spawn_low_restore(&low);
		c->unshare = lc.unshare;
	}
	return pid;
}

/* Whether x's child shares the engine's memory (spawn_vfork()). */
static int
spawn_shares(const struct spawn_exec *x)
{
	return SPAWN_VFORK && x->cgroup_dirfd < 0;
}

/* The clone, with every signal blocked around it. */
static pid_t
spawn_fork(struct spawn_child_ctx *c, int *pidfd)
{
	sigset_t all, old;
	long pid;
	int e;

	if (!spawn_sigs_known)
		spawn_signals_refresh();
	c->reset = &spawn_sigs;
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if (spawn_shares(c->x))
		pid = spawn_vfork(c, pidfd);
	else
		pid = spawn_clone3(c->x->cgroup_dirfd, pidfd, &c->joined);
	if (pid == 0)
		spawn_child(c);
	e = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return (pid_t)pid;
}

/*
 * What the child reported, in info (shared memory, or read from the
 * report pipe fd): 0 for the exec (EOF), else -1 with errno and *stage.
 */
static int
spawn_report(int fd, volatile int *info, const char **stage)
{
	int buf[2];
	ssize_t n;

	if (fd >= 0) {
		do {
			n = read(fd, buf, sizeof buf);
		} while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof buf)
			return 0;
		info[0] = buf[0];
		info[1] = buf[1];
	}
	if (info[1] < 0)
		return 0;
	*stage = info[1] < SPAWN_ST_MAX ? spawn_stage_names[info[1]] : "exec";
	errno = info[0];
	return -1;
}

/*
 * Waits for a child that reported a failure to be gone (it _exits at
 * once), so that the caller may remove its cgroup.
 */
static void
spawn_gone(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd < 0)
		return;
	while (poll(&p, 1, 1000) == -1 && errno == EINTR)
		;
}

/*
 * The stdout and stderr pipes, and the report pipe where the child does
 * not share the engine's memory; the held /dev/null (the child opens one
 * itself when there is none). Returns 0, or -1 with errno set.
 */
static int
spawn_pipes(struct spawn_child_ctx *c, int rep[2], volatile int *info)
{
	c->null_fd = spawn_devnull();
	if (pipe2(c->out, O_CLOEXEC) == -1 || pipe2(c->err, O_CLOEXEC) == -1)
		return -1;
	if (spawn_shares(c->x)) {
		c->info = info;
		return 0;
	}
	if (pipe2(rep, O_CLOEXEC) == -1)
		return -1;
	c->report = rep[1];
	return 0;
}

/*
 * Runs x. Returns 0 once the process has exec'd, with *r (the caller's
 * descriptors); -1 with errno and *stage when it did not. A child that
 * failed after its adoption exits 127: the keeper reaps it and reports
 * its exit under x->tag, which the caller releases.
 */
int
spawn_clone(const struct spawn_exec *x, struct spawn_result *r,
    const char **stage)
{
	struct spawn_child_ctx c;
	volatile int info[2] = { 0, -1 };       /* no stage: the exec */
	int rep[2] = { -1, -1 }, pidfd = -1, e;
	pid_t pid;

	memset(&c, 0, sizeof c);
	c.x = x;
	c.out[0] = c.out[1] = c.err[0] = c.err[1] = c.report = -1;
	*stage = spawn_stage_names[SPAWN_ST_PIPE];
	if (spawn_pipes(&c, rep, info) == -1)
		goto fail;
	*stage = spawn_stage_names[SPAWN_ST_FORK];
	if ((pid = spawn_fork(&c, &pidfd)) == -1)
		goto fail;
	spawn_close(&rep[1]);
	spawn_close(&c.out[1]);
	spawn_close(&c.err[1]);
	e = spawn_report(rep[0], info, stage);
	spawn_close(&rep[0]);
	if (e == -1) {
		e = errno;
		if (c.unshare > 0 && info[1] == SPAWN_ST_FDS)
			spawn_low_off();
		spawn_gone(pidfd);
		spawn_close(&pidfd);
		goto fail_errno;
	}
	r->pid = pid;
	r->pidfd = pidfd;
	r->out = c.out[0];
	r->err = c.err[0];
	return 0;
fail:
	e = errno;
fail_errno:
	spawn_close(&c.out[0]);
	spawn_close(&c.out[1]);
	spawn_close(&c.err[0]);
	spawn_close(&c.err[1]);
	spawn_close(&rep[0]);
	spawn_close(&rep[1]);
	errno = e;
	return -1;
}
