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

static int
appcfg_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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
 * What start refuses before any spawn: a script that is a directory, a
 * script run directly that may not be executed, an interpreter that is
 * not found or not executable, a script an interpreter may not read.
 */
static int
appcfg_runnable(const struct app_config *c, json_t *env, char **cause)
{
	struct stat st;
	char *interp;

	if (strchr(c->script, ' ') != NULL && c->script[0] != '/')
		return 0;       /* a shell command line */
	if (stat(c->script, &st) == -1 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "script '%s' is %s", c->script,
		    S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
		return -1;
	}
	if (c->interpreter == NULL) {
		if (access(c->script, X_OK) == 0)
			return 0;
		xasprintf(cause, "script '%s' is not executable (chmod +x it, "
		    "or give --interpreter)", c->script);
		return -1;
	}
	interp = strchr(c->interpreter, '/') != NULL ?
	    xstrdup(c->interpreter) : appcfg_search_path(c->interpreter, env);
	if (interp == NULL || !appcfg_is_file(interp) ||
	    access(interp, X_OK) != 0) {
		xasprintf(cause, "interpreter '%s' %s", c->interpreter,
		    interp == NULL ? "not found in PATH" : "is not executable");
		free(interp);
		return -1;
	}
	free(interp);
	if (access(c->script, R_OK) != 0) {
		xasprintf(cause, "script '%s': %s", c->script, strerror(errno));
		return -1;
	}
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
	if (appcfg_is_dir(path)) {
		xasprintf(cause, "script '%s' is a directory", c->script);
		free(path);
		return -1;
	}
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
	if (parse_app_name(c->name, cause) == -1)
		return -1;
	if (c->interpreter == NULL) {
		interp = appcfg_default_interpreter(c->script);
		if (interp != NULL)
			c->interpreter = xstrdup(interp);
	} else if (strcmp(c->interpreter, "none") == 0) {
		free(c->interpreter);
		c->interpreter = NULL;
	}
	pm2compat_resolve(c);
	if (appcfg_runnable(c, client_env, cause) == -1 ||
	    triggers_check(c, cause) == -1)
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

/* The variables corral sets for each instance, a later one winning. */
struct appcfg_own {
	const char	*key[4];
	const char	*val[4];
	char		 num[3][24];
};

static const char *
appcfg_own_value(const struct appcfg_own *o, const char *key)
{
	const char	*v = NULL;
	int		 i;

	for (i = 0; i < 4; i++)
		if (strcmp(o->key[i], key) == 0)
			v = o->val[i];
	return v;
}

/*
 * key's value in an instance's environment: extra's (JSON null removes
 * it), else corral's own, else the app's env_set, else its captured env.
 * NULL when it is removed or not a string.
 */
static const char *
appcfg_env_value(const struct app_config *c, const struct appcfg_own *o,
    json_t *extra, const char *key)
{
	const char	*s;
	json_t		*v;

	if ((v = json_object_get(extra, key)) != NULL)
		return json_string_value(v);
	if ((s = appcfg_own_value(o, key)) != NULL)
		return s;
	if ((v = json_object_get(c->env_set, key)) == NULL)
		v = json_object_get(c->env, key);
	return json_string_value(v);
}

/* Whether key is in neither env nor env_set nor the first upto of o's. */
static int
appcfg_env_new(const struct app_config *c, const struct appcfg_own *o,
    int upto, const char *key)
{
	int	 i;

	if (json_object_get(c->env, key) != NULL ||
	    json_object_get(c->env_set, key) != NULL)
		return 0;
	for (i = 0; i < upto; i++)
		if (strcmp(o->key[i], key) == 0)
			return 0;
	return 1;
}

/* Appends KEY=VALUE to v (room made by the caller) unless value is NULL. */
static void
appcfg_env_put(char **v, size_t *n, const char *key, const char *value)
{
	size_t	 k, l;

	if (value == NULL)
		return;
	k = strlen(key);
	l = strlen(value);
	v[*n] = xmalloc(k + l + 2);
	memcpy(v[*n], key, k);
	v[*n][k] = '=';
	memcpy(v[*n] + k + 1, value, l + 1);
	(*n)++;
}

/*
 * The environment of instance index (global id id) as KEY=VALUE strings,
 * in the order of a JSON object that starts as the app's env and takes,
 * in turn, env_set, corral's own variables and extra: no copy of the
 * object and no printf for each of the (often 50) variables of a spawn.
 */
char **
appcfg_envp(const struct app_config *c, int index, int id, json_t *extra)
{
	struct appcfg_own	 o = { .key = { "CORRAL_INSTANCE",
	    pm2compat_instance_var(c), "CORRAL_ID", "CORRAL_APP" } };
	const char		*key;
	json_t			*val;
	size_t			 n = 0;
	char			**v;
	int			 i;

	snprintf(o.num[0], sizeof o.num[0], "%d", index);
	snprintf(o.num[1], sizeof o.num[1], "%d", index);
	snprintf(o.num[2], sizeof o.num[2], "%d", id);
	for (i = 0; i < 3; i++)
		o.val[i] = o.num[i];
	o.val[3] = c->name;
	v = xcalloc(json_object_size(c->env) + json_object_size(c->env_set) +
	    json_object_size(extra) + 5, sizeof *v);
	json_object_foreach(c->env, key, val)
		appcfg_env_put(v, &n, key, appcfg_env_value(c, &o, extra, key));
	json_object_foreach(c->env_set, key, val)
		if (json_object_get(c->env, key) == NULL)
			appcfg_env_put(v, &n, key,
			    appcfg_env_value(c, &o, extra, key));
	for (i = 0; i < 4; i++)
		if (appcfg_env_new(c, &o, i, o.key[i]))
			appcfg_env_put(v, &n, o.key[i],
			    appcfg_env_value(c, &o, extra, o.key[i]));
	json_object_foreach(extra, key, val)
		if (appcfg_env_new(c, &o, 4, key))
			appcfg_env_put(v, &n, key, json_string_value(val));
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
