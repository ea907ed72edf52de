/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of config files applied through the app key table: every key
 * of corral.ini (and its PM2 JSON name) lands in the configuration, and
 * every error carries its file and line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "corrald.h"

/* main.c's globals and helpers, which the linked objects refer to. */
struct daemon D;
uint64_t now_ms(void) { return 0; }
uint64_t mono_ms(void) { return 0; }
void daemon_check_shutdown(void) { }
void daemon_shutdown(struct conn *c) { (void)c; }
void daemon_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	(void)h;
	(void)n;
	b->base = NULL;
	b->len = 0;
}

static char dir[] = "/tmp/corral-test-cfgload-XXXXXX";

static const struct args_opt opts[] = {
	{ "only", 0, ARGS_VALUE, "" },
	{ "env", 0, ARGS_VALUE, "" },
	{ NULL, 0, 0, NULL }
};

static int
setup(void **state)
{
	char p[300];
	FILE *f;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof p, "%s/app.sh", dir);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs("#!/bin/sh\nexec sleep 1\n", f);
	fclose(f);
	chmod(p, 0755);
	snprintf(p, sizeof p, "%s/src", dir);
	return mkdir(p, 0755);
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Reads text as file name into cl, with the words after the file name. */
static int
load(const char *name, const char *text, struct cfgload *cl, char **cause,
    ...)
{
	struct cmd_ctx ctx;
	struct cfgfile *cf;
	char p[300];
	json_t *argv = json_pack("[s]", name);
	const char *w;
	va_list ap;
	FILE *f;
	int rc;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	va_start(ap, cause);
	while ((w = va_arg(ap, const char *)) != NULL)
		json_array_append_new(argv, json_string(w));
	va_end(ap);
	memset(&ctx, 0, sizeof ctx);
	ctx.cwd = dir;
	ctx.env = json_pack("{s:s, s:s}", "PATH", "/usr/bin:/bin", "FROM",
	    "client");
	assert_int_equal(args_parse(opts, argv, &ctx.args, cause), 0);
	*cause = NULL;
	memset(cl, 0, sizeof *cl);
	/* What cfgread.c does for an INI or (without node) a JSON file. */
	if ((cf = cfgfile_read(p, name, cause)) == NULL)
		rc = -1;
	else
		rc = cfgload_build(&ctx, p, cf, cl, cause);
	cfgfile_free(cf);
	args_free(&ctx.args);
	json_decref(ctx.env);
	json_decref(argv);
	return rc;
}

static json_t *
config_of(struct cfgload *cl, const char *name)
{
	size_t i;

	for (i = 0; i < cl->n; i++) {
		if (strcmp(cl->cfgs[i].name, name) == 0)
			return appcfg_to_json(&cl->cfgs[i]);
	}
	fail_msg("no app %s", name);
	return NULL;
}

/* Every key of the table, as a person writes it, and what it becomes. */
static const struct {
	const char *line;
	const char *key;
	const char *json;
} keys[] = {
	{ "args = -v 'a b'", "args", "[\"-v\", \"a b\"]" },
	{ "exec_interpreter = /bin/sh", "interpreter", "\"/bin/sh\"" },
	{ "cwd = src", "cwd", NULL },
	{ "env.PORT = 3000", "env", "{\"PORT\": \"3000\"}" },
	{ "instances = 3", "instances", "3" },
	{ "autorestart = on-failure", "autorestart", "\"on-failure\"" },
	{ "stop_exit_codes = 0, 3", "stop_exit_codes", "[0, 3]" },
	{ "restart_delay = 1500ms", "restart_delay", "1500" },
	{ "exp_backoff_restart_delay = 2s", "exp_backoff_restart_delay",
	  "2000" },
	{ "min_uptime = 1m", "min_uptime", "60000" },
	{ "max_restarts = 5", "max_restarts", "5" },
	{ "kill_signal = SIGINT", "kill_signal", "\"SIGINT\"" },
	{ "kill_timeout = 30s", "kill_timeout", "30000" },
	{ "cron_restart = 0 3 * * *", "cron_restart", "\"0 3 * * *\"" },
	{ "watch = .", "watch", "\".\"" },
	{ "ignore_watch = *.log, tmp", "ignore_watch", "\"*.log, tmp\"" },
	{ "watch_delay = 250ms", "watch_delay", "250" },
	{ "user = root", "user", "\"root\"" },
	{ "group = 0", "group", "\"0\"" },
};

static void
test_every_key(void **state)
{
	struct cfgload cl;
	char *text, *old, *cause = NULL, path[300];
	json_t *cfg, *want;
	json_error_t jerr;
	size_t i;

	(void)state;
	/* the script is relative to the cwd, itself relative to the file */
	text = xstrdup("[all-keys]\nscript = ../app.sh\n");
	for (i = 0; i < nitems(keys); i++) {
		if (geteuid() != 0 && (strcmp(keys[i].key, "user") == 0 ||
		    strcmp(keys[i].key, "group") == 0))
			continue;       /* only root may switch */
		old = text;
		xasprintf(&text, "%s%s\n", old, keys[i].line);
		free(old);
	}
	if (load("keys.ini", text, &cl, &cause, NULL) != 0)
		fail_msg("%s", cause);
	free(text);
	cfg = config_of(&cl, "all-keys");
	for (i = 0; i < nitems(keys); i++) {
		if (keys[i].json == NULL)
			continue;
		if (geteuid() != 0 && (strcmp(keys[i].key, "user") == 0 ||
		    strcmp(keys[i].key, "group") == 0))
			continue;
		want = json_loads(keys[i].json, JSON_DECODE_ANY, &jerr);
		assert_non_null(want);
		if (!json_equal(json_object_get(cfg, keys[i].key), want))
			fail_msg("%s: got %s", keys[i].line, json_dumps(
			    json_object_get(cfg, keys[i].key), JSON_ENCODE_ANY));
		json_decref(want);
	}
	snprintf(path, sizeof path, "%s/src", dir);
	assert_string_equal(json_string_value(json_object_get(cfg, "cwd")),
	    path);
	snprintf(path, sizeof path, "%s/app.sh", dir);
	assert_string_equal(json_string_value(json_object_get(cfg, "script")),
	    path);
	json_decref(cfg);
	cfgload_free(&cl);
}

