/* SPDX-License-Identifier: ISC */
/*
 * Instances and their processes (spawn.c starts them): stdout and stderr
 * read through pipes and cut into lines, the exit callback that feeds the
 * state machine, and killing the main process or the whole group.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

struct instance *
instance_create(struct app *app, int index)
{
	struct instance *inst = xcalloc(1, sizeof *inst);

	inst->app = app;
	inst->index = index;
	app_index_instance(inst, D.next_id++);
	inst->state = INST_STOPPED;
	inst->exit_code = -1;
	timer_init(D.loop, &inst->timer);
	inst->timer.data = inst;
	app_ref(app);
	TAILQ_INSERT_TAIL(&app->instances, inst, entry);
	return inst;
}

static void
instance_timer_closed(uv_handle_t *h)
{
	struct instance *inst = h->data;
	struct app *app = inst->app;

	free(inst);
	app_unref(app);
}

/* Forgets the instance; it must be stopped. Memory goes in the close callback. */
void
instance_free(struct instance *inst)
{
	TAILQ_REMOVE(&inst->app->instances, inst, entry);
	app_unindex_instance(inst);
	cluster_exited(inst);
	limits_forget(inst);
	if (inst->child != NULL)
		inst->child->inst = NULL;
	inst->timer.data = inst;
	uv_close((uv_handle_t *)&inst->timer, instance_timer_closed);
	app_release(inst->app);
}

void
instance_set_reason(struct instance *inst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inst->reason, sizeof inst->reason, fmt, ap);
	va_end(ap);
	inst->reason_stale = 0;
}

static void
child_release(struct child *child)
{
	if (--child->handles > 0)
		return;
	TAILQ_REMOVE(&D.children, child, entry);
	/* Its last lines are queued: a stopped app holds no log file. */
	if (--child->app->nchildren == 0)
		logsink_idle(child->app);
	linebuf_free(&child->out.lb);
	linebuf_free(&child->err.lb);
	app_unref(child->app);
	if (child->pidfd >= 0)
		close(child->pidfd);
	/* exited and drained: the keeper forgets it */
	if (child->tag != NULL)
		engine_release(child->tag);
	free(child->tag);
	free(child);
}

static void
child_pipe_closed(uv_handle_t *h)
{
	struct logpipe *lp = h->data;

	logfile_cancel_wait(&lp->waiter);
	child_release(lp->child);
}

static void child_read(uv_stream_t *, ssize_t, const uv_buf_t *);

/* A full log file had room again: drain what is held, read on. */
static void
child_log_room(struct logfile_waiter *w)
{
	struct logpipe *lp = (struct logpipe *)(void *)((char *)w -
	    offsetof(struct logpipe, waiter));
	int r;

	if (logsink_drain(lp, lp->eof) == -1)
		return;
	lp->paused = 0;
	if (!lp->eof && (r = uv_read_start((uv_stream_t *)&lp->pipe,
	    daemon_alloc, child_read)) != 0) {
		/* cannot happen on an open pipe; the child gets EPIPE */
		log_warnx("%s: log pipe: %s", lp->child->app->cfg.name,
		    uv_strerror(r));
		lp->open = 0;
		lp->eof = 1;
	}
	if (lp->eof)
		uv_close((uv_handle_t *)&lp->pipe, child_pipe_closed);
}

static void
child_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct logpipe *lp = s->data;

	if (n > 0) {
		linebuf_append(&lp->lb, buf->base, (size_t)n);
		if (logsink_drain(lp, 0) == -1) {
			/* back-pressure: the child blocks on a full pipe */
			lp->paused = 1;
			uv_read_stop(s);
		}
		return;
	}
	if (n == 0)
		return;
	/* EOF or error: whatever is left is a last line without newline. */
	lp->open = 0;
	lp->eof = 1;
	uv_read_stop(s);
	if (logsink_drain(lp, 1) == -1) {
		lp->paused = 1;
		return;
	}
	uv_close((uv_handle_t *)s, child_pipe_closed);
}

/*
 * The exit of every instance's process, as the keeper reaped it
 * (engine.c): status is the exit code, term_signal the signal that ended
 * it or 0.
 */
void
child_exited(struct child *child, int64_t status, int term_signal)
{
	struct instance *inst = child->inst;

	if (child->exited)
		return;
	child->exited = 1;
	nodeipc_close(child);
	ctlchan_close(child);
	if (inst == NULL) {
		limits_exited(NULL, child);
		child_release(child);
		return;
	}
	inst->child = NULL;
	child->inst = NULL;
	cluster_exited(inst);
	inst->exit_code = term_signal != 0 ? -1 : (int)status;
	inst->exit_signal = term_signal;
	limits_exited(inst, child);
	/* Leftovers of the group (grandchildren) never outlive the main process. */
	if (kill(-child->pid, SIGKILL) == 0)
		log_debug("%s[%d]: killed the rest of process group %d",
		    inst->app->cfg.name, inst->index, child->pid);
	child_release(child);
	fsm_event(inst, EV_EXIT);
}

static void
child_init_pipe(struct child *child, struct logpipe *lp, int stream)
{
	uv_pipe_init(D.loop, &lp->pipe, 0);
	lp->pipe.data = lp;
	lp->child = child;
	lp->stream = stream;
	lp->open = 1;
	lp->waiter.cb = child_log_room;
	linebuf_init(&lp->lb, LOG_LINE_MAX);
}

