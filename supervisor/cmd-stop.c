/* SPDX-License-Identifier: ISC */
/* `corral stop`: stop instances gracefully; replies once they have stopped. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_stop_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	size_t n;

	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	cmd_apply(ctx, v, n, EV_STOP, OP_WANT_STOPPED, NULL);
	free(v);
	return CMD_PENDING;
}

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.usage = "<name|id|all>",
	.summary = "stop instances (kill_signal, then SIGKILL after kill_timeout)",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_stop_exec,
};
