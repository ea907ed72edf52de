/* SPDX-License-Identifier: ISC */
/*
 * One slot of a rolling reload as a table of slot state x event, as fsm.c
 * is for instances: its replacement is started beside the old instance,
 * the old one is removed once the replacement is ready, and the
 * replacement takes the old id once the old one is gone. A replacement
 * that fails ends the whole reload: the others still starting are
 * removed. Instances are held by id, since any event may free them.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "op.h"
#include "reload.h"

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

typedef enum reload_slot_state reload_slot_fn(struct reload *,
    struct reload_slot *);

/* The reload fails (its reason said): each replacement still starting goes. */
void
reload_slot_abort_all(struct reload *rl)
{
	size_t i;

	rl->failed = 1;
	for (i = 0; i < rl->nslots; i++)
		reload_slot_feed(rl, &rl->slots[i], SLOT_EV_ABORT);
}

/* Ends the reload for the replacement of slot bad; the others are undone. */
static void
reload_fail(struct reload *rl, struct reload_slot *bad)
{
	struct instance *inst = app_find_instance(bad->new_id, 1);
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
	reload_slot_abort_all(rl);
}

/* WAITING x START: the replacement, beside its old instance. */
static enum reload_slot_state
reload_slot_start(struct reload *rl, struct reload_slot *s)
{
	struct instance *old = app_find_instance(s->old_id, 1), *inst;

	if (old == NULL || fsm_deleting(old))
		return SLOT_DONE;       /* scaled down, deleted: none left */
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
	log_info("%s[%d]: reload: replacing id %d with id %d",
	    rl->app->cfg.name, old->index, old->id, inst->id);
	fsm_event(inst, EV_START);
	if ((inst = app_find_instance(s->new_id, 1)) != NULL)
		s->new_pid = inst->pid;
	return SLOT_STARTING;
}

/* STARTING x READY: the old instance goes. */
static enum reload_slot_state
reload_slot_ready(struct reload *rl, struct reload_slot *s)
{
	struct instance *old = app_find_instance(s->old_id, 1);

	if (old != NULL)
		log_info("%s[%d]: reload: id %d ready, stopping id %d",
		    rl->app->cfg.name, old->index, s->new_id, old->id);
	reload_remove(s->old_id);
	return SLOT_REPLACED;
}

/* STARTING x FAILED: the reload fails, unless it has already. */
static enum reload_slot_state
reload_slot_failed(struct reload *rl, struct reload_slot *s)
{
	if (rl->failed)
		return SLOT_DONE;       /* the app's delete removes it */
	reload_fail(rl, s);
	return s->state;
}

/* STARTING x ABORT: the replacement goes. */
static enum reload_slot_state
reload_slot_cancel(struct reload *rl, struct reload_slot *s)
{
	(void)rl;
	reload_remove(s->new_id);
	return SLOT_CANCELLED;
}

/* REPLACED x OLD_GONE: the replacement takes the old id. */
static enum reload_slot_state
reload_slot_hand_over(struct reload *rl, struct reload_slot *s)
{
	struct instance *inst = app_find_instance(s->new_id, 1);

	(void)rl;
	if (inst != NULL) {
		app_unindex_instance(inst);
		app_index_instance(inst, s->old_id);
		op_id_moved(s->new_id, s->old_id);
	}
	return SLOT_DONE;
}

/* CANCELLED x NEW_GONE. */
static enum reload_slot_state
reload_slot_done(struct reload *rl, struct reload_slot *s)
{
	(void)rl;
	(void)s;
	return SLOT_DONE;
}

/* NULL: the event changes nothing in that state. */
static reload_slot_fn *const reload_slot_table[SLOT_NSTATES][SLOT_NEVENTS] = {
	[SLOT_WAITING] = { [SLOT_EV_START] = reload_slot_start },
	[SLOT_STARTING] = { [SLOT_EV_READY] = reload_slot_ready,
	    [SLOT_EV_FAILED] = reload_slot_failed,
	    [SLOT_EV_ABORT] = reload_slot_cancel },
	[SLOT_REPLACED] = { [SLOT_EV_OLD_GONE] = reload_slot_hand_over },
	[SLOT_CANCELLED] = { [SLOT_EV_NEW_GONE] = reload_slot_done },
};

/* Applies ev to the slot as the table says. */
void
reload_slot_feed(struct reload *rl, struct reload_slot *s,
    enum reload_slot_event ev)
{
	reload_slot_fn *fn = reload_slot_table[s->state][ev];

	if (fn != NULL)
		s->state = fn(rl, s);
}

/* What the slot's instances did since the last look. */
enum reload_slot_event
reload_slot_observe(const struct reload_slot *s)
{
	struct instance *inst;

	switch (s->state) {
	case SLOT_STARTING:
		inst = app_find_instance(s->new_id, 1);
		if (inst != NULL && !fsm_deleting(inst) &&
		    inst->pid == s->new_pid && inst->child != NULL) {
			if (inst->state == INST_STARTING)
				return SLOT_EV_NONE;
			if (inst->state == INST_ONLINE)
				return SLOT_EV_READY;
		}
		return SLOT_EV_FAILED;
	case SLOT_REPLACED:
		return app_find_instance(s->old_id, 1) == NULL ?
		    SLOT_EV_OLD_GONE : SLOT_EV_NONE;
	case SLOT_CANCELLED:
		return app_find_instance(s->new_id, 1) == NULL ?
		    SLOT_EV_NEW_GONE : SLOT_EV_NONE;
	default:
		return SLOT_EV_NONE;
	}
}

/* Feeds each slot of rl what its instances did. */
void
reload_slot_observe_all(struct reload *rl)
{
	size_t i;

	for (i = 0; i < rl->nslots; i++)
		reload_slot_feed(rl, &rl->slots[i],
		    reload_slot_observe(&rl->slots[i]));
}

