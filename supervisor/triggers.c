/* SPDX-License-Identifier: ISC */
/*
 * What an app carries beyond its instances' state machines: the cron_restart
 * timer, the file watcher of `watch`, and the identity (`user`, `group`) its
 * instances take at exec. triggers_check() validates these when an app is
 * declared, so that a mistake is an error reply; triggers_start() and
 * triggers_stop() follow the app's life. A cron or watch trigger restarts
 * the instances that run (starting, online or waiting to restart); stopped
 * and errored ones are left alone.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "corrald.h"

#define TRIGGERS_CRON_MAX_WAIT (3600 * 1000)   /* re-check the clock hourly */

struct triggers {
	struct app *app;                /* NULL once the app stopped them */
	struct cron cron;
	int has_cron;
	uv_timer_t cron_timer;
	int timer_open;
	time_t next_fire;
	struct watch *watch;
	struct privdrop priv;
	char *unresolved;               /* why priv could not be resolved */
};

static json_t *triggers_list(const char *);

/* Checks that every watched path exists (relative to the cwd). */
static int
triggers_check_watch(const struct app_config *c, char **cause)
{
	json_t *paths = triggers_list(c->watch), *v;
	struct stat st;
	char *p;
	size_t i;
	int rc = 0;

	json_array_foreach(paths, i, v) {
		if (json_string_value(v)[0] == '/')
			p = xstrdup(json_string_value(v));
		else
			xasprintf(&p, "%s/%s", c->cwd, json_string_value(v));
		if (rc == 0 && stat(p, &st) == -1) {
			xasprintf(cause, "watch: %s: %s", json_string_value(v),
			    strerror(errno));
			rc = -1;
		}
		free(p);
	}
	json_decref(paths);
	return rc;
}

/* Checks cron_restart, the one setting here that needs no lookup. */
int
triggers_check_values(const struct app_config *c, char **cause)
{
	struct cron cron;

	if (c->cron_restart != NULL && cron_parse(c->cron_restart, &cron,
	    cause) == -1)
		return -1;
	return 0;
}

/* Checks what c names on this system: its watched paths, user, group. */
int
triggers_check_system(const struct app_config *c, char **cause)
{
	struct privdrop pd;
	int rc = 0;

	if (c->watch != NULL && c->cwd != NULL &&
	    triggers_check_watch(c, cause) == -1)
		return -1;
	if (c->user != NULL || c->group != NULL) {
		rc = privdrop_resolve(c->user, c->group, &pd, cause);
		privdrop_free(&pd);
	}
	return rc;
}

/* Checks user, group, watch and cron_restart of a new configuration. */
int
triggers_check(const struct app_config *c, char **cause)
{
	if (triggers_check_values(c, cause) == -1)
		return -1;
	return triggers_check_system(c, cause);
}

/* Restarts the running instances of the app; why goes to the log. */
static void
triggers_restart(struct app *app, const char *why)
{
	struct instance *inst, *next;
	int n = 0;

	TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next) {
		if (fsm_deleting(inst) || (inst->state != INST_ONLINE &&
		    inst->state != INST_STARTING &&
		    inst->state != INST_WAITING))
			continue;
		instance_set_reason(inst, "%s", why);
		fsm_event(inst, EV_RESTART);
		n++;
	}
	log_info("%s: %s, %d instance(s) restarted", app->cfg.name, why, n);
}

static void triggers_cron_arm(struct triggers *);

