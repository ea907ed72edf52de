/* SPDX-License-Identifier: ISC */
/*
 * Listening sockets held by the daemon for an app in cluster mode: parsing
 * the --listen/--port specs ("3000", "127.0.0.1:8080", "[::1]:9000",
 * "unix:/run/api.sock", each optionally "NAME=..."), binding them once (a
 * bare port is IPv6 dual-stack), and the socket-activation environment the
 * instances get with them as fds 3.. (LISTEN_FDS, LISTEN_FDNAMES, PORT;
 * LISTEN_PID is set by the keeper's child itself). The fds are
 * close-on-exec in the daemon; the spawner maps them onto 3.. explicitly.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "cluster.h"

/*
 * Where sockets outlive the daemon (engine.c sets it): a socket is taken
 * back by its tag before one is bound, held once bound, released when
 * closed. NULL: sockets are the daemon's alone.
 */
const struct listener_keeper *listener_keeper;

#define LISTENER_BACKLOG 4096

static int
listener_fail(char **cause, const char *spec, const char *why)
{
	if (cause != NULL)
		xasprintf(cause, "invalid listen address '%s': %s", spec, why);
	return -1;
}

static int
listener_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255)
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && strchr("_.-", s[i]) == NULL)
			return 0;
	}
	return 1;
}

static int
listener_parse_port(const char *s, int *port)
{
	long long n;

	if (*s == '\0' || parse_int(s, 1, 65535, &n, NULL) == -1)
		return -1;
	*port = (int)n;
	return 0;
}

static int
listener_parse_unix(const char *spec, const char *path, struct listener *l,
    char **cause)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&l->addr;
	size_t len = strlen(path);

	if (path[0] != '/')
		return listener_fail(cause, spec, "a unix path must be absolute");
	if (len >= sizeof sun->sun_path)
		return listener_fail(cause, spec, "unix path too long");
	l->kind = LISTENER_UNIX;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	l->addrlen = (socklen_t)sizeof *sun;
	return 0;
}

/* "[V6]:PORT": the address into l, *port_s after the colon. */
static int
listener_parse_v6(const char *spec, const char *s, struct listener *l,
    const char **port_s, char **cause)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	char host[INET6_ADDRSTRLEN + 1];
	const char *end = strchr(s, ']');
	size_t hlen;

	if (end == NULL || end[1] != ':')
		return listener_fail(cause, spec, "expected [ADDR]:PORT");
	hlen = (size_t)(end - s - 1);
	*port_s = end + 2;
	if (hlen == 0 || hlen >= sizeof host)
		return listener_fail(cause, spec, "bad IPv6 address");
	memcpy(host, s + 1, hlen);
	host[hlen] = '\0';
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return listener_fail(cause, spec, "bad IPv6 address");
	return 0;
}

/* The hlen bytes of s, "A.B.C.D", into l. */
static int
listener_parse_v4(const char *spec, const char *s, size_t hlen,
    struct listener *l, char **cause)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	char host[INET6_ADDRSTRLEN + 1];

	if (hlen == 0 || hlen >= sizeof host)
		return listener_fail(cause, spec, "expected ADDR:PORT");
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		return listener_fail(cause, spec, "not a numeric IPv4 address "
		    "(IPv6 goes in brackets)");
	return 0;
}

/* "PORT", "*:PORT", "A.B.C.D:PORT", "[V6]:PORT". */
static int
listener_parse_inet(const char *spec, const char *s, struct listener *l,
    char **cause)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l->addr;
	const char *colon, *port_s = s;

	l->kind = LISTENER_TCP;
	sin6->sin6_family = AF_INET6;           /* "PORT", "*:PORT": any */
	sin6->sin6_addr = in6addr_any;
	if (*s == '[') {
		if (listener_parse_v6(spec, s, l, &port_s, cause) == -1)
			return -1;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		port_s = colon + 1;
		if ((colon - s != 1 || *s != '*') && listener_parse_v4(spec, s,
		    (size_t)(colon - s), l, cause) == -1)
			return -1;
	}
	if (listener_parse_port(port_s, &l->port) == -1)
		return listener_fail(cause, spec, "port must be 1 to 65535");
	if (l->addr.ss_family == AF_INET6) {
		sin6->sin6_port = htons((uint16_t)l->port);
		l->addrlen = (socklen_t)sizeof *sin6;
	} else {
		sin->sin_port = htons((uint16_t)l->port);
		l->addrlen = (socklen_t)sizeof *sin;
	}
	return 0;
}

