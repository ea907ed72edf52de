/* SPDX-License-Identifier: ISC */
/*
 * The monitor's connections to the daemon: one carries the stats
 * subscription, others carry one action request each. A connection is a
 * non-blocking unix stream socket with an input buffer cut into lines; it
 * never blocks the monitor's loop except for the local connect() and the
 * short write of a request.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"
#include "monit.h"

#define MON_CONN_CHUNK 65536

/*
 * Connects to the daemon as every corral command does (ctl/client.c),
 * starting it first when start is set and nobody answers. -1 with *cause
 * (caller frees) if the daemon cannot be reached.
 */
int
mon_conn_open(struct mon_conn *c, int start, char **cause)
{
	struct client cl;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (client_connect(&cl, start, cause) == -1) {
		client_close(&cl);
		return -1;
	}
	c->fd = cl.fd;
	cl.fd = -1;
	client_close(&cl);
	return 0;
}

void
mon_conn_close(struct mon_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->off = c->len = c->cap = 0;
}

/*
 * Sends {"v":1,"cmd":cmd,"argv":argv} (argv is borrowed) and makes the
 * socket non-blocking for the reply. -1 with *cause if it cannot.
 */
int
mon_conn_send(struct mon_conn *c, const char *cmd, json_t *argv, char **cause)
{
	json_t *req;
	char *s;
	size_t len, done = 0;
	ssize_t n;
	int flags;

	req = json_pack("{s:i, s:s, s:O}", "v", PROTO_VERSION, "cmd", cmd,
	    "argv", argv);
	s = jsonb_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (s == NULL) {
		*cause = xstrdup("cannot encode request");
		return -1;
	}
	len = strlen(s);
	s[len++] = '\n';        /* json_dumps' NUL becomes the newline */
	while (done < len) {
		n = write(c->fd, s + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "write: %s", strerror(errno));
			free(s);
			return -1;
		}
		done += (size_t)n;
	}
	free(s);
	if ((flags = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		xasprintf(cause, "fcntl: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads what the socket has. Returns 1 if it read or would block, 0 at end
 * of file, -1 on an error. Lines from the daemon have no size limit (a
 * stats event of thousands of instances).
 */
int
mon_conn_read(struct mon_conn *c)
{
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	if (c->cap - c->len < MON_CONN_CHUNK + 1) {
		c->cap = c->len + MON_CONN_CHUNK + 1 > c->cap * 2 ?
		    c->len + MON_CONN_CHUNK + 1 : c->cap * 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	n = read(c->fd, c->buf + c->len, MON_CONN_CHUNK);
	if (n == -1)
		return (errno == EAGAIN || errno == EINTR) ? 1 : -1;
	if (n == 0)
		return 0;
	c->len += (size_t)n;
	return 1;
}

/*
 * The next complete line, NUL-terminated without its newline, and its
 * length in *len; NULL if none. Valid until the next mon_conn_read().
 */
char *
mon_conn_line(struct mon_conn *c, size_t *len)
{
	char *start, *nl;

	if (c->buf == NULL || c->off >= c->len)
		return NULL;
	start = c->buf + c->off;
	if ((nl = memchr(start, '\n', c->len - c->off)) == NULL)
		return NULL;
	*nl = '\0';
	*len = (size_t)(nl - start);
	c->off += *len + 1;
	return start;
}
