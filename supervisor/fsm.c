/* SPDX-License-Identifier: ISC */
/*
 * The life of an instance as a table of state x event. Each cell names a
 * small action that does the work and returns the next state; fsm_event()
 * logs every transition and tells whoever waits on instances.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

typedef enum inst_state (*fsm_action)(struct instance *);

static enum inst_state fsm_spawn(struct instance *);

static void
fsm_timer_cb(uv_timer_t *t)
{
	fsm_event(t->data, EV_TIMER);
}

static void
fsm_timer_start(struct instance *inst, uint64_t ms)
{
	inst->timer.data = inst;
	uv_timer_start(&inst->timer, fsm_timer_cb, ms, 0);
}

static enum inst_state
fsm_stay(struct instance *inst)
{
	return inst->state;
}

/*
 * The stop proper: 'shutdown' on the Node IPC channel with
 * shutdown_with_message (PM2: instead of the signal, when the app has the
 * channel), else kill_signal; SIGKILL after kill_timeout.
 */
static enum inst_state
fsm_signal(struct instance *inst)
{
	const struct app_config *c = &inst->app->cfg;

	inst->draining = 0;
	if (!c->shutdown_with_message ||
	    nodeipc_send(inst->child, "\"shutdown\"") == -1)
		instance_kill(inst, (int)c->kill_signal);
	fsm_timer_start(inst, c->kill_timeout);
	return INST_STOPPING;
}

/*
 * A graceful stop. Processes that share the daemon's sockets are first
 * asked to stop accepting and to finish their connections (ctlchan.c,
 * preload/drain.c), for at most drain_timeout; then the signal.
 */
static enum inst_state
fsm_kill(struct instance *inst)
{
	inst->killed = 0;
	if (inst->app->cfg.drain_timeout > 0 && ctlchan_drain(inst->child) > 0) {
		inst->draining = 1;
		fsm_timer_start(inst, inst->app->cfg.drain_timeout);
		return INST_STOPPING;
	}
	return fsm_signal(inst);
}

/* STOPPING: drained, or the drain or the kill timed out. */
static enum inst_state
fsm_drained(struct instance *inst)
{
	if (!inst->draining)            /* late: the signal went already */
		return inst->state;
	uv_timer_stop(&inst->timer);
	log_info("%s[%d] id %d: drained (no new connections, none open)",
	    inst->app->cfg.name, inst->index, inst->id);
	return fsm_signal(inst);
}

static enum inst_state fsm_sigkill(struct instance *);

static enum inst_state
fsm_stop_timer(struct instance *inst)
{
	if (inst->draining) {
		log_info("%s[%d] id %d: connections still open after the "
		    "drain_timeout", inst->app->cfg.name, inst->index, inst->id);
		return fsm_signal(inst);
	}
	return fsm_sigkill(inst);
}

static enum inst_state
fsm_kill_restart(struct instance *inst)
{
	inst->restart_pending = 1;
	return fsm_kill(inst);
}

static enum inst_state
fsm_pend_start(struct instance *inst)
{
	if (!inst->deleting)
		inst->restart_pending = 1;
	return inst->state;
}

static enum inst_state
fsm_unpend(struct instance *inst)
{
	inst->restart_pending = 0;
	return inst->state;
}

static enum inst_state
fsm_sigkill(struct instance *inst)
{
	if (inst->keep_reason)
		log_info("%s[%d]: did not stop within %llums, killed",
		    inst->app->cfg.name, inst->index,
		    (unsigned long long)inst->app->cfg.kill_timeout);
	else
		instance_set_reason(inst, "did not stop within %llums, killed",
		    (unsigned long long)inst->app->cfg.kill_timeout);
	inst->killed = 1;
	instance_kill_group(inst, SIGKILL);
	return INST_STOPPING;
}

static enum inst_state
fsm_cancel(struct instance *inst)
{
	uv_timer_stop(&inst->timer);
	instance_set_reason(inst, "stopped");
	return INST_STOPPED;
}

static enum inst_state
fsm_ready(struct instance *inst)
{
	uv_timer_stop(&inst->timer);
	return INST_ONLINE;
}

/* A start by a user forgives the past: errored instances get a clean slate. */
static enum inst_state
fsm_user_start(struct instance *inst)
{
	uv_timer_stop(&inst->timer);
	inst->unstable_restarts = 0;
	inst->backoff = 0;
	return fsm_spawn(inst);
}

static void
fsm_exit_reason(struct instance *inst)
{
	if (inst->exit_signal != 0)
		instance_set_reason(inst, "killed by %s",
		    signal_name(inst->exit_signal));
	else
		instance_set_reason(inst, "exited with code %d", inst->exit_code);
}

/*
 * Applies the restart policy to a run that ended. A restart without delay
 * spawns at once, unless the spawn itself failed: then it waits for the next
 * loop iteration, so that a program that cannot start never recurses here.
 */
