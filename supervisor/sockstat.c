/* SPDX-License-Identifier: ISC */
/*
 * The accept queue of a listening TCP socket the daemon holds: for a
 * socket in the LISTEN state, Linux reports in struct tcp_info the
 * connections waiting for accept() (tcpi_unacked) and the most it may
 * hold, the backlog the last listen() asked for (tcpi_sacked). One
 * getsockopt per socket, no /proc walk. Unix sockets report nothing.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <string.h>

#include "corrald.h"

/* Fills *st from fd; -1 (errno set) when it is not a listening TCP socket. */
int
sockstat_read(int fd, struct sockstat *st)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return -1;
	if (ti.tcpi_state != TCP_LISTEN) {
		errno = EINVAL;
		return -1;
	}
	st->queue = ti.tcpi_unacked;
	st->backlog = ti.tcpi_sacked;
	return 0;
}
