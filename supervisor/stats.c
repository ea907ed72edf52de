/* SPDX-License-Identifier: ISC */
/*
 * CPU and memory of running instances, and the 1 s tick.  `ls`, monit and
 * the rest take a sample when they look (limits-sample.c: values younger
 * than a second are reused); the tick samples only the apps with
 * max_memory_restart (acted on within two seconds) and retries what
 * waits (log directories, cgroups to remove, stat files to release).
 * Idle means idle: the tick stops once none of that is left, and
 * stats_wake() starts it again after what may bring some (a command, a
 * sample, a removal that found no timer).
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

static int stats_on;             /* the tick's handle is made, not closed */

/* Whether a next tick has something to do (see above). */
static int
stats_needed(void)
{
	struct app *app;

	if (D.cgroups != NULL && (cgroup_stat_held(D.cgroups) ||
	    D.cgroups->npending > 0))
		return 1;
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (!app->deleted && (app->cfg.max_memory_restart != 0 ||
		    (app->logs == NULL && !app->cfg.disable_logs)))
			return 1;
	}
	return 0;
}

static void
stats_tick(uv_timer_t *t)
{
	limits_tick();
	logdir_tick();
	if (!stats_needed())
		(void)uv_timer_stop(t); /* always 0 */
}

void
stats_start(void)
{
	timer_init(D.loop, &D.stats_timer);
	stats_on = 1;
	stats_wake();
}

/* The tick again, if it stopped (idle); nothing once closed. */
void
stats_wake(void)
{
	if (stats_on && !uv_is_active((uv_handle_t *)&D.stats_timer))
		(void)timer_start(&D.stats_timer, stats_tick,
		    STATS_INTERVAL_MS, STATS_INTERVAL_MS);
}

void
stats_stop(void)
{
	stats_on = 0;
	uv_close((uv_handle_t *)&D.stats_timer, NULL);
}
