/* SPDX-License-Identifier: ISC */
/*
 * `corral scale <name> N|+N|-N|max`: set the number of instances of an
 * app (app_scale() does it). New instances are started and the reply
 * waits for their readiness; removed ones are the highest indices,
 * stopped gracefully.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define CMD_SCALE_MAX 4096

/* The new count from "N", "+N", "-N" or "max"; -1 with *cause set. */
static int
cmd_scale_count(const char *s, long long count, long long *out, char **cause)
{
	long long n;

	if (strcmp(s, "max") == 0) {
		*out = sys_ncpu();
		return 0;
	}
	if (parse_int(s[0] == '+' ? s + 1 : s, -CMD_SCALE_MAX, CMD_SCALE_MAX,
	    &n, NULL) == -1) {
		xasprintf(cause, "invalid count '%s' (N, +N, -N or max)", s);
		return -1;
	}
	if (s[0] == '+' || s[0] == '-')
		n += count;
	if (n < 0 || n > CMD_SCALE_MAX) {
		xasprintf(cause, "cannot scale to %lld instances", n);
		return -1;
	}
	*out = n;
	return 0;
}

static int
cmd_scale_exec(struct cmd_ctx *ctx)
{
	const char *name = args_pos(&ctx->args, 0);
	struct app *app;
	long long count, target, max;
	char *cause = NULL, *msg;
	size_t n;
	int *ids;

	if ((app = app_find(name)) == NULL) {
		conn_reply_error(ctx->conn, 1, "no app '%s'", name);
		return CMD_REPLIED;
	}
	if (app->reload != NULL) {
		conn_reply_error(ctx->conn, 1, "a reload of '%s' is running",
		    name);
		return CMD_REPLIED;
	}
	count = app_count(app);
	if (cmd_scale_count(args_pos(&ctx->args, 1), count, &target,
	    &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "%s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	max = autoscale_max(&app->cfg);
	if (max > 0 && (target < app->cfg.scale_min || target > max)) {
		conn_reply_error(ctx->conn, 1, "%s scales itself between %lld "
		    "and %lld instances (corral set %s scale MIN..MAX changes "
		    "that)", name, app->cfg.scale_min, max, name);
		return CMD_REPLIED;
	}
	xasprintf(&msg, "%s: scaled from %lld to %lld instance(s)", name, count,
	    target);
	log_info("%s", msg);
	app_scale(app, target, &ids, &n);
	op_create(ctx->conn, ids, n, OP_WANT_SETTLED, msg);
	free(ids);
	free(msg);
	return CMD_PENDING;
}

const struct cmd_entry cmd_scale_entry = {
	.name = "scale",
	.usage = "<name> <N|+N|-N|max>",
	.summary = "set the number of instances of an app",
	.min_args = 2,
	.max_args = 2,
	.flags = CMD_STARTS,
	.exec = cmd_scale_exec,
};
