/* SPDX-License-Identifier: ISC */
/*
 * Printing replies for people: the instance table of `ls`, the settings of
 * `describe`; and JSON for scripts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral.h"

#define PRINT_GREEN "\033[32m"
#define PRINT_RED "\033[31m"
#define PRINT_YELLOW "\033[33m"
#define PRINT_DIM "\033[2m"
#define PRINT_RESET "\033[0m"

static const char *
print_state_colour(const char *state)
{
	if (strcmp(state, "online") == 0)
		return PRINT_GREEN;
	if (strcmp(state, "errored") == 0)
		return PRINT_RED;
	if (strcmp(state, "stopped") == 0)
		return PRINT_DIM;
	return PRINT_YELLOW;
}

static int
print_int(json_t *o, const char *key)
{
	return (int)json_integer_value(json_object_get(o, key));
}

static const char *
print_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static int
print_jint(const struct jscan *js, size_t o, const char *key)
{
	return (int)jscan_int(js, jscan_get(js, o, key));
}

/* A member's string, decoded; "" when it is none.  The caller frees it. */
static char *
print_jstr(const struct jscan *js, size_t o, const char *key)
{
	return jscan_str(js, jscan_get(js, o, key));
}

/* Under the ls table: the instances whose liveness checks fail now. */
static void
print_health_notes(const struct jscan *js, size_t list)
{
	char *status, *name, *error;
	size_t o, h;

	for (o = jscan_first(js, list); o != 0; o = jscan_next(js, list, o)) {
		h = jscan_get(js, o, "health");
		status = print_jstr(js, h, "status");
		if (strcmp(status, "failing") == 0 ||
		    strcmp(status, "replacing") == 0) {
			name = print_jstr(js, o, "name");
			error = print_jstr(js, h, "last_error");
			printf("id %d (%s %d): health check %s (%d in a row, "
			    "replaced at %d): %s\n", print_jint(js, o, "id"),
			    name, print_jint(js, o, "instance"), status,
			    print_jint(js, h, "failures"),
			    print_jint(js, h, "threshold"), error);
			free(name);
			free(error);
		}
		free(status);
	}
}

/* One row of the ls table: instance object o, the name column namew wide. */
static void
print_row(const struct jscan *js, size_t o, int namew, int colour)
{
	char pid[16], up[16], cpu[16], mem[16];
	char *name = print_jstr(js, o, "name");
	char *state = print_jstr(js, o, "state");

	if (print_jint(js, o, "pid") > 0) {
		snprintf(pid, sizeof pid, "%d", print_jint(js, o, "pid"));
		format_duration((uint64_t)jscan_int(js, jscan_get(js, o,
		    "uptime_ms")), up, sizeof up);
		snprintf(cpu, sizeof cpu, "%.0f%%", jscan_real(js,
		    jscan_get(js, o, "cpu")));
		format_size((uint64_t)jscan_int(js, jscan_get(js, o,
		    "memory")), mem, sizeof mem);
	} else {
		strcpy(pid, "-");
		strcpy(up, "-");
		strcpy(cpu, "-");
		strcpy(mem, "-");
	}
	printf("%-4d %-*.*s %4d %8s %s%-15s%s %8d %7s %6s %9s\n",
	    print_jint(js, o, "id"), namew, namew, name,
	    print_jint(js, o, "instance"), pid,
	    colour ? print_state_colour(state) : "", state,
	    colour ? PRINT_RESET : "", print_jint(js, o, "restarts"), up,
	    cpu, mem);
	free(name);
	free(state);
}

/*
 * The ls table of the array of instance objects list (a token of js);
 * colour when stdout is a terminal.
 */
void
print_list(const struct jscan *js, size_t list, int colour)
{
	size_t o, namew = 4;
	char *name;

	for (o = jscan_first(js, list); o != 0; o = jscan_next(js, list, o)) {
		name = print_jstr(js, o, "name");
		if (strlen(name) > namew)
			namew = strlen(name);
		free(name);
	}
	if (namew > 32)
		namew = 32;
	printf("%-4s %-*s %4s %8s %-15s %8s %7s %6s %9s\n", "id", (int)namew,
	    "name", "inst", "pid", "state", "restarts", "uptime", "cpu", "memory");
	for (o = jscan_first(js, list); o != 0; o = jscan_next(js, list, o))
		print_row(js, o, (int)namew, colour);
	if (jscan_first(js, list) == 0)
		printf("(no apps: start one with 'corral start <script>')\n");
	print_health_notes(js, list);
}

