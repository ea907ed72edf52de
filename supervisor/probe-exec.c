/* SPDX-License-Identifier: ISC */
/*
 * exec: liveness checks. The command runs through /bin/sh in a session of
 * its own, its stdout and stderr in one pipe of which the first line is
 * kept for the reason of a failure; exit 0 passes. At the timeout its
 * whole process group gets SIGKILL and the check fails at once. Nothing
 * here blocks: the exit is libuv's callback (the only reaper), the output
 * is read as it comes.
 *
 * Contract as for readiness waits (ready.c): the callback runs exactly
 * once, never from probe_exec_start(), unless probe_exec_cancel() comes
 * first; after either the pointer is dead. The memory goes once the
 * process is reaped and the handles are closed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

struct probe_exec {
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int handles;                    /* not yet closed */
	int done;                       /* called back or cancelled */
	int exited;
	int out_open;
	uint64_t timeout;
	char buf[200];                  /* the start of the output */
	size_t len;
	probe_exec_cb *cb;
	void *arg;
};

static void
probe_exec_closed(uv_handle_t *h)
{
	struct probe_exec *p = h->data;

	if (--p->handles == 0)
		free(p);
}

static void
probe_exec_close_out(struct probe_exec *p)
{
	if (!p->out_open)
		return;
	p->out_open = 0;
	uv_close((uv_handle_t *)&p->out, probe_exec_closed);
}

/* No callback after this; the timer and the pipe go. */
static void
probe_exec_end(struct probe_exec *p)
{
	p->done = 1;
	uv_close((uv_handle_t *)&p->timer, probe_exec_closed);
	probe_exec_close_out(p);
}

static void
probe_exec_finish(struct probe_exec *p, int ok, const char *why)
{
	if (p->done)
		return;
	probe_exec_end(p);
	p->cb(p->arg, ok, why);
}

static void
probe_exec_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct probe_exec *p = h->data;
	static char discard[256];

	(void)hint;
	if (p->len < sizeof p->buf - 1) {
		b->base = p->buf + p->len;
		b->len = sizeof p->buf - 1 - p->len;
	} else {
		b->base = discard;
		b->len = sizeof discard;
	}
}

static void
probe_exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct probe_exec *p = s->data;

	if (n > 0 && b->base == p->buf + p->len)
		p->len += (size_t)n;
	else if (n < 0)
		probe_exec_close_out(p);
}

/* Reads what the pipe still holds, without waiting. */
static void
probe_exec_drain(struct probe_exec *p)
{
	uv_os_fd_t fd;
	ssize_t n;

	if (!p->out_open || uv_fileno((uv_handle_t *)&p->out, &fd) != 0)
		return;
	while (p->len < sizeof p->buf - 1 && (n = read(fd, p->buf + p->len,
	    sizeof p->buf - 1 - p->len)) > 0)
		p->len += (size_t)n;
}

static void
probe_exec_exited(uv_process_t *proc, int64_t status, int sig)
{
	struct probe_exec *p = proc->data;
	char why[320];
	size_t line;

	why[0] = '\0';
	p->exited = 1;
	uv_close((uv_handle_t *)proc, probe_exec_closed);
	if (p->done)
		return;
	probe_exec_drain(p);
	p->buf[p->len] = '\0';
	line = strcspn(p->buf, "\r\n");
	p->buf[line] = '\0';
	if (sig != 0)
		snprintf(why, sizeof why, "killed by %s", signal_name(sig));
	else if (status != 0)
		snprintf(why, sizeof why, "exited with code %d%s%s", (int)status,
		    line > 0 ? ": " : "", p->buf);
	probe_exec_finish(p, sig == 0 && status == 0, why);
}

static void
probe_exec_timeout(uv_timer_t *t)
{
	struct probe_exec *p = t->data;
	char dur[32], why[64];

	if (kill(-p->proc.pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("health: kill %d", p->proc.pid);
	format_duration(p->timeout, dur, sizeof dur);
	snprintf(why, sizeof why, "no answer within %s, killed", dur);
	probe_exec_finish(p, 0, why);
}

/*
 * Runs the check o describes (file, args, env, cwd, user: the caller's;
 * stdio and the exit callback are set here). Returns NULL with *cause
 * when it cannot be spawned.
 */
struct probe_exec *
probe_exec_start(uv_loop_t *loop, uv_process_options_t *o, uint64_t timeout,
    probe_exec_cb *cb, void *arg, char **cause)
{
	struct probe_exec *p = xcalloc(1, sizeof *p);
	uv_stdio_container_t stdio[3];
	int r;

	p->cb = cb;
	p->arg = arg;
	p->timeout = timeout;
	/* Neither fails (they only fill in the handles): never a fatal. */
	if (uv_pipe_init(loop, &p->out, 0) != 0)
		log_warnx("health: uv_pipe_init failed");
	timer_init(loop, &p->timer);
	p->out.data = p->timer.data = p->proc.data = p;
	p->handles = 2;
	p->out_open = 1;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&p->out;
	stdio[2].flags = UV_IGNORE;
	o->stdio = stdio;
	o->stdio_count = 3;
	o->exit_cb = probe_exec_exited;
	o->flags |= UV_PROCESS_DETACHED;
	if ((r = uv_spawn(loop, &p->proc, o)) != 0) {
		xasprintf(cause, "cannot run the check: %s", uv_strerror(r));
		p->handles++;
		uv_close((uv_handle_t *)&p->proc, probe_exec_closed);
		probe_exec_end(p);
		return NULL;
	}
	p->handles++;
	if ((r = uv_read_start((uv_stream_t *)&p->out, probe_exec_alloc,
	    probe_exec_read)) != 0)
		probe_exec_close_out(p);
	(void)timer_start(&p->timer, probe_exec_timeout, timeout, 0);
	return p;
}

/* Forgets the check: no callback; a process still running is killed. */
void
probe_exec_cancel(struct probe_exec *p)
{
	if (p == NULL || p->done)
		return;
	if (!p->exited && kill(-p->proc.pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("health: kill %d", p->proc.pid);
	probe_exec_end(p);
}
