/* SPDX-License-Identifier: ISC */
/*
 * The one spawn path of an instance: a struct spawn_plan (spawn.h) that
 * appcfg-run.c, cluster.c, nodeipc.c, triggers.c, fdlimit.c and limits.c
 * fill in turn, then run here (spawn-plan.c wraps it in corral-exec where
 * needed) by the one uv_spawn, in a new session (the instance is a
 * process group), stdout and stderr to the child's log pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

/* Closes the write ends spawn_stdio() made (the app has its own). */
static void
spawn_close_ends(int *wfd)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (wfd[i] != -1)
			close(wfd[i]);
		wfd[i] = -1;
	}
}

/*
 * The stdio of an instance: none in; out and err to pipes made here, whose
 * write ends (wfd, to close after the spawn) the app inherits and whose
 * read ends child's logpipes own; then p's fds. Returns 0, or -1 with
 * *cause set (-2 when the daemon lacked descriptors).
 */
static int
spawn_stdio(struct child *child, const struct spawn_plan *p,
    uv_stdio_container_t *stdio, int *wfd, char **cause)
{
	struct logpipe *lp[2] = { &child->out, &child->err };
	size_t i;
	int fds[2], k;

	stdio[0].flags = UV_IGNORE;
	for (k = 0; k < 2; k++) {
		if (pipe2(fds, O_CLOEXEC) == -1) {
			xasprintf(cause, "log pipe: %s", strerror(errno));
			spawn_close_ends(wfd);
			return errno == EMFILE || errno == ENFILE ? -2 : -1;
		}
		wfd[k] = fds[1];
		if (logpipe_open(lp[k], fds[0], cause) == -1) {
			spawn_close_ends(wfd);
			return -1;
		}
		stdio[1 + k].flags = UV_INHERIT_FD;
		stdio[1 + k].data.fd = fds[1];
	}
	for (i = 0; i < p->nfds; i++) {
		stdio[3 + i].flags = UV_INHERIT_FD;
		stdio[3 + i].data.fd = p->fds[i];
	}
	return 0;
}

/*
 * Runs the plan for child: the one uv_spawn of an instance. ipc, when not
 * NULL, is the Node channel's stdio entry (a libuv pipe, after p's fds).
 * Returns 0 once the process runs in its cgroup; -1 with *cause set when
 * no process runs for the instance (a process that could not join its
 * cgroup is killed and forgotten), -2 when the daemon lacked descriptors,
 * processes or memory for it. The child is aborted on failure.
 */
static int
spawn_run(struct child *child, const struct spawn_plan *p,
    const uv_stdio_container_t *ipc, char **cause)
{
	uv_stdio_container_t stdio[CLUSTER_MAX_STDIO];
	uv_process_options_t o;
	char **argv;
	int rc, wfd[2] = { -1, -1 };

	memset(&o, 0, sizeof o);
	memset(stdio, 0, sizeof stdio);
	if (spawn_plan_options(p, &o, &argv, cause) == -1) {
		child_abort(child, 0);
		return -1;
	}
	if ((rc = spawn_stdio(child, p, stdio, wfd, cause)) != 0) {
		appcfg_strv_free(argv);
		child_abort(child, 0);
		return rc;
	}
	if (ipc != NULL)
		stdio[3 + p->nfds] = *ipc;
	o.stdio = stdio;
	o.stdio_count = 3 + (int)p->nfds + (ipc != NULL);
	o.exit_cb = child_exited;
	o.flags = UV_PROCESS_DETACHED;
	child->proc.data = child;
	rc = uv_spawn(D.loop, &child->proc, &o);
	appcfg_strv_free(argv);
	spawn_close_ends(wfd);
	if (rc != 0) {
		*cause = xstrdup(uv_strerror(rc));
		child_abort(child, 1);
		/* Out of descriptors, processes or memory: the daemon's lack. */
		return rc == UV_EMFILE || rc == UV_ENFILE || rc == UV_EAGAIN ||
		    rc == UV_ENOMEM ? -2 : -1;
	}
	child->pid = child->proc.pid;
	ctlchan_spawned(child);
	nodeipc_spawned(child);
	child_read_start(child);
	if ((rc = limits_spawned(child, cause)) != 0) {
		child->inst = NULL;
		return rc;
	}
	return 0;
}

/*
 * The plan of one spawn of inst, filled by each module in turn; env
 * collects the variables cluster mode and the Node channel set. Returns
 * 0, or -1 with *cause set. spawn_plan_free() releases it either way.
 */
static int
spawn_plan_fill(struct instance *inst, struct child *child,
    struct spawn_plan *p, json_t *env, uv_stdio_container_t *ipc,
    int *has_ipc, char **cause)
{
	struct app *app = inst->app;

	memset(p, 0, sizeof *p);
	p->cgroup_dirfd = -1;
	p->umask = 022;         /* corrald's (main.c), which uv_spawn passes on */
	p->argv = appcfg_argv(&app->cfg);
	p->cwd = app->cfg.cwd;
	p->fds = xcalloc(CLUSTER_MAX_LISTENERS + 1, sizeof *p->fds);
	if (cluster_spawn_prepare(inst, child, env, p, cause) == -1)
		return -1;
	*has_ipc = nodeipc_prepare(child, ipc, 3 + (int)p->nfds, env);
	p->envp = appcfg_envp(&app->cfg, inst->index, inst->id, env);
	triggers_spawn(app, p);
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
	uv_stdio_container_t ipc;
	json_t *env = json_object();
	int has_ipc = 0, rc;

	logdir_retry(app);
	child = child_create(inst);
	memset(&ipc, 0, sizeof ipc);
	if (spawn_plan_fill(inst, child, &plan, env, &ipc, &has_ipc,
	    cause) == -1) {
		child_abort(child, 0);
		rc = -1;
	} else
		rc = spawn_run(child, &plan, has_ipc ? &ipc : NULL, cause);
	spawn_plan_free(&plan);
	if (rc != 0) {
		json_decref(env);
		return rc;
	}
	inst->child = child;
	inst->pid = child->pid;
	inst->started_at = now_ms();
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
