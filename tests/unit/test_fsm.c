/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of supervisor/fsm.c, the instance state machine, with the
 * process side replaced by fakes defined here (so the linker takes these
 * instead of instance.c's and main.c's): spawning, killing and the clock are
 * recorded and steered by the tests; timers are real libuv timers that are
 * never run, so a test fires EV_TIMER itself and checks what was armed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "corrald.h"

struct daemon D;

static struct {
	int spawns;
	int spawn_fails;        /* that many next spawns fail */
	int kills;
	int last_kill;
	int group_kills;
	int last_group_kill;
	int frees;
	int next_pid;
	uint64_t now;
	int drains;                     /* processes asked to drain */
	int drain_asks;
	int messages;                   /* 'shutdown' sent on the Node channel */
} fake;

/* Fakes of what fsm.c calls outside itself and policy.c. */
uint64_t
mono_ms(void)
{
	return fake.now;
}

int
instance_spawn(struct instance *inst, char **cause)
{
	fake.spawns++;
	if (fake.spawn_fails > 0) {
		fake.spawn_fails--;
		*cause = xstrdup("no such file");
		return -1;
	}
	inst->pid = ++fake.next_pid;
	inst->started_mono = fake.now;
	return 0;
}

void
instance_kill(struct instance *inst, int sig)
{
	(void)inst;
	fake.kills++;
	fake.last_kill = sig;
}

void
instance_kill_group(struct instance *inst, int sig)
{
	(void)inst;
	fake.group_kills++;
	fake.last_group_kill = sig;
}

void
instance_set_reason(struct instance *inst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inst->reason, sizeof inst->reason, fmt, ap);
	va_end(ap);
	inst->reason_stale = 0;
}

void
instance_free(struct instance *inst)
{
	(void)inst;
	fake.frees++;
}

int
ctlchan_drain(struct child *child)
{
	(void)child;
	fake.drain_asks++;
	return fake.drains;
}

int
nodeipc_send(struct child *child, const char *msg)
{
	(void)child;
	assert_string_equal(msg, "\"shutdown\"");
	fake.messages++;
	return 0;
}

const char *
app_state_name(enum inst_state s)
{
	static const char *names[] = { "stopped", "starting", "online",
	    "stopping", "waiting-restart", "errored" };

	return names[s];
}

/* The fixture: one app with PM2's defaults and one instance. */
static struct app app;
static struct instance inst;

static int
setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof fake);
	fake.now = 1000000;
	fake.next_pid = 100;
	memset(&D, 0, sizeof D);
	D.loop = uv_default_loop();
	memset(&app, 0, sizeof app);
	app.cfg.name = (char *)"app";
	app.cfg.autorestart = APP_RESTART_ALWAYS;
	app.cfg.min_uptime = 1000;
	app.cfg.max_restarts = 16;
	app.cfg.kill_signal = SIGTERM;
	app.cfg.kill_timeout = 5000;
	app.cfg.drain_timeout = 5000;
	memset(&inst, 0, sizeof inst);
	inst.app = &app;
	inst.state = INST_STOPPED;
	inst.exit_code = 0;
	assert_int_equal(uv_timer_init(D.loop, &inst.timer), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	uv_close((uv_handle_t *)&inst.timer, NULL);
	uv_run(D.loop, UV_RUN_NOWAIT);
	return 0;
}

static void
process_exits(int code, int sig)
{
	inst.exit_code = sig ? -1 : code;
	inst.exit_signal = sig;
	fsm_event(&inst, EV_EXIT);
}

static int
timer_armed(uint64_t *due)
{
	if (!uv_is_active((uv_handle_t *)&inst.timer))
		return 0;
	*due = uv_timer_get_due_in(&inst.timer);
	return 1;
}

/* A spawn leaves the instance starting until its readiness source says ready. */
static void
assert_comes_online(void)
{
	assert_int_equal(inst.state, INST_STARTING);
	fsm_event(&inst, EV_READY);
	assert_int_equal(inst.state, INST_ONLINE);
}

static void
test_fsm_start_goes_online(void **state)
{
	uint64_t due = 0;

	(void)state;
	fsm_event(&inst, EV_START);
	assert_comes_online();
	assert_int_equal(fake.spawns, 1);
	assert_int_equal(inst.pid, 101);
	assert_int_equal(inst.restarts, 0);     /* a first start is no restart */
	assert_false(timer_armed(&due));
	/* Start while online changes nothing. */
	fsm_event(&inst, EV_START);
	assert_int_equal(inst.state, INST_ONLINE);
	assert_int_equal(fake.spawns, 1);
}

