/* SPDX-License-Identifier: ISC */
/* `corral signal`: send a signal to the main process of running instances. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_signal_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	char *cause = NULL, *msg;
	size_t i, n, sent = 0;
	int sig;

	if (parse_signal(args_pos(&ctx->args, 0), &sig, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "%s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	if (cmd_targets(ctx, 1, &v, &n) == -1)
		return CMD_REPLIED;
	for (i = 0; i < n; i++) {
		if (v[i]->child == NULL)
			continue;
		instance_kill(v[i], sig);
		sent++;
	}
	free(v);
	if (sent == 0) {
		conn_reply_error(ctx->conn, 1, "no running instance of '%s'",
		    args_pos(&ctx->args, 1));
		return CMD_REPLIED;
	}
	xasprintf(&msg, "sent %s to %zu process(es)", signal_name(sig), sent);
	conn_reply(ctx->conn, proto_ok("message", json_str(msg)));
	free(msg);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_signal_entry = {
	.name = "signal",
	.aliases = { "sendSignal" },
	.usage = "<signal> <name|id|all>",
	.summary = "send a signal to the main process of each instance",
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_signal_exec,
};
