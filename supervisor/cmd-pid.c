/* SPDX-License-Identifier: ISC */
/*
 * `corral pid [NAME]`: the pid of each instance of an app (of every app
 * without NAME), one per line, 0 for an instance not running, as PM2
 * prints them.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static int
cmd_pid_exec(struct cmd_ctx *ctx)
{
	const char *name = args_npos(&ctx->args) > 0 ?
	    args_pos(&ctx->args, 0) : NULL;
	struct instance **v;
	char *out = xstrdup(""), *tmp;
	size_t i, n;

	cmd_all_instances(&v, &n);
	for (i = 0; i < n; i++) {
		if (fsm_deleting(v[i]) || (name != NULL &&
		    strcmp(v[i]->app->cfg.name, name) != 0))
			continue;
		xasprintf(&tmp, "%s%s%d", out, *out != '\0' ? "\n" : "",
		    v[i]->child != NULL ? v[i]->pid : 0);
		free(out);
		out = tmp;
	}
	free(v);
	conn_reply(ctx->conn, proto_ok("message", json_str(out)));
	free(out);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_pid_entry = {
	.name = "pid",
	.usage = "[name]",
	.summary = "print the pid of each instance (of every app)",
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_pid_exec,
};
