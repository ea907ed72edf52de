/* SPDX-License-Identifier: ISC */
/*
 * Cluster mode wired into the daemon: an app's held sockets and readiness
 * spec, what a spawn plan gets from them (LISTEN_PID, the sockets as fds
 * 3.., the socket-activation variables, NOTIFY_SOCKET, the preload
 * library, which the keeper's child puts in LD_PRELOAD for the app only; a
 * per-instance port), the readiness wait of each
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
#include "engine.h"

/* The keeper's tag of the notify socket. */
#define CLUSTER_NOTIFY_TAG "notify"
#include "cluster.h"

static struct notify cluster_notify;
static int cluster_notify_open;
static char *cluster_preload_path;

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

	cluster_preload_path = paths_own("libcorral-preload.so", R_OK);
	if (cluster_preload_path == NULL)
		log_warnx("libcorral-preload.so not found: apps must use "
		    "LISTEN_FDS");
	path = paths_file(D.home, "notify.sock");
	r = notify_open(&cluster_notify, D.loop, path,
	    engine_take(CLUSTER_NOTIFY_TAG), cluster_notified, NULL, cause);
	free(path);
	if (r == 0) {
		cluster_notify_open = 1;
		cluster_notify.replay = E.replay;
		engine_hold(CLUSTER_NOTIFY_TAG, cluster_notify.fd);
	}
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
	free(cluster_preload_path);
	cluster_preload_path = NULL;
}

/* Opens what listen_bound lists, as far as it goes (bindreq.c binds the
 * others again when an instance asks). */
static void
cluster_open_bound(struct app *app)
{
	struct listener l;
	char *cause = NULL;
	size_t i;

	for (i = 0; i < json_array_size(app->cfg.listen_bound) &&
	    app->nlisteners < CLUSTER_MAX_LISTENERS; i++) {
		if (listener_parse(json_string_value(json_array_get(
		    app->cfg.listen_bound, i)), app->cfg.name, &l, &cause) == 0 &&
		    listener_open(&l, &cause) == 0) {
			app->listeners = xreallocarray(app->listeners,
			    app->nlisteners + 1, sizeof *app->listeners);
			app->listeners[app->nlisteners++] = l;
			continue;
		}
		log_warnx("%s: %s", app->cfg.name, cause);
		free(cause);
		cause = NULL;
		listener_clear(&l);
	}
}

/*
 * Parses the readiness spec and opens the app's sockets unless they are
 * open: at `start` (a port in use is an error there) and again before a
 * spawn, for apps that came back another way. All or nothing for listen;
 * what listen_bound lists is opened as far as it goes.
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
		if (ready == NULL && c->wait_ready)
			ready = "message";
		if (ready == NULL)
			ready = (n > 0 || pm2compat_cluster(c)) && c->preload &&
			    cluster_preload_path != NULL ? "listen" : "none";
		if (ready_parse(ready, &r, cause) == -1)
			return -1;
		/* PM2: an app that does not listen is online after listen_timeout */
		r.soft = c->ready == NULL && !c->wait_ready && n == 0;
		app->ready = r;
	}
	if (app->listeners != NULL)
		return 0;
	if (n > CLUSTER_MAX_LISTENERS) {
		xasprintf(cause, "too many listen sockets (at most %d)",
		    CLUSTER_MAX_LISTENERS);
		return -1;
	}
	specs = xcalloc(n + 1, sizeof *specs);
	for (i = 0; i < n; i++)
		specs[i] = json_string_value(json_array_get(c->listen, i));
	if (listeners_open(specs, n, c->name, &app->listeners, cause) == -1) {
		free(specs);
		return -1;
	}
	app->nlisteners = app->ndeclared = n;
	for (i = 0; i < n; i++) {
		char addr[128];
		listener_format(&app->listeners[i], addr, sizeof addr);
		log_info("%s: listening on %s", c->name, addr);
	}
	free(specs);
	cluster_open_bound(app);
	return 0;
}

