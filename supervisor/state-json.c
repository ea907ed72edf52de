/* SPDX-License-Identifier: ISC */
/*
 * What state.json holds, made as text from the daemon's objects (each
 * app's configuration kept as text until state_changed()): the format
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
 * engine stops their processes rather than keep them. A stop under way
 * says what it goes on to ("restart_pending", "not_ready": a restart, or
 * the restart policy after a failed start) and whether its cause set
 * the reason ("keep_reason"), so that the next engine finishes it as
 * this one would have.
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

/* The rest of an instance: its counters and its last exit. */
static void
state_inst_counters(struct state_text *t, struct instance *inst)
{
	state_text_key(t, "restarts", 0);
	state_text_int(t, (json_int_t)inst->restarts);
	state_text_key(t, "unstable_restarts", 0);
	state_text_int(t, (json_int_t)inst->unstable_restarts);
	state_text_key(t, "backoff", 0);
	state_text_int(t, (json_int_t)inst->backoff);
	state_text_key(t, "exit_code", 0);
	state_text_int(t, inst->exit_code);
	state_text_key(t, "exit_signal", 0);
	state_text_int(t, inst->exit_signal);
	state_text_key(t, "reason", 0);
	state_text_str(t, inst->reason);
	state_text_key(t, "start_failures", 0);
	state_text_int(t, (json_int_t)inst->start_failures);
	state_text_key(t, "oom_kills", 0);
	state_text_int(t, (json_int_t)inst->oom_kills);
	state_text_key(t, "memory_restarts", 0);
	state_text_int(t, (json_int_t)inst->memory_restarts);
	state_text_key(t, "wait_due", 0);
	state_text_int(t, (json_int_t)(inst->state == INST_WAITING ?
	    inst->timer_due : 0));
}

/* What a stop under way goes on to (fsm_pending()), and its reason. */
static void
state_inst_stop(struct state_text *t, struct instance *inst)
{
	int pend = fsm_pending(inst);

	state_text_key(t, "restart_pending", 0);
	state_text_bool(t, (pend & FSM_PEND_RESTART) != 0);
	state_text_key(t, "not_ready", 0);
	state_text_bool(t, (pend & FSM_PEND_NOT_READY) != 0);
	state_text_key(t, "keep_reason", 0);
	state_text_bool(t, inst->state == INST_STOPPING && inst->keep_reason);
}

/* One instance; state-load.c reads the same keys back. */
static void
state_inst_text(struct state_text *t, struct instance *inst)
{
	char tag[STATE_TAG_MAX];
	int running = inst->child != NULL;

	state_text_key(t, "id", 1);
	state_text_int(t, inst->id);
	state_text_key(t, "index", 0);
	state_text_int(t, inst->index);
	state_text_key(t, "state", 0);
	state_text_str(t, app_state_name(inst->state));
	state_text_key(t, "deleting", 0);
	state_text_bool(t, fsm_deleting(inst));
	state_text_key(t, "replacement", 0);
	state_text_bool(t, inst->replacement);
	state_text_key(t, "running", 0);
	state_text_bool(t, running);
	state_text_key(t, "pid", 0);
	state_text_int(t, running ? inst->pid : 0);
	state_text_key(t, "last_pid", 0);
	state_text_int(t, inst->pid);
	state_text_key(t, "started_at", 0);
	state_text_int(t, (json_int_t)inst->started_at);
	state_text_key(t, "proc_start", 0);
	state_text_int(t, (json_int_t)state_inst_start(inst));
	state_text_key(t, "generation", 0);
	state_text_int(t, (json_int_t)inst->generation);
	state_text_key(t, "tag", 0);
	state_text_str(t, instance_tag(inst, tag, sizeof tag));
	state_inst_stop(t, inst);
	state_inst_counters(t, inst);
}

/*
 * Bumped by state_changed(): every app's configuration is made into text
 * again at the next write. The fsm hook's state_instances_changed() does
 * not bump it, so that a burst of exits does not serialise every app's
 * configuration again at each write.
 */
static unsigned long state_cfg_epoch = 1;

void
state_configs_changed(void)
{
	state_cfg_epoch++;
}

/*
 * One app as persist_app_json() makes it: its configuration's text, kept
 * from one write to the next until state_changed(), then "state" and
 * "source", which change without a change of the configuration.
 */
