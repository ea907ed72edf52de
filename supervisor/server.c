/* SPDX-License-Identifier: ISC */
/*
 * The control socket: a unix stream socket in $CORRAL_HOME, mode 0600,
 * refusing peers of another uid. Each connection carries one request line
 * and gets one reply; a `logs` request turns it into a stream of events.
 * Nothing a client sends may crash or stall the daemon: lines are bounded,
 * garbage gets an error reply and a close, and a slow stream reader loses
 * events (counted) instead of growing the daemon's memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrald.h"

struct conn_write {
	uv_write_t req;
	struct conn *conn;
	char *data;
	int close_after;
};

static void
conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	monit_conn_gone(c);
	linebuf_free(&c->in);
	free(c->log_filter);
	free(c);
}

void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->streaming = 0;
	if (D.shutdown_conn == c)
		D.shutdown_conn = NULL;
	TAILQ_REMOVE(&D.conns, c, entry);
	op_conn_gone(c);
	reload_conn_gone(c);
	cfgread_conn_gone(c);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void conn_write(struct conn *, json_t *, int);

/* Tells a stream reader how many events it missed, once it caught up. */
static void
conn_send_missed(struct conn *c)
{
	json_t *m;

	m = json_pack("{s:s, s:I}", "event", "missed", "count",
	    (json_int_t)c->missed);
	c->missed = 0;
	conn_write(c, m, 0);
	json_decref(m);
}

static void
conn_written(uv_write_t *req, int status)
{
	struct conn_write *w = req->data;
	struct conn *c = w->conn;

	(void)status;
	if (w->close_after)
		conn_close(c);
	else if (c->missed > 0 && c->streaming && !c->closing &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) <
	    CONN_MAX_QUEUE / 2)
		conn_send_missed(c);
	free(w->data);
	free(w);
}

static void
conn_write(struct conn *c, json_t *msg, int close_after)
{
	struct conn_write *w;
	uv_buf_t buf;
	size_t len;

	if (c->closing)
		return;
	w = xcalloc(1, sizeof *w);
	w->conn = c;
	w->data = proto_encode(msg, &len);
	w->close_after = close_after;
	w->req.data = w;
	buf = uv_buf_init(w->data, (unsigned int)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1,
	    conn_written) != 0) {
		free(w->data);
		free(w);
		conn_close(c);
	}
}

/* Sends the reply to a request; the connection closes unless it streams. */
void
conn_reply(struct conn *c, json_t *msg)
{
	if (c == NULL) {                /* the boot file's request */
		bootfile_reply(msg);
		json_decref(msg);
		return;
	}
	conn_write(c, msg, !c->streaming);
	json_decref(msg);
}

void
conn_reply_error(struct conn *c, int exit_status, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	if (c != NULL)
		c->streaming = 0;
	conn_reply(c, proto_error(s, exit_status));
	free(s);
}

/* Queues an event on a streaming connection; a full queue drops and counts. */
void
conn_event(struct conn *c, json_t *ev)
{
	if (!c->streaming || c->closing)
		return;
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
	    CONN_MAX_QUEUE) {
		c->missed++;
		return;
	}
	if (c->missed > 0)
		conn_send_missed(c);
	conn_write(c, ev, 0);
}

void
conn_send(struct conn *c, json_t *msg)
{
	conn_write(c, msg, 0);
	json_decref(msg);
}

static void
conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	json_t *req;
	char *line, *cause = NULL;
	size_t len;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->closing)
		return;
	if (c->served)
		return;         /* one request per connection; ignore the rest */
	linebuf_append(&c->in, buf->base, (size_t)n);
	line = linebuf_line(&c->in, &len, 0);
	if (line == NULL)
		return;
	c->served = 1;
	if (len >= PROTO_MAX_LINE) {
		conn_reply_error(c, 1, "request too long (limit %d bytes)",
		    PROTO_MAX_LINE);
		return;
	}
	req = proto_decode(line, len, &cause);
	if (req == NULL) {
		conn_reply_error(c, 1, "%s", cause);
		free(cause);
		return;
	}
	cmd_dispatch(c, req);
	json_decref(req);
	/* Keep reading so a client that goes away is noticed. */
	if (!c->closing)
		uv_read_start(s, daemon_alloc, conn_read);
}

static int
server_peer_allowed(uv_pipe_t *p)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)p, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1)
		return 0;
	return cred.uid == getuid();
}

static void
server_accept(uv_stream_t *server, int status)
{
	struct conn *c;

	if (status != 0) {
		log_warnx("accept: %s", uv_strerror(status));
		return;
	}
	c = xcalloc(1, sizeof *c);
	linebuf_init(&c->in, PROTO_MAX_LINE);
	c->log_filter_id = -1;
	uv_pipe_init(D.loop, &c->pipe, 0);
	c->pipe.data = c;
	TAILQ_INSERT_TAIL(&D.conns, c, entry);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	if (!server_peer_allowed(&c->pipe)) {
		log_warnx("refused a client of another user");
		conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, daemon_alloc, conn_read);
}

int
server_listen(char **cause)
{
	mode_t old;
	int rc, fd;

	if ((fd = sdnotify_listen_fd(D.sock_path)) != -1) {
		if ((rc = uv_pipe_init(D.loop, &D.server, 0)) != 0 ||
		    (rc = uv_pipe_open(&D.server, fd)) != 0 ||
		    (rc = uv_listen((uv_stream_t *)&D.server, 128,
		    server_accept)) != 0)
			goto fail;
		D.sock_activated = 1;
		return 0;
	}
	(void)unlink(D.sock_path);
	if ((rc = uv_pipe_init(D.loop, &D.server, 0)) != 0)
		goto fail;
	old = umask(0177);
	rc = uv_pipe_bind(&D.server, D.sock_path);
	umask(old);
	if (rc != 0)
		goto fail;
	if ((rc = uv_listen((uv_stream_t *)&D.server, 128, server_accept)) != 0)
		goto fail;
	(void)chmod(D.sock_path, 0600);
	return 0;
fail:
	xasprintf(cause, "%s: %s", D.sock_path, uv_strerror(rc));
	return -1;
}

void
server_close(void)
{
	struct conn *c, *next;

	if (!uv_is_closing((uv_handle_t *)&D.server))
		uv_close((uv_handle_t *)&D.server, NULL);
	if (!D.sock_activated)
		(void)unlink(D.sock_path);
	TAILQ_FOREACH_SAFE(c, &D.conns, entry, next) {
		if (c != D.shutdown_conn)
			conn_close(c);
	}
}
