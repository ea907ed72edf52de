/* SPDX-License-Identifier: ISC */
/*
 * Where the daemon meets the cgroup module: the daemon's cgroup root, one
 * cgroup per spawned child (the spawn plan's cgroup_procs files: the child
 * joins it before the app's first instruction: the keeper's child writes
 * "0" there before exec), its OOM watch (limits-oom.c) and the OOM
 * reason at exit, whole-tree kills, limits applied after `corral set` and
 * what describe and info show; slots' cgroups are kept between two
 * processes, and removals run later, in batches, from a timer of their
 * own (limits_gc). limits-sample.c samples. Without
 * cgroup access everything here degrades to process groups and /proc,
 * and the daemon says so once at start-up.
 */
#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "engine.h"

#define LIMITS_GC_BATCH 32      /* rmdirs per loop turn at most */

static uv_timer_t limits_gc_timer;
static int limits_gc_ready;

static void limits_gc_arm(int64_t);

/* Removes a batch of queued cgroups; the rest wait for a later turn. */
static void
limits_gc(uv_timer_t *t)
{
	(void)t;
	if (D.cgroups != NULL)
		limits_gc_arm(cgroup_root_gc_batch(D.cgroups, LIMITS_GC_BATCH));
}

/* Runs limits_gc in ms (-1: nothing queued); 0 is the next loop turn. */
static void
limits_gc_arm(int64_t ms)
{
	if (!limits_gc_ready || ms < 0)
		return;
	if (timer_start(&limits_gc_timer, limits_gc, (uint64_t)ms, 0) != 0) {
		log_warnx("cgroup: removals wait for the 1 s tick");
		stats_wake();
	}
}

/* Something was queued: removals start once it is due, if not already. */
static void
limits_gc_kick(void)
{
	if (limits_gc_ready && D.cgroups != NULL &&
	    !uv_is_active((uv_handle_t *)&limits_gc_timer))
		limits_gc_arm(cgroup_root_gc_batch(D.cgroups, 0));
}

void
limits_init(void)
{
	char	*name, *home, *def = NULL;
	const char *h = getenv("HOME");

	home = paths_home();
	if (h != NULL)
		xasprintf(&def, "%s/.corral", h);
	name = cgroup_default_name(home, def);
	if (E.active)
		cgroup_keeper_set(getppid());
	D.cgroups = cgroup_root_create(name, 0);
	D.cgroups->watch_drop = limits_oom_drop;
	free(name);
	free(home);
	free(def);
	if (D.cgroups->backend == CGROUP_NONE)
		return;
	timer_init(D.loop, &limits_gc_timer);
	uv_unref((uv_handle_t *)&limits_gc_timer);
	limits_gc_ready = 1;
	/* a later engine adopts what runs there */
	if (E.kind == KP_KIND_FIRST)
		cgroup_root_sweep(D.cgroups);
}

void
limits_shutdown(void)
{
	if (D.cgroups == NULL)
		return;
	if (limits_gc_ready)
		uv_timer_stop(&limits_gc_timer);
	limits_gc_ready = 0;
	cgroup_root_teardown(D.cgroups);
	cgroup_root_free(D.cgroups);
	D.cgroups = NULL;
}

/* The loop ends: the OOM watches kept with idle cgroups are closed. */
void
limits_close(void)
{
	if (D.cgroups != NULL)
		cgroup_slots_unwatch(D.cgroups);
}

static int
limits_enabled(void)
{
	return D.cgroups != NULL && D.cgroups->backend != CGROUP_NONE;
}

/*
 * Before the spawn: makes the child's cgroup, applies the app's limits and
 * puts the cgroup.procs files in plan (spawn.c frees them), so that the
 * child runs nothing of the app's before it joined them (the keeper's
 * child writes its pid there before exec).
 * Returns 0, or -1 with *cause set: while cgroups are on, no instance
 * runs without its cgroup.
 */
int
limits_spawn(struct instance *inst, struct child *child,
    struct spawn_plan *plan, char **cause)
{
	struct app_config	*cfg = &inst->app->cfg;
	struct cgroup_usage	 u;
	char			*why = NULL;

