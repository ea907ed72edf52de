/* SPDX-License-Identifier: ISC */
/*
 * What state.json holds, made from the daemon's objects: the format
 * version, D.next_id, the environments the apps start with (shared by the
 * apps of one request, saved once), each app as dump.json has it
 * (persist_app_json()) with the index of its environment, and each of its
 * instances with what a new engine needs to adopt it and to go on
 * counting (see state_inst_json()). Also the keeper tag of an instance
 * and the start time of a process, which tells a live pid from a reused
 * one, and the due time of a restart backoff ("wait_due": boot_ms(),
 * which no change of the wall clock moves; 0 when not waiting), so that
 * the next engine waits only what is left of it. Deleted apps are left out (their processes are on their way out);
 * instances being deleted are saved with "deleting" so that the next
 * engine stops their processes rather than keep them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corrald.h"

/*
 * The keeper tag of inst's current (or last) spawn into buf (size at least
 * STATE_TAG_MAX): "NAME/ID/GENERATION", where ID is the instance's id at
 * that spawn (a rolling reload gives a replacement the id of the instance
 * it replaced later: the tag keeps the one it was spawned under) and
 * GENERATION counts its spawns (instance_spawn() increments it before
 * each one). An app name has no '/' and at most PARSE_NAME_MAX bytes and
 * ids are never reused, so a tag is unique in this home across engines
 * and fits the keeper's 255 bytes. Returns buf.
 */
const char *
instance_tag(const struct instance *inst, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%d/%llu", inst->app->cfg.name,
	    inst->generation > 0 ? inst->tag_id : inst->id, inst->generation);
	return buf;
}

/*
 * Splits a tag of instance_tag() into the app's name (into name, size
 * bytes), the instance id and the generation. Returns 0, or -1 when tag
 * is not such a tag (a held socket's, or garbage).
 */
int
instance_tag_parse(const char *tag, char *name, size_t size, int *id,
    unsigned long long *gen)
{
	const char *slash1, *slash2 = strrchr(tag, '/');
	char *end;
	long long v;

	if (slash2 == NULL || slash2 == tag)
		return -1;
	for (slash1 = slash2 - 1; slash1 > tag && *slash1 != '/'; slash1--)
		;
	if (*slash1 != '/' || slash1 == tag ||
	    (size_t)(slash1 - tag) >= size || slash2 - slash1 < 2 ||
	    slash2[1] < '0' || slash2[1] > '9' ||
	    slash1[1] < '0' || slash1[1] > '9')
		return -1;
	errno = 0;
	v = strtoll(slash1 + 1, &end, 10);
	if (errno != 0 || end != slash2 || v < 0 || v > 1 << 30)
		return -1;
	*id = (int)v;
	*gen = strtoull(slash2 + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	memcpy(name, tag, (size_t)(slash1 - tag));
	name[slash1 - tag] = '\0';
	return 0;
}

/*
 * Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * after boot. A pid alive with the same value is the same process. 0 when
 * it cannot be read (the process is gone). /proc never blocks.
 */
uint64_t
state_proc_start(int pid)
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name (field 2) may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	errno = 0;
	return strtoull(p + 1, &end, 10);
}

/* The start time of inst's running process, read once per pid. */
static uint64_t
state_inst_start(struct instance *inst)
{
	if (inst->child == NULL)
		return 0;
	if (inst->proc_start_pid != inst->pid) {
		inst->proc_start = state_proc_start(inst->pid);
		inst->proc_start_pid = inst->pid;
	}
	return inst->proc_start;
}

/* One instance; state-load.c reads the same keys back. */
static json_t *
state_inst_json(struct instance *inst)
{
	char tag[STATE_TAG_MAX];
	int running = inst->child != NULL;
	json_t *o;

	o = json_pack("{s:i, s:i, s:s, s:b, s:b, s:b, s:i, s:i, s:I, s:I, s:I,"
	    " s:s, s:I, s:I, s:I, s:i, s:i, s:o, s:I, s:I, s:I, s:I}",
	    "id", inst->id,
	    "index", inst->index,
	    "state", app_state_name(inst->state),
	    "deleting", fsm_deleting(inst),
	    "replacement", inst->replacement,
	    "running", running,
	    "pid", running ? inst->pid : 0,
	    "last_pid", inst->pid,
	    "started_at", (json_int_t)inst->started_at,
	    "proc_start", (json_int_t)state_inst_start(inst),
	    "generation", (json_int_t)inst->generation,
	    "tag", instance_tag(inst, tag, sizeof tag),
	    "restarts", (json_int_t)inst->restarts,
	    "unstable_restarts", (json_int_t)inst->unstable_restarts,
	    "backoff", (json_int_t)inst->backoff,
	    "exit_code", inst->exit_code,
	    "exit_signal", inst->exit_signal,
	    "reason", json_str(inst->reason),
	    "start_failures", (json_int_t)inst->start_failures,
	    "oom_kills", (json_int_t)inst->oom_kills,
	    "memory_restarts", (json_int_t)inst->memory_restarts,
	    "wait_due", (json_int_t)(inst->state == INST_WAITING ?
	    inst->timer_due : 0));
	return o;
}

/* One app: its dump.json entry, its environment's index, its instances. */
static json_t *
state_app_json(struct app *app, size_t env)
{
	struct instance *inst;
	json_t *insts = json_array();

	TAILQ_FOREACH(inst, &app->instances, entry)
		json_array_append_new(insts, state_inst_json(inst));
	return json_pack("{s:o, s:I, s:o}", "config", persist_app_json(app),
	    "env", (json_int_t)env, "instances", insts);
}

/*
 * The whole state as JSON (a new reference; strings may hold any bytes:
 * encode it with jsonb_dumps()). Consecutive apps with one environment
 * (started by one request, or from one shell) save it once; restored,
 * they share it, as the apps of a request do.
 */
json_t *
state_json(void)
{
	json_t *apps = json_array(), *envs = json_array(), *last = NULL;
	struct app *app;

	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		if (json_array_size(envs) == 0 || (app->cfg.env != last &&
		    !json_equal(app->cfg.env, last))) {
			last = app->cfg.env;
			json_array_append_new(envs, last != NULL ?
			    json_incref(last) : json_object());
		}
		json_array_append_new(apps, state_app_json(app,
		    json_array_size(envs) - 1));
	}
	return json_pack("{s:i, s:s, s:I, s:i, s:o, s:o}",
	    "version", STATE_VERSION,
	    "corral", CORRAL_VERSION,
	    "written_at", (json_int_t)now_ms(),
	    "next_id", D.next_id,
	    "envs", envs,
	    "apps", apps);
}
