/* SPDX-License-Identifier: ISC */
/*
 * PM2 ecosystem files read as PM2 reads them: node runs corral-ecosystem.js
 * (shipped beside corral-exec) on the file, in the environment and folder
 * of the client that named it, and prints the apps as JSON, which
 * ecosystem_parse() turns into a struct cfgfile. node runs as a child of
 * the daemon, read through pipes on the loop: the daemon never waits for
 * it. Its run is bounded in time (ECOEVAL_TIMEOUT_MS, then its process
 * group is killed) and in output (ECOEVAL_MAX_OUT bytes of JSON,
 * ECOEVAL_MAX_ERR of messages). Without node, a .json file is still read
 * as strict JSON; a JavaScript file is an error that says node is needed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

#define ECOEVAL_TIMEOUT_MS 10000
#define ECOEVAL_MAX_OUT (4 * 1024 * 1024)
#define ECOEVAL_MAX_ERR (16 * 1024)

struct ecoeval_buf {
	uv_pipe_t pipe;
	char *data;
	size_t len;
	size_t max;
	int over;                       /* the child wrote more than max */
	struct ecoeval *ev;
};

struct ecoeval {
	uv_process_t proc;
	uv_timer_t timer;
	struct ecoeval_buf out, err;
	int handles;                    /* handles not closed yet */
	int pipes;                      /* pipes not at their end yet */
	int exited;
	int64_t status;
	int term_signal;
	int timed_out;
	char *shown;
	ecoeval_cb *cb;
	void *arg;
	TAILQ_ENTRY(ecoeval) entry;
};
TAILQ_HEAD(ecoeval_list, ecoeval);

static struct ecoeval_list ecoevals = TAILQ_HEAD_INITIALIZER(ecoevals);
static char *ecoeval_loader;

/*
 * node as the client would run it: $CORRAL_NODE (a path; empty: none),
 * else its PATH, then the usual places.
 */
char *
ecoeval_node(json_t *env)
{
	static const char *const names[] = { "node", "nodejs" };
	const char *forced;
	json_t *dflt;
	char *p = NULL;
	size_t i;

	forced = json_string_value(json_object_get(env, "CORRAL_NODE"));
	if (forced != NULL)
		return *forced != '\0' && access(forced, X_OK) == 0 ?
		    xstrdup(forced) : NULL;
	for (i = 0; i < nitems(names) && p == NULL; i++)
		p = appcfg_search_path(names[i], env);
	if (p != NULL)
		return p;
	dflt = json_pack("{s:s}", "PATH", "/usr/local/bin:/usr/bin:/bin");
	for (i = 0; i < nitems(names) && p == NULL; i++)
		p = appcfg_search_path(names[i], dflt);
	json_decref(dflt);
	return p;
}

static void
ecoeval_closed(uv_handle_t *h)
{
	struct ecoeval *ev = h->data;

	if (h->type == UV_NAMED_PIPE)
		ev = ((struct ecoeval_buf *)h->data)->ev;
	if (--ev->handles > 0)
		return;
	free(ev->out.data);
	free(ev->err.data);
	free(ev->shown);
	free(ev);
}

