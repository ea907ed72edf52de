/* SPDX-License-Identifier: ISC */
/*
 * `corral start`: declare a new app from a script or command and start its
 * instances, or start again an app (or id, or all) the daemon already has.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/*
 * The configuration a start's words and options give, its script resolved.
 * Returns 0, or -1 with *cause set and *status the exit code to reply.
 */
static int
cmd_start_config(struct cmd_ctx *ctx, struct app_config *cfg, int *status,
    char **cause)
{
	size_t i;
	json_t *w;

	cfg->script = xstrdup(args_pos(&ctx->args, 0));
	if (ctx->env != NULL) {
		json_decref(cfg->env);
		cfg->env = json_deep_copy(ctx->env);
	}
	json_array_foreach(ctx->args.rest, i, w)
		json_array_append(cfg->args, w);
	*status = EXIT_USAGE;
	if (appcfg_from_args(cfg, &ctx->args, cause) == -1 ||
	    (cfg->name != NULL && parse_app_name(cfg->name, cause) == -1))
		return -1;
	*status = 1;
	return appcfg_resolve_script(cfg, ctx->cwd, ctx->env, cause);
}

/* Declares the app (app_declare()) and starts its instances. */
static int
cmd_start_new(struct cmd_ctx *ctx)
{
	struct app_config cfg;
	struct instance **v = NULL;
	struct app *app;
	char *cause = NULL;
	size_t n = 0;
	int status;

	appcfg_init(&cfg);
	if (cmd_start_config(ctx, &cfg, &status, &cause) == -1) {
		appcfg_free(&cfg);
		conn_reply_error(ctx->conn, status, "%s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	if ((app = app_declare(&cfg, NULL, APP_BIND_NOW, &cause)) == NULL) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	app_instances(app, &v, &n);
	cmd_apply(ctx, v, n, EV_START, OP_WANT_SETTLED, NULL);
	free(v);
	return CMD_PENDING;
}

static int
cmd_start_exec(struct cmd_ctx *ctx)
{
	const char *target = args_pos(&ctx->args, 0);
	long long id;

	if (json_object_size(ctx->args.opts) == 0 &&
	    json_array_size(ctx->args.rest) == 0 &&
	    (strcmp(target, "all") == 0 || app_find(target) != NULL ||
	    (parse_int(target, 0, 1 << 30, &id, NULL) == 0 &&
	    app_find_instance((int)id, 0) != NULL)))
		return cmd_act(ctx, EV_START, OP_WANT_SETTLED, NULL);
	return cmd_start_new(ctx);
}

const struct cmd_entry cmd_start_entry = {
	.name = "start",
	.usage = "<script|command|name|id|all> [options] [-- args...]",
	.summary = "start a new app, or start again a stopped one",
	.opts_fn = appcfg_cli_opts,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_STARTS,
	.exec = cmd_start_exec,
};