static void
print_value(const char *key, json_t *v)
{
	char *s;

	if (json_is_string(v))
		printf("  %-26s %s\n", key, json_string_value(v));
	else if (json_is_null(v))
		printf("  %-26s -\n", key);
	else {
		s = jsonb_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("  %-26s %s\n", key, s != NULL ? s : "?");
		free(s);
	}
}

/* One limit of describe's cgroup object: "50.0M (using 12.0M)". */
static void
print_limit(const char *key, json_t *limit, json_t *used, int size)
{
	char	 a[32], b[32] = "?";

	if (json_is_real(limit))
		snprintf(a, sizeof a, "%.2f core(s)", json_real_value(limit));
	else if (json_is_integer(limit) && size)
		format_size((uint64_t)json_integer_value(limit), a, sizeof a);
	else if (json_is_integer(limit))
		snprintf(a, sizeof a, "%lld",
		    (long long)json_integer_value(limit));
	else
		snprintf(a, sizeof a, "none");
	if (json_is_integer(used) && size)
		format_size((uint64_t)json_integer_value(used), b, sizeof b);
	else if (json_is_integer(used))
		snprintf(b, sizeof b, "%lld",
		    (long long)json_integer_value(used));
	if (used != NULL)
		printf("    %-24s %s (using %s)\n", key, a, b);
	else
		printf("    %-24s %s\n", key, a);
}

/* The cgroup of an instance: where, which backend, limits against usage. */
static void
print_cgroup(json_t *cg)
{
	json_t	*lim = json_object_get(cg, "limits");
	json_t	*use = json_object_get(cg, "usage");
	json_t	*cpu = json_object_get(use, "cpu_usec");

	printf("    %-24s %s %s\n", "cgroup", print_str(cg, "backend"),
	    json_is_string(json_object_get(cg, "path")) ?
	    print_str(cg, "path") : "(none: process group)");
	print_limit("max_memory", json_object_get(lim, "max_memory"),
	    json_object_get(use, "memory"), 1);
	print_limit("memory_high", json_object_get(lim, "memory_high"), NULL,
	    1);
	print_limit("cpu", json_object_get(lim, "cpu"), NULL, 0);
	if (json_is_integer(cpu))
		printf("    %-24s %.2fs\n", "cpu time",
		    (double)json_integer_value(cpu) / 1e6);
	print_limit("max_pids", json_object_get(lim, "max_pids"),
	    json_object_get(use, "pids"), 0);
	printf("    %-24s %lld\n", "oom_kills",
	    (long long)json_integer_value(json_object_get(cg, "oom_kills")));
}

void
print_describe(json_t *data)
{
	json_t *item, *cfg, *insts, *o, *v;
	const char *key;
	size_t i, j;

	json_array_foreach(data, i, item) {
		cfg = json_object_get(item, "app");
		insts = json_object_get(item, "instances");
		printf("%s%s\n", i > 0 ? "\n" : "", print_str(cfg, "name"));
		json_object_foreach(cfg, key, v) {
			if (strcmp(key, "env") == 0 && json_object_size(v) == 0)
				continue;
			print_value(key, v);
		}
		json_array_foreach(insts, j, o) {
			printf("\n  instance %d (id %d): %s, pid %d, %d restart(s)\n",
			    print_int(o, "instance"), print_int(o, "id"),
			    print_str(o, "state"), print_int(o, "pid"),
			    print_int(o, "restarts"));
			if (*print_str(o, "reason") != '\0')
				printf("    last reason: %s\n", print_str(o, "reason"));
			json_object_foreach(o, key, v) {
				if (strcmp(key, "cgroup") == 0)
					print_cgroup(v);
				else if (strcmp(key, "name") != 0)
					print_value(key, v);
			}
		}
	}
}

void
print_json(json_t *data)
{
	char *s = jsonb_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* data as indented JSON (prettylist). */
void
print_json_pretty(json_t *data)
{
	char *s = json_dumps(data, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}