static void
test_fsm_graceful_stop(void **state)
{
	uint64_t due = 0;

	(void)state;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	assert_int_equal(inst.state, INST_STOPPING);
	assert_int_equal(fake.kills, 1);
	assert_int_equal(fake.last_kill, SIGTERM);
	assert_true(timer_armed(&due));
	assert_true(due <= 5000 && due > 4000);
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_false(timer_armed(&due));
	assert_int_equal(fake.group_kills, 0);
	assert_int_equal(fake.spawns, 1);       /* a stop is not restarted */
	assert_non_null(strstr(inst.reason, "SIGTERM"));
}

static void
test_fsm_kill_signal_and_timeout(void **state)
{
	uint64_t due = 0;

	(void)state;
	app.cfg.kill_signal = SIGINT;
	app.cfg.kill_timeout = 1500;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	assert_int_equal(fake.last_kill, SIGINT);
	assert_true(timer_armed(&due) && due <= 1500);
	/* A second stop while stopping does not send more signals. */
	fsm_event(&inst, EV_STOP);
	assert_int_equal(fake.kills, 1);
	/* The app ignores it: kill_timeout fires, SIGKILL to the group. */
	fsm_event(&inst, EV_TIMER);
	assert_int_equal(inst.state, INST_STOPPING);
	assert_int_equal(fake.group_kills, 1);
	assert_int_equal(fake.last_group_kill, SIGKILL);
	assert_non_null(strstr(inst.reason, "1500"));
	process_exits(0, SIGKILL);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_non_null(strstr(inst.reason, "killed"));
	assert_int_equal(fake.spawns, 1);
}

/* Processes sharing held sockets drain first; the signal comes after. */
static void
test_fsm_drain_then_signal(void **state)
{
	uint64_t due = 0;

	(void)state;
	fake.drains = 2;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	assert_int_equal(inst.state, INST_STOPPING);
	assert_int_equal(fake.drain_asks, 1);
	assert_int_equal(fake.kills, 0);
	assert_true(timer_armed(&due) && due <= 5000);
	fsm_event(&inst, EV_DRAINED);
	assert_int_equal(fake.kills, 1);
	assert_int_equal(fake.last_kill, SIGTERM);
	assert_false(inst.draining);
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STOPPED);

	/* A drain that does not end: the signal at drain_timeout, then
	 * SIGKILL at kill_timeout. */
	app.cfg.drain_timeout = 300;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	assert_true(timer_armed(&due) && due <= 300);
	fsm_event(&inst, EV_TIMER);
	assert_int_equal(fake.kills, 2);
	assert_int_equal(fake.group_kills, 0);
	fsm_event(&inst, EV_DRAINED);           /* late: changes nothing */
	assert_int_equal(fake.kills, 2);
	fsm_event(&inst, EV_TIMER);
	assert_int_equal(fake.group_kills, 1);
	process_exits(0, SIGKILL);
	assert_int_equal(inst.state, INST_STOPPED);
}

/* shutdown_with_message: 'shutdown' instead of the signal (PM2). */
static void
test_fsm_shutdown_message(void **state)
{
	(void)state;
	app.cfg.shutdown_with_message = 1;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	assert_int_equal(fake.messages, 1);
	assert_int_equal(fake.kills, 0);
	process_exits(0, 0);
	assert_int_equal(inst.state, INST_STOPPED);
}

static void
test_fsm_restart(void **state)
{
	(void)state;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_RESTART);
	assert_int_equal(inst.state, INST_STOPPING);
	assert_int_equal(fake.last_kill, SIGTERM);
	process_exits(0, SIGTERM);
	assert_comes_online();
	assert_int_equal(fake.spawns, 2);
	assert_int_equal(inst.pid, 102);
	assert_int_equal(inst.restarts, 1);
	/* Restart of a stopped instance starts it. */
	fsm_event(&inst, EV_STOP);
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STOPPED);
	fsm_event(&inst, EV_RESTART);
	assert_comes_online();
	assert_int_equal(fake.spawns, 3);
}

static void
test_fsm_start_while_stopping(void **state)
{
	(void)state;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	fsm_event(&inst, EV_START);     /* comes back once stopped */
	assert_int_equal(inst.state, INST_STOPPING);
	process_exits(0, SIGTERM);
	assert_comes_online();
	assert_int_equal(fake.spawns, 2);
	/* stop, start, stop: the last word wins. */
	fsm_event(&inst, EV_STOP);
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_STOP);
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_int_equal(fake.spawns, 2);
}

