/* SPDX-License-Identifier: ISC */
/*
 * `corral reload`: replace every instance of the named apps with no
 * downtime (see reload.c); the reply comes when the reload has finished or
 * failed. Targets are app names or all. With --update-env the apps take
 * the environment of the calling client.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static const struct args_opt cmd_reload_opts[] = {
	{ "surge", 0, ARGS_VALUE, "N      replacements unready at once "
	    "(default: the app's reload_surge)" },
	{ "update-env", 0, ARGS_FLAG, "       take the environment of this shell" },
	{ NULL, 0, 0, NULL }
};

static void
cmd_reload_add(struct app ***v, size_t *n, struct app *app)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if ((*v)[i] == app)
			return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = app;
}

static int
cmd_reload_exec(struct cmd_ctx *ctx)
{
	struct app **v = NULL, *app;
	const char *word, *s;
	char *cause = NULL;
	long long surge = 0;
	size_t i, n = 0;

	if ((s = args_get(&ctx->args, "surge")) != NULL &&
	    parse_int(s, 1, 4096, &surge, &cause) == -1) {
		conn_reply_error(ctx->conn, EXIT_USAGE, "--surge: %s", cause);
		free(cause);
		return CMD_REPLIED;
	}
	for (i = 0; i < args_npos(&ctx->args); i++) {
		word = args_pos(&ctx->args, i);
		if (strcmp(word, "all") == 0) {
			TAILQ_FOREACH(app, &D.apps, entry) {
				if (!app->deleted)
					cmd_reload_add(&v, &n, app);
			}
		} else if ((app = app_find(word)) != NULL)
			cmd_reload_add(&v, &n, app);
		else {
			conn_reply_error(ctx->conn, 1, "no app '%s'", word);
			free(v);
			return CMD_REPLIED;
		}
	}
	if (args_has(&ctx->args, "update-env") && ctx->env != NULL) {
		for (i = 0; i < n; i++) {
			json_decref(v[i]->cfg.env);
			v[i]->cfg.env = json_deep_copy(ctx->env);
		}
	}
	if (reload_start(ctx->conn, v, n, (int)surge, NULL, &cause) == -1) {
		conn_reply_error(ctx->conn, 1, "%s", cause);
		free(cause);
		free(v);
		return CMD_REPLIED;
	}
	free(v);
	return CMD_PENDING;
}

const struct cmd_entry cmd_reload_entry = {
	.name = "reload",
	.aliases = { "gracefulReload" },
	.usage = "<name|all>... [--surge N] [--update-env]",
	.summary = "replace instances one by one, with no downtime",
	.opts = cmd_reload_opts,
	.min_args = 1,
	.max_args = -1,
	.flags = CMD_STARTS,
	.exec = cmd_reload_exec,
};
