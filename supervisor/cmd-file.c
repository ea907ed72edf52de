/* SPDX-License-Identifier: ISC */
/*
 * `corral start FILE` and `corral reload FILE`, for corral.ini files and
 * PM2 ecosystem JSON files. cmd.c hands a start or reload whose first word
 * names such a file to these entries instead of the plain commands. The
 * file is read and checked whole first (cfgload.c): a file with any error
 * changes nothing.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static const struct args_opt cmd_file_start_opts[] = {
	{ "only", 0, ARGS_VALUE, "NAMES  only these apps (comma separated)" },
	{ "env", 0, ARGS_VALUE, "ENV    use the env_ENV variables" },
	{ NULL, 0, 0, NULL }
};

static const struct args_opt cmd_file_reload_opts[] = {
	{ "only", 0, ARGS_VALUE, "NAMES  only these apps (comma separated)" },
	{ "env", 0, ARGS_VALUE, "ENV    use the env_ENV variables" },
	{ "prune", 0, ARGS_FLAG, "       delete the apps the file no longer has" },
	{ NULL, 0, 0, NULL }
};

static void
cmd_file_push(struct instance ***v, size_t *n, struct instance *inst)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = inst;
}

static void cmd_file_note(char **, const char *, ...) PRINTFLIKE(2, 3);

/* Adds a line to the message printed above the list. */
static void
cmd_file_note(char **msg, const char *fmt, ...)
{
	char *line, *old = *msg;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	xasprintf(msg, "%s%s%s", old ? old : "", old ? "\n" : "", line);
	free(line);
	free(old);
}

/* Declares a new app from cfg (taken) and adds its instances to v. */
static void
cmd_file_create(struct app_config *cfg, const char *path, struct instance ***v,
    size_t *n)
{
	struct instance *inst;
	struct app *app;
	char *cause = NULL;

	app = app_create(cfg);
	app->source = xstrdup(path);
	if (logsink_open(app, &cause) == -1) {
		log_warnx("%s: %s", app->cfg.name, cause);
		free(cause);
	}
	log_info("%s: declared from %s", app->cfg.name, path);
	TAILQ_FOREACH(inst, &app->instances, entry)
		cmd_file_push(v, n, inst);
}

static int
cmd_file_start(struct cmd_ctx *ctx)
{
	struct cfgload cl;
	struct instance **v = NULL, *inst;
	struct app *app;
	char *cause = NULL, *msg = NULL;
	size_t i, n = 0;

	if (cfgload_read(ctx, &cl, &cause) == -1) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		cfgload_free(&cl);
		return CMD_REPLIED;
	}
	for (i = 0; i < cl.n; i++) {
		if ((app = app_find(cl.cfgs[i].name)) == NULL) {
			cmd_file_create(&cl.cfgs[i], cl.path, &v, &n);
			continue;
		}
		cmd_file_note(&msg, "%s: already declared, started as it is "
		    "(corral reload FILE applies changes)", app->cfg.name);
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (!inst->deleting)
				cmd_file_push(&v, &n, inst);
		}
	}
	if (cl.ignored != NULL)
		cmd_file_note(&msg, "ignored PM2 options: %s", cl.ignored);
	cmd_apply(ctx, v, n, EV_START, OP_WANT_SETTLED, msg);
	free(v);
	free(msg);
	cfgload_free(&cl);
	return CMD_PENDING;
}

/*
 * Whether app can take cfg by a rolling reload: it holds sockets that stay
 * the same, and keeps its number of instances.
 */
static int
cmd_file_rolling(const struct app *app, const struct app_config *cfg)
{
	return app->nlisteners > 0 && app->cfg.instances == cfg->instances &&
	    json_equal(app->cfg.listen, cfg->listen);
}

/*
 * Gives app the configuration cfg (taken): the triggers follow, instances
 * past the new count are deleted, new ones are created, and every instance
 * kept or created is added to v to be restarted (v NULL: none, the caller
 * reloads the app). Sockets are opened again only when their list changed.
 */
static void
cmd_file_replace(struct app *app, struct app_config *cfg,
    struct instance ***v, size_t *n)
{
	struct instance *inst, *next;
	long long have = 0, i;

