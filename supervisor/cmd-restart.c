/* SPDX-License-Identifier: ISC */
/*
 * `corral restart`: stop then start each instance. With --update-env the
 * app's environment becomes the calling client's.
 */
#include <stdlib.h>

#include "corrald.h"

static const struct args_opt cmd_restart_opts[] = {
	{ "update-env", 0, ARGS_FLAG, "       take the environment of this shell" },
	{ NULL, 0, 0, NULL }
};

static int
cmd_restart_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	size_t i, n;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	if (args_has(&ctx->args, "update-env") && ctx->env != NULL) {
		for (i = 0; i < n; i++) {
			json_decref(v[i]->app->cfg.env);
			v[i]->app->cfg.env = json_deep_copy(ctx->env);
		}
	}
	cmd_apply(ctx, v, n, EV_RESTART, OP_WANT_SETTLED, NULL);
	free(v);
	return CMD_PENDING;
}

const struct cmd_entry cmd_restart_entry = {
	.name = "restart",
	.usage = "<name|id|all> [--update-env]",
	.summary = "stop, then start instances",
	.opts = cmd_restart_opts,
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_restart_exec,
};