static void
test_fsm_crash_restarts_at_once(void **state)
{
	uint64_t due = 0;

	(void)state;
	fsm_event(&inst, EV_START);
	fake.now += 60000;
	process_exits(3, 0);
	assert_comes_online();
	assert_int_equal(fake.spawns, 2);
	assert_int_equal(inst.restarts, 1);
	assert_false(timer_armed(&due));
	assert_non_null(strstr(inst.reason, "3"));
	fake.now += 60000;
	process_exits(0, SIGSEGV);
	assert_int_equal(inst.restarts, 2);
	assert_comes_online();
	assert_int_equal(inst.unstable_restarts, 0);
}

static void
test_fsm_restart_delay_waits(void **state)
{
	uint64_t due = 0;

	(void)state;
	app.cfg.restart_delay = 2000;
	fsm_event(&inst, EV_START);
	fake.now += 60000;
	process_exits(1, 0);
	assert_int_equal(inst.state, INST_WAITING);
	assert_true(timer_armed(&due) && due <= 2000 && due > 1000);
	assert_int_equal(fake.spawns, 1);
	fsm_event(&inst, EV_TIMER);
	assert_comes_online();
	assert_int_equal(fake.spawns, 2);
	/* A stop during the wait cancels the restart. */
	fake.now += 60000;
	process_exits(1, 0);
	assert_int_equal(inst.state, INST_WAITING);
	fsm_event(&inst, EV_STOP);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_false(timer_armed(&due));
	assert_int_equal(fake.spawns, 2);
	assert_int_equal(fake.kills, 0);        /* nothing ran to be killed */
}

static void
test_fsm_crash_loop_errored(void **state)
{
	uint64_t due = 0;

	(void)state;
	app.cfg.max_restarts = 3;
	fsm_event(&inst, EV_START);
	for (int i = 0; i < 3; i++) {
		fake.now += 10;
		process_exits(1, 0);
		assert_comes_online();
	}
	fake.now += 10;
	process_exits(1, 0);
	assert_int_equal(inst.state, INST_ERRORED);
	assert_int_equal(fake.spawns, 4);
	assert_false(timer_armed(&due));
	assert_int_equal(inst.exit_code, 1);
	assert_true(inst.reason[0] != '\0');
	/* Errored stays errored: no event but a user's revives it. */
	fsm_event(&inst, EV_TIMER);
	fsm_event(&inst, EV_EXIT);
	assert_int_equal(inst.state, INST_ERRORED);
	fsm_event(&inst, EV_START);
	assert_comes_online();
	assert_int_equal(inst.unstable_restarts, 0);
	assert_int_equal(fake.spawns, 5);
}

static void
test_fsm_autorestart_never(void **state)
{
	(void)state;
	app.cfg.autorestart = APP_RESTART_NEVER;
	fsm_event(&inst, EV_START);
	fake.now += 60000;
	process_exits(0, 0);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_int_equal(fake.spawns, 1);
	assert_non_null(strstr(inst.reason, "0"));
}

static void
test_fsm_spawn_failure_is_bounded(void **state)
{
	(void)state;
	/* A script removed after start: every spawn fails.  Even with
	 * min_uptime 0 this must end (errored or waiting), not recurse. */
	app.cfg.min_uptime = 0;
	app.cfg.max_restarts = 5;
	fake.spawn_fails = 1000;
	fsm_event(&inst, EV_START);
	/* No respawn from inside the failed spawn: the next try waits for
	 * the loop (a timer), so the daemon keeps serving in between. */
	assert_int_equal(fake.spawns, 1);
	assert_int_equal(inst.state, INST_WAITING);
	for (int i = 0; i < 100 && inst.state == INST_WAITING; i++)
		fsm_event(&inst, EV_TIMER);
	assert_int_equal(inst.state, INST_ERRORED);
	assert_int_equal(fake.spawns, 6);
	assert_non_null(strstr(inst.reason, "no such file"));
}

static void
test_fsm_spawn_failure_errored(void **state)
{
	(void)state;
	app.cfg.max_restarts = 2;
	fake.spawn_fails = 1000;
	fsm_event(&inst, EV_START);
	for (int i = 0; i < 100 && inst.state == INST_WAITING; i++)
		fsm_event(&inst, EV_TIMER);
	assert_int_equal(inst.state, INST_ERRORED);
	assert_int_equal(fake.spawns, 3);
	assert_int_equal(inst.exit_code, 127);
}

