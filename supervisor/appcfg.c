/* SPDX-License-Identifier: ISC */
/*
 * The settings of an app as one table of keys: each key's type and place in
 * struct app_config give its CLI flag (--kebab-case), its config-file key
 * (snake_case), its JSON in describe and dump.json, and its parser. A new
 * setting is one field and one row here; every way in and out picks it up:
 * text (appcfg-text.c: CLI values and config files), JSON (appcfg-json.c:
 * dump.json, ecosystem files, describe) and the options of `start`
 * (appcfg-cli.c).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "appcfg-private.h"

#define F(field) offsetof(struct app_config, field)
const struct appcfg_key appcfg_keys[] = {
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
	{ "reload_surge", NULL, 0, CFG_INT, F(reload_surge), 0, 4096,
	  "N      replacements unready at once during a reload (default 0: "
	  "a quarter of the instances, 1 to the CPUs)" },
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
const size_t appcfg_nkeys = nitems(appcfg_keys);

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
	c->reload_surge = 0;
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

/* The key named name (or its alias), or NULL. */
const struct appcfg_key *
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

