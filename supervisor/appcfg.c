/* SPDX-License-Identifier: ISC */
/*
 * The settings of an app as one table of keys: each key's type and place in
 * struct app_config give its CLI flag (--kebab-case), its config-file key
 * (snake_case), its JSON in describe and dump.json, and its parser. A new
 * setting is one field and one row here; every way in and out picks it up.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrald.h"

enum appcfg_type {
	CFG_STRING,
	CFG_INT,
	CFG_DURATION,
	CFG_SIZE,
	CFG_SIGNAL,
	CFG_AUTORESTART,
	CFG_CODES,
	CFG_ARGS,
	CFG_ENV,
	CFG_INSTANCES,
	CFG_LIMIT,                      /* a cgroup limit, parsed by cgroup-limits.c */
	CFG_FLAG,                       /* CLI: a flag; config: a boolean */
	CFG_CRON,
	CFG_WATCH,
	CFG_LIST,                       /* array of strings, "a, b" appends */
	CFG_BOOL,
	CFG_WORDS,                      /* array: "a b" is split as a shell would */
	CFG_SCALE,                      /* MIN..MAX, parsed by autoscale.c */
};

struct appcfg_key {
	const char *name;               /* snake_case key and JSON name */
	const char *alias;              /* another config key (PM2's), or NULL */
	char short_flag;
	enum appcfg_type type;
	size_t offset;
	long long min;
	long long max;
	const char *help;
};

