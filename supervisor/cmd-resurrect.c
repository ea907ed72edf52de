/* SPDX-License-Identifier: ISC */
/*
 * `corral resurrect`: declare again the apps of dump.json (or of its .bak
 * when it does not parse) and start those that were running. The apps
 * start with the environment of the resurrecting client.
 */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_resurrect_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	char *cause = NULL, *msg = NULL;
	json_t *env = ctx->env != NULL ? json_incref(ctx->env) :
	    persist_daemon_env();
	size_t n;

	if (persist_resurrect(env, &v, &n, &msg, &cause) == -1) {
		conn_reply_error(ctx->conn, 1, "resurrect: %s", cause);
		free(cause);
		json_decref(env);
		return CMD_REPLIED;
	}
	json_decref(env);
	cmd_apply(ctx, v, n, EV_START, OP_WANT_SETTLED, msg);
	free(v);
	free(msg);
	return CMD_PENDING;
}

const struct cmd_entry cmd_resurrect_entry = {
	.name = "resurrect",
	.usage = "",
	.summary = "bring back the apps saved by save",
	.min_args = 0,
	.max_args = 0,
	.flags = CMD_STARTS,
	.exec = cmd_resurrect_exec,
};