int
listener_parse(const char *spec, const char *default_name, struct listener *l,
    char **cause)
{
	const char *s = spec, *eq;
	int r;

	memset(l, 0, sizeof *l);
	l->fd = -1;
	eq = strchr(spec, '=');
	if (eq != NULL) {
		if (!listener_name_ok(spec, (size_t)(eq - spec)))
			return listener_fail(cause, spec, "bad socket name "
			    "(letters, digits, '_', '.', '-')");
		s = eq + 1;
	}
	if (strncmp(s, "unix:", 5) == 0)
		r = listener_parse_unix(spec, s + 5, l, cause);
	else
		r = listener_parse_inet(spec, s, l, cause);
	if (r == -1)
		return -1;
	l->spec = xstrdup(spec);
	xasprintf(&l->tag, "listen/%s/%s", default_name != NULL ?
	    default_name : "", spec);
	if (eq != NULL)
		l->name = xstrndup(spec, (size_t)(eq - spec));
	else if (default_name != NULL &&
	    listener_name_ok(default_name, strlen(default_name)))
		l->name = xstrdup(default_name);
	else
		l->name = xstrdup("corral");
	return 0;
}

/* A printable address: "[::]:3000", "127.0.0.1:80", "unix:/x.sock". */
void
listener_format(const struct listener *l, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
	char host[INET6_ADDRSTRLEN];

	if (l->kind == LISTENER_UNIX) {
		snprintf(buf, size, "unix:%s",
		    ((const struct sockaddr_un *)&l->addr)->sun_path);
	} else if (l->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%d", host, l->port);
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%d", host, l->port);
	}
}

static int
listener_open_fail(struct listener *l, int s, const char *what, int error,
    char **cause)
{
	char addr[128];

	listener_format(l, addr, sizeof addr);
	if (s != -1)
		close(s);
	if (cause == NULL)
		return -1;
	if (error == EADDRINUSE)
		xasprintf(cause, "cannot listen on %s: address already in use",
		    addr);
	else
		xasprintf(cause, "cannot listen on %s: %s: %s", addr, what,
		    strerror(error));
	return -1;
}

/*
 * A unix path that exists: a socket nobody accepts on is stale and goes; a
 * live socket or any other file is an error.
 */
static int
listener_unix_prepare(struct listener *l, char **cause)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&l->addr;
	struct stat st;
	int s, r, error;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 :
		    listener_open_fail(l, -1, "stat", errno, cause);
	if (!S_ISSOCK(st.st_mode))
		return listener_open_fail(l, -1, "path exists", EEXIST, cause);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s == -1)
		return listener_open_fail(l, -1, "socket", errno, cause);
	r = connect(s, (const struct sockaddr *)sun, l->addrlen);
	error = errno;
	close(s);
	if (r == 0)
		return listener_open_fail(l, -1, "bind", EADDRINUSE, cause);
	if (error != ECONNREFUSED)
		return listener_open_fail(l, -1, "connect", error, cause);
	if (unlink(sun->sun_path) == -1)
		return listener_open_fail(l, -1, "unlink", errno, cause);
	return 0;
}

int
listener_open(struct listener *l, char **cause)
{
	int s, one = 1, zero = 0;
	struct stat st;

	if (l->fd != -1)
		return 0;
	if (l->tag != NULL && listener_keeper != NULL &&
	    (l->fd = listener_keeper->take(l->tag)) != -1) {
		if (l->kind == LISTENER_UNIX && stat(((struct sockaddr_un *)
		    &l->addr)->sun_path, &st) == 0)
			l->ino = st.st_ino;
		return 0;
	}
	if (l->kind == LISTENER_UNIX && listener_unix_prepare(l, cause) == -1)
		return -1;
	s = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s == -1 && errno == EAFNOSUPPORT && l->addr.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&l->addr)->sin6_addr)) {
		/* No IPv6 in this kernel: a wildcard falls back to IPv4. */
		struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
		memset(&l->addr, 0, sizeof l->addr);
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)l->port);
		l->addrlen = (socklen_t)sizeof *sin;
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (s == -1)
		return listener_open_fail(l, -1, "socket", errno, cause);
	if (l->kind == LISTENER_TCP) {
		if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
			return listener_open_fail(l, s, "SO_REUSEADDR", errno,
			    cause);
		if (l->addr.ss_family == AF_INET6 && setsockopt(s, IPPROTO_IPV6,
		    IPV6_V6ONLY, &zero, sizeof zero) == -1)
			return listener_open_fail(l, s, "IPV6_V6ONLY", errno,
			    cause);
	}
	if (bind(s, (struct sockaddr *)&l->addr, l->addrlen) == -1)
		return listener_open_fail(l, s, "bind", errno, cause);
	if (listen(s, LISTENER_BACKLOG) == -1)
		return listener_open_fail(l, s, "listen", errno, cause);
	if (l->kind == LISTENER_UNIX) {
		if (stat(((struct sockaddr_un *)&l->addr)->sun_path, &st) == 0)
			l->ino = st.st_ino;
	}
	l->fd = s;
	if (l->tag != NULL && listener_keeper != NULL)
		listener_keeper->hold(l->tag, s);
	return 0;
}

