/* SPDX-License-Identifier: ISC */
/*
 * CPU and memory of running instances, and the 1 s tick.  `ls`, monit and
 * the rest take a sample when they look (limits-sample.c: values younger
 * than a second are reused); the tick samples only the apps with
 * max_memory_restart (acted on within two seconds) and retries what
 * waits (log directories, cgroups to remove).
 */
#include "corrald.h"

/* Takes a sample unless a recent one exists. */
void
stats_sample(struct instance *inst)
{
	limits_sample(inst);
}

/* Takes, in one batch, the samples a listing of v lacks. */
void
stats_sample_list(struct instance **v, size_t n)
{
	limits_sample_list(v, n);
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
