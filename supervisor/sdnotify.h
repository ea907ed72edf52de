/* SPDX-License-Identifier: ISC */
/* Phase-1 prototypes of sdnotify.c; they move into corrald.h. */
#ifndef CORRAL_SDNOTIFY_H
#define CORRAL_SDNOTIFY_H
#include <uv.h>
int sdnotify_init(uv_loop_t *);
void sdnotify_close(void);
void sdnotify_ready(void);
void sdnotify_stopping(void);
void sdnotify_status(const char *, ...) PRINTFLIKE(1, 2);
int sdnotify_listen_fd(const char *);
int sdnotify_private_env(const char *, size_t);
#endif
