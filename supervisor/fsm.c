/* SPDX-License-Identifier: ISC */
/*
 * The life of an instance as a table of state x event. Each cell names a
 * small action that does the work and returns the next state; fsm_event()
 * logs every transition, frees a deleted instance once it has stopped and
 * runs the hook (main.c's: pending replies, reloads, shutdown). The flags
 * in struct instance's fsm member are this file's and fsm-adopt.c's
 * alone: a delete, a readiness failure, a pending restart are events and
 * cells here, never fields another file sets.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

typedef enum inst_state (*fsm_action)(struct instance *);

#define FSM_RESOURCE_MIN_MS 100         /* first retry after EMFILE & co */
#define FSM_RESOURCE_MAX_MS 10000

static enum inst_state fsm_spawn(struct instance *);

static void
fsm_timer_cb(uv_timer_t *t)
{
	fsm_event(t->data, EV_TIMER);
}

/* inst's timer: EV_TIMER in ms, its due time kept (fsm-adopt.c). */
void
fsm_timer_start(struct instance *inst, uint64_t ms)
{
	int r;

	inst->timer.data = inst;
	inst->timer_due = boot_ms() + ms;
	if ((r = uv_timer_start(&inst->timer, fsm_timer_cb, ms, 0)) != 0)
		log_warnx("%s[%d]: timer: %s", inst->app->cfg.name, inst->index,
		    uv_strerror(r));
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
	inst->fsm.restart_pending = 1;
	return fsm_kill(inst);
}

static enum inst_state
fsm_pend_start(struct instance *inst)
{
	if (!inst->fsm.deleting)
		inst->fsm.restart_pending = 1;
	return inst->state;
}

