/* SPDX-License-Identifier: ISC */
/*
 * Readiness of a starting instance, by its spec (readyspec.c): "none",
 * "listen" (the preload library saw the app's first listen(); READY=1
 * counts too), "notify" (READY=1 on $NOTIFY_SOCKET), "delay:DUR",
 * "tcp:..." (a connect succeeds) and "http://..." (a GET answers 2xx or
 * 3xx), retried until the timeout.
 *
 * A struct ready_wait watches one instance: it calls its callback exactly
 * once, with ok=1 or with ok=0 and the reason of a timeout, unless it is
 * cancelled first. It frees itself: after the callback has returned, or
 * after ready_cancel(), the pointer is dead. Notify and listen events are
 * fed in by the owner with ready_event().
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cluster.h"

#define READY_PROBE_INTERVAL 100        /* ms between two probe attempts */
#define READY_PROBE_ATTEMPT 2000        /* ms one attempt may take */

struct ready_probe {
	struct ready_wait *w;           /* NULL once abandoned */
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	char buf[256];
	size_t len;
};

struct ready_wait {
	uv_loop_t *loop;
	int kind;
	char *what;                     /* the spec, for messages */
	struct sockaddr_storage addr;   /* probes */
	char *request;                  /* http */
	uv_timer_t timeout;
	uv_timer_t tick;
	uint64_t timeout_ms;
	struct ready_probe *probe;      /* the attempt in flight */
	char *last_error;               /* of the last failed attempt */
	char *setup_error;              /* the probe could not be set up */
	int handles;                    /* timers not yet closed */
	int done;
	int soft;                       /* a timeout is taken as ready */
	ready_cb *cb;
	void *arg;
};

static void
ready_timer_closed(uv_handle_t *h)
{
	struct ready_wait *w = h->data;

	if (--w->handles == 0) {
		free(w->what);
		free(w->request);
		free(w->last_error);
		free(w->setup_error);
		free(w);
	}
}

static void
ready_probe_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Abandons the attempt in flight; its callbacks see p->w == NULL. */
static void
ready_probe_drop(struct ready_wait *w)
{
	struct ready_probe *p = w->probe;

	if (p == NULL)
		return;
	w->probe = NULL;
	p->w = NULL;
	uv_close((uv_handle_t *)&p->tcp, ready_probe_closed);
}

/* Ends the wait: no callback after this, the memory goes with the timers. */
static void
ready_stop(struct ready_wait *w)
{
	w->done = 1;
	ready_probe_drop(w);
	uv_close((uv_handle_t *)&w->timeout, ready_timer_closed);
	uv_close((uv_handle_t *)&w->tick, ready_timer_closed);
}

static void
ready_finish(struct ready_wait *w, int ok, const char *reason)
{
	ready_cb *cb = w->cb;
	void *arg = w->arg;

	if (w->done)
		return;
	ready_stop(w);
	cb(arg, ok, reason);
}

void
ready_cancel(struct ready_wait *w)
{
	if (w != NULL && !w->done)
		ready_stop(w);
}

/*
 * Whether w waits for what the process says once (a next engine would
 * not hear it again), rather than for what it can probe or time.
 */
int
ready_said(const struct ready_wait *w)
{
	return w->kind == READY_NOTIFY || w->kind == READY_MESSAGE ||
	    w->kind == READY_LISTEN;
}

void
ready_event(struct ready_wait *w, int event)
{
	if (w == NULL || w->done)
		return;
	if ((w->kind == READY_NOTIFY && event == READY_EVENT_READY) ||
	    (w->kind == READY_MESSAGE && event == READY_EVENT_MESSAGE) ||
	    (w->kind == READY_LISTEN && (event == READY_EVENT_READY ||
	    event == READY_EVENT_LISTEN)))
		ready_finish(w, 1, NULL);
}

static void ready_tick(uv_timer_t *);
static void ready_attempt_failed(struct ready_wait *, const char *);

/* Arms one of w's timers; a failure (a closing handle) is only logged. */
static void
ready_timer(uv_timer_t *t, uv_timer_cb cb, uint64_t ms)
{
	int r;

	if ((r = uv_timer_start(t, cb, ms, 0)) != 0)
		log_warnx("readiness timer: %s", uv_strerror(r));
}

