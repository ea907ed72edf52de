/* SPDX-License-Identifier: ISC */
/*
 * Private to metrics.c and metrics-app.c: one scrape of /metrics, its
 * label text, and the tables of metric families.
 */
#ifndef CORRAL_METRICS_H
#define CORRAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "corrald.h"

typedef int metrics_inst_fn(const struct instance *, uint64_t *);
typedef int metrics_app_fn(const struct app *, uint64_t *);

/* A family with one sample per instance or app that has a value. */
struct metrics_family {
	const char *name;
	const char *type;
	const char *help;
	int decimals;                   /* the value is v / 10^decimals */
	metrics_inst_fn *inst;          /* per instance; 0: no sample */
	metrics_app_fn *app;            /* per app */
};

/* Where the label text of an instance or app is in the scrape's arena. */
struct metrics_label {
	size_t off;
	size_t len;
};

/* One scrape: the instances and apps with their label text. */
struct metrics_scrape {
	struct promtext t;
	struct promtext labels;         /* every label text, back to back */
	struct instance **insts;
	struct metrics_label *il;
	size_t ninsts;
	struct app **apps;
	struct metrics_label *al;
	size_t napps;
};

/* metrics.c */
void metrics_sample(struct metrics_scrape *, const char *,
    const struct metrics_label *, const char *);
void metrics_value(struct promtext *, uint64_t, int);

/* metrics-app.c */
void metrics_apps(struct metrics_scrape *);

#endif
