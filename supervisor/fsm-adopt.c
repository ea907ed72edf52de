/* SPDX-License-Identifier: ISC */
/*
 * The state machine's side of an engine's takeover (fsm.c is the
 * machine): what a stop under way is to go on to, saved in state.json,
 * and a new engine's instance put back in the state the last engine had
 * it in (engine-adopt.c adopts the processes first).
 */
#include "corrald.h"

/*
 * What a stop under way goes on to once the process has exited
 * (FSM_PEND_*), saved in state.json for the next engine's fsm_adopt().
 */
int
fsm_pending(const struct instance *inst)
{
	if (inst->state != INST_STOPPING)
		return 0;
	return (inst->fsm.restart_pending ? FSM_PEND_RESTART : 0) |
	    (inst->fsm.not_ready ? FSM_PEND_NOT_READY : 0);
}

/*
 * What is left of an adopted backoff: until its saved due time
 * (timer_due, boot_ms(); 0 once past), never more than its whole delay
 * (the exponential one, else restart_delay), which is also what a state
 * without a due time (an older file) waits.
 */
static uint64_t
fsm_wait_left(const struct instance *inst)
{
	uint64_t whole = inst->backoff != 0 ? inst->backoff :
	    inst->app->cfg.restart_delay, now = boot_ms();

	if (inst->timer_due == 0)
		return whole;
	if (inst->timer_due <= now)
		return 0;
	return inst->timer_due - now < whole ? inst->timer_due - now : whole;
}

/*
 * A stop taken over: sent again to the process, with what it was to go
 * on to (pend, fsm_pending()'s), as the last engine would have. Without
 * a process (gone meanwhile) it ends at once; its saved reason stays.
 */
static void
fsm_adopt_stop(struct instance *inst, int pend)
{
	inst->fsm.restart_pending = (pend & FSM_PEND_RESTART) != 0;
	inst->fsm.not_ready = (pend & FSM_PEND_NOT_READY) != 0;
	if (inst->fsm.not_ready)
		inst->fsm.start_failed = 1;
	if (inst->child == NULL) {
		inst->keep_reason = 1;
		fsm_event(inst, EV_EXIT);
		return;
	}
	inst->state = INST_ONLINE;
	fsm_event(inst, EV_STOP);
}

/*
 * A new engine takes inst over in state st, the last engine's (its
 * process, if any, adopted already: engine-adopt.c): a backoff waits
 * what was left of it (fsm_wait_left()), a stop is sent again and goes
 * on to what pend says; other states are taken as they are.
 */
void
fsm_adopt(struct instance *inst, enum inst_state st, int pend)
{
	uint64_t left = st == INST_WAITING ? fsm_wait_left(inst) : 0;

	inst->state = st;
	if (st == INST_WAITING)
		fsm_timer_start(inst, left);
	log_info("%s[%d] id %d: %s, taken over%s%s%s", inst->app->cfg.name,
	    inst->index, inst->id, app_state_name(st), inst->child != NULL ?
	    " with its process" : "", inst->child != NULL && st ==
	    INST_STOPPING ? ", stopped again" : "", st == INST_STOPPING &&
	    (pend & FSM_PEND_RESTART) ? ", to be started again" : "");
	if (st == INST_WAITING)
		log_info("%s[%d] id %d: started again in %llu ms",
		    inst->app->cfg.name, inst->index, inst->id,
		    (unsigned long long)left);
	if (st == INST_STOPPING)
		fsm_adopt_stop(inst, pend);
}
