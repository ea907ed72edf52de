/* SPDX-License-Identifier: ISC */
/*
 * The daemon's one sd_notify socket: an AF_UNIX datagram socket whose path
 * every instance gets in $NOTIFY_SOCKET. Senders are told apart by the pid
 * in their SCM_CREDENTIALS (SO_PASSCRED makes the kernel attach it);
 * datagrams from another uid than ours (or root) are dropped, so are any
 * fds passed along (there is no fd store). Each datagram is parsed into a
 * struct notify_msg and handed to the owner's callback with the sender pid.
 * The preload library's CORRAL_LISTEN=1 arrives the same way.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"
#include "cluster.h"

#define NOTIFY_MAX_DGRAM 4096
#define NOTIFY_MAX_FDS 16
#define NOTIFY_BATCH 64         /* datagrams read per wake-up */

static int
notify_flag(const char *v, size_t len)
{
	return len == 1 && v[0] == '1';
}

/*
 * Parses one datagram ("KEY=VALUE" lines). Unknown keys are ignored, as
 * systemd does. m->status is allocated; notify_msg_clear() frees it.
 */
void
notify_parse(const char *buf, size_t len, struct notify_msg *m)
{
	const char *p = buf, *end = buf + len, *nl, *eq, *v;
	size_t klen, vlen;
	long long n;
	char num[32];

	memset(m, 0, sizeof *m);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (eq == NULL)
			continue;
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(nl - v);
#define NOTIFY_KEY(k) (klen == sizeof(k) - 1 && memcmp(p, k, klen) == 0)
		if (NOTIFY_KEY("READY"))
			m->ready = notify_flag(v, vlen);
		else if (NOTIFY_KEY("STOPPING"))
			m->stopping = notify_flag(v, vlen);
		else if (NOTIFY_KEY("RELOADING"))
			m->reloading = notify_flag(v, vlen);
		else if (NOTIFY_KEY("WATCHDOG"))
			m->watchdog = notify_flag(v, vlen);
		else if (NOTIFY_KEY("CORRAL_LISTEN"))
			m->listen = notify_flag(v, vlen);
		else if (NOTIFY_KEY("STATUS")) {
			free(m->status);
			m->status = xstrndup(v, vlen);
		} else if (NOTIFY_KEY("MAINPID") && vlen < sizeof num) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			if (parse_int(num, 1, INT32_MAX, &n, NULL) == 0)
				m->mainpid = (pid_t)n;
		}
#undef NOTIFY_KEY
		if (nl == end)
			break;
	}
}

void
notify_msg_clear(struct notify_msg *m)
{
	free(m->status);
	m->status = NULL;
}

static void
notify_close_fds(struct msghdr *mh)
{
	struct cmsghdr *c;
	int *fds;
	size_t i, n;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(c);
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++)
			close(fds[i]);
	}
}

static const struct ucred *
notify_creds(struct msghdr *mh)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			return (const struct ucred *)CMSG_DATA(c);
	}
	return NULL;
}

/* The datagram of mh (len bytes of buf) from its sender, checked first. */
static void
notify_handle(struct notify *n, struct msghdr *mh, const char *buf,
    ssize_t len)
{
	const struct ucred *cred;
	struct notify_msg m;

	notify_close_fds(mh);
	cred = notify_creds(mh);
	if (cred == NULL || cred->pid <= 0)
		return;
	if (cred->uid != geteuid() && cred->uid != 0) {
		log_debug("notify: datagram from uid %ld dropped",
		    (long)cred->uid);
		return;
	}
	if ((mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    (size_t)len > NOTIFY_MAX_DGRAM) {
		log_warnx("notify: oversized datagram from pid %ld dropped",
		    (long)cred->pid);
		return;
	}
	notify_parse(buf, (size_t)len, &m);
	n->cb(n->arg, cred->pid, &m);
	notify_msg_clear(&m);
}

/* A test's fault (fault_point()) at stage of a datagram saying READY=1. */
static void
notify_fault(const char *stage, const char *buf, ssize_t len)
{
	char point[48];

	if (!fault_wanted())
		return;
	if (len > NOTIFY_MAX_DGRAM)
		len = NOTIFY_MAX_DGRAM;
	if (len <= 0 || memmem(buf, (size_t)len, "READY=1", 7) == NULL)
		return;
	snprintf(point, sizeof point, "notify %s READY=1", stage);
	fault_point(point);
}

/*
 * Reads one datagram; returns 0 if one was handled, -1 when none is left.
 * With n->replay it is read with MSG_PEEK and taken off once handled: one
 * that an engine read and died before handling waits for the next engine
 * (what it did for READY=1 the keeper keeps: engine_mark_ready()).
 */
static int
notify_read_one(struct notify *n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
		    CMSG_SPACE(sizeof(int) * NOTIFY_MAX_FDS)];
	} control;
	char buf[NOTIFY_MAX_DGRAM];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	struct msghdr mh;
	ssize_t len;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &control;
	mh.msg_controllen = sizeof control;
	len = recvmsg(n->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC |
	    (n->replay ? MSG_PEEK : 0));
	if (len == -1) {
		if (errno == EINTR)
			return 0;
		if (errno != EAGAIN)
			log_warn("notify: recvmsg");
		return -1;
	}
	notify_fault("read", buf, len);
	notify_handle(n, &mh, buf, len);
	notify_fault("handled", buf, len);
	while (n->replay && recv(n->fd, buf, 0, MSG_DONTWAIT | MSG_TRUNC) ==
	    -1 && errno == EINTR)
		continue;
	notify_fault("consumed", buf, len);
	return 0;
}

