/* SPDX-License-Identifier: ISC */
/* `corral describe`: every setting of an app and the state of its instances. */
#include <stdlib.h>

#include "corrald.h"

static int
cmd_describe_exec(struct cmd_ctx *ctx)
{
	struct instance **v;
	struct app *app = NULL;
	json_t *out = json_array(), *insts = NULL, *cfg, *scale;
	size_t i, n;

	if (cmd_targets(ctx, 0, &v, &n) == -1) {
		json_decref(out);
		return CMD_REPLIED;
	}
	for (i = 0; i < n; i++) {
		if (v[i]->app != app) {
			app = v[i]->app;
			cfg = appcfg_to_json(&app->cfg);
			json_object_set_new(cfg, "out_log",
			    json_str(app->log_out_path));
			json_object_set_new(cfg, "error_log",
			    json_str(app->log_err_path));
			json_object_set_new(cfg, "log_problems",
			    logsink_status(app));
			triggers_describe(app, cfg);
			if (app->problem != NULL)
				json_object_set_new(cfg, "problem",
				    json_str(app->problem));
			if ((scale = autoscale_json(app)) != NULL)
				json_object_set_new(cfg, "autoscale", scale);
			insts = json_array();
			json_array_append_new(out, json_pack("{s:o, s:o}",
			    "app", cfg, "instances", insts));
		}
		json_array_append_new(insts, instance_to_json(v[i]));
		json_object_set_new(json_array_get(insts,
		    json_array_size(insts) - 1), "cgroup",
		    limits_describe(v[i]));
	}
	free(v);
	conn_reply(ctx->conn, proto_ok("describe", out));
	return CMD_REPLIED;
}

const struct cmd_entry cmd_describe_entry = {
	.name = "describe",
	.aliases = { "show", "info", "desc" },
	.usage = "<name|id>",
	.summary = "show every setting of an app and its instances",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_describe_exec,
};
