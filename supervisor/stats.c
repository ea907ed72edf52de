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

/* Whether an app's log files are to be opened again (logdir_tick()). */
static int
stats_logs_wait(void)
{
	struct app *app;

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (!app->deleted && app->logs == NULL &&
		    !app->cfg.disable_logs)
			return 1;
	}
	return 0;
}

/*
 * The tick; the next one a second later while there is work every
 * second, later when the only work is stat files to release, none
 * when there is no work.
 */
static void
stats_tick(uv_timer_t *t)
{
	int64_t next;

	next = limits_tick();
	logdir_tick();
	if (stats_logs_wait())
		next = 0;
	if (next < 0)
		(void)uv_timer_stop(t); /* always 0 */
	else if (next > STATS_INTERVAL_MS)
		(void)timer_start(t, stats_tick, (uint64_t)next,
		    STATS_INTERVAL_MS);
}

void
stats_start(void)
{
	timer_init(D.loop, &D.stats_timer);
	stats_on = 1;
	stats_wake();
}

/*
 * The tick within a second again, if it stopped (idle) or waits longer
 * (stat files to release); nothing once closed.
 */
void
stats_wake(void)
{
	uv_timer_t *t = &D.stats_timer;

	if (stats_on && (!uv_is_active((uv_handle_t *)t) ||
	    uv_timer_get_due_in(t) > STATS_INTERVAL_MS))
		(void)timer_start(t, stats_tick, STATS_INTERVAL_MS,
		    STATS_INTERVAL_MS);
}

void
stats_stop(void)
{
	stats_on = 0;
	uv_close((uv_handle_t *)&D.stats_timer, NULL);
}
