/* SPDX-License-Identifier: ISC */
/*
 * From a config file (corral.ini, or a PM2 ecosystem JSON) to app
 * configurations: every key goes through appcfg_set_string(), the same
 * setter as the CLI flags, so a key added to appcfg.c's table works in
 * files too. Special keys: the section is the name, `args` is split as a
 * shell would, `env.NAME` sets a variable and `env_ENV.NAME` sets it when
 * --env ENV is given. The whole file is checked before anything changes:
 * any error and the caller gets every message ("file:line: message") and
 * no configuration.
 */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* Is name in the --only list (comma separated; NULL: everything)? */
int
cfgload_wanted(const char *only, const char *name)
{
	char *copy, *w, *save = NULL;
	int hit = 0;

	if (only == NULL)
		return 1;
	copy = xstrdup(only);
	for (w = strtok_r(copy, ", ", &save); w != NULL && !hit;
	    w = strtok_r(NULL, ", ", &save))
		hit = strcmp(w, name) == 0;
	free(copy);
	return hit;
}

/* Adds "key (app)" to the list of ignored options. */
static void
cfgload_ignored(char **ignored, const char *app, const char *key)
{
	char *old = *ignored;

	xasprintf(ignored, "%s%s%s (%s)", old ? old : "", old ? ", " : "", key,
	    app);
	free(old);
}

static void
cfgload_err(struct cfgfile *cf, const struct cfgfile_app *a, int line,
    const char *msg)
{
	if (line > 0)
		cfgfile_error(cf, line, "%s", msg);
	else
		cfgfile_error(cf, 0, "app '%s': %s", a->name, msg);
}

/* Applies one key of a file to cfg; env_ENV keys go to overrides. */
static void
cfgload_key(struct cfgfile *cf, const struct cfgfile_app *a,
    const struct cfgfile_entry *e, struct app_config *cfg, json_t *overrides,
    const char *envname, char **ignored)
{
	const char *dot = strchr(e->key, '.');
	char *why = NULL;
	json_t *words;
	size_t len;

	if (strcmp(e->key, "name") == 0) {
		cfgload_err(cf, a, e->line, "the app's name is its [section]");
		return;
	}
	if (strcmp(e->key, "args") == 0) {
		if ((words = cfgfile_split_args(e->value, &why)) == NULL)
			goto bad;
		json_decref(cfg->args);
		cfg->args = words;
		return;
	}
	if (dot != NULL && strncmp(e->key, "env", 3) == 0) {
		len = (size_t)(dot - e->key);
		if (dot[1] == '\0')
			xasprintf(&why, "no variable name after '%.*s.'",
			    (int)len, e->key);
		else if (len == 3)
			json_object_set_new(cfg->env_set, dot + 1,
			    json_string(e->value));
		else if (e->key[3] != '_' || len == 4)
			xasprintf(&why, "unknown setting '%s' (env.NAME or "
			    "env_ENV.NAME)", e->key);
		else if (envname != NULL && strlen(envname) == len - 4 &&
		    strncmp(e->key + 4, envname, len - 4) == 0)
			json_object_set_new(overrides, dot + 1,
			    json_string(e->value));
		if (why != NULL)
			goto bad;
		return;
	}
	if (appcfg_set_string(cfg, e->key, e->value, &why) == 0)
		return;
	if (cf->lenient && strncmp(why, "unknown setting", 15) == 0) {
		cfgload_ignored(ignored, a->name, e->key);
		free(why);
		return;
	}
bad:
	cfgload_err(cf, a, e->line, why);
	free(why);
}

/* Builds and checks the configuration of one app of the file. */
static int
cfgload_app(struct cfgfile *cf, const struct cfgfile_app *a, const char *dir,
    json_t *client_env, const char *envname, struct app_config *cfg,
    char **ignored)
{
	json_t *overrides = json_object();
	size_t i, before = cf->nerrors;
	char *why = NULL;

	appcfg_init(cfg);
	cfg->name = xstrdup(a->name);
	if (client_env != NULL) {
		json_decref(cfg->env);
		cfg->env = json_deep_copy(client_env);
	}
	for (i = 0; i < a->nentries; i++)
		cfgload_key(cf, a, &a->entries[i], cfg, overrides, envname,
		    ignored);
	json_object_update(cfg->env_set, overrides);
	json_decref(overrides);
	if (!cfgfile_valid_name(a->name))
		cfgload_err(cf, a, a->line, "bad app name");
	else if (cf->nerrors == before) {
		if (cfg->script == NULL)
			cfgload_err(cf, a, a->line, "no script");
		else if (appcfg_resolve_script(cfg, dir, client_env, &why) ==
		    -1) {
			char *msg;

			xasprintf(&msg, "app '%s': %s", a->name, why);
			cfgfile_error(cf, a->line, "%s", msg);
			free(msg);
			free(why);
		}
	}
	return cf->nerrors == before ? 0 : -1;
}

void
cfgload_free(struct cfgload *cl)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		appcfg_free(&cl->cfgs[i]);
	free(cl->cfgs);
	free(cl->path);
	free(cl->ignored);
	json_decref(cl->declared);
	memset(cl, 0, sizeof *cl);
}

/*
 * Builds cl from the file cf (read by cfgread.c from path): the
 * configurations of the apps it declares, only those of --only (the others
 * are not checked at all), with --env's variables. Returns 0, or -1 with
 * *cause holding every error. cfgload_free() releases cl either way.
 */
int
cfgload_build(struct cmd_ctx *ctx, const char *path, struct cfgfile *cf,
    struct cfgload *cl, char **cause)
{
	const char *only = args_get(&ctx->args, "only");
	const char *envname = args_get(&ctx->args, "env");
	struct app_config cfg;
	char *dir, *copy, *lost = NULL;
	size_t i;

	memset(cl, 0, sizeof *cl);
	cl->path = xstrdup(path);
	copy = xstrdup(cl->path);
	dir = dirname(copy);
	cl->declared = json_array();
	for (i = 0; i < cf->napps; i++) {
		json_array_append_new(cl->declared,
		    json_string(cf->apps[i].name));
		if (!cfgload_wanted(only, cf->apps[i].name))
			continue;
		if (cfgload_app(cf, &cf->apps[i], dir, ctx->env, envname, &cfg,
		    &cl->ignored) == -1) {
			appcfg_free(&cfg);
			continue;
		}
		cl->cfgs = xreallocarray(cl->cfgs, cl->n + 1, sizeof *cl->cfgs);
		cl->cfgs[cl->n++] = cfg;
	}
	free(copy);
	if (only != NULL) {
		copy = xstrdup(only);
		for (dir = strtok_r(copy, ", ", &lost); dir != NULL;
		    dir = strtok_r(NULL, ", ", &lost)) {
			if (cfgfile_find(cf, dir) == NULL)
				cfgfile_error(cf, 0, "--only: no app '%s' in the "
				    "file", dir);
		}
		free(copy);
	}
	*cause = cfgfile_errors(cf);
	return *cause != NULL ? -1 : 0;
}

int
cfgload_declares(const struct cfgload *cl, const char *name)
{
	json_t *v;
	size_t i;

	json_array_foreach(cl->declared, i, v) {
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	}
	return 0;
}

/* Tells whether a command's first word names a config file. */
int
cfgload_is_file(json_t *argv)
{
	const char *w = json_string_value(json_array_get(argv, 0));

	return w != NULL && cfgfile_kind(w) != 0;
}
