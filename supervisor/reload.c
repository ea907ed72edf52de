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
 * There are no handles here: a reload moves on from reload_check_all(),
 * which fsm_event() calls after every transition. Instances are held by
 * id, since any event may free them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define SLOT_WAITING 0                  /* not started yet */
#define SLOT_STARTING 1                 /* replacement started, not ready */
#define SLOT_REPLACED 2                 /* old one told to stop */
#define SLOT_CANCELLED 3                /* replacement being removed */
#define SLOT_DONE 4                     /* old one gone, id handed over */

struct reload_slot {
	int old_id;
	int new_id;                     /* -1 until started */
	int new_pid;                    /* its process at start */
	int state;
};

struct reload_req {
	struct conn *conn;              /* NULL once the client went away */
	int running;                    /* app reloads not finished */
	char *errors;                   /* one line per failed app */
	char *message;                  /* printed above the list, or NULL */
	json_t *names;                  /* the apps, for the reply */
	TAILQ_ENTRY(reload_req) entry;
};
TAILQ_HEAD(reload_req_list, reload_req);

struct reload {
	struct app *app;                /* referenced */
	struct reload_req *req;
	struct reload_slot *slots;
	size_t nslots;
	size_t next;                    /* next slot to start */
	int surge;
	int failed;
	int whole;                      /* every instance (not one replaced) */
	TAILQ_ENTRY(reload) entry;
};
TAILQ_HEAD(reload_list, reload);

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

static void
reload_error(struct reload *rl, const char *fmt, ...) PRINTFLIKE(2, 3);

static void
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

/* Stops and removes an instance (by id) if it still exists. */
static void
reload_remove(int id)
{
	struct instance *inst = app_find_instance(id, 1);

	if (inst == NULL)
		return;
	fsm_event(inst, EV_DELETE);
}

/* Why a replacement is not on its way to ready any more. */
static void
reload_why(struct instance *inst, const struct reload_slot *s, char *buf,
    size_t size)
{
	if (inst == NULL || fsm_deleting(inst))
		snprintf(buf, size, "was stopped or deleted");
	else if (fsm_start_failed(inst))
		snprintf(buf, size, "%s", inst->reason);
	else if (inst->pid != s->new_pid || inst->child == NULL) {
		if (inst->exit_signal != 0)
			snprintf(buf, size, "killed by %s",
			    signal_name(inst->exit_signal));
		else
			snprintf(buf, size, "exited with code %d",
			    inst->exit_code);
	} else
		snprintf(buf, size, "was stopped");
}

static void
reload_fail(struct reload *rl, struct reload_slot *bad, struct instance *inst)
{
	char why[256];
	size_t i, left = 0;

	reload_why(inst, bad, why, sizeof why);
	for (i = 0; i < rl->nslots; i++) {
		if (rl->slots[i].state == SLOT_WAITING ||
		    rl->slots[i].state == SLOT_STARTING)
			left++;
	}
	reload_error(rl, "reload of '%s' aborted: the new instance %d (pid %d) "
	    "%s; %zu old instance(s) not replaced keep serving",
	    rl->app->cfg.name, inst != NULL ? inst->index : -1, bad->new_pid,
	    why, left);
	rl->failed = 1;
	for (i = 0; i < rl->nslots; i++) {
		if (rl->slots[i].state != SLOT_STARTING)
			continue;
		rl->slots[i].state = SLOT_CANCELLED;
		reload_remove(rl->slots[i].new_id);
	}
}

/* Starts the replacement of one slot beside its old instance. */
static void
reload_start_slot(struct reload *rl, struct reload_slot *s)
{
	struct instance *old = app_find_instance(s->old_id, 1), *inst;

	if (old == NULL || fsm_deleting(old)) {
		/* Gone meanwhile (scaled down, deleted): nothing to replace. */
		s->state = SLOT_DONE;
		return;
	}
	inst = instance_create(rl->app, old->index);
	TAILQ_REMOVE(&rl->app->instances, inst, entry);
	TAILQ_INSERT_AFTER(&rl->app->instances, old, inst, entry);
	inst->restarts = old->restarts + 1;
	inst->replacement = 1;
	if (old->keep_reason) {
		/* why the daemon replaces it, shown as a restart shows it */
		memcpy(inst->reason, old->reason, sizeof inst->reason);
		inst->reason_stale = 1;
	}
	s->new_id = inst->id;
	s->state = SLOT_STARTING;
	log_info("%s[%d]: reload: replacing id %d with id %d",
	    rl->app->cfg.name, old->index, old->id, inst->id);
	fsm_event(inst, EV_START);
	if ((inst = app_find_instance(s->new_id, 1)) != NULL)
		s->new_pid = inst->pid;
}

