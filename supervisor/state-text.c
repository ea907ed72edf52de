/* SPDX-License-Identifier: ISC */
/*
 * A growing text buffer with writers of JSON values, for state.json: the
 * file is written at every change, and making it as a jansson tree and
 * then dumping it (escape copy, allocations, printf per number) cost more
 * than the rest of a `stop all` of 500 apps (issue 16). What it writes
 * reads back as jsonb_dumps() would have written it: a string that is
 * not plain printable ASCII goes through jsonb_dumps() itself.
 */
#include <stdlib.h>
#include <string.h>

#include "corrald.h"

/* Room for n more bytes and a NUL. */
static void
state_text_room(struct state_text *t, size_t n)
{
	size_t cap = t->cap > 0 ? t->cap : 4096;

	if (t->len + n + 1 <= t->cap)
		return;
	while (t->len + n + 1 > cap)
		cap *= 2;
	t->p = xrealloc(t->p, cap);
	t->cap = cap;
}

void
state_text_mem(struct state_text *t, const char *s, size_t n)
{
	state_text_room(t, n);
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

void
state_text_add(struct state_text *t, const char *s)
{
	state_text_mem(t, s, strlen(s));
}

/* A JSON integer, as jansson writes one ("%lld"). */
void
state_text_int(struct state_text *t, long long v)
{
	char buf[24], *p = buf + sizeof buf;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	state_text_mem(t, p, (size_t)(buf + sizeof buf - p));
}

void
state_text_bool(struct state_text *t, int v)
{
	state_text_add(t, v ? "true" : "false");
}

/*
 * s (any bytes but NUL) as a JSON string, as jsonb_dumps() writes it with
 * flags; NULL as null. Printable ASCII without quote or backslash (tags,
 * names, state names, most reasons) needs no escape; anything else is
 * written by jsonb_dumps().
 */
void
state_text_str_as(struct state_text *t, const char *s, size_t flags)
{
	const unsigned char *u;
	json_t *j;
	char *e;

	if (s == NULL) {
		state_text_add(t, "null");
		return;
	}
	for (u = (const unsigned char *)s; *u != '\0'; u++) {
		if (*u < 0x20 || *u > 0x7e || *u == '"' || *u == '\\')
			break;
	}
	if (*u == '\0') {
		state_text_mem(t, "\"", 1);
		state_text_mem(t, s, (size_t)(u - (const unsigned char *)s));
		state_text_mem(t, "\"", 1);
		return;
	}
	j = json_str(s);
	e = jsonb_dumps(j, flags | JSON_ENCODE_ANY);
	json_decref(j);
	state_text_add(t, e != NULL ? e : "null");
	free(e);
}

/* s as the state file writes it (JSON_COMPACT). */
void
state_text_str(struct state_text *t, const char *s)
{
	state_text_str_as(t, s, JSON_COMPACT);
}

/* v (any JSON value, NULL as null) as jsonb_dumps() writes it with flags. */
void
state_text_json_as(struct state_text *t, json_t *v, size_t flags)
{
	char *e;

	if (v == NULL) {
		state_text_add(t, "null");
		return;
	}
	e = jsonb_dumps(v, flags | JSON_ENCODE_ANY);
	state_text_add(t, e != NULL ? e : "null");
	free(e);
}

/* v as the state file writes it. */
void
state_text_json(struct state_text *t, json_t *v)
{
	state_text_json_as(t, v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* "key": with the comma before it unless first. */
void
state_text_key(struct state_text *t, const char *key, int first)
{
	if (!first)
		state_text_mem(t, ",", 1);
	state_text_mem(t, "\"", 1);
	state_text_add(t, key);
	state_text_mem(t, "\":", 2);
}
