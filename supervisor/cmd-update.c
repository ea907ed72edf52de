/* SPDX-License-Identifier: ISC */
/*
 * `corral update` (PM2's `pm2 update`): the engine writes the state,
 * replies with its generation and version, has the keeper re-execute
 * itself when another corral-keeper is installed, then asks it to run
 * the corrald now installed at its path in its place; the apps, their
 * sockets and pipes stay with the keeper. The client then waits for a
 * later engine (`corral engine`): an upgraded one says so; a rolled-back
 * one (the new binary died or was not ready in time) says why, and
 * `update` exits 1.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

static struct {
	int busy;
	char *keeper;           /* a new keeper binary to re-execute first */
} U;

/* The update stops here; `corral engine` tells the waiting client why. */
static void
cmd_update_fail(const char *why)
{
	log_warnx("update failed: %s", why);
	free(E.update_failed);
	E.update_failed = xstrdup(why);
	E.update_failures++;
	U.busy = 0;
	free(U.keeper);
	U.keeper = NULL;
}

/* The keeper runs the engine now installed in place of this one. */
static void
cmd_update_engine(void)
{
	char *cause = NULL;

	if (engine_upgrade(&cause) == -1) {
		cmd_update_fail(cause);
		free(cause);
		return;
	}
	daemon_leave();
}

/*
 * The keeper re-executed (ok), or went back to its old binary (why).
 * Returns 0 when no re-exec of the keeper was asked (the news is not
 * the update's), else 1.
 */
int
update_keeper_done(int ok, const char *why)
{
	char *s;

	if (!U.busy || U.keeper == NULL)
		return 0;
	free(U.keeper);
	U.keeper = NULL;
	if (ok) {
		cmd_update_engine();
		return 1;
	}
	xasprintf(&s, "the keeper could not re-execute: %s", why != NULL ?
	    why : "?");
	cmd_update_fail(s);
	free(s);
	return 1;
}

/* The state is on disk (error 0): the keeper goes first, if it changed. */
static void
cmd_update_flushed(void *arg, int error)
{
	char *cause = NULL;

	(void)arg;
	if (error != 0) {
		cmd_update_fail("the state file could not be written");
		return;
	}
	if (U.keeper == NULL) {
		cmd_update_engine();
		return;
	}
	if (engine_reexec(U.keeper, &cause) == -1) {
		cmd_update_fail(cause);
		free(cause);
	}
}

/* The keeper binary installed, when it is not the one that runs. */
static char *
cmd_update_new_keeper(void)
{
	struct stat now, run;
	char proc[64], *path = paths_own("corral-keeper", X_OK);

	snprintf(proc, sizeof proc, "/proc/%d/exe", (int)getppid());
	if (path != NULL && stat(path, &now) == 0 && stat(proc, &run) == 0 &&
	    (now.st_dev != run.st_dev || now.st_ino != run.st_ino))
		return path;
	free(path);
	return NULL;
}

static int
cmd_update_exec(struct cmd_ctx *ctx)
{
	if (!E.active || E.lost) {
		conn_reply_error(ctx->conn, 1, "update: this daemon has no "
		    "keeper");
		return CMD_REPLIED;
	}
	if (D.shutting_down || U.busy) {
		conn_reply_error(ctx->conn, 1, "update: the daemon is %s",
		    D.shutting_down ? "stopping" : "updating already");
		return CMD_REPLIED;
	}
	U.busy = 1;
	U.keeper = cmd_update_new_keeper();
	log_info("update: to %s%s%s", E.path, U.keeper != NULL ?
	    ", the keeper to " : "", U.keeper != NULL ? U.keeper : "");
	conn_reply(ctx->conn, json_pack("{s:b, s:I, s:I, s:s, s:o, s:i, s:b}",
	    "ok", 1, "generation", (json_int_t)E.generation, "failures",
	    (json_int_t)E.update_failures, "version", CORRAL_VERSION, "path",
	    json_str(E.path), "pid", (int)getpid(), "keeper",
	    U.keeper != NULL));
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
	json_t *r = proto_ok("message", json_pack("{s:s, s:I, s:I, s:s, s:o?,"
	    " s:o?, s:i}", "version", CORRAL_VERSION, "generation",
	    (json_int_t)E.generation, "failures",
	    (json_int_t)E.update_failures, "kind", kproto_kind_name(E.kind),
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
