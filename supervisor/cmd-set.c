/* SPDX-License-Identifier: ISC */
/*
 * `corral set <name|id|all> <key> <value>`: changes one setting of apps.
 * Limits (max_memory, memory_high, cpu, max_pids) take effect at once on
 * the running instances' cgroups, without a restart; max_memory_restart
 * at the next sample; any other setting at the next start.  A limit the
 * kernel refuses (a memory limit below what v1 can reclaim) leaves the
 * old value in place everywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "engine.h"

static int
cmd_set_is_limit(const char *key)
{
	struct cgroup_limits	 scratch;
	char			*cause = NULL;
	int			 r;

	memset(&scratch, 0, sizeof scratch);
	r = cgroup_limits_set(&scratch, key, "0", &cause);
	free(cause);
	return r == 0;
}

/* Sets key on one app; returns how many running instances got it, or -1. */
static int
cmd_set_app(struct app *app, const char *key, const char *value,
    char **cause)
{
	struct cgroup_limits	 old = app->cfg.limits;
	char			*why = NULL;
	int			 n;

	if (appcfg_set_string(&app->cfg, key, value, cause) == -1)
		return -1;
	state_changed();
	engine_stop_time();
	autoscale_sync(app);
	if (!cmd_set_is_limit(key))
		return 0;
	if ((n = limits_apply(app, &why)) == -1) {
		xasprintf(cause, "%s: %s", app->cfg.name, why);
		free(why);
		app->cfg.limits = old;
		if (limits_apply(app, &why) == -1) {
			log_warnx("%s: cannot restore limits: %s",
			    app->cfg.name, why);
			free(why);
		}
		return -1;
	}
	log_info("%s: %s set to %s on %d running instance(s)", app->cfg.name,
	    key, value, n);
	return n;
}

static int
cmd_set_exec(struct cmd_ctx *ctx)
{
	struct instance	**v;
	struct app	 *app = NULL;
	const char	 *key = args_pos(&ctx->args, 1);
	const char	 *value = args_pos(&ctx->args, 2);
	char		 *cause = NULL, *msg = NULL, *line;
	size_t		  i, n;
	int		  applied;

	if (strcmp(key, "name") == 0 || strcmp(key, "script") == 0) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "%s cannot be changed "
		    "on a declared app", key);
		return CMD_REPLIED;
	}
	if (cmd_targets(ctx, 0, &v, &n) == -1)
		return CMD_REPLIED;
	for (i = 0; i < n; i++) {
		if (v[i]->app == app)
			continue;
		app = v[i]->app;
		if ((applied = cmd_set_app(app, key, value, &cause)) == -1) {
			conn_reply_error(ctx->conn, 1, "%s", cause);
			free(cause);
			free(msg);
			free(v);
			return CMD_REPLIED;
		}
		xasprintf(&line, "%s%s%s: %s = %s%s", msg != NULL ? msg : "",
		    msg != NULL ? "\n" : "", app->cfg.name, key, value,
		    !cmd_set_is_limit(key) ? " (from the next start)" :
		    applied > 0 ? " (applied to the running instances)" : "");
		free(msg);
		msg = line;
	}
	free(v);
	conn_reply(ctx->conn, proto_ok("message", json_str(msg)));
	free(msg);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_set_entry = {
	.name = "set",
	.usage = "<name|id|all> <key> <value>",
	.summary = "change a setting; limits apply to running instances at once",
	.min_args = 3,
	.max_args = 3,
	.flags = CMD_STARTS,
	.exec = cmd_set_exec,
};
