/* SPDX-License-Identifier: ISC */
/*
 * A spawn_plan made into a spawn_exec (spawn-exec.c): the memory the
 * child's environment and paths take, allocated before the clone.
 */
#ifndef CORRAL_SPAWN_EXEC_H
#define CORRAL_SPAWN_EXEC_H

#include <stddef.h>

#include "spawn.h"
#include "spawn-child.h"

struct spawn_exec_mem {
	char **envp;
	size_t nenv;
	char *strs[2];          /* LD_PRELOAD=, LISTEN_PID= */
	size_t nstrs;
	char **paths;
	size_t npaths;
};

void spawn_exec_make(const struct spawn_plan *, int, struct spawn_exec *,
    struct spawn_exec_mem *);
void spawn_exec_free(struct spawn_exec_mem *);

#endif
