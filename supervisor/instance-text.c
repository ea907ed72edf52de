/* SPDX-License-Identifier: ISC */
/*
 * An instance as the text of its JSON object in a list reply, written
 * directly: the reply to `stop all` and `ls` of 500 instances spent 5 ms
 * making 500 jansson objects, copying them to escape them and dumping
 * them, after the last instance had stopped (issue 16). The text is what
 * jsonb_dumps(instance_to_json(inst), INSTANCE_TEXT_FLAGS) writes, byte
 * for byte (test_state.c compares them): same keys in the same order,
 * numbers as jansson prints them, and any string that is not plain
 * printable ASCII, and the health object, through jsonb_dumps() itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/*
 * A finite real as jansson writes it with JSON_REAL_PRECISION(6): "%.6g",
 * ".0" added when that reads as an integer, the exponent without '+' and
 * leading zeros. The daemon never sets a locale: the point is '.'.
 */
static void
instance_text_real(struct state_text *t, double v)
{
	char buf[64], *e, *from, *to;
	int n;

	n = snprintf(buf, sizeof buf - 2, "%.6g", v);
	if (n < 0 || (size_t)n >= sizeof buf - 2) {
		state_text_add(t, "0.0");
		return;
	}
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL)
		memcpy(buf + n, ".0", 3);
	if ((e = strchr(buf, 'e')) != NULL) {
		to = e + 1;
		from = to + 1;
		if (*to == '-')
			to++;
		while (*from == '0')
			from++;
		memmove(to, from, strlen(from) + 1);
	}
	state_text_add(t, buf);
}

static void
instance_text_int(struct state_text *t, const char *key, long long v)
{
	state_text_key(t, key, 0);
	state_text_int(t, v);
}

/*
 * Appends inst's object; as instance_to_json(), samples a running
 * instance's usage first. Returns -1 (nothing appended) for what only
 * jansson can say (a usage that is not a finite number: its object
 * fails, and the reply says null).
 */
int
instance_text(struct state_text *t, struct instance *inst)
{
	int running = inst->child != NULL;
	uint64_t up = running ? mono_ms() - inst->started_mono : 0;
	json_t *health;

	if (running)
		stats_sample(inst);
	if (running && !isfinite(inst->cpu))
		return -1;
	state_text_add(t, "{\"id\":");
	state_text_int(t, inst->id);
	state_text_key(t, "name", 0);
	state_text_str_as(t, inst->app->cfg.name, INSTANCE_TEXT_FLAGS);
	instance_text_int(t, "instance", inst->index);
	instance_text_int(t, "pid", running ? inst->pid : 0);
	state_text_key(t, "state", 0);
	state_text_str_as(t, app_state_name(inst->state), INSTANCE_TEXT_FLAGS);
	instance_text_int(t, "restarts", inst->restarts);
	instance_text_int(t, "unstable_restarts", inst->unstable_restarts);
	instance_text_int(t, "uptime_ms", (long long)up);
	instance_text_int(t, "started_at", running ?
	    (long long)inst->started_at : 0);
	state_text_key(t, "cpu", 0);
	instance_text_real(t, running ? inst->cpu : 0.0);
	instance_text_int(t, "memory", running ? (long long)inst->memory : 0);
	state_text_key(t, "reason", 0);
	state_text_str_as(t, inst->reason, INSTANCE_TEXT_FLAGS);
	instance_text_int(t, "exit_code", inst->exit_code);
	instance_text_int(t, "exit_signal", inst->exit_signal);
	instance_text_int(t, "oom_kills", (long long)inst->oom_kills);
	if (running && inst->status[0] != '\0') {
		state_text_key(t, "status", 0);
		state_text_str_as(t, inst->status,
		    INSTANCE_TEXT_FLAGS);
	}
	if ((health = health_json(inst)) != NULL) {
		state_text_key(t, "health", 0);
		state_text_json_as(t, health, INSTANCE_TEXT_FLAGS);
		json_decref(health);
	}
	state_text_mem(t, "}", 1);
	return 0;
}
