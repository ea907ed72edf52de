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
 *
 * The channel is read as the notify socket is (notify.c): with E.replay
 * its lines are peeked (MSG_PEEK), handled, then taken off, so a 'ready'
 * that an engine read and died before handling waits for the next engine
 * (what it did for 'ready' the keeper keeps: engine_mark_ready()).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

#define NODEIPC_TAG "ipc"               /* the keeper's: ipc/<child tag> */
#define NODEIPC_MAX_LINE (64 * 1024)    /* a longer message is cut, ignored */
#define NODEIPC_READ (16 * 1024)        /* read (or peeked) at a time */

struct nodeipc {
	uv_poll_t poll;
	struct linebuf lb;
	struct child *child;            /* NULL once closed */
	int fd;                         /* the daemon's end */
	int app_fd;                     /* the app's end until it runs */
	int reading;
};

static void
nodeipc_closed(uv_handle_t *h)
{
	struct nodeipc *n = h->data;

	close(n->fd);
	linebuf_free(&n->lb);
	free(n);
}

/* The channel of child on fd (the daemon's end; taken), not yet read. */
static struct nodeipc *
nodeipc_new(struct child *child, int fd)
{
	struct nodeipc *n = xcalloc(1, sizeof *n);

	n->app_fd = -1;
	if (uv_poll_init(D.loop, &n->poll, fd) != 0) {
		log_warnx("%s: no Node IPC channel", child->app->cfg.name);
		close(fd);
		free(n);        /* a handle that did not init holds nothing */
		return NULL;
	}
	n->fd = fd;
	n->poll.data = n;
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

/* A test's fault (fault_point()) at stage of what says 'ready'. */
static void
nodeipc_fault(const char *stage, const char *buf, size_t len)
{
	char point[48];

	if (!fault_wanted() || memmem(buf, len, "\"ready\"", 7) == NULL)
		return;
	snprintf(point, sizeof point, "nodeipc %s ready", stage);
	fault_point(point);
}

/*
 * How much of the len bytes read at buf to take: through the last
 * newline when peeking (a line cut short stays for the next read), all
 * of them when not, or when they hold no newline (the poll would report
 * them for ever: that part of a line is read, not peeked).
 */
static size_t
nodeipc_take(const char *buf, size_t len)
{
	const char *nl;

	if (!E.replay || (nl = memrchr(buf, '\n', len)) == NULL)
		return len;
	return (size_t)(nl - buf) + 1;
}

static void
nodeipc_stop(struct nodeipc *n)
{
	(void)uv_poll_stop(&n->poll);   /* always 0 */
	n->reading = 0;
}

static void
nodeipc_read(uv_poll_t *h, int status, int events)
{
	struct nodeipc *n = h->data;
	char buf[NODEIPC_READ], *line;
	ssize_t got;
	size_t len, take;

	(void)events;
	got = status < 0 ? -1 : recv(n->fd, buf, sizeof buf, MSG_DONTWAIT |
	    (E.replay ? MSG_PEEK : 0));
	if (got == -1 && status == 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {                 /* the end, or an error */
		nodeipc_stop(n);
		return;
	}
	take = nodeipc_take(buf, (size_t)got);
	nodeipc_fault("read", buf, take);
	linebuf_append(&n->lb, buf, take);
	while ((line = linebuf_line(&n->lb, &len, 0)) != NULL) {
		nodeipc_message(n, line, len);
		linebuf_consume(&n->lb, len);
	}
	nodeipc_fault("handled", buf, take);
	if (E.replay)
		while (recv(n->fd, buf, take, MSG_DONTWAIT) == -1 &&
		    errno == EINTR)
			continue;
	nodeipc_fault("consumed", buf, take);
}

/* Reads the channel; the keeper keeps its end for later engines. */
static void
nodeipc_start(struct nodeipc *n)
{
	if (uv_poll_start(&n->poll, UV_READABLE, nodeipc_read) == 0)
		n->reading = 1;
}

void
nodeipc_spawned(struct child *child)
{
	struct nodeipc *n = child->ipc;

	if (n == NULL)
		return;
	close(n->app_fd);
	n->app_fd = -1;
	engine_hold_child(NODEIPC_TAG, child, n->fd);
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
	uv_close((uv_handle_t *)&n->poll, nodeipc_closed);
}

/*
 * Sends the JSON message msg (e.g. "\"shutdown\""); 0, or -1 without a
 * channel or when the app's side has no room (it reads none).
 */
int
nodeipc_send(struct child *child, const char *msg)
{
	struct nodeipc *n = child != NULL ? child->ipc : NULL;
	char line[64];
	ssize_t sent;
	int len;

	if (n == NULL || !n->reading || (len = snprintf(line, sizeof line,
	    "%s\n", msg)) >= (int)sizeof line)
		return -1;
	while ((sent = send(n->fd, line, (size_t)len, MSG_DONTWAIT |
	    MSG_NOSIGNAL)) == -1 && errno == EINTR)
		continue;
	return sent == len ? 0 : -1;
}
