/* SPDX-License-Identifier: ISC */
/*
 * corrald's HTTP endpoint (--metrics ADDR, CORRAL_METRICS): libmicrohttpd
 * run by the daemon's own libuv loop, with no thread of its own. MHD is in
 * its external epoll mode: its epoll descriptor is watched by a uv_poll_t,
 * MHD_run() runs when that is readable, and a uv_timer follows
 * MHD_get_timeout() for pending work and connection timeouts. A handler
 * builds its whole answer on the loop and hands the buffer over; MHD sends
 * it with non-blocking writes as the client reads, so a slow or stuck
 * client costs one of HTTPD_MAX_CONNS slots until HTTPD_TIMEOUT_S, never
 * the loop. Only GET and HEAD are served.
 *
 * Why libmicrohttpd: a maintained HTTP/1.1 server library in Debian that
 * parses requests (and refuses malformed ones) for us and can be driven
 * from an outside event loop without threads. It is loaded when the
 * endpoint starts (dynlib.h), so a daemon without --metrics does not carry
 * it, nor the TLS libraries it pulls in.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "corrald.h"
#include "dynlib.h"

#define HTTPD_MHD_SONAME "libmicrohttpd.so.12"

#define HTTPD_MAX_CONNS 32
#define HTTPD_TIMEOUT_S 10
#define HTTPD_BACKLOG 64

struct httpd_request {
	struct MHD_Connection *conn;
};

typedef void httpd_handler(struct httpd_request *, struct httpd_reply *);

static void httpd_index(struct httpd_request *, struct httpd_reply *);

static const struct {
	const char *path;
	httpd_handler *fn;
} httpd_routes[] = {
	{ "/metrics", metrics_serve },
	{ "/healthz", probez_healthz },
	{ "/readyz", probez_readyz },
	{ "/", httpd_index },
};

static struct {
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	int open;                       /* poll and timer initialised */
	char addr[80];                  /* as bound, port resolved */
} httpd;

/* libmicrohttpd's functions, once httpd_load() has run. */
static struct {
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_create_response_from_buffer) *create_response;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_set_panic_func) *set_panic_func;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_stop_daemon) *stop_daemon;
} mhd;

#define HTTPD_SYM(field, name) DYNLIB_SYM(mhd, field, name)

static int
httpd_load(char **cause)
{
	static const struct dynlib_sym syms[] = {
		HTTPD_SYM(lookup_connection_value,
		    "MHD_lookup_connection_value"),
		HTTPD_SYM(run, "MHD_run"),
		HTTPD_SYM(get_timeout, "MHD_get_timeout"),
		HTTPD_SYM(create_response, "MHD_create_response_from_buffer"),
		HTTPD_SYM(add_response_header, "MHD_add_response_header"),
		HTTPD_SYM(queue_response, "MHD_queue_response"),
		HTTPD_SYM(destroy_response, "MHD_destroy_response"),
		HTTPD_SYM(set_panic_func, "MHD_set_panic_func"),
		HTTPD_SYM(start_daemon, "MHD_start_daemon"),
		HTTPD_SYM(get_daemon_info, "MHD_get_daemon_info"),
		HTTPD_SYM(stop_daemon, "MHD_stop_daemon"),
	};

	if (mhd.run != NULL)
		return 0;
	return dynlib_load(HTTPD_MHD_SONAME, syms, nitems(syms), cause);
}

const char *
httpd_address(void)
{
	return httpd.mhd != NULL ? httpd.addr : NULL;
}

/* The value of a query argument of the request, or NULL. */
const char *
httpd_query(struct httpd_request *r, const char *key)
{
	return mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

void
httpd_text(struct httpd_reply *rep, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xvasprintf(&rep->body, fmt, ap);
	va_end(ap);
	rep->len = (size_t)n;
	rep->status = status;
	rep->type = "text/plain; charset=utf-8";
}

static void
httpd_index(struct httpd_request *r, struct httpd_reply *rep)
{
	(void)r;
	httpd_text(rep, MHD_HTTP_OK, "corrald %s\n/metrics  Prometheus "
	    "metrics\n/healthz  the daemon's loop turns\n/readyz   every app "
	    "has its instances ready (?app=NAME&min=N)\n", CORRAL_VERSION);
}

static void httpd_run(void);

static void
httpd_timer_cb(uv_timer_t *t)
{
	(void)t;
	httpd_run();
}

static void
httpd_poll_cb(uv_poll_t *p, int status, int events)
{
	(void)p;
	(void)events;
	if (status < 0)
		log_warnx("http: poll: %s", uv_strerror(status));
	httpd_run();
}

/* Lets MHD do its work, then arms the timer for what it waits on next. */
static void
httpd_run(void)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (httpd.mhd == NULL)
		return;
	if (mhd.run(httpd.mhd) != MHD_YES)
		log_debug("http: MHD_run failed");
	if (mhd.get_timeout(httpd.mhd, &ms) == MHD_YES)
		(void)timer_start(&httpd.timer, httpd_timer_cb, (uint64_t)ms, 0);
	else
		(void)uv_timer_stop(&httpd.timer); /* always 0 */
}

