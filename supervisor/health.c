/* SPDX-License-Identifier: ISC */
/*
 * Liveness checks (--health): every health_interval, each online instance
 * of an app with a check is probed (http and tcp as readiness probes are,
 * ready.c; exec by probe-exec.c), one check at a time, each bounded by
 * health_timeout. health_threshold failures in a row replace the
 * instance as a reload would (reload_instance: the new process first, the
 * old one stopped once the new one is ready) when the app holds sockets,
 * else by a graceful restart, since an app that binds its own port could
 * not start beside the old one. The reason stays on the instance (and
 * goes to its replacement) for ls and describe; the counts go to the
 * metrics.
 *
 * A check belongs to one run of an instance: made at spawn with the
 * settings and environment of that spawn, gone at exit. It never touches
 * the instance after health_exited(); its probe in flight is cancelled
 * there, so no callback comes later. A probe that ends once the instance
 * is no longer online (stopping, restarting, deleted) counts for nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

struct health_check {
	uv_timer_t timer;
	struct instance *inst;          /* NULL once the run ended */
	struct health_spec spec;
	char *text;                     /* the spec as written */
	uint64_t timeout;
	long long threshold;
	json_t *env;                    /* the run's environment */
	struct ready_wait *wait;        /* http or tcp check in flight */
	struct probe_exec *exec;        /* exec check in flight */
	int failures;                   /* in a row */
	int last;                       /* HEALTH_ST_* */
	int replacing;                  /* threshold reached */
	char error[192];                /* why the last check failed */
};

#define HEALTH_ST_UNKNOWN 2             /* not checked yet */

static void
health_closed(uv_handle_t *h)
{
	struct health_check *hc = h->data;

	health_spec_clear(&hc->spec);
	free(hc->text);
	json_decref(hc->env);
	free(hc);
}

/* Replaces the instance whose checks failed; tried again at the next tick. */
static void
health_replace(struct health_check *hc)
{
	struct instance *inst = hc->inst;
	struct app *app = inst->app;
	char *cause = NULL;

	if (app->reload != NULL)
		return;         /* the reload replaces it, or it comes back */
	if (!hc->replacing) {
		hc->replacing = 1;
		app->counters.health_replaced++;
		instance_set_reason(inst, "health check failed %d time%s in a "
		    "row: %s", hc->failures, hc->failures == 1 ? "" : "s",
		    hc->error);
		inst->keep_reason = 1;
		log_warnx("%s[%d]: replacing pid %d: %s", app->cfg.name,
		    inst->index, inst->pid, inst->reason);
	}
	if (app->nlisteners == 0) {
		fsm_event(inst, EV_RESTART);
		return;
	}
	if (reload_instance(inst, &cause) == -1) {
		log_warnx("%s[%d]: %s", app->cfg.name, inst->index, cause);
		free(cause);
	}
}

static void
health_result(struct health_check *hc, int ok, const char *why)
{
	struct instance *inst = hc->inst;
	struct app *app = inst->app;

	if (ok) {
		app->counters.health_ok++;
		if (hc->failures > 0)
			log_info("%s[%d]: health check passes again",
			    app->cfg.name, inst->index);
		hc->failures = 0;
		hc->last = 1;
		return;
	}
	app->counters.health_failed++;
	hc->failures++;
	hc->last = 0;
	/* A probe's timeout speaks of readiness: say it of this check. */
	if (strncmp(why, "not ready after ", 16) == 0)
		snprintf(hc->error, sizeof hc->error, "no success within %s",
		    why + 16);
	else
		snprintf(hc->error, sizeof hc->error, "%s", why);
	log_info("%s[%d]: health check failed (%d of %lld): %s",
	    app->cfg.name, inst->index, hc->failures, hc->threshold,
	    hc->error);
	if (hc->failures >= hc->threshold)
		health_replace(hc);
}

/*
 * A probe started while the instance was online may end after a stop,
 * restart or delete began (or the daemon's shutdown): its result is
 * dropped then, since a replacement would undo that stop (a restart left
 * pending, or a new process beside the stopping one).
 */
static void
health_probe_done(void *arg, int ok, const char *why)
{
	struct health_check *hc = arg;
	struct instance *inst = hc->inst;

	hc->wait = NULL;
	hc->exec = NULL;
	if (inst == NULL)
		return;
	if (inst->state != INST_ONLINE || fsm_deleting(inst)) {
		log_debug("%s[%d] id %d: health check %s, ignored: the "
		    "instance is %s", inst->app->cfg.name, inst->index,
		    inst->id, ok ? "passed" : "failed",
		    app_state_name(inst->state));
		return;
	}
	health_result(hc, ok, why != NULL ? why : "");
}

/*
 * Starts an exec: check: /bin/sh -c CMD as the app's user (through
 * corral-exec, as the app's processes: spawn.c), in its cwd.
 */
