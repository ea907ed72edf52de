/* SPDX-License-Identifier: ISC */
/*
 * An app process between the engine's clone3 and its exec. First, before
 * any step that can fail, one datagram on the keeper's adopt socket (its
 * tag, pid, start time, kill signal and the read ends of its pipes), so
 * that the keeper, its parent, supervises it whatever happens to the
 * engine. Then a new session, the cgroup ("0" written to each file unless
 * clone3 placed it), stdin /dev/null, stdout and stderr the pipes, the
 * requested descriptors at 3.. and every other one closed at exec, the
 * working directory, umask, the file limit, the user and groups,
 * LISTEN_PID, default signal dispositions and an empty mask; execve.
 * A failure gives errno and the stage to the caller (shared memory or
 * the report pipe, spawn-child.h) and exits 127.
 *
 * A copy of one thread of a multi-threaded process: async-signal-safe
 * calls only, no allocation, and the identity changed by raw system
 * calls (glibc's setuid() would wait for threads this copy lacks).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kproto.h"
#include "spawn-child.h"

#define CHILD_MAX_FDS 256

static void __attribute__((noreturn))
child_fail(const struct spawn_child_ctx *c, int report, int stage)
{
	int info[2] = { errno, stage };

	if (c->info != NULL) {
		c->info[0] = info[0];
		c->info[1] = info[1];
	} else
		(void)!write(report, info, sizeof info);
	_exit(127);
}

/* The adopt datagram, with the read ends of the pipes. */
static int
child_adopt(const struct spawn_child_ctx *c, pid_t pid)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct kproto_adopt a;
	struct iovec iov = { &a, sizeof a };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fds[2] = { c->out[0], c->err[0] };
	ssize_t n;

	memset(&a, 0, sizeof a);
	memset(&cbuf, 0, sizeof cbuf);
	a.version = KPROTO_VERSION;
	a.pid = (int32_t)pid;
	a.started_at = c->x->started_at;
	a.kill_signal = c->x->kill_signal;
	strncpy(a.tag, c->x->tag, sizeof a.tag - 1);
	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	do {
		n = sendmsg(c->x->adopt_fd, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof a ? 0 : -1;
}

/* Writes "0", the writer itself, to a cgroup's procs or (v1) tasks file. */
static int
child_join(const char *procs)
{
	int fd, ok;

	if ((fd = open(procs, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	ok = write(fd, "0\n", 2) == 2;
	if (close(fd) == -1)
		ok = 0;
	return ok ? 0 : -1;
}

/* Sets every descriptor from lo up close-on-exec. */
static void
child_cloexec_from(int lo)
{
	struct rlimit rl;
	int fd, max = 65536;

	if (syscall(SYS_close_range, (unsigned)lo, ~0U, CLOSE_RANGE_CLOEXEC)
	    == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
		max = (int)rl.rlim_cur;
	for (fd = lo; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* fd, or a copy of it at n or above when it is below n; -1 on failure. */
static int
child_above(int fd, int n)
{
	return fd >= n ? fd : fcntl(fd, F_DUPFD_CLOEXEC, n);
}

/*
 * 0 /dev/null, 1 out, 2 err, 3+i fds[i]. Every source below the last
 * target goes above it first, so that no dup2 overwrites a source still
 * to be placed (a source is never its own target: dup2 then clears its
 * close-on-exec flag); the report pipe too.
 */
static int
child_fds(const struct spawn_child_ctx *c, int *report)
{
	const struct spawn_exec *x = c->x;
	int n = 3 + (int)x->nfds, hi[3 + CHILD_MAX_FDS], nul = c->null_fd, i;

	if (x->nfds > CHILD_MAX_FDS) {
		errno = EMFILE;
		return -1;
	}
	if (nul < 0 && (nul = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	hi[0] = nul;
	hi[1] = c->out[1];
	hi[2] = c->err[1];
	for (i = 3; i < n; i++)
		hi[i] = x->fds[i - 3];
	for (i = 0; i < n; i++) {
		if ((hi[i] = child_above(hi[i], n)) == -1)
			return -1;
	}
	if (*report >= 0 && (*report = child_above(*report, n)) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (dup2(hi[i], i) == -1)
			return -1;
	}
	child_cloexec_from(n);
	return 0;
}

/* setgroups, setgid, setuid, then a check that root cannot come back. */
static int
child_privs(const struct spawn_exec *x, int *stage)
{
	*stage = SPAWN_ST_GROUPS;
	if (syscall(SYS_setgroups, x->ngroups, x->ngroups > 0 ? x->groups :
	    NULL) == -1)
		return -1;
	*stage = SPAWN_ST_GID;
	if (syscall(SYS_setgid, x->gid) == -1)
		return -1;
	*stage = SPAWN_ST_UID;
	if (syscall(SYS_setuid, x->uid) == -1)
		return -1;
	if (x->uid != 0 && (syscall(SYS_setuid, 0) != -1 ||
	    syscall(SYS_geteuid) == 0)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* The pid in decimal into buf (SPAWN_EXEC_PIDBUF bytes). */
static void
child_itoa(char *buf, long v)
{
	char tmp[SPAWN_EXEC_PIDBUF];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < sizeof tmp - 1);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

/*
 * Default dispositions (those the caller names, else every one), then
 * the empty mask: no handler of the engine runs here, and what it
 * ignores (SIGPIPE) the app does not.
 */
static void
child_signals(const sigset_t *reset)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP &&
		    (reset == NULL || sigismember(reset, sig) == 1))
			(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* execve of each candidate path; errno EACCES if any said so. */
static void
child_exec(const struct spawn_exec *x)
{
	size_t i;
	int eacces = 0;

	for (i = 0; i < x->npaths; i++) {
		execve(x->paths[i], x->argv, x->envp);
		eacces |= errno == EACCES;
	}
	errno = eacces ? EACCES : ENOENT;
}

/* The steps after adoption; returns only on a failure, with *stage. */
static void
child_setup(const struct spawn_child_ctx *c, int *report, int *stage)
{
	const struct spawn_exec *x = c->x;
	size_t i;

	*stage = SPAWN_ST_SETSID;
	if (x->setsid && setsid() == -1)
		return;
	*stage = SPAWN_ST_CGROUP;
	for (i = 0; !c->joined && i < x->ncgroup_procs; i++) {
		if (child_join(x->cgroup_procs[i]) == -1)
			return;
	}
	*stage = SPAWN_ST_FDS;
	if (child_fds(c, report) == -1)
		return;
	*stage = SPAWN_ST_CHDIR;
	if (x->cwd != NULL && chdir(x->cwd) == -1)
		return;
	umask(x->umask);
	*stage = SPAWN_ST_RLIMIT;
	if (x->set_nofile && setrlimit(RLIMIT_NOFILE, &x->nofile) == -1)
		return;
	if (x->drop_privs && child_privs(x, stage) == -1)
		return;
	child_signals(c->reset);
	*stage = SPAWN_ST_EXEC;
	child_exec(x);
}

void
spawn_child(const struct spawn_child_ctx *c)
{
	const struct spawn_exec *x = c->x;
	pid_t pid = (pid_t)syscall(SYS_getpid);
	struct timespec ts;
	int report = c->report, stage;

	/* the pipes' read ends here are close-on-exec: the exec closes them */
	if (child_adopt(c, pid) == -1)
		child_fail(c, report, SPAWN_ST_ADOPT);
	if (x->delay_ms > 0) {
		ts.tv_sec = x->delay_ms / 1000;
		ts.tv_nsec = (long)(x->delay_ms % 1000) * 1000000;
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	if (x->listen_pid != NULL)
		child_itoa(x->listen_pid, (long)pid);
	child_setup(c, &report, &stage);
	child_fail(c, report, stage);
}
