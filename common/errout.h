/* SPDX-License-Identifier: ISC */
/*
 * Lines to stderr that never wait (errout.c): libc only, linked by the
 * engine's log (common/log.c) and corral-keeper's (keeper/log.c).
 */
#ifndef CORRAL_ERROUT_H
#define CORRAL_ERROUT_H

#include <stddef.h>

/* Zeroed: set up at its first line. */
struct errout {
	int ready;
	int fd;                 /* stderr's channel, or -1: plain writes */
	int sock;               /* a socket: send() */
	unsigned long dropped;  /* lines it had no room for */
};

void errout_write(struct errout *, const char *, size_t);
void errout_reset(struct errout *);

#endif
