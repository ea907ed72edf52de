/* SPDX-License-Identifier: ISC */
/*
 * The once-a-second sampling of the instances' CPU and memory (their
 * cgroups in turns, else one /proc pass over their process groups), the
 * first sample `ls` asks for, and max_memory_restart, which acts on what
 * the samples show.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "corrald.h"

#define LIMITS_RETRY_MS 10000          /* between two max_memory_restart tries */
#define LIMITS_SAMPLE_BUDGET 1000      /* cgroups sampled per tick */

static size_t limits_cursor;            /* where the next tick's turn starts */
static size_t limits_ncg;               /* instances with a cgroup, last tick */

static uint64_t
limits_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
limits_publish(struct instance *inst, const struct cgroup_usage *u,
    uint64_t now)
{
	cgroup_sample_update(&inst->sample, u, now);
	inst->cpu = inst->sample.cpu;
	inst->memory = inst->sample.memory;
}

/*
 * A first sample for an instance that has none yet (for `ls`); later ones
 * come from limits_tick, so that a `jlist` of 10,000 instances reads no
 * cgroup file.  Instances without a cgroup are sampled by limits_tick
 * only: one /proc pass serves them all.
 */
void
limits_sample(struct instance *inst)
{
	struct cgroup_usage	 u;

	if (inst->child == NULL || inst->child->cg == NULL ||
	    inst->sample.valid)
		return;
	if (cgroup_sample(inst->child->cg, &u) == 0)
		limits_publish(inst, &u, limits_now_us());
}

/*
 * Whether the tick samples this instance (the k-th with a cgroup) now: at
 * most LIMITS_SAMPLE_BUDGET a tick, in turn, so that 10,000 instances do
 * not cost 30,000 file reads a second; those with max_memory_restart (and
 * new ones) every tick.
 */
static int
limits_due(struct instance *inst, size_t k, size_t total)
{
	if (inst->app->cfg.max_memory_restart != 0 || !inst->sample.valid ||
	    total <= LIMITS_SAMPLE_BUDGET)
		return 1;
	return (k + total - limits_cursor % total) % total <
	    LIMITS_SAMPLE_BUDGET;
}

/*
 * Replaces an instance whose memory passed max_memory_restart: as a reload
 * does (the new process first) when the app holds sockets, so that no
 * connection is refused; else by a graceful restart (an app that binds
 * its own port could not start beside the old one).  A replacement that
 * fails leaves the old instance serving and is tried again after
 * LIMITS_RETRY_MS.
 */
static void
limits_memory_restart(struct instance *inst)
{
	uint64_t	 max = inst->app->cfg.max_memory_restart;
	uint64_t	 now = mono_ms();
	char		 a[32], b[32], *cause = NULL;

	if (max == 0 || inst->state != INST_ONLINE || inst->memory <= max ||
	    inst->app->reload != NULL || (inst->memory_restart_at != 0 &&
	    now - inst->memory_restart_at < LIMITS_RETRY_MS))
		return;
	inst->memory_restart_at = now;
	format_size(inst->memory, a, sizeof a);
	format_size(max, b, sizeof b);
	log_warnx("%s[%d]: memory %s passed max_memory_restart %s: "
	    "replacing pid %d", inst->app->cfg.name, inst->index, a, b,
	    inst->pid);
	inst->memory_restarts++;
	inst->app->counters.memory_replaced++;
	instance_set_reason(inst, "memory %s passed max_memory_restart %s",
	    a, b);
	inst->keep_reason = 1;
	if (inst->app->nlisteners > 0) {
		if (reload_instance(inst, &cause) == 0)
			return;
		log_warnx("%s[%d]: %s", inst->app->cfg.name, inst->index,
		    cause);
		free(cause);
		return;
	}
	fsm_event(inst, EV_RESTART);
}

/*
 * Samples, in one batch, every running instance whose last sample is
 * older than max_age_ms: cgroups one by one, the instances without one in
 * a single /proc pass.  At a metrics scrape; and once a second
 * (limits_tick, max_age_ms 0), where cgroups are sampled in turns (see
 * limits_due).
 */
void
limits_refresh(uint64_t max_age_ms)
{
	struct app		*app;
	struct instance		*inst, **fb = NULL;
	struct cgroup_usage	*u, cu;
	pid_t			*pg = NULL;
	size_t			 n = 0, i, k = 0;
	uint64_t		 now = limits_now_us();

	TAILQ_FOREACH(app, &D.apps, entry) {
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (inst->child == NULL || (inst->sample.valid &&
			    now - inst->sample.wall_us < max_age_ms * 1000))
				continue;
			if (inst->child->cg != NULL) {
				if ((max_age_ms != 0 ||
				    limits_due(inst, k, limits_ncg)) &&
				    cgroup_sample(inst->child->cg, &cu) == 0)
					limits_publish(inst, &cu, now);
				k++;
				continue;
			}
			fb = xreallocarray(fb, n + 1, sizeof *fb);
			pg = xreallocarray(pg, n + 1, sizeof *pg);
			fb[n] = inst;
			pg[n++] = inst->child->pid;
		}
	}
	if (n > 0) {
		u = xcalloc(n, sizeof *u);
		if (cgroup_proc_usage(pg, n, u) == 0) {
			for (i = 0; i < n; i++)
				limits_publish(fb[i], &u[i], now);
		}
		free(u);
	}
	free(fb);
	free(pg);
	if (max_age_ms == 0) {
		limits_ncg = k;
		limits_cursor += LIMITS_SAMPLE_BUDGET;
	}
}

/* Once a second: samples running instances, enforces, collects. */
void
limits_tick(void)
{
	struct app		*app;
	struct instance		*inst, *next;

	limits_refresh(0);
	TAILQ_FOREACH(app, &D.apps, entry) {
		TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next)
			limits_memory_restart(inst);
	}
	if (D.cgroups != NULL)
		cgroup_root_gc(D.cgroups);
}
