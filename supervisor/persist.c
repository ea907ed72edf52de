/* SPDX-License-Identifier: ISC */
/*
 * The saved app list behind `corral save`, `corral resurrect` and
 * `corrald --resurrect`: each app's declared configuration (never the
 * caller's whole environment), where it came from, and whether it ran.
 * The file itself (atomic write, .bak, fallback) is common/dump.c.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

extern char **environ;

/* dump.json's path (the caller frees it). */
char *
persist_path(void)
{
	return paths_file(D.home, "dump.json");
}

/* An app counts as stopped only when every instance is stopped. */
int
persist_app_running(const struct app *app)
{
	const struct instance *inst;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (!fsm_deleting(inst) && inst->state != INST_STOPPED)
			return 1;
	}
	return 0;
}

/*
 * One app as dump.json and state.json save it (a new reference): its
 * declared configuration, "state" (running or stopped) and "source".
 */
json_t *
persist_app_json(const struct app *app)
{
	json_t *o = appcfg_to_json(&app->cfg);

	json_object_set_new(o, "state", json_str(
	    persist_app_running(app) ? "running" : "stopped"));
	if (app->source != NULL)
		json_object_set_new(o, "source", json_str(app->source));
	return o;
}

/*
 * What dump.json is to hold now (the caller owns it; dump_write() writes
 * it), with the number of apps in *n.
 */
json_t *
persist_dump(int *n)
{
	json_t *apps = json_array();
	struct app *app;

	*n = 0;
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		json_array_append_new(apps, persist_app_json(app));
		(*n)++;
	}
	return json_pack("{s:i, s:I, s:s, s:o}", "version", 1, "saved_at",
	    (json_int_t)now_ms(), "corral", CORRAL_VERSION, "apps", apps);
}

/* The daemon's environment without the variables systemd gave it. */
json_t *
persist_daemon_env(void)
{
	json_t *env = json_object();
	char **e, *key;
	const char *eq;

	for (e = environ; *e != NULL; e++) {
		if ((eq = strchr(*e, '=')) == NULL ||
		    sdnotify_private_env(*e, (size_t)(eq - *e)))
			continue;
		key = xstrndup(*e, (size_t)(eq - *e));
		json_object_set_new_nocheck(env, key, json_str(eq + 1));
		free(key);
	}
	return env;
}

/*
 * The configuration of one saved app (an object of persist_app_json(),
 * not changed) with env (an object, shared: see app_config.env) into
 * *cfg, which the caller frees whatever the outcome. Returns 0, or -1
 * with *cause (may stay NULL when a required key is missing).
 */
int
persist_app_config(json_t *saved, json_t *env, struct app_config *cfg,
    char **cause)
{
	json_t *o = json_copy(saved);
	int rc;

	json_object_del(o, "state");
	json_object_del(o, "source");
	appcfg_init(cfg);
	json_decref(cfg->env);
	cfg->env = json_incref(env);    /* shared: see app_config.env */
	rc = appcfg_from_json(cfg, o, cause);
	json_decref(o);
	if (rc == -1 || cfg->name == NULL || cfg->script == NULL ||
	    cfg->cwd == NULL)
		return -1;
	return 0;
}

/* Declares one saved app; adds its instances to v when it ran. */
static void
persist_app(json_t *saved, json_t *env, struct instance ***v, size_t *n,
    char **msg)
{
	struct app_config cfg;
	struct app *app = NULL;
	const char *name = json_string_value(json_object_get(saved, "name"));
	const char *state = json_string_value(json_object_get(saved, "state"));
	const char *source = json_string_value(json_object_get(saved,
	    "source"));
	char *cause = NULL;

	if (app_find(name) != NULL) {
		cmd_note(msg, "%s: already declared, left as it is", name);
		return;
	}
	if (persist_app_config(saved, env, &cfg, &cause) == -1)
		appcfg_free(&cfg);
	else
		app = app_declare(&cfg, source, 0, &cause);
	if (app == NULL) {
		cmd_note(msg, "%s: not restored: %s", name, cause ? cause :
		    "incomplete entry");
		free(cause);
		return;
	}
	if (state != NULL && strcmp(state, "stopped") == 0)
		cmd_note(msg, "%s: restored, stopped", name);
	else
		app_instances(app, v, n);
}

/*
 * Declares the saved apps with env (an object, the environment they start
 * with) and gives in *v the instances to start. Returns 0, with *msg
 * telling what was skipped or read from the .bak (the caller frees both),
 * or -1 with *cause.
 */
int
persist_resurrect(json_t *env, struct instance ***v, size_t *n, char **msg,
    char **cause)
{
	char *path = persist_path(), *warning = NULL;
	json_t *dump, *a;
	size_t i;

	*v = NULL;
	*n = 0;
	*msg = NULL;
	if ((dump = dump_read(path, &warning, cause)) == NULL) {
		free(path);
		return -1;
	}
	free(path);
	if (warning != NULL) {
		log_warnx("%s", warning);
		*msg = warning;
	}
	json_array_foreach(json_object_get(dump, "apps"), i, a)
		persist_app(a, env, v, n, msg);
	log_info("resurrected %zu app(s)", json_array_size(json_object_get(
	    dump, "apps")));
	json_decref(dump);
	return 0;
}