static void
test_env_and_only(void **state)
{
	static const char text[] =
	    "[a]\nscript = app.sh\nenv.MODE = dev\nenv_production.MODE = prod\n"
	    "env_staging.MODE = stage\n"
	    "[b]\nscript = app.sh\n";
	struct cfgload cl;
	char *cause = NULL;
	json_t *cfg;

	(void)state;
	assert_int_equal(load("e.ini", text, &cl, &cause, "--env",
	    "production", "--only", "a", NULL), 0);
	assert_int_equal(cl.n, 1);
	assert_int_equal(json_array_size(cl.declared), 2);
	assert_true(cfgload_declares(&cl, "b"));
	cfg = config_of(&cl, "a");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    cfg, "env"), "MODE")), "prod");
	assert_string_equal(json_string_value(json_object_get(
	    cl.cfgs[0].env, "FROM")), "client");
	json_decref(cfg);
	cfgload_free(&cl);

	assert_int_equal(load("e.ini", text, &cl, &cause, "--only", "a,zz",
	    NULL), -1);
	assert_string_equal(cause, "e.ini: --only: no app 'zz' in the file");
	free(cause);
	cfgload_free(&cl);
}

static void
test_errors(void **state)
{
	struct cfgload cl;
	char *cause = NULL;

	(void)state;
	assert_int_equal(load("bad.ini",
	    "[a]\n"
	    "script = app.sh\n"
	    "name = other\n"
	    "instances = -\n"
	    "restart_delay = soon\n"
	    "kill_signal = SIGNOPE\n"
	    "autorestart = sometimes\n"
	    "env. = x\n"
	    "envy.X = 1\n"
	    "args = 'open\n"
	    "user = no-such-user-x\n"
	    "[b]\n"
	    "[c]\n"
	    "script = missing.sh\n"
	    "[d]\n"
	    "script = app.sh\n"
	    "user = no-such-user-x\n", &cl, &cause, NULL), -1);
	assert_non_null(cause);
	assert_string_equal(cause,
	    "bad.ini:3: the app's name is its [section]\n"
	    "bad.ini:4: instances: invalid instance count '-' (a number, max "
	    "or -N)\n"
	    "bad.ini:5: restart_delay: invalid duration 'soon' (try 1500ms, "
	    "2s or 1m)\n"
	    "bad.ini:6: kill_signal: unknown signal 'SIGNOPE'\n"
	    "bad.ini:7: autorestart: 'sometimes' is not always, on-failure or "
	    "never\n"
	    "bad.ini:8: no variable name after 'env.'\n"
	    "bad.ini:9: unknown setting 'envy.X' (env.NAME or env_ENV.NAME)\n"
	    "bad.ini:10: unterminated ' quote\n"
	    "bad.ini:12: no script\n"
	    "bad.ini:13: app 'c': script 'missing.sh' not found\n"
	    "bad.ini:15: app 'd': unknown user 'no-such-user-x'");
	free(cause);
	cfgload_free(&cl);
}

static void
test_pm2_json(void **state)
{
	struct cfgload cl;
	char *cause = NULL;
	json_t *cfg;

	(void)state;
	assert_int_equal(load("ecosystem.json",
	    "{\"apps\": [{\"name\": \"api\", \"script\": \"app.sh\", "
	    "\"exec_mode\": \"cluster\", \"kill_timeout\": 1600, "
	    "\"vizion\": false, \"node_args\": [\"--a\", \"b c\"], "
	    "\"uid\": \"root\", \"env\": {\"A\": 1}}]}", &cl, &cause, NULL), 0);
	assert_string_equal(cl.ignored, "vizion (api)");
	cfg = config_of(&cl, "api");
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "exec_mode")), "cluster");
	assert_int_equal(json_array_size(json_object_get(cfg, "node_args")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(cfg,
	    "node_args"), 1)), "b c");
	assert_int_equal(json_integer_value(json_object_get(cfg,
	    "kill_timeout")), 1600);
	assert_string_equal(json_string_value(json_object_get(cfg, "user")),
	    "root");
	json_decref(cfg);
	cfgload_free(&cl);

	assert_int_equal(load("eco.json",
	    "{\"apps\": [{\"name\": \"api\", \"script\": \"app.sh\", "
	    "\"instances\": \"many\"}]}", &cl, &cause, NULL), -1);
	assert_string_equal(cause, "eco.json: app 'api': instances: invalid "
	    "instance count 'many' (a number, max or -N)");
	free(cause);
	cfgload_free(&cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_env_and_only),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pm2_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
