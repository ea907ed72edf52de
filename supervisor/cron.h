/* SPDX-License-Identifier: ISC */
/*
 * Cron expressions (cron_restart): parsing six-field or five-field
 * expressions and finding the next matching second.
 */
#ifndef CORRAL_CRON_H
#define CORRAL_CRON_H

#include <stdint.h>
#include <time.h>

/* cron.c */
struct cron {
	uint64_t sec;           /* bit n: second n matches */
	uint64_t min;
	uint32_t hour;
	uint32_t dom;           /* bits 1..31 */
	uint16_t mon;           /* bits 1..12 */
	uint8_t dow;            /* bits 0..6, Sunday is 0 */
	int dom_star;           /* the field was '*' */
	int dow_star;
};
int cron_parse(const char *, struct cron *, char **);
time_t cron_next(const struct cron *, time_t);

#endif
