/* SPDX-License-Identifier: ISC */
/*
 * Reading state.json back (the contract is in state.h). state_parse()
 * checks the whole shape before anything uses it (state-check.c); a file
 * that fails any check is refused whole, with the first reason.
 * state_restore() then declares each saved app (its
 * dump.json entry and its own environment, through the checks of any
 * declared app) and gives it exactly its saved instances: same ids and
 * indices (sparse after a `delete ID`), counters, generation and start
 * times, all stopped. D.next_id ends past every saved id. The file is read
 * at start-up, before the loop serves: a bounded regular file, opened
 * O_NOFOLLOW|O_NONBLOCK (safefile.c).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"


struct state {
	json_t *root;
	int next_id;
	struct state_record *recs;      /* one per saved instance */
	size_t nrecs;
};

/*
 * Parses and checks the text of a state file. Returns the state (free it
 * with state_free()), or NULL with *cause (the caller frees).
 */
struct state *
state_parse(const char *text, size_t len, char **cause)
{
	struct state *st = xcalloc(1, sizeof *st);
	json_error_t jerr;
	char *why = NULL;

	st->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (st->root == NULL) {
		xasprintf(cause, "line %d: %s", jerr.line, jerr.text);
		free(st);
		return NULL;
	}
	if (state_check(st->root, &st->next_id, &st->nrecs, &why) == -1) {
		*cause = why;
		state_free(st);
		return NULL;
	}
	jsonb_unescape(st->root);
	return st;
}

/*
 * Reads and checks the state file at path: the state, or NULL with *cause
 * ("path: why"; the caller frees). Never follows a symbolic link.
 */
struct state *
state_load(const char *path, char **cause)
{
	struct state *st;
	char *text, *why = NULL;
	size_t len;

	if (safefile_read_flags(path, STATE_MAX_SIZE, O_NOFOLLOW, &text, &len,
	    cause) == -1)
		return NULL;
	if ((st = state_parse(text, len, &why)) == NULL) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
	}
	free(text);
	return st;
}

void
state_free(struct state *st)
{
	if (st == NULL)
		return;
	json_decref(st->root);
	free(st->recs);
	free(st);
}

/* What a saved stop was to go on to (FSM_PEND_*): nothing unless one. */
static int
state_pending(json_t *o, int state)
{
	if (state != INST_STOPPING)
		return 0;
	return (json_is_true(json_object_get(o, "restart_pending")) ?
	    FSM_PEND_RESTART : 0) | (json_is_true(json_object_get(o,
	    "not_ready")) ? FSM_PEND_NOT_READY : 0);
}

/* The last transition's reason, and whether a stop's cause set it. */
static void
state_restore_reason(json_t *o, int state, struct instance *inst)
{
	snprintf(inst->reason, sizeof inst->reason, "%s",
	    json_string_value(json_object_get(o, "reason")));
	inst->reason_stale = 0;
	inst->keep_reason = state == INST_STOPPING &&
	    json_is_true(json_object_get(o, "keep_reason"));
}

/* The saved fields of o into record r and, when there is one, r->inst. */
static void
state_restore_inst(json_t *o, const char *app, struct state_record *r)
{
	struct instance *inst = r->inst;
	uint64_t now = now_ms(), mono = mono_ms();
	char name[PARSE_NAME_MAX + 1];
	unsigned long long gen;

#define GET(k) json_integer_value(json_object_get(o, k))
	r->app = app;
	r->tag = json_string_value(json_object_get(o, "tag"));
	r->id = (int)GET("id");
	r->index = (int)GET("index");
	r->state = state_state_name(json_string_value(json_object_get(o,
	    "state")));
	r->deleting = json_is_true(json_object_get(o, "deleting"));
	r->replacement = json_is_true(json_object_get(o, "replacement"));
	r->pid = json_is_true(json_object_get(o, "running")) ?
	    (int)GET("pid") : 0;
	r->pending = state_pending(o, r->state);
	r->started_at = (uint64_t)GET("started_at");
	r->proc_start = (uint64_t)GET("proc_start");
	if (inst == NULL)
		return;
	inst->pid = (int)GET("last_pid");
	inst->started_at = r->started_at;
	/* The uptime goes on from the saved start (never in the future). */
	inst->started_mono = mono - (now > r->started_at && now -
	    r->started_at < mono ? now - r->started_at : 0);
	inst->proc_start = r->proc_start;
	inst->proc_start_pid = r->pid;
	inst->generation = (unsigned long long)GET("generation");
	(void)instance_tag_parse(r->tag, name, sizeof name, &inst->tag_id,
	    &gen);                      /* checked by state_parse() */
	inst->replacement = r->replacement;
	inst->restarts = GET("restarts");
	inst->unstable_restarts = GET("unstable_restarts");
	inst->backoff = (uint64_t)GET("backoff");
	inst->exit_code = (int)GET("exit_code");
	inst->exit_signal = (int)GET("exit_signal");
	inst->start_failures = GET("start_failures");
	inst->oom_kills = GET("oom_kills");
	inst->memory_restarts = GET("memory_restarts");
	inst->timer_due = (uint64_t)GET("wait_due");    /* 0 when missing */
	state_restore_reason(o, r->state, inst);
#undef GET
}

