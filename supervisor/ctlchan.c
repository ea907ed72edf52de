/* SPDX-License-Identifier: ISC */
/*
 * The control channel of a spawned process whose bind() the preload
 * library serves (cluster.c gives it at spawn as $CORRAL_CONTROL_FD): a
 * SOCK_SEQPACKET socketpair whose app end every process of the instance
 * inherits. Each packet the app sends is one request with a fresh socket
 * attached for the answer (see preload/ctl.c):
 *
 *	BIND ...	bind on demand (bindreq.c); answered "OK" with the
 *			held socket, or "ERR <errno>"
 *	HELLO <pid>	the attached socket is a drain channel of that
 *			process (preload/drain.c)
 *
 * Since the channel belongs to one spawn, no pid has to be matched. At a
 * graceful stop the daemon sends "DRAIN" on every drain channel and feeds
 * EV_DRAINED to the instance once each one answered "DRAINED" or closed.
 * The drain channels are drainchan.c's.
 * The keeper holds the daemon's end of both kinds (ctl/<child tag>,
 * drain/<child tag>/<n>) until the process exits or the drain channel
 * closes, so that a later engine drains the processes before a stop as
 * this one would, and no app sees its drain channel close when an engine
 * dies.
 * Nothing here blocks: the sockets are non-blocking and polled by the
 * loop; a packet that cannot be answered at once is dropped.
 * A packet is read with MSG_PEEK and taken off the channel only once it
 * was served (E.replay: unless the last engine crashed or hung, which
 * the packet may have caused): one that an engine read and died before
 * serving waits for the next engine. That one may find a HELLO it already
 * holds (the dead engine's HOLD reached the keeper): the same socket,
 * known by its inode, is kept once.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"
#include "ctlchan.h"

#define CTLCHAN_TAG "ctl"               /* the keeper's: ctl/<child tag> */
#define CTLCHAN_BATCH 16                /* packets read per wake-up */

/* One handle of c closed: c goes with the last. */
void
ctlchan_unref(struct ctlchan *c)
{
	if (--c->handles == 0)
		free(c);
}

static void
ctlchan_poll_closed(uv_handle_t *h)
{
	struct ctlchan *c = h->data;

	close(c->fd);
	ctlchan_unref(c);
}

/* The instance the channel serves, NULL once it has none. */
struct instance *
ctlchan_inst(struct ctlchan *c)
{
	return c->child != NULL ? c->child->inst : NULL;
}

/* Answers a BIND on the socket fd that came with it. */
static void
ctlchan_bind(struct ctlchan *c, const char *req, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	char ans[32];
	struct instance *inst = ctlchan_inst(c);
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	int lfd = -1, err;

	err = inst != NULL ? bindreq_serve(inst->app, req, &lfd) : ESRCH;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = ans;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (err == 0) {
		snprintf(ans, sizeof ans, "OK");
		memset(&cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof cbuf.buf;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &lfd, sizeof lfd);
	} else
		snprintf(ans, sizeof ans, "ERR %d", err);
	iov.iov_len = strlen(ans);
	if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == -1)
		log_debug("bind answer: %s", strerror(errno));
	close(fd);
}

/*
 * One packet from the app (flags: MSG_PEEK, or 0 to take it): its text
 * into buf, the socket with it into *fd.
 */
static ssize_t
ctlchan_recv(int s, char *buf, size_t size, int *fd, int flags)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct msghdr mh;
	struct cmsghdr *cm;
	struct iovec iov;
	ssize_t n;
	int fds[4];
	size_t i, nfds;

	*fd = -1;
	memset(&mh, 0, sizeof mh);
	iov.iov_base = buf;
	iov.iov_len = size - 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	n = recvmsg(s, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | flags);
	if (n < 0)
		return n;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds > 4)
			nfds = 4;
		memcpy(fds, CMSG_DATA(cm), nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (*fd == -1)
				*fd = fds[i];
			else
				close(fds[i]);  /* one per request */
		}
	}
	return n;
}

/* A test's fault at stage of serving req (fault_point()). */
static void
ctlchan_fault(const char *stage, const char *req)
{
	char point[32];

	if (!fault_wanted())
		return;
	snprintf(point, sizeof point, "ctlchan %s %.*s", stage,
	    (int)strcspn(req, " "), req);
	fault_point(point);
}