#define F(field) offsetof(struct app_config, field)
static const struct appcfg_key appcfg_keys[] = {
	{ "name", NULL, 'n', CFG_STRING, F(name), 0, 0,
	  "NAME   name of the app (default: the script's base name)" },
	{ "script", NULL, 0, CFG_STRING, F(script), 0, 0,
	  "PATH   the program or script to run" },
	{ "args", NULL, 0, CFG_ARGS, F(args), 0, 0,
	  "ARGS   arguments (also after --)" },
	{ "interpreter", "exec_interpreter", 0, CFG_STRING, F(interpreter), 0, 0,
	  "PROG   run the script with PROG (none: run it directly)" },
	{ "cwd", NULL, 0, CFG_STRING, F(cwd), 0, 0,
	  "DIR    working directory" },
	{ "env", NULL, 0, CFG_ENV, F(env_set), 0, 0,
	  "K=V    set an environment variable (repeatable)" },
	{ "instances", NULL, 'i', CFG_INSTANCES, F(instances), 1, 4096,
	  "N      instances: a number, max, or -N (CPUs minus N)" },
	{ "autorestart", NULL, 0, CFG_AUTORESTART, F(autorestart), 0, 0,
	  "WHEN   always, on-failure or never" },
	{ "stop_exit_codes", NULL, 0, CFG_CODES, F(stop_exit_codes), 0, 255,
	  "CODES  exit codes that do not restart (comma separated)" },
	{ "restart_delay", NULL, 0, CFG_DURATION, F(restart_delay), 0, 0,
	  "DUR    wait before a restart" },
	{ "exp_backoff_restart_delay", NULL, 0, CFG_DURATION,
	  F(exp_backoff_restart_delay), 0, 0,
	  "DUR    first delay of exponential backoff (capped at 15s)" },
	{ "min_uptime", NULL, 0, CFG_DURATION, F(min_uptime), 0, 0,
	  "DUR    a shorter run counts as unstable (default 1s)" },
	{ "max_restarts", NULL, 0, CFG_INT, F(max_restarts), 0, 1000000,
	  "N      unstable restarts before errored (default 16)" },
	{ "kill_signal", NULL, 0, CFG_SIGNAL, F(kill_signal), 0, 0,
	  "SIG    signal for a graceful stop (default SIGTERM)" },
	{ "kill_timeout", NULL, 0, CFG_DURATION, F(kill_timeout), 0, 0,
	  "DUR    wait before SIGKILL (default 5s)" },
	{ "max_memory", NULL, 0, CFG_LIMIT, F(limits), 0, 0,
	  "SIZE   memory limit of each instance, enforced by its cgroup" },
	{ "memory_high", NULL, 0, CFG_LIMIT, F(limits), 0, 0,
	  "SIZE   throttle each instance's memory above SIZE (cgroup v2)" },
	{ "cpu", NULL, 0, CFG_LIMIT, F(limits), 0, 0,
	  "N%|N   CPU quota of each instance: 50% or 1.5 (cores)" },
	{ "max_pids", NULL, 0, CFG_LIMIT, F(limits), 0, 0,
	  "N      processes and threads of each instance" },
	{ "max_memory_restart", NULL, 0, CFG_SIZE, F(max_memory_restart), 0, 0,
	  "SIZE   replace an instance whose memory passes SIZE" },
	{ "out_file", "output", 'o', CFG_STRING, F(out_file), 0, 0,
	  "PATH   stdout log file (default logs/NAME-out.log)" },
	{ "error_file", "error", 'e', CFG_STRING, F(error_file), 0, 0,
	  "PATH   stderr log file (default logs/NAME-error.log)" },
	{ "log_file", "log", 'l', CFG_STRING, F(log_file), 0, 0,
	  "PATH   also write both streams to one file" },
	{ "merge_logs", NULL, 0, CFG_FLAG, F(merge_logs), 0, 0,
	  "       one log file for every instance (default; "
	  "--no-merge-logs: one per instance)" },
	{ "log_prefix", NULL, 0, CFG_FLAG, F(log_prefix), 0, 0,
	  "       the instance index before each line" },
	{ "log_date_format", NULL, 0, CFG_STRING, F(log_date_format), 0, 0,
	  "FMT    a timestamp per line: strftime(3), %L for milliseconds" },
	{ "time", NULL, 't', CFG_FLAG, F(time), 0, 0,
	  "       a timestamp per line (" LOGFMT_DEFAULT_DATE ")" },
	{ "log_type", NULL, 0, CFG_STRING, F(log_type), 0, 0,
	  "TYPE   raw (default) or json: one JSON object per line" },
	{ "disable_logs", NULL, 0, CFG_FLAG, F(disable_logs), 0, 0,
	  "       write no log file" },
	{ "log_sink", NULL, 0, CFG_STRING, F(log_sink), 0, 0,
	  "WHERE  file (default), journal or both" },
	{ "max_log_size", NULL, 0, CFG_SIZE, F(max_log_size), 0, 0,
	  "SIZE   rotate a log file past this size (default 10M, 0: never)" },
	{ "retain_logs", NULL, 0, CFG_INT, F(retain_logs), 1, 100000,
	  "N      rotated log files kept (default 10)" },
	{ "compress_logs", NULL, 0, CFG_FLAG, F(compress_logs), 0, 0,
	  "       gzip rotated log files" },
	{ "max_log_age", NULL, 0, CFG_DURATION, F(max_log_age), 0, 0,
	  "DUR    remove rotated log files older than this" },
	{ "cron_restart", "cron", 0, CFG_CRON, F(cron_restart), 0, 0,
	  "CRON   restart on a cron schedule (5 fields, or 6 with seconds)" },
	{ "watch", NULL, 0, CFG_WATCH, F(watch), 0, 0,
	  "PATHS  restart on file changes: true (the cwd) or paths" },
	{ "ignore_watch", NULL, 0, CFG_STRING, F(ignore_watch), 0, 0,
	  "GLOBS  changes to ignore (comma separated)" },
	{ "watch_delay", NULL, 0, CFG_DURATION, F(watch_delay), 0, 0,
	  "DUR    restart this long after the last change (default 1s)" },
	{ "user", "uid", 0, CFG_STRING, F(user), 0, 0,
	  "USER   run the instances as this user (daemon as root)" },
	{ "group", "gid", 0, CFG_STRING, F(group), 0, 0,
	  "GROUP  run the instances with this group" },
	{ "listen", NULL, 0, CFG_LIST, F(listen), 0, 0,
	  "ADDR   hold a socket for the instances: PORT, IP:PORT, [IP6]:PORT, "
	  "unix:PATH (repeatable)" },
	{ "ready", NULL, 0, CFG_STRING, F(ready), 0, 0,
	  "HOW    readiness: listen, notify, delay:DUR, tcp:[HOST:]PORT, "
	  "http://..., none" },
	{ "listen_timeout", NULL, 0, CFG_DURATION, F(listen_timeout), 0, 0,
	  "DUR    time to become ready (default 10s, 0: no limit)" },
	{ "preload", NULL, 0, CFG_BOOL, F(preload), 0, 0,
	  "BOOL   let the app's own bind() use the held sockets (default true)" },
	{ "reload_surge", NULL, 0, CFG_INT, F(reload_surge), 1, 4096,
	  "N      replacements unready at once during a reload (default 1)" },
	{ "increment_var", NULL, 0, CFG_STRING, F(increment_var), 0, 0,
	  "VAR    add the instance index to this variable (e.g. PORT)" },
	{ "exec_mode", NULL, 0, CFG_STRING, F(exec_mode), 0, 0,
	  "MODE   cluster: the app's own bind() gets a socket the daemon "
	  "holds; fork (default with 1 instance)" },
	{ "instance_var", NULL, 0, CFG_STRING, F(instance_var), 0, 0,
	  "VAR    the variable holding the instance index "
	  "(default NODE_APP_INSTANCE)" },
	{ "node_args", "interpreter_args", 0, CFG_WORDS, F(node_args), 0, 0,
	  "ARGS   options of the interpreter, before the script" },
	{ "wait_ready", NULL, 0, CFG_FLAG, F(wait_ready), 0, 0,
	  "       ready when the node app calls process.send('ready')" },
	{ "shutdown_with_message", NULL, 0, CFG_FLAG,
	  F(shutdown_with_message), 0, 0,
	  "       stop a node app with the message 'shutdown', not a signal" },
	{ "drain_timeout", NULL, 0, CFG_DURATION, F(drain_timeout), 0, 0,
	  "DUR    at a stop, time for open connections to finish once the "
	  "instance stops accepting (default 5s)" },
	{ "listen_bound", NULL, 0, CFG_LIST, F(listen_bound), 0, 0,
	  NULL },                       /* not an option: bindreq.c fills it */
	{ "health", NULL, 0, CFG_STRING, F(health), 0, 0,
	  "HOW    liveness check: http://HOST:PORT/PATH, tcp:[HOST:]PORT, "
	  "exec:CMD, none" },
	{ "health_interval", NULL, 0, CFG_DURATION, F(health_interval), 0, 0,
	  "DUR    time between two liveness checks (default 10s)" },
	{ "health_timeout", NULL, 0, CFG_DURATION, F(health_timeout), 0, 0,
	  "DUR    time one liveness check may take (default 3s)" },
	{ "health_threshold", NULL, 0, CFG_INT, F(health_threshold), 1, 1000,
	  "N      failed checks in a row that replace an instance (default 3)" },
	{ "scale", NULL, 0, CFG_SCALE, F(scale_min), 0, 0,
	  "MIN..MAX  scale by load between MIN and MAX (a number or max) "
	  "instances" },
	{ "scale_queue", NULL, 0, CFG_INT, F(scale_queue), 1, 1000000,
	  "N      accept queue length that asks for one more instance "
	  "(default 10)" },
	{ "scale_cpu", NULL, 0, CFG_INT, F(scale_cpu), 1, 100,
	  "PCT    CPU use of the instances that asks for one more (default 80)" },
	{ "scale_up_window", NULL, 0, CFG_DURATION, F(scale_up_window), 0, 0,
	  "DUR    how long the load must last to add one (default 10s)" },
	{ "scale_down_window", NULL, 0, CFG_DURATION, F(scale_down_window), 0,
	  0, "DUR    calm time before one instance goes (default 60s)" },
	{ "scale_above_cpus", NULL, 0, CFG_FLAG, F(scale_above_cpus), 0, 0,
	  "       let scaling go past the CPU count (-i max)" },
};
#undef F