static void
notify_poll_cb(uv_poll_t *h, int status, int events)
{
	struct notify *n = h->data;
	int i;

	(void)events;
	if (status < 0) {
		log_warnx("notify: poll: %s", uv_strerror(status));
		return;
	}
	for (i = 0; i < NOTIFY_BATCH; i++) {
		if (notify_read_one(n) == -1)
			break;
	}
}

/* Binds n->fd at path, or at an abstract name when path is too long. */
static int
notify_bind(struct notify *n, const char *path)
{
	struct sockaddr_un sun;
	socklen_t len;
	int one = 1;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) < sizeof sun.sun_path) {
		n->path = xstrdup(path);
		memcpy(sun.sun_path, path, strlen(path));
		(void)unlink(path);
	} else {
		xasprintf(&n->path, "@corral/%ld/%ld/notify", (long)geteuid(),
		    (long)getpid());
		memcpy(sun.sun_path, n->path, strlen(n->path));
		sun.sun_path[0] = '\0';
	}
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(n->path));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd == -1)
		return -1;
	if (bind(n->fd, (struct sockaddr *)&sun, len) == -1 ||
	    setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) == -1)
		return -1;
	return 0;
}

/* The name fd is bound to, as notify_bind() wrote it, or NULL. */
static char *
notify_bound_name(int fd)
{
	struct sockaddr_un sun;
	socklen_t len = sizeof sun;
	size_t n;
	char *s;

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    len <= offsetof(struct sockaddr_un, sun_path))
		return NULL;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (sun.sun_path[0] != '\0')
		return xstrdup(sun.sun_path);
	s = xcalloc(1, n + 1);
	memcpy(s, sun.sun_path, n);
	s[0] = '@';
	return s;
}

/*
 * Binds the socket at path (a filesystem path; an over-long one falls back
 * to an abstract name) and starts reading; fd, when not -1, is a socket
 * bound by an earlier engine to use instead (n owns it from now on). n is
 * owned by the caller and must stay put until notify_close()'s callback
 * has run.
 */
int
notify_open(struct notify *n, uv_loop_t *loop, const char *path, int fd,
    notify_cb *cb, void *arg, char **cause)
{
	int r;

	memset(n, 0, sizeof *n);
	n->fd = fd;
	n->cb = cb;
	n->arg = arg;
	if (fd != -1) {
		if ((n->path = notify_bound_name(fd)) == NULL)
			goto fail;
	} else if (notify_bind(n, path) == -1)
		goto fail;
	if ((r = uv_poll_init(loop, &n->poll, n->fd)) != 0) {
		errno = -r;
		goto fail;
	}
	n->poll.data = n;
	if ((r = uv_poll_start(&n->poll, UV_READABLE, notify_poll_cb)) != 0) {
		uv_close((uv_handle_t *)&n->poll, NULL);
		errno = -r;
		goto fail;
	}
	return 0;
fail:
	if (cause != NULL)
		xasprintf(cause, "notify socket %s: %s", n->path != NULL ?
		    n->path : path, strerror(errno));
	if (n->fd != -1)
		close(n->fd);
	n->fd = -1;
	free(n->path);
	n->path = NULL;
	return -1;
}

static void
notify_closed(uv_handle_t *h)
{
	struct notify *n = h->data;

	close(n->fd);
	n->fd = -1;
	if (n->done != NULL)
		n->done(n);
}

/* Stops reading; done(n) runs once the handle is closed (may be NULL). */
void
notify_close(struct notify *n, void (*done)(struct notify *))
{
	if (n->fd == -1) {
		if (done != NULL)
			done(n);
		return;
	}
	if (n->path != NULL && n->path[0] == '/')
		(void)unlink(n->path);
	free(n->path);
	n->path = NULL;
	n->done = done;
	uv_close((uv_handle_t *)&n->poll, notify_closed);
}

/* The value instances get in NOTIFY_SOCKET. */
const char *
notify_path(const struct notify *n)
{
	return n->path;
}
