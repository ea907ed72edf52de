/* SPDX-License-Identifier: ISC */
/* The fake engine's two files (tests/keeper/): test use only. */
#ifndef CORRAL_FAKE_ENGINE_H
#define CORRAL_FAKE_ENGINE_H

#include <stddef.h>

/* fake-engine.c */
int fake_send(int, const int *, size_t, const char *, size_t);

/* fake-spawn.c */
void fake_spawn(int, char *, size_t, int *, size_t);

#endif
