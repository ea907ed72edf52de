/* SPDX-License-Identifier: ISC */
/*
 * `corral env ID`: the environment an instance is started with ("KEY:
 * value" lines, sorted), as PM2's `env` prints it: the app's environment,
 * its --env settings and the variables corral adds (instance index, id,
 * name). The sockets' variables, set at each spawn, are left out.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

static int
cmd_env_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmd_env_exec(struct cmd_ctx *ctx)
{
	const char *word = args_pos(&ctx->args, 0);
	struct instance *inst;
	char **envp, *out = xstrdup(""), *tmp, *eq;
	long long id;
	size_t i, n;

	if (parse_int(word, 0, 1 << 30, &id, NULL) == -1 ||
	    (inst = app_find_instance((int)id, 0)) == NULL) {
		conn_reply_error(ctx->conn, 1, "no instance with id '%s'", word);
		free(out);
		return CMD_REPLIED;
	}
	envp = appcfg_envp(&inst->app->cfg, inst->index, inst->id, NULL);
	for (n = 0; envp[n] != NULL; n++)
		;
	qsort(envp, n, sizeof *envp, cmd_env_cmp);
	for (i = 0; i < n; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL)
			continue;
		xasprintf(&tmp, "%s%s%.*s: %s", out, i > 0 ? "\n" : "",
		    (int)(eq - envp[i]), envp[i], eq + 1);
		free(out);
		out = tmp;
	}
	appcfg_strv_free(envp);
	conn_reply(ctx->conn, proto_ok("message", json_string(out)));
	free(out);
	return CMD_REPLIED;
}

const struct cmd_entry cmd_env_entry = {
	.name = "env",
	.usage = "<id>",
	.summary = "print the environment of an instance",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_env_exec,
};
