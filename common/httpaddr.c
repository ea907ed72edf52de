/* SPDX-License-Identifier: ISC */
/*
 * The address of corrald's HTTP endpoint (`corrald --metrics ADDR`,
 * CORRAL_METRICS, `corral startup --metrics ADDR`). A bare "PORT" means
 * 127.0.0.1:PORT; "HOST:PORT" and "[V6]:PORT" take a numeric HOST (or
 * "localhost"), so an address other than loopback is only ever one that
 * somebody wrote out in full. Port 0 asks the kernel for a free one.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "common.h"

static int
httpaddr_fail(char **cause, const char *s, const char *why)
{
	if (cause != NULL)
		xasprintf(cause, "invalid address '%s': %s", s, why);
	return -1;
}

/* Fills *ss from a numeric host (no brackets) and a port. */
static int
httpaddr_set(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (strcmp(host, "localhost") == 0)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof *sin;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof *sin6;
		return 0;
	}
	return -1;
}

/* Parses s into *ss and *len; -1 with *cause (may be NULL) on error. */
int
httpaddr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    char **cause)
{
	const char *colon, *end;
	char host[INET6_ADDRSTRLEN + 1];
	long long port;
	size_t hlen;

	if (s == NULL || *s == '\0')
		return httpaddr_fail(cause, "", "empty");
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return httpaddr_fail(cause, s, "expected [IPV6]:PORT");
		hlen = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else if ((colon = strrchr(s, ':')) == NULL) {
		if (parse_int(s, 0, 65535, &port, NULL) == -1)
			return httpaddr_fail(cause, s, "expected PORT, "
			    "HOST:PORT or [IPV6]:PORT");
		return httpaddr_set("127.0.0.1", (int)port, ss, len);
	} else {
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return httpaddr_fail(cause, s, "an IPv6 address goes "
			    "in brackets: [IPV6]:PORT");
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof host)
		return httpaddr_fail(cause, s, "no host: write 127.0.0.1:PORT "
		    "or, to serve other hosts, 0.0.0.0:PORT");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_int(colon + 1, 0, 65535, &port, NULL) == -1)
		return httpaddr_fail(cause, s, "bad port");
	if (httpaddr_set(host, (int)port, ss, len) == -1)
		return httpaddr_fail(cause, s, "the host must be a numeric "
		    "address or localhost");
	return 0;
}

/* Whether the address is a loopback one (127.0.0.0/8, ::1). */
int
httpaddr_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	return 0;
}

/* "127.0.0.1:9100" or "[::1]:9100" into buf. */
void
httpaddr_format(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%d", host, ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%d", host, ntohs(sin->sin_port));
	}
}
