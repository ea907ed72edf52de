/* SPDX-License-Identifier: ISC */
/*
 * `corral logs`: tells the client which files to print the tail of (with
 * their timestamp format, so that it can merge them by time), then
 * (unless --nostream) turns the connection into a stream of new lines.
 * The daemon never reads the files for the client: a large tail would stall
 * the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static const struct args_opt cmd_logs_opts[] = {
	{ "lines", 0, ARGS_VALUE, "N      lines of each file to print first (15)" },
	{ "since", 0, ARGS_VALUE, "DUR    only lines of the last DUR (10m, 2h)" },
	{ "nostream", 0, ARGS_FLAG, "       print the tail and exit" },
	{ "follow", 'f', ARGS_FLAG, "       stream new lines (the default)" },
	{ "out", 0, ARGS_FLAG, "       only stdout" },
	{ "err", 0, ARGS_FLAG, "       only stderr" },
	{ "raw", 0, ARGS_FLAG, "       lines without app or timestamp prefix" },
	{ NULL, 0, 0, NULL }
};

/*
 * Replies the files of the apps of the n instances of v (stdout ones
 * unless --err, stderr ones unless --out) and, unless --nostream, turns
 * the connection into a stream of target's lines. Frees v.
 */
static void
cmd_logs_reply(struct cmd_ctx *ctx, const char *target, struct instance **v,
    size_t n, long long nlines, uint64_t since)
{
	int only_out = args_has(&ctx->args, "out");
	int only_err = args_has(&ctx->args, "err");
	int follow = !args_has(&ctx->args, "nostream");
	json_t *files = json_array(), *reply;
	struct app *app = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i]->app == app)
			continue;
		app = v[i]->app;
		logsink_files(app, files, !only_err, !only_out);
	}
	free(v);
	reply = proto_ok("logs", json_pack("{s:o, s:I, s:b, s:b, s:I}",
	    "files", files, "lines", (json_int_t)nlines, "follow", follow,
	    "raw", args_has(&ctx->args, "raw"), "since", (json_int_t)(since > 0 ?
	    now_ms() - since : 0)));
	if (follow) {
		ctx->conn->streaming = 1;
		if (strcmp(target, "all") != 0)
			ctx->conn->log_filter = xstrdup(app != NULL ?
			    app->cfg.name : target);
	}
	conn_reply(ctx->conn, reply);
}

static int
cmd_logs_exec(struct cmd_ctx *ctx)
{
	const char *target = args_npos(&ctx->args) ? args_pos(&ctx->args, 0) :
	    "all";
	const char *lines = args_get(&ctx->args, "lines");
	const char *since_s = args_get(&ctx->args, "since");
	uint64_t since = 0;
	struct instance **v;
	long long nlines = 15;
	char *cause = NULL;
	size_t n;

	if (lines != NULL && parse_int(lines, 0, 1000000, &nlines, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "--lines: %s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	/* Not cmd_targets(): the name is optional here. */
	if (app_targets(target, &v, &n, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_FAILURE_, "%s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	if (since_s != NULL && parse_duration(since_s, &since, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "--since: %s", cause);
		free(cause);
		free(v);
		return CMD_REPLIED;
	}
	cmd_logs_reply(ctx, target, v, n, nlines, since);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_logs_entry = {
	.name = "logs",
	.aliases = { "log" },
	.usage = "[name|id|all] [--lines N] [--since DUR] [--nostream] "
	    "[--out|--err] [--raw] [--json]",
	.summary = "print the last lines of the logs, then follow new ones",
	.opts = cmd_logs_opts,
	.min_args = 0,
	.max_args = 1,
	.exec = cmd_logs_exec,
};
