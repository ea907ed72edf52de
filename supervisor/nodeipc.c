/* SPDX-License-Identifier: ISC */
/*
 * The Node IPC channel PM2 gives node apps: a node app (run by the node
 * interpreter, or with wait_ready) is spawned with a socket at
 * NODE_CHANNEL_FD and NODE_CHANNEL_SERIALIZATION_MODE=json, so node sets
 * up process.send() and process.on('message') as under PM2, and an app
 * that calls process.send() never crashes for lack of it. Messages are
 * JSON lines. process.send('ready') is the "message" readiness source
 * (wait_ready); with shutdown_with_message the daemon sends 'shutdown'
 * instead of the kill signal (fsm.c). Other messages are ignored.
 */
#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

#define NODEIPC_TAG "ipc"               /* the keeper's: ipc/<child tag> */
#define NODEIPC_MAX_LINE (64 * 1024)    /* a longer message is cut, ignored */

struct nodeipc {
	uv_pipe_t pipe;
	struct linebuf lb;
	struct child *child;            /* NULL once closed */
	int app_fd;                     /* the app's end until it runs */
	int reading;
};

struct nodeipc_write {
	uv_write_t req;
	char *data;
};

static void
nodeipc_closed(uv_handle_t *h)
{
	struct nodeipc *n = h->data;

	linebuf_free(&n->lb);
	free(n);
}

static void nodeipc_read(uv_stream_t *, ssize_t, const uv_buf_t *);

/* The channel of child on fd (the daemon's end; taken), not yet read. */
static struct nodeipc *
nodeipc_new(struct child *child, int fd)
{
	struct nodeipc *n = xcalloc(1, sizeof *n);

	n->app_fd = -1;
	if (uv_pipe_init(D.loop, &n->pipe, 0) != 0 ||
	    uv_pipe_open(&n->pipe, fd) != 0) {
		log_warnx("%s: no Node IPC channel", child->app->cfg.name);
		close(fd);
		free(n);        /* a pipe that did not open holds nothing */
		return NULL;
	}
	n->pipe.data = n;
	n->child = child;
	linebuf_init(&n->lb, NODEIPC_MAX_LINE);
	child->ipc = n;
	return n;
}

/*
 * Adds the channel to the plan of a spawn of child when its app wants
 * one: a socketpair whose app end goes last in p->fds (which has room),
 * env gets the variables.
 */
void
nodeipc_prepare(struct child *child, struct spawn_plan *p, json_t *env)
{
	const struct app_config *c = &child->app->cfg;
	struct nodeipc *n;
	int sp[2];

	json_object_set_new(env, "NODE_CHANNEL_FD", json_null());
	json_object_set_new(env, "NODE_CHANNEL_SERIALIZATION_MODE",
	    json_null());
	if (!pm2compat_is_node(c) && !c->wait_ready)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: no Node IPC channel: socketpair", c->name);
		return;
	}
	if ((n = nodeipc_new(child, sp[0])) == NULL) {
		close(sp[1]);
		return;
	}
	n->app_fd = sp[1];
	json_object_set_new(env, "NODE_CHANNEL_FD", json_sprintf("%zu",
	    3 + p->nfds));
	json_object_set_new(env, "NODE_CHANNEL_SERIALIZATION_MODE",
	    json_str("json"));
	p->fds[p->nfds++] = sp[1];
}

/* Reads the channel; the keeper keeps its end for later engines. */
static void
nodeipc_start(struct nodeipc *n)
{
	if (uv_read_start((uv_stream_t *)&n->pipe, daemon_alloc,
	    nodeipc_read) == 0)
		n->reading = 1;
}

static void
nodeipc_message(struct nodeipc *n, const char *line, size_t len)
{
	struct instance *inst = n->child != NULL ? n->child->inst : NULL;
	json_t *msg = json_loadb(line, len, JSON_DECODE_ANY, NULL);

	if (inst != NULL && json_is_string(msg) &&
	    strcmp(json_string_value(msg), "ready") == 0) {
		log_debug("%s[%d]: process.send('ready')", inst->app->cfg.name,
		    inst->index);
		ready_event(inst->ready, READY_EVENT_MESSAGE);
	}
	json_decref(msg);
}

static void
nodeipc_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct nodeipc *n = s->data;
	char *line;
	size_t len;

	if (nread < 0) {
		(void)uv_read_stop(s); /* always 0 */
		n->reading = 0;
		return;
	}
	linebuf_append(&n->lb, buf->base, (size_t)nread);
	while ((line = linebuf_line(&n->lb, &len, 0)) != NULL) {
		nodeipc_message(n, line, len);
		linebuf_consume(&n->lb, len);
	}
}

void
nodeipc_spawned(struct child *child)
{
	struct nodeipc *n = child->ipc;
	uv_os_fd_t fd;

	if (n == NULL)
		return;
	close(n->app_fd);
	n->app_fd = -1;
	if (uv_fileno((uv_handle_t *)&n->pipe, &fd) == 0)
		engine_hold_child(NODEIPC_TAG, child, fd);
	nodeipc_start(n);
}

/* An adopted process: its channel again, if the keeper held one. */
void
nodeipc_adopt(struct child *child)
{
	struct nodeipc *n;
	int fd;

	if ((fd = engine_take_child(NODEIPC_TAG, child->tag)) == -1 ||
	    (n = nodeipc_new(child, fd)) == NULL)
		return;
	nodeipc_start(n);
}

void
nodeipc_close(struct child *child)
{
	struct nodeipc *n = child->ipc;

	if (n == NULL)
		return;
	if (n->app_fd >= 0)
		close(n->app_fd);
	n->app_fd = -1;
	engine_release_child(NODEIPC_TAG, child);
	child->ipc = NULL;
	n->child = NULL;
	uv_close((uv_handle_t *)&n->pipe, nodeipc_closed);
}

static void
nodeipc_written(uv_write_t *req, int status)
{
	struct nodeipc_write *w = req->data;

	(void)status;
	free(w->data);
	free(w);
}

/* Sends the JSON message msg (e.g. "\"shutdown\""); 0, or -1 without channel. */
int
nodeipc_send(struct child *child, const char *msg)
{
	struct nodeipc *n = child != NULL ? child->ipc : NULL;
	struct nodeipc_write *w;
	uv_buf_t buf;

	if (n == NULL || !n->reading)
		return -1;
	w = xcalloc(1, sizeof *w);
	xasprintf(&w->data, "%s\n", msg);
	w->req.data = w;
	buf = uv_buf_init(w->data, (unsigned int)strlen(w->data));
	if (uv_write(&w->req, (uv_stream_t *)&n->pipe, &buf, 1,
	    nodeipc_written) != 0) {
		free(w->data);
		free(w);
		return -1;
	}
	return 0;
}
