/* SPDX-License-Identifier: ISC */
/*
 * `corrald --foreground FILE`, the entrypoint of a container: once the
 * daemon serves, the apps of FILE (corral.ini or a PM2 ecosystem file)
 * start as `corral start FILE` would start them, with the daemon's folder
 * and environment standing for a client's. The request goes through the
 * command table like any other, without a connection: its reply comes
 * here. A file that cannot be read or checked ends the daemon at start-up
 * with the reason, so an orchestrator sees the failure.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

static const char *bootfile_path;
static int bootfile_failed;

/* The reply to the boot file's request (conn_reply() without a conn). */
void
bootfile_reply(json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "error"));

	if (!json_is_true(json_object_get(msg, "ok"))) {
		log_warnx("%s: %s", bootfile_path != NULL ? bootfile_path :
		    "boot file", text != NULL ? text : "failed");
		bootfile_failed = 1;
		return;
	}
	if ((text = json_string_value(json_object_get(msg, "data"))) != NULL)
		log_info("%s: %s", bootfile_path, text);
}

/* Starts the apps of path; exits at once if the file is wrong. */
void
bootfile_start(const char *path)
{
	char cwd[PATH_MAX];
	json_t *req;

	if (getcwd(cwd, sizeof cwd) == NULL)
		fatal("getcwd");
	bootfile_path = path;
	req = json_pack("{s:i, s:s, s:[s], s:s, s:o}", "v", PROTO_VERSION,
	    "cmd", "start", "argv", path, "cwd", cwd, "env",
	    persist_daemon_env());
	if (req == NULL)
		fatalx("%s: cannot make the start request", path);
	log_info("starting the apps of %s", path);
	cmd_dispatch(NULL, req);
	json_decref(req);
	if (bootfile_failed)
		fatalx("%s: not started", path);
}
