/* SPDX-License-Identifier: ISC */
/*
 * One end of the keeper protocol's socketpair (kproto.h): frames read a
 * piece at a time from a socket that may hold less than a frame, and sent
 * with their descriptors, the unsent rest queued until the socket takes
 * it. Frames without descriptors may be sent later, gathered and written
 * at once: a stop of 500 apps then costs the engine a few sendmsg()s, and
 * the keeper a few wake-ups, instead of 500. Every call uses
 * MSG_DONTWAIT: none blocks, whatever the socket's O_NONBLOCK. A
 * connection that returned an error is closed by its owner.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kproto.h"

#define KPROTO_LATER_MAX (64 * 1024)    /* bytes gathered, then sent */
#define KPROTO_AHEAD (16 * 1024)        /* bytes read ahead at most */

/* A frame waiting to be sent; fds are the queue's own copies. */
struct kproto_out {
	struct kproto_out *next;
	size_t len;
	size_t off;
	size_t nfds;
	int fds[KPROTO_MAX_FDS];
	unsigned char data[];
};

void
kproto_conn_init(struct kproto_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->out_tail = &c->out;
}

static void
kproto_out_free(struct kproto_out *o)
{
	size_t i;

	for (i = 0; i < o->nfds; i++)
		close(o->fds[i]);
	free(o);
}

/* Closes the socket and every descriptor the connection still holds. */
void
kproto_conn_close(struct kproto_conn *c)
{
	struct kproto_out *o, *next;
	size_t i;

	for (o = c->out; o != NULL; o = next) {
		next = o->next;
		kproto_out_free(o);
	}
	for (i = 0; i < c->nfifo; i++)
		close(c->fifo[i]);
	kproto_buf_free(&c->later);
	free(c->ahead);
	free(c->in);
	if (c->fd >= 0)
		close(c->fd);
	kproto_conn_init(c, -1);
}

/* Whether frames wait: queued, or gathered to be sent later. */
int
kproto_conn_pending(const struct kproto_conn *c)
{
	return c->out != NULL || c->later.len > 0;
}

/* --- receiving -------------------------------------------------------- */

/* Files the descriptors of a recvmsg; -1 if any were lost. */
static int
kproto_conn_take_fds(struct kproto_conn *c, struct msghdr *mh)
{
	struct cmsghdr *cm;
	size_t i, n;
	int *fds, bad = (mh->msg_flags & MSG_CTRUNC) != 0;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)(void *)CMSG_DATA(cm);
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			if (c->nfifo < sizeof c->fifo / sizeof c->fifo[0])
				c->fifo[c->nfifo++] = fds[i];
			else {
				close(fds[i]);
				bad = 1;
			}
		}
	}
	return bad ? -1 : 0;
}