static void
triggers_cron_fire(uv_timer_t *t)
{
	struct triggers *tr = t->data;
	struct timespec ts;
	int due;

	if (tr->app == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	due = ts.tv_sec >= tr->next_fire;       /* else early, or clock moved */
	triggers_cron_arm(tr);
	if (due)
		triggers_restart(tr->app, "cron_restart");
}

/*
 * Waits for the next matching second, computed again at each wake-up from
 * the same clock (time(2) may run a tick behind CLOCK_REALTIME), in steps
 * of at most an hour so that a changed clock is noticed.
 */
static void
triggers_cron_arm(struct triggers *tr)
{
	struct timespec ts;
	uint64_t wait;

	clock_gettime(CLOCK_REALTIME, &ts);
	tr->next_fire = cron_next(&tr->cron, ts.tv_sec);
	if (tr->next_fire == -1) {
		log_warnx("%s: cron_restart '%s' never fires",
		    tr->app->cfg.name, tr->app->cfg.cron_restart);
		return;
	}
	wait = (uint64_t)(tr->next_fire - ts.tv_sec) * 1000 -
	    (uint64_t)ts.tv_nsec / 1000000;
	if (wait > TRIGGERS_CRON_MAX_WAIT)
		wait = TRIGGERS_CRON_MAX_WAIT;
	if (uv_timer_start(&tr->cron_timer, triggers_cron_fire, wait, 0) != 0)
		log_warnx("%s: cron_restart timer could not start",
		    tr->app->cfg.name);
}

static void
triggers_watch_fired(void *arg, const char *path)
{
	struct triggers *tr = arg;
	char *why;

	if (tr->app == NULL)
		return;
	xasprintf(&why, "watch: %s changed", path);
	triggers_restart(tr->app, why);
	free(why);
}

static json_t *
triggers_list(const char *s)
{
	json_t *a = json_array();
	char *copy, *w, *save = NULL;

	if (s == NULL)
		return a;
	copy = xstrdup(s);
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		w += strspn(w, " \t");
		while (*w != '\0' && strchr(" \t", w[strlen(w) - 1]) != NULL)
			w[strlen(w) - 1] = '\0';
		if (*w != '\0')
			json_array_append_new(a, json_str(w));
	}
	free(copy);
	return a;
}

static void
triggers_closed(uv_handle_t *h)
{
	free(h->data);
}

/*
 * Sets up the app's triggers. A watch that cannot start (a path vanished)
 * is logged and left off; the app runs anyway.
 */
void
triggers_start(struct app *app)
{
	struct triggers *tr = xcalloc(1, sizeof *tr);
	const struct app_config *c = &app->cfg;
	json_t *paths, *ignore;
	char *cause = NULL;

	tr->app = app;
	app->triggers = tr;
	if ((c->user != NULL || c->group != NULL) &&
	    privdrop_resolve(c->user, c->group, &tr->priv, &cause) == -1) {
		log_warnx("%s: %s", c->name, cause);
		tr->unresolved = cause;
		cause = NULL;
	}
	if (c->cron_restart != NULL && cron_parse(c->cron_restart, &tr->cron,
	    NULL) == 0 && uv_timer_init(D.loop, &tr->cron_timer) == 0) {
		tr->has_cron = tr->timer_open = 1;
		tr->cron_timer.data = tr;
		uv_unref((uv_handle_t *)&tr->cron_timer);
		triggers_cron_arm(tr);
	}
	if (c->watch != NULL) {
		paths = triggers_list(c->watch);
		ignore = triggers_list(c->ignore_watch);
		tr->watch = watch_create(D.loop, c->cwd, paths, ignore,
		    c->watch_delay, triggers_watch_fired, tr, &cause);
		if (tr->watch == NULL) {
			log_warnx("%s: %s", c->name, cause);
			free(cause);
		}
		json_decref(paths);
		json_decref(ignore);
	}
}

/* Stops the triggers; safe to call twice. */
void
triggers_stop(struct app *app)
{
	struct triggers *tr = app->triggers;

	if (tr == NULL)
		return;
	app->triggers = NULL;
	tr->app = NULL;
	watch_free(tr->watch);
	privdrop_free(&tr->priv);
	free(tr->unresolved);
	if (tr->timer_open)
		uv_close((uv_handle_t *)&tr->cron_timer, triggers_closed);
	else
		free(tr);
}

