/* SPDX-License-Identifier: ISC */
/*
 * JSON values that carry any bytes.  Inside the daemon and the client a
 * JSON string may hold bytes that are not UTF-8 (a path, an argument, an
 * environment value, a line an app printed): json_str() makes such
 * strings without jansson's check.  What leaves a process as JSON text (a
 * protocol line, dump.json) goes through jsonb_escape(), which writes
 * every invalid byte as utf8_escape() does, so that the text is valid and
 * nothing is dropped; what comes in goes through jsonb_unescape(), which
 * gives the bytes back.  Object keys are treated like strings.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* A string of any bytes but NUL; NULL for NULL. */
json_t *
json_str(const char *s)
{
	return s == NULL ? NULL : json_string_nocheck(s);
}

json_t *
json_strn(const char *s, size_t len)
{
	return s == NULL ? NULL : json_stringn_nocheck(s, len);
}

static json_t *jsonb_escape_object(json_t *);
static json_t *jsonb_escape_array(json_t *);

static char *
jsonb_escaped_key(const char *key)
{
	size_t	 len = strlen(key), n;

	if (utf8_clean(key, len))
		return NULL;
	return utf8_escape(key, len, &n);
}

/*
 * Returns a new reference to v when all its strings and keys are valid
 * UTF-8 that needs no escape, else a new value with them escaped.  v
 * itself is never changed: it may be part of the daemon's state.
 */
json_t *
jsonb_escape(json_t *v)
{
	const char	*s;
	char		*e;
	size_t		 len, n;
	json_t		*r;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		len = json_string_length(v);
		if (utf8_clean(s, len))
			return json_incref(v);
		e = utf8_escape(s, len, &n);
		r = json_stringn_nocheck(e, n);
		free(e);
		return r;
	case JSON_OBJECT:
		return jsonb_escape_object(v);
	case JSON_ARRAY:
		return jsonb_escape_array(v);
	default:
		return json_incref(v);
	}
}

static json_t *
jsonb_escape_array(json_t *v)
{
	json_t	*r = NULL, *e;
	size_t	 i, j;

	for (i = 0; i < json_array_size(v); i++) {
		e = jsonb_escape(json_array_get(v, i));
		if (r == NULL && e != json_array_get(v, i)) {
			r = json_array();
			for (j = 0; j < i; j++)
				json_array_append(r, json_array_get(v, j));
		}
		if (r != NULL)
			json_array_append(r, e);
		json_decref(e);
	}
	return r != NULL ? r : json_incref(v);
}

static json_t *
jsonb_escape_object(json_t *v)
{
	json_t		*r = NULL, *e, *w;
	const char	*key, *k2;
	char		*ekey;

	json_object_foreach(v, key, w) {
		e = jsonb_escape(w);
		ekey = jsonb_escaped_key(key);
		if (r == NULL && (e != w || ekey != NULL)) {
			r = json_object();
			json_object_foreach(v, k2, w) {
				if (k2 == key)
					break;
				json_object_set_nocheck(r, k2, w);
			}
		}
		if (r != NULL)
			json_object_set_nocheck(r, ekey != NULL ? ekey : key, e);
		json_decref(e);
		free(ekey);
	}
	return r != NULL ? r : json_incref(v);
}

/* json_dumps() of v with its bytes escaped: for any JSON text we print. */
char *
jsonb_dumps(json_t *v, size_t flags)
{
	json_t	*clean = jsonb_escape(v);
	char	*s;

	s = json_dumps(clean, flags);
	json_decref(clean);
	return s;
}

static void jsonb_unescape_object(json_t *);

/* Gives back, in place, the bytes jsonb_escape() escaped in v. */
void
jsonb_unescape(json_t *v)
{
	const char	*s;
	char		*u;
	size_t		 i, len, n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		len = json_string_length(v);
		if (!utf8_has_escape(s, len))
			return;
		u = utf8_unescape(s, len, &n);
		json_string_setn_nocheck(v, u, n);
		free(u);
		return;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++)
			jsonb_unescape(json_array_get(v, i));
		return;
	case JSON_OBJECT:
		jsonb_unescape_object(v);
		return;
	default:
		return;
	}
}

static void
jsonb_unescape_object(json_t *v)
{
	const char	*key;
	json_t		*w, *moved = NULL;
	void		*tmp;
	char		*u;
	size_t		 n;

	json_object_foreach_safe(v, tmp, key, w) {
		jsonb_unescape(w);
		if (!utf8_has_escape(key, strlen(key)))
			continue;
		if (moved == NULL)
			moved = json_object();
		u = utf8_unescape(key, strlen(key), &n);
		json_object_set_nocheck(moved, u, w);
		free(u);
		json_object_del(v, key);
	}
	if (moved != NULL) {
		json_object_foreach(moved, key, w)
			json_object_set_nocheck(v, key, w);
		json_decref(moved);
	}
}
