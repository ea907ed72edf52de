/* SPDX-License-Identifier: ISC */
/*
 * The keeper's table as a new engine finds it: the processes still
 * running (LIVE) and those that exited while no engine ran (EXITED, with
 * their pipes to drain), kept here until the apps are rebuilt; then
 * engine_adopt_finish() gives each to its instance, or stops what no app
 * knows.
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"
#include "engine.h"

/* A row of the table. */
struct adopt_row {
	char *tag;
	pid_t pid;
	int64_t started_at;
	int exited;
	int status;             /* the wait status, when exited */
	int claimed;            /* found for a record, not yet given */
	int out, err, pidfd;
	TAILQ_ENTRY(adopt_row) entry;
};
TAILQ_HEAD(adopt_rows, adopt_row);

static struct adopt_rows adopt_table;
static struct hmap adopt_tags;          /* the rows by tag */

void
engine_adopt_init(void)
{
	TAILQ_INIT(&adopt_table);
	hmap_init(&adopt_tags);
}

static int
engine_adopt_tag_is(const void *row, const void *tag)
{
	return strcmp(((const struct adopt_row *)row)->tag, tag) == 0;
}

/*
 * The row of tag, found by its hash: a walk of the table for each of
 * 4,200 instances was a quarter of the next engine's time.
 */
static struct adopt_row *
engine_adopt_tag(const char *tag)
{
	return hmap_find(&adopt_tags, hmap_hash(tag), engine_adopt_tag_is,
	    tag);
}

static struct adopt_row *
engine_adopt_row(const char *tag, pid_t pid, int out, int err)
{
	struct adopt_row *r = xcalloc(1, sizeof *r);

	r->tag = xstrdup(tag);
	r->pid = pid;
	r->out = out;
	r->err = err;
	r->pidfd = -1;
	TAILQ_INSERT_TAIL(&adopt_table, r, entry);
	hmap_add(&adopt_tags, hmap_hash(r->tag), r);
	return r;
}

void
engine_adopt_live(const struct keeper_proc *p)
{
	struct adopt_row *r;

	if (p->tag == NULL) {
		engine_close_fds(p->out, p->err, p->pidfd);
		return;
	}
	r = engine_adopt_row(p->tag, p->pid, p->out, p->err);
	r->pidfd = p->pidfd;
	r->started_at = p->started_at;
}

void
engine_adopt_exited(const char *tag, pid_t pid, int status, int out, int err)
{
	struct adopt_row *r;

	if ((r = engine_adopt_tag(tag)) != NULL && !r->exited) {
		/* a LIVE row that exited before the table's end */
		r->exited = 1;
		r->status = status;
		engine_close_fds(out, err, -1);
		return;
	}
	r = engine_adopt_row(tag, pid, out, err);
	r->exited = 1;
	r->status = status;
}

static void
engine_adopt_free(struct adopt_row *r)
{
	TAILQ_REMOVE(&adopt_table, r, entry);
	(void)hmap_remove(&adopt_tags, hmap_hash(r->tag), r);
	engine_close_fds(r->out, r->err, r->pidfd);
	free(r->tag);
	free(r);
}

/*
 * A process no app of this engine knows: its group is killed; its exit
 * comes from the keeper later and is released then.
 */
static void
engine_adopt_stop(struct adopt_row *r)
{
	log_warnx("keeper: %s (pid %d) belongs to no app: killed", r->tag,
	    (int)r->pid);
	if (kill(-r->pid, SIGKILL) == -1)
		(void)kill(r->pid, SIGKILL);
}

/*
 * A row of rec's app and instance id of a later generation than the
 * file's: a live one first (the newest), else the newest exit; NULL when
 * live is set and none runs.
 */
static struct adopt_row *
engine_adopt_later(const struct state_record *rec, int live)
{
	struct adopt_row *r, *best = NULL;
	char name[STATE_TAG_MAX];
	unsigned long long gen, best_gen = 0;
	int id;

	TAILQ_FOREACH(r, &adopt_table, entry) {
		if (r->claimed || (live && r->exited) ||
		    instance_tag_parse(r->tag, name, sizeof name, &id,
		    &gen) != 0 || id != rec->inst->tag_id ||
		    strcmp(name, rec->app) != 0 ||
		    gen <= rec->inst->generation)
			continue;
		if (best == NULL || (best->exited && !r->exited) ||
		    (best->exited == r->exited && gen > best_gen)) {
			best = r;
			best_gen = gen;
		}
	}
	if (best != NULL)
		rec->inst->generation = best_gen;
	return best;
}

