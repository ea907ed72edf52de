/* SPDX-License-Identifier: ISC */
/*
 * The key table of app settings (appcfg.c), for its adapters only:
 * appcfg-text.c, appcfg-json.c and appcfg-cli.c.
 */
#ifndef CORRAL_APPCFG_PRIVATE_H
#define CORRAL_APPCFG_PRIVATE_H

#include <stddef.h>

enum appcfg_type {
	CFG_STRING,
	CFG_INT,
	CFG_DURATION,
	CFG_SIZE,
	CFG_SIGNAL,
	CFG_AUTORESTART,
	CFG_CODES,
	CFG_ARGS,
	CFG_ENV,
	CFG_INSTANCES,
	CFG_LIMIT,                      /* a cgroup limit, parsed by cgroup-limits.c */
	CFG_FLAG,                       /* CLI: a flag; config: a boolean */
	CFG_CRON,
	CFG_WATCH,
	CFG_LIST,                       /* array of strings, "a, b" appends */
	CFG_BOOL,
	CFG_WORDS,                      /* array: "a b" is split as a shell would */
	CFG_SCALE,                      /* MIN..MAX, parsed by autoscale.c */
};

struct appcfg_key {
	const char *name;               /* snake_case key and JSON name */
	const char *alias;              /* another config key (PM2's), or NULL */
	char short_flag;
	enum appcfg_type type;
	size_t offset;
	long long min;
	long long max;
	const char *help;
};

extern const struct appcfg_key appcfg_keys[];
extern const size_t appcfg_nkeys;
const struct appcfg_key *appcfg_find(const char *);

#endif
