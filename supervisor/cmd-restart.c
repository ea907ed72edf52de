/* SPDX-License-Identifier: ISC */
/*
 * `corral restart`: stop then start each instance. With --update-env the
 * app's environment becomes the calling client's.
 */
#include "corrald.h"

static const struct args_opt cmd_restart_opts[] = {
	{ "update-env", 0, ARGS_FLAG, "       take the environment of this shell" },
	{ NULL, 0, 0, NULL }
};

/* --update-env: the apps of v take the client's environment. */
static void
cmd_restart_env(struct cmd_ctx *ctx, struct instance **v, size_t n)
{
	size_t i;

	if (!args_has(&ctx->args, "update-env") || ctx->env == NULL)
		return;
	for (i = 0; i < n; i++) {
		json_decref(v[i]->app->cfg.env);
		v[i]->app->cfg.env = json_deep_copy(ctx->env);
	}
}

static int
cmd_restart_exec(struct cmd_ctx *ctx)
{
	return cmd_act(ctx, EV_RESTART, OP_WANT_SETTLED, cmd_restart_env);
}

const struct cmd_entry cmd_restart_entry = {
	.name = "restart",
	.usage = "<name|id|all> [--update-env]",
	.summary = "stop, then start instances",
	.opts = cmd_restart_opts,
	.min_args = 1,
	.max_args = 1,
	.flags = CMD_STARTS,
	.exec = cmd_restart_exec,
};
