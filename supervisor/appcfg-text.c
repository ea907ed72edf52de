/* SPDX-License-Identifier: ISC */
/*
 * App settings from the text a person wrote (a CLI value, a line of an INI
 * or YAML config file): each key's value is parsed by its type in the key
 * table (appcfg.c) and checked before it replaces the old one; a refused
 * value leaves the setting as it was and names the key in *cause.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "appcfg-private.h"

/* Appends the comma-separated listen addresses of s, each checked. */
static int
appcfg_parse_list(json_t *list, const char *s, char **cause)
{
	char *copy = xstrdup(s), *word, *save = NULL;
	struct listener l;
	int rc = 0;

	for (word = strtok_r(copy, ", \t", &save); word != NULL;
	    word = strtok_r(NULL, ", \t", &save)) {
		if (listener_parse(word, NULL, &l, cause) == -1) {
			rc = -1;
			break;
		}
		listener_clear(&l);
		json_array_append_new(list, json_str(word));
	}
	free(copy);
	return rc;
}

static int
appcfg_parse_autorestart(const char *s, long long *out, char **cause)
{
	int b;

	if (strcmp(s, "always") == 0)
		*out = APP_RESTART_ALWAYS;
	else if (strcmp(s, "on-failure") == 0 || strcmp(s, "on_failure") == 0)
		*out = APP_RESTART_ON_FAILURE;
	else if (strcmp(s, "never") == 0)
		*out = APP_RESTART_NEVER;
	else if (parse_bool(s, &b, NULL) == 0)
		*out = b ? APP_RESTART_ALWAYS : APP_RESTART_NEVER;
	else {
		xasprintf(cause, "autorestart: '%s' is not always, on-failure "
		    "or never", s);
		return -1;
	}
	return 0;
}

static int
appcfg_parse_codes(const struct appcfg_key *k, struct app_config *c,
    const char *s, char **cause)
{
	char *copy = xstrdup(s), *word, *save = NULL;
	long long v, n = 0;
	int rc = 0;

	for (word = strtok_r(copy, ", ", &save); word != NULL;
	    word = strtok_r(NULL, ", ", &save)) {
		if (n == APP_MAX_STOP_CODES) {
			xasprintf(cause, "%s: too many codes", k->name);
			rc = -1;
			break;
		}
		if (parse_int(word, k->min, k->max, &v, cause) == -1) {
			rc = -1;
			break;
		}
		c->stop_exit_codes[n++] = v;
	}
	if (rc == 0)
		c->nstop_exit_codes = n;
	free(copy);
	return rc;
}

static int
appcfg_parse_env(json_t *env, const char *s, char **cause)
{
	const char *eq = strchr(s, '=');
	char *key;

	if (eq == NULL || eq == s) {
		xasprintf(cause, "env: '%s' is not KEY=VALUE", s);
		return -1;
	}
	key = xstrndup(s, (size_t)(eq - s));
	json_object_set_new_nocheck(env, key, json_str(eq + 1));
	free(key);
	return 0;
}

/*
 * The CPU count an instance count needs: max, 0 and -N count CPUs (five
 * reads of /proc and cgroup files), a plain positive count does not.
 */
static int
instances_ncpu(const char *s)
{
	return s[0] >= '1' && s[0] <= '9' ? 1 : sys_ncpu();
}

static int
appcfg_set_number(const struct appcfg_key *k, void *field, const char *s,
    char **cause)
{
	long long v;
	uint64_t u;
	int sig, n;

	switch (k->type) {
	case CFG_INT:
		if (parse_int(s, k->min, k->max, &v, cause) == -1)
			return -1;
		*(long long *)field = v;
		return 0;
	case CFG_DURATION:
		if (parse_duration(s, &u, cause) == -1)
			return -1;
		*(uint64_t *)field = u;
		return 0;
	case CFG_SIZE:
		if (parse_size(s, &u, cause) == -1)
			return -1;
		*(uint64_t *)field = u;
		return 0;
	case CFG_SIGNAL:
		if (parse_signal(s, &sig, cause) == -1)
			return -1;
		*(long long *)field = sig;
		return 0;
	case CFG_INSTANCES:
		if (parse_instances(s, instances_ncpu(s), &n, cause) == -1)
			return -1;
		*(long long *)field = n;
		return 0;
	default:
		return -1;
	}
}

/*
 * cron_restart must parse; watch is true/false or paths. An empty value
 * (or false) unsets either.
 */
