/* SPDX-License-Identifier: ISC */
/*
 * Draining: before the daemon stops an instance gracefully, the instance
 * stops taking new connections from the sockets the daemon holds, and the
 * daemon waits for the connections it has to end (or for drain_timeout),
 * so that an app that exits at once at SIGTERM loses no request.
 *
 * A process whose bind() got a held socket (preload.c, ctl.c) starts one
 * thread, with every signal blocked, that says HELLO on the control
 * channel with a socket of its own and waits on it. At "DRAIN" it puts a
 * dummy listening socket (loopback, port 0, never connected to) in the
 * place of each such fd: the app's accept() then finds nothing, the
 * kernel gives the connections to the other instances. An epoll
 * registration of the fd (found in /proc/self/fdinfo, so that any event
 * loop is covered) is removed before the swap and made again on the
 * dummy, else it would still report the shared socket ready and the app
 * would spin on EAGAIN. A thread blocked in accept() on the fd (seen in
 * /proc/self/task/T/syscall) is woken with SIGURG when the app leaves that
 * signal alone, so that it does not take one more connection. Then the
 * thread counts this process's connections accepted from those sockets
 * (sockets whose local address is the held one) every DRAIN_POLL_MS and
 * answers "DRAINED" once there are none. Apps that took the sockets from
 * LISTEN_FDS themselves are never touched: their own SIGTERM handling
 * applies.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"

#define DRAIN_MAX 32                    /* tracked fds */
#define DRAIN_MAX_REGS 16               /* epoll registrations of one fd */
#define DRAIN_POLL_MS 20

struct drain_fd {
	int fd;
	ino_t ino;
	struct sockaddr_storage addr;   /* where it listens */
	socklen_t addrlen;
	int swapped;
};

static struct drain_fd drain_fds[DRAIN_MAX];
static int drain_nfds;
static pthread_mutex_t drain_mutex = PTHREAD_MUTEX_INITIALIZER;
static pid_t drain_pid;                 /* the process running the thread */
static int drain_chan = -1;             /* its end of the drain channel */

static void
drain_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Whether a connection with local address a came from listener d. */
static int
drain_from(const struct drain_fd *d, const struct sockaddr_storage *a,
    socklen_t alen)
{
	if (d->addr.ss_family == AF_UNIX)
		return a->ss_family == AF_UNIX && alen == d->addrlen &&
		    memcmp(a, &d->addr, alen) == 0;
	return (a->ss_family == AF_INET || a->ss_family == AF_INET6) &&
	    preload_port(a) == preload_port(&d->addr);
}

/* Calls fn(fd, target of the link) for each fd of this process. */
static void
drain_each_fd(void (*fn)(int, const char *, void *), void *arg)
{
	char path[64], link[128];
	struct dirent *de;
	ssize_t n;
	DIR *dir;
	int fd;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		fd = atoi(de->d_name);
		if (fd == dirfd(dir))
			continue;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if ((n = readlink(path, link, sizeof link - 1)) <= 0)
			continue;
		link[n] = '\0';
		fn(fd, link, arg);
	}
	closedir(dir);
}

struct drain_regs {
	const struct drain_fd *d;
	int epfd[DRAIN_MAX_REGS];
	struct epoll_event ev[DRAIN_MAX_REGS];
	int n;
};

/* An epoll fd: its registrations of d's fd (the same socket) into regs. */
static void
drain_find_regs(int fd, const char *link, void *arg)
{
	struct drain_regs *r = arg;
	char path[64], line[256];
	unsigned long long data;
	unsigned long ino;
	unsigned int events;
	int tfd;
	FILE *f;

	if (strcmp(link, "anon_inode:[eventpoll]") != 0)
		return;
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL && r->n < DRAIN_MAX_REGS) {
		const char *p = strstr(line, "ino:");

		if (sscanf(line, "tfd: %d events: %x data: %llx", &tfd,
		    &events, &data) != 3 || tfd != r->d->fd || p == NULL ||
		    sscanf(p, "ino:%lx", &ino) != 1 || ino != r->d->ino)
			continue;
		r->epfd[r->n] = fd;
		r->ev[r->n].events = events;
		r->ev[r->n].data.u64 = data;
		r->n++;
	}
	fclose(f);
}

