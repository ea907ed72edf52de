/* SPDX-License-Identifier: ISC */
/*
 * `corral update` (PM2's `pm2 update`): the engine writes the state,
 * replies with its generation and version, and asks the keeper to run
 * the corrald now installed at its path in its place; the apps, their
 * sockets and pipes stay with the keeper. The client then waits for a
 * later engine (`corral engine`): an upgraded one says so; a rolled-back
 * one (the new binary died or was not ready in time) says why, and
 * `update` exits 1.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

static int cmd_update_busy;

/* The state is on disk (error 0): the keeper is told, the engine goes. */
static void
cmd_update_flushed(void *arg, int error)
{
	char *cause = NULL;

	(void)arg;
	cmd_update_busy = 0;
	if (error != 0) {
		log_warnx("update: the state file could not be written: %s; "
		    "not updating", strerror(error));
		return;
	}
	if (engine_upgrade(&cause) == -1) {
		log_warnx("update: %s", cause);
		free(cause);
		return;
	}
	daemon_leave();
}

static int
cmd_update_exec(struct cmd_ctx *ctx)
{
	if (!E.active || E.lost) {
		conn_reply_error(ctx->conn, 1, "update: this daemon has no "
		    "keeper");
		return CMD_REPLIED;
	}
	if (D.shutting_down || cmd_update_busy) {
		conn_reply_error(ctx->conn, 1, "update: the daemon is %s",
		    D.shutting_down ? "stopping" : "updating already");
		return CMD_REPLIED;
	}
	cmd_update_busy = 1;
	log_info("update: to %s, as the keeper runs it next", E.path);
	conn_reply(ctx->conn, json_pack("{s:b, s:I, s:s, s:o, s:i}", "ok", 1,
	    "generation", (json_int_t)E.generation, "version", CORRAL_VERSION,
	    "path", json_str(E.path), "pid", (int)getpid()));
	state_flush(cmd_update_flushed, NULL);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_update_entry = {
	.name = "update",
	.usage = "",
	.summary = "replace the daemon with the corrald now installed, "
	    "apps untouched",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_update_exec,
};

/*
 * `corral engine`: which engine serves, and why it runs. The fields are
 * the reply's data (`--json` prints them; the reply's own "kind" is the
 * client's print kind, not the engine's).
 */
static int
cmd_engine_exec(struct cmd_ctx *ctx)
{
	json_t *r = proto_ok("message", json_pack("{s:s, s:I, s:s, s:o?,"
	    " s:o?, s:i}", "version", CORRAL_VERSION, "generation",
	    (json_int_t)E.generation, "kind", kproto_kind_name(E.kind),
	    "reason", json_str(E.reason), "update_failed",
	    json_str(E.update_failed), "pid", (int)getpid()));

	json_object_set_new(r, "message", json_sprintf("corrald %s (pid %d), "
	    "engine %lld of its keeper, %s%s%s", CORRAL_VERSION, (int)getpid(),
	    (long long)E.generation, kproto_kind_name(E.kind),
	    E.reason != NULL ? ": " : "", E.reason != NULL ? E.reason : ""));
	conn_reply(ctx->conn, r);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_engine_entry = {
	.name = "engine",
	.usage = "",
	.summary = "the engine that serves: version, pid, why it started",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_engine_exec,
};
