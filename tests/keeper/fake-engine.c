/* SPDX-License-Identifier: ISC */
/*
 * The engine the keeper tests start in place of corrald (corral-keeper
 * --engine-bin): it hands its --keeper-fd, its pid and its argv to the
 * test over the SOCK_SEQPACKET unix socket named by $FAKE_ENGINE_SOCK,
 * closes its own copy of the descriptor, and waits: the test speaks the
 * keeper protocol itself, and asks this process to spawn (fake-spawn.c:
 * only the engine, the keeper's child, can make the keeper an app's
 * parent). It exits when the test closes the connection (0) or sends
 * "exit N" (N). Each start appends "PID MONOTONIC-MS" to
 * $FAKE_ENGINE_STARTS; while the file $FAKE_ENGINE_FAIL exists it exits 3
 * at once, an engine that cannot start. Test use only.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake-engine.h"

static void
fake_record(void)
{
	const char *path = getenv("FAKE_ENGINE_STARTS");
	struct timespec ts;
	char line[64];
	int fd, n;

	if (path == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof line, "%d %lld\n", (int)getpid(),
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600)) != -1) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}

/* One record with descriptors. */
int
fake_send(int s, const int *fds, size_t nfds, const char *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;

	memset(&mh, 0, sizeof mh);
	memset(&cbuf, 0, sizeof cbuf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	return sendmsg(s, &mh, 0) == (ssize_t)len ? 0 : -1;
}

/* The test's records: "exit N", or a spawn; returns the exit status. */
static int
fake_serve(int s)
{
	static char buf[65536];
	union {
		char buf[CMSG_SPACE(64 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, sizeof buf - 1 };
	struct msghdr mh;
	struct cmsghdr *cm;
	int fds[64];
	size_t nfds;
	ssize_t n;

	for (;;) {
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof cbuf.buf;
		if ((n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC)) <= 0)
			return 0;
		buf[n] = '\0';
		nfds = 0;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm != NULL && cm->cmsg_type == SCM_RIGHTS) {
			nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
		}
		if (strncmp(buf, "exit ", 5) == 0)
			return atoi(buf + 5);
		if (strcmp(buf, "spawn") == 0)
			fake_spawn(s, buf, (size_t)n, fds, nfds);
	}
}

int
main(int argc, char **argv)
{
	const char *path = getenv("FAKE_ENGINE_SOCK");
	const char *fail = getenv("FAKE_ENGINE_FAIL");
	struct sockaddr_un sa;
	char buf[8192];
	size_t len = 0;
	int i, s, fd = -1;

	fake_record();
	if (fail != NULL && access(fail, F_OK) == 0)
		return 3;
	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--keeper-fd") == 0)
			fd = atoi(argv[i + 1]);
	}
	if (path == NULL || fd < 0 || strlen(path) >= sizeof sa.sun_path)
		return 2;
	len = (size_t)snprintf(buf, sizeof buf, "%d", (int)getpid());
	for (i = 0; i < argc && len < sizeof buf - 1; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%c%s",
		    '\0', argv[i]);
	if (len >= sizeof buf)
		return 2;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET, 0)) == -1 ||
	    connect(s, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    fake_send(s, &fd, 1, buf, len) == -1)
		return 2;
	close(fd);
	return fake_serve(s);
}
