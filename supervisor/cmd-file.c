/* SPDX-License-Identifier: ISC */
/*
 * The commands that take a config file (corral.ini, or a PM2 ecosystem
 * file: .js, .cjs, .mjs, .json) instead of an app: cmd.c hands a start,
 * restart, reload, stop or delete (and PM2's startOrReload,
 * startOrRestart, startOrGracefulReload) whose first word names such a
 * file to these entries. The file is read by cfgread.c (node for PM2's
 * files, so the command goes on from a callback) and checked whole first
 * (cfgload.c): a file with any error changes nothing. Then, as PM2 does:
 * start and restart FILE start the new apps and restart the others with
 * the file's settings (a corral.ini's start leaves existing apps alone);
 * reload FILE starts the new apps and reloads every other one, rolling,
 * with the file's settings.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define FILE_START 0                    /* start missing apps only (ini) */
#define FILE_RESTART 1                  /* start missing, restart others */
#define FILE_RELOAD 2                   /* start missing, reload others */

static const struct args_opt cmd_file_opts[] = {
	{ "only", 0, ARGS_VALUE, "NAMES  only these apps (comma separated)" },
	{ "env", 0, ARGS_VALUE, "ENV    use the env_ENV variables" },
	{ "prune", 0, ARGS_FLAG, "       delete the apps the file no longer has" },
	{ "update-env", 0, ARGS_FLAG, "       (PM2's; the file's env is "
	    "always applied)" },
	{ NULL, 0, 0, NULL }
};

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
		cmd_note(msg, "%s: deleted (no longer in the file)",
		    app->cfg.name);
		app_delete(app);
	}
}

/* What applying a file does, gathered app by app. */
struct cmd_file_plan {
	struct instance **start;        /* to start */
	size_t nstart;
	struct instance **restart;      /* to restart */
	size_t nrestart;
	struct app **roll;              /* to reload, rolling */
	size_t nroll;
	char *msg;                      /* printed above the list, or NULL */
};

/* What one app of the file becomes, as mode says. */
static void
cmd_file_one(struct cfgload *cl, size_t i, int mode, struct cmd_file_plan *p)
{
	struct app_config *cfg = &cl->cfgs[i];
	struct app *app;
	char *cause = NULL;

	if ((app = app_find(cfg->name)) == NULL) {
		if (mode != FILE_START)
			cmd_note(&p->msg, "%s: started (new)", cfg->name);
		/* checked whole by cfgload_build(): a failure is a race */
		if ((app = app_declare(cfg, cl->path, 0, &cause)) == NULL) {
			cmd_note(&p->msg, "%s", cause);
			free(cause);
		} else
			app_instances(app, &p->start, &p->nstart);
		return;
	}
	free(app->source);
	app->source = xstrdup(cl->path);
	autoscale_keep(app, cfg);
	if (mode == FILE_START) {
		cmd_note(&p->msg, "%s: already declared, started as it is "
		    "(corral reload FILE applies changes)", app->cfg.name);
		app_instances(app, &p->start, &p->nstart);
	} else if (mode == FILE_RELOAD && app->reload == NULL) {
		cmd_note(&p->msg, "%s: reloading", app->cfg.name);
		app_reconfigure(app, cfg, NULL, NULL, &p->start, &p->nstart);
		p->roll = xreallocarray(p->roll, p->nroll + 1, sizeof *p->roll);
		p->roll[p->nroll++] = app;
	} else {
		cmd_note(&p->msg, "%s: restarted%s", app->cfg.name, mode ==
		    FILE_RELOAD ? " (a reload of it was running)" : "");
		app_reconfigure(app, cfg, &p->restart, &p->nrestart, &p->start,
		    &p->nstart);
	}
}

/*
 * Applies the file as mode says. The reply waits for the reloads when
 * there are any, else for the started and restarted instances to settle.
 */
static void
cmd_file_apply(struct cmd_ctx *ctx, struct cfgload *cl, int mode)
{
	struct cmd_file_plan p;
	size_t i;
	char *cause = NULL;
	int *sids, *rids;

	memset(&p, 0, sizeof p);
	for (i = 0; i < cl->n; i++)
		cmd_file_one(cl, i, mode, &p);
	if (args_has(&ctx->args, "prune"))
		cmd_file_prune(cl, &p.msg);
	if (cl->ignored != NULL)
		cmd_note(&p.msg, "ignored PM2 options: %s", cl->ignored);
	sids = app_ids(p.start, p.nstart);
	rids = app_ids(p.restart, p.nrestart);
	app_feed(sids, p.nstart, EV_START);
	app_feed(rids, p.nrestart, EV_RESTART);
	if (p.nroll > 0) {
		if (reload_start(ctx->conn, p.roll, p.nroll, 0, p.msg,
		    &cause) == -1) {
			if (ctx->conn != NULL)
				conn_reply_error(ctx->conn, 1, "%s", cause);
			free(cause);
		}
	} else if (ctx->conn != NULL) {
		sids = xreallocarray(sids, p.nstart + p.nrestart + 1,
		    sizeof *sids);
		memcpy(sids + p.nstart, rids, p.nrestart * sizeof *rids);
		op_create(ctx->conn, sids, p.nstart + p.nrestart,
		    OP_WANT_SETTLED, p.msg);
	}
	free(p.start);
	free(p.restart);
	free(p.roll);
	free(sids);
	free(rids);
	free(p.msg);
}

