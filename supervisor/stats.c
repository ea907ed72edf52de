/* SPDX-License-Identifier: ISC */
/*
 * CPU and memory of running instances.  A timer samples every instance
 * once a second (limits.c reads each instance's cgroup, the whole tree, or
 * /proc for its process group without cgroups) so that `ls` gives a CPU
 * percentage over a real interval without waiting, and max_memory_restart
 * acts within two seconds.
 */
#include "corrald.h"

/* Takes a sample unless a recent one exists. */
void
stats_sample(struct instance *inst)
{
	limits_sample(inst);
}

static void
stats_tick(uv_timer_t *t)
{
	(void)t;
	limits_tick();
	logdir_tick();
}

void
stats_start(void)
{
	timer_init(D.loop, &D.stats_timer);
	(void)timer_start(&D.stats_timer, stats_tick, STATS_INTERVAL_MS,
	    STATS_INTERVAL_MS);
}
