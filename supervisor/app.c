/* SPDX-License-Identifier: ISC */
/*
 * The life of an app, and its registry: declaring one (after the one set
 * of checks of `start`, config files and resurrect: app-check.c), giving it a new
 * configuration, scaling it, deleting it or one of its instances (which
 * stops them and frees the app once nothing refers to it); lookup by name
 * or id (hash tables: O(1) with 10,000 apps) and the targets of a command
 * ("api", "3", "all"). The cmd-*.c files parse and reply; the work is here.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "engine.h"

static const char *app_state_names[INST_NSTATES] = {
	"stopped", "starting", "online", "stopping", "waiting-restart",
	"errored",
};

const char *
app_state_name(enum inst_state s)
{
	return app_state_names[s];
}

/* Takes ownership of *cfg (which is left empty). */
static struct app *
app_create(struct app_config *cfg)
{
	struct app *app = xcalloc(1, sizeof *app);
	long long i;

	app->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	autoscale_keep(NULL, &app->cfg);
	TAILQ_INIT(&app->instances);
	app->refs = 1;
	TAILQ_INSERT_TAIL(&D.apps, app, entry);
	hmap_add(&D.app_names, hmap_hash(app->cfg.name), app);
	for (i = 0; i < app->cfg.instances; i++)
		instance_create(app, (int)i);
	triggers_start(app);
	autoscale_sync(app);
	state_changed();
	engine_stop_time();
	return app;
}

void
app_ref(struct app *app)
{
	app->refs++;
}

void
app_unref(struct app *app)
{
	if (--app->refs > 0)
		return;
	triggers_stop(app);
	autoscale_stop(app);
	free(app->source);
	free(app->problem);
	free(app->state_cfg);
	logsink_close(app);
	cluster_app_close(app);
	appcfg_free(&app->cfg);
	free(app);
}

static int
app_named(const void *app, const void *name)
{
	return strcmp(((const struct app *)app)->cfg.name, name) == 0;
}

/* The declared (not deleted) app of this name, or NULL. */
struct app *
app_find(const char *name)
{
	return hmap_find(&D.app_names, hmap_hash(name), app_named, name);
}

/* The instance with this id; with any, also one being deleted. */
struct instance *
app_find_instance(int id, int any)
{
	struct instance *inst;

	if (id < 0 || (inst = hmap_find(&D.inst_ids, (uint64_t)id, NULL,
	    NULL)) == NULL)
		return NULL;
	return any || !fsm_deleting(inst) ? inst : NULL;
}

/* Makes inst findable under id (its id from now on). */
void
app_index_instance(struct instance *inst, int id)
{
	inst->id = id;
	hmap_add(&D.inst_ids, (uint64_t)id, inst);
}

void
app_unindex_instance(struct instance *inst)
{
	hmap_remove(&D.inst_ids, (uint64_t)inst->id, inst);
}

/*
 * Appends inst to *v, grown only through here from NULL and 0: its room
 * doubles when *n reaches a power of two (a realloc per element made
 * "stop all" of 500 spend milliseconds before its first signal).
 */
static void
app_push(struct instance ***v, size_t *n, struct instance *inst)
{
	if ((*n & (*n - 1)) == 0)
		*v = xreallocarray(*v, *n == 0 ? 1 : *n * 2, sizeof **v);
	(*v)[(*n)++] = inst;
}


/*
 * The instances a command's target names: "all", an app name or an
 * instance id. Returns -1 with *cause set when nothing matches; the caller
 * frees *v.
 */
int
app_targets(const char *target, struct instance ***v, size_t *n, char **cause)
{
	struct app *app;
	struct instance *inst;
	long long id;
	int all = strcmp(target, "all") == 0;

	*v = NULL;
	*n = 0;
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (!app->deleted && (all ||
		    strcmp(app->cfg.name, target) == 0))
			app_instances(app, v, n);
	}
	if (*n == 0 && !all && parse_int(target, 0, 1 << 30, &id, NULL) == 0 &&
	    (inst = app_find_instance((int)id, 0)) != NULL)
		app_push(v, n, inst);
	if (*n == 0 && !all) {
		xasprintf(cause, "no app or id '%s'", target);
		return -1;
	}
	return 0;
}

