/* SPDX-License-Identifier: ISC */
/*
 * What the log pipes (logpipe.c) share: the epoll set in which every app
 * pipe is watched edge-triggered, under one uv_poll (a pipe holding bytes
 * already read stays readable: level-triggered, it would spin; Linux
 * wakes an edge-triggered watcher at every write to a polled pipe), the
 * list of pipes waiting for the log writer to write their bytes, raising
 * a pipe's size, and dropping bytes from a pipe (splice to /dev/null).
 */
#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "spawn-child.h"

static int logpipe_ep = -1;             /* the epoll set of the app pipes */
static uv_poll_t logpipe_ep_poll;
static int logpipe_ep_ok;               /* its uv_poll runs */
static TAILQ_HEAD(, logpipe) logpipe_waiting =
    TAILQ_HEAD_INITIALIZER(logpipe_waiting);

/*
 * Raises the pipe of fd to LOGPIPE_SIZE where allowed; returns its size
 * (F_SETPIPE_SZ's answer, else F_GETPIPE_SZ's).
 */
size_t
logpipe_grow(int fd)
{
	int n;

	if ((n = fcntl(fd, F_SETPIPE_SZ, LOGPIPE_SIZE)) > 0)
		return (size_t)n;
	if (n == -1 && errno != EPERM && errno != EBUSY)
		log_debug("F_SETPIPE_SZ: %s", strerror(errno));
	if ((n = fcntl(fd, F_GETPIPE_SZ)) <= 0)
		return 4096;
	return (size_t)n;
}

/*
 * Drops the next n bytes of the pipe fd (they are there). Returns 0, or
 * -1 with errno set (EAGAIN: fewer were there).
 */
int
logpipe_discard(int fd, size_t n)
{
	static char scratch[16384];
	ssize_t r;

	while (n > 0) {
		r = splice(fd, NULL, spawn_devnull(), NULL, n,
		    SPLICE_F_NONBLOCK);
		if (r == -1 && errno == EINVAL)
			r = read(fd, scratch, n < sizeof scratch ? n :
			    sizeof scratch);
		if (r == 0)
			errno = EAGAIN;
		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		n -= (size_t)r;
	}
	return 0;
}

/* The epoll set's callback: pumps each pipe that was written or closed. */
static void
logpipe_events(uv_poll_t *h, int status, int events)
{
	struct epoll_event ev[64];
	struct logpipe *lp;
	int i, n;

	(void)h;
	(void)events;
	if (status != 0)
		log_warnx("log pipes: %s", uv_strerror(status));
	if ((n = epoll_wait(logpipe_ep, ev, (int)nitems(ev), 0)) == -1) {
		if (errno != EINTR)
			log_warn("log pipes: epoll_wait");
		return;
	}
	for (i = 0; i < n; i++) {
		lp = ev[i].data.ptr;
		if (lp->closing)
			continue;
		if ((ev[i].events & (EPOLLIN | EPOLLHUP)) == EPOLLHUP)
			logpipe_pump_hup(lp);
		else
			logpipe_pump(lp);
	}
}

/* The writer wrote what some pipes wait for: they consume it and read on. */
static void
logpipe_written(void)
{
	TAILQ_HEAD(, logpipe) list = TAILQ_HEAD_INITIALIZER(list);
	struct logpipe *lp;

	TAILQ_CONCAT(&list, &logpipe_waiting, wentry);
	while ((lp = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, lp, wentry);
		lp->waiting = 0;
		logpipe_pump(lp);
	}
}

/* What every pipe shares, made at the first one. */
int
logpipe_set_init(char **cause)
{
	int rc;

	if (logpipe_ep != -1)
		return 0;
	if (spawn_devnull() == -1) {
		xasprintf(cause, "log pipes: /dev/null: %s", strerror(errno));
		return -1;
	}
	if ((logpipe_ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		xasprintf(cause, "log pipes: epoll: %s", strerror(errno));
		return -1;
	}
	if ((rc = uv_poll_init(D.loop, &logpipe_ep_poll, logpipe_ep)) != 0 ||
	    (rc = uv_poll_start(&logpipe_ep_poll, UV_READABLE,
	    logpipe_events)) != 0) {
		/* only with a bad descriptor: then every pipe is polled */
		log_warnx("log pipes: uv_poll: %s", uv_strerror(rc));
	} else {
		uv_unref((uv_handle_t *)&logpipe_ep_poll);
		logpipe_ep_ok = 1;
	}
	logwriter_on_written(logpipe_written);
	return 0;
}

/* Watches lp's pipe; when it cannot, its timer pumps it (logpipe.c). */
void
logpipe_watch(struct logpipe *lp)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.ptr = lp;
	if (logpipe_ep_ok && epoll_ctl(logpipe_ep, EPOLL_CTL_ADD, lp->fd,
	    &ev) == 0)
		lp->watched = 1;
	else if (logpipe_ep_ok)
		log_warn("%s: log pipe: epoll_ctl (read every %d ms)",
		    lp->child->app->cfg.name, LOGPIPE_POLL_MS);
}

/* Stops watching lp's pipe (before its descriptor is closed). */
void
logpipe_unwatch(struct logpipe *lp)
{
	if (lp->watched && epoll_ctl(logpipe_ep, EPOLL_CTL_DEL, lp->fd,
	    NULL) == -1)
		log_warn("log pipe: epoll_ctl del");
	lp->watched = 0;
}

/* Joins lp's pipe to the waiting list until the writer has written more. */
void
logpipe_wait(struct logpipe *lp)
{
	if (lp->waiting)
		return;
	lp->waiting = 1;
	TAILQ_INSERT_TAIL(&logpipe_waiting, lp, wentry);
}

/* Takes lp off the waiting list (it closes). */
void
logpipe_unwait(struct logpipe *lp)
{
	if (lp->waiting)
		TAILQ_REMOVE(&logpipe_waiting, lp, wentry);
	lp->waiting = 0;
}
