/* SPDX-License-Identifier: ISC */
/*
 * The limit keys of an app (max_memory, memory_high, cpu, max_pids): their
 * parsing from CLI words and config values, and their JSON in describe and
 * dump.json.  Sizes are bytes, cpu is a number of cores (0.5 = 50%).
 * Kept apart from the backends so that both `corral start --cpu 50%` and
 * `corral set api cpu 1.5` go through one parser.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cgroup.h"

#define CGROUP_CPU_MAX_MILLI (4096 * 1000)

/*
 * "50%" (of one core), "150%", "1.5" or "2" (cores), "0", "none" or "max"
 * (no quota) into thousandths of a core.
 */
int
cgroup_parse_cpu(const char *s, uint32_t *milli, char **cause)
{
	char	*end;
	double	 v;

	if (strcmp(s, "none") == 0 || strcmp(s, "max") == 0 ||
	    strcmp(s, "0") == 0) {
		*milli = 0;
		return 0;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !(v > 0 && v < 1e9) ||
	    (*end != '\0' && strcmp(end, "%") != 0))
		goto bad;
	if (*end == '%')
		v /= 100.0;
	if (v * 1000.0 < 1.0 || v * 1000.0 > CGROUP_CPU_MAX_MILLI)
		goto bad;
	*milli = (uint32_t)(v * 1000.0 + 0.5);
	return 0;
bad:
	xasprintf(cause, "invalid cpu '%s' (want a percentage of one core "
	    "such as 50%%, or cores such as 1.5)", s);
	return -1;
}

static int
cgroup_limits_size(const char *key, const char *value, uint64_t *out,
    char **cause)
{
	char	*why = NULL;

	if (strcmp(value, "none") == 0 || strcmp(value, "max") == 0 ||
	    strcmp(value, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (parse_size(value, out, &why) != 0) {
		xasprintf(cause, "invalid %s '%s': %s", key, value,
		    why != NULL ? why : "not a size");
		free(why);
		return -1;
	}
	return 0;
}

/*
 * Sets one limit from its text.  Returns 0, -1 with *cause for a bad
 * value, or 1 when key is not a limit key (the caller tries others).
 * Keys take the snake_case and the kebab-case spelling.
 */
int
cgroup_limits_set(struct cgroup_limits *lim, const char *key,
    const char *value, char **cause)
{
	long long	 n;
	char		*why = NULL;

	if (strcmp(key, "max_memory") == 0 || strcmp(key, "max-memory") == 0)
		return cgroup_limits_size("max_memory", value,
		    &lim->max_memory, cause);
	if (strcmp(key, "memory_high") == 0 ||
	    strcmp(key, "memory-high") == 0)
		return cgroup_limits_size("memory_high", value,
		    &lim->memory_high, cause);
	if (strcmp(key, "cpu") == 0)
		return cgroup_parse_cpu(value, &lim->cpu_milli, cause);
	if (strcmp(key, "max_pids") == 0 || strcmp(key, "max-pids") == 0) {
		if (strcmp(value, "none") == 0 || strcmp(value, "max") == 0) {
			lim->max_pids = 0;
			return 0;
		}
		if (parse_int(value, 0, 4194304, &n, &why) != 0) {
			xasprintf(cause, "invalid max_pids '%s': %s", value,
			    why != NULL ? why : "not a number");
			free(why);
			return -1;
		}
		lim->max_pids = (uint64_t)n;
		return 0;
	}
	return 1;
}

/* The limits as config keys; absent limits are left out. */
json_t *
cgroup_limits_json(const struct cgroup_limits *lim)
{
	json_t	*o = json_object();

	if (lim->max_memory != 0)
		json_object_set_new(o, "max_memory",
		    json_integer((json_int_t)lim->max_memory));
	if (lim->memory_high != 0)
		json_object_set_new(o, "memory_high",
		    json_integer((json_int_t)lim->memory_high));
	if (lim->cpu_milli != 0)
		json_object_set_new(o, "cpu",
		    json_real(lim->cpu_milli / 1000.0));
	if (lim->max_pids != 0)
		json_object_set_new(o, "max_pids",
		    json_integer((json_int_t)lim->max_pids));
	return o;
}

static int
cgroup_limits_json_one(struct cgroup_limits *lim, const char *key,
    json_t *v, char **cause)
{
	char	*text;
	int	 r;

	if (json_is_null(v))
		text = xstrdup("none");
	else if (json_is_string(v))
		text = xstrdup(json_string_value(v));
	else if (json_is_integer(v) && json_integer_value(v) >= 0)
		xasprintf(&text, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v) && strcmp(key, "cpu") == 0)
		xasprintf(&text, "%.3f", json_real_value(v));
	else {
		xasprintf(cause, "invalid %s: not a number or string", key);
		return -1;
	}
	r = cgroup_limits_set(lim, key, text, cause);
	free(text);
	return r;
}

/* Reads the limit keys present in a config object; others are ignored. */
int
cgroup_limits_from_json(struct cgroup_limits *lim, json_t *o, char **cause)
{
	static const char *keys[] = {
		"max_memory", "memory_high", "cpu", "max_pids",
	};
	size_t	 i;
	json_t	*v;

	for (i = 0; i < nitems(keys); i++) {
		if ((v = json_object_get(o, keys[i])) != NULL &&
		    cgroup_limits_json_one(lim, keys[i], v, cause) != 0)
			return -1;
	}
	return 0;
}
