/* SPDX-License-Identifier: ISC */
/* `corral ping` and `corral version`: is the daemon there, and which is it. */
#include <unistd.h>

#include "corrald.h"

static int
cmd_ping_exec(struct cmd_ctx *ctx)
{
	json_t *r = proto_ok("message", json_str("pong"));

	json_object_set_new(r, "pid", json_integer(getpid()));
	conn_reply(ctx->conn, r);
	return CMD_REPLIED;
}

static int
cmd_version_exec(struct cmd_ctx *ctx)
{
	conn_reply(ctx->conn, proto_ok("message",
	    json_str("corrald " CORRAL_VERSION)));
	return CMD_REPLIED;
}

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.usage = "",
	.summary = "check that the daemon answers (starts it if needed)",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_ping_exec,
};

/* The client answers --client by itself; listed here for the help. */
static const struct args_opt cmd_version_opts[] = {
	{ "client", 0, ARGS_FLAG, "       only the client's version: "
	    "never asks or starts the daemon" },
	{ NULL, 0, 0, NULL }
};

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.usage = "[--client]",
	.summary = "print the client's and the running daemon's versions",
	.opts = cmd_version_opts,
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_version_exec,
};