	memset(&inst->sample, 0, sizeof inst->sample);
	if (!limits_enabled())
		return 0;
	child->cg = cgroup_create(D.cgroups, cfg->name, inst->index, &why);
	if (child->cg == NULL) {
		xasprintf(cause, "no cgroup: %s", why);
		free(why);
		return -1;
	}
	leftovers_taken(child->cg);
	if (cgroup_set_limits(child->cg, &cfg->limits, &why) != 0) {
		log_warnx("%s[%d]: %s", cfg->name, inst->index, why);
		free(why);
	}
	cgroup_spawn_usage(child->cg, CGROUP_KILL, &u);
	child->oom_base = u.oom_kills;
	child->oom_known = (u.flags & CGROUP_KILL) != 0;
	limits_oom_watch(child);
	plan->cgroup_procs = cgroup_join_files(child->cg, &plan->ncgroup_procs);
	return 0;
}

/*
 * The process of limits_spawn() runs: the CPU baseline, read once the
 * engine is back from the clone, off the path from an exit to the next
 * exec (the new process's first moments count in it: a CPU percentage a
 * few microseconds short).
 */
void
limits_spawned(struct instance *inst, struct child *child)
{
	struct cgroup_usage	 u;

	if (child->cg == NULL)
		return;
	cgroup_spawn_usage(child->cg, CGROUP_CPUACCT, &u);
	limits_baseline(inst, &u);
}

/* Whether child's process has exited (a pidfd readable, or none). */
static int
limits_gone(const struct child *child)
{
	struct pollfd p = { .fd = child->pidfd, .events = POLLIN };

	return child->pidfd < 0 || (poll(&p, 1, 0) == 1 &&
	    (p.revents & POLLIN));
}

/*
 * A process a new engine adopted from the keeper: its cgroup found again
 * (its limits are set already); none when cgroups are off or it left it.
 * A process that exited meanwhile is in no cgroup: its instance's one
 * generation is taken, so that its exit kills what is left of its tree.
 */
void
limits_adopted(struct instance *inst, struct child *child)
{
	struct cgroup_usage u;
	const char *name = inst->app->cfg.name;

	if (!limits_enabled())
		return;
	child->cg = cgroup_find(D.cgroups, name, inst->index, child->pid);
	if (child->cg == NULL && limits_gone(child))
		child->cg = cgroup_find_gone(D.cgroups, name, inst->index);
	if (child->cg == NULL) {
		log_warnx("%s[%d]: pid %d is in none of its cgroups", name,
		    inst->index, child->pid);
		return;
	}
	cgroup_spawn_usage(child->cg, CGROUP_KILL, &u);
	child->oom_base = u.oom_kills;
	child->oom_known = (u.flags & CGROUP_KILL) != 0;
	limits_oom_watch(child);
}

/* The spawn failed: the cgroup stays for the slot's next try. */
void
limits_spawn_failed(struct child *child)
{
	if (child->cg != NULL) {
		limits_oom_park(child);
		cgroup_release(child->cg);
	}
	child->cg = NULL;
}

/*
 * The main process exited: counts the OOM kills whose event is still on
 * its way, tells an OOM kill of the main process apart from any other
 * SIGKILL, kills what is left of the tree (also what left the process
 * group), and keeps the cgroup for the slot's next process (with the
 * emptiness and OOM count read here: cgroup-slot.c), or queues its
 * removal when the instance is gone or going.  Sets inst's reason for the
 * state machine.  Costs one read when the tree is gone with the main
 * process and no OOM event is pending (two otherwise): nothing here waits.
 * Returns 1 when the tree is known to be gone (nothing of it is left to
 * signal), else 0.
 */
