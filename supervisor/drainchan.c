/* SPDX-License-Identifier: ISC */
/*
 * The drain channels of a control channel (ctlchan.c): each process of a
 * cluster app that holds a shared socket says HELLO on the control
 * channel with a socket of its own attached (preload/drain.c). At a
 * graceful stop the daemon sends "DRAIN" on each and feeds EV_DRAINED to
 * the instance once every one answered "DRAINED" or closed. The keeper
 * holds each (drain/<child tag>/<n>) until it closes, so that a later
 * engine drains as this one would; a HELLO served again after an engine
 * died (ctlchan.c) is known by its socket's inode and kept once.
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
#include "ctlchan.h"

#define CTLCHAN_DRAIN_TAG "drain"       /* drain/<child tag>/<n> */
#define CTLCHAN_MAX_DRAIN 32            /* drain channels of one spawn */

static void
drainchan_closed(uv_handle_t *h)
{
	struct drainchan *d = h->data;
	struct ctlchan *c = d->ctl;

	close(d->fd);
	free(d->tag);
	free(d);
	ctlchan_unref(c);
}

/* A drain ended (answered or closed): the instance hears of the last one. */
static void
drainchan_done(struct ctlchan *c)
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

void
drainchan_remove(struct drainchan *d)
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
	uv_close((uv_handle_t *)&d->poll, drainchan_closed);
}

static void
drainchan_read(uv_poll_t *p, int status, int events)
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
			drainchan_done(c);
		}
		return;
	}
	/* The process is gone (or closed it): nothing more to wait for. */
	d->waiting = 0;
	drainchan_remove(d);
	drainchan_done(c);
}

/*
 * A drain channel of c on fd (taken), held by the keeper under tag
 * (taken; NULL: not held). Returns 0, or -1 when it could not be kept
 * (fd closed, tag freed).
 */
static int
drainchan_add(struct ctlchan *c, int fd, char *tag)
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
	    drainchan_read)) != 0)
		log_warnx("drain: uv_poll_start: %s", uv_strerror(rc));
	return 0;
}

/* Whether fd is a drain channel c has already. */
static int
drainchan_known(const struct ctlchan *c, int fd)
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
void
drainchan_hello(struct ctlchan *c, int fd)
{
	char *tag = NULL;

	if (drainchan_known(c, fd)) {
		log_info("drain: a channel held already, kept once");
		close(fd);
		return;
	}
	if (c->child != NULL && c->child->tag != NULL)
		xasprintf(&tag, "%s/%s/%lu", CTLCHAN_DRAIN_TAG, c->child->tag,
		    c->next_drain++);
	if (drainchan_add(c, fd, tag) == 0 && tag != NULL)
		engine_hold(tag, fd);
}

/*
 * The drain channels of an adopted child the keeper held, taken back;
 * the next new one's <n> comes after theirs.
 */
void
drainchan_adopt(struct ctlchan *c)
{
	unsigned long n;
	char *prefix, *tag, *end;
	int fd;

	xasprintf(&prefix, "%s/%s/", CTLCHAN_DRAIN_TAG, c->child->tag);
	while ((fd = engine_take_prefix(prefix, &tag)) != -1) {
		n = strtoul(tag + strlen(prefix), &end, 10);
		if (*end == '\0' && n >= c->next_drain)
			c->next_drain = n + 1;
		(void)drainchan_add(c, fd, tag);
	}
	free(prefix);
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
