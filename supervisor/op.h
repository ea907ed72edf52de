/* SPDX-License-Identifier: ISC */
/*
 * Requests whose reply waits until instances settle (op.c), and the
 * "await" that carries one over to the next engine.
 */
#ifndef CORRAL_OP_H
#define CORRAL_OP_H

#include <sys/queue.h>

#include <uv.h>

#include "common.h"

struct conn;

/* What a pending operation waits for. */
#define OP_WANT_SETTLED 0               /* not starting, stopping or pending */
#define OP_WANT_STOPPED 1

/* A request whose reply waits until instances settle. */
struct op {
	struct conn *conn;              /* NULL once the client went away */
	int *ids;
	long long *base;                /* start_failures before, or NULL */
	size_t nids;
	size_t next;                    /* ids before it have settled */
	int want;
	char *message;                  /* printed with the result, or NULL */
	uv_timer_t timeout;
	TAILQ_ENTRY(op) entry;
};
TAILQ_HEAD(op_list, op);

void op_create(struct conn *, const int *, size_t, int, const char *);
void op_create_tracked(struct conn *, const int *, const long long *, size_t,
    int, const char *);
void op_await(struct conn *, json_t *);
void op_check_all(void);
void op_id_moved(int, int);
void op_conn_gone(struct conn *);

#endif
