/* SPDX-License-Identifier: ISC */
/*
 * The checks of a state file's text before anything uses it (state-load.c
 * reads it back): the version, every key of every instance with its type
 * and range, the environment indices, instance ids unique.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

#define STATE_ID_MAX (1 << 30)

/* The integer at key of o within [min, max] into *v; -1 with *why. */
static int
state_int(json_t *o, const char *key, long long min, long long max,
    long long *v, char **why)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < min ||
	    json_integer_value(j) > max) {
		xasprintf(why, "\"%s\" is not an integer from %lld to %lld",
		    key, min, max);
		return -1;
	}
	*v = json_integer_value(j);
	return 0;
}

int
state_state_name(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < INST_NSTATES; i++) {
		if (strcmp(app_state_name((enum inst_state)i), s) == 0)
			return i;
	}
	return -1;
}

/* The integer keys of an instance and their ranges. */
static const struct {
	const char *key;
	long long min, max;
} state_inst_ints[] = {
	{ "id", 0, STATE_ID_MAX }, { "index", 0, STATE_ID_MAX },
	{ "pid", 0, 1 << 30 }, { "last_pid", 0, 1 << 30 },
	{ "started_at", 0, INT64_MAX }, { "proc_start", 0, INT64_MAX },
	{ "generation", 0, INT64_MAX }, { "restarts", 0, INT64_MAX },
	{ "unstable_restarts", 0, INT64_MAX }, { "backoff", 0, INT64_MAX },
	{ "exit_code", -1, 255 }, { "exit_signal", 0, 128 },
	{ "start_failures", 0, INT64_MAX }, { "oom_kills", 0, INT64_MAX },
	{ "memory_restarts", 0, INT64_MAX },
};

/* Later than version 1's first files: may be missing (false). */
static const char *state_inst_flags[] = {
	"restart_pending", "not_ready", "keep_reason",
};

/* The flags of o that are there are booleans; -1 with *why. */
static int
state_check_flags(json_t *o, char **why)
{
	json_t *v;
	size_t i;

	for (i = 0; i < nitems(state_inst_flags); i++) {
		v = json_object_get(o, state_inst_flags[i]);
		if (v != NULL && !json_is_boolean(v)) {
			xasprintf(why, "\"%s\" is not true or false",
			    state_inst_flags[i]);
			return -1;
		}
	}
	return 0;
}

/* Checks one saved instance; -1 with *why. */
static int
state_check_inst(json_t *o, char **why)
{
	char name[PARSE_NAME_MAX + 1];
	unsigned long long gen;
	long long v;
	size_t i;
	int id;

	if (!json_is_object(o)) {
		*why = xstrdup("not an object");
		return -1;
	}
	for (i = 0; i < nitems(state_inst_ints); i++) {
		if (state_int(o, state_inst_ints[i].key, state_inst_ints[i].min,
		    state_inst_ints[i].max, &v, why) == -1)
			return -1;
	}
	/* Later than version 1's first files: may be missing (0). */
	if ((json_object_get(o, "wait_due") != NULL && state_int(o,
	    "wait_due", 0, INT64_MAX, &v, why) == -1) ||
	    state_check_flags(o, why) == -1)
		return -1;
	if (state_state_name(json_string_value(json_object_get(o,
	    "state"))) == -1 || !json_is_boolean(json_object_get(o,
	    "deleting")) || !json_is_boolean(json_object_get(o, "running")) ||
	    !json_is_boolean(json_object_get(o, "replacement")) ||
	    !json_is_string(json_object_get(o, "tag")) ||
	    !json_is_string(json_object_get(o, "reason"))) {
		*why = xstrdup("no valid \"state\", \"deleting\", \"running\", "
		    "\"replacement\", \"tag\" or \"reason\"");
		return -1;
	}
	if (instance_tag_parse(json_string_value(json_object_get(o, "tag")),
	    name, sizeof name, &id, &gen) == -1) {
		*why = xstrdup("\"tag\" is not NAME/ID/GENERATION");
		return -1;
	}
	return 0;
}

/* Checks one saved app and counts its instances into *n; -1 with *why. */
static int
state_check_app(json_t *a, size_t nenvs, size_t *n, char **why)
{
	json_t *insts = json_object_get(a, "instances"), *o;
	char *w = NULL;
	long long env;
	size_t i;

	if (!json_is_object(a) || !json_is_object(json_object_get(a,
	    "config")) || !json_is_string(json_object_get(json_object_get(a,
	    "config"), "name")) || !json_is_array(insts)) {
		*why = xstrdup("needs \"config\" with a \"name\", and "
		    "\"instances\"");
		return -1;
	}
	if (state_int(a, "env", 0, (long long)nenvs - 1, &env, why) == -1)
		return -1;
	json_array_foreach(insts, i, o) {
		if (state_check_inst(o, &w) == -1) {
			xasprintf(why, "instances[%zu]: %s", i, w);
			free(w);
			return -1;
		}
	}
	*n += json_array_size(insts);
	return 0;
}

static int
state_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Every instance id once; *next_id past them all. -1 with *why. */
static int
state_check_ids(json_t *root, size_t n, int *next_id, char **why)
{
	json_t *a, *o;
	int *ids = xcalloc(n + 1, sizeof *ids);
	size_t i, j, k = 0;

	json_array_foreach(json_object_get(root, "apps"), i, a) {
		json_array_foreach(json_object_get(a, "instances"), j, o)
			ids[k++] = (int)json_integer_value(json_object_get(o,
			    "id"));
	}
	qsort(ids, n, sizeof *ids, state_cmp_int);
	for (i = 1; i < n; i++) {
		if (ids[i] == ids[i - 1]) {
			xasprintf(why, "instance id %d saved twice", ids[i]);
			free(ids);
			return -1;
		}
	}
	if (n > 0 && ids[n - 1] >= *next_id)
		*next_id = ids[n - 1] + 1;
	free(ids);
	return 0;
}

/*
 * The whole of root: 0 with *next_id past every saved id and *ninst the
 * number of saved instances, or -1 with *why.
 */
int
state_check(json_t *root, int *next_id, size_t *ninst, char **why)
{
	json_t *envs = json_object_get(root, "envs"), *a, *e;
	char *w = NULL;
	long long v;
	size_t i, n = 0;

	if (!json_is_object(root) || !json_is_integer(json_object_get(root,
	    "version"))) {
		*why = xstrdup("not a corral state file (no \"version\")");
		return -1;
	}
	if (json_integer_value(json_object_get(root, "version")) !=
	    STATE_VERSION) {
		xasprintf(why, "version %lld, this corrald reads version %d",
		    (long long)json_integer_value(json_object_get(root,
		    "version")), STATE_VERSION);
		return -1;
	}
	if (state_int(root, "next_id", 0, STATE_ID_MAX, &v, why) == -1)
		return -1;
	*next_id = (int)v;
	if (!json_is_array(envs) || !json_is_array(json_object_get(root,
	    "apps"))) {
		*why = xstrdup("needs \"envs\" and \"apps\" arrays");
		return -1;
	}
	json_array_foreach(envs, i, e) {
		if (!json_is_object(e)) {
			xasprintf(why, "envs[%zu] is not an object", i);
			return -1;
		}
	}
	json_array_foreach(json_object_get(root, "apps"), i, a) {
		if (state_check_app(a, json_array_size(envs), &n, &w) == -1) {
			xasprintf(why, "apps[%zu]: %s", i, w);
			free(w);
			return -1;
		}
	}
	*ninst = n;
	return state_check_ids(root, n, next_id, why);
}

