/* SPDX-License-Identifier: ISC */
/*
 * PM2's JSON ecosystem files (ecosystem.json, *.config.json) read into the
 * same struct cfgfile as corral.ini: each app object becomes a section
 * whose keys carry corral's names (PM2 aliases renamed, numbers of
 * milliseconds given their unit, arrays joined). Keys corral does not
 * know are passed through; the cfgfile is marked lenient so that whoever
 * applies it reports them as ignored instead of failing.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cfgfile.h"

/* PM2 names that differ from corral's. */
static const struct {
	const char *pm2;
	const char *corral;
} ecosystem_renames[] = {
	{ "interpreter", "exec_interpreter" },
	{ "uid", "user" },
	{ "gid", "group" },
	{ "output", "out_file" },
	{ "error", "error_file" },
	{ "combine_logs", "merge_logs" },
	{ "log", "log_file" },
};

/* Keys whose plain numbers are milliseconds in PM2. */
static const char *const ecosystem_ms_keys[] = {
	"restart_delay", "exp_backoff_restart_delay", "min_uptime",
	"kill_timeout", "listen_timeout", "watch_delay",
};

static const char *
ecosystem_rename(const char *key)
{
	size_t i;

	for (i = 0; i < nitems(ecosystem_renames); i++) {
		if (strcmp(key, ecosystem_renames[i].pm2) == 0)
			return ecosystem_renames[i].corral;
	}
	return key;
}

static int
ecosystem_is_ms(const char *key)
{
	size_t i;

	for (i = 0; i < nitems(ecosystem_ms_keys); i++) {
		if (strcmp(key, ecosystem_ms_keys[i]) == 0)
			return 1;
	}
	return 0;
}

/* Appends word to *s, quoted for cfgfile's shell-like args splitting. */
static void
ecosystem_append_quoted(char **s, const char *word)
{
	char *q, *p, *old = *s;
	const char *w;

	q = p = xmalloc(strlen(word) * 4 + 3);
	*p++ = '\'';
	for (w = word; *w != '\0'; w++) {
		if (*w == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else
			*p++ = *w;
	}
	*p++ = '\'';
	*p = '\0';
	xasprintf(s, "%s%s%s", old ? old : "", old ? " " : "", q);
	free(old);
	free(q);
}

/* Converts a scalar to text; returns NULL for objects and nulls. */
static char *
ecosystem_scalar(const char *key, json_t *v)
{
	char *s;

	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_true(v))
		return xstrdup("true");
	if (json_is_false(v))
		return xstrdup("false");
	if (json_is_integer(v)) {
		xasprintf(&s, "%lld%s", (long long)json_integer_value(v),
		    ecosystem_is_ms(key) ? "ms" : "");
		return s;
	}
	if (json_is_real(v)) {
		xasprintf(&s, "%g%s", json_real_value(v),
		    ecosystem_is_ms(key) ? "ms" : "");
		return s;
	}
	return NULL;
}

/* Converts a value to text; arrays are joined. NULL if not convertible. */
static char *
ecosystem_value(const char *key, json_t *v)
{
	char *s = NULL, *item, *old;
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return ecosystem_scalar(key, v);
	json_array_foreach(v, i, e) {
		if ((item = ecosystem_scalar(key, e)) == NULL) {
			free(s);
			return NULL;
		}
		if (strcmp(key, "args") == 0 || strcmp(key, "node_args") == 0 ||
		    strcmp(key, "interpreter_args") == 0)
			ecosystem_append_quoted(&s, item);
		else {
			old = s;
			xasprintf(&s, "%s%s%s", old ? old : "", old ? "," : "",
			    item);
			free(old);
		}
		free(item);
	}
	return s != NULL ? s : xstrdup("");
}

/* Adds env (or env_NAME) variables as "env.K" ("env_NAME.K") keys. */
static void
ecosystem_env(struct cfgfile *cf, struct cfgfile_app *app, const char *key,
    json_t *obj)
{
	const char *k;
	json_t *v;
	char *name, *value;

	json_object_foreach(obj, k, v) {
		xasprintf(&name, "%s.%s", key, k);
		if (json_is_null(v))
			value = xstrdup("");
		else if ((value = ecosystem_scalar("", v)) == NULL) {
			cfgfile_error(cf, 0, "app '%s': %s: value of %s is "
			    "not a string or number", app->name, key, k);
			free(name);
			continue;
		}
		cfgfile_add(app, name, value, 0);
		free(name);
		free(value);
	}
}