/* A listening socket nobody connects to, of d's family where it can be. */
static int
drain_dummy(const struct drain_fd *d)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	int s;

	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (d->addr.ss_family == AF_INET6) {
		s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_addr = in6addr_loopback;
		if (s != -1 && bind(s, (struct sockaddr *)&sin6, sizeof sin6) == 0
		    && listen(s, 1) == 0)
			return s;
		if (s != -1)
			close(s);
	}
	if (d->addr.ss_family != AF_UNIX) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s != -1 && bind(s, (struct sockaddr *)&sin, sizeof sin) == 0
		    && listen(s, 1) == 0)
			return s;
		if (s != -1)
			close(s);
	}
	/* An unbound unix socket gets an abstract name at listen(). */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s != -1 && listen(s, 1) == 0)
		return s;
	if (s != -1)
		close(s);
	return -1;
}

/* Threads of this process blocked in accept() on fd, into tids. */
static int
drain_acceptors(int fd, pid_t *tids, int max)
{
	char path[320], line[256];
	struct dirent *de;
	long nr;
	unsigned long a0;
	int n = 0, f;
	ssize_t len;
	DIR *dir;

	if ((dir = opendir("/proc/self/task")) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL && n < max) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/syscall",
		    de->d_name);
		if ((f = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(f, line, sizeof line - 1);
		close(f);
		if (len <= 0)
			continue;
		line[len] = '\0';
		if (sscanf(line, "%ld %lx", &nr, &a0) != 2 || (int)a0 != fd)
			continue;
#ifdef SYS_accept
		if (nr == SYS_accept)
			tids[n++] = (pid_t)atoi(de->d_name);
#endif
#ifdef SYS_accept4
		if (nr == SYS_accept4)
			tids[n++] = (pid_t)atoi(de->d_name);
#endif
	}
	closedir(dir);
	return n;
}

static void
drain_wake(int sig)
{
	(void)sig;
}

/* Wakes the threads blocked in accept(), if SIGURG is the app's to spare. */
static void
drain_interrupt(const pid_t *tids, int n)
{
	struct sigaction sa, old;
	int i;

	if (n == 0 || sigaction(SIGURG, NULL, &old) == -1 ||
	    (old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL &&
	    old.sa_handler != SIG_IGN && old.sa_handler != drain_wake))
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = drain_wake;     /* no SA_RESTART: accept() returns */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGURG, &sa, NULL) == -1)
		return;
	for (i = 0; i < n; i++)
		syscall(SYS_tgkill, getpid(), tids[i], SIGURG);
}

/* Puts a dummy in the place of d's fd; returns 1 if done. */
static int
drain_swap(struct drain_fd *d)
{
	struct drain_regs regs;
	pid_t tids[16];
	struct stat st;
	int i, dummy, ntids;

	if (d->swapped || fstat(d->fd, &st) == -1 || st.st_ino != d->ino)
		return 0;
	memset(&regs, 0, sizeof regs);
	regs.d = d;
	drain_each_fd(drain_find_regs, &regs);
	ntids = drain_acceptors(d->fd, tids, (int)(sizeof tids / sizeof *tids));
	if ((dummy = drain_dummy(d)) == -1)
		return 0;
	for (i = 0; i < regs.n; i++)
		epoll_ctl(regs.epfd[i], EPOLL_CTL_DEL, d->fd, NULL);
	if (preload_adopt(d->fd, dummy) == -1) {
		close(dummy);
		return 0;
	}
	close(dummy);
	for (i = 0; i < regs.n; i++)
		epoll_ctl(regs.epfd[i], EPOLL_CTL_ADD, d->fd, &regs.ev[i]);
	drain_interrupt(tids, ntids);
	d->swapped = 1;
	return 1;
}

struct drain_count {
	int n;
};