static enum inst_state
fsm_after_run(struct instance *inst, int spawn_failed)
{
	struct policy_state ps = { inst->unstable_restarts, inst->backoff };
	uint64_t uptime = mono_ms() - inst->started_mono, delay;
	int verdict;

	verdict = policy_on_exit(&inst->app->cfg, &ps, inst->exit_code,
	    inst->exit_signal, uptime, &delay);
	inst->unstable_restarts = ps.unstable_restarts;
	inst->backoff = ps.backoff;
	switch (verdict) {
	case POLICY_STOP:
		return INST_STOPPED;
	case POLICY_ERRORED:
		log_warnx("%s[%d]: %lld unstable restarts, giving up",
		    inst->app->cfg.name, inst->index, inst->unstable_restarts);
		return INST_ERRORED;
	default:
		if (delay == 0 && !D.shutting_down && !spawn_failed)
			return fsm_spawn(inst);
		fsm_timer_start(inst, delay);
		return INST_WAITING;
	}
}

/* Readiness timed out (cluster.c set the reason): a failed start. */
static enum inst_state
fsm_not_ready(struct instance *inst)
{
	inst->not_ready = 1;
	return fsm_kill(inst);
}

/* The process ended on its own. */
static enum inst_state
fsm_exited(struct instance *inst)
{
	uv_timer_stop(&inst->timer);
	if (inst->reason_stale || inst->reason[0] == '\0')
		fsm_exit_reason(inst);
	return fsm_after_run(inst, 0);
}

static enum inst_state
fsm_stopped(struct instance *inst)
{
	int not_ready = inst->not_ready;

	uv_timer_stop(&inst->timer);
	inst->draining = 0;
	inst->not_ready = 0;
	if (not_ready && !inst->restart_pending && !inst->deleting)
		return fsm_exited(inst);
	if (!inst->killed && !not_ready && !inst->keep_reason)
		fsm_exit_reason(inst);
	inst->keep_reason = 0;
	if (inst->restart_pending && !inst->deleting && !D.shutting_down) {
		inst->restart_pending = 0;
		return fsm_spawn(inst);
	}
	inst->restart_pending = 0;
	return INST_STOPPED;
}

static enum inst_state
fsm_spawn(struct instance *inst)
{
	char *cause = NULL;

	uv_timer_stop(&inst->timer);
	inst->keep_reason = 0;
	if (inst->pid != 0)
		inst->restarts++;
	/* The last exit's reason stays shown until this run has its own. */
	inst->reason_stale = 1;
	if (instance_spawn(inst, &cause) == 0)
		return INST_STARTING;
	instance_set_reason(inst, "cannot start: %s", cause);
	log_warnx("%s[%d]: cannot start: %s", inst->app->cfg.name, inst->index,
	    cause);
	free(cause);
	inst->exit_code = 127;
	inst->exit_signal = 0;
	inst->started_mono = mono_ms();
	return fsm_after_run(inst, 1);
}

#define STAY fsm_stay
static const fsm_action fsm_table[INST_NSTATES][EV_NEVENTS] = {
	/*                 START           STOP          RESTART           READY      EXIT         TIMER           DRAINED */
	[INST_STOPPED] = { fsm_user_start, STAY,         fsm_user_start,   STAY,      STAY,        STAY,           STAY },
	[INST_STARTING] = { STAY,          fsm_kill,     fsm_kill_restart, fsm_ready, fsm_exited,  fsm_not_ready,  STAY },
	[INST_ONLINE] =  { STAY,           fsm_kill,     fsm_kill_restart, STAY,      fsm_exited,  STAY,           STAY },
	[INST_STOPPING] = { fsm_pend_start, fsm_unpend,  fsm_pend_start,   STAY,      fsm_stopped, fsm_stop_timer, fsm_drained },
	[INST_WAITING] = { fsm_user_start, fsm_cancel,   fsm_user_start,   STAY,      STAY,        fsm_spawn,      STAY },
	[INST_ERRORED] = { fsm_user_start, fsm_cancel,   fsm_user_start,   STAY,      STAY,        STAY,           STAY },
};
#undef STAY

static const char *fsm_event_names[EV_NEVENTS] = {
	"start", "stop", "restart", "ready", "exit", "timer", "drained"
};

/*
 * Feeds one event to an instance. The instance may be freed on return when
 * it was being deleted and has stopped.
 */
void
fsm_event(struct instance *inst, enum inst_event ev)
{
	enum inst_state from = inst->state, to;
	const char *reason;

	to = fsm_table[from][ev](inst);
	inst->state = to;
	reason = inst->reason_stale && ev != EV_EXIT ? "" : inst->reason;
	if (from != to || ev == EV_EXIT) {
		log_info("%s[%d] id %d: %s -> %s on %s%s%s",
		    inst->app->cfg.name, inst->index, inst->id,
		    app_state_name(from), app_state_name(to),
		    fsm_event_names[ev], reason[0] ? ": " : "", reason);
	}
	if (inst->deleting && (inst->state == INST_STOPPED ||
	    inst->state == INST_ERRORED))
		instance_free(inst);
	op_check_all();
	reload_check_all();
	daemon_check_shutdown();
}
