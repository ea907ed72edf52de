/* SPDX-License-Identifier: ISC */
/*
 * The first engine of a keeper, when the last keeper died with apps
 * running (kill -9 on purpose): the keeper found the last one's pid file
 * (a clean stop removes it) and says so in its HELLO, and the state
 * file, written in this boot, says instances ran. Those still alive (same pid, same start time) are
 * init's now, nobody reads their output or hears their exit: they are
 * stopped (their process group SIGTERMed, SIGKILLed after a short wait;
 * the cgroup sweep at start-up already killed what ran in cgroups), so
 * that nothing is left on a port and nothing runs twice. Then every app
 * is declared again and what ran starts again, with the reason in `ls`;
 * the first client's command says so and exits EXIT_RECOVERED.
 */
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "engine.h"

#define RECOVER_WAIT_MS 3000    /* for the orphans to stop on SIGTERM */
#define RECOVER_REASON "restarted: the keeper was lost"

/* The boot time, in seconds since the epoch (btime of /proc/stat), or 0. */
static long long
engine_boot_time(void)
{
	char line[256];
	long long t = 0;
	FILE *f;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	}
	fclose(f);
	return t;
}

/* Whether rec's process still runs: the same pid with the same start. */
static int
engine_orphan(const struct state_record *rec)
{
	return rec->pid > 0 && rec->proc_start != 0 &&
	    state_proc_start(rec->pid) == rec->proc_start;
}

/* Signals the orphans' process groups; returns how many still run. */
static size_t
engine_signal_orphans(const struct state_record *recs, size_t n, int sig)
{
	size_t i, alive = 0;

	for (i = 0; i < n; i++) {
		if (!engine_orphan(&recs[i]))
			continue;
		alive++;
		if (kill(-recs[i].pid, sig) == -1)
			(void)kill(recs[i].pid, sig);
	}
	return alive;
}

/* Stops every orphan: SIGTERM, then SIGKILL. Returns how many there were. */
static size_t
engine_stop_orphans(const struct state_record *recs, size_t n)
{
	size_t found;
	int waited;

	if ((found = engine_signal_orphans(recs, n, SIGTERM)) == 0)
		return 0;
	for (waited = 0; waited < RECOVER_WAIT_MS; waited += 20) {
		(void)poll(NULL, 0, 20);
		if (engine_signal_orphans(recs, n, 0) == 0)
			return found;
	}
	(void)engine_signal_orphans(recs, n, SIGKILL);
	return found;
}

/* Whether st was written in this boot and says instances ran. */
static int
engine_lost_keeper(const char *path, const struct state_record *recs,
    size_t n)
{
	struct stat sb;
	size_t i;

	/* the keeper found its predecessor's keeper.pid: it was killed */
	if (E.reason == NULL || stat(path, &sb) == -1 ||
	    (long long)sb.st_mtime < engine_boot_time())
		return 0;
	for (i = 0; i < n; i++) {
		if (recs[i].pid > 0)
			return 1;
	}
	return 0;
}

/* Starts again what ran or was being restarted; returns how many. */
static size_t
engine_restart_lost(const struct state_record *recs, size_t n)
{
	size_t i, started = 0;

	for (i = 0; i < n; i++) {
		if (recs[i].inst == NULL || (recs[i].state != INST_ONLINE &&
		    recs[i].state != INST_STARTING &&
		    recs[i].state != INST_WAITING &&
		    !(recs[i].pending & FSM_PEND_RESTART)))
			continue;
		instance_set_reason(recs[i].inst, RECOVER_REASON);
		fsm_event(recs[i].inst, EV_START);
		started++;
	}
	return started;
}

/*
 * A first engine: recovers from a lost keeper when the state file says
 * so; otherwise leaves the registry empty (a clean stop, or a reboot:
 * --resurrect brings the saved apps).
 */
void
engine_recover(void)
{
	struct state_record *recs;
	struct state *st;
	char *path = paths_file(D.home, STATE_FILE), *cause = NULL, *msg;
	size_t n, orphans, started;
	int apps;

	if ((st = state_load(path, &cause)) == NULL) {
		free(cause);
		free(path);
		return;
	}
	state_peek(st, &recs, &n);
	if (!engine_lost_keeper(path, recs, n)) {
		state_free(st);
		free(path);
		return;
	}
	free(path);
	orphans = engine_stop_orphans(recs, n);
	apps = state_restore(st, &recs, &n, &msg);
	started = engine_restart_lost(recs, n);
	xasprintf(&D.notice, "the keeper was lost: %zu process(es) left "
	    "running were stopped; %d app(s) declared again, %zu "
	    "instance(s) started again%s%s", orphans, apps, started,
	    msg != NULL ? "; " : "", msg != NULL ? msg : "");
	log_warnx("%s", D.notice);
	free(msg);
	state_free(st);
}
