/* SPDX-License-Identifier: ISC */
/*
 * Instances and their processes (spawn.c starts them): the children and
 * their stdout and stderr pipes (read by logpipe.c), the exit callback
 * that feeds the state machine, and killing the main process or the whole
 * group.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
	app_unref(child->app);
	if (child->pidfd >= 0)
		close(child->pidfd);
	/* exited and drained: the keeper forgets it, once the file says so */
	if (child->tag != NULL)
		engine_release_exited(child->tag);
	child_set_tag(child, NULL);
	free(child);
}

static void
child_pipe_closed(struct logpipe *lp)
{
	child_release(lp->child);
}

/*
 * The exit of every instance's process, as the keeper reaped it
 * (engine.c, engine-adopt.c): status is the wait status.
 */
void
child_exited(struct child *child, int status)
{
	struct instance *inst = child->inst;

	if (child->exited)
		return;
	child->exited = 1;
	nodeipc_close(child);
	ctlchan_close(child);
	engine_unmark_ready(child);
	if (inst == NULL) {
		limits_exited(NULL, child);
		child_release(child);
		return;
	}
	inst->child = NULL;
	child->inst = NULL;
	cluster_exited(inst);
	inst->exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	inst->exit_code = inst->exit_signal != 0 ? -1 :
	    WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	/*
	 * Leftovers of the group (grandchildren) never outlive the main
	 * process; a cgroup found empty has none.
	 */
	if (!limits_exited(inst, child) && kill(-child->pid, SIGKILL) == 0)
		log_debug("%s[%d]: killed the rest of process group %d",
		    inst->app->cfg.name, inst->index, child->pid);
	child_release(child);
	fsm_event(inst, EV_EXIT);
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
	logpipe_init(&child->out, child, 1, child_pipe_closed);
	logpipe_init(&child->err, child, 2, child_pipe_closed);
	child->handles = 3;
	TAILQ_INSERT_TAIL(&D.children, child, entry);
	return child;
}

/*
 * The keeper's tag of child (NULL: none), kept in D.child_tags so that
 * an exit finds its child in O(1) (a stop of 500 apps took 125,000
 * string compares with a walk of D.children per exit).
 */
void
child_set_tag(struct child *child, const char *tag)
{
	if (child->tag != NULL) {
		(void)hmap_remove(&D.child_tags, hmap_hash(child->tag), child);
		free(child->tag);
		child->tag = NULL;
	}
	if (tag == NULL)
		return;
	child->tag = xstrdup(tag);
	hmap_add(&D.child_tags, hmap_hash(child->tag), child);
}

static int
child_tagged(const void *child, const void *tag)
{
	return strcmp(((const struct child *)child)->tag, tag) == 0;
}

/* The child spawned under tag, or NULL. */
struct child *
child_by_tag(const char *tag)
{
	return hmap_find(&D.child_tags, hmap_hash(tag), child_tagged, tag);
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
	child_set_tag(child, NULL);     /* the keeper never had it */
	child_release(child);
	logpipe_close(&child->out);
	logpipe_close(&child->err);
}

/*
 * Reads lp from fd, a read end the keeper keeps too (lp owns fd from now
 * on; fresh: made for this spawn, logpipe_open()). A pipe that cannot be
 * read is closed here: its output waits in the keeper's copy for the
 * next engine.
 */
static void
child_pipe_start(struct child *child, struct logpipe *lp, int fd, int fresh)
{
	char *cause = NULL;

	if (fd >= 0 && logpipe_open(lp, fd, fresh, &cause) == 0) {
		logpipe_start(lp, fresh);
		return;
	}
	log_warnx("%s[%d]: cannot read its output: %s", child->app->cfg.name,
	    child->index, cause != NULL ? cause : "no pipe");
	free(cause);
	logpipe_close(lp);
}

/*
 * The process runs: its output is read from now on, from out and err
 * (fresh: the pipes of the spawn that made it; else the keeper's).
 */
void
child_read_start(struct child *child, int out, int err, int fresh)
{
	child_pipe_start(child, &child->out, out, fresh);
	child_pipe_start(child, &child->err, err, fresh);
}

/*
 * Closes the log pipes still open at shutdown (a process that left the
 * instance's group may hold them, and the daemon must not wait for it),
 * once what they hold is written: what is left in them stays for the
 * next reader.
 */
void
instance_close_pipes(void)
{
	struct child *child;

	TAILQ_FOREACH(child, &D.children, entry) {
		logpipe_flush(&child->out);
		logpipe_flush(&child->err);
	}
	logwriter_sync();
	TAILQ_FOREACH(child, &D.children, entry) {
		logpipe_close(&child->out);
		logpipe_close(&child->err);
	}
}

/* Sends sig to the main process only. */
void
instance_kill(struct instance *inst, int sig)
{
	if (inst->child == NULL || inst->child->reaped)
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
	if (inst->child == NULL || limits_kill(inst, sig) == 0 ||
	    inst->child->reaped)
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
