/* SPDX-License-Identifier: ISC */
/* `corral flush`: empty the log files of one app or of all. */
#include <string.h>

#include "corrald.h"

static int
cmd_flush_exec(struct cmd_ctx *ctx)
{
	const char *target = args_npos(&ctx->args) ? args_pos(&ctx->args, 0) :
	    "all";
	struct app *app;
	int found = 0;

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted || (strcmp(target, "all") != 0 &&
		    strcmp(target, app->cfg.name) != 0))
			continue;
		found = 1;
		if (logsink_flush(app) == -1) {
			conn_reply_error(ctx->conn, 1, "%s: cannot empty its logs",
			    app->cfg.name);
			return CMD_REPLIED;
		}
	}
	if (!found && strcmp(target, "all") != 0) {
		conn_reply_error(ctx->conn, 1, "no app '%s'", target);
		return CMD_REPLIED;
	}
	conn_reply(ctx->conn, proto_ok("message", json_str("logs flushed")));
	return CMD_REPLIED;
}

const struct cmd_entry cmd_flush_entry = {
	.name = "flush",
	.usage = "[name|all]",
	.summary = "empty the log files",
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_flush_exec,
};