/* A connected socket of this process accepted from a swapped listener. */
static void
drain_count_one(int fd, const char *link, void *arg)
{
	struct drain_count *c = arg;
	struct sockaddr_storage a;
	socklen_t alen = sizeof a, optlen;
	int acc = 0, type = 0, i;

	if (strncmp(link, "socket:", 7) != 0)
		return;
	optlen = sizeof acc;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &optlen) == -1 ||
	    acc)
		return;
	optlen = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == -1 ||
	    type != SOCK_STREAM)
		return;
	memset(&a, 0, sizeof a);
	if (getsockname(fd, (struct sockaddr *)&a, &alen) == -1)
		return;
	for (i = 0; i < drain_nfds; i++) {
		if (drain_fds[i].swapped && drain_from(&drain_fds[i], &a, alen)) {
			c->n++;
			return;
		}
	}
}

static int
drain_connections(void)
{
	struct drain_count c = { 0 };

	drain_each_fd(drain_count_one, &c);
	return c.n;
}

/* DRAIN: swap every tracked fd, then wait for the connections to end. */
static int
drain_run(void)
{
	int i, n = 0, zero = 0;

	pthread_mutex_lock(&drain_mutex);
	for (i = 0; i < drain_nfds; i++)
		n += drain_swap(&drain_fds[i]);
	pthread_mutex_unlock(&drain_mutex);
	while (n > 0 && zero < 2) {
		drain_sleep(DRAIN_POLL_MS);
		zero = drain_connections() == 0 ? zero + 1 : 0;
	}
	return n;
}

static void *
drain_main(void *arg)
{
	char buf[64];
	int chan = (int)(long)arg, swapped;
	ssize_t n;

	for (;;) {
		n = recv(chan, buf, sizeof buf - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (strcmp(buf, "DRAIN") != 0)
			continue;
		swapped = drain_run();
		snprintf(buf, sizeof buf, "DRAINED %d", swapped);
		send(chan, buf, strlen(buf), MSG_NOSIGNAL);
	}
	return NULL;
}

/* A forked child has no thread: it starts its own when it needs one. */
static void
drain_atfork_child(void)
{
	if (drain_chan != -1)
		close(drain_chan);
	drain_chan = -1;
	pthread_mutex_init(&drain_mutex, NULL);
}

/* Starts this process's drain thread if it has none (drain_mutex held). */
static void
drain_start(void)
{
	static int atfork;
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	char hello[32];
	int sp[2];

	if (drain_pid == getpid() || preload_ctl_fd == -1)
		return;
	if (!atfork && pthread_atfork(NULL, NULL, drain_atfork_child) == 0)
		atfork = 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		return;
	snprintf(hello, sizeof hello, "HELLO %ld", (long)getpid());
	if (preload_ctl_send(preload_ctl_fd, hello, sp[1]) == -1) {
		close(sp[0]);
		close(sp[1]);
		return;
	}
	close(sp[1]);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, drain_main, (void *)(long)sp[0]) == 0) {
		drain_pid = getpid();
		drain_chan = sp[0];
	} else
		close(sp[0]);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * fd now shares a socket the daemon holds: it is one to swap at DRAIN. The
 * thread is started here, in the process that bound (and, after a fork,
 * in the child at its first accept on a tracked fd).
 */
void
preload_drain_track(int fd)
{
	struct drain_fd *d;
	struct stat st;
	int i, saved = errno;

	if (preload_ctl_fd == -1 || fstat(fd, &st) == -1)
		goto out;
	pthread_mutex_lock(&drain_mutex);
	for (i = 0; i < drain_nfds && drain_fds[i].fd != fd; i++)
		;
	if (i == drain_nfds && drain_nfds < DRAIN_MAX)
		drain_nfds++;
	if (i < drain_nfds) {
		d = &drain_fds[i];
		memset(d, 0, sizeof *d);
		d->fd = fd;
		d->ino = st.st_ino;
		d->addrlen = sizeof d->addr;
		if (getsockname(fd, (struct sockaddr *)&d->addr, &d->addrlen)
		    == -1)
			d->addrlen = 0;
	}
	drain_start();
	pthread_mutex_unlock(&drain_mutex);
out:
	errno = saved;
}

/* At an accept(): a forked child that accepts on tracked fds gets a thread. */
void
preload_drain_check(void)
{
	int saved = errno;

	if (__atomic_load_n(&drain_nfds, __ATOMIC_RELAXED) == 0 ||
	    drain_pid == getpid())
		return;
	pthread_mutex_lock(&drain_mutex);
	drain_start();
	pthread_mutex_unlock(&drain_mutex);
	errno = saved;
}
