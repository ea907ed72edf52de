/* SPDX-License-Identifier: ISC */
/*
 * The preload library's address matching, apart from the interposed calls
 * so that it can be tested (and fuzzed) on its own.
 */
#ifndef CORRAL_PRELOAD_ADDR_H
#define CORRAL_PRELOAD_ADDR_H

#include <sys/socket.h>

int preload_port(const struct sockaddr_storage *);
int preload_addr_match(const struct sockaddr_storage *, socklen_t,
    const struct sockaddr_storage *, socklen_t);

#endif