void
appcfg_init(struct app_config *c)
{
	memset(c, 0, sizeof *c);
	c->args = json_array();
	c->env = json_object();
	c->env_set = json_object();
	c->instances = 1;
	c->autorestart = APP_RESTART_ALWAYS;
	c->min_uptime = 1000;
	c->max_restarts = 16;
	c->kill_signal = SIGTERM;
	c->kill_timeout = 5000;
	c->merge_logs = 1;
	c->max_log_size = LOGROTATE_DEFAULT_SIZE;
	c->retain_logs = LOGROTATE_DEFAULT_RETAIN;
	c->watch_delay = 1000;
	c->listen = json_array();
	c->listen_timeout = READY_DEFAULT_TIMEOUT;
	c->preload = 1;
	c->reload_surge = 1;
	c->node_args = json_array();
	c->drain_timeout = 5000;
	c->listen_bound = json_array();
	c->health_interval = HEALTH_DEFAULT_INTERVAL;
	c->health_timeout = HEALTH_DEFAULT_TIMEOUT;
	c->health_threshold = HEALTH_DEFAULT_THRESHOLD;
	c->scale_queue = 10;
	c->scale_cpu = 80;
	c->scale_up_window = 10000;
	c->scale_down_window = 60000;
}

void
appcfg_free(struct app_config *c)
{
	free(c->name);
	free(c->script);
	free(c->interpreter);
	free(c->cwd);
	free(c->out_file);
	free(c->error_file);
	free(c->log_file);
	free(c->log_date_format);
	free(c->log_type);
	free(c->log_sink);
	free(c->cron_restart);
	free(c->watch);
	free(c->ignore_watch);
	free(c->user);
	free(c->group);
	json_decref(c->args);
	json_decref(c->env);
	json_decref(c->env_set);
	json_decref(c->listen);
	free(c->ready);
	free(c->increment_var);
	free(c->exec_mode);
	free(c->instance_var);
	json_decref(c->node_args);
	json_decref(c->listen_bound);
	free(c->health);
	memset(c, 0, sizeof *c);
}

