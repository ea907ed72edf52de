/* SPDX-License-Identifier: ISC */
/*
 * Config files as the daemon reads them (cfgfile.c: INI, JSON, the common
 * parts; ecosystem.c: PM2 ecosystem files): apps with their key = value
 * entries and line numbers, and the errors found.
 */
#ifndef CORRAL_CFGFILE_H
#define CORRAL_CFGFILE_H

#include "common.h"
#include "hmap.h"

/* cfgfile.c */
struct cfgfile_entry {
	char *key;
	char *value;
	int line;               /* 0 if the file has no lines (JSON) */
};
struct cfgfile_app {
	char *name;
	int line;               /* of the section header */
	struct cfgfile_entry *entries;
	size_t nentries;
	struct hmap keys;       /* index of entries by key */
};
struct cfgfile_err {
	int line;
	char *msg;
};
struct cfgfile {
	char *path;             /* as shown in messages */
	struct cfgfile_app *apps;
	size_t napps;
	struct cfgfile_err *errs;       /* the first CFGFILE_MAX_ERRORS */
	size_t nerrors;                 /* all errors found */
	int lenient;            /* unknown keys are ignored, not errors */
	struct hmap names;      /* index of apps by name */
};
#define CFGFILE_MAX_SIZE (4 * 1024 * 1024)     /* a config file, bytes */
#define CFGFILE_MAX_ERRORS 100  /* errors kept and shown */
#define CFGFILE_INI 1
#define CFGFILE_JSON 2
#define CFGFILE_JS 3
struct cfgfile *cfgfile_create(const char *);
void cfgfile_free(struct cfgfile *);
void cfgfile_error(struct cfgfile *, int, const char *, ...) PRINTFLIKE(3, 4);
char *cfgfile_errors(struct cfgfile *);
struct cfgfile_app *cfgfile_find(struct cfgfile *, const char *);
struct cfgfile_app *cfgfile_add_app(struct cfgfile *, const char *, int);
const struct cfgfile_entry *cfgfile_get(const struct cfgfile_app *,
    const char *);
void cfgfile_add(struct cfgfile_app *, const char *, const char *, int);
int cfgfile_slurp(const char *, char **, size_t *, char **);
struct cfgfile *cfgfile_parse_ini(const char *, const char *, size_t, char **);
int cfgfile_kind(const char *);
struct cfgfile *cfgfile_read(const char *, const char *, char **);
json_t *cfgfile_split_args(const char *, char **);

/* ecosystem.c */
struct cfgfile *ecosystem_parse(const char *, const char *, size_t, char **);

#endif
