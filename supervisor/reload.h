/* SPDX-License-Identifier: ISC */
/*
 * The rolling reload's own objects, shared by reload.c (requests, steps)
 * and reload-slot.c (one slot's state machine) and by no other file.
 */
#ifndef RELOAD_H
#define RELOAD_H

#include "corrald.h"

/* Where one slot stands. */
enum reload_slot_state {
	SLOT_WAITING,                   /* not started yet */
	SLOT_STARTING,                  /* replacement started, not ready */
	SLOT_REPLACED,                  /* old one told to stop */
	SLOT_CANCELLED,                 /* replacement being removed */
	SLOT_DONE,                      /* old one gone, id handed over */
	SLOT_NSTATES
};

/* What a step sees of a slot's two instances, or what the reload asks. */
enum reload_slot_event {
	SLOT_EV_NONE,                   /* nothing new */
	SLOT_EV_START,                  /* the surge has room for it */
	SLOT_EV_READY,                  /* the replacement is online */
	SLOT_EV_FAILED,                 /* the replacement will not be */
	SLOT_EV_OLD_GONE,               /* the old instance is freed */
	SLOT_EV_NEW_GONE,               /* the replacement is freed */
	SLOT_EV_ABORT,                  /* the reload failed */
	SLOT_NEVENTS
};

struct reload_slot {
	int old_id;
	int new_id;                     /* -1 until started */
	int new_pid;                    /* its process at start */
	enum reload_slot_state state;
};

struct reload {
	struct app *app;                /* referenced */
	struct reload_req *req;
	struct reload_slot *slots;
	size_t nslots;
	size_t next;                    /* next slot to start */
	int surge;
	int failed;
	int whole;                      /* every instance (not one replaced) */
	TAILQ_ENTRY(reload) entry;
};
TAILQ_HEAD(reload_list, reload);

/* reload.c */
void reload_error(struct reload *, const char *, ...) PRINTFLIKE(2, 3);

/* reload-slot.c */
void reload_slot_feed(struct reload *, struct reload_slot *,
    enum reload_slot_event);
enum reload_slot_event reload_slot_observe(const struct reload_slot *);
void reload_slot_observe_all(struct reload *);
void reload_slot_abort_all(struct reload *);

#endif