	triggers_stop(app);
	if (json_equal(app->cfg.listen, cfg->listen))
		ready_spec_clear(&app->ready);
	else
		cluster_app_close(app);
	appcfg_free(&app->cfg);
	app->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	TAILQ_FOREACH_SAFE(inst, &app->instances, entry, next) {
		if (inst->deleting)
			continue;
		if (inst->index >= app->cfg.instances) {
			inst->deleting = 1;
			inst->restart_pending = 0;
			fsm_event(inst, EV_STOP);
			continue;
		}
		have++;
		if (v != NULL)
			cmd_file_push(v, n, inst);
	}
	for (i = have; i < app->cfg.instances; i++) {
		inst = instance_create(app, (int)i);
		if (v != NULL)
			cmd_file_push(v, n, inst);
	}
	triggers_start(app);
	autoscale_sync(app);
	log_info("%s: configuration reloaded", app->cfg.name);
}

static int
cmd_file_same(const struct app_config *a, const struct app_config *b)
{
	json_t *ja = appcfg_to_json(a), *jb = appcfg_to_json(b);
	int same = json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return same;
}

/* Deletes the apps that came from path and that the file lacks now. */
static void
cmd_file_prune(const struct cfgload *cl, char **msg)
{
	struct app *app, *next;

	TAILQ_FOREACH_SAFE(app, &D.apps, entry, next) {
		if (app->deleted || app->source == NULL ||
		    strcmp(app->source, cl->path) != 0 ||
		    json_array_size(cl->declared) == 0)
			continue;
		if (cfgload_declares(cl, app->cfg.name))
			continue;
		cmd_file_note(msg, "%s: deleted (no longer in the file)",
		    app->cfg.name);
		app_delete(app);
	}
}

/*
 * reload FILE: new apps start, unchanged ones are left alone, changed ones
 * with held sockets get a rolling reload (which goes on after the reply),
 * other changed ones restart. The reply waits for the restarts.
 */
static int
cmd_file_reload(struct cmd_ctx *ctx)
{
	struct cfgload cl;
	struct instance **v = NULL;
	struct app *app, **rolling = NULL;
	char *cause = NULL, *msg = NULL;
	size_t i, n = 0, nrolling = 0;

	if (cfgload_read(ctx, &cl, &cause) == -1) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		cfgload_free(&cl);
		return CMD_REPLIED;
	}
	for (i = 0; i < cl.n; i++) {
		if ((app = app_find(cl.cfgs[i].name)) == NULL) {
			cmd_file_note(&msg, "%s: started (new)", cl.cfgs[i].name);
			cmd_file_create(&cl.cfgs[i], cl.path, &v, &n);
			continue;
		}
		free(app->source);
		app->source = xstrdup(cl.path);
		autoscale_keep(app, &cl.cfgs[i]);
		if (cmd_file_same(&app->cfg, &cl.cfgs[i])) {
			cmd_file_note(&msg, "%s: unchanged", app->cfg.name);
		} else if (app->reload == NULL &&
		    cmd_file_rolling(app, &cl.cfgs[i])) {
			cmd_file_note(&msg, "%s: reloading (changed, rolling)",
			    app->cfg.name);
			cmd_file_replace(app, &cl.cfgs[i], NULL, NULL);
			rolling = xreallocarray(rolling, nrolling + 1,
			    sizeof *rolling);
			rolling[nrolling++] = app;
		} else {
			cmd_file_note(&msg, "%s: restarted (changed)",
			    app->cfg.name);
			cmd_file_replace(app, &cl.cfgs[i], &v, &n);
		}
	}
	if (nrolling > 0 && reload_start(NULL, rolling, nrolling, 0,
	    &cause) == -1) {
		cmd_file_note(&msg, "%s", cause);
		free(cause);
	}
	free(rolling);
	if (args_has(&ctx->args, "prune"))
		cmd_file_prune(&cl, &msg);
	if (cl.ignored != NULL)
		cmd_file_note(&msg, "ignored PM2 options: %s", cl.ignored);
	cmd_apply(ctx, v, n, EV_RESTART, OP_WANT_SETTLED, msg);
	free(v);
	free(msg);
	cfgload_free(&cl);
	return CMD_PENDING;
}