static int
appcfg_set_checked(const struct appcfg_key *k, void *field, const char *s,
    char **cause)
{
	struct cron cron;
	char *why = NULL;
	int b;

	free(*(char **)field);
	*(char **)field = NULL;
	if (*s == '\0')
		return 0;
	if (k->type == CFG_CRON) {
		if (cron_parse(s, &cron, &why) == -1) {
			xasprintf(cause, "%s: %s", k->name, why);
			free(why);
			return -1;
		}
		*(char **)field = xstrdup(s);
		return 0;
	}
	if (parse_bool(s, &b, NULL) == 0)
		*(char **)field = b ? xstrdup(".") : NULL;
	else
		*(char **)field = xstrdup(s);
	return 0;
}

/* health: a check spec, or none (or nothing) for no check. */
static int
appcfg_set_health(struct app_config *c, const char *s, char **cause)
{
	struct health_spec h;

	if (*s != '\0' && strcmp(s, "none") != 0) {
		if (health_parse(s, &h, cause) == -1)
			return -1;
		health_spec_clear(&h);
	}
	free(c->health);
	c->health = *s != '\0' && strcmp(s, "none") != 0 ? xstrdup(s) : NULL;
	return 0;
}

/*
 * scale (and instances written MIN..MAX): the range, with the instance
 * count brought into it; none (or nothing) turns scaling off.
 */
static int
appcfg_set_scale(struct app_config *c, const char *s, char **cause)
{
	long long min, max;

	if (*s == '\0' || strcmp(s, "none") == 0) {
		c->scale_min = c->scale_max = 0;
		return 0;
	}
	if (autoscale_parse(s, &min, &max, cause) == -1)
		return -1;
	c->scale_min = min;
	c->scale_max = max;
	if (c->instances < min)
		c->instances = min;
	if (max > 0 && c->instances > max)
		c->instances = max;
	return 0;
}

/* A string key; ready, exec_mode and health are checked (or mapped) first. */
static int
appcfg_set_str(struct app_config *c, const struct appcfg_key *k,
    void *field, const char *s, char **cause)
{
	struct ready_spec r;

	if (strcmp(k->name, "ready") == 0) {
		if (ready_parse(s, &r, cause) == -1)
			return -1;
		ready_spec_clear(&r);
	}
	if (strcmp(k->name, "exec_mode") == 0 &&
	    (s = pm2compat_exec_mode(s, cause)) == NULL)
		return -1;
	if (strcmp(k->name, "health") == 0)
		return appcfg_set_health(c, s, cause);
	free(*(char **)field);
	*(char **)field = xstrdup(s);
	return 0;
}

/* A flag or boolean key: true/false, yes/no, on/off, 1/0. */
static int
appcfg_set_bool(const struct appcfg_key *k, void *field, const char *s,
    char **cause)
{
	char *why = NULL;
	int b;

	if (parse_bool(s, &b, &why) == -1) {
		xasprintf(cause, "%s: %s", k->name, why);
		free(why);
		return -1;
	}
	*(long long *)field = b;
	return 0;
}

/* A number, duration, size, signal or instance count, named in errors. */
static int
appcfg_set_value(const struct appcfg_key *k, void *field, const char *s,
    char **cause)
{
	char *why = NULL;

	if (appcfg_set_number(k, field, s, &why) == 0)
		return 0;
	xasprintf(cause, "%s: %s", k->name, why);
	free(why);
	return -1;
}

/* Sets key from the text a person wrote (CLI or config file). */
int
appcfg_set_string(struct app_config *c, const char *key, const char *s,
    char **cause)
{
	const struct appcfg_key *k = appcfg_find(key);
	void *field;

	if (k == NULL) {
		xasprintf(cause, "unknown setting '%s'", key);
		return -1;
	}
	field = (char *)c + k->offset;
	if (k->type == CFG_INSTANCES && strstr(s, "..") != NULL)
		return appcfg_set_scale(c, s, cause);
	switch (k->type) {
	case CFG_STRING:
		return appcfg_set_str(c, k, field, s, cause);
	case CFG_WORDS:
		return pm2compat_words(*(json_t **)field, s, k->name, cause);
	case CFG_SCALE:
		return appcfg_set_scale(c, s, cause);
	case CFG_LIST:
		return appcfg_parse_list(*(json_t **)field, s, cause);
	case CFG_FLAG:
	case CFG_BOOL:
		return appcfg_set_bool(k, field, s, cause);
	case CFG_ARGS:
		json_array_append_new(*(json_t **)field, json_str(s));
		return 0;
	case CFG_ENV:
		return appcfg_parse_env(*(json_t **)field, s, cause);
	case CFG_AUTORESTART:
		return appcfg_parse_autorestart(s, (long long *)field, cause);
	case CFG_CODES:
		return appcfg_parse_codes(k, c, s, cause);
	case CFG_LIMIT:
		return cgroup_limits_set(&c->limits, k->name, s, cause) == 0 ?
		    0 : -1;
	case CFG_CRON:
	case CFG_WATCH:
		return appcfg_set_checked(k, field, s, cause);
	default:
		return appcfg_set_value(k, field, s, cause);
	}
}