/*
 * The probe p of a callback with this status: its wait, or NULL when the
 * attempt was abandoned or failed (then counted as failed).
 */
static struct ready_wait *
ready_probe_wait(struct ready_probe *p, int status)
{
	struct ready_wait *w = p->w;

	if (w != NULL && status < 0) {
		ready_attempt_failed(w, uv_strerror(status));
		return NULL;
	}
	return w;
}

static void
ready_attempt_failed(struct ready_wait *w, const char *why)
{
	free(w->last_error);
	w->last_error = xstrdup(why);
	ready_probe_drop(w);
	ready_timer(&w->tick, ready_tick, READY_PROBE_INTERVAL);
}

static void
ready_http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ready_probe *p = s->data;
	struct ready_wait *w = p->w;
	char *nl;
	int status;

	(void)buf;
	if (w == NULL)
		return;
	if (n < 0) {
		ready_attempt_failed(w, n == UV_EOF ?
		    "connection closed before an answer" : uv_strerror((int)n));
		return;
	}
	p->len += (size_t)n;
	p->buf[p->len] = '\0';
	if ((nl = strchr(p->buf, '\n')) == NULL) {
		if (p->len == sizeof p->buf - 1)
			ready_attempt_failed(w, "bad HTTP answer");
		return;
	}
	*nl = '\0';
	if (sscanf(p->buf, "HTTP/%*d.%*d %d", &status) != 1)
		ready_attempt_failed(w, "bad HTTP answer");
	else if (status >= 200 && status < 400)
		ready_finish(w, 1, NULL);
	else {
		char why[32];
		snprintf(why, sizeof why, "HTTP status %d", status);
		ready_attempt_failed(w, why);
	}
}

static void
ready_http_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct ready_probe *p = h->data;

	(void)hint;
	buf->base = p->buf + p->len;
	buf->len = sizeof p->buf - 1 - p->len;
}

static void
ready_http_written(uv_write_t *req, int status)
{
	struct ready_probe *p = req->data;
	struct ready_wait *w;
	int r;

	if ((w = ready_probe_wait(p, status)) == NULL)
		return;
	r = uv_read_start((uv_stream_t *)&p->tcp, ready_http_alloc,
	    ready_http_read);
	if (r != 0)
		ready_attempt_failed(w, uv_strerror(r));
}

static void
ready_connected(uv_connect_t *req, int status)
{
	struct ready_probe *p = req->data;
	struct ready_wait *w;
	uv_buf_t b;
	int r;

	if ((w = ready_probe_wait(p, status)) == NULL)
		return;
	if (w->kind == READY_TCP) {
		ready_finish(w, 1, NULL);
		return;
	}
	b = uv_buf_init(w->request, (unsigned int)strlen(w->request));
	p->write.data = p;
	r = uv_write(&p->write, (uv_stream_t *)&p->tcp, &b, 1,
	    ready_http_written);
	if (r != 0)
		ready_attempt_failed(w, uv_strerror(r));
}

/* Starts one probe attempt; the tick timer bounds how long it may take. */
static void
ready_attempt(struct ready_wait *w)
{
	struct ready_probe *p;
	int r;

	if (w->done)
		return;
	if (w->probe != NULL) {
		ready_attempt_failed(w, "no answer in time");
		return;
	}
	p = xcalloc(1, sizeof *p);
	p->w = w;
	if ((r = uv_tcp_init(w->loop, &p->tcp)) != 0) {
		free(p);
		ready_attempt_failed(w, uv_strerror(r));
		return;
	}
	p->tcp.data = p;
	p->connect.data = p;
	w->probe = p;
	r = uv_tcp_connect(&p->connect, &p->tcp, (struct sockaddr *)&w->addr,
	    ready_connected);
	if (r != 0) {
		ready_attempt_failed(w, uv_strerror(r));
		return;
	}
	ready_timer(&w->tick, ready_tick, READY_PROBE_ATTEMPT);
}

