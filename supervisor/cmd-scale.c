/* SPDX-License-Identifier: ISC */
/*
 * `corral scale <name> N|+N|-N|max`: set the number of instances of an
 * app. New instances are started and the reply waits for their readiness;
 * removed ones are the highest indices, stopped gracefully.
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
	struct instance *inst, **all = NULL;
	struct app *app;
	long long count = 0, target;
	char *cause = NULL, *msg;
	size_t nall = 0, i;
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
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (inst->deleting)
			continue;
		all = xreallocarray(all, nall + 1, sizeof *all);
		all[nall++] = inst;
		count++;
	}
	if (cmd_scale_count(args_pos(&ctx->args, 1), count, &target,
	    &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "%s", cause);
		free(cause);
		free(all);
		return CMD_REPLIED;
	}
	app->cfg.instances = target;
	xasprintf(&msg, "%s: scaled from %lld to %lld instance(s)", name, count,
	    target);
	log_info("%s", msg);
	if (target >= count) {
		for (i = (size_t)count; i < (size_t)target; i++) {
			all = xreallocarray(all, nall + 1, sizeof *all);
			all[nall++] = instance_create(app, (int)i);
		}
		ids = xcalloc(nall + 1, sizeof *ids);
		for (i = 0; i < nall; i++)
			ids[i] = all[i]->id;
		for (i = (size_t)count; i < nall; i++) {
			if ((inst = app_find_instance(ids[i], 1)) != NULL)
				fsm_event(inst, EV_START);
		}
		op_create(ctx->conn, ids, nall, OP_WANT_SETTLED, msg);
		free(ids);
	} else {
		/*
		 * The highest indices go (the list is in index order); the
		 * reply waits for them to be gone and lists those that stay.
		 */
		ids = xcalloc(nall, sizeof *ids);
		for (i = 0; i < nall; i++)
			ids[i] = all[i]->id;
		for (i = (size_t)target; i < nall; i++) {
			all[i]->deleting = 1;
			all[i]->restart_pending = 0;
		}
		for (i = (size_t)target; i < nall; i++) {
			if ((inst = app_find_instance(ids[i], 1)) != NULL)
				fsm_event(inst, EV_STOP);
		}
		op_create(ctx->conn, ids, nall, OP_WANT_SETTLED, msg);
		free(ids);
	}
	free(msg);
	free(all);
	return CMD_PENDING;
}

const struct cmd_entry cmd_scale_entry = {
	.name = "scale",
	.usage = "<name> <N|+N|-N|max>",
	.summary = "set the number of instances of an app",
	.min_args = 2,
	.max_args = 2,
	.exec = cmd_scale_exec,
};