/*
 * The row of rec's process: its tag, or a live one of the same app and
 * instance id spawned after the state was written (a later generation).
 * An exit of its tag beside such a live row was handled by the engine
 * that spawned the later one: the live row is the instance's, the exit
 * is left to engine_adopt_finish() (released).
 */
static struct adopt_row *
engine_adopt_find(const struct state_record *rec)
{
	struct adopt_row *r, *later;

	if (rec->tag != NULL && (r = engine_adopt_tag(rec->tag)) != NULL &&
	    !r->claimed) {
		if (r->exited && (later = engine_adopt_later(rec, 1)) != NULL) {
			r->claimed = 1;
			return later;
		}
		return r;
	}
	return engine_adopt_later(rec, 0);
}

/* The process of row r becomes inst's: pipes read, cgroup found. */
static struct child *
engine_adopt_child(struct instance *inst, struct adopt_row *r)
{
	struct child *child = child_create(inst);

	child_set_tag(child, r->tag);
	child->pid = r->pid;
	child->pidfd = r->pidfd;
	r->pidfd = -1;
	inst->child = child;
	inst->pid = r->pid;
	if (r->started_at > 0 && (uint64_t)r->started_at != inst->started_at) {
		inst->started_at = (uint64_t)r->started_at;
		inst->started_mono = mono_ms() - (now_ms() > inst->started_at ?
		    now_ms() - inst->started_at : 0);
	}
	limits_adopted(inst, child);
	ctlchan_adopt(child);
	nodeipc_adopt(child);
	child_read_start(child, r->out, r->err, 0);
	r->out = r->err = -1;
	return child;
}

/*
 * What a running state becomes without its process: a stop ends as it
 * would have (a restart pending starts it again), the others start again.
 */
static void
engine_adopt_gone(struct instance *inst, int st, int pend)
{
	if (st == INST_STOPPING) {
		fsm_adopt(inst, INST_STOPPING, pend);
		return;
	}
	fsm_adopt(inst, INST_STOPPED, 0);
	log_warnx("%s[%d] id %d: its process is gone, started again",
	    inst->app->cfg.name, inst->index, inst->id);
	fsm_event(inst, EV_START);
}

/* Whether r is the process of the tag rec's state names. */
static int
engine_adopt_own(const struct state_record *rec, const struct adopt_row *r)
{
	return rec->tag != NULL && strcmp(rec->tag, r->tag) == 0;
}

/*
 * The state was written after the exit of r, rec's own process (its tag):
 * the exit was handled, and r was not released yet because its pipes had
 * not ended (a grandchild may hold them for good). Its pipes are read to
 * their end; the instance stays as the state says.
 */
static void
engine_adopt_handled(const struct state_record *rec, struct adopt_row *r)
{
	struct instance *inst = rec->inst;
	struct child *child = engine_adopt_child(inst, r);

	inst->child = NULL;
	child->inst = NULL;
	fsm_adopt(inst, (enum inst_state)rec->state, 0);
	child_exited(child, r->status);
	engine_adopt_free(r);
}

/*
 * Whether rec's state is older than r's process: it shows none running,
 * or the stop of an earlier one (r of a later generation: that stop
 * ended and r was spawned since, by its pending restart or the restart
 * policy, then the engine died before the next write). Stopped again,
 * r would be restarted a second time, or left stopped.
 */
static int
engine_adopt_older(const struct state_record *rec,
    const struct adopt_row *r, int running)
{
	return !running || (rec->state == INST_STOPPING &&
	    rec->tag != NULL && !engine_adopt_own(rec, r));
}

/*
 * Gives rec's instance r, its process from the table (NULL: none), in the
 * state it was in; an exit collected meanwhile goes through the restart
 * policy as if seen live.
 */
