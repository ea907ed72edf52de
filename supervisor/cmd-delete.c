/* SPDX-License-Identifier: ISC */
/*
 * `corral delete`: stop and forget apps. An id deletes that one instance;
 * an app whose last instance goes is deleted with it.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static int
cmd_delete_exec(struct cmd_ctx *ctx)
{
	const char *target = args_pos(&ctx->args, 0);
	struct instance **v;
	size_t n;
	int *ids;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	ids = app_ids(v, n);
	free(v);
	/* A target that is neither an app's name nor "all" is an id. */
	app_delete_ids(ids, n, strcmp(target, "all") != 0 &&
	    app_find(target) == NULL);
	op_create(ctx->conn, ids, n, OP_WANT_STOPPED, "deleted");
	free(ids);
	return CMD_PENDING;
}

const struct cmd_entry cmd_delete_entry = {
	.name = "delete",
	.aliases = { "del" },
	.usage = "<name|id|all>",
	.summary = "stop and remove apps (or one instance by id)",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_delete_exec,
};
