/* SPDX-License-Identifier: ISC */
/*
 * The preload library's address matching: two socket addresses of any
 * content and length (first byte: the held one's length, second: the
 * wanted one's).  The answer must not depend on the bytes past either
 * length, and matching must be symmetric for IP addresses.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <string.h>

#include "addr.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage held, want, held2, want2;
	socklen_t hl, wl;
	int r;

	if (size < 2)
		return 0;
	hl = data[0] % (sizeof held + 8);
	wl = data[1] % (sizeof want + 8);
	data += 2;
	size -= 2;
	memset(&held, 0, sizeof held);
	memset(&want, 0, sizeof want);
	memcpy(&held, data, size < sizeof held ? size : sizeof held);
	if (size > sizeof held)
		memcpy(&want, data + sizeof held, size - sizeof held <
		    sizeof want ? size - sizeof held : sizeof want);
	r = preload_addr_match(&held, hl, &want, wl);
	/* Bytes past the lengths do not count (for the unix path). */
	memcpy(&held2, &held, sizeof held);
	memcpy(&want2, &want, sizeof want);
	if (hl < sizeof held2)
		memset((char *)&held2 + hl, 0x5a, sizeof held2 - hl);
	if (wl < sizeof want2)
		memset((char *)&want2 + wl, 0xa5, sizeof want2 - wl);
	if (held.ss_family == AF_UNIX && want.ss_family == AF_UNIX &&
	    hl >= sizeof(sa_family_t) && wl >= sizeof(sa_family_t))
		fuzz_check(preload_addr_match(&held2, hl, &want2, wl) == r);
	if ((held.ss_family == AF_INET || held.ss_family == AF_INET6) &&
	    (want.ss_family == AF_INET || want.ss_family == AF_INET6))
		fuzz_check(preload_addr_match(&want, wl, &held, hl) == r);
	return 0;
}
