/* SPDX-License-Identifier: ISC */
/* `corral kill`: stop every app gracefully, then the daemon; replies at the end. */
#include "corrald.h"

static int
cmd_kill_exec(struct cmd_ctx *ctx)
{
	daemon_shutdown(ctx->conn);
	return CMD_PENDING;
}

const struct cmd_entry cmd_kill_entry = {
	.name = "kill",
	.usage = "",
	.summary = "stop every app, then the daemon",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_kill_exec,
};