static void
state_app_config(struct state_text *t, struct app *app)
{
	json_t *o;
	size_t len;

	if (app->state_cfg == NULL || app->state_cfg_epoch != state_cfg_epoch) {
		free(app->state_cfg);
		o = appcfg_to_json(&app->cfg);
		app->state_cfg = jsonb_dumps(o, JSON_COMPACT |
		    JSON_PRESERVE_ORDER);
		json_decref(o);
		if (app->state_cfg == NULL)     /* not an object: never */
			app->state_cfg = xstrdup("{}");
		app->state_cfg_epoch = state_cfg_epoch;
	}
	len = strlen(app->state_cfg) - 1;       /* without its '}' */
	state_text_mem(t, app->state_cfg, len);
	state_text_key(t, "state", len == 1);
	state_text_str(t, persist_app_running(app) ? "running" : "stopped");
	if (app->source != NULL) {
		state_text_key(t, "source", 0);
		state_text_str(t, app->source);
	}
	state_text_mem(t, "}", 1);
}

/* One app: its dump.json entry, its environment's index, its instances. */
static void
state_app_text(struct state_text *t, struct app *app, size_t env)
{
	struct instance *inst;
	int first = 1;

	state_text_key(t, "config", 1);
	state_app_config(t, app);
	state_text_key(t, "env", 0);
	state_text_int(t, (json_int_t)env);
	state_text_key(t, "instances", 0);
	state_text_mem(t, "[", 1);
	TAILQ_FOREACH(inst, &app->instances, entry) {
		state_text_add(t, first ? "{" : ",{");
		state_inst_text(t, inst);
		state_text_mem(t, "}", 1);
		first = 0;
	}
	state_text_mem(t, "]", 1);
}

/*
 * The environments the apps start with, into t as a JSON array, and each
 * app's index in it into idx (one per app not deleted, in order).
 * Consecutive apps with one environment (started by one request, or from
 * one shell) save it once; restored, they share it, as the apps of a
 * request do.
 */
static void
state_envs_text(struct state_text *t, size_t *idx)
{
	json_t *last = NULL, *empty = json_object();
	struct app *app;
	size_t n = 0, k = 0;

	state_text_mem(t, "[", 1);
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		if (n == 0 || (app->cfg.env != last &&
		    !json_equal(app->cfg.env, last))) {
			last = app->cfg.env;
			if (n++ > 0)
				state_text_mem(t, ",", 1);
			state_text_json(t, last != NULL ? last : empty);
		}
		idx[k++] = n - 1;
	}
	state_text_mem(t, "]", 1);
	json_decref(empty);
}

/*
 * The whole state as the text of state.json, a newline at its end (the
 * caller frees it; *len its length). Strings may hold any bytes: they are
 * escaped as jsonb_dumps() escapes them.
 */
char *
state_render(size_t *len)
{
	static size_t last;             /* the last text's length */
	struct state_text t = { NULL, 0, 0 };
	struct app *app;
	size_t napps = 0, *idx, k = 0;

	TAILQ_FOREACH(app, &D.apps, entry)
		napps++;
	/* room for the text of the last write and some: one allocation */
	t.cap = last + last / 8 + 4096;
	t.p = xmalloc(t.cap);
	idx = xcalloc(napps + 1, sizeof *idx);
	state_text_mem(&t, "{", 1);
	state_text_key(&t, "version", 1);
	state_text_int(&t, STATE_VERSION);
	state_text_key(&t, "corral", 0);
	state_text_str(&t, CORRAL_VERSION);
	state_text_key(&t, "written_at", 0);
	state_text_int(&t, (json_int_t)now_ms());
	state_text_key(&t, "next_id", 0);
	state_text_int(&t, D.next_id);
	state_text_key(&t, "envs", 0);
	state_envs_text(&t, idx);
	state_text_key(&t, "apps", 0);
	state_text_mem(&t, "[", 1);
	TAILQ_FOREACH(app, &D.apps, entry) {
		if (app->deleted)
			continue;
		state_text_add(&t, k > 0 ? ",{" : "{");
		state_app_text(&t, app, idx[k++]);
		state_text_mem(&t, "}", 1);
	}
	state_text_add(&t, "]}\n");
	free(idx);
	last = *len = t.len;
	return t.p;
}
