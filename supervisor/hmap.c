/* SPDX-License-Identifier: ISC */
/*
 * A small chained hash table from 64-bit keys to pointers, so that lookups
 * stay O(1) with 10,000 apps: ids are their own keys, names are hashed
 * with hmap_hash() (equal keys are allowed: a lookup passes a predicate
 * that picks the right value).  It grows by doubling; entries are owned by
 * the table, values by the caller.
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "hmap.h"

#define HMAP_MIN 64

struct hmap_entry {
	struct hmap_entry *next;
	uint64_t key;
	void *value;
};

void
hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof *m);
}

void
hmap_free(struct hmap *m)
{
	struct hmap_entry *e, *next;
	size_t i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}

/* FNV-1a: the key of a name. */
uint64_t
hmap_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t
hmap_slot(const struct hmap *m, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)(key & (m->nbuckets - 1));
}

static void
hmap_grow(struct hmap *m)
{
	struct hmap_entry **old = m->buckets, *e, *next;
	size_t n = m->nbuckets, i, s;

	m->nbuckets = n == 0 ? HMAP_MIN : n * 2;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	for (i = 0; i < n; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			s = hmap_slot(m, e->key);
			e->next = m->buckets[s];
			m->buckets[s] = e;
		}
	}
	free(old);
}

void
hmap_add(struct hmap *m, uint64_t key, void *value)
{
	struct hmap_entry *e = xmalloc(sizeof *e);
	size_t s;

	if (m->n >= m->nbuckets)
		hmap_grow(m);
	s = hmap_slot(m, key);
	e->key = key;
	e->value = value;
	e->next = m->buckets[s];
	m->buckets[s] = e;
	m->n++;
}

/* Removes the entry of key that holds value; returns 0, -1 if none. */
int
hmap_remove(struct hmap *m, uint64_t key, void *value)
{
	struct hmap_entry **pp, *e;

	if (m->nbuckets == 0)
		return -1;
	for (pp = &m->buckets[hmap_slot(m, key)]; (e = *pp) != NULL;
	    pp = &e->next) {
		if (e->key == key && e->value == value) {
			*pp = e->next;
			free(e);
			m->n--;
			return 0;
		}
	}
	return -1;
}

/*
 * The first value of key that match(value, arg) accepts (any value of key
 * when match is NULL), or NULL.
 */
void *
hmap_find(const struct hmap *m, uint64_t key,
    int (*match)(const void *, const void *), const void *arg)
{
	struct hmap_entry *e;

	if (m->nbuckets == 0)
		return NULL;
	for (e = m->buckets[hmap_slot(m, key)]; e != NULL; e = e->next) {
		if (e->key == key && (match == NULL || match(e->value, arg)))
			return e->value;
	}
	return NULL;
}