static enum MHD_Result
httpd_respond(struct MHD_Connection *c, struct httpd_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = mhd.create_response(rep->len, rep->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(rep->body);
		return MHD_NO;
	}
	if (mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    rep->type) != MHD_YES)
		log_debug("http: cannot set Content-Type");
	r = mhd.queue_response(c, (unsigned)rep->status, resp);
	mhd.destroy_response(resp);
	return r;
}

/*
 * MHD's access handler: called first when the headers are in (answered on
 * the second call, once any body is consumed), on the loop thread.
 */
static enum MHD_Result
httpd_handle(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **state)
{
	static int seen;
	struct httpd_request req = { c };
	struct httpd_reply rep;
	size_t i;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;       /* a body is read and dropped */
		return MHD_YES;
	}
	memset(&rep, 0, sizeof rep);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		httpd_text(&rep, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and "
		    "HEAD are served\n");
	else {
		for (i = 0; i < nitems(httpd_routes); i++) {
			if (strcmp(url, httpd_routes[i].path) == 0) {
				httpd_routes[i].fn(&req, &rep);
				break;
			}
		}
		if (i == nitems(httpd_routes))
			httpd_text(&rep, MHD_HTTP_NOT_FOUND, "no such page: try "
			    "/metrics, /healthz or /readyz\n");
	}
	return httpd_respond(c, &rep);
}

static void httpd_logger(void *, const char *, va_list) PRINTFLIKE(2, 0);

static void
httpd_logger(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	log_debug("http: %s", buf);
}

static void
httpd_panic(void *cls, const char *file, unsigned int line,
    const char *reason)
{
	(void)cls;
	fatalx("libmicrohttpd: %s:%u: %s", file, line,
	    reason != NULL ? reason : "internal error");
}

/* The listening socket at addr (port 0: any free one); -1 with *cause. */
static int
httpd_listen(const char *spec, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, zero = 0;

	if (httpaddr_parse(spec, &ss, &len, cause) == -1)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1) {
		xasprintf(cause, "metrics %s: socket: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &zero, sizeof zero) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, HTTPD_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		xasprintf(cause, "metrics %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	httpaddr_format(&ss, httpd.addr, sizeof httpd.addr);
	if (!httpaddr_is_loopback(&ss))
		log_warnx("metrics: serving %s beyond this host (asked for): "
		    "anyone who reaches it sees the apps' names and figures",
		    httpd.addr);
	return fd;
}

/*
 * Starts serving at addr (see httpaddr.c). At start-up only: -1 with
 * *cause when the address cannot be bound.
 */
int
httpd_start(const char *addr, char **cause)
{
	const union MHD_DaemonInfo *info;
	int fd, r;

	if (httpd_load(cause) != 0)
		return -1;
	if ((fd = httpd_listen(addr, cause)) == -1)
		return -1;
	mhd.set_panic_func(httpd_panic, NULL);
	httpd.mhd = mhd.start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, httpd_handle, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPD_MAX_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPD_TIMEOUT_S,
	    MHD_OPTION_EXTERNAL_LOGGER, httpd_logger, NULL,
	    MHD_OPTION_END);
	if (httpd.mhd == NULL) {
		close(fd);
		xasprintf(cause, "metrics %s: libmicrohttpd did not start",
		    addr);
		return -1;
	}
	/* Start-up only: a failure here is a broken invariant. */
	info = mhd.get_daemon_info(httpd.mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL)
		fatalx("metrics: libmicrohttpd has no epoll descriptor");
	if ((r = uv_poll_init(D.loop, &httpd.poll, info->epoll_fd)) != 0 ||
	    (r = uv_timer_init(D.loop, &httpd.timer)) != 0 ||
	    (r = uv_poll_start(&httpd.poll, UV_READABLE, httpd_poll_cb)) != 0)
		fatalx("metrics: cannot watch libmicrohttpd: %s",
		    uv_strerror(r));
	httpd.open = 1;
	uv_unref((uv_handle_t *)&httpd.poll);
	uv_unref((uv_handle_t *)&httpd.timer);
	log_info("metrics: serving http://%s/metrics, /healthz, /readyz",
	    httpd.addr);
	return 0;
}

/* Stops serving: open connections are dropped. */
void
httpd_stop(void)
{
	if (httpd.open) {
		uv_close((uv_handle_t *)&httpd.poll, NULL);
		uv_close((uv_handle_t *)&httpd.timer, NULL);
		httpd.open = 0;
	}
	if (httpd.mhd != NULL) {
		mhd.stop_daemon(httpd.mhd);
		httpd.mhd = NULL;
	}
}
