/* SPDX-License-Identifier: ISC */
/*
 * The daemon's control channel in the app: $CORRAL_CONTROL_FD, one end of
 * a SOCK_SEQPACKET socketpair the daemon passes at spawn (inherited by
 * every process of the instance, never read by them). A process writes
 * one request per packet, each with a fresh socket for the answer
 * (SCM_RIGHTS), so that processes and threads never read each other's:
 *
 *	BIND <family> <address> <port> <v6only>	answer: "OK" with the
 *		listening socket, or "ERR <errno>"
 *	HELLO <pid>				the passed socket becomes this
 *		process's drain channel (drain.c)
 *
 * BIND is how an app of corral's cluster mode gets a socket for an
 * address the daemon does not hold yet (bind on demand): the daemon binds
 * and holds it, and every instance shares it from then on. Any failure
 * (no channel, no answer within PRELOAD_CTL_WAIT_MS, a refusal) leaves
 * the bind() to libc. The inodes of the sockets got this way are kept, so
 * that listen() knows them as held (their backlog is the daemon's).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

#define PRELOAD_CTL_WAIT_MS 10000
#define PRELOAD_CTL_MAX_HELD 64

int preload_ctl_fd = -1;
static ino_t preload_ctl_inos[PRELOAD_CTL_MAX_HELD];
static int preload_ctl_nheld;

/* Reads $CORRAL_CONTROL_FD once, before main(). */
void
preload_ctl_init(void)
{
	const char *s = getenv("CORRAL_CONTROL_FD");
	char *end;
	long n;
	int type;
	socklen_t len = sizeof type;

	if (s == NULL || *s == '\0')
		return;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 3 || n > 65535)
		return;
	if (getsockopt((int)n, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_SEQPACKET)
		return;
	preload_ctl_fd = (int)n;
}

/* Sends msg with fd attached on the control channel; 0 or -1. */
int
preload_ctl_send(int fd, const char *msg, int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;

	memset(&mh, 0, sizeof mh);
	memset(&cbuf, 0, sizeof cbuf);
	iov.iov_base = (void *)msg;
	iov.iov_len = strlen(msg);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &passfd, sizeof passfd);
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

/*
 * Receives one packet on s (within PRELOAD_CTL_WAIT_MS) into buf, and the
 * fd passed with it into *fd (-1 if none). Returns its length or -1.
 */
static int
preload_ctl_recv(int s, char *buf, size_t size, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct pollfd pfd = { s, POLLIN, 0 };
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;
	int r;

	*fd = -1;
	do
		r = poll(&pfd, 1, PRELOAD_CTL_WAIT_MS);
	while (r == -1 && errno == EINTR);
	if (r != 1)
		return -1;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = size - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	do
		n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type ==
		    SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof *fd);
	}
	return (int)n;
}

/* "BIND <family> <address> <port> <v6only>" for addr, or -1. */
static int
preload_ctl_request(int fd, const struct sockaddr *addr, socklen_t len,
    char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
	char host[INET6_ADDRSTRLEN];
	int type, v6only = 0, port;
	socklen_t optlen = sizeof type;

	if (addr == NULL || len < sizeof(sa_family_t))
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == -1 ||
	    type != SOCK_STREAM)
		return -1;
	if (addr->sa_family == AF_INET && len >= sizeof *sin) {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
	} else if (addr->sa_family == AF_INET6 && len >= sizeof *sin6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		optlen = sizeof v6only;
		if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    &optlen) == -1)
			v6only = 0;
	} else
		return -1;
	if (port == 0)                  /* any free port: the app's own */
		return -1;
	snprintf(buf, size, "BIND %d %s %d %d", addr->sa_family == AF_INET ?
	    4 : 6, host, port, v6only);
	return 0;
}

/*
 * Asks the daemon for the socket of addr and puts it in the place of fd.
 * Returns 0 (errno kept) or -1 when the bind() is the app's own to make.
 */
int
preload_ctl_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	char req[128], ans[64];
	struct stat st;
	int sp[2], got = -1, saved = errno, rc = -1;

	if (preload_ctl_request(fd, addr, len, req, sizeof req) == -1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1)
		return -1;
	if (preload_ctl_send(preload_ctl_fd, req, sp[1]) == 0 &&
	    preload_ctl_recv(sp[0], ans, sizeof ans, &got) > 0 &&
	    strcmp(ans, "OK") == 0 && got != -1 &&
	    preload_adopt(fd, got) == 0) {
		if (fstat(fd, &st) == 0 && __atomic_load_n(&preload_ctl_nheld,
		    __ATOMIC_ACQUIRE) < PRELOAD_CTL_MAX_HELD) {
			int i = __atomic_fetch_add(&preload_ctl_nheld, 1,
			    __ATOMIC_ACQ_REL);
			if (i < PRELOAD_CTL_MAX_HELD)
				preload_ctl_inos[i] = st.st_ino;
		}
		rc = 0;
	}
	if (got != -1)
		close(got);
	close(sp[0]);
	close(sp[1]);
	errno = saved;
	return rc;
}

/* Whether fd is a socket this process got from the daemon on demand. */
int
preload_ctl_held(int fd)
{
	struct stat st;
	int i, n = __atomic_load_n(&preload_ctl_nheld, __ATOMIC_ACQUIRE);

	if (n == 0 || fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	if (n > PRELOAD_CTL_MAX_HELD)
		n = PRELOAD_CTL_MAX_HELD;
	for (i = 0; i < n; i++) {
		if (preload_ctl_inos[i] == st.st_ino)
			return 1;
	}
	return 0;
}
