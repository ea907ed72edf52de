/* SPDX-License-Identifier: ISC */
/* `corral prettylist`: PM2's name for jlist, printed indented. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_prettylist_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	json_t *reply;
	size_t n;

	cmd_all_instances(&v, &n);
	reply = proto_ok("json", cmd_list_json(v, n));
	json_object_set_new(reply, "pretty", json_true());
	free(v);
	conn_reply(ctx->conn, reply);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_prettylist_entry = {
	.name = "prettylist",
	.usage = "",
	.summary = "list every instance as indented JSON",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_prettylist_exec,
};
