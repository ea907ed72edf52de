/* SPDX-License-Identifier: ISC */
/*
 * Writing to a client connection: one reply per request (the connection
 * closes after it unless it streams), events to a streaming reader whose
 * queue is bounded (a slow reader loses events, counted and told), and
 * the close, which tells every waiting part (ops, reloads, monit) that the
 * client is gone.
 */
#include <stdlib.h>
#include <string.h>

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
	server_forget(c);
	TAILQ_REMOVE(&D.conns, c, entry);
	op_conn_gone(c);
	reload_conn_gone(c);
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
	c->replied = 1;
	c->since = mono_ms();
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

