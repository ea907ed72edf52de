/* SPDX-License-Identifier: ISC */
/*
 * A spawned process's control channel (ctlchan.c) and the drain channels
 * its processes open on it (drainchan.c): private to those two files.
 */
#ifndef CORRAL_CTLCHAN_H
#define CORRAL_CTLCHAN_H

#include <sys/types.h>

#include <uv.h>

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

/* ctlchan.c */
void ctlchan_unref(struct ctlchan *);
struct instance *ctlchan_inst(struct ctlchan *);

/* drainchan.c */
void drainchan_remove(struct drainchan *);
void drainchan_hello(struct ctlchan *, int);
void drainchan_adopt(struct ctlchan *);

#endif
