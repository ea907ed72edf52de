/* SPDX-License-Identifier: ISC */
/*
 * The option parser the daemon runs over a command's argv, driven by the
 * command's table of struct args_opt. GNU style: options and positional
 * words may mix, "--name=v" and "--name v", "-i4" and "-i 4", "--" ends the
 * options. A word that looks like a negative number is positional, so
 * "scale api -1" works. An option with an optional value (--watch [PATHS])
 * takes the next word unless it starts with '-', as PM2's parser does.
 */
#include <ctype.h>
#include <string.h>

#include "common.h"

static const struct args_opt *
args_find_long(const struct args_opt *table, const char *name, size_t len)
{
	for (; table != NULL && table->name != NULL; table++) {
		if (strlen(table->name) == len &&
		    strncmp(table->name, name, len) == 0)
			return table;
	}
	return NULL;
}

static const struct args_opt *
args_find_short(const struct args_opt *table, char c)
{
	for (; table != NULL && table->name != NULL; table++) {
		if (table->short_name == c)
			return table;
	}
	return NULL;
}

static void
args_store(struct args *a, const struct args_opt *o, const char *value)
{
	json_t *list;

	switch (o->kind) {
	case ARGS_FLAG:
		json_object_set_new(a->opts, o->name, json_true());
		break;
	case ARGS_VALUE:
		json_object_set_new(a->opts, o->name, json_string(value));
		break;
	case ARGS_OPTIONAL:
		json_object_set_new(a->opts, o->name, value != NULL ?
		    json_string(value) : json_true());
		break;
	default:
		list = json_object_get(a->opts, o->name);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(a->opts, o->name, list);
		}
		json_array_append_new(list, json_string(value));
		break;
	}
}

static int
args_is_number(const char *w)
{
	return w[0] == '-' && isdigit((unsigned char)w[1]);
}

/* Takes the value of option o from "=v", the rest of a short word or the next word. */
static int
args_value(const struct args_opt *o, const char *inline_value, json_t *argv,
    size_t *i, const char **value, char **cause)
{
	if (o->kind == ARGS_FLAG) {
		if (inline_value != NULL) {
			xasprintf(cause, "option --%s takes no value", o->name);
			return -1;
		}
		*value = NULL;
		return 0;
	}
	if (inline_value != NULL) {
		*value = inline_value;
		return 0;
	}
	if (o->kind == ARGS_OPTIONAL) {
		*value = json_string_value(json_array_get(argv, *i + 1));
		if (*value != NULL && (*value)[0] != '-')
			++*i;
		else
			*value = NULL;
		return 0;
	}
	if (*i + 1 >= json_array_size(argv)) {
		xasprintf(cause, "option --%s needs a value", o->name);
		return -1;
	}
	*value = json_string_value(json_array_get(argv, ++*i));
	if (*value == NULL) {
		xasprintf(cause, "option --%s needs a value", o->name);
		return -1;
	}
	return 0;
}

static int
args_word(const struct args_opt *table, struct args *a, json_t *argv,
    size_t *i, const char *w, char **cause)
{
	const struct args_opt *o;
	const char *eq, *value;

	if (w[1] == '-') {
		eq = strchr(w + 2, '=');
		o = args_find_long(table, w + 2,
		    eq != NULL ? (size_t)(eq - w - 2) : strlen(w + 2));
		if (o == NULL) {
			xasprintf(cause, "unknown option '%.*s'",
			    eq != NULL ? (int)(eq - w) : (int)strlen(w), w);
			return -1;
		}
		if (args_value(o, eq != NULL ? eq + 1 : NULL, argv, i, &value,
		    cause) == -1)
			return -1;
	} else {
		o = args_find_short(table, w[1]);
		if (o == NULL) {
			xasprintf(cause, "unknown option '-%c'", w[1]);
			return -1;
		}
		if (o->kind == ARGS_FLAG && w[2] != '\0') {
			xasprintf(cause, "unknown option '%s'", w);
			return -1;
		}
		if (args_value(o, w[2] != '\0' ? w + 2 : NULL, argv, i, &value,
		    cause) == -1)
			return -1;
	}
	args_store(a, o, value);
	return 0;
}

/*
 * Fills *a from the JSON array argv; on error returns -1 with *cause set and
 * *a empty. The caller frees *a with args_free() either way.
 */
int
args_parse(const struct args_opt *table, json_t *argv, struct args *a,
    char **cause)
{
	size_t i;
	const char *w;
	int rest = 0;

	a->opts = json_object();
	a->pos = json_array();
	a->rest = json_array();
	if (argv != NULL && !json_is_array(argv)) {
		*cause = xstrdup("argv must be an array of strings");
		return -1;
	}
	for (i = 0; argv != NULL && i < json_array_size(argv); i++) {
		w = json_string_value(json_array_get(argv, i));
		if (w == NULL) {
			*cause = xstrdup("argv must be an array of strings");
			return -1;
		}
		if (rest) {
			json_array_append_new(a->rest, json_string(w));
		} else if (strcmp(w, "--") == 0) {
			rest = 1;
		} else if (w[0] != '-' || w[1] == '\0' || args_is_number(w)) {
			json_array_append_new(a->pos, json_string(w));
		} else if (args_word(table, a, argv, &i, w, cause) == -1) {
			return -1;
		}
	}
	return 0;
}

void
args_free(struct args *a)
{
	json_decref(a->opts);
	json_decref(a->pos);
	json_decref(a->rest);
	memset(a, 0, sizeof *a);
}

/* The value of a valued option, or NULL when absent. */
const char *
args_get(const struct args *a, const char *name)
{
	return json_string_value(json_object_get(a->opts, name));
}

int
args_has(const struct args *a, const char *name)
{
	return json_object_get(a->opts, name) != NULL;
}

size_t
args_npos(const struct args *a)
{
	return json_array_size(a->pos);
}

const char *
args_pos(const struct args *a, size_t i)
{
	return json_string_value(json_array_get(a->pos, i));
}
