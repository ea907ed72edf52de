/* SPDX-License-Identifier: ISC */
/*
 * What keeper-link.c (the link on the loop, the frames read) and
 * keeper-link-send.c (the requests) share; no other file includes it.
 */
#ifndef CORRAL_KEEPER_LINK_PRIVATE_H
#define CORRAL_KEEPER_LINK_PRIVATE_H

#include "kproto.h"

struct keeper_link {
	uv_poll_t poll;
	uv_timer_t timer;
	int handles;            /* open libuv handles; freed at 0 */
	int closing;
	int lost;
	int polling;            /* the events l->poll watches, 0: none yet */
	struct kproto_conn conn;
	struct keeper_link_cbs cb;
	void *arg;
};

int keeper_link_send(struct keeper_link *, const struct kproto_msg *, int,
    char **);

#endif
