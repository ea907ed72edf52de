/* SPDX-License-Identifier: ISC */
/*
 * Bind on demand: an instance of an app in cluster mode (exec_mode
 * cluster, or more than one instance) binds an address the daemon does
 * not hold, the preload library asks over the control channel (ctlchan.c)
 * and the daemon binds it, holds it and hands it over. From then on the
 * address belongs to the app as if it had been given with --listen: every
 * instance spawned later inherits it (LISTEN_FDS), reloads keep it, and
 * it is listed in the app's `listen_bound` (describe, dump.json). A
 * resurrected app opens those again at once, when it can. PORT is never
 * set from such an address: the app chose its port itself. A daemon
 * running as root binds no privileged port on demand for an app that runs
 * as another user (that would be a way around its lack of privilege):
 * such a port must be declared (--listen).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

static int
bindreq_port(const struct sockaddr_storage *a)
{
	return a->ss_family == AF_INET ?
	    ntohs(((const struct sockaddr_in *)a)->sin_port) :
	    ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
}

/* Whether held socket l serves a bind to a (same port; same address unless
 * either is a wildcard), as the preload library matches them. */
static int
bindreq_match(const struct listener *l, const struct sockaddr_storage *a)
{
	struct in6_addr x, y;
	const struct sockaddr_storage *s[2] = { &l->addr, a };
	struct in6_addr *out[2] = { &x, &y };
	int i, any = 0, port;

	if (l->kind != LISTENER_TCP)
		return 0;
	port = bindreq_port(a);
	if (port != l->port)
		return 0;
	for (i = 0; i < 2; i++) {
		memset(out[i], 0, sizeof *out[i]);
		if (s[i]->ss_family == AF_INET6)
			*out[i] = ((const struct sockaddr_in6 *)s[i])->sin6_addr;
		else {
			out[i]->s6_addr[10] = out[i]->s6_addr[11] = 0xff;
			memcpy(&out[i]->s6_addr[12],
			    &((const struct sockaddr_in *)s[i])->sin_addr, 4);
		}
		any |= IN6_IS_ADDR_UNSPECIFIED(out[i]) ||
		    (s[i]->ss_family == AF_INET &&
		    ((const struct sockaddr_in *)s[i])->sin_addr.s_addr == 0);
	}
	return any || memcmp(&x, &y, sizeof x) == 0;
}

/* "BIND <4|6> <address> <port> <v6only>" into a listen spec and address. */
static int
bindreq_parse(const char *req, char *spec, size_t size,
    struct sockaddr_storage *a)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in *sin = (struct sockaddr_in *)a;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)a;
	int family, port, v6only;

	memset(a, 0, sizeof *a);
	if (sscanf(req, "BIND %d %46s %d %d", &family, host, &port, &v6only)
	    != 4 || port < 1 || port > 65535)
		return -1;
	if (family == 4 && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		snprintf(spec, size, "%s:%d", host, port);
		return 0;
	}
	if (family != 6 || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return -1;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		snprintf(spec, size, "%d", port);       /* dual-stack, as node */
	else
		snprintf(spec, size, "[%s]:%d", host, port);
	return 0;
}

/*
 * Serves a BIND request of an instance of app: *fd is the held socket for
 * the address (the daemon keeps it; the caller only sends it). Returns 0,
 * or an errno value: EPERM when the app is not in cluster mode (the app
 * binds by itself then), else why the address cannot be bound.
 */
int
bindreq_serve(struct app *app, const char *req, int *fd)
{
	struct sockaddr_storage a;
	struct listener l, *v;
	char spec[96], addr[128], *cause = NULL;
	size_t i;

	if (!pm2compat_cluster(&app->cfg) || app->deleted)
		return EPERM;
	if (bindreq_parse(req, spec, sizeof spec, &a) == -1)
		return EINVAL;
	if (geteuid() == 0 && (app->cfg.user != NULL || app->cfg.group != NULL)
	    && bindreq_port(&a) < 1024)
		return EACCES;
	for (i = 0; i < app->nlisteners; i++) {
		if (app->listeners[i].fd != -1 &&
		    bindreq_match(&app->listeners[i], &a)) {
			*fd = app->listeners[i].fd;
			return 0;
		}
	}
	if (app->nlisteners >= CLUSTER_MAX_LISTENERS)
		return EMFILE;
	if (listener_parse(spec, app->cfg.name, &l, &cause) == -1 ||
	    listener_open(&l, &cause) == -1) {
		log_warnx("%s: cannot bind %s on demand: %s", app->cfg.name,
		    spec, cause);
		free(cause);
		listener_clear(&l);
		return EADDRINUSE;
	}
	v = xreallocarray(app->listeners, app->nlisteners + 1, sizeof *v);
	v[app->nlisteners++] = l;
	app->listeners = v;
	json_array_append_new(app->cfg.listen_bound, json_str(spec));
	state_changed();
	listener_format(&l, addr, sizeof addr);
	log_info("%s: listening on %s (bound on demand)", app->cfg.name, addr);
	*fd = l.fd;
	return 0;
}