/* The child and both pipes are done: tell the caller, then close. */
static void
ecoeval_finish(struct ecoeval *ev)
{
	struct cfgfile *cf = NULL;
	char *cause = NULL, *msg, empty[1] = "";
	size_t n;

	TAILQ_REMOVE(&ecoevals, ev, entry);
	uv_close((uv_handle_t *)&ev->timer, ecoeval_closed);
	uv_close((uv_handle_t *)&ev->proc, ecoeval_closed);
	msg = ev->err.data != NULL ? ev->err.data : empty;
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (D.shutting_down)
		xasprintf(&cause, "%s: the daemon is shutting down", ev->shown);
	else if (ev->timed_out)
		xasprintf(&cause, "%s: node did not finish within %ds",
		    ev->shown, ECOEVAL_TIMEOUT_MS / 1000);
	else if (ev->out.over)
		xasprintf(&cause, "%s: node printed more than %d bytes",
		    ev->shown, ECOEVAL_MAX_OUT);
	else if (ev->term_signal != 0 || ev->status != 0) {
		if (n > 0 && strncmp(msg, ev->shown, strlen(ev->shown)) == 0)
			cause = xstrdup(msg);
		else if (n > 0)
			xasprintf(&cause, "%s: %s", ev->shown, msg);
		else if (ev->term_signal != 0)
			xasprintf(&cause, "%s: node was killed by %s", ev->shown,
			    signal_name(ev->term_signal));
		else
			xasprintf(&cause, "%s: node exited with code %d",
			    ev->shown, (int)ev->status);
	} else
		cf = ecosystem_parse(ev->shown, ev->out.data != NULL ?
		    ev->out.data : "", ev->out.len, &cause);
	ev->cb(ev->arg, cf, cause);
}

static void
ecoeval_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ecoeval_buf *b = s->data;
	struct ecoeval *ev = b->ev;
	size_t take;

	if (n > 0) {
		take = (size_t)n;
		if (b->len + take > b->max) {
			b->over = 1;
			take = b->max - b->len;
			if (b == &ev->out && !ev->exited)
				kill(-ev->proc.pid, SIGKILL);
		}
		b->data = xrealloc(b->data, b->len + take + 1);
		memcpy(b->data + b->len, buf->base, take);
		b->len += take;
		b->data[b->len] = '\0';
		return;
	}
	if (n == 0)
		return;
	(void)uv_read_stop(s); /* always 0 */
	uv_close((uv_handle_t *)s, ecoeval_closed);
	if (--ev->pipes == 0 && ev->exited)
		ecoeval_finish(ev);
}

static void
ecoeval_exited(uv_process_t *p, int64_t status, int term_signal)
{
	struct ecoeval *ev = p->data;

	ev->exited = 1;
	ev->status = status;
	ev->term_signal = term_signal;
	(void)uv_timer_stop(&ev->timer); /* always 0 */
	/* What node started and left behind goes with it. */
	kill(-p->pid, SIGKILL);
	if (ev->pipes == 0)
		ecoeval_finish(ev);
}

static void
ecoeval_timeout(uv_timer_t *t)
{
	struct ecoeval *ev = t->data;

	ev->timed_out = 1;
	if (!ev->exited)
		kill(-ev->proc.pid, SIGKILL);
}

/* KEY=VALUE strings of a JSON object of strings; free with appcfg_strv_free. */
static char **
ecoeval_envp(json_t *env)
{
	const char *k;
	json_t *v;
	char **envp;
	size_t n = 0;

	envp = xcalloc(json_object_size(env) + 1, sizeof *envp);
	json_object_foreach(env, k, v) {
		if (json_is_string(v))
			xasprintf(&envp[n++], "%s=%s", k, json_string_value(v));
	}
	return envp;
}

static void
ecoeval_pipe(struct ecoeval *ev, struct ecoeval_buf *b, size_t max)
{
	int rc;

	if ((rc = uv_pipe_init(D.loop, &b->pipe, 0)) != 0)
		log_warnx("uv_pipe_init: %s", uv_strerror(rc)); /* never on Unix */
	b->pipe.data = b;
	b->ev = ev;
	b->max = max;
}

/* Starts reading b; if that fails, b is closed as if it had ended. */
static void
ecoeval_read_start(struct ecoeval *ev, struct ecoeval_buf *b)
{
	int rc;

	if ((rc = uv_read_start((uv_stream_t *)&b->pipe, daemon_alloc,
	    ecoeval_read)) == 0)
		return;
	log_warnx("%s: uv_read_start: %s", ev->shown, uv_strerror(rc));
	uv_close((uv_handle_t *)&b->pipe, ecoeval_closed);
	ev->pipes--;
}