static void
ready_timed_out(uv_timer_t *t)
{
	struct ready_wait *w = t->data;
	char dur[32], *reason;

	format_duration(w->timeout_ms, dur, sizeof dur);
	if (w->soft) {
		ready_finish(w, 1, NULL);
		return;
	}
	if (w->probe != NULL && w->last_error == NULL)
		xasprintf(&reason, "not ready after %s (%s: no answer)", dur,
		    w->what);
	else if (w->last_error != NULL)
		xasprintf(&reason, "not ready after %s (%s: %s)", dur, w->what,
		    w->last_error);
	else if (w->kind == READY_NOTIFY)
		xasprintf(&reason, "not ready after %s (no READY=1 on "
		    "NOTIFY_SOCKET)", dur);
	else if (w->kind == READY_LISTEN)
		xasprintf(&reason, "not ready after %s (no listen() seen)",
		    dur);
	else if (w->kind == READY_MESSAGE)
		xasprintf(&reason, "not ready after %s (no process.send('ready'))",
		    dur);
	else
		xasprintf(&reason, "not ready after %s (%s)", dur, w->what);
	ready_finish(w, 0, reason);
	free(reason);
}

static void
ready_tick(uv_timer_t *t)
{
	struct ready_wait *w = t->data;

	if (w->setup_error != NULL)
		ready_finish(w, 0, w->setup_error);
	else if (w->kind == READY_TCP || w->kind == READY_HTTP)
		ready_attempt(w);
	else
		ready_finish(w, 1, NULL);
}

/* The probe's address, with $VAR ports read from env (name -> string). */
static int
ready_resolve(struct ready_wait *w, const struct ready_spec *r, json_t *env,
    char **cause)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&w->addr;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&w->addr;
	const char *v = NULL;
	long long n;
	int port = r->port;

	if (r->port_var != NULL) {
		if (env != NULL)
			v = json_string_value(json_object_get(env, r->port_var));
		if (v == NULL || parse_int(v, 1, 65535, &n, NULL) == -1) {
			xasprintf(cause, "readiness %s: $%s is not a port in the "
			    "app's environment", r->text, r->port_var);
			return -1;
		}
		port = (int)n;
	}
	memset(&w->addr, 0, sizeof w->addr);
	if (inet_pton(AF_INET, r->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, r->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		xasprintf(cause, "readiness %s: bad host", r->text);
		return -1;
	}
	if (r->kind == READY_HTTP) {
		xasprintf(&w->request, "GET %s HTTP/1.0\r\nHost: %s:%d\r\n"
		    "User-Agent: corral\r\nConnection: close\r\n\r\n", r->path,
		    r->host, port);
	}
	return 0;
}

/*
 * Starts watching: timeout_ms bounds the wait (0: none). env is the
 * instance's environment, for $VAR ports. A probe that cannot be set up
 * (no such variable) fails from the loop with that reason: cb is never
 * called before ready_start() has returned.
 */
struct ready_wait *
ready_start(uv_loop_t *loop, const struct ready_spec *r, json_t *env,
    uint64_t timeout_ms, ready_cb *cb, void *arg)
{
	struct ready_wait *w;
	uint64_t first = 0;

	w = xcalloc(1, sizeof *w);
	w->loop = loop;
	w->kind = r->kind;
	w->what = xstrdup(r->text != NULL ? r->text : "none");
	w->timeout_ms = timeout_ms;
	w->soft = r->soft;
	w->cb = cb;
	w->arg = arg;
	if (r->kind == READY_TCP || r->kind == READY_HTTP)
		(void)ready_resolve(w, r, env, &w->setup_error);
	timer_init(loop, &w->timeout);
	timer_init(loop, &w->tick);
	w->handles = 2;
	w->timeout.data = w;
	w->tick.data = w;
	if (timeout_ms > 0)
		ready_timer(&w->timeout, ready_timed_out, timeout_ms);
	if (r->kind == READY_DELAY)
		first = r->delay_ms;
	if (w->setup_error != NULL)
		first = 0;
	if (w->setup_error != NULL ||
	    (r->kind != READY_LISTEN && r->kind != READY_NOTIFY &&
	    r->kind != READY_MESSAGE))
		ready_timer(&w->tick, ready_tick, first);
	return w;
}
