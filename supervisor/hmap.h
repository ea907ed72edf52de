/* SPDX-License-Identifier: ISC */
/*
 * The daemon's hash map of pointers under 64-bit keys (app names, ids,
 * log files).
 */
#ifndef CORRAL_HMAP_H
#define CORRAL_HMAP_H

#include <stddef.h>
#include <stdint.h>

/* hmap.c */
struct hmap {
	struct hmap_entry **buckets;
	size_t nbuckets;
	size_t n;
};
void hmap_init(struct hmap *);
void hmap_free(struct hmap *);
uint64_t hmap_hash(const char *);
void hmap_add(struct hmap *, uint64_t, void *);
int hmap_remove(struct hmap *, uint64_t, void *);
void *hmap_find(const struct hmap *, uint64_t,
    int (*)(const void *, const void *), const void *);

#endif