static const struct appcfg_key *
appcfg_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(appcfg_keys); i++) {
		if (strcmp(appcfg_keys[i].name, name) == 0 ||
		    (appcfg_keys[i].alias != NULL &&
		    strcmp(appcfg_keys[i].alias, name) == 0))
			return &appcfg_keys[i];
	}
	return NULL;
}

/* CPUs this process may use: affinity capped by the cgroup quota. */
int
sys_ncpu(void)
{
	return cpus_available();
}

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
		json_array_append_new(list, json_string(word));
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
	json_object_set_new(env, key, json_string(eq + 1));
	free(key);
	return 0;
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
		if (parse_instances(s, sys_ncpu(), &n, cause) == -1)
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

/* Sets key from the text a person wrote (CLI or config file). */
int
appcfg_set_string(struct app_config *c, const char *key, const char *s,
    char **cause)
{
	const struct appcfg_key *k = appcfg_find(key);
	void *field;
	char *why = NULL;
	int rc;

	if (k == NULL) {
		xasprintf(cause, "unknown setting '%s'", key);
		return -1;
	}
	field = (char *)c + k->offset;
	if (k->type == CFG_INSTANCES && strstr(s, "..") != NULL)
		return appcfg_set_scale(c, s, cause);
	switch (k->type) {
	case CFG_STRING:
		if (strcmp(k->name, "ready") == 0) {
			struct ready_spec r;
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
	case CFG_WORDS:
		return pm2compat_words(*(json_t **)field, s, k->name, cause);
	case CFG_SCALE:
		return appcfg_set_scale(c, s, cause);
	case CFG_LIST:
		return appcfg_parse_list(*(json_t **)field, s, cause);
	case CFG_FLAG:
	case CFG_BOOL: {
		int b;
		if (parse_bool(s, &b, &why) == -1) {
			xasprintf(cause, "%s: %s", k->name, why);
			free(why);
			return -1;
		}
		*(long long *)field = b;
		return 0;
	}
	case CFG_ARGS:
		json_array_append_new(*(json_t **)field, json_string(s));
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
		rc = appcfg_set_number(k, field, s, &why);
		if (rc == -1) {
			xasprintf(cause, "%s: %s", k->name, why);
			free(why);
		}
		return rc;
	}
}

/* Sets key from a JSON value (dump.json, ecosystem files, describe). */
int
appcfg_set(struct app_config *c, const char *key, json_t *v, char **cause)
{
	const struct appcfg_key *k = appcfg_find(key);
	json_t **field;
	char buf[64];
	const char *s;
	size_t i;
	json_t *item;

	if (k == NULL) {
		xasprintf(cause, "unknown setting '%s'", key);
		return -1;
	}
	if (k->type == CFG_LIST && json_is_array(v)) {
		field = (json_t **)((char *)c + k->offset);
		json_array_clear(*field);
		json_array_foreach(v, i, item) {
			if (json_is_integer(item)) {
				snprintf(buf, sizeof buf, "%lld",
				    (long long)json_integer_value(item));
				s = buf;
			} else if ((s = json_string_value(item)) == NULL) {
				xasprintf(cause, "%s: wrong type", k->name);
				return -1;
			}
			if (appcfg_set_string(c, key, s, cause) == -1)
				return -1;
		}
		return 0;
	}
	if (k->type == CFG_WORDS && json_is_array(v)) {
		field = (json_t **)((char *)c + k->offset);
		json_array_clear(*field);
		json_array_foreach(v, i, item) {
			if (!json_is_string(item)) {
				xasprintf(cause, "%s: wrong type", k->name);
				return -1;
			}
			json_array_append(*field, item);
		}
		return 0;
	}
	if (k->type == CFG_ARGS || k->type == CFG_ENV) {
		field = (json_t **)((char *)c + k->offset);
		if (json_is_string(v))
			return appcfg_set_string(c, key, json_string_value(v), cause);
		if ((k->type == CFG_ARGS && !json_is_array(v)) ||
		    (k->type == CFG_ENV && !json_is_object(v))) {
			xasprintf(cause, "%s: wrong type", k->name);
			return -1;
		}
		json_decref(*field);
		*field = json_deep_copy(v);
		return 0;
	}
	if (k->type == CFG_CODES && json_is_array(v)) {
		c->nstop_exit_codes = 0;
		json_array_foreach(v, i, item) {
			snprintf(buf, sizeof buf, "%lld",
			    (long long)json_integer_value(item));
			if (!json_is_integer(item) ||
			    appcfg_set_string(c, key, buf, cause) == -1) {
				if (*cause == NULL)
					xasprintf(cause, "%s: wrong type", k->name);
				return -1;
			}
		}
		return 0;
	}
	if (json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
		s = buf;
	} else if (json_is_real(v) && k->type == CFG_LIMIT) {
		snprintf(buf, sizeof buf, "%.3f", json_real_value(v));
		s = buf;
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
	} else if (json_is_string(v)) {
		s = json_string_value(v);
	} else {
		xasprintf(cause, "%s: wrong type", k->name);
		return -1;
	}
	return appcfg_set_string(c, key, s, cause);
}

static json_t *
appcfg_key_json(const struct app_config *c, const struct appcfg_key *k)
{
	const void *field = (const char *)c + k->offset;
	static const char *restart[] = { "always", "on-failure", "never" };
	json_t *a;
	long long i;

	switch (k->type) {
	case CFG_STRING:
	case CFG_CRON:
	case CFG_WATCH:
		return *(char *const *)field != NULL ?
		    json_string(*(char *const *)field) : json_null();
	case CFG_ARGS:
	case CFG_ENV:
	case CFG_LIST:
	case CFG_WORDS:
		return json_deep_copy(*(json_t *const *)field);
	case CFG_BOOL:
	case CFG_FLAG:
		return json_boolean(*(const long long *)field);
	case CFG_AUTORESTART:
		return json_string(restart[*(const long long *)field]);
	case CFG_CODES:
		a = json_array();
		for (i = 0; i < c->nstop_exit_codes; i++)
			json_array_append_new(a, json_integer(c->stop_exit_codes[i]));
		return a;
	case CFG_SIGNAL:
		return json_string(signal_name((int)*(const long long *)field));
	case CFG_DURATION:
	case CFG_SIZE:
		return json_integer((json_int_t)*(const uint64_t *)field);
	case CFG_SCALE:
		if (c->scale_max == 0)
			return json_null();
		if (c->scale_max < 0)
			return json_sprintf("%lld..max", c->scale_min);
		return json_sprintf("%lld..%lld", c->scale_min, c->scale_max);
	case CFG_LIMIT:
		a = cgroup_limits_json(&c->limits);
		field = json_incref(json_object_get(a, k->name));
		json_decref(a);
		return field != NULL ? (json_t *)field : json_null();
	default:
		return json_integer(*(const long long *)field);
	}
}

/* The declared configuration as JSON; the client's environment is left out. */
json_t *
appcfg_to_json(const struct app_config *c)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < nitems(appcfg_keys); i++)
		json_object_set_new(o, appcfg_keys[i].name,
		    appcfg_key_json(c, &appcfg_keys[i]));
	return o;
}

