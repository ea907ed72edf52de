/* SPDX-License-Identifier: ISC */
/*
 * Autoscaling of one app on this machine (scale = MIN..MAX, or instances
 * = MIN..MAX in a file). Only apps that scale are sampled: a timer per app
 * reads, every fifth of its shortest window (100 ms to 1 s), the accept
 * queue of its held TCP sockets (sockstat.c) and its instances' CPU
 * (limits.c). One instance is added when, for scale_up_window, every
 * sample had the queue above scale_queue or the instances' CPU at or above
 * scale_cpu percent of what each may use (its cpu limit, else one core);
 * one is removed, gracefully and the highest index first, after
 * scale_down_window in which every sample had an empty queue and CPU that
 * the other instances could take with room to spare. The count never
 * leaves the range, whose top is capped by the CPU count (-i max) unless
 * scale_above_cpus. While a reload runs or an instance starts or stops,
 * nothing is decided and the windows start again. Every decision is
 * logged with its reason and counted for the metrics.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define AUTOSCALE_MAX 4096
#define AUTOSCALE_CALM_ROOM 0.7         /* of scale_cpu, after one goes */

struct autoscale {
	uv_timer_t timer;
	struct app *app;                /* NULL once stopped */
	uint64_t interval;              /* ms between samples */
	uint64_t high_since;            /* mono ms the load began, 0: none */
	uint64_t calm_since;            /* mono ms the calm began, 0: none */
	uint32_t peak_queue;            /* during the high load */
	double peak_cpu;
	uint32_t queue;                 /* last sample */
	double cpu;                     /* last sample: % of capacity */
	int have_queue;                 /* the app holds a TCP socket */
	char last[224];                 /* the last decision */
	uint64_t last_at;               /* wall clock ms of it */
};

/* "MIN..MAX" (MAX a number or max) into *min, *max (max: -1). */
int
autoscale_parse(const char *s, long long *min, long long *max, char **cause)
{
	const char *dots = strstr(s, "..");
	char *lo;
	int bad;

	if (dots == NULL) {
		xasprintf(cause, "scale: '%s' is not MIN..MAX", s);
		return -1;
	}
	lo = xstrndup(s, (size_t)(dots - s));
	bad = parse_int(lo, 1, AUTOSCALE_MAX, min, NULL) == -1;
	free(lo);
	if (bad) {
		xasprintf(cause, "scale: '%s': MIN must be a number from 1 to "
		    "%d", s, AUTOSCALE_MAX);
		return -1;
	}
	if (strcmp(dots + 2, "max") == 0)
		*max = -1;
	else if (parse_int(dots + 2, *min, AUTOSCALE_MAX, max, NULL) == -1) {
		xasprintf(cause, "scale: '%s': MAX must be max or a number from "
		    "MIN to %d", s, AUTOSCALE_MAX);
		return -1;
	}
	return 0;
}

/* The most instances the app may scale to; 0 when it does not scale. */
long long
autoscale_max(const struct app_config *c)
{
	long long ncpu, max = c->scale_max;

	if (max == 0)
		return 0;
	ncpu = sys_ncpu();      /* files read: only for an app that scales */
	if (max < 0 || (!c->scale_above_cpus && max > ncpu))
		max = ncpu;
	return max < c->scale_min ? c->scale_min : max;
}

/*
 * A new configuration cfg for app (NULL: a new app) that scales keeps the
 * instance count the app has, if in its range; else the count moves into
 * the range.
 */
void
autoscale_keep(const struct app *app, struct app_config *cfg)
{
	long long n, max = autoscale_max(cfg);

	if (max == 0)
		return;
	if (app != NULL) {
		n = app_count(app);
		if (n >= cfg->scale_min && n <= max)
			cfg->instances = n;
	}
	if (cfg->instances < cfg->scale_min)
		cfg->instances = cfg->scale_min;
	if (cfg->instances > max)
		cfg->instances = max;
}

