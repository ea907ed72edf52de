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
	struct app *app;
	int *ids;
	size_t i, n;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	ids = xcalloc(n, sizeof *ids);
	for (i = 0; i < n; i++)
		ids[i] = v[i]->id;
	for (i = 0; i < n; i++) {
		struct instance *inst = app_find_instance(ids[i], 0);

		if (inst == NULL)
			continue;
		app = inst->app;
		if (strcmp(target, "all") == 0 ||
		    strcmp(target, app->cfg.name) == 0 || app->cfg.instances <= 1) {
			app_delete(app);
			continue;
		}
		app->cfg.instances--;
		fsm_event(inst, EV_DELETE);
	}
	op_create(ctx->conn, ids, n, OP_WANT_STOPPED, "deleted");
	free(ids);
	free(v);
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
