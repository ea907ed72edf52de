/* SPDX-License-Identifier: ISC */
/* Phase-1 declarations of privdrop.c; they move into corrald.h. */
#ifndef CORRAL_PRIVDROP_H
#define CORRAL_PRIVDROP_H
#include <sys/types.h>
struct privdrop {
	int active;             /* the daemon is root: apply() switches */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	char *name;             /* user name, NULL if unknown */
	char *home;             /* home folder, NULL if unknown */
};
int privdrop_resolve(const char *, const char *, struct privdrop *, char **);
void privdrop_free(struct privdrop *);
int privdrop_apply(const struct privdrop *);
#endif
