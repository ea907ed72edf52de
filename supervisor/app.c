/* SPDX-License-Identifier: ISC */
/*
 * The registry of apps: creation with their instances, lookup by name or
 * id (hash tables: O(1) with 10,000 apps), the targets of a command
 * ("api", "3", "all"), and deletion, which stops every instance and frees
 * the app once nothing refers to it.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

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
struct app *
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

static void
app_push(struct instance ***v, size_t *n, struct instance *inst)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
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
		if (app->deleted || (!all && strcmp(app->cfg.name, target) != 0))
			continue;
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (!fsm_deleting(inst))
				app_push(v, n, inst);
		}
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
}

/* True when no instance is on its way somewhere. */
int
app_settled(const struct app *app)
{
	const struct instance *inst;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (inst->state == INST_STARTING || inst->state == INST_STOPPING)
			return 0;
	}
	return 1;
}
