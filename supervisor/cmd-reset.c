/* SPDX-License-Identifier: ISC */
/* `corral reset`: zero the restart counters of instances. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_reset_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	size_t i, n;
	json_t *reply;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	for (i = 0; i < n; i++) {
		v[i]->restarts = 0;
		v[i]->unstable_restarts = 0;
		v[i]->backoff = 0;
	}
	state_changed();
	reply = proto_ok("list", cmd_list_json(v, n));
	json_object_set_new(reply, "message", json_str("counters reset"));
	conn_reply(ctx->conn, reply);
	free(v);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_reset_entry = {
	.name = "reset",
	.usage = "<name|id|all>",
	.summary = "reset the restart counters",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_reset_exec,
};