static void
health_exec(struct health_check *hc)
{
	struct instance *inst = hc->inst;
	struct app_config *c = &inst->app->cfg;
	struct spawn_plan plan;
	uv_process_options_t o;
	json_t *extra = json_deep_copy(hc->env);
	char *script, **wrapped, *cause = NULL;
	char sh[] = "/bin/sh", dash_c[] = "-c", *argv[4];

	json_object_set_new(extra, "CORRAL_PID", json_sprintf("%d",
	    inst->pid));
	memset(&plan, 0, sizeof plan);
	plan.cgroup_dirfd = -1;
	plan.envp = appcfg_envp(c, inst->index, inst->id, extra);
	json_decref(extra);
	xasprintf(&script, "exec 2>&1\n%s", hc->spec.cmd);
	argv[0] = sh;
	argv[1] = dash_c;
	argv[2] = script;
	argv[3] = NULL;
	plan.argv = argv;
	plan.cwd = c->cwd;
	triggers_spawn(inst->app, &plan);
	memset(&o, 0, sizeof o);
	if (spawn_plan_options(&plan, &o, &wrapped, &cause) == 0)
		hc->exec = probe_exec_start(D.loop, &o, hc->timeout,
		    health_probe_done, hc, &cause);
	appcfg_strv_free(wrapped);
	appcfg_strv_free(plan.envp);
	free(script);
	if (hc->exec == NULL) {
		health_result(hc, 0, cause);
		free(cause);
	}
}

static void
health_tick(uv_timer_t *t)
{
	struct health_check *hc = t->data;
	struct instance *inst = hc->inst;

	if (inst == NULL || hc->wait != NULL || hc->exec != NULL ||
	    inst->state != INST_ONLINE || fsm_deleting(inst))
		return;
	if (hc->replacing) {
		health_replace(hc);
		return;
	}
	if (hc->spec.kind == HEALTH_EXEC)
		health_exec(hc);
	else
		hc->wait = ready_start(D.loop, &hc->spec.probe, hc->env,
		    hc->timeout, health_probe_done, hc);
}

/*
 * A process of inst was spawned with environment env (an object): its
 * checks start if the app has one, the first after one interval.
 */
void
health_spawned(struct instance *inst, json_t *env)
{
	const struct app_config *c = &inst->app->cfg;
	struct health_check *hc;
	char *cause = NULL;

	health_exited(inst);
	if (c->health == NULL)
		return;
	hc = xcalloc(1, sizeof *hc);
	if (health_parse(c->health, &hc->spec, &cause) == -1) {
		log_warnx("%s: %s", c->name, cause);
		free(cause);
		free(hc);
		return;
	}
	hc->text = xstrdup(c->health);
	hc->timeout = c->health_timeout > 0 ? c->health_timeout : 1;
	hc->threshold = c->health_threshold;
	hc->env = json_incref(env);
	hc->last = HEALTH_ST_UNKNOWN;
	hc->inst = inst;
	timer_init(D.loop, &hc->timer);
	hc->timer.data = hc;
	(void)timer_start(&hc->timer, health_tick, c->health_interval > 0 ?
	    c->health_interval : 1000, c->health_interval > 0 ?
	    c->health_interval : 1000);
	inst->health = hc;
}

/* The run of inst ended (or inst goes): its checks stop. */
void
health_exited(struct instance *inst)
{
	struct health_check *hc = inst->health;

	if (hc == NULL)
		return;
	inst->health = NULL;
	hc->inst = NULL;
	ready_cancel(hc->wait);
	probe_exec_cancel(hc->exec);
	hc->wait = NULL;
	hc->exec = NULL;
	uv_close((uv_handle_t *)&hc->timer, health_closed);
}

/*
 * -1 when inst has no check; else 1 when its last check passed, 0 when it
 * failed, HEALTH_ST_UNKNOWN before the first; *failures: in a row.
 */
int
health_status(const struct instance *inst, int *failures)
{
	if (inst->health == NULL)
		return -1;
	*failures = inst->health->failures;
	return inst->health->last;
}

/* The "health" object of an instance in ls and describe, or NULL. */
json_t *
health_json(const struct instance *inst)
{
	const struct health_check *hc = inst->health;
	const char *status;

	if (hc == NULL)
		return NULL;
	status = hc->replacing ? "replacing" : hc->last == 1 ? "ok" :
	    hc->last == 0 ? "failing" : "unknown";
	/* The check's text and error may hold any bytes (jsonb.c). */
	return json_pack("{s:o, s:s, s:i, s:I, s:o?}", "check",
	    json_str(hc->text), "status", status, "failures", hc->failures,
	    "threshold", (json_int_t)hc->threshold,
	    "last_error", hc->failures > 0 ? json_str(hc->error) : NULL);
}
