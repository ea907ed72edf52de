/* SPDX-License-Identifier: ISC */
/*
 * SPAWN, the parent's side: checks the request against the table, makes
 * the child's stdout and stderr pipes (the keeper holds the read ends),
 * forks (clone3 into a cgroup v2 directory when given one and the kernel
 * has it), and waits on a CLOEXEC pipe for the child's exec: EOF means it
 * runs, 8 bytes are the errno and stage of a failure. Replies SPAWNED with
 * the pid, the read ends and a pidfd, or SPAWN_FAILED.
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

#define SPAWN_CLONE_INTO_CGROUP 0x200000000ULL

/* struct clone_args of clone3(2), to version 2 (cgroup). */
struct spawn_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack,
	    stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* Stages a child reports; the names go in SPAWN_FAILED. */
static const char *const spawn_stages[] = {
	"fork", "setsid", "cgroup", "fds", "chdir", "rlimit", "groups", "gid",
	"uid", "env", "exec", "pipe", "tag", "table", "fd"
};

static void
spawn_failed(const char *tag, int err, const char *stage)
{
	struct kproto_msg m;

	klog_info("spawn %s failed at %s: %s", tag, stage, strerror(err));
	kproto_msg_init(&m, KP_SPAWN_FAILED);
	m.tag = tag;
	m.err = err;
	m.stage = stage;
	engine_send(&m);
}

/* The descriptors to place at 3..; -1 with *stage on a bad source. */
static int
spawn_sources(struct kproto_msg *m, int *srcs, const char **stage)
{
	const struct kproto_spawn *s = &m->spawn;
	struct kheld *h;
	size_t i;

	for (i = 0; i < s->nfds; i++) {
		if (s->fds[i].index >= 0) {
			srcs[i] = m->fds[s->fds[i].index];
			continue;
		}
		if ((h = table_held_find(s->fds[i].tag)) == NULL) {
			*stage = "fd";
			errno = ENOENT;
			return -1;
		}
		srcs[i] = h->fd;
	}
	return 0;
}

/* fork, or clone3 into the cgroup directory; *joined says which. */
static pid_t
spawn_fork(int cgroup_fd, int *joined)
{
	struct spawn_clone_args a;
	long pid;

	*joined = 0;
	if (cgroup_fd >= 0) {
		memset(&a, 0, sizeof a);
		a.flags = SPAWN_CLONE_INTO_CGROUP;
		a.exit_signal = SIGCHLD;
		a.cgroup = (uint64_t)cgroup_fd;
		pid = syscall(SYS_clone3, &a, sizeof a);
		if (pid >= 0) {
			*joined = 1;
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != EINVAL && errno != E2BIG)
			return -1;
	}
	return fork();
}

static void
spawn_close_pair(int *p)
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	p[0] = p[1] = -1;
}

/*
 * Forks the child; returns its pid, or -1 with errno and *stage. The
 * caller's out[0] and err[0] are the read ends to keep.
 */
static pid_t
spawn_child_start(struct kproto_msg *m, const int *srcs, int *out, int *err,
    const char **stage)
{
	struct spawn_child_args a;
	int rep[2] = { -1, -1 }, info[2], st;
	const struct kproto_spawn *s = &m->spawn;
	ssize_t n;
	pid_t pid;

	*stage = "pipe";
	if (pipe2(out, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1 ||
	    pipe2(rep, O_CLOEXEC) == -1)
		goto fail;
	memset(&a, 0, sizeof a);
	a.s = s;
	a.srcs = srcs;
	a.out = out[1];
	a.err = err[1];
	a.report = rep[1];
	*stage = "fork";
	pid = spawn_fork(s->cgroup_fd >= 0 ? m->fds[s->cgroup_fd] : -1,
	    &a.joined);
	if (pid == -1)
		goto fail;
	if (pid == 0)
		spawn_child(&a);
	close(rep[1]);
	rep[1] = -1;
	do {
		n = read(rep[0], info, sizeof info);
	} while (n == -1 && errno == EINTR);
	close(rep[0]);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (n != (ssize_t)sizeof info)
		return pid;
	/* the child failed before exec and _exits at once */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	*stage = info[1] >= 0 && (size_t)info[1] < sizeof spawn_stages /
	    sizeof spawn_stages[0] ? spawn_stages[info[1]] : "exec";
	errno = info[0];
	spawn_close_pair(out);
	spawn_close_pair(err);
	return -1;
fail:
	st = errno;
	spawn_close_pair(out);
	spawn_close_pair(err);
	spawn_close_pair(rep);
	errno = st;
	return -1;
}

static void
spawn_reply(const char *tag, struct kchild *c)
{
	struct kproto_msg m;
	int pidfd;

	kproto_msg_init(&m, KP_SPAWNED);
	m.tag = tag;
	m.pid = c->pid;
	m.started_at = c->started_at;
	m.fds[0] = c->out;
	m.fds[1] = c->err;
	m.nfds = 2;
	if ((pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0)) >= 0)
		m.fds[m.nfds++] = pidfd;
	engine_send(&m);
	if (pidfd >= 0)
		close(pidfd);
}

/* SPAWN: runs the app and replies (m's descriptors stay m's). */
void
spawn_run(struct kproto_msg *m)
{
	int srcs[KPROTO_MAX_FDS], out[2] = { -1, -1 }, err[2] = { -1, -1 };
	const char *stage = "tag";
	struct kchild *c;
	pid_t pid;

	if (table_child_find(m->tag) != NULL || table_held_find(m->tag)) {
		spawn_failed(m->tag, EEXIST, stage);
		return;
	}
	if (K.nchildren >= KEEPER_MAX_CHILDREN) {
		spawn_failed(m->tag, EAGAIN, "table");
		return;
	}
	if (spawn_sources(m, srcs, &stage) == -1 ||
	    (pid = spawn_child_start(m, srcs, out, err, &stage)) == -1) {
		spawn_failed(m->tag, errno, stage);
		return;
	}
	c = table_child_add(m->tag, pid, out[0], err[0], keeper_real_ms());
	if (c == NULL) {
		/* cannot record it: it must not run unsupervised */
		kill(pid, SIGKILL);
		close(out[0]);
		close(err[0]);
		spawn_failed(m->tag, ENOMEM, "table");
		return;
	}
	klog_debug("spawned %s pid %d", c->tag, (int)pid);
	spawn_reply(m->tag, c);
}