/* The name PM2 would give: the script's base name without extension. */
static char *
ecosystem_default_name(json_t *obj)
{
	const char *script, *base;
	char *name, *dot;

	script = json_string_value(json_object_get(obj, "script"));
	if (script == NULL || *script == '\0')
		return NULL;
	base = strrchr(script, '/') ? strrchr(script, '/') + 1 : script;
	name = xstrdup(*base != '\0' ? base : script);
	if ((dot = strrchr(name, '.')) != NULL && dot != name)
		*dot = '\0';
	return name;
}

static void
ecosystem_app(struct cfgfile *cf, json_t *obj, size_t index)
{
	struct cfgfile_app *app;
	const char *key, *name;
	char *value, *dflt = NULL;
	json_t *v;

	if (!json_is_object(obj)) {
		cfgfile_error(cf, 0, "apps[%zu] is not an object", index);
		return;
	}
	name = json_string_value(json_object_get(obj, "name"));
	if (name == NULL && (name = dflt = ecosystem_default_name(obj)) ==
	    NULL) {
		cfgfile_error(cf, 0, "apps[%zu] has neither name nor script",
		    index);
		return;
	}
	if (cfgfile_find(cf, name) != NULL) {
		cfgfile_error(cf, 0, "apps[%zu]: app '%s' declared twice",
		    index, name);
		free(dflt);
		return;
	}
	app = cfgfile_add_app(cf, name, 0);
	free(dflt);
	json_object_foreach(obj, key, v) {
		if (strcmp(key, "name") == 0)
			continue;
		if (strcmp(key, "env") == 0 || strncmp(key, "env_", 4) == 0) {
			if (json_is_object(v))
				ecosystem_env(cf, app, key, v);
			else
				cfgfile_error(cf, 0, "app '%s': %s is not an "
				    "object", app->name, key);
			continue;
		}
		if (json_is_null(v))
			continue;
		if ((value = ecosystem_value(ecosystem_rename(key), v)) ==
		    NULL) {
			/* an object corral has no use for: let it be ignored */
			cfgfile_add(app, ecosystem_rename(key), "", 0);
			continue;
		}
		cfgfile_add(app, ecosystem_rename(key), value, 0);
		free(value);
	}
}

/*
 * Parses a PM2 ecosystem file: {"apps": [...]} (or one app object as
 * "apps"), a bare array of apps or a single app object. Returns a lenient
 * cfgfile, or NULL with *cause (every error, one per line; the caller
 * frees).
 */
struct cfgfile *
ecosystem_parse(const char *shown, const char *data, size_t len, char **cause)
{
	struct cfgfile *cf;
	json_error_t jerr;
	json_t *root, *apps, *obj;
	size_t i;

	cf = cfgfile_create(shown);
	cf->lenient = 1;
	if ((root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		cfgfile_error(cf, jerr.line > 0 ? jerr.line : 0, "%s",
		    jerr.text);
		goto fail;
	}
	if (json_is_array(root))
		apps = root;
	else if (json_is_object(root) && json_is_array(json_object_get(root,
	    "apps")))
		apps = json_object_get(root, "apps");
	else if (json_is_object(root) && json_is_object(json_object_get(root,
	    "apps"))) {
		obj = json_incref(json_object_get(root, "apps"));
		json_decref(root);
		root = obj;
		apps = NULL;
	}
	else if (json_is_object(root) && json_object_get(root, "script"))
		apps = NULL;
	else {
		cfgfile_error(cf, 0, "no \"apps\" array");
		json_decref(root);
		goto fail;
	}
	if (apps == NULL)
		ecosystem_app(cf, root, 0);
	else {
		json_array_foreach(apps, i, obj)
			ecosystem_app(cf, obj, i);
	}
	json_decref(root);
	if (cf->nerrors == 0 && cf->napps == 0)
		cfgfile_error(cf, 0, "no apps");
	if (cf->nerrors > 0)
		goto fail;
	return cf;

fail:
	*cause = cfgfile_errors(cf);
	cfgfile_free(cf);
	return NULL;
}