static int
cmd_file_mode(struct cmd_ctx *ctx, const char *path)
{
	const char *cmd = json_string_value(json_object_get(ctx->req, "cmd"));

	if (strcmp(cmd, "reload") == 0 || strncmp(cmd, "startOrReload", 13)
	    == 0 || strcmp(cmd, "startOrGracefulReload") == 0 ||
	    strcmp(cmd, "gracefulReload") == 0)
		return FILE_RELOAD;
	if (strcmp(cmd, "start") == 0 && cfgfile_kind(path) == CFGFILE_INI)
		return FILE_START;
	return FILE_RESTART;
}

static void
cmd_file_read(struct cmd_ctx *ctx, const char *path, struct cfgfile *cf,
    char *cause)
{
	struct cfgload cl;
	char *why = NULL;

	if (cf == NULL) {
		if (ctx->conn != NULL)
			conn_reply_error(ctx->conn, 1, "%s", cause);
		return;
	}
	if (cfgload_build(ctx, path, cf, &cl, &why) == -1) {
		if (ctx->conn != NULL)
			conn_reply_error(ctx->conn, 1, "%s", why);
		free(why);
		cfgload_free(&cl);
		return;
	}
	cmd_file_apply(ctx, &cl, cmd_file_mode(ctx, path));
	cfgload_free(&cl);
}

static int
cmd_file_exec(struct cmd_ctx *ctx)
{
	cfgread_start(ctx, cmd_file_read);
	return CMD_PENDING;
}

/* The instances of the apps cf declares that exist (--only applied). */
static void
cmd_file_targets(struct cmd_ctx *ctx, struct cfgfile *cf,
    struct instance ***v, size_t *n)
{
	const char *only = args_get(&ctx->args, "only");
	struct app *app;
	size_t i;

	for (i = 0; i < cf->napps; i++) {
		if ((app = app_find(cf->apps[i].name)) != NULL &&
		    cfgload_wanted(only, app->cfg.name))
			app_instances(app, v, n);
	}
}

/*
 * stop or delete FILE: the apps the file declares (by name; the file must
 * parse, its settings are not applied), those that exist.
 */
static void
cmd_file_act_read(struct cmd_ctx *ctx, const char *path, struct cfgfile *cf,
    char *cause)
{
	const char *cmd = json_string_value(json_object_get(ctx->req, "cmd"));
	int del = strcmp(cmd, "stop") != 0;
	struct instance **v = NULL;
	char *why = NULL;
	size_t n = 0;
	int *ids;

	(void)path;
	if (cf != NULL && (why = cfgfile_errors(cf)) == NULL) {
		cmd_file_targets(ctx, cf, &v, &n);
		if (n == 0)
			xasprintf(&why, "%s: none of its apps is declared",
			    args_pos(&ctx->args, 0));
	}
	if (cf == NULL || why != NULL) {
		if (ctx->conn != NULL)
			conn_reply_error(ctx->conn, 1, "%s", cf == NULL ? cause :
			    why);
		free(why);
		free(v);
		return;
	}
	ids = app_ids(v, n);
	if (del)
		app_delete_ids(ids, n, 0);
	else
		app_feed(ids, n, EV_STOP);
	if (ctx->conn != NULL)
		op_create(ctx->conn, ids, n, OP_WANT_STOPPED, del ? "deleted" :
		    NULL);
	free(ids);
	free(v);
}

static int
cmd_file_act_exec(struct cmd_ctx *ctx)
{
	cfgread_start(ctx, cmd_file_act_read);
	return CMD_PENDING;
}

static const struct args_opt cmd_file_act_opts[] = {
	{ "only", 0, ARGS_VALUE, "NAMES  only these apps (comma separated)" },
	{ NULL, 0, 0, NULL }
};

const struct cmd_entry cmd_act_file_entry = {
	.name = "stop",
	.usage = "<file> [--only NAMES]",
	.summary = "stop or delete the apps of a config file",
	.opts = cmd_file_act_opts,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_file_act_exec,
};

const struct cmd_entry cmd_start_file_entry = {
	.name = "start",
	.usage = "<file> [--only NAMES] [--env ENV]",
	.summary = "start the apps of a config file (a PM2 file's running "
	    "apps restart with its settings)",
	.opts = cmd_file_opts,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_STARTS,
	.exec = cmd_file_exec,
};

const struct cmd_entry cmd_reload_file_entry = {
	.name = "reload",
	.usage = "<file> [--only NAMES] [--env ENV] [--prune]",
	.summary = "apply a config file: start new apps, reload the others",
	.opts = cmd_file_opts,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_STARTS,
	.exec = cmd_file_exec,
};

/*
 * The entry that runs a request whose first word names a config file;
 * NULL when it names none (use cmd_find()).
 */
const struct cmd_entry *
cmd_file_redirect(const char *name, json_t *argv)
{
	if (!cfgload_is_file(argv))
		return NULL;
	if (strcmp(name, "start") == 0 || strcmp(name, "restart") == 0 ||
	    strcmp(name, "startOrRestart") == 0)
		return &cmd_start_file_entry;
	if (strcmp(name, "reload") == 0 || strcmp(name, "startOrReload") == 0 ||
	    strcmp(name, "startOrGracefulReload") == 0 ||
	    strcmp(name, "gracefulReload") == 0)
		return &cmd_reload_file_entry;
	if (strcmp(name, "stop") == 0 || strcmp(name, "delete") == 0 ||
	    strcmp(name, "del") == 0)
		return &cmd_act_file_entry;
	return NULL;
}
