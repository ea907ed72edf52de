/* SPDX-License-Identifier: ISC */
/*
 * Cluster mode wired into the daemon: an app's held sockets and readiness
 * spec, what a spawn gets from them (corral-exec for LISTEN_PID, the
 * sockets as fds 3.., the socket-activation variables, NOTIFY_SOCKET, the
 * preload library, given to corral-exec, which puts it in LD_PRELOAD for
 * the app only; a per-instance port), the readiness wait of each
 * started process, and the daemon's notify socket, whose messages are
 * matched to instances by sender pid (or its process group, for apps
 * started through a shell).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "cluster.h"

static struct notify cluster_notify;
static int cluster_notify_open;
static char *cluster_exec_path;
static char *cluster_preload_path;

/*
 * A helper program or library: next to corrald (the build tree), else in
 * CORRAL_LIBDIR (installed). NULL if neither exists.
 */
static char *
cluster_helper(const char *name)
{
	char self[PATH_MAX], *slash, *path;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			xasprintf(&path, "%s/%s", self, name);
			if (access(path, R_OK) == 0)
				return path;
			free(path);
		}
	}
	xasprintf(&path, "%s/%s", CORRAL_LIBDIR, name);
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	return NULL;
}

static struct instance *
cluster_find_pid(pid_t pid)
{
	struct app *app;
	struct instance *inst;
	pid_t pgid;
	int pass;

	/* The main process first; else a process of its group. */
	for (pass = 0; pass < 2; pass++) {
		pgid = pass == 0 ? pid : getpgid(pid);
		if (pgid <= 0)
			return NULL;
		TAILQ_FOREACH(app, &D.apps, entry) {
			TAILQ_FOREACH(inst, &app->instances, entry) {
				if (inst->child != NULL && inst->child->pid == pgid)
					return inst;
			}
		}
	}
	return NULL;
}

static void
cluster_notified(void *arg, pid_t pid, const struct notify_msg *m)
{
	struct instance *inst;

	(void)arg;
	if ((inst = cluster_find_pid(pid)) == NULL) {
		log_debug("notify: message from unknown pid %ld", (long)pid);
		return;
	}
	if (m->status != NULL) {
		snprintf(inst->status, sizeof inst->status, "%s", m->status);
		log_debug("%s[%d]: status: %s", inst->app->cfg.name,
		    inst->index, m->status);
	}
	if (m->stopping)
		log_info("%s[%d]: pid %ld says it is stopping",
		    inst->app->cfg.name, inst->index, (long)pid);
	if (m->watchdog)        /* no per-app watchdog: only noted */
		log_debug("%s[%d]: watchdog ping", inst->app->cfg.name,
		    inst->index);
	if (m->listen)
		ready_event(inst->ready, READY_EVENT_LISTEN);
	if (m->ready)
		ready_event(inst->ready, READY_EVENT_READY);
}

/* At start-up: the notify socket and the helpers' paths. */
int
cluster_init(char **cause)
{
	char *path;
	int r;

	cluster_exec_path = cluster_helper("corral-exec");
	cluster_preload_path = cluster_helper("libcorral-preload.so");
	if (cluster_exec_path == NULL)
		log_warnx("corral-exec not found: LISTEN_PID cannot be set");
	if (cluster_preload_path == NULL)
		log_warnx("libcorral-preload.so not found: apps must use "
		    "LISTEN_FDS");
	path = paths_file(D.home, "notify.sock");
	r = notify_open(&cluster_notify, D.loop, path, cluster_notified, NULL,
	    cause);
	free(path);
	if (r == 0)
		cluster_notify_open = 1;
	return r;
}

void
cluster_shutdown(void)
{
	reload_free_all();
	if (cluster_notify_open) {
		cluster_notify_open = 0;
		notify_close(&cluster_notify, NULL);
	}
	free(cluster_exec_path);
	free(cluster_preload_path);
	cluster_exec_path = cluster_preload_path = NULL;
}

/*
 * Parses the readiness spec and opens the app's sockets unless they are
 * open: at `start` (a port in use is an error there) and again before a
 * spawn, for apps that came back another way. All or nothing.
 */
int
cluster_app_open(struct app *app, char **cause)
{
	const struct app_config *c = &app->cfg;
	const char **specs;
	const char *ready;
	size_t i, n = json_array_size(c->listen);
	struct ready_spec r;

	if (app->ready.text == NULL) {
		ready = c->ready;
		if (ready == NULL)
			ready = n > 0 && c->preload &&
			    cluster_preload_path != NULL ? "listen" : "none";
		if (ready_parse(ready, &r, cause) == -1)
			return -1;
		app->ready = r;
	}
	if (app->listeners != NULL || n == 0)
		return 0;
	if (n > CLUSTER_MAX_LISTENERS) {
		xasprintf(cause, "too many listen sockets (at most %d)",
		    CLUSTER_MAX_LISTENERS);
		return -1;
	}
	specs = xcalloc(n, sizeof *specs);
	for (i = 0; i < n; i++)
		specs[i] = json_string_value(json_array_get(c->listen, i));
	if (listeners_open(specs, n, c->name, &app->listeners, cause) == 0) {
		app->nlisteners = n;
		for (i = 0; i < n; i++) {
			char addr[128];
			listener_format(&app->listeners[i], addr, sizeof addr);
			log_info("%s: listening on %s", c->name, addr);
		}
	}
	free(specs);
	return app->listeners != NULL ? 0 : -1;
}