/* Closes the app's sockets: only when the app itself goes. */
void
cluster_app_close(struct app *app)
{
	listeners_free(app->listeners, app->nlisteners);
	app->listeners = NULL;
	app->nlisteners = app->ndeclared = 0;
	ready_spec_clear(&app->ready);
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

/*
 * What a spawn of inst needs from cluster mode: variables set in env (an
 * object, applied over the app's environment); and in plan, when sockets
 * are passed or may be bound on demand, LISTEN_PID, the preload library,
 * the sockets as fds 3.. and then the control channel (ctlchan.c) for
 * apps whose bind() the preload library serves (plan->fds has room for
 * CLUSTER_MAX_LISTENERS + 1). Returns 0, or -1 with *cause set.
 */
int
cluster_spawn_prepare(struct instance *inst, struct child *child, json_t *env,
    struct spawn_plan *plan, char **cause)
{
	struct app *app = inst->app;
	char *why = NULL;
	size_t i;
	int ctlfd;

	if (cluster_app_open(app, cause) == -1)
		return -1;
	listeners_env(app->listeners, app->nlisteners, env);
	if (app->ndeclared == 0)        /* bound on demand: the app's port */
		json_object_del(env, "PORT");
	if (cluster_notify_open)
		json_object_set_new(env, "NOTIFY_SOCKET",
		    json_str(notify_path(&cluster_notify)));
	json_object_set_new(env, "CORRAL_CONTROL_FD", json_null());
	cluster_env_increment(inst, env);
	if (app->nlisteners == 0 && !pm2compat_cluster(&app->cfg))
		return 0;
	plan->listen_pid = 1;
	for (i = 0; i < app->nlisteners; i++)
		plan->fds[plan->nfds++] = app->listeners[i].fd;
	if (!app->cfg.preload || cluster_preload_path == NULL)
		return 0;
	plan->preload = cluster_preload_path;
	if ((ctlfd = ctlchan_open(child, &why)) == -1) {
		log_warnx("%s[%d]: no control channel: %s", app->cfg.name,
		    inst->index, why);
		free(why);
		return 0;
	}
	json_object_set_new(env, "CORRAL_CONTROL_FD",
	    json_sprintf("%zu", 3 + plan->nfds));
	plan->fds[plan->nfds++] = ctlfd;
	return 0;
}

static void
cluster_ready_cb(void *arg, int ok, const char *reason)
{
	struct instance *inst = arg;
	int said = inst->ready != NULL && ready_said(inst->ready);

	inst->ready = NULL;
	if (ok) {
		if (said && inst->child != NULL)
			engine_mark_ready(inst->child);
		fsm_event(inst, EV_READY);
		return;
	}
	instance_set_reason(inst, "%s", reason);
	log_warnx("%s[%d] id %d: %s", inst->app->cfg.name, inst->index,
	    inst->id, reason);
	fsm_event(inst, EV_NOT_READY);
}

/* No readiness wait: online at once. */
static const struct ready_spec cluster_ready_none = { .kind = READY_NONE };

/*
 * The environment a process got, for what reads it after the spawn (a
 * TCP or HTTP readiness probe's $PORT, health checks); NULL when nothing
 * does: no copy of some 50 variables for each spawn of most apps.
 */
static json_t *
cluster_probe_env(const struct app *app, const struct ready_spec *r,
    json_t *env)
{
	json_t	*all;

	if (r->kind != READY_TCP && r->kind != READY_HTTP &&
	    app->cfg.health == NULL)
		return NULL;
	all = json_copy(app->cfg.env);
	json_object_update(all, app->cfg.env_set);
	json_object_update(all, env);
	return all;
}

/*
 * Starts the readiness wait of a freshly spawned process; env is the
 * environment it got (for probes on $PORT).
 */
void
cluster_spawned(struct instance *inst, json_t *env)
{
	struct app *app = inst->app;
	const struct ready_spec *r = &app->ready;
	uint64_t timeout = app->cfg.listen_timeout;
	json_t *all;

	/*
	 * PM2: online at once; only a reload of an app that listens (it bound
	 * a socket on demand) waits for the replacement's listen().
	 */
	if (r->soft && (!inst->replacement || app->nlisteners == 0))
		r = &cluster_ready_none;
	inst->replacement = 0;
	all = cluster_probe_env(app, r, env);
	ready_cancel(inst->ready);
	inst->ready = NULL;
	inst->status[0] = '\0';
	inst->ready = ready_start(D.loop, r, all, timeout, cluster_ready_cb,
	    inst);
	health_spawned(inst, all);
	json_decref(all);
}

/*
 * A process a new engine adopted from the keeper: its app's sockets taken
 * back, then its readiness wait again (it was starting) or its health
 * checks (online).
 */
void
cluster_adopted(struct instance *inst, int starting)
{
	struct app *app = inst->app;
	json_t *env = json_object(), *all;
	char *cause = NULL;

	if (cluster_app_open(app, &cause) == -1) {
		log_warnx("%s: %s", app->cfg.name, cause);
		free(cause);
	}
	listeners_env(app->listeners, app->nlisteners, env);
	cluster_env_increment(inst, env);
	if (starting)
		cluster_spawned(inst, env);
	else {
		all = cluster_probe_env(app, &cluster_ready_none, env);
		health_spawned(inst, all);
		json_decref(all);
	}
	json_decref(env);
}

/* The process is gone or the instance forgets it: no readiness any more. */
void
cluster_exited(struct instance *inst)
{
	ready_cancel(inst->ready);
	inst->ready = NULL;
	health_exited(inst);
}