/* Reads up to n bytes: >0 bytes, or KPROTO_AGAIN, _EOF, _ERR. */
static ssize_t
kproto_conn_read(struct kproto_conn *c, void *buf, size_t n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * KPROTO_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { buf, n };
	struct msghdr mh;
	ssize_t r;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof cbuf.buf;
	do {
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK ? KPROTO_AGAIN :
		    KPROTO_ERR;
	if (kproto_conn_take_fds(c, &mh) == -1) {
		errno = EPROTO;
		return KPROTO_ERR;
	}
	if (r == 0)
		return KPROTO_EOF;
	return r;
}

/*
 * From now on c reads up to KPROTO_AHEAD bytes at a time and takes its
 * frames from them: a burst of frames (the keeper's exits of a stop)
 * costs a few recvmsg()s, not two each. Only for an end that never hands
 * its socket on with bytes read (the keeper's re-exec does: it keeps
 * exact reads). Without memory for it, reads stay exact.
 */
void
kproto_conn_read_ahead(struct kproto_conn *c)
{
	if (c->ahead == NULL)
		c->ahead = malloc(KPROTO_AHEAD);
}

/*
 * Reads up to n bytes as kproto_conn_read(), what was read ahead first.
 * The descriptors of the bytes read ahead are in the fifo already: the
 * kernel ends a read after a message that carries descriptors, so those
 * of one frame never come with another frame's bytes before them.
 */
static ssize_t
kproto_conn_get(struct kproto_conn *c, void *buf, size_t n)
{
	ssize_t r;
	size_t k;

	if (c->ahead != NULL && c->ahead_pos == c->ahead_len &&
	    n < KPROTO_AHEAD) {
		if ((r = kproto_conn_read(c, c->ahead, KPROTO_AHEAD)) <= 0)
			return r;
		c->ahead_pos = 0;
		c->ahead_len = (size_t)r;
	}
	if (c->ahead == NULL || c->ahead_pos == c->ahead_len)
		return kproto_conn_read(c, buf, n);
	k = c->ahead_len - c->ahead_pos < n ? c->ahead_len - c->ahead_pos : n;
	memcpy(buf, c->ahead + c->ahead_pos, k);
	c->ahead_pos += k;
	return (ssize_t)k;
}

/* The header is complete: checks it and makes room for the payload. */
static int
kproto_conn_header(struct kproto_conn *c)
{
	uint32_t v[3];

	memcpy(v, c->hdr, sizeof v);
	if (v[1] > KPROTO_MAX_FDS || v[2] > KPROTO_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	c->in_type = v[0];
	c->in_nfds = v[1];
	c->in_want = v[2];
	c->in_len = 0;
	if ((c->in = malloc(c->in_want > 0 ? c->in_want : 1)) == NULL)
		return -1;
	return 0;
}

/* The frame is complete: decodes it with its descriptors into m. */
static int
kproto_conn_frame(struct kproto_conn *c, struct kproto_msg *m)
{
	size_t i, n = c->in_nfds;
	int r;

	if (c->nfifo < n) {
		errno = EPROTO;
		return KPROTO_ERR;
	}
	r = kproto_decode(c->in_type, c->in, c->in_len, n, m);
	free(c->in);
	c->in = NULL;
	c->hdr_len = 0;
	for (i = 0; i < n; i++) {
		if (r == 0)
			m->fds[i] = c->fifo[i];
		else
			close(c->fifo[i]);
	}
	if (r == 0)
		m->nfds = n;
	memmove(c->fifo, c->fifo + n, (c->nfifo - n) * sizeof c->fifo[0]);
	c->nfifo -= n;
	return r == 0 ? KPROTO_MSG : KPROTO_ERR;
}

/*
 * Reads the next message into m (kproto_msg_free() it). Returns
 * KPROTO_MSG, KPROTO_AGAIN (nothing more now), KPROTO_EOF (the peer closed
 * between two frames) or KPROTO_ERR with errno (EPROTO also for an EOF
 * inside a frame).
 */
int
kproto_conn_recv(struct kproto_conn *c, struct kproto_msg *m)
{
	ssize_t r;

	kproto_msg_init(m, 0);
	for (;;) {
		if (c->hdr_len < KPROTO_HEADER) {
			r = kproto_conn_get(c, c->hdr + c->hdr_len,
			    KPROTO_HEADER - c->hdr_len);
			if (r == KPROTO_EOF && c->hdr_len > 0) {
				errno = EPROTO;
				return KPROTO_ERR;
			}
			if (r <= 0)
				return (int)r;
			c->hdr_len += (size_t)r;
			if (c->hdr_len == KPROTO_HEADER &&
			    kproto_conn_header(c) == -1)
				return KPROTO_ERR;
			continue;
		}
		if (c->in_len < c->in_want) {
			r = kproto_conn_get(c, c->in + c->in_len,
			    c->in_want - c->in_len);
			if (r == KPROTO_EOF) {
				errno = EPROTO;
				return KPROTO_ERR;
			}
			if (r <= 0)
				return (int)r;
			c->in_len += (size_t)r;
			continue;
		}
		return kproto_conn_frame(c, m);
	}
}

/* --- sending ---------------------------------------------------------- */

/* Sends from o; its descriptors go with the first byte. >=0 bytes or -1. */
static ssize_t
kproto_conn_write(struct kproto_conn *c, const unsigned char *p, size_t n,
    const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * KPROTO_MAX_FDS)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { (void *)p, n };
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t r;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	do {
		r = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (r == -1 && errno == EINTR);
	if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return r;
}

static int kproto_conn_queue(struct kproto_conn *, const unsigned char *,
    size_t, const int *, size_t);

/*
 * Sends the frames gathered for later (behind the queue, if any: then
 * they join it). Returns 0, or -1 with errno; they are gone either way.
 */
static int
kproto_conn_push(struct kproto_conn *c)
{
	ssize_t r = 0;
	int rc = 0;

	if (c->later.len == 0)
		return 0;
	if (c->out == NULL)
		r = kproto_conn_write(c, c->later.data, c->later.len, NULL, 0);
	if (r == -1)
		rc = -1;
	else if ((size_t)r < c->later.len)
		rc = kproto_conn_queue(c, c->later.data + r,
		    c->later.len - (size_t)r, NULL, 0);
	c->later.len = 0;
	return rc;
}

/*
 * Sends what the queue holds. Returns 0 when all is sent, 1 when some
 * waits for the socket to be writable, -1 with errno on an error.
 */
int
kproto_conn_flush(struct kproto_conn *c)
{
	struct kproto_out *o;
	ssize_t r;
	size_t i;

	if (kproto_conn_push(c) == -1)
		return -1;
	while ((o = c->out) != NULL) {
		r = kproto_conn_write(c, o->data + o->off, o->len - o->off,
		    o->fds, o->off == 0 ? o->nfds : 0);
		if (r == -1)
			return -1;
		if (r == 0)
			return 1;
		for (i = 0; i < o->nfds; i++)
			close(o->fds[i]);
		o->nfds = 0;
		o->off += (size_t)r;
		c->out_bytes -= (size_t)r;
		if (o->off < o->len)
			continue;
		if ((c->out = o->next) == NULL)
			c->out_tail = &c->out;
		free(o);
	}
	return 0;
}

/* Queues p[0..n) with copies of fds (none when already sent). */
static int
kproto_conn_queue(struct kproto_conn *c, const unsigned char *p, size_t n,
    const int *fds, size_t nfds)
{
	struct kproto_out *o;

	if (n > KPROTO_MAX_QUEUE - c->out_bytes) {
		errno = ENOBUFS;
		return -1;
	}
	if ((o = malloc(sizeof *o + n)) == NULL)
		return -1;
	memcpy(o->data, p, n);
	o->next = NULL;
	o->len = n;
	o->off = 0;
	for (o->nfds = 0; o->nfds < nfds; o->nfds++) {
		o->fds[o->nfds] = fcntl(fds[o->nfds], F_DUPFD_CLOEXEC, 3);
		if (o->fds[o->nfds] == -1) {
			kproto_out_free(o);
			return -1;
		}
	}
	*c->out_tail = o;
	c->out_tail = &o->next;
	c->out_bytes += n;
	return 0;
}

/*
 * Sends m, or queues what the socket does not take now (then the owner
 * waits for POLLOUT and calls kproto_conn_flush()). m's descriptors stay
 * the caller's: the queue keeps copies. Returns 0, or -1 with errno
 * (EMSGSIZE, ENOBUFS: the queue is full, EPIPE, ...).
 */
int
kproto_conn_send(struct kproto_conn *c, const struct kproto_msg *m)
{
	struct kproto_buf b;
	ssize_t r = 0;
	int rc;

	if (kproto_conn_push(c) == -1)
		return -1;
	memset(&b, 0, sizeof b);
	if (kproto_encode(m, &b) == -1) {
		kproto_buf_free(&b);
		return -1;
	}
	if (c->out == NULL) {
		r = kproto_conn_write(c, b.data, b.len, m->fds, m->nfds);
		if (r == -1) {
			kproto_buf_free(&b);
			return -1;
		}
	}
	rc = 0;
	if ((size_t)r < b.len)
		rc = kproto_conn_queue(c, b.data + r, b.len - (size_t)r,
		    m->fds, r > 0 ? 0 : m->nfds);
	kproto_buf_free(&b);
	return rc;
}

/*
 * Sends m with the next send or flush, together with the other frames
 * sent later (the owner must flush before it waits: kproto_conn_pending()
 * says so). A frame with descriptors, or one that would make the gathered
 * bytes pass KPROTO_LATER_MAX, is sent now. Returns as kproto_conn_send().
 */
int
kproto_conn_send_later(struct kproto_conn *c, const struct kproto_msg *m)
{
	size_t len = c->later.len;

	if (m->nfds > 0 || len >= KPROTO_LATER_MAX || c->fd < 0)
		return kproto_conn_send(c, m);
	if (kproto_encode(m, &c->later) == -1)
		return -1;
	if (c->out_bytes + c->later.len > KPROTO_MAX_QUEUE) {
		c->later.len = len;
		errno = ENOBUFS;
		return -1;
	}
	return 0;
}
