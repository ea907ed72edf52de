/* SPDX-License-Identifier: ISC */
/*
 * Rolling reloads, run by the daemon. For each instance slot of an app a
 * replacement is started beside the old instance (same index, a new id for
 * the time being); once it is ready the old one is stopped gracefully, and
 * once that one is gone the replacement takes its id. At most `surge`
 * replacements are unready at once. A replacement that exits, is stopped,
 * or does not get ready ends the reload: the replacements still starting
 * are stopped and removed, the old instances not yet replaced keep
 * serving, and the client is told which instance failed and why.
 *
 * Each slot is a small state machine (reload-slot.c). There are no
 * handles here: a reload moves on
 * from reload_check_all(), which the state machine's hook runs after
 * transitions (never inside itself). Instances are held by id, since any
 * event may free them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "reload.h"

struct reload_req {
	struct conn *conn;              /* NULL once the client went away */
	int running;                    /* app reloads not finished */
	char *errors;                   /* one line per failed app */
	char *message;                  /* printed above the list, or NULL */
	json_t *names;                  /* the apps, for the reply */
	TAILQ_ENTRY(reload_req) entry;
};
TAILQ_HEAD(reload_req_list, reload_req);

static struct reload_list reloads = TAILQ_HEAD_INITIALIZER(reloads);
static struct reload_req_list reload_reqs =
    TAILQ_HEAD_INITIALIZER(reload_reqs);

static void
reload_req_done(struct reload_req *req)
{
	struct instance **v = NULL, *inst;
	struct app *app;
	size_t i, n = 0;
	json_t *data;

	TAILQ_REMOVE(&reload_reqs, req, entry);
	if (req->conn != NULL && req->errors != NULL)
		conn_reply_error(req->conn, 1, "%s", req->errors);
	else if (req->conn != NULL) {
		for (i = 0; i < json_array_size(req->names); i++) {
			app = app_find(json_string_value(json_array_get(
			    req->names, i)));
			if (app == NULL)
				continue;
			TAILQ_FOREACH(inst, &app->instances, entry) {
				v = xreallocarray(v, n + 1, sizeof *v);
				v[n++] = inst;
			}
		}
		data = proto_ok("list", cmd_list_json(v, n));
		if (req->message != NULL)
			json_object_set_new(data, "message",
			    json_str(req->message));
		conn_reply(req->conn, data);
		free(v);
	}
	json_decref(req->names);
	free(req->errors);
	free(req->message);
	free(req);
}

static void
reload_free(struct reload *rl)
{
	struct reload_req *req = rl->req;

	TAILQ_REMOVE(&reloads, rl, entry);
	if (rl->app->reload == rl)
		rl->app->reload = NULL;
	if (rl->whole && rl->failed)
		rl->app->counters.reloads_failed++;
	else if (rl->whole)
		rl->app->counters.reloads++;
	app_unref(rl->app);
	free(rl->slots);
	free(rl);
	if (req != NULL && --req->running == 0)
		reload_req_done(req);
}

/* Logs a failure of rl's reload and adds it to its client's reply. */
void
reload_error(struct reload *rl, const char *fmt, ...)
{
	struct reload_req *req = rl->req;
	char *msg, *tmp;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", rl->app->cfg.name, msg);
	if (req != NULL) {
		xasprintf(&tmp, "%s%s%s", req->errors != NULL ? req->errors : "",
		    req->errors != NULL ? "\n" : "", msg);
		free(req->errors);
		req->errors = tmp;
	}
	free(msg);
}

static size_t
reload_count(const struct reload *rl, enum reload_slot_state state)
{
	size_t i, n = 0;

	for (i = 0; i < rl->nslots; i++)
		n += rl->slots[i].state == state;
	return n;
}

/*
 * The daemon shuts down: no replacement starts (nothing would stop it) and
 * those starting go, as when one fails. Called once their slots are
 * observed: each replacement still starting has its process, so the
 * delete only stops it and frees nothing under daemon_shutdown()'s walk.
 */
