/* SPDX-License-Identifier: ISC */
/*
 * `corral id NAME`: the ids of an app's instances, printed as PM2 prints
 * them ("[ 0, 1 ]", "[]" for an unknown name), for scripts written for it.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static int
cmd_id_exec(struct cmd_ctx *ctx)
{
	const char *name = args_pos(&ctx->args, 0);
	struct instance *inst;
	struct app *app;
	char *out = xstrdup("["), *tmp;
	int first = 1;

	if ((app = app_find(name)) != NULL) {
		TAILQ_FOREACH(inst, &app->instances, entry) {
			if (fsm_deleting(inst))
				continue;
			xasprintf(&tmp, "%s%s %d", out, first ? "" : ",", inst->id);
			free(out);
			out = tmp;
			first = 0;
		}
	}
	xasprintf(&tmp, "%s%s]", out, first ? "" : " ");
	free(out);
	conn_reply(ctx->conn, proto_ok("message", json_str(tmp)));
	free(tmp);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_id_entry = {
	.name = "id",
	.usage = "<name>",
	.summary = "print the ids of an app's instances",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_id_exec,
};