int
appcfg_from_json(struct app_config *c, json_t *o, char **cause)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		*cause = xstrdup("app configuration must be an object");
		return -1;
	}
	json_object_foreach(o, key, v) {
		if (json_is_null(v))
			continue;
		if (appcfg_set(c, key, v, cause) == -1)
			return -1;
	}
	return 0;
}

/* The kind of CLI option of key k. */
static int
appcfg_opt_kind(const struct appcfg_key *k)
{
	if (k->type == CFG_ENV || k->type == CFG_LIST || k->type == CFG_WORDS)
		return ARGS_LIST;
	if (k->type == CFG_FLAG)
		return ARGS_FLAG;
	if (k->type == CFG_WATCH || k->offset ==
	    offsetof(struct app_config, log_file))
		return ARGS_OPTIONAL;
	return ARGS_VALUE;
}

/* "a_b" as "a-b" into buf. */
static const char *
appcfg_kebab(const char *name, char *buf, size_t size)
{
	size_t j;

	for (j = 0; name[j] != '\0' && j < size - 1; j++)
		buf[j] = name[j] == '_' ? '-' : name[j];
	buf[j] = '\0';
	return buf;
}

/*
 * The options of `start`, made once from the key table: each key's name,
 * and its alias (PM2's spelling: --output, --log, --cron, --uid...).
 */
