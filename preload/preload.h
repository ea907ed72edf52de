/* SPDX-License-Identifier: ISC */
/*
 * libcorral-preload.so's parts: preload.c (bind/listen/accept over the
 * inherited sockets, the listen report), ctl.c (the daemon's control
 * channel: addresses bound on demand), drain.c (the thread that stops
 * this process from accepting on the daemon's sockets before it is
 * stopped, and waits for its connections to end).
 */
#ifndef CORRAL_PRELOAD_H
#define CORRAL_PRELOAD_H

#include <sys/socket.h>
#include <sys/types.h>

#define PRELOAD_FIRST_FD 3
#define PRELOAD_MAX_FDS 64

/* preload.c */
extern int preload_nfds;
int preload_adopt(int, int);
int preload_port(const struct sockaddr_storage *);

/* ctl.c */
extern int preload_ctl_fd;
void preload_ctl_init(void);
int preload_ctl_bind(int, const struct sockaddr *, socklen_t);
int preload_ctl_held(int);
int preload_ctl_send(int, const char *, int);

/* drain.c */
void preload_drain_track(int);
void preload_drain_check(void);

#endif
