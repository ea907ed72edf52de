/* SPDX-License-Identifier: ISC */
/*
 * PM2's `startOrReload`, `startOrRestart` and `startOrGracefulReload` take
 * a config file, which cmd-file.c runs (cmd.c sends it there). This entry
 * answers the same commands given anything else.
 */
#include "corrald.h"

static int
cmd_startor_exec(struct cmd_ctx *ctx)
{
	const char *cmd = json_string_value(json_object_get(ctx->req, "cmd"));

	conn_reply_error(ctx->conn, EXIT_USAGE, "%s takes a config file "
	    "(ecosystem.config.js, .cjs, .mjs, .json, or corral.ini), not '%s'",
	    cmd, args_pos(&ctx->args, 0));
	return CMD_REPLIED;
}

const struct cmd_entry cmd_startor_entry = {
	.name = "startOrReload",
	.aliases = { "startOrRestart", "startOrGracefulReload" },
	.usage = "<file> [--only NAMES] [--env ENV]",
	.summary = "start the apps of a file, reload (or restart) those "
	    "running",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_startor_exec,
};