/* Runs node with the loader on path in cwd; returns uv_spawn's result. */
static int
ecoeval_spawn(struct ecoeval *ev, char *node, const char *path,
    const char *cwd, char **envp)
{
	uv_process_options_t o;
	uv_stdio_container_t stdio[3];
	char *argv[5];

	argv[0] = node;
	argv[1] = ecoeval_loader;
	argv[2] = (char *)path;
	argv[3] = ev->shown;
	argv[4] = NULL;
	memset(&o, 0, sizeof o);
	memset(stdio, 0, sizeof stdio);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&ev->out.pipe;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&ev->err.pipe;
	o.file = node;
	o.args = argv;
	o.env = envp;
	o.cwd = cwd;
	o.flags = UV_PROCESS_DETACHED;
	o.stdio_count = 3;
	o.stdio = stdio;
	o.exit_cb = ecoeval_exited;
	ev->proc.data = ev;
	return uv_spawn(D.loop, &ev->proc, &o);
}

/*
 * Evaluates the ecosystem file path (named shown in messages) with node,
 * run in cwd with env (the client's; NULL: the daemon's). cb gets a
 * cfgfile or a cause (it frees both), later, from the loop; never from
 * this call. Returns -1 with *cause when node cannot be started (not
 * found: *cause says so).
 */
int
ecoeval_start(const char *path, const char *shown, const char *cwd,
    json_t *env, ecoeval_cb *cb, void *arg, char **cause)
{
	struct ecoeval *ev;
	char *node, **envp;
	json_t *own = NULL;
	int rc;

	if (ecoeval_loader == NULL && (ecoeval_loader =
	    paths_own("corral-ecosystem.js", R_OK)) == NULL) {
		xasprintf(cause, "%s: corral-ecosystem.js is not installed",
		    shown);
		return -1;
	}
	if (env == NULL)
		env = own = persist_daemon_env();
	if ((node = ecoeval_node(env)) == NULL) {
		xasprintf(cause, "%s: reading a PM2 ecosystem file needs node, "
		    "which is not on PATH (install nodejs, or set CORRAL_NODE)",
		    shown);
		json_decref(own);
		return -1;
	}
	ev = xcalloc(1, sizeof *ev);
	ev->shown = xstrdup(shown);
	ev->cb = cb;
	ev->arg = arg;
	ecoeval_pipe(ev, &ev->out, ECOEVAL_MAX_OUT);
	ecoeval_pipe(ev, &ev->err, ECOEVAL_MAX_ERR);
	envp = ecoeval_envp(env);
	json_decref(own);
	rc = ecoeval_spawn(ev, node, path, cwd, envp);
	free(node);
	appcfg_strv_free(envp);
	ev->handles = 4;
	timer_init(D.loop, &ev->timer);
	ev->timer.data = ev;
	if (rc != 0) {
		xasprintf(cause, "%s: cannot run node: %s", shown,
		    uv_strerror(rc));
		uv_close((uv_handle_t *)&ev->proc, ecoeval_closed);
		uv_close((uv_handle_t *)&ev->timer, ecoeval_closed);
		uv_close((uv_handle_t *)&ev->out.pipe, ecoeval_closed);
		uv_close((uv_handle_t *)&ev->err.pipe, ecoeval_closed);
		return -1;
	}
	ev->pipes = 2;
	ecoeval_read_start(ev, &ev->out);
	ecoeval_read_start(ev, &ev->err);
	(void)timer_start(&ev->timer, ecoeval_timeout, ECOEVAL_TIMEOUT_MS, 0);
	TAILQ_INSERT_TAIL(&ecoevals, ev, entry);
	return 0;
}

/* At shutdown: every node still running is killed; callers hear of it. */
void
ecoeval_shutdown(void)
{
	struct ecoeval *ev;

	TAILQ_FOREACH(ev, &ecoevals, entry) {
		if (!ev->exited)
			kill(-ev->proc.pid, SIGKILL);
	}
	free(ecoeval_loader);
	ecoeval_loader = NULL;
}
