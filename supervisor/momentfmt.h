/* SPDX-License-Identifier: ISC */
/*
 * PM2's log date formats (moment.js tokens) turned into strftime formats.
 */
#ifndef CORRAL_MOMENTFMT_H
#define CORRAL_MOMENTFMT_H


/* momentfmt.c */
char *momentfmt_to_strftime(const char *);

#endif
