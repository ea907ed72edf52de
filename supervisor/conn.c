/* SPDX-License-Identifier: ISC */
/*
 * Writing to a client connection: one reply per request (the connection
 * closes after it unless it streams), events to a streaming reader whose
 * queue is bounded (a slow reader loses events, counted and told), and
 * the close, which tells every waiting part (ops, reloads, monit) that the
 * client is gone.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "engine.h"

#define CONN_TRIM_SIZE (1024 * 1024)   /* a reply this big trims the heap */

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
	server_forget(c);
	TAILQ_REMOVE(&D.conns, c, entry);
	op_conn_gone(c);
	reload_conn_gone(c);
	cfgread_conn_gone(c);
	cmd_save_conn_gone(c);
	state_unhold(c);
	free(c->held);
	c->held = NULL;
	free(c->pending);
	c->pending = NULL;
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

/* Queues len bytes of data (taken) on c. */
static void
conn_write_raw(struct conn *c, char *data, size_t len, int close_after)
{
	struct conn_write *w;
	uv_buf_t buf;

	if (c->closing) {
		free(data);
		return;
	}
	w = xcalloc(1, sizeof *w);
	w->conn = c;
	w->data = data;
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

static void
conn_write(struct conn *c, json_t *msg, int close_after)
{
	char *line;
	size_t len;

	if (c->closing)
		return;
	line = proto_encode(msg, &len);
	conn_write_raw(c, line, len, close_after);
}

/*
 * The daemon's notice (a recovery at start-up) goes with the first
 * successful reply, as its warning, and makes the client exit
 * EXIT_RECOVERED.
 */
static void
conn_notice(json_t *msg)
{
	if (D.notice == NULL || !json_is_true(json_object_get(msg, "ok")) ||
	    json_object_get(msg, "warning") != NULL)
		return;
	json_object_set_new(msg, "warning", json_str(D.notice));
	json_object_set_new(msg, "exit", json_integer(EXIT_RECOVERED));
	free(D.notice);
	D.notice = NULL;
}

/* Queues the reply (taken); the connection closes after it unless streaming. */
static void
conn_write_reply(struct conn *c, char *data, size_t len)
{
	c->replied = 1;
	c->since = mono_ms();
	conn_write_raw(c, data, len, !c->streaming);
}

/* The reply kept back by conn_send_reply() goes: the change is on disk. */
static void
conn_release(void *arg, int rc)
{
	struct conn *c = arg;
	char *data = c->held;

	(void)rc;               /* a failed write was logged: reply anyway */
	c->held = NULL;
	conn_write_reply(c, data, c->held_len);
}

/*
 * Queues the reply to c's request (data, len bytes, taken), once
 * state.json shows what the request changed (state_hold()): a client
 * told "done" can kill the engine at once and the next one still knows.
 * A streaming reply (logs, monit) changed nothing and goes at once, so
 * that its events come after it.
 */
static void
conn_send_reply(struct conn *c, char *data, size_t len)
{
	if (c->held != NULL) {          /* a second reply: after the first */
		c->held = xrealloc(c->held, c->held_len + len);
		memcpy(c->held + c->held_len, data, len);
		c->held_len += len;
		free(data);
		return;
	}
	if (!c->streaming && !c->closing &&
	    state_hold(c->mark, conn_release, c)) {
		c->held = data;
		c->held_len = len;
		return;
	}
	conn_write_reply(c, data, len);
}

/*
 * Replies with the n instances of v as data, of kind "list" or "json",
 * with the members of head (taken; may be NULL) beside it.  The list is
 * never one JSON value: each instance is written on its own into the
 * reply line (instance-text.c), so that a list of 10,000 instances costs
 * its text (a few MiB) and not many times that in objects; a big reply
 * then gives its memory back (malloc_trim).
 */
void
conn_reply_list(struct conn *c, const char *kind, struct instance **v,
    size_t n, json_t *head)
{
	struct state_text out;
	char *line;
	size_t len, i;
	json_t *o;

	if (head == NULL)
		head = json_object();
	stats_sample_list(v, n);
	json_object_update_new(head, proto_ok(kind, NULL));
	conn_notice(head);
	if (c == NULL) {                /* the boot file's request */
		json_object_set_new(head, "data", cmd_list_json(v, n));
		conn_reply(c, head);
		return;
	}
	line = proto_encode(head, &len);
	json_decref(head);
	memset(&out, 0, sizeof out);
	/* "{...,"v":1}\n" becomes "{...,"v":1,"data":[...]}\n". */
	state_text_mem(&out, line, len - 2);
	free(line);
	state_text_mem(&out, ",\"data\":[", 9);
	for (i = 0; i < n; i++) {
		if (i > 0)
			state_text_mem(&out, ",", 1);
		if (instance_text(&out, v[i]) == 0)
			continue;
		o = instance_to_json(v[i]);     /* null, as jansson says */
		state_text_json_as(&out, o, INSTANCE_TEXT_FLAGS);
		json_decref(o);
	}
	state_text_mem(&out, "]}\n", 3);
	len = out.len;
	conn_send_reply(c, out.p, len);
	if (len > CONN_TRIM_SIZE)
		malloc_trim(0);
}

/*
 * The pending line kept back by conn_send_pending() goes, the connection
 * staying open for the reply: not after a failed write (the next engine
 * might not know the request), nor once the reply is queued or kept.
 */
static void
conn_pending_release(void *arg, int rc)
{
	struct conn *c = arg;
	char *line = c->pending;

	c->pending = NULL;
	if (rc != 0 || c->replied || c->held != NULL) {
		free(line);
		return;
	}
	conn_write_raw(c, line, c->pending_len, 0);
	fault_point(c->pending_fault);
}

/*
 * A line before the reply (op.c's and reload.c's pending line, msg
 * taken), for a client that said "resume": sent once state.json shows
 * what the request changed, as a reply is (conn_send_reply()), so that
 * an await sent to the next engine finds the request. fault names the
 * test's fault point after it (docs/HACKING.md, "Faults").
 */
void
conn_send_pending(struct conn *c, json_t *msg, const char *fault)
{
	if (c == NULL || !c->resume || c->closing || c->pending != NULL) {
		json_decref(msg);
		return;
	}
	c->pending = proto_encode(msg, &c->pending_len);
	c->pending_fault = fault;
	json_decref(msg);
	if (!state_hold(c->mark, conn_pending_release, c))
		conn_pending_release(c, 0);
}

/* Sends the reply to a request; the connection closes unless it streams. */
void
conn_reply(struct conn *c, json_t *msg)
{
	char *line;
	size_t len;

	if (c == NULL) {                /* the boot file's request */
		bootfile_reply(msg);
		json_decref(msg);
		return;
	}
	conn_notice(msg);
	if (!c->closing) {
		line = proto_encode(msg, &len);
		conn_send_reply(c, line, len);
	}
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