/* Stops every instance; the app goes once the last one has stopped. */
void
app_delete(struct app *app)
{
	struct instance *inst, *next;

	if (app->deleted)
		return;
	app->deleted = 1;
	state_changed();
	hmap_remove(&D.app_names, hmap_hash(app->cfg.name), app);
	triggers_stop(app);
	autoscale_stop(app);
	log_info("%s: deleted", app->cfg.name);
	TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next) {
		fsm_event(inst, EV_DELETE);
	}
	app_release(app);
}

/* Drops a deleted app from the registry once its last instance is gone. */
void
app_release(struct app *app)
{
	if (!app->deleted || !TAILQ_EMPTY(&app->instances) || app->released)
		return;
	app->released = 1;
	TAILQ_REMOVE(&D.apps, app, entry);
	app_unref(app);
	engine_stop_time();
}

/* True when no instance is on its way somewhere. */
int
app_settled(const struct app *app)
{
	const struct instance *inst;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (inst->state == INST_STARTING ||
		    inst->state == INST_STOPPING)
			return 0;
	}
	return 1;
}

/* Instances of app that stay (not being deleted). */
long long
app_count(const struct app *app)
{
	const struct instance *inst;
	long long n = 0;

	TAILQ_FOREACH(inst, &app->instances, entry)
		n += !fsm_deleting(inst);
	return n;
}

/*
 * The ids of v's n instances (the caller frees). An event may free
 * instances: whoever feeds events to several holds ids and looks each one
 * up again (app_feed()).
 */
int *
app_ids(struct instance **v, size_t n)
{
	int *ids = xcalloc(n + 1, sizeof *ids);
	size_t i;

	for (i = 0; i < n; i++)
		ids[i] = v[i]->id;
	return ids;
}

/* Feeds ev to each instance of ids that still exists. */
void
app_feed(const int *ids, size_t n, enum inst_event ev)
{
	struct instance *inst;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((inst = app_find_instance(ids[i], 1)) != NULL)
			fsm_event(inst, ev);
	}
}

/* Adds the instances of app that stay to *v (*n of them). */
void
app_instances(struct app *app, struct instance ***v, size_t *n)
{
	struct instance *inst;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (!fsm_deleting(inst))
			app_push(v, n, inst);
	}
}

/*
 * Declares a new app from cfg, taken whatever the outcome. source is the
 * config file it comes from, or NULL. With APP_BIND_NOW its sockets are
 * bound now, so that a start fails at once on a taken port (otherwise the
 * first spawn binds them); with APP_RESTORED it passes
 * app_check_restored() instead of app_check(). Its instances are created
 * stopped. Returns the app, or NULL with *cause set.
 */
struct app *
app_declare(struct app_config *cfg, const char *source, int flags,
    char **cause)
{
	struct app *app;
	char *why = NULL, *problem = NULL;

	if (((flags & APP_RESTORED) ? app_check_restored(cfg, &problem,
	    cause) : app_check(cfg, cause)) == -1) {
		appcfg_free(cfg);
		return NULL;
	}
	if (app_find(cfg->name) != NULL) {
		xasprintf(cause, "an app named '%s' exists already (restart "
		    "it, or use --name)", cfg->name);
		free(problem);
		appcfg_free(cfg);
		return NULL;
	}
	if (problem != NULL)
		log_warnx("%s: restored, but a new start would fail: %s",
		    cfg->name, problem);
	app = app_create(cfg);
	app->problem = problem;
	if (source != NULL)
		app->source = xstrdup(source);
	if ((flags & APP_BIND_NOW) && cluster_app_open(app, cause) == -1) {
		app_delete(app);
		return NULL;
	}
	if (logsink_open(app, &why) == -1) {
		log_warnx("%s: %s", app->cfg.name, why);
		free(why);
	}
	stats_wake();   /* max_memory_restart, or log files to try again */
	if (source != NULL)
		log_info("%s: declared from %s", app->cfg.name, source);
	else
		log_info("%s: declared, %lld instance(s) of %s", app->cfg.name,
		    app->cfg.instances, app->cfg.script);
	return app;
}