int
limits_exited(struct instance *inst, struct child *child)
{
	char			 size[32];
	int			 n, sure;

	if (child->cg == NULL)
		return 0;
	sure = limits_oom_quiet(child) || limits_oom_count(child, inst) >= 0;
	child->cg->carry.counted = child->oom_known && sure;
	child->cg->carry.oom_kills = child->oom_seen;
	if (inst != NULL && inst->exit_signal == SIGKILL &&
	    child->oom_seen > child->oom_base) {
		format_size(inst->app->cfg.limits.max_memory, size,
		    sizeof size);
		instance_set_reason(inst, "killed by the OOM killer "
		    "(max_memory %s)", inst->app->cfg.limits.max_memory != 0 ?
		    size : "none");
		log_warnx("%s[%d]: pid %d was killed by the OOM killer",
		    inst->app->cfg.name, inst->index, child->pid);
	}
	if ((n = cgroup_kill(child->cg, SIGKILL)) == 0)
		child->cg->carry.vacant = 1;
	else if (n > 0) {
		log_info("%s[%d]: killed %d process(es) left in its cgroup",
		    child->app->cfg.name, child->index, n);
		if (inst != NULL)
			leftovers_watch(inst->id, cgroup_kill_dir(child->cg),
			    inst->app->cfg.kill_timeout);
	}
	/* Killed leftovers hold it a while: a new one serves the next spawn. */
	if (n > 0 || inst == NULL || fsm_deleting(inst) ||
	    child->app->deleted) {
		limits_oom_unwatch(child);
		cgroup_discard(child->cg);
		limits_gc_kick();
	} else {
		limits_oom_park(child);
		cgroup_release(child->cg);
	}
	child->cg = NULL;
	return n >= 0;
}

/*
 * The instance is freed (deleted, scaled away): its slot's kept cgroups
 * are queued for removal.  The hook of instance_free().
 */
void
limits_forget(struct instance *inst)
{
	if (!limits_gc_ready || D.cgroups == NULL)
		return;
	cgroup_forget_slot(D.cgroups, inst->app->cfg.name, inst->index);
	limits_gc_kick();
}

/* Signals the instance's whole tree through its cgroup; -1: no cgroup. */
int
limits_kill(struct instance *inst, int sig)
{
	int	 r;

	if (inst->child == NULL || inst->child->cg == NULL)
		return -1;
	if ((r = cgroup_kill(inst->child->cg, sig)) < 0) {
		log_warnx("%s[%d]: cgroup kill: %s", inst->app->cfg.name,
		    inst->index, strerror(-r));
		return -1;
	}
	return 0;
}

/*
 * Applies app's limits to its running instances (after `corral set`).
 * Returns how many got them, or -1 with *cause at the first refusal.
 */
int
limits_apply(struct app *app, char **cause)
{
	struct instance	*inst;
	int		 n = 0;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (inst->child == NULL || inst->child->cg == NULL)
			continue;
		if (cgroup_set_limits(inst->child->cg, &app->cfg.limits,
		    cause) != 0)
			return -1;
		n++;
	}
	return n;
}

/* The "cgroup" object of an instance in `describe`. */
json_t *
limits_describe(struct instance *inst)
{
	json_t	*o;

	if (inst->child != NULL && inst->child->cg != NULL)
		o = cgroup_describe(inst->child->cg, &inst->app->cfg.limits);
	else {
		o = json_object();
		json_object_set_new(o, "backend", json_str(
		    D.cgroups != NULL && limits_enabled() ?
		    cgroup_backend_name(D.cgroups->backend) : "none"));
		json_object_set_new(o, "path", json_null());
		json_object_set_new(o, "limits",
		    cgroup_limits_json(&inst->app->cfg.limits));
		if (inst->child != NULL)
			json_object_set_new(o, "usage", json_pack("{s:I}",
			    "memory", (json_int_t)inst->memory));
	}
	json_object_set_new(o, "oom_kills", json_integer(inst->oom_kills));
	return o;
}

/* What `corral info` prints about limits. */
json_t *
limits_info(void)
{
	json_t	*o;

	if (D.cgroups == NULL)
		return json_object();
	o = cgroup_root_info(D.cgroups);
	json_object_set_new(o, "exec", spawn_exec_path() != NULL ?
	    json_str(spawn_exec_path()) : json_null());
	return o;
}