static void
engine_adopt_one(const struct state_record *rec, struct adopt_row *r)
{
	struct instance *inst = rec->inst;
	struct child *child;
	int st = rec->state, running = st == INST_ONLINE ||
	    st == INST_STARTING || st == INST_STOPPING;

	if (r == NULL) {
		if (running)
			engine_adopt_gone(inst, st, rec->pending);
		else
			fsm_adopt(inst, (enum inst_state)st, 0);
		return;
	}
	if (!running && r->exited && engine_adopt_own(rec, r)) {
		engine_adopt_handled(rec, r);
		return;
	}
	/*
	 * A state older than its process (spawned after the last write):
	 * it waits to be ready as after any spawn, unless it said so.
	 */
	if (engine_adopt_older(rec, r, running))
		st = inst->app->ready.kind != READY_NONE ? INST_STARTING :
		    INST_ONLINE;
	child = engine_adopt_child(inst, r);
	child->reaped = r->exited;      /* a stop sent again signals nothing */
	if (engine_take_ready(child) && st == INST_STARTING) {
		log_info("%s[%d] id %d: its process had said it is ready",
		    inst->app->cfg.name, inst->index, inst->id);
		st = INST_ONLINE;
	}
	if (st != INST_STOPPING)
		cluster_adopted(inst, st == INST_STARTING);
	fsm_adopt(inst, (enum inst_state)st, rec->pending);
	if (r->exited && inst->child == child)
		child_exited(child, r->status);
	engine_adopt_free(r);
}

/*
 * Every record's instance with its row: those with a live process first,
 * so that their cgroups are taken (busy) before an exit collected
 * meanwhile looks for its own among the generations (cgroup_find_gone())
 * and before a restart takes one.
 */
static void
engine_adopt_all(struct state_record *recs, size_t n)
{
	struct adopt_row **rows = xcalloc(n ? n : 1, sizeof *rows);
	size_t i;

	for (i = 0; i < n; i++) {
		if (recs[i].inst == NULL)
			continue;
		if ((rows[i] = engine_adopt_find(&recs[i])) == NULL ||
		    rows[i]->exited) {
			if (rows[i] != NULL)
				rows[i]->claimed = 1;
			continue;
		}
		engine_adopt_one(&recs[i], rows[i]);
		recs[i].inst = NULL;       /* given */
	}
	for (i = 0; i < n; i++) {
		if (recs[i].inst != NULL)
			engine_adopt_one(&recs[i], rows[i]);
	}
	free(rows);
}

/* Which of two instances of one index a reload cut short keeps. */
static int
engine_adopt_better(const struct instance *a, const struct instance *b)
{
	if ((a->state == INST_ONLINE) != (b->state == INST_ONLINE))
		return a->state == INST_ONLINE;
	return a->started_at > b->started_at;
}

/*
 * A rolling reload the last engine did not finish: an index with an old
 * instance and its replacement keeps one (the replacement once it is
 * online, else the old one) and stops the other; the reload is over.
 */
static void
engine_adopt_reload(struct app *app)
{
	struct instance *a, *b, *lose;
	int again = 1;

	while (again) {
		again = 0;
		TAILQ_FOREACH(a, &app->instances, entry) {
			TAILQ_FOREACH(b, &app->instances, entry) {
				if (a == b || a->index != b->index ||
				    fsm_deleting(a) || fsm_deleting(b))
					continue;
				lose = engine_adopt_better(a, b) ? b : a;
				log_warnx("%s[%d]: a reload cut short by the "
				    "engine's restart: id %d stays, id %d goes",
				    app->cfg.name, a->index, lose == a ? b->id :
				    a->id, lose->id);
				fsm_event(lose, EV_DELETE);
				again = 1;
				break;
			}
			if (again)
				break;
		}
	}
}

/*
 * A later engine: the apps as the state file has them, each instance
 * with its process from the keeper's table. A missing or bad file leaves
 * no app: what runs is then stopped by engine_adopt_finish().
 */
void
engine_adopt_restore(void)
{
	struct state_record *recs;
	struct state *st;
	char *path = paths_file(D.home, STATE_FILE), *cause = NULL, *msg;
	struct app *app;
	size_t n;

	st = state_load(path, &cause);
	free(path);
	if (st == NULL) {
		log_warnx("state: %s: the apps that run are stopped", cause);
		free(cause);
		return;
	}
	state_restore(st, &recs, &n, &msg);
	if (msg != NULL)
		log_warnx("state: %s", msg);
	free(msg);
	engine_adopt_all(recs, n);
	state_free(st);
	TAILQ_FOREACH(app, &D.apps, entry)
		engine_adopt_reload(app);
}

/*
 * The apps are rebuilt: every row goes to its instance, or is stopped
 * (live) or released (exited).
 */
void
engine_adopt_finish(void)
{
	struct adopt_row *r;

	while ((r = TAILQ_FIRST(&adopt_table)) != NULL) {
		if (r->exited)
			engine_release(r->tag);
		else
			engine_adopt_stop(r);
		engine_adopt_free(r);
	}
	hmap_free(&adopt_tags);
	hmap_init(&adopt_tags);
	engine_release_unclaimed();
}
