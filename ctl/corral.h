/* SPDX-License-Identifier: ISC */
/*
 * The corral CLI's private header: printing replies for people (tables)
 * or scripts (JSON), following logs, startup scripts. The connection to
 * the daemon is the client library's (client/client.h).
 */
#ifndef CORRAL_CTL_H
#define CORRAL_CTL_H

#include "client.h"
#include "common.h"

/* print.c */
void print_list(json_t *, int);
void print_describe(json_t *);
void print_json(json_t *);
void print_json_pretty(json_t *);

/* startup.c */
int startup_main(const char *, json_t *);

/* logs.c */
int logs_run(struct client *, json_t *, int);
void logs_print_event(json_t *, int);

#endif
