/* SPDX-License-Identifier: ISC */
/*
 * libcorral-preload.so: lets an unmodified app share the listening sockets
 * that corrald holds. The daemon passes its sockets as fds 3.. with the
 * socket-activation variables (LISTEN_FDS); when the app calls bind() with
 * an address that one of those sockets already listens on, the app's own
 * socket is replaced by a duplicate of the inherited one (dup3 onto the same
 * fd number, keeping the app's O_NONBLOCK and FD_CLOEXEC choices), so the
 * app's later listen() and accept() work on the shared socket. Any other
 * bind() goes to libc unchanged.
 *
 * In an app of cluster mode, a bind() to an address no inherited socket
 * serves asks the daemon for one over the control channel (ctl.c: bind on
 * demand). A socket got either way may be taken away again before the
 * process is stopped (drain.c).
 *
 * On the first listen() on a shared socket the library sends CORRAL_LISTEN=1
 * to $NOTIFY_SOCKET (the sd_notify datagram protocol): that is the "listen"
 * readiness source. The daemon tells senders apart by SCM_CREDENTIALS.
 *
 * Nothing in this file allocates after start-up or takes a lock; every
 * function is safe to call from any thread (the listen report is a
 * one-shot flag). drain.c runs a thread of its own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

typedef int (*preload_bind_fn)(int, const struct sockaddr *, socklen_t);
typedef int (*preload_listen_fn)(int, int);

int preload_nfds;
static int preload_reported;

int bind(int, const struct sockaddr *, socklen_t);
int listen(int, int);
int accept(int, struct sockaddr *, socklen_t *);
int accept4(int, struct sockaddr *, socklen_t *, int);
int epoll_ctl(int, int, int, struct epoll_event *);

/*
 * The count is read once, before main(), because an app calling
 * sd_listen_fds(1) unsets LISTEN_FDS. CORRAL_LISTEN_FDS, set by the daemon
 * too, survives that and wrappers that clean the systemd variables.
 */
__attribute__((constructor)) static void
preload_init(void)
{
	const char *s;
	char *end;
	long n;

	preload_ctl_init();
	s = getenv("CORRAL_LISTEN_FDS");
	if (s == NULL || *s == '\0')
		s = getenv("LISTEN_FDS");
	if (s == NULL || *s == '\0')
		return;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0)
		return;
	if (n > PRELOAD_MAX_FDS)
		n = PRELOAD_MAX_FDS;
	preload_nfds = (int)n;
}

/* The port of an inet address, -1 for others. */
int
preload_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static int
preload_is_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 0;
}

/* Both addresses as IPv6 (v4 mapped) so 127.0.0.1 equals ::ffff:127.0.0.1. */
static void
preload_to6(const struct sockaddr_storage *ss, struct in6_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET6) {
		*a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return;
	}
	memset(a, 0, sizeof *a);
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &sin->sin_addr, 4);
}

/*
 * Whether the held socket (bound to "held") serves a bind() to "want": the
 * same port, and the same address unless either side is a wildcard. An app
 * binding 0.0.0.0:3000 gets the daemon's dual-stack [::]:3000.
 */
static int
preload_inet_match(const struct sockaddr_storage *held,
    const struct sockaddr_storage *want)
{
	struct in6_addr a, b;

	if (preload_port(held) != preload_port(want) || preload_port(want) <= 0)
		return 0;
	if (preload_is_any(held) || preload_is_any(want))
		return 1;
	preload_to6(held, &a);
	preload_to6(want, &b);
	return memcmp(&a, &b, sizeof a) == 0;
}

static int
preload_unix_match(const struct sockaddr_storage *held, socklen_t heldlen,
    const struct sockaddr *want, socklen_t wantlen)
{
	const struct sockaddr_un *h = (const struct sockaddr_un *)held;
	const struct sockaddr_un *w = (const struct sockaddr_un *)want;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t hl, wl;

	if (heldlen <= off || wantlen <= off)
		return 0;
	hl = strnlen(h->sun_path, heldlen - off);
	wl = strnlen(w->sun_path, wantlen - off);
	if (hl == 0 || wl == 0)         /* abstract or unnamed: not ours */
		return 0;
	return hl == wl && memcmp(h->sun_path, w->sun_path, hl) == 0;
}

/* The inherited fd that serves a bind(fd, addr), or -1. */
static int
preload_find(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sockaddr_storage want, held;
	socklen_t heldlen;
	int i, hfd, type, htype, acc;
	socklen_t optlen;

	if (addr == NULL || len < sizeof(sa_family_t) || len > sizeof want)
		return -1;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6 &&
	    addr->sa_family != AF_UNIX)
		return -1;
	memset(&want, 0, sizeof want);
	memcpy(&want, addr, len);
	optlen = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == -1)
		return -1;

	for (i = 0; i < preload_nfds; i++) {
		hfd = PRELOAD_FIRST_FD + i;
		if (hfd == fd)
			return -1;
		optlen = sizeof htype;
		if (getsockopt(hfd, SOL_SOCKET, SO_TYPE, &htype, &optlen) == -1 ||
		    htype != type)
			continue;
		optlen = sizeof acc;
		if (type == SOCK_STREAM &&
		    (getsockopt(hfd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &optlen)
		    == -1 || !acc))
			continue;
		memset(&held, 0, sizeof held);
		heldlen = sizeof held;
		if (getsockname(hfd, (struct sockaddr *)&held, &heldlen) == -1)
			continue;
		if (want.ss_family == AF_UNIX) {
			if (held.ss_family == AF_UNIX &&
			    preload_unix_match(&held, heldlen, addr, len))
				return hfd;
			continue;
		}
		if ((held.ss_family == AF_INET || held.ss_family == AF_INET6) &&
		    preload_inet_match(&held, &want))
			return hfd;
	}
	return -1;
}

