/* SPDX-License-Identifier: ISC */
/*
 * The channels between the daemon and an app's processes: the control
 * channel of the bind() shim (ctlchan.c), Node's IPC channel (nodeipc.c)
 * and the sockets bound on an instance's demand (bindreq.c). Included by
 * corrald.h.
 */
#ifndef CORRAL_CHAN_H
#define CORRAL_CHAN_H

#include <jansson.h>
#include <uv.h>

struct app;
struct child;

/* ctlchan.c */
struct ctlchan;
int ctlchan_open(struct child *, char **);
void ctlchan_spawned(struct child *);
void ctlchan_adopt(struct child *);
void ctlchan_close(struct child *);
int ctlchan_drain(struct child *);

/* nodeipc.c */
struct nodeipc;
void nodeipc_prepare(struct child *, struct spawn_plan *, json_t *);
void nodeipc_adopt(struct child *);
void nodeipc_spawned(struct child *);
void nodeipc_close(struct child *);
int nodeipc_send(struct child *, const char *);

/* bindreq.c */
int bindreq_serve(struct app *, const char *, int *);

#endif
