/* SPDX-License-Identifier: ISC */
/*
 * From an app's settings to what execve needs: the script resolved against
 * the starting client's folder and PATH, the interpreter chosen by the
 * script's extension, the argv and the environment of one instance.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrald.h"

static int
appcfg_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* path made absolute against base; the caller frees it. */
static char *
appcfg_absolute(const char *base, const char *path)
{
	char *joined, *real;

	if (path[0] == '/')
		joined = xstrdup(path);
	else
		xasprintf(&joined, "%s/%s", base, path);
	real = realpath(joined, NULL);
	if (real == NULL)
		return joined;
	free(joined);
	return real;
}

/* The executable file name in a folder of env's PATH; NULL if none. */
char *
appcfg_search_path(const char *name, json_t *env)
{
	const char *path = json_string_value(json_object_get(env, "PATH"));
	char *copy, *dir, *save = NULL, *full;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = xstrdup(path);
	for (dir = strtok_r(copy, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		xasprintf(&full, "%s/%s", dir, name);
		if (appcfg_is_file(full) && access(full, X_OK) == 0) {
			free(copy);
			return full;
		}
		free(full);
	}
	free(copy);
	return NULL;
}

static const char *
appcfg_default_interpreter(const char *script)
{
	const char *dot = strrchr(script, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	if (strcmp(dot, ".js") == 0 || strcmp(dot, ".cjs") == 0 ||
	    strcmp(dot, ".mjs") == 0)
		return "node";
	if (strcmp(dot, ".py") == 0)
		return "python3";
	if (strcmp(dot, ".sh") == 0)
		return "bash";
	return NULL;
}

static void
appcfg_default_name(struct app_config *c)
{
	const char *base = strrchr(c->script, '/');
	const char *dot;

	base = base != NULL ? base + 1 : c->script;
	if (strchr(c->script, ' ') != NULL && c->script[0] != '/')
		base = c->script;
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base)
		dot = base + strcspn(base, " ");
	c->name = xstrndup(base, (size_t)(dot - base));
}

static int
appcfg_resolve_cwd(struct app_config *c, const char *client_cwd, char **cause)
{
	struct stat st;
	char *abs;

	abs = appcfg_absolute(client_cwd, c->cwd != NULL ? c->cwd : ".");
	if (stat(abs, &st) == -1 || !S_ISDIR(st.st_mode)) {
		xasprintf(cause, "cwd '%s': %s", c->cwd != NULL ? c->cwd :
		    client_cwd, errno != 0 && !S_ISREG(st.st_mode) ?
		    strerror(errno) : "not a directory");
		free(abs);
		return -1;
	}
	free(c->cwd);
	c->cwd = abs;
	return 0;
}

/*
 * Makes the script absolute (a file relative to cwd, else a command on the
 * client's PATH, else a shell command line when it has spaces), checks the
 * cwd, and fills in the name and interpreter. Errors are for the user.
 */
int
appcfg_resolve_script(struct app_config *c, const char *client_cwd,
    json_t *client_env, char **cause)
{
	const char *interp;
	char *path;

	if (c->script == NULL || *c->script == '\0') {
		*cause = xstrdup("no script given");
		return -1;
	}
	if (appcfg_resolve_cwd(c, client_cwd, cause) == -1)
		return -1;
	path = appcfg_absolute(c->cwd, c->script);
	if (appcfg_is_file(path)) {
		free(c->script);
		c->script = path;
	} else if (strchr(c->script, '/') == NULL &&
	    strchr(c->script, ' ') == NULL &&
	    (free(path), path = appcfg_search_path(c->script, client_env)) !=
	    NULL) {
		free(c->script);
		c->script = path;
	} else if (strchr(c->script, ' ') == NULL) {
		xasprintf(cause, "script '%s' not found", c->script);
		free(path);
		return -1;
	} else
		free(path);
	if (c->name == NULL)
		appcfg_default_name(c);
	if (c->interpreter == NULL) {
		interp = appcfg_default_interpreter(c->script);
		if (interp != NULL)
			c->interpreter = xstrdup(interp);
	} else if (strcmp(c->interpreter, "none") == 0) {
		free(c->interpreter);
		c->interpreter = NULL;
	}
	pm2compat_resolve(c);
	if (triggers_check(c, cause) == -1)
		return -1;
	return logsink_check(c, cause);
}

static char **
appcfg_strv_add(char **v, size_t *n, char *s)
{
	v = xreallocarray(v, *n + 2, sizeof *v);
	v[(*n)++] = s;
	v[*n] = NULL;
	return v;
}

/* The argv of an instance; free it with appcfg_strv_free(). */
char **
appcfg_argv(const struct app_config *c)
{
	char **v = NULL;
	size_t n = 0, i;
	json_t *a;

	if (c->script[0] != '/' && strchr(c->script, ' ') != NULL) {
		char *line;

		xasprintf(&line, "exec %s \"$@\"", c->script);
		v = appcfg_strv_add(v, &n, xstrdup("/bin/sh"));
		v = appcfg_strv_add(v, &n, xstrdup("-c"));
		v = appcfg_strv_add(v, &n, line);
		v = appcfg_strv_add(v, &n, xstrdup(c->name));
	} else {
		if (c->interpreter != NULL) {
			v = appcfg_strv_add(v, &n, xstrdup(c->interpreter));
			json_array_foreach(c->node_args, i, a)
				v = appcfg_strv_add(v, &n,
				    xstrdup(json_string_value(a)));
		}
		v = appcfg_strv_add(v, &n, xstrdup(c->script));
	}
	json_array_foreach(c->args, i, a)
		v = appcfg_strv_add(v, &n, xstrdup(json_string_value(a)));
	return v;
}

/* The environment of instance index (global id id) as KEY=VALUE strings. */
char **
appcfg_envp(const struct app_config *c, int index, int id, json_t *extra)
{
	json_t *env = json_copy(c->env);
	char **v = NULL, *s;
	const char *key;
	json_t *val;
	size_t n = 0;

	json_object_update(env, c->env_set);
	json_object_set_new(env, "CORRAL_INSTANCE", json_sprintf("%d", index));
	json_object_set_new(env, pm2compat_instance_var(c),
	    json_sprintf("%d", index));
	json_object_set_new(env, "CORRAL_ID", json_sprintf("%d", id));
	json_object_set_new(env, "CORRAL_APP", json_string(c->name));
	if (extra != NULL) {
		json_object_update(env, extra);
		json_object_foreach(extra, key, val) {
			if (json_is_null(val))
				json_object_del(env, key);
		}
	}
	json_object_foreach(env, key, val) {
		if (!json_is_string(val))
			continue;
		xasprintf(&s, "%s=%s", key, json_string_value(val));
		v = appcfg_strv_add(v, &n, s);
	}
	json_decref(env);
	if (v == NULL)
		v = appcfg_strv_add(v, &n, NULL), n = 0;
	return v;
}

void
appcfg_strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