static void
autoscale_decide(struct autoscale *as, enum autoscale_reason why,
    const char *fmt, ...) PRINTFLIKE(3, 4);

/* Applies one decision: one instance more or less, logged and counted. */
static void
autoscale_decide(struct autoscale *as, enum autoscale_reason why,
    const char *fmt, ...)
{
	struct app *app = as->app;
	long long n = app_count(app);
	long long to = why <= AUTOSCALE_UP_MIN ? n + 1 : n - 1;
	char text[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	snprintf(as->last, sizeof as->last, "%lld -> %lld: %s", n, to, text);
	as->last_at = now_ms();
	app->counters.scaled[why]++;
	log_info("%s: autoscale %s", app->cfg.name, as->last);
	as->high_since = as->calm_since = 0;
	app_scale(app, to, NULL, NULL);
}

/* One sample of the load: queue of the held TCP sockets, CPU use. */
static void
autoscale_sample(struct autoscale *as)
{
	struct app *app = as->app;
	struct instance *inst;
	struct sockstat st;
	double cap, sum = 0;
	size_t i;
	int running = 0;

	as->queue = 0;
	as->have_queue = 0;
	for (i = 0; i < app->nlisteners; i++) {
		if (app->listeners[i].fd == -1 ||
		    sockstat_read(app->listeners[i].fd, &st) == -1)
			continue;
		as->have_queue = 1;
		as->queue += st.queue;
	}
	cap = app->cfg.limits.cpu_milli > 0 ?
	    app->cfg.limits.cpu_milli / 10.0 : 100.0;
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (inst->child == NULL || inst->state != INST_ONLINE)
			continue;
		limits_sample(inst);
		sum += inst->cpu;
		running++;
	}
	as->cpu = running > 0 ? 100.0 * sum / cap / running : 0;
}

/*
 * Whether the app is between changes (no reload, nobody on the way) and
 * running: an app somebody stopped, or whose instances all failed, is
 * left alone.
 */
static int
autoscale_quiet(const struct app *app)
{
	const struct instance *inst;
	int online = 0;

	TAILQ_FOREACH(inst, &app->instances, entry)
		online += inst->state == INST_ONLINE && !fsm_deleting(inst);
	return online > 0 && app->reload == NULL && app_settled(app);
}

static void
autoscale_load(struct autoscale *as, long long n, long long max,
    uint64_t now)
{
	const struct app_config *c = &as->app->cfg;
	int hq = as->have_queue && as->queue > (uint32_t)c->scale_queue;
	int hc = as->cpu >= (double)c->scale_cpu;
	char dur[32];

	if (!as->high_since) {
		as->high_since = now;
		as->peak_queue = 0;
		as->peak_cpu = 0;
	}
	if (as->queue > as->peak_queue)
		as->peak_queue = as->queue;
	if (as->cpu > as->peak_cpu)
		as->peak_cpu = as->cpu;
	if (now - as->high_since < c->scale_up_window || n >= max)
		return;
	format_duration(c->scale_up_window, dur, sizeof dur);
	if (hq)
		autoscale_decide(as, AUTOSCALE_UP_QUEUE, "accept queue above "
		    "%lld for %s (peak %u)", c->scale_queue, dur,
		    as->peak_queue);
	else if (hc)
		autoscale_decide(as, AUTOSCALE_UP_CPU, "CPU at %.0f%% or more "
		    "of the instances' for %s (peak %.0f%%)", (double)
		    c->scale_cpu, dur, as->peak_cpu);
}

static void
autoscale_calm(struct autoscale *as, long long n, uint64_t now)
{
	const struct app_config *c = &as->app->cfg;
	double after = n > 1 ? as->cpu * (double)n / (double)(n - 1) : 0;
	char dur[32];

	if (as->queue > 0 || n <= c->scale_min ||
	    after >= c->scale_cpu * AUTOSCALE_CALM_ROOM) {
		as->calm_since = 0;
		return;
	}
	if (!as->calm_since)
		as->calm_since = now;
	if (now - as->calm_since < c->scale_down_window)
		return;
	format_duration(c->scale_down_window, dur, sizeof dur);
	autoscale_decide(as, AUTOSCALE_DOWN_CALM, "calm for %s (empty accept "
	    "queue, CPU %.0f%%)", dur, as->cpu);
}

