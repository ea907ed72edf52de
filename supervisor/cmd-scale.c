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

/*
 * Sets app's instance count to target: new instances are created and
 * started; the highest indices are stopped gracefully and removed. With
 * ids, *ids gets the ids of every instance of the app before the change
 * and of the new ones (*n of them; the caller frees), for a reply that
 * waits for them to settle.
 */
void
scale_apply(struct app *app, long long target, int **ids, size_t *n)
{
	struct instance *inst, **all = NULL;
	size_t nall = 0, count, i;
	int *v;

	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (fsm_deleting(inst))
			continue;
		all = xreallocarray(all, nall + 1, sizeof *all);
		all[nall++] = inst;
	}
	count = nall;
	app->cfg.instances = target;
	for (i = count; i < (size_t)target; i++) {
		all = xreallocarray(all, nall + 1, sizeof *all);
		all[nall++] = instance_create(app, (int)i);
	}
	/* An event may free instances: each is looked up again by id. */
	v = xcalloc(nall + 1, sizeof *v);
	for (i = 0; i < nall; i++)
		v[i] = all[i]->id;
	free(all);
	for (i = (size_t)target < count ? (size_t)target : count; i < nall;
	    i++) {
		if ((inst = app_find_instance(v[i], 1)) != NULL)
			fsm_event(inst, i < count ? EV_DELETE : EV_START);
	}
	if (ids != NULL) {
		*ids = v;
		*n = nall;
	} else
		free(v);
}

static int
cmd_scale_exec(struct cmd_ctx *ctx)
{
	const char *name = args_pos(&ctx->args, 0);
	struct instance *inst;
	struct app *app;
	long long count = 0, target, max;
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
	TAILQ_FOREACH(inst, &app->instances, entry)
		count += !fsm_deleting(inst);
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
	scale_apply(app, target, &ids, &n);
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
	.exec = cmd_scale_exec,
};
