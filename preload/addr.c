/* SPDX-License-Identifier: ISC */
/*
 * Whether a socket the daemon holds (bound to "held") serves an app's
 * bind() to "want": for IPv4 and IPv6 the same port and the same address
 * unless either side is a wildcard (v4 compared as v4-mapped IPv6), for
 * unix sockets the same path name (abstract and unnamed ones never match).
 * Pure functions of their arguments: no call, no state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <string.h>

#include "addr.h"

/* The port of an inet address, -1 for others. */
int
preload_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

static int
preload_is_any(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return 0;
}

/* Both addresses as IPv6 (v4 mapped) so 127.0.0.1 equals ::ffff:127.0.0.1. */
static void
preload_to6(const struct sockaddr_storage *ss, struct in6_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

	if (ss->ss_family == AF_INET6) {
		*a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		return;
	}
	memset(a, 0, sizeof *a);
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	memcpy(&a->s6_addr[12], &sin->sin_addr, 4);
}

/*
 * Whether the held socket (bound to "held") serves a bind() to "want": the
 * same port, and the same address unless either side is a wildcard. An app
 * binding 0.0.0.0:3000 gets the daemon's dual-stack [::]:3000.
 */
static int
preload_inet_match(const struct sockaddr_storage *held,
    const struct sockaddr_storage *want)
{
	struct in6_addr a, b;

	if (preload_port(held) != preload_port(want) || preload_port(want) <= 0)
		return 0;
	if (preload_is_any(held) || preload_is_any(want))
		return 1;
	preload_to6(held, &a);
	preload_to6(want, &b);
	return memcmp(&a, &b, sizeof a) == 0;
}

static int
preload_unix_match(const struct sockaddr_storage *held, socklen_t heldlen,
    const struct sockaddr_storage *want, socklen_t wantlen)
{
	const struct sockaddr_un *h = (const struct sockaddr_un *)held;
	const struct sockaddr_un *w = (const struct sockaddr_un *)want;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t hl, wl;

	if (heldlen <= off || wantlen <= off)
		return 0;
	hl = strnlen(h->sun_path, heldlen - off);
	wl = strnlen(w->sun_path, wantlen - off);
	if (hl == 0 || wl == 0)         /* abstract or unnamed: not ours */
		return 0;
	return hl == wl && memcmp(h->sun_path, w->sun_path, hl) == 0;
}

/*
 * held (heldlen bytes, as getsockname gave it) against want (wantlen
 * bytes, as bind got it, copied into a zeroed sockaddr_storage).
 */
int
preload_addr_match(const struct sockaddr_storage *held, socklen_t heldlen,
    const struct sockaddr_storage *want, socklen_t wantlen)
{
	if (heldlen > sizeof *held)
		heldlen = sizeof *held;         /* getsockname may say more */
	if (wantlen > sizeof *want)
		wantlen = sizeof *want;
	if (want->ss_family == AF_UNIX)
		return held->ss_family == AF_UNIX &&
		    preload_unix_match(held, heldlen, want, wantlen);
	if (want->ss_family != AF_INET && want->ss_family != AF_INET6)
		return 0;
	return (held->ss_family == AF_INET || held->ss_family == AF_INET6) &&
	    preload_inet_match(held, want);
}