/* One slot's progress; returns 1 while its replacement is unready. */
static int
reload_check_slot(struct reload *rl, struct reload_slot *s)
{
	struct instance *inst, *old;

	if (s->state != SLOT_STARTING)
		return 0;
	inst = app_find_instance(s->new_id, 1);
	if (inst != NULL && !fsm_deleting(inst) && inst->pid == s->new_pid &&
	    inst->child != NULL) {
		if (inst->state == INST_STARTING)
			return 1;
		if (inst->state == INST_ONLINE) {
			s->state = SLOT_REPLACED;
			if ((old = app_find_instance(s->old_id, 1)) != NULL)
				log_info("%s[%d]: reload: id %d ready, stopping "
				    "id %d", rl->app->cfg.name, inst->index,
				    inst->id, old->id);
			reload_remove(s->old_id);
			return 0;
		}
	}
	reload_fail(rl, s, inst);
	return 0;
}

/*
 * Replaced slots: once the old instance is gone its replacement takes the
 * old id. Returns 1 when some instance of this reload still has to go.
 */
static int
reload_settle(struct reload *rl)
{
	struct instance *inst;
	struct reload_slot *s;
	size_t i;
	int busy = 0;

	for (i = 0; i < rl->nslots; i++) {
		s = &rl->slots[i];
		if (s->state == SLOT_CANCELLED) {
			if (app_find_instance(s->new_id, 1) != NULL)
				busy = 1;
			continue;
		}
		if (s->state != SLOT_REPLACED || s->new_id == -1)
			continue;
		if (app_find_instance(s->old_id, 1) != NULL) {
			busy = 1;
			continue;
		}
		if ((inst = app_find_instance(s->new_id, 1)) != NULL) {
			app_unindex_instance(inst);
			app_index_instance(inst, s->old_id);
		}
		s->state = SLOT_DONE;
	}
	return busy;
}

/* Moves one reload on; returns 1 if it ended (rl is freed then). */
static int
reload_step(struct reload *rl)
{
	size_t i;
	int unready = 0;

	if (rl->app->deleted && !rl->failed) {
		reload_error(rl, "reload of '%s' aborted: the app was deleted",
		    rl->app->cfg.name);
		rl->failed = 1;
	}
	if (!rl->failed) {
		for (i = 0; i < rl->nslots && !rl->failed; i++)
			unready += reload_check_slot(rl, &rl->slots[i]);
		while (!rl->failed && unready < rl->surge &&
		    rl->next < rl->nslots) {
			reload_start_slot(rl, &rl->slots[rl->next++]);
			unready += reload_check_slot(rl,
			    &rl->slots[rl->next - 1]);
		}
	}
	if (reload_settle(rl))
		return 0;
	if (!rl->failed && (rl->next < rl->nslots || unready > 0))
		return 0;
	if (!rl->failed)
		log_info("%s: reloaded %zu instance(s)", rl->app->cfg.name,
		    rl->nslots);
	reload_free(rl);
	return 1;
}

/*
 * Called after every instance transition. The actions of a reload cause
 * transitions themselves: those only ask for another pass, so no reload
 * is ever stepped inside another one's step.
 */
void
reload_check_all(void)
{
	static int checking, recheck;
	struct reload *rl;

	if (checking) {
		recheck = 1;
		return;
	}
	checking = 1;
	do {
		recheck = 0;
		TAILQ_FOREACH(rl, &reloads, entry) {
			if (reload_step(rl)) {
				recheck = 1;    /* the list changed */
				break;
			}
		}
	} while (recheck);
	checking = 0;
}

/*
 * Starts the rolling reload of the apps (replying on conn once they all
 * finish, with message, if not NULL, above the list). surge <= 0 means
 * each app's reload_surge. Returns -1 with
 * *cause set, starting nothing, when an app is being reloaded already.
 */
static void reload_app_start(struct reload_req *, struct app *, int, int);

int
reload_start(struct conn *conn, struct app **apps, size_t napps, int surge,
    const char *message, char **cause)
{
	struct reload_req *req;
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
		reload_app_start(req, apps[i], surge, -1);
	reload_check_all();
	if (--req->running == 0)
		reload_req_done(req);
	return 0;
}

/* Sets up the reload of app's instances (only instance id only_id if >= 0). */
static void
reload_app_start(struct reload_req *req, struct app *app, int surge,
    int only_id)
{
	struct reload *rl;
	struct instance *inst;

	rl = xcalloc(1, sizeof *rl);
	rl->app = app;
	app_ref(rl->app);
	rl->req = req;
	rl->whole = only_id < 0;
	rl->surge = surge > 0 ? surge : (int)app->cfg.reload_surge;
	if (rl->surge < 1)
		rl->surge = 1;
	TAILQ_FOREACH(inst, &app->instances, entry) {
		if (fsm_deleting(inst) || (only_id >= 0 && inst->id != only_id))
			continue;
		rl->slots = xreallocarray(rl->slots, rl->nslots + 1,
		    sizeof *rl->slots);
		rl->slots[rl->nslots].old_id = inst->id;
		rl->slots[rl->nslots].new_id = -1;
		rl->slots[rl->nslots].state = SLOT_WAITING;
		rl->nslots++;
	}
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
	reload_app_start(req, inst->app, 1, inst->id);
	reload_check_all();
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
