/* SPDX-License-Identifier: ISC */
/* A batch of short jobs cut in slices over the CPUs (spread.c). */
#ifndef CORRAL_SPREAD_H
#define CORRAL_SPREAD_H

#include <stddef.h>

typedef void spread_fn(void *, size_t, size_t);
void spread_run(size_t, size_t, spread_fn *, void *);

#endif