/*
 * Sets the number of instances to target: those of index target and above
 * are deleted, the missing indices below target get new instances, left
 * stopped and added to *added (unless added is NULL).
 */
static void
app_resize(struct app *app, long long target, struct instance ***added,
    size_t *nadded)
{
	struct instance *inst, **gone = NULL;
	char *have = xcalloc((size_t)target + 1, 1);
	size_t ngone = 0;
	long long i;
	int *ids;

	app->cfg.instances = target;
	state_changed();
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (fsm_deleting(inst))
			continue;
		if (inst->index >= target)
			app_push(&gone, &ngone, inst);
		else
			have[inst->index] = 1;
	}
	ids = app_ids(gone, ngone);
	app_feed(ids, ngone, EV_DELETE);
	for (i = 0; i < target; i++) {
		if (have[i])
			continue;
		inst = instance_create(app, (int)i);
		if (added != NULL)
			app_push(added, nadded, inst);
	}
	free(ids);
	free(gone);
	free(have);
}

/*
 * Scales app to target instances: the new ones are started, those of the
 * highest indices deleted (stopped gracefully). With ids, *ids gets the
 * ids of every instance of the app before the change and of the new ones
 * (*n of them; the caller frees), for a reply that waits for them.
 */
void
app_scale(struct app *app, long long target, int **ids, size_t *n)
{
	struct instance **v = NULL, **added = NULL;
	size_t nv = 0, nadded = 0;
	int *v_ids, *added_ids;

	app_instances(app, &v, &nv);
	v_ids = app_ids(v, nv);
	app_resize(app, target, &added, &nadded);
	added_ids = app_ids(added, nadded);
	app_feed(added_ids, nadded, EV_START);
	if (ids != NULL) {
		v_ids = xreallocarray(v_ids, nv + nadded + 1, sizeof *v_ids);
		memcpy(v_ids + nv, added_ids, nadded * sizeof *added_ids);
		*ids = v_ids;
		*n = nv + nadded;
	} else
		free(v_ids);
	free(added_ids);
	free(added);
	free(v);
}

/*
 * Gives app the configuration cfg (taken): the triggers follow, instances
 * past the new count are deleted, those kept are added to kept (unless
 * NULL) and new ones are created (stopped) and added to added. Sockets
 * are opened again only when their list changed.
 */
void
app_reconfigure(struct app *app, struct app_config *cfg,
    struct instance ***kept, size_t *nkept, struct instance ***added,
    size_t *nadded)
{
	struct instance *inst;

	triggers_stop(app);
	if (pm2compat_cluster(cfg)) {
		/* What the instances bound on demand stays theirs. */
		json_decref(cfg->listen_bound);
		cfg->listen_bound = json_deep_copy(app->cfg.listen_bound);
	}
	if (json_equal(app->cfg.listen, cfg->listen))
		ready_spec_clear(&app->ready);
	else
		cluster_app_close(app);
	appcfg_free(&app->cfg);
	app->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	free(app->problem);             /* cfg passed app_check() */
	app->problem = NULL;
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (kept != NULL && !fsm_deleting(inst) &&
		    inst->index < app->cfg.instances)
			app_push(kept, nkept, inst);
	}
	app_resize(app, app->cfg.instances, added, nadded);
	triggers_start(app);
	autoscale_sync(app);
	engine_stop_time();
	log_info("%s: configuration applied", app->cfg.name);
}

/* Deletes one instance; its app keeps the others (one fewer of them). */
void
app_delete_instance(struct instance *inst)
{
	inst->app->cfg.instances--;
	state_changed();                /* a configuration changed */
	fsm_event(inst, EV_DELETE);
}

/*
 * Deletes what the instances of ids belong to: their whole apps, or with
 * one_id the instance alone while its app has others.
 */
void
app_delete_ids(const int *ids, size_t n, int one_id)
{
	struct instance *inst;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((inst = app_find_instance(ids[i], 0)) == NULL)
			continue;
		if (one_id && inst->app->cfg.instances > 1)
			app_delete_instance(inst);
		else
			app_delete(inst->app);
	}
}
