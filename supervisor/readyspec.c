/* SPDX-License-Identifier: ISC */
/*
 * Readiness specs (--ready), as a person writes them: "none", "listen",
 * "notify", "message" (a node app's process.send('ready')), "delay:DUR", "tcp:[HOST:]PORT" and "http://HOST[:PORT][/PATH]",
 * HOST numeric (or localhost: the daemon resolves no names) and PORT a
 * number or "$VAR"/"${VAR}", read from the instance's environment when the
 * wait starts (ready.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cluster.h"

static int
ready_fail(char **cause, const char *spec, const char *why)
{
	if (cause != NULL)
		xasprintf(cause, "invalid readiness '%s': %s", spec, why);
	return -1;
}

/* "NUMBER", "$VAR" or "${VAR}" into *port or *var. */
static int
ready_parse_port(const char *s, size_t len, int *port, char **var)
{
	char buf[64];
	long long n;
	size_t i;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '$') {
		s = buf + 1;
		len--;
		if (*s == '{') {
			if (len < 3 || buf[len] != '}')
				return -1;
			s++;
			len -= 2;
		}
		for (i = 0; i < len; i++) {
			if (!isalnum((unsigned char)s[i]) && s[i] != '_')
				return -1;
		}
		if (len == 0)
			return -1;
		*var = xstrndup(s, len);
		return 0;
	}
	if (parse_int(buf, 1, 65535, &n, NULL) == -1)
		return -1;
	*port = (int)n;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT" or "PORT" (default_port < 0: PORT needed). */
static int
ready_parse_hostport(const char *s, size_t len, struct ready_spec *r,
    int default_port)
{
	const char *colon = NULL, *p;
	size_t hlen;

	if (len > 0 && s[0] == '[') {
		p = memchr(s, ']', len);
		if (p == NULL)
			return -1;
		hlen = (size_t)(p - s - 1);
		r->host = xstrndup(s + 1, hlen);
		if (p + 1 == s + len)
			colon = NULL;
		else if (p[1] == ':')
			colon = p + 1;
		else
			return -1;
	} else {
		for (p = s; p < s + len; p++) {
			if (*p == ':')
				colon = p;
		}
		if (colon == NULL && default_port < 0) {
			/* "tcp:PORT" */
			r->host = xstrdup("127.0.0.1");
			return ready_parse_port(s, len, &r->port, &r->port_var);
		}
		hlen = colon != NULL ? (size_t)(colon - s) : len;
		r->host = xstrndup(s, hlen);
	}
	if (strcmp(r->host, "localhost") == 0) {
		free(r->host);
		r->host = xstrdup("127.0.0.1");
	}
	if (colon == NULL) {
		if (default_port < 0)
			return -1;
		r->port = default_port;
		return 0;
	}
	return ready_parse_port(colon + 1, (size_t)(s + len - colon - 1),
	    &r->port, &r->port_var);
}

static int
ready_check_host(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1 ? 0 : -1;
}

int
ready_parse(const char *spec, struct ready_spec *r, char **cause)
{
	const char *s, *slash;

	memset(r, 0, sizeof *r);
	if (strcmp(spec, "none") == 0)
		r->kind = READY_NONE;
	else if (strcmp(spec, "listen") == 0)
		r->kind = READY_LISTEN;
	else if (strcmp(spec, "notify") == 0)
		r->kind = READY_NOTIFY;
	else if (strcmp(spec, "message") == 0)
		r->kind = READY_MESSAGE;
	else if (strncmp(spec, "delay:", 6) == 0) {
		r->kind = READY_DELAY;
		if (parse_duration(spec + 6, &r->delay_ms, NULL) == -1)
			return ready_fail(cause, spec, "bad duration");
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		r->kind = READY_TCP;
		s = spec + 4;
		if (ready_parse_hostport(s, strlen(s), r, -1) == -1 ||
		    ready_check_host(r->host) == -1) {
			ready_spec_clear(r);
			return ready_fail(cause, spec, "expected tcp:[HOST:]PORT "
			    "with a numeric HOST");
		}
	} else if (strncmp(spec, "http://", 7) == 0) {
		r->kind = READY_HTTP;
		s = spec + 7;
		slash = strchr(s, '/');
		if (slash == NULL)
			slash = s + strlen(s);
		if (ready_parse_hostport(s, (size_t)(slash - s), r, 80) == -1 ||
		    ready_check_host(r->host) == -1) {
			ready_spec_clear(r);
			return ready_fail(cause, spec, "expected http://HOST"
			    "[:PORT]/PATH with a numeric HOST");
		}
		r->path = xstrdup(*slash == '\0' ? "/" : slash);
		if (strpbrk(r->path, " \r\n") != NULL) {
			ready_spec_clear(r);
			return ready_fail(cause, spec, "bad path");
		}
	} else
		return ready_fail(cause, spec, "expected none, listen, notify, "
		    "message, delay:DUR, tcp:[HOST:]PORT or "
		    "http://HOST[:PORT]/PATH");
	r->text = xstrdup(spec);
	return 0;
}

void
ready_spec_clear(struct ready_spec *r)
{
	free(r->text);
	free(r->host);
	free(r->port_var);
	free(r->path);
	memset(r, 0, sizeof *r);
}
