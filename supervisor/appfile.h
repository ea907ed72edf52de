/* SPDX-License-Identifier: ISC */
/*
 * Where apps' settings come from besides a request: config files read off
 * the loop (cfgread.c), ecosystem.js files evaluated by node (ecoeval.c),
 * the file of `corrald --foreground FILE` (bootfile.c), and PM2's
 * spellings and defaults (pm2compat.c). Included by corrald.h.
 */
#ifndef CORRAL_APPFILE_H
#define CORRAL_APPFILE_H

#include <jansson.h>

#include "common.h"

struct app_config;
struct cfgfile;
struct cmd_ctx;
struct conn;

/* pm2compat.c */
const char *pm2compat_exec_mode(const char *, char **);
int pm2compat_words(json_t *, const char *, const char *, char **);
void pm2compat_resolve(struct app_config *);
int pm2compat_cluster(const struct app_config *);
int pm2compat_is_node(const struct app_config *);
const char *pm2compat_instance_var(const struct app_config *);

/* cfgread.c */
typedef void cfgread_cb(struct cmd_ctx *, const char *, struct cfgfile *,
    char *);
void cfgread_start(struct cmd_ctx *, cfgread_cb *);
void cfgread_conn_gone(struct conn *);

/* ecoeval.c */
typedef void ecoeval_cb(void *, struct cfgfile *, char *);
char *ecoeval_node(json_t *);
int ecoeval_start(const char *, const char *, const char *, json_t *,
    ecoeval_cb *, void *, char **);
void ecoeval_shutdown(void);

/* bootfile.c */
void bootfile_reply(json_t *);
void bootfile_start(const char *);

#endif
