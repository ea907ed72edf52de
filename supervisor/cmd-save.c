/* SPDX-License-Identifier: ISC */
/* `corral save`: write the declared apps and their states to dump.json. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_save_exec(struct cmd_ctx *ctx)
{
	char *cause = NULL, *path;
	int n;

	if ((n = persist_save(&cause)) == -1) {
		conn_reply_error(ctx->conn, 1, "save: %s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	path = paths_file(D.home, "dump.json");
	conn_reply(ctx->conn, proto_ok("message", json_sprintf("saved %d "
	    "app%s to %s", n, n == 1 ? "" : "s", path)));
	free(path);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_save_entry = {
	.name = "save",
	.aliases = { "dump" },
	.usage = "",
	.summary = "save the apps and their states for resurrect",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_save_exec,
};