static void
reload_shutdown(struct reload *rl)
{
	reload_error(rl, "reload of '%s' aborted: the daemon is shutting down",
	    rl->app->cfg.name);
	reload_slot_abort_all(rl);
}

/*
 * Moves one reload on: what its instances did, then the next replacements
 * as the surge allows. Frees rl once nothing of it is left to wait for.
 */
static void
reload_step(struct reload *rl)
{
	struct reload_slot *s;

	if (rl->app->deleted && !rl->failed) {
		reload_error(rl, "reload of '%s' aborted: the app was deleted",
		    rl->app->cfg.name);
		rl->failed = 1;
	}
	reload_slot_observe_all(rl);
	if (D.shutting_down && !rl->failed)
		reload_shutdown(rl);
	while (!rl->failed && rl->next < rl->nslots &&
	    reload_count(rl, SLOT_STARTING) < (size_t)rl->surge) {
		s = &rl->slots[rl->next++];
		reload_slot_feed(rl, s, SLOT_EV_START);
		reload_slot_feed(rl, s, reload_slot_observe(s));
	}
	reload_slot_observe_all(rl);
	if (reload_count(rl, SLOT_REPLACED) + reload_count(rl,
	    SLOT_CANCELLED) > 0)
		return;
	if (!rl->failed && (rl->next < rl->nslots ||
	    reload_count(rl, SLOT_STARTING) > 0))
		return;
	if (!rl->failed)
		log_info("%s: reloaded %zu instance(s)", rl->app->cfg.name,
		    rl->nslots);
	reload_free(rl);
}

/*
 * The state machine's hook runs this after transitions, and never inside
 * itself: the events a step feeds only ask for another pass.
 */
void
reload_check_all(void)
{
	struct reload *rl, *next;

	TAILQ_FOREACH_SAFE(rl, &reloads, entry, next)
		reload_step(rl);
}

/*
 * Starts the rolling reload of the apps (replying on conn once they all
 * finish, with message, if not NULL, above the list). surge <= 0 means
 * each app's reload_surge. Returns -1 with
 * *cause set, starting nothing, when an app is being reloaded already.
 */
static void reload_app_start(struct reload_req *, struct app *, int, int,
    uint64_t);

int
reload_start(struct conn *conn, struct app **apps, size_t napps, int surge,
    const char *message, char **cause)
{
	struct reload_req *req;
	json_t *pending;
	uint64_t again = conn != NULL ? conn->reload_since : 0;
	uint64_t since = again > 0 ? again : now_ms();  /* before a spawn */
	size_t i;

	for (i = 0; i < napps; i++) {
		if (apps[i]->reload != NULL) {
			xasprintf(cause, "a reload of '%s' is running already",
			    apps[i]->cfg.name);
			return -1;
		}
	}
	req = xcalloc(1, sizeof *req);
	req->conn = conn;
	req->message = message != NULL ? xstrdup(message) : NULL;
	req->names = json_array();
	req->running = (int)napps + 1;  /* held until every one is set up */
	TAILQ_INSERT_TAIL(&reload_reqs, req, entry);
	for (i = 0; i < napps; i++)
		reload_app_start(req, apps[i], surge, -1, again);
	fsm_settle();
	if (--req->running == 0) {
		reload_req_done(req);
		return 0;
	}
	/*
	 * A client that can follow its reply (conn_send_pending()) may send
	 * its request again to the next engine: an engine that dies leaves
	 * a reload cut short (each index keeps one instance: the replacement
	 * once online, else the old one). The request sent again says since
	 * when the first engine reloaded, and replaces only instances that
	 * are not online with a process started since then.
	 */
	pending = proto_ok("pending", NULL);
	json_object_set_new(pending, "retry", json_true());
	json_object_set_new(pending, "since", json_integer((json_int_t)since));
	conn_send_pending(conn, pending, "reload pending");
	return 0;
}

