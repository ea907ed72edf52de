/* SPDX-License-Identifier: ISC */
/* Phase-1 declarations of watch.c; they move into corrald.h. */
#ifndef CORRAL_WATCH_H
#define CORRAL_WATCH_H
#include <uv.h>
struct watch;
struct watch *watch_create(uv_loop_t *, const char *, json_t *, json_t *,
    uint64_t, void (*)(void *, const char *), void *, char **);
void watch_free(struct watch *);
size_t watch_count(const struct watch *);
#endif
