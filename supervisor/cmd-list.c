/* SPDX-License-Identifier: ISC */
/* `corral ls` and `corral jlist`: every instance, as a table or as JSON. */
#include <stdlib.h>

#include "corrald.h"

static const struct args_opt cmd_list_opts[] = {
	{ "json", 0, ARGS_FLAG, "       print JSON (as jlist)" },
	{ NULL, 0, 0, NULL }
};

static int
cmd_list_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	size_t n;

	cmd_all_instances(&v, &n);
	conn_reply_list(ctx->conn, ctx->args.opts != NULL &&
	    args_has(&ctx->args, "json") ? "json" : "list", v, n, NULL);
	free(v);
	return CMD_REPLIED;
}

static int
cmd_jlist_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	size_t n;

	cmd_all_instances(&v, &n);
	conn_reply_list(ctx->conn, "json", v, n, NULL);
	free(v);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_list_entry = {
	.name = "list",
	.aliases = { "ls", "status", "l", "ps" },
	.usage = "[--json]",
	.summary = "list every instance",
	.opts = cmd_list_opts,
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_list_exec,
};

const struct cmd_entry cmd_jlist_entry = {
	.name = "jlist",
	.usage = "",
	.summary = "list every instance as JSON",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_jlist_exec,
};