/* Closes the socket (a unix one's path is removed if it is still ours). */
void
listener_close(struct listener *l)
{
	const char *path;
	struct stat st;

	if (l->fd == -1)
		return;
	if (l->kind == LISTENER_UNIX) {
		path = ((struct sockaddr_un *)&l->addr)->sun_path;
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    st.st_ino == l->ino)
			unlink(path);
	}
	close(l->fd);
	l->fd = -1;
	if (l->tag != NULL && listener_keeper != NULL)
		listener_keeper->release(l->tag);
}

/* Closes and frees what l holds; l itself belongs to the caller. */
void
listener_clear(struct listener *l)
{
	listener_close(l);
	free(l->spec);
	free(l->name);
	free(l->tag);
	memset(l, 0, sizeof *l);
	l->fd = -1;
}

/*
 * Parses and opens every spec, all or none. *out is an array of n entries
 * the caller frees with listeners_free(). A port given twice is an error.
 */
int
listeners_open(const char **specs, size_t n, const char *default_name,
    struct listener **out, char **cause)
{
	struct listener *v;
	size_t i, j;

	*out = NULL;
	v = xcalloc(n == 0 ? 1 : n, sizeof *v);
	for (i = 0; i < n; i++) {
		if (listener_parse(specs[i], default_name, &v[i], cause) == -1)
			goto fail;
		for (j = 0; j < i; j++) {
			if (v[j].addrlen == v[i].addrlen && memcmp(&v[j].addr,
			    &v[i].addr, v[i].addrlen) == 0) {
				listener_fail(cause, specs[i], "given twice");
				i++;
				goto fail;
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (listener_open(&v[i], cause) == -1) {
			i = n;
			goto fail;
		}
	}
	*out = v;
	return 0;
fail:
	listeners_free(v, i);
	return -1;
}

void
listeners_free(struct listener *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		listener_clear(&v[i]);
	free(v);
}

/* The port the app is told in PORT: the first TCP listener's, else 0. */
int
listeners_port(const struct listener *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].kind == LISTENER_TCP)
			return v[i].port;
	}
	return 0;
}

/*
 * Sets the socket-activation variables for n sockets in a json object of
 * environment changes (name -> string, or null for "unset"): LISTEN_FDS,
 * LISTEN_FDNAMES, CORRAL_LISTEN_FDS and PORT. LISTEN_PID is unset (the
 * exec wrapper sets it), and with n == 0 so are the others, so that values
 * inherited from the client's environment cannot mislead the app.
 */
void
listeners_env(const struct listener *v, size_t n, json_t *env)
{
	char buf[32], *names = NULL, *tmp;
	size_t i;
	int port;

	json_object_set_new(env, "LISTEN_PID", json_null());
	if (n == 0) {
		json_object_set_new(env, "LISTEN_FDS", json_null());
		json_object_set_new(env, "LISTEN_FDNAMES", json_null());
		json_object_set_new(env, "CORRAL_LISTEN_FDS", json_null());
		return;
	}
	snprintf(buf, sizeof buf, "%zu", n);
	json_object_set_new(env, "LISTEN_FDS", json_str(buf));
	json_object_set_new(env, "CORRAL_LISTEN_FDS", json_str(buf));
	for (i = 0; i < n; i++) {
		xasprintf(&tmp, "%s%s%s", names == NULL ? "" : names,
		    names == NULL ? "" : ":", v[i].name);
		free(names);
		names = tmp;
	}
	json_object_set_new(env, "LISTEN_FDNAMES", json_str(names));
	free(names);
	if ((port = listeners_port(v, n)) != 0) {
		snprintf(buf, sizeof buf, "%d", port);
		json_object_set_new(env, "PORT", json_str(buf));
	}
}
