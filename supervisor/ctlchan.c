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
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

#define CTLCHAN_TAG "ctl"               /* the keeper's: ctl/<child tag> */
#define CTLCHAN_DRAIN_TAG "drain"       /* drain/<child tag>/<n> */
#define CTLCHAN_MAX_DRAIN 32            /* drain channels of one spawn */
#define CTLCHAN_BATCH 16                /* packets read per wake-up */

struct drainchan {
	uv_poll_t poll;
	int fd;
	int waiting;                    /* DRAIN sent, no answer yet */
	dev_t dev;                      /* the socket, to know it again */
	ino_t ino;
	char *tag;                      /* the keeper holds it so, or NULL */
	struct ctlchan *ctl;
	struct drainchan *next;
};

struct ctlchan {
	uv_poll_t poll;
	int fd;                         /* the daemon's end */
	int app_fd;                     /* the app's end until the spawn */
	int handles;                    /* poll handles not closed yet */
	struct child *child;            /* NULL once closed */
	struct drainchan *drains;
	int ndrains;
	unsigned long next_drain;       /* <n> of the next drain tag */
};

static void
ctlchan_unref(struct ctlchan *c)
{
	if (--c->handles == 0)
		free(c);
}

static void
ctlchan_drain_closed(uv_handle_t *h)
{
	struct drainchan *d = h->data;
	struct ctlchan *c = d->ctl;

	close(d->fd);
	free(d->tag);
	free(d);
	ctlchan_unref(c);
}

static void
ctlchan_poll_closed(uv_handle_t *h)
{
	struct ctlchan *c = h->data;

	close(c->fd);
	ctlchan_unref(c);
}

/* The instance the channel serves, NULL once it has none. */
static struct instance *
ctlchan_inst(struct ctlchan *c)
{
	return c->child != NULL ? c->child->inst : NULL;
}

/* A drain ended (answered or closed): the instance hears of the last one. */
static void
ctlchan_drain_done(struct ctlchan *c)
{
	struct instance *inst = ctlchan_inst(c);
	struct drainchan *d;

	for (d = c->drains; d != NULL; d = d->next) {
		if (d->waiting)
			return;
	}
	if (inst != NULL && inst->draining)
		fsm_event(inst, EV_DRAINED);
}

static void
ctlchan_drain_remove(struct drainchan *d)
{
	struct ctlchan *c = d->ctl;
	struct drainchan **pp;

	for (pp = &c->drains; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	c->ndrains--;
	if (d->tag != NULL)
		engine_release(d->tag);
	uv_close((uv_handle_t *)&d->poll, ctlchan_drain_closed);
}

static void
ctlchan_drain_read(uv_poll_t *p, int status, int events)
{
	struct drainchan *d = p->data;
	struct ctlchan *c = d->ctl;
	char buf[64];
	ssize_t n;

	(void)events;
	n = status < 0 ? 0 : recv(d->fd, buf, sizeof buf - 1, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		buf[n] = '\0';
		if (strncmp(buf, "DRAINED", 7) == 0 && d->waiting) {
			d->waiting = 0;
			log_debug("drain: %s", buf);
			ctlchan_drain_done(c);
		}
		return;
	}
	/* The process is gone (or closed it): nothing more to wait for. */
	d->waiting = 0;
	ctlchan_drain_remove(d);
	ctlchan_drain_done(c);
}

/*
 * A drain channel of c on fd (taken), held by the keeper under tag
 * (taken; NULL: not held). Returns 0, or -1 when it could not be kept
 * (fd closed, tag freed).
 */
static int
ctlchan_drain_add(struct ctlchan *c, int fd, char *tag)
{
	struct drainchan *d;
	struct stat st;
	int rc;

	if (c->ndrains >= CTLCHAN_MAX_DRAIN || fstat(fd, &st) == -1) {
		close(fd);
		free(tag);
		return -1;
	}
	d = xcalloc(1, sizeof *d);
	d->fd = fd;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->ctl = c;
	if (uv_poll_init(D.loop, &d->poll, fd) != 0) {
		close(fd);
		free(tag);
		free(d);
		return -1;
	}
	d->tag = tag;
	d->poll.data = d;
	c->handles++;
	d->next = c->drains;
	c->drains = d;
	c->ndrains++;
	if ((rc = uv_poll_start(&d->poll, UV_READABLE | UV_DISCONNECT,
	    ctlchan_drain_read)) != 0)
		log_warnx("drain: uv_poll_start: %s", uv_strerror(rc));
	return 0;
}

/* Whether fd is a drain channel c has already. */
static int
ctlchan_drain_known(const struct ctlchan *c, int fd)
{
	const struct drainchan *d;
	struct stat st;

	if (fstat(fd, &st) == -1)
		return 0;
	for (d = c->drains; d != NULL; d = d->next) {
		if (d->dev == st.st_dev && d->ino == st.st_ino)
			return 1;
	}
	return 0;
}

/* HELLO: a process's new drain channel, held by the keeper too. */
static void
ctlchan_hello(struct ctlchan *c, int fd)
{
	char *tag = NULL;

	if (ctlchan_drain_known(c, fd)) {
		log_info("drain: a channel held already, kept once");
		close(fd);
		return;
	}
	if (c->child != NULL && c->child->tag != NULL)
		xasprintf(&tag, "%s/%s/%lu", CTLCHAN_DRAIN_TAG, c->child->tag,
		    c->next_drain++);
	if (ctlchan_drain_add(c, fd, tag) == 0 && tag != NULL)
		engine_hold(tag, fd);
}

/*
 * The drain channels of an adopted child the keeper held, taken back;
 * the next new one's <n> comes after theirs.
 */
static void
ctlchan_drain_adopt(struct ctlchan *c)
{
	unsigned long n;
	char *prefix, *tag, *end;
	int fd;

	xasprintf(&prefix, "%s/%s/", CTLCHAN_DRAIN_TAG, c->child->tag);
	while ((fd = engine_take_prefix(prefix, &tag)) != -1) {
		n = strtoul(tag + strlen(prefix), &end, 10);
		if (*end == '\0' && n >= c->next_drain)
			c->next_drain = n + 1;
		(void)ctlchan_drain_add(c, fd, tag);
	}
	free(prefix);
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
		ctlchan_hello(c, fd);
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
	ctlchan_drain_adopt(c);
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
		ctlchan_drain_remove(c->drains);
	uv_close((uv_handle_t *)&c->poll, ctlchan_poll_closed);
}

/*
 * Asks every process of child that holds a shared socket to drain.
 * Returns how many were asked (0: nothing to wait for).
 */
int
ctlchan_drain(struct child *child)
{
	struct ctlchan *c = child != NULL ? child->ctl : NULL;
	struct drainchan *d;
	int n = 0;

	if (c == NULL)
		return 0;
	for (d = c->drains; d != NULL; d = d->next) {
		if (send(d->fd, "DRAIN", 5, MSG_DONTWAIT | MSG_NOSIGNAL) == 5) {
			d->waiting = 1;
			n++;
		}
	}
	return n;
}
