/* SPDX-License-Identifier: ISC */
/*
 * `corral reloadLogs`: reopen every log file and the daemon's own, after an
 * outside tool (logrotate) renamed them; the same as SIGUSR1 to the daemon.
 */
#include "corrald.h"

static int
cmd_reloadlogs_exec(struct cmd_ctx *ctx)
{
	log_info("reloadLogs: reopening log files");
	logsink_reopen_all();
	conn_reply(ctx->conn, proto_ok("message", json_str("logs reopened")));
	return CMD_REPLIED;
}

const struct cmd_entry cmd_reloadlogs_entry = {
	.name = "reloadLogs",
	.aliases = { "reloadlogs", "reload-logs" },
	.usage = "",
	.summary = "reopen every log file (after an outside rotation)",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_reloadlogs_exec,
};
