/* SPDX-License-Identifier: ISC */
/* `corral stop`: stop instances gracefully; replies once they have stopped. */
#include "corrald.h"

static int
cmd_stop_exec(struct cmd_ctx *ctx)
{
	return cmd_act(ctx, EV_STOP, OP_WANT_STOPPED, NULL);
}

const struct cmd_entry cmd_stop_entry = {
	.name = "stop",
	.usage = "<name|id|all>",
	.summary = "stop instances (kill_signal, then SIGKILL after kill_timeout)",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_stop_exec,
};