/* Serves the packet req that came with fd (taken). */
static void
ctlchan_serve(struct ctlchan *c, const char *req, int fd)
{
	ctlchan_fault("read", req);
	if (strncmp(req, "BIND ", 5) == 0)
		ctlchan_bind(c, req, fd);
	else if (strncmp(req, "HELLO ", 6) == 0)
		drainchan_hello(c, fd);
	else
		close(fd);
	ctlchan_fault("served", req);
}

/* Takes the packet served off the channel. */
static void
ctlchan_consume(int s)
{
	char buf[8];
	ssize_t n;
	int fd;

	do
		n = ctlchan_recv(s, buf, sizeof buf, &fd, 0);
	while (n == -1 && errno == EINTR);
	if (fd != -1)
		close(fd);
}

static void
ctlchan_read(uv_poll_t *p, int status, int events)
{
	struct ctlchan *c = p->data;
	char buf[256];
	ssize_t n;
	int i, fd;

	(void)events;
	for (i = 0; i < CTLCHAN_BATCH; i++) {
		n = status < 0 ? 0 : ctlchan_recv(c->fd, buf, sizeof buf, &fd,
		    E.replay ? MSG_PEEK : 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* Every process of the spawn closed its end. */
			(void)uv_poll_stop(&c->poll); /* always 0 */
			return;
		}
		if (fd != -1)
			ctlchan_serve(c, buf, fd);
		if (E.replay)
			ctlchan_consume(c->fd);
	}
}

/* The channel of child on fd (the daemon's end; taken), or NULL. */
static struct ctlchan *
ctlchan_new(struct child *child, int fd, char **cause)
{
	struct ctlchan *c = xcalloc(1, sizeof *c);

	c->fd = fd;
	c->app_fd = -1;
	c->child = child;
	if (uv_poll_init(D.loop, &c->poll, c->fd) != 0) {
		close(fd);
		free(c);
		*cause = xstrdup("uv_poll_init failed");
		return NULL;
	}
	c->poll.data = c;
	c->handles = 1;
	child->ctl = c;
	return c;
}

/*
 * Makes the channel of child (before its spawn): returns the app's end,
 * to be passed as an inherited fd, or -1 with *cause.
 */
int
ctlchan_open(struct child *child, char **cause)
{
	struct ctlchan *c;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, sp) == -1) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		return -1;
	}
	if ((c = ctlchan_new(child, sp[0], cause)) == NULL) {
		close(sp[1]);
		return -1;
	}
	c->app_fd = sp[1];
	return sp[1];
}

static void
ctlchan_start(struct ctlchan *c)
{
	int rc;

	if ((rc = uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT,
	    ctlchan_read)) != 0)
		log_warnx("control channel: uv_poll_start: %s", uv_strerror(rc));
}

/*
 * The process runs: the daemon lets go of the app's end and listens; the
 * keeper keeps the daemon's end for later engines.
 */
void
ctlchan_spawned(struct child *child)
{
	struct ctlchan *c = child->ctl;

	if (c == NULL)
		return;
	close(c->app_fd);
	c->app_fd = -1;
	engine_hold_child(CTLCHAN_TAG, child, c->fd);
	ctlchan_start(c);
}

/*
 * An adopted process: its channel again, if the keeper held one, with
 * the drain channels its processes opened (ready for a stop's DRAIN).
 */
void
ctlchan_adopt(struct child *child)
{
	struct ctlchan *c;
	char *cause = NULL;
	int fd;

	if ((fd = engine_take_child(CTLCHAN_TAG, child->tag)) == -1)
		return;
	if ((c = ctlchan_new(child, fd, &cause)) == NULL) {
		log_warnx("control channel: %s", cause);
		free(cause);
		return;
	}
	drainchan_adopt(c);
	ctlchan_start(c);
}

/* The process ended (or never started): everything goes. */
void
ctlchan_close(struct child *child)
{
	struct ctlchan *c = child->ctl;

	if (c == NULL)
		return;
	engine_release_child(CTLCHAN_TAG, child);
	child->ctl = NULL;
	c->child = NULL;
	if (c->app_fd != -1)
		close(c->app_fd);
	while (c->drains != NULL)
		drainchan_remove(c->drains);
	uv_close((uv_handle_t *)&c->poll, ctlchan_poll_closed);
}
