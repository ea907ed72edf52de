/* SPDX-License-Identifier: ISC */
/*
 * The control socket: a unix stream socket in $CORRAL_HOME, mode 0600,
 * refusing peers of another uid (they are told why). Each connection
 * carries one request line and gets one reply; a `logs` request turns it
 * into a stream of events (conn.c). Nothing a client sends may crash or
 * stall the daemon: a request is bounded (PROTO_MAX_LINE) and must come
 * whole within SERVER_REQUEST_MS, the partial requests of all connections
 * together are bounded too (the oldest waiting connection goes first),
 * garbage gets an error reply and a close, and a client that does not
 * take its reply is let go after SERVER_REPLY_MS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/* The keeper's tag of the control socket. */
#define SERVER_TAG "control"

#define SERVER_REQUEST_MS 10000         /* to send a whole request */
#define SERVER_REPLY_MS 60000           /* to take a reply (not a stream) */
#define SERVER_MAX_PENDING 256          /* connections without a request */
#define SERVER_MAX_BUFFERED (8 << 20)   /* their partial requests, bytes */
#define SERVER_SWEEP_MS 1000
#define SERVER_BACKLOG 1024

static uv_timer_t server_timer;
static size_t server_pending;           /* connections not served yet */
static size_t server_buffered;          /* bytes of their partial lines */

/* The connection's request was read (or it goes): it no longer counts. */
void
server_forget(struct conn *c)
{
	if (c->served)
		return;
	c->served = 1;
	server_pending--;
	server_buffered -= c->in.len;
	linebuf_free(&c->in);
}

static void
server_refuse(struct conn *c, const char *why)
{
	server_forget(c);
	conn_reply_error(c, 1, "%s", why);
}

static void
server_request(struct conn *c, const char *line, size_t len)
{
	json_t *req;
	char *cause = NULL;

	if (c->refused) {
		conn_reply_error(c, 1, "permission denied: this daemon serves "
		    "uid %d only", (int)getuid());
		return;
	}
	if (len >= PROTO_MAX_LINE) {
		conn_reply_error(c, 1, "request too long (limit %d bytes)",
		    PROTO_MAX_LINE);
		return;
	}
	if ((req = proto_decode(line, len, &cause)) == NULL) {
		conn_reply_error(c, 1, "%s", cause);
		free(cause);
		return;
	}
	cmd_dispatch(c, req);
	json_decref(req);
}

/* The oldest connection still sending its request goes; 0 if none. */
static int
server_evict_oldest(struct conn *except)
{
	struct conn *c;

	TAILQ_FOREACH(c, &D.conns, entry) {
		if (!c->served && !c->closing && c != except) {
			server_refuse(c, "the daemon is busy: too many clients "
			    "sending requests");
			return 1;
		}
	}
	return 0;
}

static void
conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	char *line;
	size_t len;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0 || c->closing || c->served)
		return;         /* one request per connection; ignore the rest */
	while (server_buffered + (size_t)n > SERVER_MAX_BUFFERED &&
	    server_evict_oldest(c))
		;
	if (server_buffered + (size_t)n > SERVER_MAX_BUFFERED) {
		server_refuse(c, "the daemon is busy: too many partial "
		    "requests pending");
		return;
	}
	linebuf_append(&c->in, buf->base, (size_t)n);
	server_buffered += (size_t)n;
	if ((line = linebuf_line(&c->in, &len, 0)) == NULL)
		return;
	/* line stays valid: forgetting the buffer comes after the request. */
	server_buffered -= c->in.len;
	server_pending--;
	c->served = 1;
	c->mark = state_mark();
	server_request(c, line, len);
	linebuf_free(&c->in);
}

/*
 * Once a second while there are clients: one that did not send its whole
 * request in time, or did not take its reply, is let go. With none left
 * the timer stops (idle means idle); the next accept starts it.
 */
static void
server_sweep(uv_timer_t *t)
{
	struct conn *c, *next;
	uint64_t now = mono_ms();

	(void)t;
	TAILQ_FOREACH_SAFE(c, &D.conns, entry, next) {
		if (c->closing)
			continue;
		if (!c->served && now - c->since > SERVER_REQUEST_MS)
			server_refuse(c, "no complete request in time");
		else if (c->replied && !c->streaming &&
		    now - c->since > SERVER_REPLY_MS)
			conn_close(c);
	}
	if (TAILQ_EMPTY(&D.conns))
		(void)uv_timer_stop(t); /* always 0 */
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
	int rc;

	if (status != 0) {
		log_warnx("accept: %s", uv_strerror(status));
		return;
	}
	if (server_pending >= SERVER_MAX_PENDING)
		server_evict_oldest(NULL);
	c = xcalloc(1, sizeof *c);
	linebuf_init(&c->in, PROTO_MAX_LINE);
	c->log_filter_id = -1;
	c->since = mono_ms();
	if ((rc = uv_pipe_init(D.loop, &c->pipe, 0)) != 0)
		log_warnx("uv_pipe_init: %s", uv_strerror(rc)); /* never on Unix */
	c->pipe.data = c;
	TAILQ_INSERT_TAIL(&D.conns, c, entry);
	server_pending++;
	if (!uv_is_active((uv_handle_t *)&server_timer) &&
	    !uv_is_closing((uv_handle_t *)&server_timer))
		(void)timer_start(&server_timer, server_sweep,
		    SERVER_SWEEP_MS, SERVER_SWEEP_MS);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_close(c);
		return;
	}
	/* Told why, once it has sent its request (see server_request). */
	if (!server_peer_allowed(&c->pipe)) {
		log_warnx("refused a client of another user");
		c->refused = 1;
	}
	if (uv_read_start((uv_stream_t *)&c->pipe, daemon_alloc,
	    conn_read) != 0)
		conn_close(c);
}

/* The sweep's timer, started by the first client (server_accept()). */
static int
server_start_sweep(void)
{
	int rc;

	if ((rc = uv_timer_init(D.loop, &server_timer)) != 0)
		return rc;
	uv_unref((uv_handle_t *)&server_timer);
	return 0;
}

int
server_listen(char **cause)
{
	mode_t old;
	int rc, fd, taken;

	taken = (fd = engine_take(SERVER_TAG)) != -1;
	if (taken || (fd = sdnotify_listen_fd(D.sock_path)) != -1) {
		if ((rc = uv_pipe_init(D.loop, &D.server, 0)) != 0 ||
		    (rc = uv_pipe_open(&D.server, fd)) != 0 ||
		    (rc = uv_listen((uv_stream_t *)&D.server, SERVER_BACKLOG,
		    server_accept)) != 0 || (rc = server_start_sweep()) != 0)
			goto fail;
		D.sock_activated = !taken;
		if (!taken)     /* systemd's: the later engines take it back */
			engine_hold(SERVER_TAG, fd);
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
	if ((rc = uv_listen((uv_stream_t *)&D.server, SERVER_BACKLOG,
	    server_accept)) != 0)
		goto fail;
	(void)chmod(D.sock_path, 0600);
	if ((rc = server_start_sweep()) != 0)
		goto fail;
	/* clients wait in its backlog while no engine runs */
	if (uv_fileno((uv_handle_t *)&D.server, &fd) == 0)
		engine_hold(SERVER_TAG, fd);
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
	if (!uv_is_closing((uv_handle_t *)&server_timer))
		uv_close((uv_handle_t *)&server_timer, NULL);
	if (!D.sock_activated)
		(void)unlink(D.sock_path);
	TAILQ_FOREACH_SAFE(c, &D.conns, entry, next) {
		if (!c->kill_waiting)
			conn_close(c);
	}
}