/* Replaces a variable of a NULL-terminated KEY=VALUE vector (owned). */
static char **
triggers_setenv(char **envp, const char *key, const char *value)
{
	size_t i, len = strlen(key);
	char *s;

	xasprintf(&s, "%s=%s", key, value);
	for (i = 0; envp[i] != NULL; i++) {
		if (strncmp(envp[i], key, len) == 0 && envp[i][len] == '=') {
			free(envp[i]);
			envp[i] = s;
			return envp;
		}
	}
	envp = xreallocarray(envp, i + 2, sizeof *envp);
	envp[i] = s;
	envp[i + 1] = NULL;
	return envp;
}

/*
 * An identity that could not be resolved when the app was declared (its
 * user gone when it was restored: app_declare()) is looked up again at
 * each spawn; while it still cannot be, the plan is refused with the
 * reason, so that the app never runs as the daemon's own user instead.
 */
static void
triggers_identity(struct app *app, struct triggers *tr,
    struct spawn_plan *plan)
{
	char *cause = NULL;

	if (tr == NULL || tr->unresolved == NULL)
		return;
	privdrop_free(&tr->priv);
	if (privdrop_resolve(app->cfg.user, app->cfg.group, &tr->priv,
	    &cause) == -1) {
		free(tr->unresolved);
		tr->unresolved = cause;
		plan->refused = tr->unresolved;
		return;
	}
	log_info("%s: its user and group are known again", app->cfg.name);
	free(tr->unresolved);
	tr->unresolved = NULL;
}

/*
 * What a spawn plan of the app gets from here: none of the daemon's own
 * systemd variables in plan->envp; when the app runs as another user,
 * that identity (uid, gid and the supplementary groups, which stay the
 * triggers' while the app lives) and HOME, USER and LOGNAME for it; or
 * plan->refused (the triggers' text) when that identity is unknown.
 */
void
triggers_spawn(struct app *app, struct spawn_plan *plan)
{
	struct triggers *tr = app->triggers;
	char **envp = plan->envp;
	size_t i, j, len;
	const char *own;

	triggers_identity(app, tr, plan);

	for (i = j = 0; envp[i] != NULL; i++) {
		len = strcspn(envp[i], "=");
		if (sdnotify_private_env(envp[i], len)) {
			char *name = xstrndup(envp[i], len);

			own = getenv(name);
			free(name);
			if (own != NULL && strcmp(envp[i] + len + 1, own) == 0) {
				free(envp[i]);
				continue;
			}
		}
		envp[j++] = envp[i];
	}
	envp[j] = NULL;
	if (tr != NULL && tr->priv.active) {
		plan->drop_privs = 1;
		plan->uid = tr->priv.uid;
		plan->gid = tr->priv.gid;
		plan->groups = tr->priv.groups;
		plan->ngroups = tr->priv.ngroups;
		if (tr->priv.home != NULL)
			envp = triggers_setenv(envp, "HOME", tr->priv.home);
		if (tr->priv.name != NULL) {
			envp = triggers_setenv(envp, "USER", tr->priv.name);
			envp = triggers_setenv(envp, "LOGNAME", tr->priv.name);
		}
	}
	plan->envp = envp;
}

/*
 * For describe: the config file the app came from, when the next cron
 * restart is due (ms since the epoch) and how many paths are watched.
 */
void
triggers_describe(const struct app *app, json_t *o)
{
	const struct triggers *tr = app->triggers;

	if (app->source != NULL)
		json_object_set_new(o, "source", json_str(app->source));
	if (tr == NULL)
		return;
	if (tr->has_cron && tr->next_fire > 0)
		json_object_set_new(o, "next_cron_restart",
		    json_integer((json_int_t)tr->next_fire * 1000));
	if (tr->watch != NULL)
		json_object_set_new(o, "watched_paths",
		    json_integer((json_int_t)watch_count(tr->watch)));
}
