/* SPDX-License-Identifier: ISC */
/*
 * App settings as JSON: from a value of dump.json, an ecosystem or JSON
 * config file, or a request (scalars go through the text parsers of
 * appcfg-text.c, arrays and objects are taken item by item), and the
 * declared settings as one object for describe and dump.json.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corrald.h"
#include "appcfg-private.h"

/* A list key from an array: each item (a string or an integer) added as
 * if written. */
static int
appcfg_set_list(struct app_config *c, const struct appcfg_key *k,
    const char *key, json_t *v, char **cause)
{
	json_t **field = (json_t **)((char *)c + k->offset), *item;
	char buf[64];
	const char *s;
	size_t i;

	json_array_clear(*field);
	json_array_foreach(v, i, item) {
		if (json_is_integer(item)) {
			snprintf(buf, sizeof buf, "%lld",
			    (long long)json_integer_value(item));
			s = buf;
		} else if ((s = json_string_value(item)) == NULL) {
			xasprintf(cause, "%s: wrong type", k->name);
			return -1;
		}
		if (appcfg_set_string(c, key, s, cause) == -1)
			return -1;
	}
	return 0;
}

/* A words key from an array of strings, taken as they are. */
static int
appcfg_set_words(struct app_config *c, const struct appcfg_key *k,
    json_t *v, char **cause)
{
	json_t **field = (json_t **)((char *)c + k->offset), *item;
	size_t i;

	json_array_clear(*field);
	json_array_foreach(v, i, item) {
		if (!json_is_string(item)) {
			xasprintf(cause, "%s: wrong type", k->name);
			return -1;
		}
		json_array_append(*field, item);
	}
	return 0;
}

/* args (an array) or env (an object), copied; a string is one more. */
static int
appcfg_set_whole(struct app_config *c, const struct appcfg_key *k,
    const char *key, json_t *v, char **cause)
{
	json_t **field = (json_t **)((char *)c + k->offset);

	if (json_is_string(v))
		return appcfg_set_string(c, key, json_string_value(v), cause);
	if ((k->type == CFG_ARGS && !json_is_array(v)) ||
	    (k->type == CFG_ENV && !json_is_object(v))) {
		xasprintf(cause, "%s: wrong type", k->name);
		return -1;
	}
	json_decref(*field);
	*field = json_deep_copy(v);
	return 0;
}

/* Exit codes from an array of integers. */
static int
appcfg_set_codes(struct app_config *c, const struct appcfg_key *k,
    const char *key, json_t *v, char **cause)
{
	json_t *item;
	char buf[64];
	size_t i;

	c->nstop_exit_codes = 0;
	json_array_foreach(v, i, item) {
		snprintf(buf, sizeof buf, "%lld",
		    (long long)json_integer_value(item));
		if (!json_is_integer(item) ||
		    appcfg_set_string(c, key, buf, cause) == -1) {
			if (*cause == NULL)
				xasprintf(cause, "%s: wrong type", k->name);
			return -1;
		}
	}
	return 0;
}

/* The text of the scalar v for key k (in buf if need be), or NULL. */
static const char *
appcfg_scalar(const struct appcfg_key *k, json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v) && k->type == CFG_LIMIT) {
		snprintf(buf, size, "%.3f", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return json_string_value(v);
}

/* Sets key from a JSON value (dump.json, ecosystem files, describe). */
int
appcfg_set(struct app_config *c, const char *key, json_t *v, char **cause)
{
	const struct appcfg_key *k = appcfg_find(key);
	char buf[64];
	const char *s;

	if (k == NULL) {
		xasprintf(cause, "unknown setting '%s'", key);
		return -1;
	}
	if (k->type == CFG_LIST && json_is_array(v))
		return appcfg_set_list(c, k, key, v, cause);
	if (k->type == CFG_WORDS && json_is_array(v))
		return appcfg_set_words(c, k, v, cause);
	if (k->type == CFG_ARGS || k->type == CFG_ENV)
		return appcfg_set_whole(c, k, key, v, cause);
	if (k->type == CFG_CODES && json_is_array(v))
		return appcfg_set_codes(c, k, key, v, cause);
	if ((s = appcfg_scalar(k, v, buf, sizeof buf)) == NULL) {
		xasprintf(cause, "%s: wrong type", k->name);
		return -1;
	}
	return appcfg_set_string(c, key, s, cause);
}

static json_t *
appcfg_key_json(const struct app_config *c, const struct appcfg_key *k)
{
	const void *field = (const char *)c + k->offset;
	static const char *restart[] = { "always", "on-failure", "never" };
	json_t *a;
	long long i;

	switch (k->type) {
	case CFG_STRING:
	case CFG_CRON:
	case CFG_WATCH:
		return *(char *const *)field != NULL ?
		    json_str(*(char *const *)field) : json_null();
	case CFG_ARGS:
	case CFG_ENV:
	case CFG_LIST:
	case CFG_WORDS:
		return json_deep_copy(*(json_t *const *)field);
	case CFG_BOOL:
	case CFG_FLAG:
		return json_boolean(*(const long long *)field);
	case CFG_AUTORESTART:
		return json_str(restart[*(const long long *)field]);
	case CFG_CODES:
		a = json_array();
		for (i = 0; i < c->nstop_exit_codes; i++)
			json_array_append_new(a, json_integer(c->stop_exit_codes[i]));
		return a;
	case CFG_SIGNAL:
		return json_str(signal_name((int)*(const long long *)field));
	case CFG_DURATION:
	case CFG_SIZE:
		return json_integer((json_int_t)*(const uint64_t *)field);
	case CFG_SCALE:
		if (c->scale_max == 0)
			return json_null();
		if (c->scale_max < 0)
			return json_sprintf("%lld..max", c->scale_min);
		return json_sprintf("%lld..%lld", c->scale_min, c->scale_max);
	case CFG_LIMIT:
		a = cgroup_limits_json(&c->limits);
		field = json_incref(json_object_get(a, k->name));
		json_decref(a);
		return field != NULL ? (json_t *)field : json_null();
	default:
		return json_integer(*(const long long *)field);
	}
}

/* The declared configuration as JSON; the client's environment is left out. */
json_t *
appcfg_to_json(const struct app_config *c)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < appcfg_nkeys; i++)
		json_object_set_new(o, appcfg_keys[i].name,
		    appcfg_key_json(c, &appcfg_keys[i]));
	return o;
}

int
appcfg_from_json(struct app_config *c, json_t *o, char **cause)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		*cause = xstrdup("app configuration must be an object");
		return -1;
	}
	json_object_foreach(o, key, v) {
		if (json_is_null(v))
			continue;
		if (appcfg_set(c, key, v, cause) == -1)
			return -1;
	}
	return 0;
}
