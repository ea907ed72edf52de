/* SPDX-License-Identifier: ISC */
/*
 * The one spawn path of an instance: a struct spawn_plan (spawn.h) that
 * appcfg-run.c, cluster.c, nodeipc.c, triggers.c, fdlimit.c and limits.c
 * fill in turn, then run by the engine with the keeper as the parent
 * (engine.c, spawn-clone.c), in a new session (the instance is a process
 * group), stdout and stderr to log pipes whose read ends the keeper keeps
 * and the engine reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/*
 * Whether the daemon has room for a spawn's descriptors (the stdout,
 * stderr and report pipes, the pidfd, one for the next accept): checked
 * first, so that a lack of them is the daemon's (-2), never a half-made
 * spawn. Returns 0, or -1 with *cause in uv_spawn's words.
 */
static int
spawn_room(char **cause)
{
	int error;

	if ((error = fdlimit_room(FDLIMIT_RESERVE)) == 0)
		return 0;
	*cause = xstrdup(uv_strerror(uv_translate_sys_error(error)));
	return -1;
}

/*
 * Runs the plan for child: the one spawn of an instance (engine.c).
 * Returns 0 once the process runs (in its cgroup: the child joins it
 * before exec); -1 with *cause set when no process runs for the
 * instance, -2 when the daemon or the keeper lacked descriptors,
 * processes or memory for it. The child is aborted on failure.
 */
static int
spawn_run(struct child *child, struct spawn_plan *p, char **cause)
{
	struct keeper_proc proc;
	char tag[STATE_TAG_MAX];
	int rc;

	child_set_tag(child, instance_tag(child->inst, tag, sizeof tag));
	p->tag = child->tag;
	if ((rc = spawn_room(cause)) == -1) {
		child_abort(child);
		return -2;
	}
	if ((rc = engine_spawn(p, &proc, cause)) != 0) {
		child_abort(child);
		/* Out of descriptors, processes or memory: the daemon's lack. */
		return rc == -2 || strstr(*cause, "too many open files") !=
		    NULL || strstr(*cause, "resource temporarily") != NULL ||
		    strstr(*cause, "not enough memory") != NULL ? -2 : -1;
	}
	child->pid = proc.pid;
	child->pidfd = proc.pidfd;
	limits_spawned(child->inst, child);
	p->started_at = (uint64_t)proc.started_at;
	ctlchan_spawned(child);
	nodeipc_spawned(child);
	child_read_start(child, proc.out, proc.err, 1);
	return 0;
}

/*
 * The plan of one spawn of inst, filled by each module in turn; env
 * collects the variables cluster mode and the Node channel set. Returns
 * 0, or -1 with *cause set. spawn_plan_free() releases it either way.
 */
static int
spawn_plan_fill(struct instance *inst, struct child *child,
    struct spawn_plan *p, json_t *env, char **cause)
{
	struct app *app = inst->app;

	memset(p, 0, sizeof *p);
	p->cgroup_dirfd = -1;
	p->umask = 022;         /* corrald's (main.c) */
	p->kill_signal = (int)app->cfg.kill_signal;
	p->argv = appcfg_argv(&app->cfg);
	p->cwd = app->cfg.cwd;
	p->fds = xcalloc(CLUSTER_MAX_LISTENERS + 2, sizeof *p->fds);
	if (cluster_spawn_prepare(inst, child, env, p, cause) == -1)
		return -1;
	nodeipc_prepare(child, p, env);
	p->envp = appcfg_envp(&app->cfg, inst->index, inst->id, env);
	triggers_spawn(app, p);
	if (p->refused != NULL) {
		*cause = xstrdup(p->refused);
		return -1;
	}
	p->nofile = fdlimit_child_soft();
	return limits_spawn(inst, child, p, cause);
}

/* What spawn_plan_fill() allocated. */
static void
spawn_plan_free(struct spawn_plan *p)
{
	appcfg_strv_free(p->argv);
	appcfg_strv_free(p->envp);
	cgroup_join_files_free(p->cgroup_procs, p->ncgroup_procs);
	free(p->fds);
	memset(p, 0, sizeof *p);
}

/*
 * Starts the instance's process. Returns 0, or -1 with *cause set on
 * failure, -2 (and *cause) when the daemon itself lacked a resource.
 */
int
instance_spawn(struct instance *inst, char **cause)
{
	struct app *app = inst->app;
	struct spawn_plan plan;
	struct child *child;
	json_t *env = json_object();
	uint64_t started_at;
	int rc;

	logdir_retry(app);
	inst->generation++;     /* a new keeper tag (instance_tag()) */
	inst->tag_id = inst->id;
	child = child_create(inst);
	if (spawn_plan_fill(inst, child, &plan, env, cause) == -1) {
		child_abort(child);
		rc = -1;
	} else
		rc = spawn_run(child, &plan, cause);
	started_at = plan.started_at;
	spawn_plan_free(&plan);
	if (rc != 0) {
		json_decref(env);
		return rc;
	}
	inst->child = child;
	inst->pid = child->pid;
	inst->started_at = started_at;
	inst->started_mono = mono_ms();
	inst->cpu_at = 0;
	inst->cpu = 0;
	inst->memory = 0;
	log_info("%s[%d] id %d: started pid %d", app->cfg.name, inst->index,
	    inst->id, inst->pid);
	cluster_spawned(inst, env);
	json_decref(env);
	return 0;
}