static const struct args_opt cmd_file_act_opts[] = {
	{ "only", 0, ARGS_VALUE, "NAMES  only these apps (comma separated)" },
	{ NULL, 0, 0, NULL }
};

/*
 * stop, restart or delete FILE: the apps the file declares (by name; the
 * file must parse, its settings are not applied), those that exist.
 */
static int
cmd_file_act(struct cmd_ctx *ctx)
{
	const char *cmd = json_string_value(json_object_get(ctx->req, "cmd"));
	const char *shown = args_pos(&ctx->args, 0);
	const char *only = args_get(&ctx->args, "only");
	int del = strcmp(cmd, "delete") == 0 || strcmp(cmd, "del") == 0;
	struct instance **v = NULL, *inst;
	struct cfgfile *cf;
	struct app *app;
	char *path, *cause = NULL;
	size_t i, n = 0;
	int *ids;

	if (shown[0] == '/')
		path = xstrdup(shown);
	else
		xasprintf(&path, "%s/%s", ctx->cwd, shown);
	cf = cfgfile_read(path, shown, &cause);
	free(path);
	if (cf != NULL && (cause = cfgfile_errors(cf)) == NULL) {
		for (i = 0; i < cf->napps; i++) {
			if ((app = app_find(cf->apps[i].name)) == NULL ||
			    (only != NULL && !cfgload_wanted(only, app->cfg.name)))
				continue;
			TAILQ_FOREACH(inst, &app->instances, entry) {
				if (!inst->deleting)
					cmd_file_push(&v, &n, inst);
			}
		}
		if (n == 0)
			xasprintf(&cause, "%s: none of its apps is declared", shown);
	}
	cfgfile_free(cf);
	if (cause != NULL) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		free(v);
		return CMD_REPLIED;
	}
	if (!del) {
		cmd_apply(ctx, v, n, strcmp(cmd, "stop") == 0 ? EV_STOP :
		    EV_RESTART, strcmp(cmd, "stop") == 0 ? OP_WANT_STOPPED :
		    OP_WANT_SETTLED, NULL);
		free(v);
		return CMD_PENDING;
	}
	ids = xcalloc(n, sizeof *ids);
	for (i = 0; i < n; i++)
		ids[i] = v[i]->id;
	for (i = 0; i < n; i++) {
		if ((inst = app_find_instance(ids[i], 0)) != NULL)
			app_delete(inst->app);
	}
	op_create(ctx->conn, ids, n, OP_WANT_STOPPED, "deleted");
	free(ids);
	free(v);
	return CMD_PENDING;
}

const struct cmd_entry cmd_act_file_entry = {
	.name = "stop",
	.usage = "<file.ini|ecosystem.json> [--only NAMES]",
	.summary = "stop, restart or delete the apps of a config file",
	.opts = cmd_file_act_opts,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_file_act,
};

const struct cmd_entry cmd_start_file_entry = {
	.name = "start",
	.usage = "<file.ini|ecosystem.json> [--only NAMES] [--env ENV]",
	.summary = "start the apps of a config file",
	.opts = cmd_file_start_opts,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_file_start,
};

const struct cmd_entry cmd_reload_file_entry = {
	.name = "reload",
	.usage = "<file.ini|ecosystem.json> [--only NAMES] [--env ENV] "
	    "[--prune]",
	.summary = "apply a config file: start new apps, reload changed ones",
	.opts = cmd_file_reload_opts,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_file_reload,
};

/*
 * The entry that runs a request: start and reload whose first word names a
 * config file come here; anything else returns NULL (use cmd_find()).
 */
const struct cmd_entry *
cmd_file_redirect(const char *name, json_t *argv)
{
	if (!cfgload_is_file(argv))
		return NULL;
	if (strcmp(name, "start") == 0)
		return &cmd_start_file_entry;
	if (strcmp(name, "reload") == 0)
		return &cmd_reload_file_entry;
	if (strcmp(name, "stop") == 0 || strcmp(name, "restart") == 0 ||
	    strcmp(name, "delete") == 0 || strcmp(name, "del") == 0)
		return &cmd_act_file_entry;
	return NULL;
}