/* An instance app_declare() made with this index, not yet taken, or NULL. */
static struct instance *
state_take(struct instance **fresh, size_t n, long long index)
{
	struct instance *inst;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((inst = fresh[i]) != NULL && inst->index == index) {
			fresh[i] = NULL;
			return inst;
		}
	}
	return NULL;
}

/*
 * Gives app exactly its saved instances: those app_declare() made are
 * taken over index by index (their ids changed to the saved ones),
 * missing ones created, the others freed. Fills a record per saved one.
 */
static void
state_restore_instances(struct app *app, json_t *insts,
    struct state_record *recs)
{
	struct instance *inst, **fresh = NULL;
	json_t *o;
	size_t i, n = 0;
	long long index;

	app_instances(app, &fresh, &n);
	json_array_foreach(insts, i, o) {
		recs[i].inst = NULL;
		if (!json_is_true(json_object_get(o, "deleting"))) {
			index = json_integer_value(json_object_get(o, "index"));
			if ((inst = state_take(fresh, n, index)) == NULL)
				inst = instance_create(app, (int)index);
			app_unindex_instance(inst);
			app_index_instance(inst, (int)json_integer_value(
			    json_object_get(o, "id")));
			recs[i].inst = inst;
		}
		state_restore_inst(o, app->cfg.name, &recs[i]);
	}
	for (i = 0; i < n; i++) {
		if (fresh[i] != NULL)
			instance_free(fresh[i]);
	}
	free(fresh);
}

/* Declares one saved app (1), or notes why not (0: its records get NULL). */
static int
state_restore_app(struct state *st, json_t *a, struct state_record *recs,
    char **msg)
{
	json_t *c = json_object_get(a, "config"), *o;
	json_t *insts = json_object_get(a, "instances");
	json_t *env = json_array_get(json_object_get(st->root, "envs"),
	    (size_t)json_integer_value(json_object_get(a, "env")));
	const char *name = json_string_value(json_object_get(c, "name"));
	struct app_config cfg;
	struct app *app = NULL;
	char *cause = NULL;
	size_t i;

	if (persist_app_config(c, env, &cfg, &cause) == -1)
		appcfg_free(&cfg);
	else
		app = app_declare(&cfg, json_string_value(json_object_get(c,
		    "source")), APP_RESTORED, &cause);
	if (app != NULL) {
		state_restore_instances(app, insts, recs);
		return 1;
	}
	cmd_note(msg, "%s: not restored: %s", name, cause != NULL ? cause :
	    "incomplete entry");
	free(cause);
	json_array_foreach(insts, i, o) {
		recs[i].inst = NULL;
		state_restore_inst(o, name, &recs[i]);
	}
	return 0;
}

/*
 * Declares every app of st in an empty registry, once, spawning nothing:
 * their instances are created with their saved ids, indices and counters,
 * all INST_STOPPED; D.next_id ends past every saved id. *recs gets one
 * record per saved instance (*n of them, in the file's order; they belong
 * to st: valid until state_free(st)), *msg what could not be restored
 * (the caller frees; NULL when all was). Returns the number of apps
 * declared.
 */
int
state_restore(struct state *st, struct state_record **recs, size_t *n,
    char **msg)
{
	json_t *a;
	size_t i, k = 0;
	int apps = 0, base = D.next_id > st->next_id ? D.next_id :
	    st->next_id;

	*msg = NULL;
	free(st->recs);
	st->recs = xcalloc(st->nrecs + 1, sizeof *st->recs);
	/* app_declare() makes instances with new ids first: none saved. */
	D.next_id = base;
	json_array_foreach(json_object_get(st->root, "apps"), i, a) {
		apps += state_restore_app(st, a, st->recs + k, msg);
		k += json_array_size(json_object_get(a, "instances"));
	}
	D.next_id = base;
	*recs = st->recs;
	*n = st->nrecs;
	log_info("state: %d app(s), %zu instance(s) restored", apps, k);
	return apps;
}

/*
 * The records of st without declaring anything (inst is NULL in each):
 * what ran, for a first engine that looks for the orphans of a lost
 * keeper. Valid until state_restore() or state_free().
 */
void
state_peek(struct state *st, struct state_record **recs, size_t *n)
{
	json_t *a, *o;
	const char *name;
	size_t i, j, k = 0;

	free(st->recs);
	st->recs = xcalloc(st->nrecs + 1, sizeof *st->recs);
	json_array_foreach(json_object_get(st->root, "apps"), i, a) {
		name = json_string_value(json_object_get(json_object_get(a,
		    "config"), "name"));
		json_array_foreach(json_object_get(a, "instances"), j, o)
			state_restore_inst(o, name, &st->recs[k++]);
	}
	*recs = st->recs;
	*n = k;
}