static void
autoscale_tick(uv_timer_t *t)
{
	struct autoscale *as = t->data;
	struct app *app = as->app;
	const struct app_config *c;
	long long n, max;
	uint64_t now = mono_ms();

	if (app == NULL || app->deleted || D.shutting_down)
		return;
	c = &app->cfg;
	if (!autoscale_quiet(app)) {
		as->high_since = as->calm_since = 0;
		return;
	}
	n = app_count(app);
	max = autoscale_max(c);
	if (n < c->scale_min) {
		autoscale_decide(as, AUTOSCALE_UP_MIN, "below the minimum %lld",
		    c->scale_min);
		return;
	}
	if (n > max) {
		autoscale_decide(as, AUTOSCALE_DOWN_MAX, "above the maximum "
		    "%lld", max);
		return;
	}
	autoscale_sample(as);
	if ((as->have_queue && as->queue > (uint32_t)c->scale_queue) ||
	    as->cpu >= (double)c->scale_cpu) {
		as->calm_since = 0;
		autoscale_load(as, n, max, now);
	} else {
		as->high_since = 0;
		autoscale_calm(as, n, now);
	}
}

/* A fifth of the shortest window, from 100 ms to 1 s. */
static uint64_t
autoscale_interval(const struct app_config *c)
{
	uint64_t w = c->scale_up_window < c->scale_down_window ?
	    c->scale_up_window : c->scale_down_window;

	w /= 5;
	return w < 100 ? 100 : w > 1000 ? 1000 : w;
}

static void
autoscale_closed(uv_handle_t *h)
{
	free(h->data);
}

void
autoscale_stop(struct app *app)
{
	struct autoscale *as = app->autoscale;

	if (as == NULL)
		return;
	app->autoscale = NULL;
	as->app = NULL;
	uv_close((uv_handle_t *)&as->timer, autoscale_closed);
}

/*
 * Starts or stops the app's autoscaling as its settings say (at creation,
 * after `set` or a reload of its file); a changed window takes effect.
 */
void
autoscale_sync(struct app *app)
{
	struct autoscale *as = app->autoscale;
	uint64_t ms = autoscale_interval(&app->cfg);

	if (app->cfg.scale_max == 0 || app->deleted) {
		autoscale_stop(app);
		return;
	}
	if (as != NULL && as->interval == ms)
		return;
	if (as == NULL) {
		as = xcalloc(1, sizeof *as);
		timer_init(D.loop, &as->timer);
		as->timer.data = as;
		as->app = app;
		app->autoscale = as;
		log_info("%s: autoscale between %lld and %lld instances",
		    app->cfg.name, app->cfg.scale_min,
		    autoscale_max(&app->cfg));
	}
	as->interval = ms;
	(void)timer_start(&as->timer, autoscale_tick, ms, ms);
	uv_unref((uv_handle_t *)&as->timer);
}

/* The "autoscale" object of describe, or NULL when the app does not scale. */
json_t *
autoscale_json(const struct app *app)
{
	const struct autoscale *as = app->autoscale;
	uint64_t now = mono_ms();

	if (as == NULL)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:f, s:b, s:I, s:I, s:s?, s:I}",
	    "min", (json_int_t)app->cfg.scale_min,
	    "max", (json_int_t)autoscale_max(&app->cfg),
	    "queue", (json_int_t)as->queue, "cpu", as->cpu,
	    "has_queue", as->have_queue,
	    "high_for_ms", (json_int_t)(as->high_since ? now - as->high_since :
	    0), "calm_for_ms", (json_int_t)(as->calm_since ?
	    now - as->calm_since : 0),
	    "last_decision", as->last[0] != '\0' ? as->last : NULL,
	    "last_decision_at", (json_int_t)as->last_at);
}
