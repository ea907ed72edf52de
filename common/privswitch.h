/* SPDX-License-Identifier: ISC */
/*
 * Taking on another identity between fork and exec (privswitch.c): libc
 * only, so that corral-exec and corral-keeper link it as corrald does.
 */
#ifndef CORRAL_PRIVSWITCH_H
#define CORRAL_PRIVSWITCH_H

#include <sys/types.h>

#include <stddef.h>

#define PRIVSWITCH_MAX_GROUPS 256

/* The step that failed, in *step. */
#define PRIVSWITCH_GROUPS 0
#define PRIVSWITCH_GID 1
#define PRIVSWITCH_UID 2

int privswitch(uid_t, gid_t, const gid_t *, size_t, int *);

#endif
