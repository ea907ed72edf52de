/* SPDX-License-Identifier: ISC */
/*
 * The adopt socket: the engine spawns the apps itself (clone3 with
 * CLONE_PARENT, so that the keeper is their parent), and each app process
 * says so here, first thing, with one datagram (struct kproto_adopt) and
 * the read ends of its stdout and stderr pipes. The keeper holds both
 * ends of the SOCK_SEQPACKET socketpair for its life (an app's datagram
 * outlives an engine that dies mid-spawn) and hands the sending end to
 * every engine with HELLO. reap.c drains it before it takes a pid for an
 * orphan, so that no exit is seen before its adoption.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "keeper.h"

/* Start-up: the socketpair (fatal without it: nothing could be adopted). */
void
adopt_init(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		klog_fatal("adopt socketpair: %s", strerror(errno));
	K.adopt_rx = sv[0];
	K.adopt_tx = sv[1];
	/* the receiving end only: the sending end stays blocking for apps */
	(void)shutdown(K.adopt_tx, SHUT_RD);
	(void)shutdown(K.adopt_rx, SHUT_WR);
}

/* The two descriptors of a datagram's SCM_RIGHTS, or -1 each. */
static void
adopt_fds(struct msghdr *mh, int *fds, int *extra)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	fds[0] = fds[1] = -1;
	*extra = 0;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
			if (i < 2 && fds[i] == -1)
				fds[i] = fd;
			else {
				close(fd);
				*extra = 1;
			}
		}
	}
}

/*
 * What pid is to the keeper: 1, a running child; 0, a child that exited
 * and is not reaped yet; -1, none of its apps (not its child, or the
 * engine). A datagram names its pid: one that is not the keeper's child
 * is someone else's process, never adopted or signalled.
 */
static int
adopt_child(pid_t pid)
{
	siginfo_t si;

	if (pid <= 0 || pid == K.engine_pid)
		return -1;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return -1;
	return si.si_pid == 0;
}

/*
 * A process that cannot be recorded (a datagram of the right size whose
 * pipes did not come, the keeper out of descriptors: MSG_CTRUNC; a tag in
 * use; the table full) is killed, not left to run unsupervised, when it
 * is a running child of the keeper.
 */
static void
adopt_refuse(pid_t pid)
{
	if (adopt_child(pid) == 1)
		(void)kill(pid, SIGKILL);
}

/*
 * Records the app of one datagram. What cannot be recorded is killed: an
 * app must not run unsupervised (its exit then reaches the engine by pid).
 */
static void
adopt_one(const struct kproto_adopt *a, const int *fds)
{
	struct kchild *c = NULL;
	const char *why = "table full";

	if (table_child_find(a->tag) != NULL || table_held_find(a->tag))
		why = "tag in use";
	else if (K.nchildren < KEEPER_MAX_CHILDREN)
		c = table_child_add(a->tag, a->pid, fds[0], fds[1],
		    a->started_at);
	if (c == NULL) {
		klog_warnx("cannot adopt %s (pid %d): %s", a->tag, (int)a->pid,
		    why);
		close(fds[0]);
		close(fds[1]);
		adopt_refuse(a->pid);
		return;
	}
	c->kill_signal = a->kill_signal > 0 && a->kill_signal < NSIG ?
	    a->kill_signal : SIGTERM;
	klog_debug("adopted %s pid %d", c->tag, (int)a->pid);
}

/*
 * Reads one datagram; 0 when there was one, -1 when none waits. reaped:
 * the pid just reaped (reap.c drains the socket before it takes a pid for
 * an orphan), 0 for none. Only a child of the keeper (adopt_child()) or
 * that pid is adopted: the table holds the keeper's apps alone (its own
 * stop signals each one's process group).
 */
static int
adopt_read(pid_t reaped)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct kproto_adopt a;
	struct iovec iov = { &a, sizeof a };
	struct msghdr mh;
	int fds[2], extra;
	ssize_t n;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	do {
		n = recvmsg(K.adopt_rx, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	adopt_fds(&mh, fds, &extra);
	if (n != (ssize_t)sizeof a || a.version != KPROTO_VERSION ||
	    a.pid <= 0 || fds[1] == -1 || extra ||
	    memchr(a.tag, '\0', sizeof a.tag) == NULL ||
	    kproto_check_tag(a.tag) == -1 ||
	    (a.pid != reaped && adopt_child(a.pid) == -1)) {
		klog_warnx("adopt socket: a malformed datagram (%zd bytes%s)",
		    n, mh.msg_flags & MSG_CTRUNC ? ", descriptors cut" : "");
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		adopt_refuse(n == (ssize_t)sizeof a ? a.pid : 0);
		return 0;
	}
	adopt_one(&a, fds);
	return 0;
}

/* Adopts every app process that has said so; reaped: as adopt_read(). */
void
adopt_drain(pid_t reaped)
{
	while (adopt_read(reaped) == 0)
		;
}