/* Closes the app's sockets: only when the app itself goes. */
void
cluster_app_close(struct app *app)
{
	listeners_free(app->listeners, app->nlisteners);
	app->listeners = NULL;
	app->nlisteners = 0;
	ready_spec_clear(&app->ready);
}

/* Checks the settings of cluster mode without opening anything. */
int
cluster_check_config(const struct app_config *c, char **cause)
{
	struct listener l;
	struct ready_spec r;
	size_t i;

	if (c->ready != NULL) {
		if (ready_parse(c->ready, &r, cause) == -1)
			return -1;
		ready_spec_clear(&r);
	}
	for (i = 0; i < json_array_size(c->listen); i++) {
		if (listener_parse(json_string_value(json_array_get(c->listen,
		    i)), c->name, &l, cause) == -1)
			return -1;
		listener_clear(&l);
	}
	return 0;
}

static void
cluster_env_increment(struct instance *inst, json_t *env)
{
	const struct app_config *c = &inst->app->cfg;
	const char *v;
	long long base;

	if (c->increment_var == NULL)
		return;
	v = json_string_value(json_object_get(env, c->increment_var));
	if (v == NULL)
		v = json_string_value(json_object_get(c->env_set,
		    c->increment_var));
	if (v == NULL)
		v = json_string_value(json_object_get(c->env, c->increment_var));
	if (v == NULL || parse_int(v, 0, INT_MAX - 65536, &base, NULL) == -1) {
		log_warnx("%s: increment_var %s is not a number in the "
		    "environment", c->name, c->increment_var);
		return;
	}
	json_object_set_new(env, c->increment_var,
	    json_sprintf("%lld", base + inst->index));
}

/* corral-exec [--preload LIB] --listen-pid -- PATH [ARG]... */
static char **
cluster_wrap_argv(char **argv, const char *preload)
{
	char **v;
	size_t n = 0, i, k = 0;

	while (argv[n] != NULL)
		n++;
	v = xcalloc(n + 6, sizeof *v);
	v[k++] = xstrdup(cluster_exec_path);
	if (preload != NULL) {
		v[k++] = xstrdup("--preload");
		v[k++] = xstrdup(preload);
	}
	v[k++] = xstrdup("--listen-pid");
	v[k++] = xstrdup("--");
	for (i = 0; i < n; i++)
		v[k + i] = argv[i];
	free(argv);
	return v;
}

/*
 * What a spawn of inst needs from cluster mode: variables set in env (an
 * object, applied over the app's environment), argv wrapped in corral-exec
 * when sockets are passed, and the sockets as stdio entries 3.. (stdio has
 * room for CLUSTER_MAX_LISTENERS). Returns the number of stdio entries, or
 * -1 with *cause set.
 */
int
cluster_spawn_prepare(struct instance *inst, json_t *env, char ***argv,
    uv_stdio_container_t *stdio, char **cause)
{
	struct app *app = inst->app;
	const char *preload = NULL;
	size_t i;

	if (cluster_app_open(app, cause) == -1)
		return -1;
	listeners_env(app->listeners, app->nlisteners, env);
	if (cluster_notify_open)
		json_object_set_new(env, "NOTIFY_SOCKET",
		    json_string(notify_path(&cluster_notify)));
	cluster_env_increment(inst, env);
	if (app->nlisteners == 0)
		return 0;
	if (cluster_exec_path == NULL) {
		*cause = xstrdup("corral-exec is missing");
		return -1;
	}
	if (app->cfg.preload)
		preload = cluster_preload_path;
	*argv = cluster_wrap_argv(*argv, preload);
	for (i = 0; i < app->nlisteners; i++) {
		stdio[i].flags = UV_INHERIT_FD;
		stdio[i].data.fd = app->listeners[i].fd;
	}
	return (int)app->nlisteners;
}

static void
cluster_ready_cb(void *arg, int ok, const char *reason)
{
	struct instance *inst = arg;

	inst->ready = NULL;
	if (ok) {
		fsm_event(inst, EV_READY);
		return;
	}
	instance_set_reason(inst, "%s", reason);
	log_warnx("%s[%d] id %d: %s", inst->app->cfg.name, inst->index,
	    inst->id, reason);
	inst->not_ready = 1;
	fsm_event(inst, EV_TIMER);
}

/*
 * Starts the readiness wait of a freshly spawned process; env is the
 * environment it got (for probes on $PORT).
 */
void
cluster_spawned(struct instance *inst, json_t *env)
{
	struct app *app = inst->app;
	uint64_t timeout = app->cfg.listen_timeout;
	json_t *all = json_copy(app->cfg.env);

	json_object_update(all, app->cfg.env_set);
	json_object_update(all, env);
	ready_cancel(inst->ready);
	inst->ready = NULL;
	inst->not_ready = 0;
	inst->status[0] = '\0';
	inst->ready = ready_start(D.loop, &app->ready, all, timeout,
	    cluster_ready_cb, inst);
	health_spawned(inst, all);
	json_decref(all);
}

/* The process is gone or the instance forgets it: no readiness any more. */
void
cluster_exited(struct instance *inst)
{
	ready_cancel(inst->ready);
	inst->ready = NULL;
	health_exited(inst);
}