/*
 * Puts the shared socket hfd in the place of the app's socket fd, keeping
 * the app's O_NONBLOCK and FD_CLOEXEC choices. O_NONBLOCK lives in the
 * open file description, shared by every instance of the app: all of them
 * run the same code and want the same mode, and accept() on a
 * non-blocking socket that another instance won is a plain EAGAIN for
 * event loops. Returns 0 or -1 (errno set).
 */
int
preload_adopt(int fd, int hfd)
{
	int fl, hfl, fdfl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || (fdfl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	if (dup3(hfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) == -1)
		return -1;
	if ((hfl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	hfl = (fl & O_NONBLOCK) ? (hfl | O_NONBLOCK) : (hfl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, hfl);
}

/*
 * A bind() to an address the daemon holds gets the held socket; one to a
 * new address, in an app of corral's cluster mode, gets a socket the
 * daemon binds on demand (ctl.c); any other goes to libc. A socket got
 * either way is one the drain thread may take away (drain.c).
 */
int
bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	static preload_bind_fn real_bind;
	int hfd, saved = errno;

	if (real_bind == NULL)
		real_bind = (preload_bind_fn)dlsym(RTLD_NEXT, "bind");
	if (real_bind == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (preload_nfds > 0 && (hfd = preload_find(fd, addr, len)) != -1) {
		if (preload_adopt(fd, hfd) == -1)
			return -1;
		preload_drain_track(fd);
		errno = saved;
		return 0;
	}
	if (preload_ctl_fd != -1 && preload_ctl_bind(fd, addr, len) == 0) {
		preload_drain_track(fd);
		errno = saved;
		return 0;
	}
	errno = saved;
	return real_bind(fd, addr, len);
}

/* Sends CORRAL_LISTEN=1 to $NOTIFY_SOCKET; best effort, errors are ignored. */
static void
preload_report(void)
{
	static const char msg[] = "CORRAL_LISTEN=1\n";
	struct sockaddr_un sun;
	const char *path;
	socklen_t len;
	size_t n;
	int s, saved = errno;

	path = getenv("NOTIFY_SOCKET");
	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s == -1)
		goto out;
	(void)sendto(s, msg, sizeof msg - 1, MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(s);
out:
	errno = saved;
}

/* Whether fd is (a duplicate of) one of the inherited sockets. */
static int
preload_is_held(int fd)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof a, lb = sizeof b;
	int i;

	if (preload_ctl_held(fd))
		return 1;
	memset(&a, 0, sizeof a);
	if (getsockname(fd, (struct sockaddr *)&a, &la) == -1)
		return 0;
	for (i = 0; i < preload_nfds; i++) {
		memset(&b, 0, sizeof b);
		lb = sizeof b;
		if (getsockname(PRELOAD_FIRST_FD + i, (struct sockaddr *)&b,
		    &lb) == -1)
			continue;
		if (la == lb && memcmp(&a, &b, la) == 0)
			return 1;
	}
	return 0;
}

/*
 * A held socket already listens with the daemon's backlog: listen() on it
 * is not passed on, so an app asking for a backlog of 5 (Python's
 * socketserver) cannot shrink the queue every instance shares. The report
 * is made once the socket listens; with no held sockets the first listen()
 * of any socket counts.
 */
int
listen(int fd, int backlog)
{
	static preload_listen_fn real_listen;
	int r, held, acc = 0;
	socklen_t optlen = sizeof acc;

	if (real_listen == NULL)
		real_listen = (preload_listen_fn)dlsym(RTLD_NEXT, "listen");
	if (real_listen == NULL) {
		errno = ENOSYS;
		return -1;
	}
	held = preload_is_held(fd);
	if (held && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc,
	    &optlen) == 0 && acc)
		r = 0;
	else
		r = real_listen(fd, backlog);
	if (r == 0 && (held || preload_nfds == 0) &&
	    !__atomic_exchange_n(&preload_reported, 1, __ATOMIC_SEQ_CST))
		preload_report();
	return r;
}

/*
 * Apps that take the sockets from LISTEN_FDS never call listen(): their
 * first accept() or epoll registration of a held socket is the sign that
 * they serve. One relaxed load is all these calls cost once reported.
 */
static void
preload_maybe_report(int fd)
{
	if (__atomic_load_n(&preload_reported, __ATOMIC_RELAXED) ||
	    preload_nfds == 0 || !preload_is_held(fd))
		return;
	if (!__atomic_exchange_n(&preload_reported, 1, __ATOMIC_SEQ_CST))
		preload_report();
}

int
accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	typedef int (*fn)(int, struct sockaddr *, socklen_t *);
	static fn real;

	if (real == NULL && (real = (fn)dlsym(RTLD_NEXT, "accept")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	preload_maybe_report(fd);
	preload_drain_check();
	return real(fd, addr, len);
}

int
accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	typedef int (*fn)(int, struct sockaddr *, socklen_t *, int);
	static fn real;

	if (real == NULL && (real = (fn)dlsym(RTLD_NEXT, "accept4")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	preload_maybe_report(fd);
	preload_drain_check();
	return real(fd, addr, len, flags);
}

int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	typedef int (*fn)(int, int, int, struct epoll_event *);
	static fn real;
	int r;

	if (real == NULL && (real = (fn)dlsym(RTLD_NEXT, "epoll_ctl")) == NULL) {
		errno = ENOSYS;
		return -1;
	}
	r = real(epfd, op, fd, ev);
	if (r == 0 && op == EPOLL_CTL_ADD)
		preload_maybe_report(fd);
	return r;
}