/* The child of a spawn of inst: its log pipes, not yet its process. */
struct child *
child_create(struct instance *inst)
{
	struct child *child = xcalloc(1, sizeof *child);

	child->app = inst->app;
	app_ref(inst->app);
	inst->app->nchildren++;
	child->inst = inst;
	child->index = inst->index;
	child->pidfd = -1;
	child_init_pipe(child, &child->out, 1);
	child_init_pipe(child, &child->err, 2);
	child->handles = 3;
	TAILQ_INSERT_TAIL(&D.children, child, entry);
	return child;
}

/* No process came of it: the handles go, then the child. */
void
child_abort(struct child *child)
{
	ctlchan_close(child);
	nodeipc_close(child);
	limits_spawn_failed(child);
	child->inst = NULL;
	child->exited = 1;
	free(child->tag);       /* the keeper never had it */
	child->tag = NULL;
	child_release(child);
	uv_close((uv_handle_t *)&child->out.pipe, child_pipe_closed);
	uv_close((uv_handle_t *)&child->err.pipe, child_pipe_closed);
}

/*
 * Reads lp from fd (a read end the keeper keeps too; the child owns fd
 * from now on). A pipe that cannot be read is closed here: the output
 * waits in the keeper's copy for the next engine.
 */
static void
child_pipe_start(struct child *child, struct logpipe *lp, int fd)
{
	int r = UV_EBADF, opened = 0;

	if (fd >= 0 && (r = uv_pipe_open(&lp->pipe, fd)) == 0) {
		opened = 1;
		if ((r = uv_read_start((uv_stream_t *)&lp->pipe, daemon_alloc,
		    child_read)) == 0)
			return;
	}
	log_warnx("%s[%d]: cannot read its output: %s", child->app->cfg.name,
	    child->index, uv_strerror(r));
	if (fd >= 0 && !opened)
		close(fd);
	lp->open = 0;
	lp->eof = 1;
	uv_close((uv_handle_t *)&lp->pipe, child_pipe_closed);
}

/* The process runs: its output is read from now on, from out and err. */
void
child_read_start(struct child *child, int out, int err)
{
	child_pipe_start(child, &child->out, out);
	child_pipe_start(child, &child->err, err);
}

/* Shutdown: hands on what lp holds, as far as the files take it, and closes. */
static void
child_close_pipe(struct logpipe *lp)
{
	if (!lp->open && !(lp->eof && lp->paused))
		return;
	if (logsink_drain(lp, 1) == -1)
		logfile_cancel_wait(&lp->waiter);
	lp->open = 0;
	lp->paused = 0;
	lp->eof = 1;
	uv_close((uv_handle_t *)&lp->pipe, child_pipe_closed);
}

/*
 * Closes the log pipes still open at shutdown: a process that left the
 * instance's group may hold them, and the daemon must not wait for it.
 */
void
instance_close_pipes(void)
{
	struct child *child;

	TAILQ_FOREACH(child, &D.children, entry) {
		child_close_pipe(&child->out);
		child_close_pipe(&child->err);
	}
}

/* Sends sig to the main process only. */
void
instance_kill(struct instance *inst, int sig)
{
	if (inst->child == NULL)
		return;
	if (inst->child->pidfd >= 0 && syscall(SYS_pidfd_send_signal,
	    inst->child->pidfd, sig, NULL, 0) == 0)
		return;
	if (kill(inst->child->pid, sig) == -1 && errno != ESRCH)
		log_warn("%s[%d]: kill %d", inst->app->cfg.name, inst->index,
		    inst->child->pid);
}

/*
 * Sends sig to every process of the instance: its cgroup where it has one
 * (also what left the group), else its process group.
 */
void
instance_kill_group(struct instance *inst, int sig)
{
	if (inst->child == NULL || limits_kill(inst, sig) == 0)
		return;
	if (kill(-inst->child->pid, sig) == -1 && errno != ESRCH)
		log_warn("%s[%d]: kill group %d", inst->app->cfg.name,
		    inst->index, inst->child->pid);
}

json_t *
instance_to_json(struct instance *inst)
{
	int running = inst->child != NULL;
	uint64_t up = running ? mono_ms() - inst->started_mono : 0;
	json_t *o, *health;

	if (running)
		stats_sample(inst);
	o = json_pack("{s:i, s:o, s:i, s:i, s:s, s:I, s:I, s:I, s:I, s:f,"
	    " s:I, s:o, s:i, s:i, s:I}",
	    "id", inst->id,
	    "name", json_str(inst->app->cfg.name),
	    "instance", inst->index,
	    "pid", running ? inst->pid : 0,
	    "state", app_state_name(inst->state),
	    "restarts", (json_int_t)inst->restarts,
	    "unstable_restarts", (json_int_t)inst->unstable_restarts,
	    "uptime_ms", (json_int_t)up,
	    "started_at", (json_int_t)(running ? inst->started_at : 0),
	    "cpu", running ? inst->cpu : 0.0,
	    "memory", (json_int_t)(running ? inst->memory : 0),
	    "reason", json_str(inst->reason),
	    "exit_code", inst->exit_code,
	    "exit_signal", inst->exit_signal,
	    "oom_kills", (json_int_t)inst->oom_kills);
	if (running && inst->status[0] != '\0')
		json_object_set_new(o, "status", json_str(inst->status));
	if ((health = health_json(inst)) != NULL)
		json_object_set_new(o, "health", health);
	return o;
}