/*
 * How many replacements may be unready at once: asked, if it is > 0, else
 * a quarter of the n instances, rounded up, at least 1 and at most the
 * CPUs (starting more at once only makes them share the CPUs). Old
 * instances serve until their replacement is ready, so a larger surge
 * costs memory, never capacity.
 */
static int
reload_surge(long long asked, size_t n)
{
	long long ncpu, surge = ((long long)n + 3) / 4;

	if (asked > 0)
		return (int)asked;
	ncpu = sys_ncpu();
	if (surge > ncpu)
		surge = ncpu;
	return surge < 1 ? 1 : (int)surge;
}

/*
 * Sets up the reload of app's instances (only instance id only_id if
 * >= 0); a reload sent again (since > 0) leaves out those online with a
 * process started since then: the first engine's reload replaced them.
 */
static void
reload_app_start(struct reload_req *req, struct app *app, int surge,
    int only_id, uint64_t since)
{
	struct reload *rl;
	struct instance *inst;

	rl = xcalloc(1, sizeof *rl);
	rl->app = app;
	app_ref(rl->app);
	rl->req = req;
	rl->whole = only_id < 0;
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (fsm_deleting(inst) || (only_id >= 0 && inst->id != only_id))
			continue;
		if (since > 0 && inst->state == INST_ONLINE &&
		    inst->started_at >= since) {
			log_info("%s[%d]: id %d was started by the reload an "
			    "engine before began: kept", app->cfg.name,
			    inst->index, inst->id);
			continue;
		}
		rl->slots = xreallocarray(rl->slots, rl->nslots + 1,
		    sizeof *rl->slots);
		rl->slots[rl->nslots].old_id = inst->id;
		rl->slots[rl->nslots].new_id = -1;
		rl->slots[rl->nslots].state = SLOT_WAITING;
		rl->nslots++;
	}
	rl->surge = reload_surge(surge > 0 ? surge : app->cfg.reload_surge,
	    rl->nslots);
	app->reload = rl;
	json_array_append_new(req->names, json_str(app->cfg.name));
	log_info("%s: reload of %zu instance(s), surge %d", app->cfg.name,
	    rl->nslots, rl->surge);
	TAILQ_INSERT_TAIL(&reloads, rl, entry);
}

/*
 * Replaces one instance as a reload does (the new process first, the old
 * one stopped once the new one is ready), with no client waiting: what
 * max_memory_restart does for an app with sockets.  Returns -1 with
 * *cause when a reload of the app runs already.
 */
int
reload_instance(struct instance *inst, char **cause)
{
	struct reload_req *req;

	if (inst->app->reload != NULL) {
		xasprintf(cause, "a reload of '%s' is running already",
		    inst->app->cfg.name);
		return -1;
	}
	req = xcalloc(1, sizeof *req);
	req->names = json_array();
	req->running = 2;
	TAILQ_INSERT_TAIL(&reload_reqs, req, entry);
	reload_app_start(req, inst->app, 1, inst->id, 0);
	fsm_settle();
	if (--req->running == 0)
		reload_req_done(req);
	return 0;
}

/* The client of a reload went away: the reload goes on, unanswered. */
void
reload_conn_gone(struct conn *conn)
{
	struct reload_req *req;

	TAILQ_FOREACH(req, &reload_reqs, entry) {
		if (req->conn == conn)
			req->conn = NULL;
	}
}

/* At exit: forgets every reload without touching instances. */
void
reload_free_all(void)
{
	struct reload *rl;
	struct reload_req *req;

	while ((rl = TAILQ_FIRST(&reloads)) != NULL) {
		rl->req = NULL;
		reload_free(rl);
	}
	while ((req = TAILQ_FIRST(&reload_reqs)) != NULL) {
		req->conn = NULL;
		reload_req_done(req);
	}
}