static enum inst_state
fsm_unpend(struct instance *inst)
{
	inst->fsm.restart_pending = 0;
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
 * A run that never became ready (failed start) counts as no uptime at all:
 * an unstable restart, whatever its length, so that an app that is never
 * ready ends errored after max_restarts.
 */
static enum inst_state
fsm_after_run(struct instance *inst, int spawn_failed, int failed_start)
{
	struct policy_state ps = { inst->unstable_restarts, inst->backoff };
	uint64_t uptime = mono_ms() - inst->started_mono, delay;
	int verdict;

	if (spawn_failed || failed_start)
		uptime = 0;
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

/* Readiness failed (its reason is set): a failed start. */
static enum inst_state
fsm_not_ready(struct instance *inst)
{
	inst->fsm.not_ready = 1;
	inst->fsm.start_failed = 1;
	inst->start_failures++;
	return fsm_kill(inst);
}

/*
 * The process ended on its own: before it was ready (a failed start, when
 * the app has a readiness source), or after.
 */
static enum inst_state
fsm_exited(struct instance *inst)
{
	int failed = inst->state == INST_STARTING &&
	    inst->app->ready.kind != READY_NONE;

	uv_timer_stop(&inst->timer);
	if (inst->reason_stale || inst->reason[0] == '\0')
		fsm_exit_reason(inst);
	if (failed)
		inst->start_failures++;
	return fsm_after_run(inst, 0, failed);
}

/* The process stopped after it was killed for not getting ready. */
static enum inst_state
fsm_not_ready_exited(struct instance *inst)
{
	uv_timer_stop(&inst->timer);
	return fsm_after_run(inst, 0, 1);
}

static enum inst_state
fsm_stopped(struct instance *inst)
{
	int not_ready = inst->fsm.not_ready;

	uv_timer_stop(&inst->timer);
	inst->draining = 0;
	inst->fsm.not_ready = 0;
	if (not_ready && !inst->fsm.restart_pending && !inst->fsm.deleting)
		return fsm_not_ready_exited(inst);
	if (!inst->killed && !not_ready && !inst->keep_reason)
		fsm_exit_reason(inst);
	inst->keep_reason = 0;
	if (inst->fsm.restart_pending && !inst->fsm.deleting &&
	    !D.shutting_down) {
		inst->fsm.restart_pending = 0;
		return fsm_spawn(inst);
	}
	inst->fsm.restart_pending = 0;
	return INST_STOPPED;
}

/*
 * The daemon ran out of descriptors, processes or memory (EMFILE, ENFILE,
 * EAGAIN, ENOMEM): its problem, not the app's.  Said once, retried with a
 * backoff of its own, never counted as an unstable restart.
 */
static enum inst_state
fsm_spawn_later(struct instance *inst, char *cause)
{
	if (inst->resource_backoff == 0) {
		inst->resource_backoff = FSM_RESOURCE_MIN_MS;
		log_warnx("%s[%d]: cannot start yet, the daemon lacks a "
		    "resource: %s; retrying", inst->app->cfg.name, inst->index,
		    cause);
	} else if ((inst->resource_backoff *= 2) > FSM_RESOURCE_MAX_MS)
		inst->resource_backoff = FSM_RESOURCE_MAX_MS;
	instance_set_reason(inst, "waiting: the daemon lacks a resource (%s)",
	    cause);
	free(cause);
	inst->resource_wait = 1;
	fsm_timer_start(inst, inst->resource_backoff);
	return INST_WAITING;
}

/*
 * Every spawn comes here (a start, a restart, a backoff's end, a
 * replacement); none once the daemon shuts down: daemon_shutdown() stops
 * each instance once, and a later process would keep it from exiting.
 */
static enum inst_state
fsm_spawn(struct instance *inst)
{
	char *cause = NULL;
	int r;

	uv_timer_stop(&inst->timer);
	if (D.shutting_down) {
		log_info("%s[%d] id %d: not started: the daemon is shutting "
		    "down", inst->app->cfg.name, inst->index, inst->id);
		instance_set_reason(inst, "not started: the daemon is "
		    "shutting down");
		return INST_STOPPED;
	}
	inst->keep_reason = 0;
	if (inst->pid != 0 && !inst->resource_wait)
		inst->restarts++;
	inst->resource_wait = 0;
	/* The last exit's reason stays shown until this run has its own. */
	inst->reason_stale = 1;
	if ((r = instance_spawn(inst, &cause)) == 0) {
		if (inst->resource_backoff != 0)
			log_info("%s[%d]: started after waiting for the "
			    "daemon's resources", inst->app->cfg.name,
			    inst->index);
		inst->resource_backoff = 0;
		inst->fsm.start_failed = 0;
		return INST_STARTING;
	}
	if (r == -2)
		return fsm_spawn_later(inst, cause);
	inst->fsm.start_failed = 1;
	instance_set_reason(inst, "cannot start: %s", cause);
	log_warnx("%s[%d]: cannot start: %s", inst->app->cfg.name, inst->index,
	    cause);
	free(cause);
	inst->exit_code = 127;
	inst->exit_signal = 0;
	inst->started_mono = mono_ms();
	inst->start_failures++;
	return fsm_after_run(inst, 1, 1);
}

static enum inst_state fsm_delete(struct instance *);

#define STAY fsm_stay
#define DEL fsm_delete
static const fsm_action fsm_table[INST_NSTATES][EV_NEVENTS] = {
	/*                 START           STOP          RESTART           READY      EXIT         TIMER           DRAINED      NOT_READY      DELETE */
	[INST_STOPPED] = { fsm_user_start, STAY,         fsm_user_start,   STAY,      STAY,        STAY,           STAY,        STAY,          DEL },
	[INST_STARTING] = { STAY,          fsm_kill,     fsm_kill_restart, fsm_ready, fsm_exited,  STAY,           STAY,        fsm_not_ready, DEL },
	[INST_ONLINE] =  { STAY,           fsm_kill,     fsm_kill_restart, STAY,      fsm_exited,  STAY,           STAY,        STAY,          DEL },
	[INST_STOPPING] = { fsm_pend_start, fsm_unpend,  fsm_pend_start,   STAY,      fsm_stopped, fsm_stop_timer, fsm_drained, STAY,          DEL },
	[INST_WAITING] = { fsm_user_start, fsm_cancel,   fsm_user_start,   STAY,      STAY,        fsm_spawn,      STAY,        STAY,          DEL },
	[INST_ERRORED] = { fsm_user_start, fsm_cancel,   fsm_user_start,   STAY,      STAY,        STAY,           STAY,        STAY,          DEL },
};
#undef DEL
#undef STAY

/* Marks the instance for freeing, then stops it as a user's stop does. */
static enum inst_state
fsm_delete(struct instance *inst)
{
	inst->fsm.deleting = 1;
	inst->fsm.restart_pending = 0;
	return fsm_table[inst->state][EV_STOP](inst);
}

static const char *fsm_event_names[EV_NEVENTS] = {
	"start", "stop", "restart", "ready", "exit", "timer", "drained",
	"not-ready", "delete"
};

static void (*fsm_hook)(void);
static int fsm_hook_running, fsm_hook_again;

/* fn runs after every transition (see fsm_settle()); NULL: nothing runs. */
void
fsm_set_hook(void (*fn)(void))
{
	fsm_hook = fn;
}

/*
 * Runs the hook. It is never re-entered: the events it feeds (a reload
 * starts or stops instances) ask for one more pass, which runs once the
 * current one has returned, until a pass feeds none.
 */
void
fsm_settle(void)
{
	if (fsm_hook == NULL)
		return;
	if (fsm_hook_running) {
		fsm_hook_again = 1;
		return;
	}
	fsm_hook_running = 1;
	do {
		fsm_hook_again = 0;
		fsm_hook();
	} while (fsm_hook_again);
	fsm_hook_running = 0;
}

/* Being deleted: gone once stopped, no event brings it back. */
int
fsm_deleting(const struct instance *inst)
{
	return inst->fsm.deleting;
}

/* Stopping, and to be started again once stopped. */
int
fsm_restart_pending(const struct instance *inst)
{
	return inst->fsm.restart_pending;
}

/* Its last start failed: no process came of it, or it was not ready. */
int
fsm_start_failed(const struct instance *inst)
{
	return inst->fsm.start_failed;
}

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
	if (inst->fsm.deleting && (inst->state == INST_STOPPED ||
	    inst->state == INST_ERRORED))
		instance_free(inst);
	fsm_settle();
}