static void
test_fsm_delete_frees_once_stopped(void **state)
{
	(void)state;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_DELETE);
	assert_int_equal(fake.frees, 0);
	fsm_event(&inst, EV_START);     /* a start cannot revive it */
	process_exits(0, SIGTERM);
	assert_int_equal(fake.frees, 1);
	assert_int_equal(fake.spawns, 1);
}

static void
test_fsm_shutdown_does_not_respawn(void **state)
{
	(void)state;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_RESTART);
	D.shutting_down = 1;
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_int_equal(fake.spawns, 1);
}

/*
 * Once the daemon shuts down nothing spawns: not a start, nor the end of
 * a restart_delay armed before.
 */
static void
test_fsm_shutdown_spawns_nothing(void **state)
{
	(void)state;
	app.cfg.restart_delay = 300;
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_READY);
	fake.now += 5000;
	process_exits(1, 0);
	assert_int_equal(inst.state, INST_WAITING);
	D.shutting_down = 1;
	fsm_event(&inst, EV_TIMER);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_non_null(strstr(inst.reason, "the daemon is shutting down"));
	fsm_event(&inst, EV_START);
	fsm_event(&inst, EV_RESTART);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_int_equal(fake.spawns, 1);
}

/* Not ready in time: a failed start, stopped, then restarted by the policy. */
static void
test_fsm_not_ready(void **state)
{
	(void)state;
	fsm_event(&inst, EV_START);
	instance_set_reason(&inst, "not ready after 3s");
	fsm_event(&inst, EV_NOT_READY);
	assert_int_equal(inst.state, INST_STOPPING);
	assert_int_equal(fake.last_kill, SIGTERM);
	assert_int_equal(inst.start_failures, 1);
	assert_true(fsm_start_failed(&inst));
	fsm_event(&inst, EV_NOT_READY);         /* late: nothing more */
	assert_int_equal(inst.start_failures, 1);
	process_exits(0, SIGTERM);
	assert_int_equal(inst.state, INST_STARTING);
	assert_int_equal(fake.spawns, 2);
	assert_int_equal(inst.unstable_restarts, 1);
	assert_false(fsm_start_failed(&inst));
}

/* A delete of an instance that runs nothing frees it at once. */
static void
test_fsm_delete_errored(void **state)
{
	(void)state;
	app.cfg.max_restarts = 0;
	fake.spawn_fails = 1;
	fsm_event(&inst, EV_START);
	assert_int_equal(inst.state, INST_ERRORED);
	assert_true(fsm_start_failed(&inst));
	fsm_event(&inst, EV_DELETE);
	assert_int_equal(inst.state, INST_STOPPED);
	assert_true(fsm_deleting(&inst));
	assert_int_equal(fake.frees, 1);
}

static int hook_calls, hook_depth, hook_max_depth;

/* Feeds an event from inside the hook, as a reload does. */
static void
hook_feeds(void)
{
	hook_calls++;
	if (++hook_depth > hook_max_depth)
		hook_max_depth = hook_depth;
	if (inst.state == INST_STARTING)
		fsm_event(&inst, EV_READY);
	hook_depth--;
}

/* The hook runs after each event, never inside itself, until calm. */
static void
test_fsm_hook_not_reentered(void **state)
{
	(void)state;
	hook_calls = hook_depth = hook_max_depth = 0;
	fsm_set_hook(hook_feeds);
	fsm_event(&inst, EV_START);
	fsm_set_hook(NULL);
	assert_int_equal(inst.state, INST_ONLINE);
	assert_int_equal(hook_max_depth, 1);
	assert_int_equal(hook_calls, 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fsm_start_goes_online),
		T(test_fsm_graceful_stop),
		T(test_fsm_kill_signal_and_timeout),
		T(test_fsm_restart),
		T(test_fsm_start_while_stopping),
		T(test_fsm_crash_restarts_at_once),
		T(test_fsm_restart_delay_waits),
		T(test_fsm_crash_loop_errored),
		T(test_fsm_autorestart_never),
		T(test_fsm_spawn_failure_is_bounded),
		T(test_fsm_spawn_failure_errored),
		T(test_fsm_delete_frees_once_stopped),
		T(test_fsm_shutdown_does_not_respawn),
		T(test_fsm_shutdown_spawns_nothing),
		T(test_fsm_drain_then_signal),
		T(test_fsm_shutdown_message),
		T(test_fsm_not_ready),
		T(test_fsm_delete_errored),
		T(test_fsm_hook_not_reentered),
	};

	log_init("/dev/null", 0);       /* transitions are logged: keep quiet */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
