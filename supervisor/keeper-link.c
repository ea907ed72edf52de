/* SPDX-License-Identifier: ISC */
/*
 * The engine's end of the keeper's socketpair, on the engine's libuv loop:
 * a uv_poll_t reads frames as they come and hands each to its callback
 * (keeper-link.h); requests are sent at once or queued (bounded) until the
 * socket is writable; a uv_timer_t sends HEARTBEAT four times per the
 * keeper's heartbeat timeout once HELLO said it. The requests are
 * keeper-link-send.c's.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>

#include "common.h"
#include "kproto.h"
#include "keeper-link.h"
#include "keeper-link-private.h"

void timer_init(uv_loop_t *, uv_timer_t *);


static void keeper_link_io(uv_poll_t *, int, int);

/* --keeper-fd N: an open unix stream socket, made close-on-exec. */
int
keeper_link_parse_fd(const char *s, int *fd, char **cause)
{
	long long v;
	struct stat st;
	int type;
	socklen_t len = sizeof type;

	if (parse_int(s, 3, 1 << 20, &v, cause) == -1)
		return -1;
	if (fstat((int)v, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		xasprintf(cause, "--keeper-fd %s: not the keeper's socket", s);
		return -1;
	}
	(void)fcntl((int)v, F_SETFD, FD_CLOEXEC);
	*fd = (int)v;
	return 0;
}

static void
keeper_link_closed(uv_handle_t *h)
{
	struct keeper_link *l = h->data;

	if (--l->handles == 0) {
		kproto_conn_close(&l->conn);
		free(l);
	}
}

/* Closes the socket and the handles; l is freed once libuv let go. */
void
keeper_link_free(struct keeper_link *l)
{
	if (l == NULL || l->closing)
		return;
	l->closing = 1;
	uv_close((uv_handle_t *)&l->poll, keeper_link_closed);
	uv_close((uv_handle_t *)&l->timer, keeper_link_closed);
}

static void
keeper_link_lose(struct keeper_link *l, const char *why)
{
	if (l->lost || l->closing)
		return;
	l->lost = 1;
	(void)uv_poll_stop(&l->poll);
	l->polling = 0;
	(void)uv_timer_stop(&l->timer);
	log_warnx("keeper link: %s", why);
	if (l->cb.lost != NULL)
		l->cb.lost(why, l->arg);
}

/*
 * Polls for writing as long as frames wait in the queue. The poll is
 * restarted only when its events change: each uv_poll_start() takes the
 * descriptor out of epoll and puts it back (two system calls per frame).
 */
static void
keeper_link_watch(struct keeper_link *l)
{
	int ev = UV_READABLE | UV_DISCONNECT;
	int r;

	if (l->lost || l->closing)
		return;
	if (kproto_conn_pending(&l->conn))
		ev |= UV_WRITABLE;
	if (ev == l->polling)
		return;
	if ((r = uv_poll_start(&l->poll, ev, keeper_link_io)) != 0) {
		l->polling = 0;
		keeper_link_lose(l, uv_strerror(r));
		return;
	}
	l->polling = ev;
}

/*
 * Sends m (later: with the next frames, once the loop polls again: the
 * link then waits for the socket to be writable); -1 with *cause when the
 * link cannot take it.
 */
int
keeper_link_send(struct keeper_link *l, const struct kproto_msg *m,
    int later, char **cause)
{
	if (l->lost || l->closing) {
		*cause = xstrdup("the keeper link is closed");
		return -1;
	}
	if ((later ? kproto_conn_send_later(&l->conn, m) :
	    kproto_conn_send(&l->conn, m)) == -1) {
		xasprintf(cause, "keeper link: %s: %s",
		    kproto_type_name(m->type), strerror(errno));
		return -1;
	}
	keeper_link_watch(l);
	return 0;
}

static void
keeper_link_heartbeat(uv_timer_t *t)
{
	struct keeper_link *l = t->data;
	struct kproto_msg m;
	char *cause = NULL;

	kproto_msg_init(&m, KP_HEARTBEAT);
	if (keeper_link_send(l, &m, 0, &cause) == -1) {
		log_warnx("%s", cause);
		free(cause);
	}
}

/* Creates the link on fd (which it owns from now on, even on failure). */
struct keeper_link *
keeper_link_create(uv_loop_t *loop, int fd, const struct keeper_link_cbs *cb,
    void *arg, char **cause)
{
	struct keeper_link *l = xcalloc(1, sizeof *l);
	int r;

	kproto_conn_init(&l->conn, fd);
	kproto_conn_read_ahead(&l->conn);       /* the engine never execs */
	l->cb = *cb;
	l->arg = arg;
	if ((r = uv_poll_init(loop, &l->poll, fd)) != 0) {
		xasprintf(cause, "keeper link: %s", uv_strerror(r));
		kproto_conn_close(&l->conn);
		free(l);
		return NULL;
	}
	l->poll.data = l;
	l->handles = 1;
	timer_init(loop, &l->timer);
	l->timer.data = l;
	l->handles++;
	keeper_link_watch(l);
	return l;
}

/* Takes the i-th descriptor out of m (-1 if it has none). */
static int
keeper_link_take(struct kproto_msg *m, size_t i)
{
	int fd;

	if (i >= m->nfds)
		return -1;
	fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

/*
 * HELLO: the heartbeat starts, every half of the keeper's timeout: the
 * engine's only wake-up when idle (a wake-up costs 0.5 to 4 ms of CPU on
 * the development VMs), and a loop stalled for half the timeout already
 * serves nobody (the keeper then replaces it; the apps run on).
 */
static void
keeper_link_hello(struct keeper_link *l, struct kproto_msg *m)
{
	struct keeper_hello h;
	uint64_t every = (uint64_t)m->heartbeat_ms / 2;

	if (every < 100)
		every = 100;
	if (uv_timer_start(&l->timer, keeper_link_heartbeat, every, every) != 0)
		log_warnx("keeper link: cannot start the heartbeat timer");
	if (l->cb.hello == NULL)
		return;
	memset(&h, 0, sizeof h);
	h.kind = (int)m->kind;
	h.kind_name = kproto_kind_name(m->kind);
	h.reason = m->text;
	h.keeper_version = m->stage;
	h.keeper_pid = (pid_t)m->pid;
	h.heartbeat_ms = m->heartbeat_ms;
	h.generation = m->generation;
	h.version = m->version;
	h.adopt_fd = keeper_link_take(m, 0);
	l->cb.hello(&h, l->arg);
}

/* LIVE: out, err[, pidfd]. */
static void
keeper_link_proc(struct keeper_link *l, struct kproto_msg *m,
    void (*cb)(const struct keeper_proc *, void *))
{
	struct keeper_proc p;

	if (cb == NULL)
		return;
	p.tag = m->tag;
	p.pid = (pid_t)m->pid;
	p.started_at = m->started_at;
	p.out = keeper_link_take(m, 0);
	p.err = keeper_link_take(m, 1);
	p.pidfd = keeper_link_take(m, 2);
	cb(&p, l->arg);
}

static void
keeper_link_dispatch(struct keeper_link *l, struct kproto_msg *m)
{
	const struct keeper_link_cbs *cb = &l->cb;
	int out, err;

	switch (m->type) {
	case KP_HELLO:
		keeper_link_hello(l, m);
		break;
	case KP_HELD:
		if (cb->held != NULL)
			cb->held(m->tag, keeper_link_take(m, 0), l->arg);
		break;
	case KP_LIVE:
		keeper_link_proc(l, m, cb->live);
		break;
	case KP_EXITED:
		if (cb->exited == NULL)
			break;
		out = keeper_link_take(m, 0);
		err = keeper_link_take(m, 1);
		cb->exited(m->tag, (pid_t)m->pid, (int)m->status, out, err,
		    l->arg);
		break;
	case KP_TABLE_END:
		if (cb->table_end != NULL)
			cb->table_end(l->arg);
		break;
	case KP_UPDATE_FAILED:
		if (cb->update_failed != NULL)
			cb->update_failed(m->text, l->arg);
		break;
	case KP_ERROR:
		if (cb->error != NULL)
			cb->error(m->tag, (int)m->err, m->text, l->arg);
		break;
	case KP_TERM:
		if (cb->term != NULL)
			cb->term(l->arg);
		break;
	default:
		log_debug("keeper link: %s (%u) ignored",
		    kproto_type_name(m->type), m->type);
	}
}

static void
keeper_link_read(struct keeper_link *l)
{
	struct kproto_msg m;
	char *why;
	int r;

	while (!l->lost && !l->closing) {
		r = kproto_conn_recv(&l->conn, &m);
		if (r == KPROTO_AGAIN)
			return;
		if (r == KPROTO_MSG) {
			keeper_link_dispatch(l, &m);
			kproto_msg_free(&m);
			continue;
		}
		if (r == KPROTO_EOF)
			why = xstrdup("the keeper closed the link");
		else
			xasprintf(&why, "bad frame from the keeper: %s",
			    strerror(errno));
		keeper_link_lose(l, why);
		free(why);
	}
}

/* Waits up to ms for events on the link's socket; -1 on a timeout. */
static int
keeper_link_poll(struct keeper_link *l, short events, int ms)
{
	struct pollfd pfd = { .fd = l->conn.fd, .events = events };
	int n;

	while ((n = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/* Sends what is queued, waiting for the socket at most ms in all. */
void
keeper_link_flush(struct keeper_link *l, int ms)
{
	while (!l->lost && kproto_conn_pending(&l->conn)) {
		if (keeper_link_poll(l, POLLOUT, ms) == -1 ||
		    kproto_conn_flush(&l->conn) == -1)
			return;
	}
}

static void
keeper_link_io(uv_poll_t *p, int status, int events)
{
	struct keeper_link *l = p->data;
	char *why;

	if (status < 0) {
		xasprintf(&why, "poll: %s", uv_strerror(status));
		keeper_link_lose(l, why);
		free(why);
		return;
	}
	if ((events & UV_WRITABLE) && kproto_conn_flush(&l->conn) == -1) {
		xasprintf(&why, "sending: %s", strerror(errno));
		keeper_link_lose(l, why);
		free(why);
		return;
	}
	if (events & (UV_READABLE | UV_DISCONNECT))
		keeper_link_read(l);
	keeper_link_watch(l);
}