const struct args_opt *
appcfg_cli_opts(void)
{
	static struct args_opt opts[2 * nitems(appcfg_keys) + 4];
	static char names[2 * nitems(appcfg_keys)][48];
	static char helps[nitems(appcfg_keys)][64];
	size_t i, n = 0;

	if (opts[0].name != NULL)
		return opts;
	for (i = 0; i < nitems(appcfg_keys); i++) {
		const struct appcfg_key *k = &appcfg_keys[i];

		if (k->type == CFG_ARGS || strcmp(k->name, "script") == 0 ||
		    k->help == NULL)
			continue;
		opts[n].name = appcfg_kebab(k->name, names[2 * i],
		    sizeof names[0]);
		opts[n].short_name = k->short_flag;
		opts[n].kind = appcfg_opt_kind(k);
		opts[n].help = k->help;
		n++;
		if (k->alias == NULL)
			continue;
		opts[n].name = appcfg_kebab(k->alias, names[2 * i + 1],
		    sizeof names[0]);
		opts[n].kind = appcfg_opt_kind(k);
		snprintf(helps[i], sizeof helps[i], "       same as --%s",
		    opts[n - 1].name);
		opts[n].help = helps[i];
		n++;
	}
	opts[n].name = "port";
	opts[n].kind = ARGS_LIST;
	opts[n].help = "PORT   same as --listen PORT (dual-stack [::]:PORT)";
	n++;
	opts[n].name = "no-autorestart";
	opts[n].kind = ARGS_FLAG;
	opts[n].help = "       same as --autorestart never";
	n++;
	opts[n].name = "no-merge-logs";
	opts[n].kind = ARGS_FLAG;
	opts[n].help = "       one log file per instance (NAME-out-N.log)";
	return opts;
}

/* Applies the options of `start` (or `restart --update-env`) to c. */
int
appcfg_from_args(struct app_config *c, const struct args *a, char **cause)
{
	const char *name;
	char key[48];
	json_t *v, *item;
	size_t i, j;

	json_object_foreach(a->opts, name, v) {
		if (strcmp(name, "no-autorestart") == 0) {
			c->autorestart = APP_RESTART_NEVER;
			continue;
		}
		if (strcmp(name, "no-merge-logs") == 0) {
			c->merge_logs = 0;
			continue;
		}
		for (j = 0; name[j] != '\0' && j < sizeof key - 1; j++)
			key[j] = name[j] == '-' ? '_' : name[j];
		key[j] = '\0';
		if (strcmp(key, "port") == 0)
			strcpy(key, "listen");
		if (appcfg_find(key) == NULL)
			continue;       /* an option of the command, not a setting */
		if (json_is_array(v)) {
			json_array_foreach(v, i, item) {
				if (appcfg_set_string(c, key,
				    json_string_value(item), cause) == -1)
					return -1;
			}
		} else if (appcfg_set_string(c, key,
		    json_is_string(v) ? json_string_value(v) : "true",
		    cause) == -1)
			return -1;
	}
	return 0;
}
